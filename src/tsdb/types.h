// Vocabulary of the history engine: series ids, value types, points.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace doppel::tsdb {

// Nanoseconds since the Unix epoch, UTC. A bare integer on purpose, against STYLE.md's
// "strong time types": this is the codec's domain (delta-of-delta runs on raw integers) and
// the hot loops must not convert per point. Convert at the API edge with ToTimeNs/base::TimePoint.
using TimeNs = int64_t;

// Dense id of a series in one SeriesStore's catalog; stable across reopens.
using SeriesId = uint64_t;

// The index of each type in Value; persisted in chunks and the catalog, so never renumber.
enum class ValueType : uint8_t { kDouble = 0, kInt64 = 1, kBool = 2, kString = 3 };

using Value = std::variant<double, int64_t, bool, std::string>;

// A value as a double: numbers, and booleans as 0/1; strings have none.
inline std::optional<double> NumericOf(const Value& v) {
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const bool* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  return std::nullopt;
}

inline ValueType TypeOf(const Value& v) { return static_cast<ValueType>(v.index()); }
inline bool IsNumeric(ValueType t) { return t == ValueType::kDouble || t == ValueType::kInt64; }
std::string_view ValueTypeName(ValueType t);
// A numeric value as a double (int64 converted). Precondition: IsNumeric(TypeOf(v)).
inline double NumericValue(const Value& v) {
  return v.index() == 0 ? std::get<double>(v) : static_cast<double>(std::get<int64_t>(v));
}

// Division rounding toward negative infinity: aligns any time (also before 1970) to buckets
// and partitions counted from the epoch. Precondition: b > 0.
inline TimeNs FloorDiv(TimeNs a, TimeNs b) {
  const TimeNs q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

struct Point {
  TimeNs time = 0;
  Value value;
  bool operator==(const Point&) const = default;
};

}  // namespace doppel::tsdb
