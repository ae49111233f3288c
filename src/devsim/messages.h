// What a simulated device says and hears, independent of the transport: the MQTT link turns
// these into topics and payloads (see docs/devsim.md for the wire contract).
#pragma once

#include <string>

#include "base/json.h"

namespace doppel::devsim {

// One JSON object addressed to one twin: a telemetry message ({"ts": ..., "<name>": value}) or a
// set of reported properties ({"<property>": value}).
struct TwinMessage {
  std::string site;
  std::string twin_id;
  json::object body;
};

// The device's answer to a command: an HTTP-like status (200, 400, 404, 409) and a payload.
struct CommandResult {
  int status = 200;
  json::value payload;
};

// {"accepted": <status == 200>, "message": message}: the response schema of the example
// models' commands.
inline CommandResult Answer(int status, std::string message) {
  json::object payload;
  payload["accepted"] = status == 200;
  payload["message"] = std::move(message);
  return CommandResult{status, std::move(payload)};
}

}  // namespace doppel::devsim
