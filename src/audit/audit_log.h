// The audit log: an append-only, tamper-evident record of every change, command, approval,
// login failure and policy change — who, when, what, from where, and the outcome.
//
//   auto log = AuditLog::Open(data_dir + "/audit").value();
//   log->Append({.actor = "key:ab12", .action = "twin.patch", .target = "turbine-7",
//                .source = "10.0.0.5", .outcome = "ok", .detail = {{"status", 200}}}, now);
//   log->Query({.since = t0, .target = "turbine-7", .limit = 100});
//   log->Verify();   // walks the hash chain; names the first record that does not match
//
// Record format: one JSON object per line in segment files audit-<first seq, 20 digits>.jsonl
// (a new segment every 64 MiB), each line
//   {"seq":N,"time":"RFC 3339 ns","actor":..,"action":..,"target":..,"source":..,
//    "outcome":..,"detail":{..},"prev":"<the previous record's hash>","hash":"<hex>"}
// where hash = hex SHA-256(prev || the line's canonical JSON without "hash": ToJson of the
// object with the keys in this order, i.e. the stored line with its ,"hash":"…" suffix cut).
// The first record's prev is 64 zeros. Changing, removing or reordering any line breaks the
// chain from there on; Verify finds it. (An attacker who rewrites the whole tail can recompute
// hashes: export the head hash elsewhere — Head() — to anchor it, docs/security-audit.md.)
//
// Durability: Append writes the line and fsyncs before returning (an audited action is not
// acknowledged before its record is durable); a torn last line after a crash is detected at
// Open and truncated (it was never acknowledged), logged.
//
// Thread-safety: all methods may be called from any thread; appends are serialised.
//
// One process per log: Open takes an exclusive advisory lock (flock) on <dir>/LOCK and fails
// with Unavailable while another process (or another open AuditLog) holds it — two writers
// would fork the chain.
//
// Memory: Query is served from a compact in-memory index built at Open — per record its time,
// its place in its segment and interned ids of actor, action, target and outcome (32 bytes,
// about 32 MB per million records, plus each distinct string once). Filters run over the
// index alone; only the matching records (at most 10000) are read back from disk and parsed.
// Paging by after_seq starts at that record directly (seq is contiguous from 1), so each page
// costs the records it scans, not the log's length. Open reads and parses every segment once.
//
// I/O failures: if a write or fsync fails, the state of the file's tail is unknown, so the log
// refuses every later Append with Internal (retrying an fsync after it failed is unsafe); a
// restart's Open re-reads the tail (a fully written but unacknowledged record is kept, a torn
// one truncated).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::audit {

struct AuditEvent {
  std::string actor{};    // principal subject, "anonymous", or "system" (rules, retention)
  std::string action{};   // dotted verb: "twin.create", "auth.login_failed", "apikey.revoke", ...
  std::string target{};   // what it acted on: twin id, "model:<dtmi>", "apikey:<id>", "" if none
  std::string source{};   // remote address "ip:port", "cli", "mqtt:<connector>", ""
  std::string outcome{};  // "ok", "denied", "failed", "error:<code>"
  json::object detail{};  // small extra facts (HTTP method+path, status, reason); no secrets
};

struct AuditRecord {
  uint64_t seq = 0;
  TimePoint time = {};
  AuditEvent event = {};
  std::string prev_hash = {};  // hex
  std::string hash = {};       // hex
};
json::object AuditRecordToJson(const AuditRecord& record);

struct AuditQuery {
  std::optional<TimePoint> since{};  // inclusive
  std::optional<TimePoint> until{};  // exclusive
  std::string actor{};               // exact; "" = any
  std::string action_prefix{};       // "twin." matches twin.*; "" = any
  std::string target{};              // exact; "" = any
  std::string outcome{};             // exact; "" = any
  uint64_t after_seq = 0;            // paging: records with seq > after_seq
  std::size_t limit = 1000;          // at most 10000
};

struct AuditVerification {
  bool ok = true;
  uint64_t records = 0;       // records checked
  uint64_t first_bad_seq = 0; // when !ok
  std::string problem;        // when !ok: "record 42: hash does not match its content", ...
};

struct AuditLogOptions {
  // A new segment file is started when the next line would take the current one past this
  // size. Default 64 MiB: few files for millions of records, each small enough to copy or
  // archive whole. Smaller in tests to exercise roll-over. Values above 1 GiB are taken as
  // 1 GiB (the index stores 32-bit offsets within a segment).
  std::size_t segment_bytes = 64u << 20;
};

class AuditLog {
 public:
  // Opens or creates the log in `dir`. Internal on I/O errors or a segment that is not a
  // chain of records (other than a torn last line) — the message names the file and line;
  // Unavailable when another process holds the log.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& dir,
                                                const AuditLogOptions& options = {});
  // Kept in memory only (tests, servers without a data directory).
  static std::unique_ptr<AuditLog> InMemory();
  ~AuditLog();

  // Appends one record and returns it (with seq and hash), exactly as later read back:
  // invalid UTF-8 in any string is replaced by U+FFFD. Internal on I/O errors;
  // InvalidArgument when detail cannot be stored (nested deeper than JSON parsing allows).
  Result<AuditRecord> Append(AuditEvent event, TimePoint now);

  // Matching records in seq order (oldest first), at most query.limit (clamped to 10000).
  // Internal when a segment changed on disk under the running log.
  Result<std::vector<AuditRecord>> Query(const AuditQuery& query) const;

  // Re-reads every segment from disk and checks seq continuity and the hash chain, up to the
  // head at the time of the call; also that the disk still holds every record this log holds
  // and ends in the same head hash. The in-memory log walks its own lines.
  AuditVerification Verify() const;

  // seq and hash of the newest record (0 and 64 zeros when empty).
  std::pair<uint64_t, std::string> Head() const;

 private:
  AuditLog();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace doppel::audit
