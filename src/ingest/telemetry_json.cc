#include "ingest/telemetry_json.h"

#include <cstdint>
#include <limits>
#include <string>

namespace doppel::ingest {

Status ReadingsFromTelemetry(std::string_view twin_id, std::string_view component, const json::object& message,
                             tsdb::TimeNs time, std::vector<Reading>& out) {
  if (message.empty()) return Status::InvalidArgument("telemetry message has no members");
  const std::string prefix = component.empty() ? "" : std::string(component) + "/";
  std::vector<Reading> readings;
  readings.reserve(message.size());
  for (const auto& [name, value] : message) {
    Reading r{.twin_id = std::string(twin_id), .path = prefix + std::string(name), .time = time, .value = 0.0};
    if (value.is_double()) {
      r.value = value.get_double();
    } else if (value.is_int64()) {
      r.value = value.get_int64();
    } else if (value.is_uint64()) {
      if (value.get_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Status::InvalidArgument("telemetry '" + std::string(name) + "' is an integer over 2^63-1");
      }
      r.value = static_cast<int64_t>(value.get_uint64());
    } else if (value.is_bool()) {
      r.value = value.get_bool();
    } else if (value.is_string()) {
      r.value = std::string(value.get_string());
    } else {
      return Status::InvalidArgument("telemetry '" + std::string(name) + "' is " + std::string(JsonTypeName(value)) +
                                     ": history keeps numbers, booleans and strings");
    }
    readings.push_back(std::move(r));
  }
  out.insert(out.end(), std::make_move_iterator(readings.begin()), std::make_move_iterator(readings.end()));
  return Status::Ok();
}

}  // namespace doppel::ingest
