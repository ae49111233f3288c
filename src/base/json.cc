#include "base/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace doppel {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Line and column (1-based) of byte `offset` in `text`.
std::pair<std::size_t, std::size_t> LineColumn(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// True if `v` holds a double that is not finite anywhere inside. Boost.JSON 1.81 turns a number
// too large for a double ("1e400") into infinity instead of failing, and ToJson could only write
// that back as null, so such documents are refused like NaN/Infinity literals are.
bool HasNonFiniteNumber(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: return !std::isfinite(v.get_double());
    case json::kind::array:
      for (const auto& e : v.get_array()) {
        if (HasNonFiniteNumber(e)) return true;
      }
      return false;
    case json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (HasNonFiniteNumber(kv.value())) return true;
      }
      return false;
    default: return false;
  }
}

// Calls `f(token)` for every number token of `body` (outside strings), in text order.
template <typename F>
void ForEachNumberToken(std::string_view body, F&& f) {
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    std::size_t end = i;
    while (end < body.size() && std::string_view("+-.eE0123456789").find(body[end]) !=
                                    std::string_view::npos) {
      ++end;
    }
    f(body.substr(i, end - i));
    i = end - 1;
  }
}

// Calls `f(value&)` for every number in `v`, depth first, in document order.
template <typename F>
void ForEachNumber(json::value& v, F&& f) {
  if (auto* a = v.if_array()) {
    for (auto& e : *a) ForEachNumber(e, f);
  } else if (auto* o = v.if_object()) {
    for (auto& kv : *o) ForEachNumber(kv.value(), f);
  } else if (v.is_number()) {
    f(v);
  }
}

// Boost.JSON before 1.83 may round a decimal a few ULPs off (no "precise" mode), so a number
// written by ToJson in its shortest form could read back as a different double and drift on
// every store/restore. Re-converts each double with std::from_chars (correctly rounded),
// matching numbers to tokens in document order; a correction is applied only within that
// rounding error, so an order mismatch (duplicate keys) can never swap distinct values.
constexpr double kMaxRoundingError = 1e-13;  // relative; ~450 ULPs, Boost is off by 1-2
void RoundDoublesExactly(std::string_view body, json::value& value) {
  std::vector<std::string_view> tokens;
  ForEachNumberToken(body, [&](std::string_view t) { tokens.push_back(t); });
  std::size_t next = 0;
  ForEachNumber(value, [&](json::value& number) {
    if (next >= tokens.size()) return;
    std::string_view token = tokens[next++];
    if (!number.is_double()) return;
    double precise = 0;
    auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), precise);
    double approx = number.get_double();
    if (ec != std::errc() || end != token.data() + token.size() || precise == approx) return;
    if (std::fabs(precise - approx) <= std::fabs(precise) * kMaxRoundingError) number = precise;
  });
}

// Offset of the first number token in `body` that overflows a double, or body.size() if none.
// Only run once HasNonFiniteNumber said there is one, to name its place.
std::size_t FindOverflowingNumber(std::string_view body) {
  std::size_t found = body.size();
  ForEachNumberToken(body, [&](std::string_view token) {
    if (found != body.size()) return;
    if (!std::isfinite(std::strtod(std::string(token).c_str(), nullptr))) {
      found = static_cast<std::size_t>(token.data() - body.data());
    }
  });
  return found;
}

void AppendDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {  // JSON has no NaN/Infinity; null is the honest rendering.
    out += "null";
    return;
  }
  // Shortest round-trip form, plain where reasonable (chars_format::general switches to an
  // exponent early). Integral doubles come out without a fraction (3, not 3.0), as ADT writes
  // them; clients parse numbers, so nothing is lost.
  char buf[32];
  double magnitude = std::fabs(d);
  auto fmt = (magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e17))
                 ? std::chars_format::scientific
                 : std::chars_format::fixed;
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, fmt);
  if (ec != std::errc()) end = std::to_chars(buf, buf + sizeof buf, d).ptr;
  out.append(buf, end);
}

void Write(std::string& out, const json::value& v, int indent, int depth);

void Newline(std::string& out, int indent, int depth) {
  if (indent < 0) return;
  out += '\n';
  out.append(static_cast<std::size_t>(indent * depth), ' ');
}

void Write(std::string& out, const json::value& v, int indent, int depth) {
  switch (v.kind()) {
    case json::kind::null: out += "null"; break;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case json::kind::int64: out += std::to_string(v.get_int64()); break;
    case json::kind::uint64: out += std::to_string(v.get_uint64()); break;
    case json::kind::double_: AppendDouble(out, v.get_double()); break;
    case json::kind::string: AppendJsonString(out, v.get_string()); break;
    case json::kind::array: {
      const auto& a = v.get_array();
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        Newline(out, indent, depth + 1);
        Write(out, a[i], indent, depth + 1);
      }
      if (!a.empty()) Newline(out, indent, depth);
      out += ']';
      break;
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      out += '{';
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out += ',';
        first = false;
        Newline(out, indent, depth + 1);
        AppendJsonString(out, kv.key());
        out += indent < 0 ? ":" : ": ";
        Write(out, kv.value(), indent, depth + 1);
      }
      if (!o.empty()) Newline(out, indent, depth);
      out += '}';
      break;
    }
  }
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

Result<json::value> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::PayloadTooLarge(fmt::format("JSON document of {} bytes exceeds the limit of {} bytes",
                                               text.size(), limits.max_bytes));
  }
  std::string_view body = text;
  if (body.starts_with(kUtf8Bom)) body.remove_prefix(kUtf8Bom.size());

  json::parse_options options;
  options.max_depth = limits.max_depth;
  json::stream_parser parser(json::storage_ptr(), options);
  boost::system::error_code ec;
  std::size_t consumed = parser.write_some(body.data(), body.size(), ec);
  if (!ec) parser.finish(ec);
  if (!ec && consumed < body.size()) ec = json::error::extra_data;
  if (ec) {
    std::size_t offset = consumed + (text.size() - body.size());
    auto [line, column] = LineColumn(text, offset);
    std::string reason = ec.message();
    if (ec == json::error::too_deep) {
      reason = fmt::format("nesting deeper than the limit of {}", limits.max_depth);
    }
    if (body.empty()) reason = "empty document";
    return Status::InvalidArgument(
        fmt::format("invalid JSON at line {}, column {} (offset {}): {}", line, column, offset, reason));
  }
  json::value value = parser.release();
  RoundDoublesExactly(body, value);
  if (HasNonFiniteNumber(value)) {
    std::size_t offset = FindOverflowingNumber(body) + (text.size() - body.size());
    auto [line, column] = LineColumn(text, offset);
    return Status::InvalidArgument(fmt::format(
        "invalid JSON at line {}, column {} (offset {}): number out of the range of a double",
        line, column, offset));
  }
  return value;
}

std::string ToJson(const json::value& value) {
  std::string out;
  Write(out, value, -1, 0);
  return out;
}

std::string ToPrettyJson(const json::value& value) {
  std::string out;
  Write(out, value, 2, 0);
  return out;
}

std::string_view JsonTypeName(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "unknown";
}

}  // namespace doppel
