// Fuzzes the InfluxDB line protocol parser and Gunzip on the same bytes.
//
// Parse: a failure must leave `out` exactly as it was and name a line and column that exist; an
// "invalid UTF-8" error must agree with an independent UTF-8 oracle (RFC 3629's byte table).
// A success must yield non-empty, valid UTF-8 twin ids and paths, finite floats, and readings
// that survive a round trip: written back as line protocol (every name escaped, every
// timestamp explicit) and parsed again, they come back identical. Parsed again in seconds
// precision, every explicit timestamp scales by 1e9 or the body is refused as out of range.
// An input that looks like a float token must parse to strtod's double, bit for bit.
// Gunzip: inflates within its limit or refuses with InvalidArgument / PayloadTooLarge.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "ingest/line_protocol.h"

namespace {

using doppel::Status;
using doppel::StatusCode;
using doppel::ingest::LineProtocolOptions;
using doppel::ingest::Precision;
using doppel::ingest::Reading;

constexpr doppel::tsdb::TimeNs kNow = 42;

// RFC 3629's table of well-formed byte sequences, written out range by range.
bool IsValidUtf8(std::string_view s) {
  auto in = [&](std::size_t i, unsigned lo, unsigned hi) {
    return i < s.size() && static_cast<unsigned char>(s[i]) >= lo &&
           static_cast<unsigned char>(s[i]) <= hi;
  };
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    if (b <= 0x7F) {
      len = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = in(i + 1, 0x80, 0xBF) ? 2 : 0;
    } else if (b == 0xE0) {
      len = in(i + 1, 0xA0, 0xBF) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      len = in(i + 1, 0x80, 0xBF) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
    } else if (b == 0xED) {
      len = in(i + 1, 0x80, 0x9F) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
    } else if (b == 0xF0) {
      len = in(i + 1, 0x90, 0xBF) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
    } else if (b >= 0xF1 && b <= 0xF3) {
      len = in(i + 1, 0x80, 0xBF) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
    } else if (b == 0xF4) {
      len = in(i + 1, 0x80, 0x8F) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
    }
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::vector<std::string_view> Lines(std::string_view body) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = body.find('\n', start);
    lines.push_back(body.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return lines;
    start = end + 1;
  }
}

// Stands in `out` before each parse: a failed parse must leave it alone, a good one after it.
Reading Sentinel() {
  return Reading{std::string("sentinel"), std::string("p"), -7, std::string("untouched")};
}

bool SameReading(const Reading& a, const Reading& b) {
  if (a.twin_id != b.twin_id || a.path != b.path || a.time != b.time) return false;
  if (a.value.index() != b.value.index()) return false;
  if (const double* d = std::get_if<double>(&a.value)) {
    return std::bit_cast<uint64_t>(*d) == std::bit_cast<uint64_t>(std::get<double>(b.value));
  }
  return a.value == b.value;
}

void CheckError(const Status& status, std::string_view body, const std::vector<Reading>& out) {
  FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument, status.ToString());
  FUZZ_CHECK(out.size() == 1 && SameReading(out[0], Sentinel()), "out changed on error");
  unsigned long line = 0, column = 0;
  int consumed = 0;
  const std::string& message = status.message();
  FUZZ_CHECK(std::sscanf(message.c_str(), "line %lu, column %lu: %n", &line, &column, &consumed) == 2 &&
                 consumed > 0 && static_cast<std::size_t>(consumed) < message.size(),
             message);
  const std::vector<std::string_view> lines = Lines(body);
  FUZZ_CHECK(line >= 1 && line <= lines.size(), message);
  FUZZ_CHECK(column >= 1 && column <= lines[line - 1].size() + 1, message);
  // Only a line within the length limit is checked for UTF-8, and then before anything else.
  const bool says_utf8 = message.find(": invalid UTF-8") != std::string::npos;
  const bool says_too_long = message.find(": line exceeds") != std::string::npos;
  FUZZ_CHECK(says_utf8 == (!says_too_long && !IsValidUtf8(lines[line - 1])), message);
  // Lines before the failing one parsed, so they are valid UTF-8.
  for (std::size_t i = 0; i + 1 < line; ++i) FUZZ_CHECK(IsValidUtf8(lines[i]), message);
}

std::string Escape(std::string_view name) {
  std::string escaped;
  for (char c : name) {
    if (c == ',' || c == '=' || c == ' ' || c == '\\') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return escaped;
}

std::string FormatValue(const doppel::tsdb::Value& value) {
  char buf[64];
  if (const double* d = std::get_if<double>(&value)) {
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    return buf;
  }
  if (const int64_t* i = std::get_if<int64_t>(&value)) return std::to_string(*i) + "i";
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  std::string quoted = "\"";
  for (char c : std::get<std::string>(value)) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  return quoted + "\"";
}

void CheckRoundTrip(const std::vector<Reading>& readings) {
  std::string body;
  for (std::size_t i = 1; i < readings.size(); ++i) {
    const Reading& r = readings[i];
    body += "m,twin=" + Escape(r.twin_id) + " " + Escape(r.path) + "=" + FormatValue(r.value) + " " +
            std::to_string(r.time) + "\n";
  }
  LineProtocolOptions options;
  options.component_tag = "";  // paths already hold their component
  options.max_line_bytes = 1 << 20;
  std::vector<Reading> again = {Sentinel()};
  Status status = doppel::ingest::ParseLineProtocol(body, options, again);
  FUZZ_CHECK(status.ok(), status.ToString() + "\n" + body);
  FUZZ_CHECK(again.size() == readings.size(), body);
  for (std::size_t i = 1; i < readings.size(); ++i) FUZZ_CHECK(SameReading(again[i], readings[i]), body);
}

void CheckReadings(const std::vector<Reading>& out) {
  FUZZ_CHECK(!out.empty() && SameReading(out[0], Sentinel()), "existing reading changed");
  for (std::size_t i = 1; i < out.size(); ++i) {
    const Reading& r = out[i];
    FUZZ_CHECK(!r.twin_id.empty() && !r.path.empty(), "empty twin id or path");
    FUZZ_CHECK(IsValidUtf8(r.twin_id) && IsValidUtf8(r.path), r.twin_id + " " + r.path);
    if (const double* d = std::get_if<double>(&r.value)) FUZZ_CHECK(std::isfinite(*d), r.path);
    if (const std::string* s = std::get_if<std::string>(&r.value)) FUZZ_CHECK(IsValidUtf8(*s), *s);
  }
}

void CheckSecondsPrecision(std::string_view body, const LineProtocolOptions& ns_options,
                           const std::vector<Reading>& ns) {
  LineProtocolOptions options = ns_options;
  options.precision = Precision::kSeconds;
  std::vector<Reading> out = {Sentinel()};
  Status status = doppel::ingest::ParseLineProtocol(body, options, out);
  if (!status.ok()) {
    FUZZ_CHECK(status.message().find("timestamp out of range") != std::string::npos, status.ToString());
    CheckError(status, body, out);
    return;
  }
  FUZZ_CHECK(out.size() == ns.size(), "different reading count in seconds");
  for (std::size_t i = 1; i < out.size(); ++i) {
    const bool scaled = ns[i].time <= INT64_MAX / 1'000'000'000 && ns[i].time >= INT64_MIN / 1'000'000'000 &&
                        out[i].time == ns[i].time * 1'000'000'000;
    FUZZ_CHECK(scaled || (ns[i].time == kNow && out[i].time == kNow), std::to_string(out[i].time));
    Reading same = out[i];
    same.time = ns[i].time;
    FUZZ_CHECK(SameReading(same, ns[i]), out[i].path);
  }
}

// The input as one float token (when it looks like one): what parses must be strtod's double,
// bit for bit (the parser has its own fast path for short decimals).
void CheckFloatToken(std::string_view data) {
  if (data.empty() || data.size() > 40 ||
      data.find_first_not_of("0123456789.+-eE") != std::string_view::npos) {
    return;
  }
  const std::string token(data);
  std::vector<Reading> out;
  if (!doppel::ingest::ParseLineProtocol("m x=" + token, {}, out).ok()) return;
  FUZZ_CHECK(out.size() == 1 && std::holds_alternative<double>(out[0].value), token);
  const double expected = std::strtod(token.c_str(), nullptr);
  FUZZ_CHECK(std::bit_cast<uint64_t>(std::get<double>(out[0].value)) == std::bit_cast<uint64_t>(expected),
             token);
}

void CheckGunzip(std::string_view data) {
  constexpr std::size_t kLimit = 4096;
  auto inflated = doppel::ingest::Gunzip(data, kLimit);
  if (inflated.ok()) {
    FUZZ_CHECK(inflated->size() <= kLimit, "over the limit");
    return;
  }
  const StatusCode code = inflated.status().code();
  FUZZ_CHECK(code == StatusCode::kInvalidArgument || code == StatusCode::kPayloadTooLarge,
             inflated.status().ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  LineProtocolOptions options;
  options.now = kNow;
  options.max_line_bytes = 512;
  std::vector<Reading> out = {Sentinel()};
  Status status = doppel::ingest::ParseLineProtocol(body, options, out);
  if (status.ok()) {
    FUZZ_CHECK(IsValidUtf8(body), "accepted invalid UTF-8");
    CheckReadings(out);
    CheckRoundTrip(out);
    CheckSecondsPrecision(body, options, out);
  } else {
    CheckError(status, body, out);
  }
  CheckFloatToken(body);
  CheckGunzip(body);
  return 0;
}
