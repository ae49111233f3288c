// How an audit record becomes one line of a segment file and back (audit/ internal).
//
// The stored line is the canonical JSON object — keys in the fixed order seq, time, actor,
// action, target, source, outcome, detail, prev, written by ToJson — with ,"hash":"<hex>"
// spliced in before the closing brace. Because "hash" is always last and fixed-width, the
// canonical text is recovered from the raw line by cutting that suffix off: Verify hashes the
// bytes that are on disk, never a re-serialisation of them (which could hide an edit that a
// parser normalises, or flag a harmless difference in number formatting).
#pragma once

#include <string>
#include <string_view>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "base/status.h"

namespace doppel::audit::internal {

// prev of the first record: 64 zeros.
inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// RFC 3339 in UTC with all 9 fractional digits, so a record's time reads back exactly.
std::string FormatAuditTime(TimePoint t);

// `s` with every invalid UTF-8 sequence replaced by U+FFFD. The parser refuses invalid UTF-8,
// so an unsanitised byte from a URL or a header would make the record unreadable at Open.
std::string ValidUtf8(std::string_view s);

// Makes every string of the event (and of detail, keys included) valid UTF-8.
void SanitizeEvent(AuditEvent& event);

// Sets record.hash from record.prev_hash and the canonical JSON of the other fields, and
// returns the line to store (without the newline).
std::string SealRecord(AuditRecord& record);

// Parses a stored line: every field present with the right type, seq ≥ 1, time RFC 3339,
// prev and hash 64 lowercase hex digits, and the line ending in the ,"hash":"…"} suffix.
// InvalidArgument saying what is wrong otherwise. Does not check the hash.
Result<AuditRecord> ParseRecordLine(std::string_view line);

// SHA-256 (hex) of prev followed by the canonical part of `line` (a line ParseRecordLine
// accepted): what the line's hash must be when nothing has been changed.
std::string RecomputeHash(std::string_view prev_hash, std::string_view line);

}  // namespace doppel::audit::internal
