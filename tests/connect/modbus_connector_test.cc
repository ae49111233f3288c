// The Modbus connector against a real Modbus TCP server (libmodbus' own server, in
// tests/support/modbus_server.h): polling into history and properties, setpoint and command
// writes (directly and through the command transport), reconnect after a server restart, and
// timeouts.
#include "connect/modbus/modbus_connector.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "command/modbus_command_transport.h"
#include "ingest/ingestor.h"
#include "support/modbus_server.h"
#include "tsdb/query.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"
#include "support/eventually.h"

namespace doppel::connect::modbus {
namespace {

using doppel::testing::Eventually;

using namespace std::chrono_literals;

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kPress = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Press;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "counter", "schema": "integer"},
    {"@type": "Telemetry", "name": "spindleSpeed", "schema": "double"},
    {"@type": "Telemetry", "name": "doorOpen", "schema": "boolean"},
    {"@type": "Property", "name": "running", "schema": "boolean"},
    {"@type": "Property", "name": "targetSpeed", "schema": "double", "writable": true},
    {"@type": "Command", "name": "reset"},
    {"@type": "Command", "name": "setMode", "request": {"name": "mode", "schema": "integer"}}
  ]})";

class ModbusConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::ModbusServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_TRUE(graph_.AddModels({J(kPress)}).ok());
    ASSERT_TRUE(graph_.PutTwin("press-1", J(R"({"$metadata": {"$model": "dtmi:test:Press;1"}})"), {}).ok());
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
  }

  ModbusConnectorConfig Config(int timeout_ms = 500) {
    json::value config = J(R"({
      "type": "modbus", "name": "press-1", "host": "127.0.0.1", "pollIntervalMs": 20,
      "reconnectMinMs": 20, "reconnectMaxMs": 100,
      "points": [
        {"twin": "press-1", "telemetry": "counter", "table": "input", "address": 0},
        {"twin": "press-1", "telemetry": "spindleSpeed", "table": "input", "address": 1, "type": "float32"},
        {"twin": "press-1", "telemetry": "doorOpen", "table": "holding", "address": 30, "bit": 2},
        {"twin": "press-1", "property": "running", "table": "discrete", "address": 4},
        {"twin": "press-1", "property": "targetSpeed", "table": "holding", "address": 10, "scale": 0.1}
      ],
      "setpoints": [{"twin": "press-1", "property": "targetSpeed", "address": 10, "scale": 0.1}],
      "commands": [{"twin": "press-1", "command": "reset", "table": "coil", "address": 3, "value": true},
                   {"twin": "press-1", "command": "setMode", "table": "holding", "address": 20, "type": "int16"}]
    })");
    config.as_object()["port"] = server_->port();
    config.as_object()["timeoutMs"] = timeout_ms;
    return ParseModbusConnectorConfig(config).value();
  }

  void StartConnector(int timeout_ms = 500) {
    connector_ = std::make_unique<ModbusConnector>(Config(timeout_ms), *ingestor_, graph_);
    ASSERT_TRUE(connector_->Start().ok());
    ASSERT_TRUE(Eventually([&] { return connector_->stats().connected; }));
  }

  std::vector<tsdb::Point> Points(std::string_view path) {
    auto id = store_->Find("press-1", path);
    if (!id.ok()) return {};
    return tsdb::QueryRaw(*store_, *id, INT64_MIN, INT64_MAX).value();
  }

  json::value Property(std::string_view name) {
    json::object doc = graph_.GetTwin("press-1").value();
    const json::value* v = doc.if_contains(name);
    return v == nullptr ? json::value() : *v;
  }

  tsdb::testing::TempDir dir_;
  std::unique_ptr<testing::ModbusServer> server_;
  twin::MemoryJournal journal_;
  ManualClock graph_clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, graph_clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<ModbusConnector> connector_;
};

TEST_F(ModbusConnectorTest, PollsRegistersIntoHistory) {
  server_->SetHoldingRegister(30, 0b0100);
  StartConnector();
  ASSERT_TRUE(Eventually([&] { return Points("counter").size() >= 5; }));
  connector_->Stop();
  const std::vector<tsdb::Point> counter = Points("counter");
  const std::vector<tsdb::Point> speed = Points("spindleSpeed");
  ASSERT_EQ(speed.size(), counter.size());  // one reading of each per poll, same timestamps
  for (std::size_t i = 0; i < counter.size(); ++i) {
    EXPECT_EQ(speed[i].time, counter[i].time);
    const double s = tsdb::NumericValue(speed[i].value);
    EXPECT_GE(s, 1500);  // the simulated machine: 1500 + counter % 10
    EXPECT_LE(s, 1509);
    if (i > 0) {
      EXPECT_GE(tsdb::NumericValue(counter[i].value), tsdb::NumericValue(counter[i - 1].value));
    }
  }
  EXPECT_GT(tsdb::NumericValue(counter.back().value), tsdb::NumericValue(counter.front().value));
  const std::vector<tsdb::Point> door = Points("doorOpen");
  ASSERT_FALSE(door.empty());
  EXPECT_EQ(door.back().value, tsdb::Value(true));  // bit 2 of holding register 30
  const ModbusConnectorStats stats = connector_->stats();
  EXPECT_GE(stats.polls, 5u);
  EXPECT_EQ(stats.readings, stats.polls * 5);
  EXPECT_EQ(stats.errors, 0u) << stats.last_error;
  json::object health = connector_->HealthJson();
  EXPECT_EQ(health.at("name"), "press-1");
  EXPECT_EQ(health.at("readings").to_number<uint64_t>(), stats.readings);
}

TEST_F(ModbusConnectorTest, PropertyPointsPatchTheTwinWhenTheyChange) {
  server_->SetDiscreteInput(4, true);
  server_->SetHoldingRegister(10, 1234);
  StartConnector();
  ASSERT_TRUE(Eventually([&] { return Property("running") == json::value(true); }));
  EXPECT_DOUBLE_EQ(Property("targetSpeed").to_number<double>(), 123.4);
  const uint64_t patched = connector_->stats().properties_patched;
  EXPECT_EQ(patched, 2u);
  server_->SetDiscreteInput(4, false);
  ASSERT_TRUE(Eventually([&] { return Property("running") == json::value(false); }));
  EXPECT_EQ(connector_->stats().properties_patched, 3u);  // unchanged values are not patched again
}

TEST_F(ModbusConnectorTest, WritesASetpointWithTheInverseScaling) {
  StartConnector();
  Status written = connector_->WriteSetpoint("press-1", "targetSpeed", json::value(250.7));
  ASSERT_TRUE(written.ok()) << written.ToString();
  EXPECT_EQ(server_->HoldingRegister(10), 2507);
  // Read back by the property point: the device's report.
  ASSERT_TRUE(Eventually([&] { return Property("targetSpeed").is_number() && Property("targetSpeed").to_number<double>() == 250.7; }));
  Status too_big = connector_->WriteSetpoint("press-1", "targetSpeed", json::value(7000));
  EXPECT_EQ(too_big.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server_->HoldingRegister(10), 2507);
  EXPECT_EQ(connector_->WriteSetpoint("press-1", "nope", json::value(1)).code(), StatusCode::kNotFound);
  EXPECT_EQ(connector_->stats().writes, 1u);
}

TEST_F(ModbusConnectorTest, CommandsThroughTheTransportWriteCoilsAndRegisters) {
  StartConnector();
  command::ModbusCommandTransport transport([&](const auto& visit) { visit(*connector_); });
  std::vector<command::CommandResponse> responses;
  transport.SetResponseHandler([&](const command::CommandResponse& r) { responses.push_back(r); });
  EXPECT_TRUE(transport.Serves("press-1"));
  EXPECT_FALSE(transport.Serves("press-2"));
  ASSERT_TRUE(transport.SendCommand({.twin_id = "press-1", .command = "reset", .correlation_id = "c1"}).ok());
  EXPECT_TRUE(server_->Coil(3));
  ASSERT_TRUE(
      transport.SendCommand({.twin_id = "press-1", .command = "setMode", .correlation_id = "c2", .payload = -3}).ok());
  EXPECT_EQ(static_cast<int16_t>(server_->HoldingRegister(20)), -3);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].correlation_id, "c1");
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[1].status, 200);
  // A command no connector maps is not delivered (no fallback transport).
  EXPECT_EQ(transport.SendCommand({.twin_id = "press-1", .command = "explode", .correlation_id = "c3"}).code(),
            StatusCode::kUnavailable);
  // Desired properties: the mapped one is written; an unmapped one fails the update.
  ASSERT_TRUE(transport.SendDesired({.twin_id = "press-1", .properties = {{"targetSpeed", 99.9}}, .version = 1}).ok());
  EXPECT_EQ(server_->HoldingRegister(10), 999);
  EXPECT_EQ(transport.SendDesired({.twin_id = "press-1", .properties = {{"colour", "red"}}, .version = 2}).code(),
            StatusCode::kUnavailable);
}

TEST_F(ModbusConnectorTest, AWriteTheDeviceRefusesAnswers500) {
  StartConnector();
  command::ModbusCommandTransport transport([&](const auto& visit) { visit(*connector_); });
  std::vector<command::CommandResponse> responses;
  transport.SetResponseHandler([&](const command::CommandResponse& r) { responses.push_back(r); });
  // The server's tables end at 127: the device answers "illegal data address".
  ModbusConnectorConfig config = Config();
  config.name = "press-bad";
  config.commands[0].address = 500;
  ModbusConnector bad(config, *ingestor_, graph_);
  ASSERT_TRUE(bad.Start().ok());
  ASSERT_TRUE(Eventually([&] { return bad.stats().connected; }));
  command::ModbusCommandTransport bad_transport([&](const auto& visit) { visit(bad); });
  bad_transport.SetResponseHandler([&](const command::CommandResponse& r) { responses.push_back(r); });
  ASSERT_TRUE(bad_transport.SendCommand({.twin_id = "press-1", .command = "reset", .correlation_id = "c1"}).ok());
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 500);
  EXPECT_NE(ToJson(responses[0].payload).find("Illegal data address"), std::string::npos) << ToJson(responses[0].payload);
  EXPECT_TRUE(bad.stats().connected);  // an exception is the device's answer, not a broken link
}

TEST_F(ModbusConnectorTest, ReconnectsAfterTheServerRestartsAndResumesPolling) {
  StartConnector();
  ASSERT_TRUE(Eventually([&] { return connector_->stats().polls >= 3; }));
  server_->Stop();
  ASSERT_TRUE(Eventually([&] { return !connector_->stats().connected; }));
  // Writes fail at once while the device is away.
  EXPECT_EQ(connector_->WriteSetpoint("press-1", "targetSpeed", json::value(1)).code(), StatusCode::kUnavailable);
  const uint64_t readings_before = connector_->stats().readings;
  EXPECT_FALSE(connector_->stats().last_error.empty());
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(Eventually([&] { return connector_->stats().connected && connector_->stats().readings > readings_before + 10; }));
  EXPECT_GE(connector_->stats().connects, 2u);
  EXPECT_TRUE(connector_->WriteSetpoint("press-1", "targetSpeed", json::value(12.3)).ok());
  EXPECT_EQ(server_->HoldingRegister(10), 123);
}

TEST_F(ModbusConnectorTest, ASilentDeviceTimesOutAndIsPolledAgainWhenItAnswers) {
  StartConnector(/*timeout_ms=*/100);
  ASSERT_TRUE(Eventually([&] { return connector_->stats().polls >= 2; }));
  server_->SetMuted(true);
  ASSERT_TRUE(Eventually([&] { return connector_->stats().last_error.find("timed out") != std::string::npos; }))
      << connector_->stats().last_error;
  const uint64_t errors = connector_->stats().errors;
  EXPECT_GT(errors, 0u);
  server_->SetMuted(false);
  const uint64_t readings = connector_->stats().readings;
  ASSERT_TRUE(Eventually([&] { return connector_->stats().readings > readings + 10; }));
  EXPECT_TRUE(connector_->stats().connected);
}

// What a previous run buffered (the store was failing when it stopped) reaches history at the
// first poll after a start, before that poll's own readings.
TEST_F(ModbusConnectorTest, ReplaysWhatAPreviousRunBufferedBeforeNewReadings) {
  const std::string buffer_dir = dir_.path() + "/buffer/press-1";
  {
    auto buffer = StoreForward::Open({.dir = buffer_dir, .sync = false}).value();
    ASSERT_TRUE(buffer->Append(std::vector<ingest::Reading>{
                                   {.twin_id = "press-1", .path = "counter", .time = 1000, .value = 7.0},
                                   {.twin_id = "press-1", .path = "counter", .time = 2000, .value = 8.0}})
                    .ok());
  }
  ModbusConnectorConfig config = Config();
  config.buffer_dir = buffer_dir;
  connector_ = std::make_unique<ModbusConnector>(config, *ingestor_, graph_);
  ASSERT_TRUE(connector_->Start().ok());
  ASSERT_TRUE(Eventually([&] { return Points("counter").size() >= 3; }));
  connector_->Stop();
  const std::vector<tsdb::Point> counter = Points("counter");
  EXPECT_EQ(counter[0].time, 1000);
  EXPECT_EQ(counter[0].value, tsdb::Value(int64_t{7}));
  EXPECT_EQ(counter[1].time, 2000);
  EXPECT_GT(counter[2].time, 2000);  // the polls' own, after
  const ModbusConnectorStats stats = connector_->stats();
  // The two buffered readings, then the first poll's five queued behind them.
  EXPECT_EQ(stats.buffer.replayed_readings, 7u);
  EXPECT_EQ(stats.buffer.readings, 0u);
  EXPECT_EQ(stats.errors, 0u) << stats.last_error;
}

TEST_F(ModbusConnectorTest, AnUnreachableDeviceIsNotAStartError) {
  ModbusConnectorConfig config = Config();
  server_->Stop();
  ModbusConnector connector(config, *ingestor_, graph_);
  ASSERT_TRUE(connector.Start().ok());
  ASSERT_TRUE(Eventually([&] { return connector.stats().errors >= 2; }));
  EXPECT_FALSE(connector.stats().connected);
  EXPECT_NE(connector.stats().last_error.find("cannot connect"), std::string::npos);
  EXPECT_EQ(connector.Start().code(), StatusCode::kConflict);
}

}  // namespace
}  // namespace doppel::connect::modbus
