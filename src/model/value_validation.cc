#include "model/value_validation.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "base/clock.h"

namespace doppel::model {
namespace {

Status Invalid(std::string_view path, std::string_view what) {
  return Status::InvalidArgument(fmt::format("property '{}': {}", path, what), "ValidationFailed");
}

std::string Child(std::string_view path, std::string_view name) {
  return path.empty() ? std::string(name) : fmt::format("{}.{}", path, name);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// `n` digits at s[pos..], as a number.
bool Digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(s[i])) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// YYYY-MM-DD with a real day of the month.
bool IsDate(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!Digits(s, 0, 4, y) || !Digits(s, 5, 2, m) || !Digits(s, 8, 2, d)) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= kDays[m - 1] + (m == 2 && IsLeap(y) ? 1 : 0);
}

// hh:mm:ss[.fraction][Z|±hh:mm] (RFC 3339 partial-time, optionally with an offset).
bool IsTime(std::string_view s) {
  int h, m, sec;
  if (s.size() < 8 || s[2] != ':' || s[5] != ':') return false;
  if (!Digits(s, 0, 2, h) || !Digits(s, 3, 2, m) || !Digits(s, 6, 2, sec)) return false;
  if (h > 23 || m > 59 || sec > 60) return false;
  std::size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    std::size_t start = ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i == s.size()) return true;
  if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) return true;
  int oh, om;
  return (s[i] == '+' || s[i] == '-') && s.size() == i + 6 && s[i + 3] == ':' &&
         Digits(s, i + 1, 2, oh) && Digits(s, i + 4, 2, om) && oh <= 23 && om <= 59;
}

bool IsDateTime(std::string_view s) {
  auto t = s.find_first_of("Tt ");
  if (t != 10 || !IsDate(s.substr(0, 10))) return false;
  return ParseRfc3339(s).ok();
}

// ISO 8601 duration: P[nY][nM][nW][nD][T[nH][nM][n[.f]S]], at least one component.
bool IsDuration(std::string_view s) {
  if (s.size() < 2 || s[0] != 'P') return false;
  static constexpr std::string_view kDateUnits = "YMWD", kTimeUnits = "HMS";
  bool in_time = false, any = false, time_any = false;
  std::size_t unit_floor = 0;
  for (std::size_t i = 1; i < s.size();) {
    if (s[i] == 'T') {
      if (in_time) return false;
      in_time = true;
      unit_floor = 0;
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    bool fraction = false;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      fraction = true;
      ++i;
      while (i < s.size() && IsDigit(s[i])) ++i;
    }
    if (i == start || i == s.size()) return false;
    std::string_view units = in_time ? kTimeUnits : kDateUnits;
    auto u = units.find(s[i]);
    if (u == std::string_view::npos || u < unit_floor) return false;
    if (fraction && !(in_time && s[i] == 'S')) return false;
    unit_floor = u + 1;
    any = true;
    time_any |= in_time;
    ++i;
  }
  return any && (!in_time || time_any);
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool IsBase64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  std::size_t pad = 0;
  for (char c : s) {
    bool b64 = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
    if (c == '=') {
      ++pad;
    } else if (!b64 || pad > 0) {
      return false;
    }
  }
  return pad <= 2;
}

Status CheckInteger(const json::value& v, std::string_view path, int64_t lo, uint64_t hi,
                    std::string_view type) {
  bool ok = false;
  if (v.is_int64()) {
    int64_t x = v.as_int64();
    ok = x >= lo && (x < 0 || static_cast<uint64_t>(x) <= hi);
  } else if (v.is_uint64()) {
    ok = v.as_uint64() <= hi;
  }
  if (ok) return Status::Ok();
  return Invalid(path, fmt::format("value {} is not a valid {}", ToJson(v), type));
}

Status CheckString(const json::value& v, std::string_view path, bool (*valid)(std::string_view),
                   std::string_view type) {
  if (v.is_string() && valid(v.as_string())) return Status::Ok();
  return Invalid(path, fmt::format("value {} is not a valid {}", ToJson(v), type));
}

bool IsAnyString(std::string_view) { return true; }

Status CheckGeospatial(const json::value& v, std::string_view path) {
  const auto* o = v.if_object();
  const json::value* type = o ? o->if_contains("type") : nullptr;
  const json::value* coords = o ? o->if_contains("coordinates") : nullptr;
  if (type && type->is_string() && coords && coords->is_array()) return Status::Ok();
  return Invalid(path, "a geospatial value must be a GeoJSON object with type and coordinates");
}

Status CheckPrimitive(PrimitiveType t, const json::value& v, std::string_view path) {
  switch (t) {
    case PrimitiveType::kBoolean:
      return v.is_bool() ? Status::Ok() : Invalid(path, fmt::format("value {} is not a boolean",
                                                                    ToJson(v)));
    case PrimitiveType::kDouble:
    case PrimitiveType::kDecimal:
      if (!v.is_number()) return Invalid(path, fmt::format("value {} is not a number", ToJson(v)));
      // A literal like 1e400 parses to infinity, which JSON cannot carry back out: refuse it
      // rather than store a value that would read back as null.
      if (!std::isfinite(v.to_number<double>())) {
        return Invalid(path, "value is out of the range of a double");
      }
      return Status::Ok();
    case PrimitiveType::kFloat:
      if (v.is_number() && std::abs(v.to_number<double>()) <= FLT_MAX) return Status::Ok();
      return Invalid(path, fmt::format("value {} is not a valid float", ToJson(v)));
    case PrimitiveType::kByte: return CheckInteger(v, path, INT8_MIN, INT8_MAX, "byte");
    case PrimitiveType::kShort: return CheckInteger(v, path, INT16_MIN, INT16_MAX, "short");
    case PrimitiveType::kInteger: return CheckInteger(v, path, INT32_MIN, INT32_MAX, "integer");
    case PrimitiveType::kLong: return CheckInteger(v, path, INT64_MIN, INT64_MAX, "long");
    case PrimitiveType::kUnsignedByte: return CheckInteger(v, path, 0, UINT8_MAX, "unsignedByte");
    case PrimitiveType::kUnsignedShort:
      return CheckInteger(v, path, 0, UINT16_MAX, "unsignedShort");
    case PrimitiveType::kUnsignedInteger:
      return CheckInteger(v, path, 0, UINT32_MAX, "unsignedInteger");
    case PrimitiveType::kUnsignedLong:
      return CheckInteger(v, path, 0, UINT64_MAX, "unsignedLong");
    case PrimitiveType::kString: return CheckString(v, path, IsAnyString, "string");
    case PrimitiveType::kDate: return CheckString(v, path, IsDate, "date (YYYY-MM-DD)");
    case PrimitiveType::kDateTime:
      return CheckString(v, path, IsDateTime, "dateTime (RFC 3339)");
    case PrimitiveType::kTime: return CheckString(v, path, IsTime, "time (hh:mm:ss)");
    case PrimitiveType::kDuration:
      return CheckString(v, path, IsDuration, "duration (ISO 8601, e.g. PT1H30M)");
    case PrimitiveType::kUuid: return CheckString(v, path, IsUuid, "uuid");
    case PrimitiveType::kBytes: return CheckString(v, path, IsBase64, "bytes (base64)");
    case PrimitiveType::kGeospatial: return CheckGeospatial(v, path);
  }
  return Status::Ok();
}

Status CheckEnum(const Schema& s, const json::value& v, std::string_view path) {
  for (const auto& ev : s.enum_values) {
    if (ev.value == v) return Status::Ok();
    // 1 and 1u are the same enum value however JSON stored them.
    if (ev.value.is_number() && v.is_number() && !v.is_double() && !ev.value.is_double() &&
        ToJson(ev.value) == ToJson(v)) {
      return Status::Ok();
    }
  }
  std::string names;
  for (const auto& ev : s.enum_values) {
    if (!names.empty()) names += ", ";
    names += ToJson(ev.value);
  }
  return Invalid(path, fmt::format("value {} is not one of the enum values [{}]", ToJson(v),
                                   names));
}

Status CheckObject(const Schema& s, const json::value& v, std::string_view path) {
  if (!v.is_object()) return Invalid(path, fmt::format("value {} is not an object", ToJson(v)));
  for (const auto& kv : v.as_object()) {
    const Field* field = nullptr;
    for (const auto& f : s.fields) {
      if (f.name == kv.key()) field = &f;
    }
    std::string child = Child(path, kv.key());
    if (field == nullptr) return Invalid(child, "the object schema has no such field");
    if (kv.value().is_null()) continue;  // an unset field
    DOPPEL_RETURN_IF_ERROR(ValidateValue(*field->schema, kv.value(), child));
  }
  return Status::Ok();
}

Status CheckArray(const Schema& s, const json::value& v, std::string_view path) {
  if (!v.is_array()) return Invalid(path, fmt::format("value {} is not an array", ToJson(v)));
  const auto& a = v.as_array();
  for (std::size_t i = 0; i < a.size(); ++i) {
    DOPPEL_RETURN_IF_ERROR(ValidateValue(*s.element, a[i], fmt::format("{}[{}]", path, i)));
  }
  return Status::Ok();
}

Status CheckMap(const Schema& s, const json::value& v, std::string_view path) {
  if (!v.is_object()) return Invalid(path, fmt::format("value {} is not a map object", ToJson(v)));
  for (const auto& kv : v.as_object()) {
    DOPPEL_RETURN_IF_ERROR(ValidateValue(*s.map_value, kv.value(), Child(path, kv.key())));
  }
  return Status::Ok();
}

}  // namespace

Status ValidateValue(const Schema& schema, const json::value& value, std::string_view path) {
  switch (schema.kind) {
    case Schema::Kind::kPrimitive: return CheckPrimitive(schema.primitive, value, path);
    case Schema::Kind::kEnum: return CheckEnum(schema, value, path);
    case Schema::Kind::kObject: return CheckObject(schema, value, path);
    case Schema::Kind::kArray: return CheckArray(schema, value, path);
    case Schema::Kind::kMap: return CheckMap(schema, value, path);
  }
  return Status::Ok();
}

}  // namespace doppel::model
