// The OPC UA connector's mapping (HandleValues, no server) and, against node-opcua's simulated
// machine (tests/opcua/server.mjs), its subscription end to end in-process.
#include "connect/opcua/opcua_connector.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "base/clock.h"
#include "ingest/ingestor.h"
#include "opcua_test_server.h"
#include "tsdb/query.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"
#include "support/eventually.h"

namespace doppel::connect::opcua {
namespace {

using doppel::testing::Eventually;

using namespace std::chrono_literals;

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kMachine = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Machine;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "temperature", "schema": "double"},
    {"@type": "Telemetry", "name": "counter", "schema": "long"},
    {"@type": "Telemetry", "name": "vibration", "schema": "double"},
    {"@type": "Property", "name": "state", "schema": "string"},
    {"@type": "Property", "name": "targetSpeed", "schema": "double", "writable": true}
  ]})";

constexpr uint32_t kBadSensorFailure = 0x808C0000;

DataValue Good(double v, std::optional<int64_t> source = {}, std::optional<int64_t> server = {}) {
  return {.value = Variant::Double(v), .status = 0, .source_time_ns = source, .server_time_ns = server};
}

class OpcUaConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(graph_.AddModels({J(kMachine)}).ok());
    ASSERT_TRUE(graph_.PutTwin("m1", J(R"({"$metadata": {"$model": "dtmi:test:Machine;1"}})"), {}).ok());
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    clock_.Set(TimePoint(std::chrono::seconds(1'800'000'000)));
  }

  OpcUaConnectorConfig Config(const std::string& endpoint = "opc.tcp://127.0.0.1:1/doppel") {
    return ParseOpcUaConnectorConfig(J(fmt::format(R"({{"type": "opcua", "name": "press-1", "endpoint": "{}",
        "nodes": [
          {{"node": "ns=1;s=Temperature", "twin": "m1", "telemetry": "temperature"}},
          {{"node": "ns=1;s=Counter", "twin": "m1", "telemetry": "counter"}},
          {{"node": "ns=1;s=Spectrum", "twin": "m1", "telemetry": "vibration", "index": 2}},
          {{"node": "ns=1;s=State", "twin": "m1", "property": "state"}},
          {{"browsePath": "Machine/Setpoint", "twin": "m1", "property": "targetSpeed", "write": true}}
        ]}})",
                                                   endpoint)))
        .value();
  }

  std::vector<tsdb::Point> Points(std::string_view path) {
    auto id = store_->Find("m1", path);
    if (!id.ok()) return {};
    return tsdb::QueryRaw(*store_, *id, INT64_MIN, INT64_MAX).value();
  }

  json::value Property(std::string_view name) {
    json::object doc = graph_.GetTwin("m1").value();
    const json::value* v = doc.if_contains(name);
    return v == nullptr ? json::value() : *v;
  }

  tsdb::testing::TempDir dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
};

TEST_F(OpcUaConnectorTest, ValuesBecomePointsAtTheirSourceTimeElseServerTimeElseArrival) {
  OpcUaConnector connector(Config(), *ingestor_, graph_, clock_);
  const MonitoredValue values[] = {{0, Good(61.5, 1'000, 2'000)}, {0, Good(62.5, {}, 3'000)}, {0, Good(63.5)}};
  connector.HandleValues(values);
  const int64_t now = clock_.Now().time_since_epoch().count();
  EXPECT_EQ(Points("temperature"), (std::vector<tsdb::Point>{{1'000, 61.5}, {3'000, 62.5}, {now, 63.5}}));
  EXPECT_EQ(connector.stats().notifications, 3u);
  EXPECT_EQ(connector.stats().readings_accepted, 3u);
}

TEST_F(OpcUaConnectorTest, BadAndUncertainValuesAreCountedAndNotStored) {
  OpcUaConnector connector(Config(), *ingestor_, graph_, clock_);
  const MonitoredValue values[] = {{0, Good(60, 1'000)},
                                   {0, {.value = Variant::Double(-999), .status = kBadSensorFailure, .source_time_ns = 2'000}},
                                   {0, {.value = Variant::Double(-1), .status = 0x40000000, .source_time_ns = 3'000}}};
  connector.HandleValues(values);
  EXPECT_EQ(Points("temperature"), (std::vector<tsdb::Point>{{1'000, 60.0}}));
  EXPECT_EQ(connector.stats().bad_quality, 2u);
  json::object health = connector.HealthJson();
  EXPECT_EQ(health.at("badQuality"), json::value(2));
  EXPECT_EQ(health.at("nodes").at(0).at("status"), json::value(StatusCodeName(0x40000000)));
  EXPECT_EQ(health.at("nodes").at(1).at("status"), json::value(nullptr)) << "no value yet";

  const MonitoredValue recovered[] = {{0, Good(61, 4'000)}};
  connector.HandleValues(recovered);
  EXPECT_EQ(Points("temperature").size(), 2u);
  EXPECT_EQ(connector.HealthJson().at("nodes").at(0).at("status"), json::value("Good"));
}

TEST_F(OpcUaConnectorTest, PropertyNodesPatchTheTwinAndKeepHistory) {
  OpcUaConnector connector(Config(), *ingestor_, graph_, clock_);
  const MonitoredValue values[] = {{3, {.value = Variant::String("Running"), .source_time_ns = 5'000}},
                                   {4, Good(1500, 5'000)}};
  connector.HandleValues(values);
  EXPECT_EQ(Property("state"), json::value("Running"));
  EXPECT_EQ(Property("targetSpeed").to_number<double>(), 1500);
  EXPECT_EQ(Points("state"), (std::vector<tsdb::Point>{{5'000, std::string("Running")}}));
  EXPECT_EQ(connector.stats().properties_patched, 2u);
}

TEST_F(OpcUaConnectorTest, ArraysNeedAnIndexAndRefusedValuesDoNotTakeOthersWithThem) {
  OpcUaConnector connector(Config(), *ingestor_, graph_, clock_);
  Variant spectrum{.type = Variant::Type::kDouble, .is_array = true, .values = {0.1, 0.2, 0.3, 0.4}};
  Variant short_spectrum{.type = Variant::Type::kDouble, .is_array = true, .values = {0.1}};
  const MonitoredValue values[] = {
      {2, {.value = spectrum, .source_time_ns = 1'000}},
      {2, {.value = short_spectrum, .source_time_ns = 2'000}},                  // index 2 is outside
      {1, {.value = Variant::String("seven"), .source_time_ns = 1'000}},        // not a number
      {0, {.value = spectrum, .source_time_ns = 1'000}},                        // an array, no index
      {1, {.value = {.type = Variant::Type::kUInt32, .values = {7.0}}, .source_time_ns = 1'000}},
  };
  connector.HandleValues(values);
  EXPECT_EQ(Points("vibration"), (std::vector<tsdb::Point>{{1'000, 0.3}}));
  ASSERT_EQ(Points("counter").size(), 1u);
  EXPECT_EQ(Points("counter")[0].time, 1'000);
  EXPECT_TRUE(Points("temperature").empty());
  EXPECT_EQ(connector.stats().rejected, 3u);
  EXPECT_EQ(connector.stats().readings_accepted, 2u);
}

// While the store fails, readings go to the disk buffer; once it works again, the next batch
// replays them first, so history receives them in the order they came.
TEST_F(OpcUaConnectorTest, BuffersReadingsWhileTheStoreFailsAndReplaysThemInOrder) {
  bool store_down = true;
  std::vector<tsdb::TimeNs> written;  // temperature times in the order history received them
  OpcUaConnectorConfig config = Config();
  config.buffer_dir = dir_.path() + "/connectors/press-1";
  OpcUaConnector connector(config, *ingestor_, graph_, clock_);
  connector.SetHistorySinkForTesting([&](std::span<const std::span<const ingest::Reading>> groups) {
    if (store_down) return std::vector<Status>(groups.size(), Status::Unavailable("store is closed"));
    for (const auto& group : groups) {
      for (const ingest::Reading& r : group) {
        if (r.path == "temperature") written.push_back(r.time);
      }
    }
    return ingestor_->WriteEach(groups);
  });
  ASSERT_TRUE(connector.OpenBuffer().ok());

  const MonitoredValue first[] = {{0, Good(60, 1'000)}, {0, Good(61, 2'000)}};
  const MonitoredValue second[] = {{0, Good(62, 3'000)}};
  connector.HandleValues(first);
  connector.HandleValues(second);
  EXPECT_TRUE(Points("temperature").empty());
  OpcUaConnectorStats stats = connector.stats();
  EXPECT_EQ(stats.buffer.readings, 3u);
  EXPECT_EQ(stats.buffer.batches, 2u);
  EXPECT_EQ(stats.readings_accepted, 0u);
  EXPECT_EQ(stats.rejected, 0u) << "buffered, not refused";
  EXPECT_NE(stats.last_error.find("store is closed"), std::string::npos) << stats.last_error;
  EXPECT_EQ(connector.HealthJson().at("buffer").at("readings"), json::value(3));

  store_down = false;
  const MonitoredValue third[] = {{0, Good(63, 4'000)}, {1, {.value = Variant::String("seven"), .source_time_ns = 4'000}}};
  connector.HandleValues(third);
  EXPECT_EQ(written, (std::vector<tsdb::TimeNs>{1'000, 2'000, 3'000, 4'000}));
  EXPECT_EQ(Points("temperature"),
            (std::vector<tsdb::Point>{{1'000, 60.0}, {2'000, 61.0}, {3'000, 62.0}, {4'000, 63.0}}));
  stats = connector.stats();
  EXPECT_EQ(stats.buffer.readings, 0u);
  // The three buffered, then this batch's two, queued behind them (the refused one included).
  EXPECT_EQ(stats.buffer.replayed_readings, 5u);
  EXPECT_EQ(stats.readings_accepted, 4u);
  EXPECT_EQ(stats.rejected, 1u) << "a bad value is refused, not buffered";
  json::object health = connector.HealthJson();
  EXPECT_EQ(health.at("buffer").at("readings"), json::value(0));
  EXPECT_EQ(health.at("buffer").at("replayedReadings"), json::value(5));
}

// What a run left in the buffer (the store was failing when it stopped) is replayed by the next
// run's first batch, before that batch's own readings.
TEST_F(OpcUaConnectorTest, ReplaysWhatAPreviousRunBuffered) {
  OpcUaConnectorConfig config = Config();
  config.buffer_dir = dir_.path() + "/connectors/press-1";
  {
    OpcUaConnector connector(config, *ingestor_, graph_, clock_);
    connector.SetHistorySinkForTesting([](std::span<const std::span<const ingest::Reading>> groups) {
      return std::vector<Status>(groups.size(), Status::Internal("disk full"));
    });
    ASSERT_TRUE(connector.OpenBuffer().ok());
    const MonitoredValue values[] = {{0, Good(60, 1'000)}};
    connector.HandleValues(values);
    ASSERT_EQ(connector.stats().buffer.readings, 1u);
  }
  OpcUaConnector connector(config, *ingestor_, graph_, clock_);
  ASSERT_TRUE(connector.OpenBuffer().ok());
  EXPECT_EQ(connector.stats().buffer.readings, 1u);
  const MonitoredValue values[] = {{0, Good(61, 2'000)}};
  connector.HandleValues(values);
  EXPECT_EQ(Points("temperature"), (std::vector<tsdb::Point>{{1'000, 60.0}, {2'000, 61.0}}));
  EXPECT_EQ(connector.stats().buffer.readings, 0u);
}

TEST_F(OpcUaConnectorTest, WithoutABufferAStoreErrorRefusesTheReadings) {
  OpcUaConnector connector(Config(), *ingestor_, graph_, clock_);
  connector.SetHistorySinkForTesting([](std::span<const std::span<const ingest::Reading>> groups) {
    return std::vector<Status>(groups.size(), Status::Unavailable("store is closed"));
  });
  const MonitoredValue values[] = {{0, Good(60, 1'000)}, {0, Good(61, 2'000)}};
  connector.HandleValues(values);
  EXPECT_EQ(connector.stats().rejected, 2u);
  EXPECT_EQ(connector.stats().buffer.readings, 0u);
}

TEST_F(OpcUaConnectorTest, MetricsNameEveryFamilyOnce) {
  OpcUaConnector connector(Config(), *ingestor_, graph_, clock_);
  std::string out;
  connector.RenderMetrics(out);
  for (const char* family : {"doppel_opcua_connected", "doppel_opcua_reconnects_total", "doppel_opcua_notifications_total",
                             "doppel_opcua_readings_total", "doppel_opcua_bad_quality_total", "doppel_opcua_rejected_total",
                             "doppel_opcua_buffered_readings", "doppel_opcua_dropped_readings_total"}) {
    EXPECT_NE(out.find(fmt::format("# TYPE {} ", family)), std::string::npos) << family;
    EXPECT_NE(out.find(fmt::format("{}{{connector=\"press-1\"}} 0\n", family)), std::string::npos) << out;
  }
}

TEST_F(OpcUaConnectorTest, StartRefusesAnInvalidConfigAndASecondStart) {
  OpcUaConnectorConfig bad = Config();
  bad.nodes[0].telemetry.clear();
  OpcUaConnector invalid(bad, *ingestor_, graph_, clock_);
  EXPECT_EQ(invalid.Start().code(), StatusCode::kInvalidArgument);
  OpcUaConnector connector(Config(), *ingestor_, graph_, clock_);  // nothing listens on port 1
  ASSERT_TRUE(connector.Start().ok());
  EXPECT_EQ(connector.Start().code(), StatusCode::kConflict);
  ASSERT_TRUE(Eventually([&] { return !connector.stats().last_error.empty(); }));
  EXPECT_FALSE(connector.stats().connected);
  connector.Stop();
  connector.Stop();  // idempotent
}

TEST_F(OpcUaConnectorTest, SubscribesToTheSimulatedMachine) {
  auto server = testing::OpcUaTestServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  OpcUaConnector connector(Config((*server)->url()), *ingestor_, graph_, clock_);
  ASSERT_TRUE(connector.Start().ok());
  ASSERT_TRUE(Eventually([&] { return Points("temperature").size() >= 3; })) << ToJson(connector.HealthJson());
  ASSERT_TRUE(Eventually([&] { return Points("vibration").size() >= 1; })) << ToJson(connector.HealthJson());
  ASSERT_TRUE(Eventually([&] { return Property("targetSpeed").is_number(); }));  // found by its browse path
  EXPECT_EQ(Property("targetSpeed").to_number<double>(), 1500);
  EXPECT_EQ(Property("state"), json::value("Running"));
  const OpcUaConnectorStats stats = connector.stats();
  EXPECT_TRUE(stats.connected);
  EXPECT_TRUE(stats.subscribed);
  EXPECT_EQ(stats.rejected, 0u) << ToJson(connector.HealthJson());
  connector.Stop();
  EXPECT_FALSE(connector.stats().connected);
  const std::size_t stopped_at = Points("temperature").size();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(Points("temperature").size(), stopped_at) << "no handler runs after Stop";
}

}  // namespace
}  // namespace doppel::connect::opcua
