// DTDL models and small helpers shared by the integration suites.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/json.h"
#include "client/api_client.h"
#include "client/http_client.h"
#include "server_process.h"

namespace doppel::testing {

inline constexpr const char* kThermostatId = "dtmi:doppel:test:Thermostat;1";
inline constexpr const char* kSensorId = "dtmi:doppel:test:Sensor;1";

// Thermostat: one writable double. Sensor: two properties, a Thermostat component and a
// "feeds" relationship (to another Sensor) carrying a weight.
inline constexpr const char* kTestModels = R"([
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:test:Thermostat;1", "@type": "Interface",
   "displayName": "Thermostat",
   "contents": [{"@type": "Property", "name": "setpoint", "schema": "double", "writable": true}]},
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:test:Sensor;1", "@type": "Interface",
   "displayName": "Sensor",
   "contents": [
     {"@type": "Property", "name": "temperature", "schema": "double", "writable": true},
     {"@type": "Property", "name": "label", "schema": "string", "writable": true},
     {"@type": "Component", "name": "thermostat", "schema": "dtmi:doppel:test:Thermostat;1"},
     {"@type": "Relationship", "name": "feeds", "target": "dtmi:doppel:test:Sensor;1",
      "properties": [{"@type": "Property", "name": "weight", "schema": "double", "writable": true}]}]}
])";

// A model that breaks a rule: an unknown schema.
inline constexpr const char* kInvalidModel = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:doppel:test:Broken;1", "@type": "Interface",
  "contents": [{"@type": "Property", "name": "level", "schema": "notAType"}]
})";

inline json::value Json(std::string_view text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << text;
  return parsed.ok() ? std::move(parsed).value() : json::value();
}

// A Sensor twin document, with its component (components must be present on create).
inline std::string SensorTwin(double temperature, std::string_view label = "plain") {
  json::object twin{
      {"$metadata", json::object{{"$model", kSensorId}}},
      {"temperature", temperature},
      {"label", label},
      {"thermostat", json::object{{"$metadata", json::object()}, {"setpoint", 20.5}}}};
  return ToJson(twin);
}

inline std::string TwinPath(std::string_view id) {
  return "/digitaltwins/" + client::EncodePathSegment(id);
}

// "Name: value" of a response header, "" if absent.
inline std::string HeaderOf(const client::HttpResponse& r, std::string_view name) {
  return r.Header(name).value_or("");
}

// The {"error": {"code"}} of an error response, "" if the body is not that shape.
inline std::string ErrorCode(const client::HttpResponse& r) {
  auto body = ParseJson(r.body);
  if (!body.ok() || !body->is_object()) return "";
  const auto* error = body->as_object().if_contains("error");
  if (!error || !error->is_object()) return "";
  const auto* code = error->as_object().if_contains("code");
  return code && code->is_string() ? std::string(code->as_string()) : "";
}

inline std::string ErrorMessage(const client::HttpResponse& r) {
  auto body = ParseJson(r.body);
  if (!body.ok() || !body->is_object()) return "";
  const auto* error = body->as_object().if_contains("error");
  if (!error || !error->is_object()) return "";
  const auto* message = error->as_object().if_contains("message");
  return message && message->is_string() ? std::string(message->as_string()) : "";
}

inline std::unique_ptr<client::HttpClient> Connect(const std::string& url) {
  auto http = client::HttpClient::Create(url);
  EXPECT_TRUE(http.ok()) << http.status().ToString();
  return std::move(http).value();
}

// Sends and requires a transport-level answer (any HTTP status).
inline client::HttpResponse Send(client::HttpClient& http, std::string_view method,
                                 std::string_view target, std::string_view body = {},
                                 const client::HttpHeaders& headers = {}) {
  auto r = http.Send(method, target, body, headers);
  EXPECT_TRUE(r.ok()) << method << " " << target << ": " << r.status().ToString();
  return r.ok() ? std::move(r).value() : client::HttpResponse{};
}

}  // namespace doppel::testing
