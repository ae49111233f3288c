// InfluxDB line protocol and gzip bodies.
//
// The parser is the bulk-ingest hot path (issue #4: >= 1M points/s through HTTP on 2 cores), so
// it walks each line once, keeps names as views into the body unless they hold escapes (then
// into a per-parse scratch buffer that is reused line after line), converts short decimals
// on a fast path of its own and everything else with std::from_chars, and allocates nothing
// per field beyond the strings each Reading owns. Measured in bench/ingest_benchmark.cc.
#include "ingest/line_protocol.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

namespace doppel::ingest {
namespace {

constexpr std::size_t kNpos = std::string_view::npos;

// ---- Characters -------------------------------------------------------------------------------

// Which element a name belongs to decides what a backslash escapes in it and where it ends.
// InfluxDB's table: measurements escape ',' and ' '; tag keys, tag values and field keys escape
// ',', '=' and ' '. All of them also take "\\" for one backslash (the v2 reference: "with two
// contiguous backslashes, the first is interpreted as an escape"), which is what lets a name end
// in a backslash. A backslash before any other byte is literal.
enum class NameKind { kMeasurement, kTagKey, kTagValue, kFieldKey };

bool IsEscapable(NameKind kind, char c) {
  return c == ',' || c == ' ' || c == '\\' || (c == '=' && kind != NameKind::kMeasurement);
}

// Measurements and tag values may contain a bare '='; keys end at it.
bool EndsName(NameKind kind, char c) {
  return c == ',' || c == ' ' ||
         (c == '=' && (kind == NameKind::kTagKey || kind == NameKind::kFieldKey));
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A name as it appears on the line: `raw` still holds its escapes when `escaped`.
struct Name {
  std::string_view raw;
  bool escaped = false;
};

// Bytes that end or escape a name of some kind; any other byte is plain text in every name.
constexpr std::array<bool, 256> kNameSpecial = [] {
  std::array<bool, 256> special{};
  for (unsigned char c : {',', ' ', '=', '\\'}) special[c] = true;
  return special;
}();

// The name starting at `pos`; leaves `pos` on the byte that ended it (or the end of the line).
Name ScanName(std::string_view line, std::size_t& pos, NameKind kind) {
  const std::size_t start = pos;
  bool escaped = false;
  while (pos < line.size()) {
    const char c = line[pos];
    if (!kNameSpecial[static_cast<unsigned char>(c)]) {
      ++pos;
      continue;
    }
    if (c == '\\' && pos + 1 < line.size() && IsEscapable(kind, line[pos + 1])) {
      escaped = true;
      pos += 2;
      continue;
    }
    if (EndsName(kind, c)) break;
    ++pos;
  }
  return {line.substr(start, pos - start), escaped};
}

// The name's text: `raw` itself when it has no escapes, else its unescaped copy in `scratch`.
std::string_view NameText(const Name& name, NameKind kind, std::string& scratch) {
  if (!name.escaped) return name.raw;
  scratch.clear();
  for (std::size_t i = 0; i < name.raw.size(); ++i) {
    if (name.raw[i] == '\\' && i + 1 < name.raw.size() && IsEscapable(kind, name.raw[i + 1])) ++i;
    scratch.push_back(name.raw[i]);
  }
  return scratch;
}

// Offset of the first byte that does not belong to well-formed UTF-8 (no overlongs, no
// surrogates, nothing past U+10FFFF), or kNpos. Twin ids, paths and string values travel on as
// JSON and in URLs, so malformed text is refused at the door rather than stored.
std::size_t FindInvalidUtf8(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    if (i + 8 <= n) {  // eight ASCII bytes at a time: the common case
      std::uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp, min;
    if ((lead & 0xE0) == 0xC0) {
      len = 2, cp = lead & 0x1F, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      len = 3, cp = lead & 0x0F, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      len = 4, cp = lead & 0x07, min = 0x10000;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      if ((cont & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cont & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return kNpos;
}

// 'text' for an error message, cut (at a character boundary) so one huge token cannot blow
// up the response.
std::string Quote(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string quoted = "'";
  if (text.size() <= kMax) {
    quoted.append(text);
  } else {
    std::size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    quoted.append(text.substr(0, cut)).append("...");
  }
  quoted.push_back('\'');
  return quoted;
}

// ---- Values -----------------------------------------------------------------------------------

bool ParseBool(std::string_view token, bool& value) {
  switch (token.size()) {
    case 1:
      if (token == "t" || token == "T") return value = true, true;
      if (token == "f" || token == "F") return value = false, true;
      return false;
    case 4:
      if (token == "true" || token == "True" || token == "TRUE") return value = true, true;
      return false;
    case 5:
      if (token == "false" || token == "False" || token == "FALSE") return value = false, true;
      return false;
    default:
      return false;
  }
}

// Why an unquoted field value was refused.
enum class ValueError {
  kNone,
  kInvalidInteger,
  kIntegerRange,
  kInvalidUnsigned,
  kUnsignedRange,
  kInvalidFloat,
  kFloatRange,
};

std::string Describe(ValueError error, std::string_view token, std::string_view field) {
  const std::string value = Quote(token);
  const std::string for_field = " for field " + Quote(field);
  switch (error) {
    case ValueError::kInvalidInteger: return "invalid integer " + value + for_field;
    case ValueError::kIntegerRange: return "integer " + value + " out of range" + for_field;
    case ValueError::kInvalidUnsigned: return "invalid unsigned integer " + value + for_field;
    case ValueError::kUnsignedRange:
      return "unsigned integer " + value + for_field +
             " exceeds the largest storable integer 9223372036854775807";
    case ValueError::kInvalidFloat: return "invalid float " + value + for_field;
    case ValueError::kFloatRange: return "float " + value + " out of range" + for_field;
    case ValueError::kNone: break;
  }
  return "invalid value " + value + for_field;
}

ValueError ParseInteger(std::string_view digits, tsdb::Value& value) {
  std::int64_t v = 0;
  const char* end = digits.data() + digits.size();
  auto [p, ec] = std::from_chars(digits.data(), end, v);
  if (p != end || digits.empty()) return ValueError::kInvalidInteger;
  if (ec == std::errc::result_out_of_range) return ValueError::kIntegerRange;
  if (ec != std::errc()) return ValueError::kInvalidInteger;
  value = v;
  return ValueError::kNone;
}

// "12u" is stored as an integer, so only what fits int64 is taken.
ValueError ParseUnsigned(std::string_view digits, tsdb::Value& value) {
  std::uint64_t v = 0;
  const char* end = digits.data() + digits.size();
  auto [p, ec] = std::from_chars(digits.data(), end, v);
  if (p != end || digits.empty()) return ValueError::kInvalidUnsigned;
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))) {
    return ValueError::kUnsignedRange;
  }
  if (ec != std::errc()) return ValueError::kInvalidUnsigned;
  value = static_cast<std::int64_t>(v);
  return ValueError::kNone;
}

// Clinger's fast path for what sensors send ("21.53", "-0.002"): at most 15 digits, one
// optional '.', no exponent. The digits form an integer m < 2^53 and the scale is 10^k with
// k <= 15, both exact doubles, so the one correctly rounded division gives exactly the double
// from_chars would — at a fraction of its cost. False means "not that simple": ask from_chars.
bool ParseSimpleDecimal(std::string_view token, double& value) {
  static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  const std::size_t sign = (token[0] == '-' || token[0] == '+') ? 1 : 0;
  std::uint64_t mantissa = 0;  // wraps past 19 digits, but then the digit count refuses it
  std::size_t dot = kNpos;
  for (std::size_t i = sign; i < token.size(); ++i) {
    const auto digit = static_cast<unsigned>(token[i] - '0');
    if (digit < 10) {
      mantissa = mantissa * 10 + digit;
    } else if (token[i] == '.' && dot == kNpos) {
      dot = i;
    } else {
      return false;
    }
  }
  const std::size_t digits = token.size() - sign - (dot == kNpos ? 0 : 1);
  if (digits == 0 || digits > 15) return false;
  const std::size_t scale = dot == kNpos ? 0 : token.size() - dot - 1;
  const double magnitude = static_cast<double>(mantissa) / kPow10[scale];
  value = token[0] == '-' ? -magnitude : magnitude;
  return true;
}

// A float as strtod reads one, less what InfluxDB refuses: inf, nan and hex floats. from_chars
// takes no '+' and its general format has no hex, so only the sign and the first digit need a
// look here.
ValueError ParseFloat(std::string_view token, tsdb::Value& value) {
  const std::size_t first = (token[0] == '+' || token[0] == '-') ? 1 : 0;
  if (first >= token.size() || !(IsDigit(token[first]) || token[first] == '.')) {
    return ValueError::kInvalidFloat;
  }
  double v = 0;
  if (ParseSimpleDecimal(token, v)) {
    value = v;
    return ValueError::kNone;
  }
  const char* end = token.data() + token.size();
  auto [p, ec] = std::from_chars(token.data() + (token[0] == '+' ? 1 : 0), end, v);
  if (p != end) return ValueError::kInvalidFloat;
  if (ec == std::errc::result_out_of_range) return ValueError::kFloatRange;
  if (ec != std::errc()) return ValueError::kInvalidFloat;
  value = v;
  return ValueError::kNone;
}

// Decodes a non-empty unquoted field value: "<n>i", "<n>u", a boolean word or a float.
ValueError ParseUnquoted(std::string_view token, tsdb::Value& value) {
  const char last = token.back();
  const std::string_view digits = token.substr(0, token.size() - 1);
  if (last == 'i') return ParseInteger(digits, value);
  if (last == 'u') return ParseUnsigned(digits, value);
  // A float ends in a digit or '.'; only other tokens can be boolean words.
  if (bool b; !IsDigit(last) && last != '.' && ParseBool(token, b)) {
    value = b;
    return ValueError::kNone;
  }
  return ParseFloat(token, value);
}

// The string between the quotes of a string field, with \" and \\ unescaped.
void UnescapeString(std::string_view raw, std::string& out) {
  out.clear();
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && (raw[i + 1] == '"' || raw[i + 1] == '\\')) ++i;
    out.push_back(raw[i]);
  }
}

std::int64_t NanosecondsPer(Precision precision) {
  switch (precision) {
    case Precision::kNanoseconds: return 1;
    case Precision::kMicroseconds: return 1'000;
    case Precision::kMilliseconds: return 1'000'000;
    case Precision::kSeconds: return 1'000'000'000;
  }
  return 1;
}

// ---- Lines ------------------------------------------------------------------------------------

// Parses lines one at a time into `out`. Holds the scratch buffers that escaped names are
// unescaped into, so a body costs no allocations beyond its readings' own strings.
class LineParser {
 public:
  LineParser(const LineProtocolOptions& options, std::vector<Reading>& out)
      : options_(options), out_(out), ns_per_unit_(NanosecondsPer(options.precision)) {}

  // Parses one line (without its '\n'), appending its readings; blank lines and comments add
  // none. On error, readings of this line may already be appended: the caller rolls back.
  Status Parse(std::string_view line, std::size_t line_no);

 private:
  // The steps below return false after recording the error here with Fail: a Status per
  // field (two strings to build and destroy) was a visible cost on the hot path.
  bool Fail(std::size_t offset, std::string what) {
    error_ = Status::InvalidArgument("line " + std::to_string(line_no_) + ", column " +
                                     std::to_string(offset + 1) + ": " + what);
    return false;
  }
  void SkipSpaces(std::size_t& pos) const {
    while (pos < line_.size() && line_[pos] == ' ') ++pos;
  }

  bool ParseSeries(std::size_t& pos);
  bool ParseFields(std::size_t& pos);
  bool ParseValue(std::size_t& pos, std::string_view field, tsdb::Value& value);
  bool ParseTimestamp(std::size_t pos, tsdb::TimeNs& time);

  const LineProtocolOptions& options_;
  std::vector<Reading>& out_;
  const std::int64_t ns_per_unit_;

  // The current line (trailing blanks cut) and what its measurement and tags address.
  std::string_view line_;
  std::size_t line_no_ = 0;
  std::string_view twin_;
  std::string_view component_;
  bool has_component_ = false;

  std::string measurement_buf_, twin_buf_, component_buf_, key_buf_;
  Status error_;
};

Status LineParser::Parse(std::string_view line, std::size_t line_no) {
  line_no_ = line_no;
  line_ = line;
  if (line.size() > options_.max_line_bytes) {
    Fail(options_.max_line_bytes, "line exceeds " + std::to_string(options_.max_line_bytes) + " bytes");
    return std::move(error_);
  }
  if (std::size_t bad = FindInvalidUtf8(line); bad != kNpos) {
    Fail(bad, "invalid UTF-8");
    return std::move(error_);
  }
  // CRLF endings and trailing blanks are allowed: nothing valid ends in a blank.
  std::size_t size = line.size();
  while (size > 0 && IsBlank(line[size - 1])) --size;
  line_ = line.substr(0, size);

  std::size_t pos = 0;
  while (pos < size && (line_[pos] == ' ' || line_[pos] == '\t')) ++pos;
  if (pos == size || line_[pos] == '#') return Status::Ok();

  const std::size_t first = out_.size();
  tsdb::TimeNs time = options_.now;
  if (!ParseSeries(pos)) return std::move(error_);
  SkipSpaces(pos);
  if (pos == size) {
    Fail(pos, "missing fields");
    return std::move(error_);
  }
  if (!ParseFields(pos)) return std::move(error_);
  SkipSpaces(pos);
  if (pos < size && !ParseTimestamp(pos, time)) return std::move(error_);
  for (std::size_t i = first; i < out_.size(); ++i) out_[i].time = time;
  return Status::Ok();
}

// The measurement and the tags: sets twin_ and component_.
bool LineParser::ParseSeries(std::size_t& pos) {
  const Name measurement = ScanName(line_, pos, NameKind::kMeasurement);
  if (measurement.raw.empty()) return Fail(pos, "missing measurement");
  twin_ = NameText(measurement, NameKind::kMeasurement, measurement_buf_);
  has_component_ = false;
  while (pos < line_.size() && line_[pos] == ',') {
    const std::size_t key_at = ++pos;
    const Name key_name = ScanName(line_, pos, NameKind::kTagKey);
    if (key_name.raw.empty()) return Fail(key_at, "missing tag key");
    const std::string_view key = NameText(key_name, NameKind::kTagKey, key_buf_);
    if (pos == line_.size() || line_[pos] != '=') {
      return Fail(pos, "expected '=' after tag key " + Quote(key));
    }
    const std::size_t value_at = ++pos;
    const Name value = ScanName(line_, pos, NameKind::kTagValue);
    if (value.raw.empty()) return Fail(value_at, "missing value for tag " + Quote(key));
    if (key == options_.twin_tag) {
      twin_ = NameText(value, NameKind::kTagValue, twin_buf_);
    } else if (key == options_.component_tag) {
      component_ = NameText(value, NameKind::kTagValue, component_buf_);
      has_component_ = true;
    }
  }
  return true;
}

// field=value[,field=value...]: one reading each, in order. Leaves `pos` on the blank before
// the timestamp or at the end of the line.
bool LineParser::ParseFields(std::size_t& pos) {
  for (;;) {
    const std::size_t key_at = pos;
    const Name key_name = ScanName(line_, pos, NameKind::kFieldKey);
    if (key_name.raw.empty()) return Fail(key_at, "missing field key");
    const std::string_view field = NameText(key_name, NameKind::kFieldKey, key_buf_);
    if (pos == line_.size() || line_[pos] != '=') {
      return Fail(pos, "expected '=' after field key " + Quote(field));
    }
    ++pos;
    // Constructed in place and filled: cheaper than building a Reading and moving it in
    // (measured), since the moved-from temporary must be destroyed too.
    Reading& reading = out_.emplace_back();
    reading.twin_id.assign(twin_);
    if (has_component_) {
      reading.path.reserve(component_.size() + 1 + field.size());
      reading.path.append(component_).append(1, '/').append(field);
    } else {
      reading.path.assign(field);
    }
    if (!ParseValue(pos, field, reading.value)) return false;
    if (pos == line_.size() || line_[pos] == ' ') return true;
    ++pos;  // the ',' before the next field
  }
}

// One field value; leaves `pos` on the ',' or ' ' after it, or at the end of the line.
bool LineParser::ParseValue(std::size_t& pos, std::string_view field, tsdb::Value& value) {
  const std::size_t start = pos;
  if (pos < line_.size() && line_[pos] == '"') {
    bool escaped = false;
    std::size_t i = pos + 1;
    while (i < line_.size() && line_[i] != '"') {
      if (line_[i] == '\\' && i + 1 < line_.size() && (line_[i + 1] == '"' || line_[i + 1] == '\\')) {
        escaped = true;
        ++i;
      }
      ++i;
    }
    if (i == line_.size()) return Fail(start, "unterminated string value for field " + Quote(field));
    const std::string_view raw = line_.substr(pos + 1, i - pos - 1);
    if (escaped) {
      UnescapeString(raw, value.emplace<std::string>());
    } else {
      value.emplace<std::string>(raw);
    }
    pos = i + 1;
    if (pos < line_.size() && line_[pos] != ',' && line_[pos] != ' ') {
      return Fail(pos, "expected ',' or ' ' after the string value of field " + Quote(field));
    }
    return true;
  }
  while (pos < line_.size() && line_[pos] != ',' && line_[pos] != ' ') ++pos;
  if (pos == start) return Fail(start, "missing value for field " + Quote(field));
  const std::string_view token = line_.substr(start, pos - start);
  if (ValueError error = ParseUnquoted(token, value); error != ValueError::kNone) {
    return Fail(start, Describe(error, token, field));
  }
  return true;
}

bool LineParser::ParseTimestamp(std::size_t pos, tsdb::TimeNs& time) {
  const std::size_t start = pos;
  while (pos < line_.size() && line_[pos] != ' ') ++pos;
  const std::string_view token = line_.substr(start, pos - start);
  std::int64_t units = 0;
  auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), units);
  if (p != token.data() + token.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Fail(start, "invalid timestamp " + Quote(token));
  }
  if (ec == std::errc::result_out_of_range || __builtin_mul_overflow(units, ns_per_unit_, &time)) {
    return Fail(start, "timestamp out of range");
  }
  SkipSpaces(pos);
  if (pos < line_.size()) return Fail(pos, "unexpected text after the timestamp");
  return true;
}

// memchr, unlike std::count, is vectorized: this pass costs little next to the parse.
std::size_t CountLines(std::string_view body) {
  std::size_t lines = 1;
  const char* p = body.data();
  const char* end = p + body.size();
  while (p != end &&
         (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) != nullptr) {
    ++lines;
    ++p;
  }
  return lines;
}

}  // namespace

Result<Precision> ParsePrecision(std::string_view text) {
  if (text.empty() || text == "ns" || text == "n") return Precision::kNanoseconds;
  if (text == "us" || text == "u") return Precision::kMicroseconds;
  if (text == "ms") return Precision::kMilliseconds;
  if (text == "s") return Precision::kSeconds;
  return Status::InvalidArgument("invalid precision " + Quote(text) +
                                 ": expected one of ns, us, ms, s (or n, u)");
}

Status ParseLineProtocol(std::string_view body, const LineProtocolOptions& options,
                         std::vector<Reading>& out) {
  const std::size_t original = out.size();
  const std::size_t total_lines = CountLines(body);
  LineParser parser(options, out);
  bool reserved = false;
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == kNpos) end = body.size();
    Status status = parser.Parse(body.substr(start, end - start), ++line_no);
    if (!status.ok()) {
      out.erase(out.begin() + static_cast<std::ptrdiff_t>(original), out.end());
      return status;
    }
    // Size `out` once, from the first line's field count: bodies are batches of alike lines.
    // Capped by what the rest of the body could hold ("f=1," is 4 bytes), so an odd first line
    // cannot reserve absurdly.
    if (!reserved && out.size() > original) {
      reserved = true;
      const std::size_t per_line = out.size() - original;
      const std::size_t rest = std::min((total_lines - line_no) * per_line, (body.size() - end) / 4);
      out.reserve(out.size() + rest);
    }
    start = end + 1;
  }
  return Status::Ok();
}

Result<std::string> Gunzip(std::string_view compressed, std::size_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::Internal("inflateInit2 failed");
  struct Cleanup {
    z_stream* zs;
    ~Cleanup() { inflateEnd(zs); }
  } cleanup{&zs};
  const auto* in_begin = reinterpret_cast<const Bytef*>(compressed.data());
  const auto* in_end = in_begin + compressed.size();
  zs.next_in = const_cast<Bytef*>(in_begin);  // zlib's API predates const; it never writes
  const std::string too_large = "decompressed body exceeds " + std::to_string(max_bytes) + " bytes";

  // One byte of room past the limit tells "exactly max_bytes" from "more".
  const std::size_t cap = max_bytes == std::numeric_limits<std::size_t>::max() ? max_bytes : max_bytes + 1;
  std::string out;
  std::size_t produced = 0;
  for (;;) {
    const std::size_t in_left = static_cast<std::size_t>(in_end - zs.next_in);
    zs.avail_in = static_cast<uInt>(std::min<std::size_t>(in_left, UINT_MAX));
    if (produced == out.size()) {
      if (out.size() >= cap) return Status::PayloadTooLarge(too_large);
      const std::size_t want = std::max<std::size_t>({out.size() * 2, compressed.size() * 4, 4096});
      out.resize(std::min(want, cap));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size() - produced, UINT_MAX));
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced = static_cast<std::size_t>(reinterpret_cast<char*>(zs.next_out) - out.data());
    if (produced > max_bytes) return Status::PayloadTooLarge(too_large);
    if (rc == Z_STREAM_END) {
      const std::size_t rest = static_cast<std::size_t>(in_end - zs.next_in);
      if (rest == 0) break;
      // RFC 1952 allows several members back to back (what `cat a.gz b.gz` makes); anything
      // else after a member is garbage, and garbage means the body is not what was sent.
      if (rest >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      return Status::InvalidArgument("corrupt gzip body: trailing bytes after the gzip stream");
    }
    if (rc == Z_BUF_ERROR) {
      if (zs.next_in == in_end) return Status::InvalidArgument("corrupt gzip body: truncated");
      continue;  // the output buffer was full: grow it
    }
    if (rc != Z_OK) {
      return Status::InvalidArgument(std::string("corrupt gzip body: ") +
                                     (zs.msg != nullptr ? zs.msg : "inflate failed"));
    }
  }
  out.resize(produced);
  return out;
}

}  // namespace doppel::ingest
