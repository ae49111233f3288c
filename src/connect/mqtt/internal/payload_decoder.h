// Decoding MQTT payloads into readings and property patches (internal to connect/mqtt): the
// three payload forms (json, value, json-array), field mappings (rename, scale, offset, unit
// conversion) and timestamp formats. docs/mqtt.md describes the forms for users.
//
// Failures are Statuses whose error_code() is the rejection reason's metric label
// ("malformed_payload", "bad_timestamp", "wrong_type"), so the connector counts them exactly.
// Pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "connect/mqtt/internal/topic_pattern.h"
#include "connect/mqtt/mqtt_connector.h"
#include "ingest/reading.h"
#include "tsdb/types.h"

namespace doppel::connect::mqtt::internal {

struct DecodedMessage {
  // One per scalar value. For a properties mapping: one per scalar property (objects go only
  // into the patch).
  std::vector<ingest::Reading> readings;
  // For a properties mapping: [{"op": "add", "path": "/<name>" or "/<component>/<name>",
  // "value": v}, ...] ("add" sets a property whether or not it has a value yet). Else empty.
  json::array property_patch;
  // For a properties mapping: the path ("name" or "component/name") of each patch operation.
  std::vector<std::string> property_paths;
};

// Decodes `payload` (already within the size limit) for the twin and levels in `bindings`.
// Readings without a timestamp member get `arrival`.
// Errors (InvalidArgument, error_code = reason label):
//   malformed_payload  invalid JSON, not the form's shape (object / array of objects / bare
//                      value), a null member, an object or array in telemetry, an integer past
//                      int64, nothing to record;
//   bad_timestamp      the timestamp member has the wrong JSON type or is out of range;
//   wrong_type         a scaled or converted field whose value is not a number.
Result<DecodedMessage> DecodePayload(const TopicMapping& mapping, const TopicBindings& bindings,
                                     std::string_view payload, tsdb::TimeNs arrival);

// A bare value: surrounding whitespace trimmed; "true"/"false" → bool; a JSON number →
// int64 (integral and in range) or double; anything else non-empty → the text (valid UTF-8).
// Errors: malformed_payload for an empty payload, invalid UTF-8 or a number past the range
// of a double ("1e400").
Result<tsdb::Value> ParseBareValue(std::string_view payload);

// A timestamp member in `format`: rfc3339 wants a string, epoch_* a number (fractions kept
// down to the nanosecond). Errors: bad_timestamp.
Result<tsdb::TimeNs> ParseTimestamp(const json::value& value, TimestampFormat format);

// An affine unit conversion: to = from * scale + offset.
struct UnitConversion {
  double scale = 1.0;
  double offset = 0.0;
};
// "degreeFahrenheit->degreeCelsius" and the other pairs of KnownConversions(), or nullopt.
std::optional<UnitConversion> FindConversion(std::string_view spec);
// The supported "<from>-><to>" strings, for error messages and docs.
std::vector<std::string> KnownConversions();

}  // namespace doppel::connect::mqtt::internal
