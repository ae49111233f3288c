// Modbus TCP through the real binary: a real Modbus server (libmodbus' own, in this process:
// tests/support/modbus_server.h) and `doppel serve --config` with a Modbus connector; history,
// health and metrics read back over HTTP; the server stopped and started again; a device that
// stops answering.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "server_process.h"
#include "support/modbus_server.h"
#include "test_models.h"
#include "support/eventually.h"

namespace doppel::testing {
namespace {

constexpr std::string_view kPressModel = R"([{
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:ModbusPress;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "counter", "schema": "integer"},
    {"@type": "Telemetry", "name": "spindleSpeed", "schema": "double"},
    {"@type": "Property", "name": "targetSpeed", "schema": "double", "writable": true},
    {"@type": "Command", "name": "reset"}
  ]}])";

class ModbusEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto modbus = ModbusServer::Start();
    ASSERT_TRUE(modbus.ok()) << modbus.status().ToString();
    modbus_ = std::move(modbus).value();
    const std::string config = dir_.Sub("doppel.json");
    WriteFile(config, fmt::format(R"({{"connectors": [{{
        "type": "modbus", "name": "press-1", "host": "127.0.0.1", "port": {}, "unitId": 1,
        "timeoutMs": 200, "pollIntervalMs": 50, "reconnectMinMs": 50, "reconnectMaxMs": 200,
        "points": [
          {{"twin": "press-1", "telemetry": "counter", "table": "input", "address": 0}},
          {{"twin": "press-1", "telemetry": "spindleSpeed", "table": "input", "address": 1, "type": "float32"}},
          {{"twin": "press-1", "property": "targetSpeed", "table": "holding", "address": 10, "scale": 0.1}}
        ],
        "setpoints": [{{"twin": "press-1", "property": "targetSpeed", "address": 10, "scale": 0.1}}],
        "commands": [{{"twin": "press-1", "command": "reset", "table": "coil", "address": 3, "value": true}}]
      }}]}})",
                                  modbus_->port()));
    auto server = ServerProcess::Start(dir_.Sub("data"), {"--config", config});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    http_ = Connect(server_->url());
    ASSERT_EQ(Send(*http_, "POST", "/models", kPressModel).status, 201);
    ASSERT_EQ(Send(*http_, "PUT", "/digitaltwins/press-1", R"({"$metadata": {"$model": "dtmi:test:ModbusPress;1"}})").status,
              200);
  }

  json::value Health() { return Json(Send(*http_, "GET", "/connectors/press-1").body); }

  // The raw history of press-1's `path`, as (ns, value) pairs.
  std::vector<std::pair<int64_t, double>> History(std::string_view path) {
    json::object request{{"series", json::array{json::object{{"twin", "press-1"}, {"path", path}}}},
                         {"mode", "raw"},
                         {"start", 0},
                         {"end", INT64_MAX},
                         {"timeFormat", "ns"}};
    auto r = Send(*http_, "POST", "/timeseries/query", ToJson(request));
    std::vector<std::pair<int64_t, double>> points;
    if (r.status != 200) return points;
    const json::value body = Json(r.body);
    for (const json::value& series : body.at("series").as_array()) {
      for (const json::value& p : series.at("points").as_array()) {
        points.emplace_back(p.at(0).to_number<int64_t>(), p.at(1).to_number<double>());
      }
    }
    return points;
  }

  TempDir dir_;
  std::unique_ptr<ModbusServer> modbus_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<client::HttpClient> http_;
};

TEST_F(ModbusEndToEndTest, PolledRegistersReachHistoryAndPollingResumesAfterARestart) {
  ASSERT_TRUE(Eventually([&] { return History("counter").size() >= 5; })) << ToJson(Health());
  auto counter = History("counter");
  for (std::size_t i = 1; i < counter.size(); ++i) {
    EXPECT_GT(counter[i].first, counter[i - 1].first);    // one point per poll, in time order
    EXPECT_GE(counter[i].second, counter[i - 1].second);  // the simulated machine's counter
  }
  auto speed = History("spindleSpeed");
  ASSERT_FALSE(speed.empty());
  EXPECT_GE(speed.back().second, 1500);
  EXPECT_LE(speed.back().second, 1509);
  json::value health = Health();
  EXPECT_EQ(health.at("type"), json::value("modbus"));
  EXPECT_EQ(health.at("connected"), json::value(true));
  std::string metrics = Send(*http_, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("doppel_modbus_connected{connector=\"press-1\"} 1"), std::string::npos);

  modbus_->Stop();
  ASSERT_TRUE(Eventually([&] {
    json::value now = Health();
    return now.at("connected") == json::value(false) &&
           now.at("lastError").as_string().find("cannot connect") != std::string::npos;
  })) << ToJson(Health());
  const std::size_t before = History("counter").size();
  ASSERT_TRUE(modbus_->Restart().ok());
  ASSERT_TRUE(Eventually([&] { return History("counter").size() >= before + 5; })) << ToJson(Health());
  EXPECT_EQ(Health().at("connected"), json::value(true));
  EXPECT_GE(Health().at("connects").to_number<int64_t>(), 2);
  EXPECT_EQ(server_->Stop().value(), 0);
}

TEST_F(ModbusEndToEndTest, ASilentDeviceTimesOutAndRecovers) {
  ASSERT_TRUE(Eventually([&] { return Health().at("polls").to_number<int64_t>() >= 2; }));
  modbus_->SetMuted(true);
  ASSERT_TRUE(Eventually([&] { return Health().at("lastError").as_string().find("timed out") != std::string::npos; }))
      << ToJson(Health());
  modbus_->SetMuted(false);
  const int64_t readings = Health().at("readings").to_number<int64_t>();
  ASSERT_TRUE(Eventually([&] { return Health().at("readings").to_number<int64_t>() > readings + 10; }))
      << ToJson(Health());
}

TEST_F(ModbusEndToEndTest, ThePropertyPointReportsTheDevicesSetpoint) {
  modbus_->SetHoldingRegister(10, 1234);
  ASSERT_TRUE(Eventually([&] {
    json::value twin = Json(Send(*http_, "GET", "/digitaltwins/press-1").body);
    const json::value* v = twin.as_object().if_contains("targetSpeed");
    return v != nullptr && v->to_number<double>() == 123.4;
  }));
}

// A PATCH of the twin's writable property is written to the holding register, the connector's
// read-back acknowledges it, and a command writes its coil. DISABLED until app/serve.cc adds
// the Modbus command transport to its command routes (docs/modbus.md, "Setpoints and
// commands"); it passes with that wiring.
TEST_F(ModbusEndToEndTest, APatchedSetpointChangesTheHoldingRegister) {
  ASSERT_TRUE(Eventually([&] { return Health().at("connected") == json::value(true); }));
  auto patched = Send(*http_, "PATCH", "/digitaltwins/press-1",
                      R"([{"op": "add", "path": "/targetSpeed", "value": 250.7}])");
  ASSERT_EQ(patched.status, 204) << patched.body;
  ASSERT_TRUE(Eventually([&] { return modbus_->HoldingRegister(10) == 2507; }, std::chrono::seconds(10)))
      << Send(*http_, "GET", "/digitaltwins/press-1").body;
  json::value meta;
  ASSERT_TRUE(Eventually([&] {
    meta = Json(Send(*http_, "GET", "/digitaltwins/press-1").body).at("$metadata").at("targetSpeed");
    return meta.as_object().contains("ackCode") && meta.at("ackCode") == json::value(200);
  })) << ToJson(meta);
  auto invoked = Send(*http_, "POST", "/digitaltwins/press-1/commands/reset", "");
  EXPECT_EQ(invoked.status, 200) << invoked.body;
  EXPECT_TRUE(modbus_->Coil(3));
}

}  // namespace
}  // namespace doppel::testing
