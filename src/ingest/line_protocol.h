// The InfluxDB line protocol (v1 and v2 write APIs), so Telegraf and the Influx client
// libraries can write to Doppel:
//
//   weather,twin=kr-wtg-01,component=nacelle temperature=21.5,vibration=0.02 1732525200000000000
//   <measurement>[,<tag>=<v>...] <field>=<v>[,<field>=<v>...] [<timestamp>]
//
// Field values: float ("1.5", "-2e3", "inf" is NOT accepted — as in InfluxDB), integer ("12i"),
// unsigned ("12u", stored as integer; over INT64_MAX is refused), boolean (t, T, true, True,
// TRUE, f, F, false, False, FALSE) and string ("\"text\"" with \" and \\ escapes). Escapes:
// in measurements "\," and "\ "; in tag keys/values and field keys "\,", "\=" and "\ ";
// "\\" is one backslash in all of them (as in the v2 reference: a name may end in '\').
// A backslash before any other character is literal, in names and strings alike.
// Blank lines and lines starting with '#' are skipped. A missing timestamp means "now".
// Details: sections are separated by one or more spaces; CRLF endings and trailing blanks are
// accepted; no value may contain a newline; a float out of double's range (1e400, 1e-400) is
// refused, subnormals are kept; tag values must not be empty; the body must be valid UTF-8
// (twin ids, paths and strings go on to JSON); an empty body yields no readings and is OK.
//
// Mapping to twins (docs/ingest.md): the twin id is the value of tag `twin` (configurable),
// else the measurement; each field is a reading of path <field>, or "<component>/<field>" when
// a tag `component` is present. Other tags are ignored (they describe, they don't address).
//
// Pure and allocation-light: no I/O, no clock (the caller passes `now`). Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ingest/reading.h"

namespace doppel::ingest {

enum class Precision { kNanoseconds, kMicroseconds, kMilliseconds, kSeconds };

// "ns", "us" (also "u"), "ms", "s" (also "n" for ns, as InfluxDB v1 accepts); "" → ns.
// Errors: InvalidArgument naming the accepted values.
Result<Precision> ParsePrecision(std::string_view text);

struct LineProtocolOptions {
  Precision precision = Precision::kNanoseconds;
  tsdb::TimeNs now = 0;                    // the time of lines without a timestamp
  std::string twin_tag = "twin";           // the tag naming the twin; absent → the measurement
  std::string component_tag = "component"; // the tag naming a component; absent → none
  std::size_t max_line_bytes = 64 * 1024;  // a longer line is refused
};

// Parses a whole body into readings, appended to `out` in input order (fields of one line in
// their order). All-or-nothing: on any error `out` is left as it was and the error is
// InvalidArgument "line 3, column 17: <what>" (1-based), e.g. "expected '=' after field key
// 'temp'", "invalid float 'abc' for field 'temp'", "timestamp out of range". A timestamp whose
// conversion to ns overflows int64 is out of range.
Status ParseLineProtocol(std::string_view body, const LineProtocolOptions& options, std::vector<Reading>& out);

// Inflates a gzip body (Content-Encoding: gzip), refusing output over `max_bytes`
// (PayloadTooLarge "decompressed body exceeds N bytes") and corrupt input (InvalidArgument
// "corrupt gzip body: ..."): bad data or CRC, a truncated stream, bytes after the last member.
// Several members back to back (RFC 1952, `cat a.gz b.gz`) are one body.
Result<std::string> Gunzip(std::string_view compressed, std::size_t max_bytes);

}  // namespace doppel::ingest
