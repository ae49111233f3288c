// OPC UA through the real binary: node-opcua's simulated machine (tests/opcua/server.mjs, a
// real OPC UA server) and `doppel serve --config` with an "opcua" connector. History, twin
// properties, health and metrics are read back over HTTP; the server's own side is checked with
// a separate OpcUaClient. Covers subscribe → history, a setpoint PATCHed in Doppel reaching the
// server, a method call, a server restart, and a bad-quality value (docs/opcua.md).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <thread>

#include "connect/opcua/opcua_client.h"
#include "connect/opcua_test_server.h"
#include "server_process.h"
#include "test_models.h"
#include "support/eventually.h"

namespace doppel::testing {
namespace {

using connect::opcua::NodeId;
using connect::opcua::OpcUaClient;

constexpr std::string_view kMachineModel = R"([{
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:OpcUaMachine;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "temperature", "schema": "double"},
    {"@type": "Telemetry", "name": "speed", "schema": "double"},
    {"@type": "Telemetry", "name": "counter", "schema": "long"},
    {"@type": "Telemetry", "name": "quality", "schema": "double"},
    {"@type": "Property", "name": "state", "schema": "string"},
    {"@type": "Property", "name": "targetSpeed", "schema": "double", "writable": true},
    {"@type": "Command", "name": "reset", "request": {"name": "code", "schema": "string"},
     "response": {"name": "ok", "schema": "boolean"}}
  ]}])";

std::string ConnectorConfig(const std::string& endpoint) {
  return fmt::format(R"({{"connectors": [{{
      "type": "opcua", "name": "press-1", "endpoint": "{}", "user": "operator", "password": "secret",
      "publishingIntervalMs": 100, "requestTimeoutMs": 2000,
      "nodes": [
        {{"node": "ns=1;s=Temperature", "twin": "machine", "telemetry": "temperature", "samplingIntervalMs": 100}},
        {{"node": "ns=1;s=Speed", "twin": "machine", "telemetry": "speed"}},
        {{"node": "ns=1;s=Counter", "twin": "machine", "telemetry": "counter"}},
        {{"node": "ns=1;s=Quality", "twin": "machine", "telemetry": "quality"}},
        {{"node": "ns=1;s=State", "twin": "machine", "property": "state"}},
        {{"browsePath": "Machine/Setpoint", "twin": "machine", "property": "targetSpeed", "write": true}}
      ],
      "commands": [
        {{"twin": "machine", "command": "reset",
          "method": {{"object": "ns=1;s=Machine", "method": "ns=1;s=Reset", "inputs": ["String"]}}}}
      ]}}]}})",
                     endpoint);
}

class OpcUaEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opcua = OpcUaTestServer::Start();
    ASSERT_TRUE(opcua.ok()) << opcua.status().ToString() << " (scripts/install-deps.sh installs node-opcua)";
    opcua_ = std::move(opcua).value();
    const std::string config = dir_.Sub("doppel.json");
    WriteFile(config, ConnectorConfig(opcua_->url()));
    auto server = ServerProcess::Start(dir_.Sub("data"), {"--config", config});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    http_ = Connect(server_->url());
    ASSERT_EQ(Send(*http_, "POST", "/models", kMachineModel).status, 201);
    ASSERT_EQ(Send(*http_, "PUT", "/digitaltwins/machine", R"({"$metadata": {"$model": "dtmi:test:OpcUaMachine;1"}})").status,
              200);
  }

  json::value Health() { return Json(Send(*http_, "GET", "/connectors/press-1").body); }
  int64_t HealthCount(std::string_view key) { return Health().at(key).to_number<int64_t>(); }
  json::value Twin() { return Json(Send(*http_, "GET", "/digitaltwins/machine").body); }
  // A member of the twin, null while it has none.
  json::value TwinMember(std::string_view name) {
    const json::value twin = Twin();
    const json::value* member = twin.is_object() ? twin.as_object().if_contains(name) : nullptr;
    return member != nullptr ? *member : json::value(nullptr);
  }

  // The raw history of the machine's `path`, as (ns, value) pairs.
  std::vector<std::pair<int64_t, double>> History(std::string_view path) {
    json::object request{{"series", json::array{json::object{{"twin", "machine"}, {"path", path}}}},
                         {"mode", "raw"},
                         {"start", 0},
                         {"end", INT64_MAX},
                         {"timeFormat", "ns"}};
    auto r = Send(*http_, "POST", "/timeseries/query", ToJson(request));
    std::vector<std::pair<int64_t, double>> points;
    if (r.status != 200) return points;
    const json::value body = Json(r.body);  // kept alive: the loop borrows from it
    for (const json::value& series : body.at("series").as_array()) {
      for (const json::value& p : series.at("points").as_array()) {
        points.emplace_back(p.at(0).to_number<int64_t>(), p.at(1).to_number<double>());
      }
    }
    return points;
  }

  // The server's own value of a node, through a client of our own.
  std::optional<double> ServerValue(std::string_view node) {
    OpcUaClient client({.endpoint = opcua_->url()});
    if (!client.Connect().ok()) return std::nullopt;
    const NodeId nodes[] = {NodeId::Parse(node).value()};
    auto values = client.Read(nodes);
    if (!values.ok() || values->empty()) return std::nullopt;
    return values->front().value.AsNumber();
  }

  TempDir dir_;
  std::unique_ptr<OpcUaTestServer> opcua_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<client::HttpClient> http_;
};

TEST_F(OpcUaEndToEndTest, MonitoredItemsReachHistoryWithTheirSourceTimestamps) {
  ASSERT_TRUE(Eventually([&] { return History("temperature").size() >= 10; })) << ToJson(Health()) << server_->Output();
  auto temperature = History("temperature");
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (std::size_t i = 0; i < temperature.size(); ++i) {
    EXPECT_GE(temperature[i].second, 54.0);  // 60 ± 5 plus noise, as the machine simulates
    EXPECT_LE(temperature[i].second, 66.0);
    EXPECT_LE(temperature[i].first, now_ns);
    EXPECT_GT(temperature[i].first, now_ns - int64_t{600} * 1'000'000'000) << "a source time of this run";
    if (i > 0) {
      EXPECT_GT(temperature[i].first, temperature[i - 1].first);
    }
  }
  ASSERT_TRUE(Eventually([&] { return History("counter").size() >= 2; }));
  auto counter = History("counter");
  EXPECT_GT(counter.back().second, counter.front().second);  // UInt32, one more per second
  ASSERT_TRUE(Eventually([&] { return Twin().as_object().contains("state"); }));
  EXPECT_EQ(Twin().at("state"), json::value("Running"));
  EXPECT_EQ(Twin().at("targetSpeed").to_number<double>(), 1500);  // found by its browse path

  json::value health = Health();
  EXPECT_EQ(health.at("type"), json::value("opcua"));
  EXPECT_EQ(health.at("connected"), json::value(true));
  EXPECT_EQ(health.at("subscribed"), json::value(true));
  EXPECT_EQ(health.at("rejected"), json::value(0)) << ToJson(health);
  EXPECT_EQ(health.at("nodes").at(0).at("status"), json::value("Good"));
  const std::string metrics = Send(*http_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("doppel_opcua_connected{connector=\"press-1\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("doppel_opcua_readings_total{connector=\"press-1\"}"), std::string::npos);
}

TEST_F(OpcUaEndToEndTest, ASetpointPatchedInDoppelChangesTheServersValueAndIsAcknowledged) {
  ASSERT_TRUE(Eventually([&] { return Health().at("connected") == json::value(true); }));
  ASSERT_TRUE(Eventually([&] {
    return Send(*http_, "GET", "/metrics").body.find("doppel_opcua_command_transport_connected{connector=\"press-1\"} 1") !=
           std::string::npos;
  }));
  auto patched = Send(*http_, "PATCH", "/digitaltwins/machine", R"([{"op": "add", "path": "/targetSpeed", "value": 1234.5}])");
  ASSERT_EQ(patched.status, 204) << patched.body;
  ASSERT_TRUE(Eventually([&] { return ServerValue("ns=1;s=Setpoint") == 1234.5; }, std::chrono::seconds(10)));
  // The connector's subscription reports the node's new value: the device's acknowledgement.
  json::value meta;
  ASSERT_TRUE(Eventually([&] {
    meta = Twin().at("$metadata").at("targetSpeed");
    return meta.as_object().contains("ackCode") && meta.at("ackCode") == json::value(200);
  })) << ToJson(meta);
  EXPECT_EQ(meta.at("reportedValue").to_number<double>(), 1234.5);
  EXPECT_EQ(Twin().at("targetSpeed").to_number<double>(), 1234.5);
}

TEST_F(OpcUaEndToEndTest, ACommandCallsTheMethodAndAnswersItsOutput) {
  ASSERT_TRUE(Eventually([&] {
    return Send(*http_, "GET", "/metrics").body.find("doppel_opcua_command_transport_connected{connector=\"press-1\"} 1") !=
           std::string::npos;
  }));
  auto r = Send(*http_, "POST", "/digitaltwins/machine/commands/reset?timeout=10s", R"("maintenance")");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value invocation = Json(r.body);
  ASSERT_TRUE(invocation.as_object().contains("response")) << r.body;
  EXPECT_EQ(invocation.at("status"), json::value("succeeded")) << r.body;
  EXPECT_EQ(invocation.at("responseStatus"), json::value(200));
  EXPECT_EQ(invocation.at("response"), json::value(true));
  // The machine did reset: its State says so, and the connector brought it to the twin.
  ASSERT_TRUE(Eventually([&] { return TwinMember("state") == json::value("Reset:maintenance"); })) << ToJson(Twin());

  // An empty code: the method answers false (Good), so the invocation succeeds with false.
  r = Send(*http_, "POST", "/digitaltwins/machine/commands/reset?timeout=10s", R"("")");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).at("response"), json::value(false)) << r.body;
}

TEST_F(OpcUaEndToEndTest, TheConnectorRecoversAfterTheServerRestarts) {
  ASSERT_TRUE(Eventually([&] { return History("speed").size() >= 5; })) << ToJson(Health());
  const int port = opcua_->port();
  opcua_->Kill();
  ASSERT_TRUE(Eventually([&] { return Health().at("connected") == json::value(false); })) << ToJson(Health());
  const std::size_t before = History("speed").size();
  auto restarted = OpcUaTestServer::Start(port);
  ASSERT_TRUE(restarted.ok()) << restarted.status().ToString();
  opcua_ = std::move(restarted).value();
  ASSERT_TRUE(Eventually([&] { return History("speed").size() >= before + 5; }, std::chrono::seconds(60)))
      << ToJson(Health());
  EXPECT_EQ(Health().at("connected"), json::value(true));
  EXPECT_GE(HealthCount("reconnects"), 1);
  EXPECT_EQ(server_->Stop().value(), 0);
}

TEST_F(OpcUaEndToEndTest, BadQualityValuesAreCountedNotStored) {
  ASSERT_TRUE(Eventually([&] { return History("quality").size() >= 3; })) << ToJson(Health());
  ASSERT_TRUE(opcua_->Command("bad"));
  ASSERT_TRUE(Eventually([&] { return HealthCount("badQuality") >= 3; })) << ToJson(Health());
  // Later notifications mean the batches holding the last good values are written.
  const int64_t seen = HealthCount("notifications");
  ASSERT_TRUE(Eventually([&] { return HealthCount("notifications") >= seen + 10; }));
  const std::size_t while_bad = History("quality").size();
  const int64_t bad = HealthCount("badQuality");
  ASSERT_TRUE(Eventually([&] { return HealthCount("badQuality") >= bad + 5; })) << ToJson(Health());
  EXPECT_EQ(History("quality").size(), while_bad) << "a Bad value was stored";
  EXPECT_EQ(Health().at("nodes").at(3).at("status"), json::value("BadSensorFailure")) << ToJson(Health());
  EXPECT_GE(History("temperature").size(), 1u);  // the other nodes carry on

  ASSERT_TRUE(opcua_->Command("good"));
  ASSERT_TRUE(Eventually([&] { return History("quality").size() >= while_bad + 3; })) << ToJson(Health());
  EXPECT_EQ(Health().at("nodes").at(3).at("status"), json::value("Good"));
  const std::string metrics = Send(*http_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("doppel_opcua_bad_quality_total{connector=\"press-1\"}"), std::string::npos);
}

// `doppel opcua discover` proposes a mapping that works as it is: its interface loads as a model,
// its connector starts, and the machine's values reach history.
TEST(OpcUaDiscoveryTest, TheSuggestedMappingRunsAsItIs) {
  auto opcua = OpcUaTestServer::Start();
  ASSERT_TRUE(opcua.ok()) << opcua.status().ToString();
  CommandResult discovered = RunDoppel({"opcua", "discover", (*opcua)->url(), "--name", "found", "--watch-ms", "1500"});
  ASSERT_EQ(discovered.exit_code, 0) << discovered.err;
  const json::value suggestion = Json(discovered.out);
  const json::value& connector = suggestion.at("connector");
  const json::value& machine = suggestion.at("interfaces").at(0);
  EXPECT_EQ(machine.at("@id"), json::value("dtmi:doppel:opcua:Machine;1"));
  auto content = [&](std::string_view name) -> json::object {
    for (const json::value& c : machine.at("contents").as_array()) {
      if (c.at("name") == json::value(name)) return c.as_object();
    }
    return {};
  };
  EXPECT_EQ(content("temperature")["@type"], json::value("Telemetry"));
  EXPECT_EQ(content("speed")["@type"], json::value("Telemetry"));
  EXPECT_EQ(content("state")["@type"], json::value("Property"));
  EXPECT_EQ(content("setpoint")["@type"], json::value("Property"));
  EXPECT_EQ(content("setpoint")["writable"], json::value(true));
  EXPECT_EQ(content("reset")["@type"], json::value("Command"));
  EXPECT_TRUE(content("spectrum").empty()) << "arrays are left out";
  EXPECT_NE(discovered.err.find("Spectrum"), std::string::npos) << discovered.err;

  TempDir dir;
  const std::string config = dir.Sub("doppel.json");
  WriteFile(config, ToJson(json::object{{"connectors", json::array{connector}}}));
  auto server = ServerProcess::Start(dir.Sub("data"), {"--config", config});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = Connect((*server)->url());
  ASSERT_EQ(Send(*http, "POST", "/models", ToJson(json::array{machine})).status, 201);
  ASSERT_EQ(Send(*http, "PUT", "/digitaltwins/machine", R"({"$metadata": {"$model": "dtmi:doppel:opcua:Machine;1"}})").status,
            200);
  json::object request{{"series", json::array{json::object{{"twin", "machine"}, {"path", "temperature"}}}},
                       {"mode", "raw"},
                       {"start", 0},
                       {"end", INT64_MAX}};
  EXPECT_TRUE(Eventually([&] {
    auto r = Send(*http, "POST", "/timeseries/query", ToJson(request));
    const json::value body = Json(r.body);
    return r.status == 200 && body.at("series").at(0).at("points").as_array().size() >= 3;
  })) << Send(*http, "GET", "/connectors/found").body;
  auto invoked = Send(*http, "POST", "/digitaltwins/machine/commands/reset?timeout=10s", R"("discovered")");
  ASSERT_EQ(invoked.status, 200) << invoked.body;
  EXPECT_EQ(Json(invoked.body).at("status"), json::value("succeeded")) << invoked.body;
}

}  // namespace
}  // namespace doppel::testing
