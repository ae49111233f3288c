// A DigitalTwinsApi over an in-memory TwinGraph, called directly (no sockets).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "server/api.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::server::testing {

inline constexpr char kThermostat[] = "dtmi:example:Thermostat;1";
inline constexpr char kRoom[] = "dtmi:example:Room;1";

// Two DTDL v2 interfaces: a Room (temperature, name, a thermostat component, adjacentTo
// relationships with a distance) and the Thermostat it uses.
inline std::string ModelsJson() {
  return R"([
    {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:example:Thermostat;1", "@type": "Interface",
     "displayName": "Thermostat",
     "contents": [{"@type": "Property", "name": "setpoint", "schema": "double", "writable": true}]},
    {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:example:Room;1", "@type": "Interface",
     "displayName": "Room",
     "contents": [
       {"@type": "Property", "name": "temperature", "schema": "double", "writable": true},
       {"@type": "Property", "name": "name", "schema": "string", "writable": true},
       {"@type": "Component", "name": "thermostat", "schema": "dtmi:example:Thermostat;1"},
       {"@type": "Relationship", "name": "adjacentTo", "target": "dtmi:example:Room;1",
        "properties": [{"@type": "Property", "name": "distance", "schema": "double"}]}
     ]}
  ])";
}

inline std::string RoomJson(double temperature) {
  return R"({"$metadata": {"$model": "dtmi:example:Room;1"}, "temperature": )" + std::to_string(temperature) +
         R"(, "name": "room", "thermostat": {"$metadata": {}, "setpoint": 21.5}})";
}

class ApiTest : public ::testing::Test {
 protected:
  explicit ApiTest(ApiOptions options = {}) : api_(graph_, clock_, options) {}

  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    for (auto& [name, value] : headers) req.AddHeader(name, std::move(value));
    return api_.Handle(req);
  }

  static json::value Json(const HttpResponse& r) {
    auto v = ParseJson(r.body);
    EXPECT_TRUE(v.ok()) << "not JSON: " << r.body;
    return v.ok() ? *v : json::value();
  }

  static std::string ErrorCode(const HttpResponse& r) {
    json::value v = Json(r);
    EXPECT_EQ(std::string(r.Header("x-ms-error-code")), std::string(v.at("error").at("code").as_string()));
    return std::string(v.at("error").at("code").as_string());
  }
  static std::string ErrorMessage(const HttpResponse& r) {
    return std::string(Json(r).at("error").at("message").as_string());
  }

  void AddModels() {
    HttpResponse r = Call("POST", "/models?api-version=2023-10-31", ModelsJson());
    ASSERT_EQ(r.status, 201) << r.body;
  }
  void PutRoom(const std::string& id, double temperature = 20) {
    HttpResponse r = Call("PUT", "/digitaltwins/" + id, RoomJson(temperature));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  void Relate(const std::string& source, const std::string& rel_id, const std::string& target) {
    HttpResponse r = Call("PUT", "/digitaltwins/" + source + "/relationships/" + rel_id,
                          R"({"$targetId": ")" + target + R"(", "$relationshipName": "adjacentTo", "distance": 3})");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  DigitalTwinsApi api_;
};

}  // namespace doppel::server::testing
