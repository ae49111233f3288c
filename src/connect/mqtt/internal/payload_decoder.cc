#include "connect/mqtt/internal/payload_decoder.h"

#include <charconv>
#include <cmath>
#include <numbers>
#include <utility>

#include "base/clock.h"

namespace doppel::connect::mqtt::internal {
namespace {

constexpr std::string_view kMalformed = "malformed_payload";
constexpr std::string_view kBadTimestamp = "bad_timestamp";
constexpr std::string_view kWrongType = "wrong_type";

Status Reject(std::string_view reason, std::string message) {
  return Status::InvalidArgument(std::move(message), std::string(reason));
}

struct NamedConversion {
  std::string_view spec;
  UnitConversion conversion;
};

// DTDL unit names on both sides, so a converted value lands in the model's declared unit.
constexpr double kRpmToRadPerS = 2 * std::numbers::pi / 60;
const NamedConversion kConversions[] = {
    {"degreeFahrenheit->degreeCelsius", {5.0 / 9.0, -32.0 * 5.0 / 9.0}},
    {"degreeCelsius->degreeFahrenheit", {9.0 / 5.0, 32.0}},
    {"kelvin->degreeCelsius", {1.0, -273.15}},
    {"degreeCelsius->kelvin", {1.0, 273.15}},
    {"kilometrePerHour->metrePerSecond", {1.0 / 3.6, 0.0}},
    {"metrePerSecond->kilometrePerHour", {3.6, 0.0}},
    {"milePerHour->metrePerSecond", {0.44704, 0.0}},
    {"knot->metrePerSecond", {1852.0 / 3600.0, 0.0}},
    {"watt->kilowatt", {1e-3, 0.0}},
    {"kilowatt->watt", {1e3, 0.0}},
    {"kilowatt->megawatt", {1e-3, 0.0}},
    {"megawatt->kilowatt", {1e3, 0.0}},
    {"pascal->bar", {1e-5, 0.0}},
    {"bar->pascal", {1e5, 0.0}},
    {"kilopascal->bar", {1e-2, 0.0}},
    {"bar->kilopascal", {1e2, 0.0}},
    {"poundPerSquareInch->kilopascal", {6.894757293168361, 0.0}},
    {"revolutionPerMinute->radianPerSecond", {kRpmToRadPerS, 0.0}},
    {"radianPerSecond->revolutionPerMinute", {1.0 / kRpmToRadPerS, 0.0}},
};

std::string Quoted(std::string_view name) {
  std::string out;  // appended, not operator+: GCC 12 warns falsely (-Wrestrict) on "'" + s
  out.reserve(name.size() + 2);
  out.push_back('\'');
  out.append(name);
  out.push_back('\'');
  return out;
}

// A JSON scalar as a reading value; nullopt for null/object/array (the caller says why).
Result<std::optional<tsdb::Value>> ScalarOf(const json::value& v, std::string_view name) {
  switch (v.kind()) {
    case json::kind::int64: return std::optional<tsdb::Value>(v.get_int64());
    case json::kind::uint64:
      if (v.get_uint64() > static_cast<uint64_t>(INT64_MAX)) {
        return Reject(kMalformed, "member " + Quoted(name) + " is an integer past the int64 range");
      }
      return std::optional<tsdb::Value>(static_cast<int64_t>(v.get_uint64()));
    case json::kind::double_: return std::optional<tsdb::Value>(v.get_double());
    case json::kind::bool_: return std::optional<tsdb::Value>(v.get_bool());
    case json::kind::string: return std::optional<tsdb::Value>(std::string(v.get_string()));
    default: return std::optional<tsdb::Value>();
  }
}

json::value ToJsonValue(const tsdb::Value& v) {
  return std::visit([](const auto& x) -> json::value { return json::value(x); }, v);
}

// Applies a field's scale, offset and conversion; a plain rename leaves the value alone.
Result<tsdb::Value> Transform(const FieldMapping* field, std::string_view name, tsdb::Value value) {
  if (field == nullptr) return value;
  const bool affine = field->scale != 1.0 || field->offset != 0.0;
  if (!affine && field->convert.empty()) return value;
  if (!tsdb::IsNumeric(tsdb::TypeOf(value))) {
    return Reject(kWrongType, "field " + Quoted(name) + " is scaled or converted and must be a number, got " +
                                  std::string(tsdb::ValueTypeName(tsdb::TypeOf(value))));
  }
  double x = tsdb::NumericValue(value) * field->scale + field->offset;
  if (!field->convert.empty()) {
    std::optional<UnitConversion> c = FindConversion(field->convert);
    if (!c) return Reject(kWrongType, "unknown conversion " + Quoted(field->convert));  // config checked it
    x = x * c->scale + c->offset;
  }
  if (!std::isfinite(x)) return Reject(kWrongType, "field " + Quoted(name) + " is not finite after scaling");
  return tsdb::Value(x);
}

// Adds one named value (a JSON member or a {path} level) to `out`.
class MessageBuilder {
 public:
  MessageBuilder(const TopicMapping& mapping, const TopicBindings& bindings, DecodedMessage& out)
      : mapping_(mapping), bindings_(bindings), out_(out) {}

  Status Add(std::string_view name, const json::value& value, tsdb::TimeNs time) {
    auto it = mapping_.fields.find(name);
    const FieldMapping* field = it == mapping_.fields.end() ? nullptr : &it->second;
    if (field == nullptr && mapping_.ignore_unmapped) return Status::Ok();
    std::string path = bindings_.component.empty() ? "" : bindings_.component + "/";
    path += field == nullptr ? std::string(name) : field->path;
    DOPPEL_ASSIGN_OR_RETURN(std::optional<tsdb::Value> scalar, ScalarOf(value, name));
    const bool properties = mapping_.target == MappingTarget::kProperties;
    if (!scalar) {
      if (value.is_null()) return Reject(kMalformed, "member " + Quoted(name) + " is null");
      if (!properties || field != nullptr) {
        return Reject(kMalformed, "member " + Quoted(name) + " is " + (value.is_object() ? "an object" : "an array") +
                                      ": history keeps numbers, booleans and strings");
      }
      AddPatch(path, value);  // a complex property: into the twin, not into history
      return Status::Ok();
    }
    DOPPEL_ASSIGN_OR_RETURN(tsdb::Value v, Transform(field, name, std::move(*scalar)));
    if (properties) AddPatch(path, ToJsonValue(v));
    out_.readings.push_back({bindings_.twin_id, std::move(path), time, std::move(v)});
    return Status::Ok();
  }

 private:
  void AddPatch(std::string_view path, json::value value) {
    // A JSON Pointer: '/' separates component and name (as in reading paths); '~' is escaped.
    std::string pointer = "/";
    for (char c : path) pointer += c == '~' ? std::string("~0") : std::string(1, c);
    out_.property_patch.push_back(json::object{{"op", "add"}, {"path", pointer}, {"value", std::move(value)}});
    out_.property_paths.emplace_back(path);
  }

  const TopicMapping& mapping_;
  const TopicBindings& bindings_;
  DecodedMessage& out_;
};

// One flat JSON object (the json form, or one element of a batch).
Status DecodeObject(const TopicMapping& mapping, const json::object& object, tsdb::TimeNs arrival,
                    MessageBuilder& builder) {
  tsdb::TimeNs time = arrival;
  const std::string* ts_field = mapping.timestamp ? &mapping.timestamp->field : nullptr;
  if (ts_field != nullptr) {
    if (const json::value* ts = object.if_contains(*ts_field)) {
      DOPPEL_ASSIGN_OR_RETURN(time, ParseTimestamp(*ts, mapping.timestamp->format));
    }
  }
  for (const auto& member : object) {
    if (ts_field != nullptr && member.key() == *ts_field) continue;
    DOPPEL_RETURN_IF_ERROR(builder.Add(member.key(), member.value(), time));
  }
  return Status::Ok();
}

Result<json::value> ParsePayloadJson(std::string_view payload) {
  Result<json::value> parsed = ParseJson(payload, JsonLimits{.max_bytes = payload.size() + 1, .max_depth = 32});
  if (!parsed.ok()) return Reject(kMalformed, parsed.status().message());
  return parsed;
}

Status DecodeJson(const TopicMapping& mapping, std::string_view payload, tsdb::TimeNs arrival,
                  MessageBuilder& builder) {
  DOPPEL_ASSIGN_OR_RETURN(json::value doc, ParsePayloadJson(payload));
  if (!doc.is_object()) return Reject(kMalformed, "expected a JSON object, got " + std::string(JsonTypeName(doc)));
  return DecodeObject(mapping, doc.get_object(), arrival, builder);
}

Status DecodeJsonArray(const TopicMapping& mapping, std::string_view payload, tsdb::TimeNs arrival,
                       MessageBuilder& builder) {
  DOPPEL_ASSIGN_OR_RETURN(json::value doc, ParsePayloadJson(payload));
  if (!doc.is_array()) return Reject(kMalformed, "expected a JSON array, got " + std::string(JsonTypeName(doc)));
  const json::array& items = doc.get_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) {
      return Reject(kMalformed, "element " + std::to_string(i) + " is " + std::string(JsonTypeName(items[i])) +
                                    ", expected an object");
    }
    Status s = DecodeObject(mapping, items[i].get_object(), arrival, builder);
    if (!s.ok()) return Status(s.code(), s.error_code(), "element " + std::to_string(i) + ": " + s.message());
  }
  return Status::Ok();
}

Status DecodeValue(const TopicBindings& bindings, std::string_view payload, tsdb::TimeNs arrival,
                   MessageBuilder& builder) {
  DOPPEL_ASSIGN_OR_RETURN(tsdb::Value value, ParseBareValue(payload));
  return builder.Add(bindings.path, ToJsonValue(value), arrival);
}

Result<tsdb::TimeNs> EpochToNs(double value, double ns_per_unit) {
  const double ns = std::round(value * ns_per_unit);
  // 2^63 is exact as a double; the range is about the years 1677..2262.
  if (!std::isfinite(ns) || ns >= 9223372036854775808.0 || ns < -9223372036854775808.0) {
    return Reject(kBadTimestamp, "timestamp is out of range");
  }
  return static_cast<tsdb::TimeNs>(ns);
}

Result<tsdb::TimeNs> EpochIntToNs(int64_t value, int64_t ns_per_unit) {
  if (value > INT64_MAX / ns_per_unit || value < INT64_MIN / ns_per_unit) {
    return Reject(kBadTimestamp, "timestamp is out of range");
  }
  return value * ns_per_unit;
}

}  // namespace

Result<tsdb::Value> ParseBareValue(std::string_view payload) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!payload.empty() && space(payload.front())) payload.remove_prefix(1);
  while (!payload.empty() && space(payload.back())) payload.remove_suffix(1);
  if (payload.empty()) return Reject(kMalformed, "the payload is empty");
  if (!IsValidUtf8(payload) || payload.find('\0') != std::string_view::npos) {
    return Reject(kMalformed, "the payload is not valid UTF-8 text");
  }
  if (payload == "true") return tsdb::Value(true);
  if (payload == "false") return tsdb::Value(false);
  // A number only if JSON reads the whole text as one (so "1e3" is a number, "0x10" text).
  const char first = payload.front();
  if (first == '-' || (first >= '0' && first <= '9')) {
    json::parse_options options;
    boost::system::error_code ec;
    json::value v = json::parse(payload, ec, {}, options);
    if (!ec) {
      if (v.is_int64()) return tsdb::Value(v.get_int64());
      if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
        return tsdb::Value(static_cast<int64_t>(v.get_uint64()));
      }
      if (v.is_number()) {
        // Boost.JSON reads "1e400" as infinity; history keeps finite numbers only.
        const double d = v.to_number<double>();
        if (!std::isfinite(d)) return Reject(kMalformed, "the number is out of the range of a double");
        return tsdb::Value(d);
      }
    }
  }
  return tsdb::Value(std::string(payload));
}

Result<tsdb::TimeNs> ParseTimestamp(const json::value& value, TimestampFormat format) {
  if (format == TimestampFormat::kRfc3339) {
    if (!value.is_string()) {
      return Reject(kBadTimestamp, "timestamp must be an RFC 3339 string, got " + std::string(JsonTypeName(value)));
    }
    Result<TimePoint> t = ParseRfc3339(value.get_string());
    if (!t.ok()) return Reject(kBadTimestamp, "timestamp: " + t.status().message());
    return static_cast<tsdb::TimeNs>(t->time_since_epoch().count());
  }
  int64_t ns_per_unit = 1;
  switch (format) {
    case TimestampFormat::kEpochS: ns_per_unit = 1'000'000'000; break;
    case TimestampFormat::kEpochMs: ns_per_unit = 1'000'000; break;
    case TimestampFormat::kEpochUs: ns_per_unit = 1'000; break;
    default: break;
  }
  if (value.is_int64()) return EpochIntToNs(value.get_int64(), ns_per_unit);
  if (value.is_uint64()) return Reject(kBadTimestamp, "timestamp is out of range");
  if (value.is_double()) return EpochToNs(value.get_double(), static_cast<double>(ns_per_unit));
  return Reject(kBadTimestamp, "timestamp must be a number (epoch), got " + std::string(JsonTypeName(value)));
}

std::optional<UnitConversion> FindConversion(std::string_view spec) {
  for (const NamedConversion& c : kConversions) {
    if (c.spec == spec) return c.conversion;
  }
  return std::nullopt;
}

std::vector<std::string> KnownConversions() {
  std::vector<std::string> names;
  for (const NamedConversion& c : kConversions) names.emplace_back(c.spec);
  return names;
}

Result<DecodedMessage> DecodePayload(const TopicMapping& mapping, const TopicBindings& bindings,
                                     std::string_view payload, tsdb::TimeNs arrival) {
  DecodedMessage out;
  MessageBuilder builder(mapping, bindings, out);
  switch (mapping.payload) {
    case PayloadForm::kJson: DOPPEL_RETURN_IF_ERROR(DecodeJson(mapping, payload, arrival, builder)); break;
    case PayloadForm::kJsonArray: DOPPEL_RETURN_IF_ERROR(DecodeJsonArray(mapping, payload, arrival, builder)); break;
    case PayloadForm::kValue: DOPPEL_RETURN_IF_ERROR(DecodeValue(bindings, payload, arrival, builder)); break;
  }
  if (out.readings.empty() && out.property_patch.empty()) {
    return Reject(kMalformed, "the message holds no values to record");
  }
  return out;
}

}  // namespace doppel::connect::mqtt::internal
