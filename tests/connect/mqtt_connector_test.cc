// The MQTT connector against a real Mosquitto broker: every mapping form lands in history and in
// the twin, hostile messages are counted under their exact reason while good ones around them
// still land, and neither a broker restart nor a connector restart loses a QoS 1 message.
// Every wait polls for the expected state with a deadline; nothing asserts on timing.
#include "connect/mqtt/mqtt_connector.h"

#include <gtest/gtest.h>
#include <mosquitto.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "base/clock.h"
#include "ingest/ingestor.h"
#include "support/mosquitto_broker.h"
#include "tsdb/query.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::connect::mqtt {
namespace {

using namespace std::chrono_literals;

json::value J(std::string_view text) { return ParseJson(text).value(); }

// Polls `done` every 10 ms until it holds or `timeout` passes; returns whether it held.
bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

constexpr std::string_view kNacelle = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Nacelle;1", "@type": "Interface",
  "contents": [{"@type": "Telemetry", "name": "temperature", "schema": "double"},
               {"@type": "Property", "name": "cmsInstalled", "schema": "boolean", "writable": true}]})";

constexpr std::string_view kTurbine = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Turbine;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "power", "schema": "double"},
    {"@type": "Telemetry", "name": "rotorRpm", "schema": "integer"},
    {"@type": "Telemetry", "name": "online", "schema": "boolean"},
    {"@type": "Telemetry", "name": "note", "schema": "string"},
    {"@type": "Telemetry", "name": "temperature", "schema": "double"},
    {"@type": "Property", "name": "state", "schema": "string", "writable": true},
    {"@type": "Property", "name": "ratedPower", "schema": "double", "writable": true},
    {"@type": "Property", "name": "commissionedOn", "schema": "date", "writable": true},
    {"@type": "Property", "name": "location", "schema": {"@type": "Object", "fields": [
      {"name": "lat", "schema": "double"}, {"name": "lon", "schema": "double"}]}, "writable": true},
    {"@type": "Component", "name": "nacelle", "schema": "dtmi:test:Nacelle;1"}
  ]})";

// The test models and two turbines, wtg-1 and wtg-2.
Status LoadTurbines(twin::TwinGraph& graph) {
  auto added = graph.AddModels({J(kNacelle), J(kTurbine)});
  if (!added.ok()) return added.status();
  for (std::string id : {"wtg-1", "wtg-2"}) {
    auto put = graph.PutTwin(id, J(R"({"$metadata": {"$model": "dtmi:test:Turbine;1"},
                                       "nacelle": {"$metadata": {}}})"), {});
    if (!put.ok()) return put.status();
  }
  return Status::Ok();
}

// A QoS 1 publisher that survives broker restarts: publishes are retried until the library
// takes them, and every taken message is tracked until its PUBACK.
class Publisher {
 public:
  Publisher(int port, const std::string& client_id) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(client_id.c_str(), /*clean_session=*/false, this);
    mosquitto_publish_callback_set(mosq_, [](struct mosquitto*, void* self, int mid) {
      auto* p = static_cast<Publisher*>(self);
      std::lock_guard lock(p->mu_);
      p->unacked_.erase(mid);
    });
    mosquitto_connect_callback_set(mosq_, [](struct mosquitto*, void* self, int rc) {
      if (rc == 0) static_cast<Publisher*>(self)->connects_.fetch_add(1);
    });
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    EXPECT_EQ(mosquitto_connect(mosq_, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
    EXPECT_EQ(mosquitto_loop_start(mosq_), MOSQ_ERR_SUCCESS);
  }
  ~Publisher() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }

  // Publishes with QoS 1; while the broker is unreachable the library may refuse, so retry.
  void Publish(const std::string& topic, std::string_view payload) {
    ASSERT_TRUE(WaitFor([&] {
      std::lock_guard lock(mu_);  // held so the PUBACK cannot be seen before the mid is noted
      int mid = 0;
      int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
      if (rc == MOSQ_ERR_SUCCESS) unacked_.insert(mid);
      return rc == MOSQ_ERR_SUCCESS;
    })) << "could not publish to " << topic;
  }

  bool AllAcked() {
    std::lock_guard lock(mu_);
    return unacked_.empty();
  }
  // CONNACKs received: 1 after the first connection, 2 after a reconnect.
  int connects() const { return connects_.load(); }

 private:
  struct mosquitto* mosq_;
  std::atomic<int> connects_{0};
  std::mutex mu_;
  std::set<int> unacked_;  // guarded by mu_
};

class MqttConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = testing::MosquittoBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    Status loaded = LoadTurbines(graph_);
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    publisher_ = std::make_unique<Publisher>(broker_->port(), ClientId("pub"));
  }

  void TearDown() override {
    publisher_.reset();
    connector_.reset();
  }

  static std::string ClientId(std::string_view role) {
    return "doppel-" + std::string(role) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  MqttConnectorConfig Config() {
    json::value config = J(R"({
      "name": "test-broker", "clientId": "x", "broker": "mqtt://127.0.0.1:1",
      "reconnect": {"minSeconds": 1, "maxSeconds": 1},
      "mappings": [
        {"topic": "doppel/+/{twinId}/telemetry", "timestamp": {"field": "ts", "format": "epoch_ms"}},
        {"topic": "doppel/+/{twinId}/properties", "target": "properties"},
        {"topic": "doppel/+/{twinId}/{component}/telemetry"},
        {"topic": "plant/{twinId}/{path}", "payload": "value"},
        {"topic": "legacy/{twinId}/batch", "payload": "json-array", "timestamp": {"field": "ts", "format": "epoch_s"}},
        {"topic": "legacy/{twinId}", "ignoreUnmapped": true,
         "fields": {"tF": {"path": "temperature", "convert": "degreeFahrenheit->degreeCelsius"},
                    "pw": {"path": "power", "scale": 0.1}}}
      ]})");
    config.as_object()["broker"] = broker_->url();
    config.as_object()["clientId"] = ClientId("connector");
    return ParseMqttConnectorConfig(config).value();
  }

  // Starts a connector and waits until the broker has acknowledged its subscriptions.
  void StartConnector() {
    connector_ = std::make_unique<MqttConnector>(Config(), *ingestor_, graph_);
    ASSERT_TRUE(connector_->Start().ok());
    ASSERT_TRUE(WaitFor([&] { return connector_->stats().subscribed; })) << broker_->Log();
  }

  std::vector<tsdb::Point> Points(std::string_view twin, std::string_view path) {
    auto id = store_->Find(twin, path);
    if (!id.ok()) return {};
    return tsdb::QueryRaw(*store_, *id, INT64_MIN, INT64_MAX).value();
  }

  json::value Property(std::string_view twin, std::string_view name) {
    json::object doc = graph_.GetTwin(twin).value();
    const json::value* v = doc.if_contains(name);
    return v == nullptr ? json::value() : *v;
  }

  uint64_t Rejected(MqttRejectReason reason) { return connector_->stats().rejected_for(reason); }

  tsdb::testing::TempDir dir_;
  std::unique_ptr<testing::MosquittoBroker> broker_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<MqttConnector> connector_;
};

TEST_F(MqttConnectorTest, EveryMappingFormLands) {
  StartConnector();
  publisher_->Publish("doppel/site/wtg-1/telemetry", R"({"ts": 1700000000123, "power": 1500.5, "rotorRpm": 14})");
  publisher_->Publish("doppel/site/wtg-1/properties", R"({"state": "running", "location": {"lat": 55.9, "lon": 8.4}})");
  publisher_->Publish("doppel/site/wtg-1/nacelle/telemetry", R"({"temperature": 41.5})");
  publisher_->Publish("plant/wtg-2/online", "true");
  publisher_->Publish("plant/wtg-2/note", "gearbox noise");
  publisher_->Publish("legacy/wtg-2/batch", R"([{"ts": 1700000000, "power": 1, "rotorRpm": 10},
                                               {"ts": 1700000001, "power": 2}])");
  publisher_->Publish("legacy/wtg-2", R"({"tF": 212, "pw": 12345, "unmapped": "dropped"})");
  ASSERT_TRUE(WaitFor([&] { return connector_->stats().messages_accepted == 7; }))
      << ToJson(connector_->HealthJson());

  EXPECT_EQ(Points("wtg-1", "power"), (std::vector<tsdb::Point>{{1'700'000'000'123'000'000, 1500.5}}));
  EXPECT_EQ(Points("wtg-1", "rotorRpm"), (std::vector<tsdb::Point>{{1'700'000'000'123'000'000, int64_t{14}}}));
  EXPECT_EQ(Property("wtg-1", "state"), json::value("running"));
  EXPECT_EQ(ToJson(Property("wtg-1", "location")), R"({"lat":55.9,"lon":8.4})");
  ASSERT_EQ(Points("wtg-1", "state").size(), 1u);  // property history, besides the twin
  EXPECT_EQ(Points("wtg-1", "state")[0].value, tsdb::Value(std::string("running")));
  EXPECT_TRUE(Points("wtg-1", "location").empty());  // objects live in the twin only
  ASSERT_EQ(Points("wtg-1", "nacelle/temperature").size(), 1u);
  EXPECT_EQ(Points("wtg-1", "nacelle/temperature")[0].value, tsdb::Value(41.5));
  ASSERT_EQ(Points("wtg-2", "online").size(), 1u);
  EXPECT_EQ(Points("wtg-2", "online")[0].value, tsdb::Value(true));
  EXPECT_EQ(Points("wtg-2", "note")[0].value, tsdb::Value(std::string("gearbox noise")));
  std::vector<tsdb::Point> power = Points("wtg-2", "power");
  ASSERT_EQ(power.size(), 3u);  // two from the batch, one scaled from legacy/wtg-2
  EXPECT_EQ(power[0], (tsdb::Point{1'700'000'000'000'000'000, 1.0}));
  EXPECT_EQ(power[1], (tsdb::Point{1'700'000'001'000'000'000, 2.0}));
  EXPECT_DOUBLE_EQ(std::get<double>(power[2].value), 1234.5);
  EXPECT_DOUBLE_EQ(std::get<double>(Points("wtg-2", "temperature").at(0).value), 100.0);
  EXPECT_TRUE(Points("wtg-2", "unmapped").empty());

  const MqttConnectorStats stats = connector_->stats();
  EXPECT_TRUE(stats.connected);
  EXPECT_EQ(stats.messages_received, 7u);
  EXPECT_EQ(stats.readings_accepted, 11u);
  EXPECT_EQ(stats.properties_patched, 1u);
  for (uint64_t n : stats.rejected) EXPECT_EQ(n, 0u);
  std::string metrics;
  connector_->RenderMetrics(metrics);
  EXPECT_NE(metrics.find("\ndoppel_mqtt_connected{connector=\"test-broker\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ndoppel_mqtt_messages_total{connector=\"test-broker\"} 7\n"), std::string::npos);
  EXPECT_NE(metrics.find("\ndoppel_mqtt_reconnects_total{connector=\"test-broker\"} 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("\ndoppel_mqtt_rejected_total{connector=\"test-broker\",reason=\"too_large\"} 0\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("# TYPE doppel_mqtt_connected gauge\n"), std::string::npos);
}

TEST_F(MqttConnectorTest, HostileMessagesAreCountedAndGoodOnesStillLand) {
  StartConnector();
  int good = 0;
  const auto publish_good = [&] {
    publisher_->Publish("doppel/site/wtg-1/telemetry",
                        R"({"ts": )" + std::to_string(1'700'000'000'000 + good) + R"(, "power": )" +
                            std::to_string(good) + "}");
    ++good;
  };
  struct Case {
    std::string topic;
    std::string payload;
    MqttRejectReason reason;
  };
  const std::vector<Case> cases = {
      {"doppel/site/wtg-1/telemetry", R"({"power": 1,)", MqttRejectReason::kMalformedPayload},
      {"doppel/site/wtg-1/telemetry", "\xff\xfe\x00garbage", MqttRejectReason::kMalformedPayload},
      {"doppel/site/wtg-1/telemetry", R"({"power": null})", MqttRejectReason::kMalformedPayload},
      {"doppel/site/wtg-1/telemetry", R"({"power": 1, "pad": ")" + std::string(2 << 20, 'x') + "\"}",
       MqttRejectReason::kTooLarge},
      {"doppel/site/wtg-1/telemetry", R"({"power": "high"})", MqttRejectReason::kWrongType},
      {"doppel/site/wtg-1/telemetry", R"({"rotorRpm": 14.5})", MqttRejectReason::kWrongType},
      {"doppel/site/wtg-1/properties", R"({"state": 7})", MqttRejectReason::kWrongType},
      {"doppel/site/ghost/telemetry", R"({"power": 1})", MqttRejectReason::kUnknownTwin},
      {"doppel/site/wtg-1/telemetry", R"({"bogus": 1})", MqttRejectReason::kUnknownPath},
      {"doppel/site/wtg-1/properties", R"({"power": 1})", MqttRejectReason::kUnknownPath},  // telemetry, not property
      {"doppel/site/wtg-1/telemetry", R"({"ts": "yesterday", "power": 1})", MqttRejectReason::kBadTimestamp},
      {"doppel/site/../telemetry", R"({"power": 1})", MqttRejectReason::kInvalidTopic},
      {"doppel/site/" + std::string(1100, 'w') + "/telemetry", R"({"power": 1})", MqttRejectReason::kInvalidTopic},
      {"plant/wtg-1/..", "1", MqttRejectReason::kInvalidTopic},
      {"plant/wtg-1/$metadata", "{}", MqttRejectReason::kInvalidTopic},
      {"doppel/site/wtg-1/$metadata/telemetry", R"({"x": 1})", MqttRejectReason::kInvalidTopic},
  };
  std::array<uint64_t, kMqttRejectReasonCount> expected{};
  publish_good();
  for (const Case& c : cases) {
    publisher_->Publish(c.topic, c.payload);
    ++expected[static_cast<std::size_t>(c.reason)];
    publish_good();
  }
  const uint64_t total = cases.size() + static_cast<uint64_t>(good);
  ASSERT_TRUE(WaitFor([&] { return connector_->stats().messages_received == total; }))
      << ToJson(connector_->HealthJson());
  const MqttConnectorStats stats = connector_->stats();
  for (std::size_t r = 0; r < kMqttRejectReasonCount; ++r) {
    EXPECT_EQ(stats.rejected[r], expected[r]) << MqttRejectReasonName(static_cast<MqttRejectReason>(r));
  }
  EXPECT_EQ(stats.messages_accepted, static_cast<uint64_t>(good));
  EXPECT_EQ(Points("wtg-1", "power").size(), static_cast<std::size_t>(good));
  EXPECT_EQ(Property("wtg-1", "state"), json::value());  // the refused patch changed nothing

  // A topic no mapping covers cannot arrive through these subscriptions; fed directly:
  connector_->HandleMessage("elsewhere/wtg-1", "{}");
  EXPECT_EQ(Rejected(MqttRejectReason::kUnmatchedTopic), 1u);
}

TEST_F(MqttConnectorTest, BrokerRestartDuringAStreamLosesNothing) {
  StartConnector();
  constexpr int kMessages = 300;
  for (int i = 0; i < kMessages; ++i) {
    if (i == kMessages / 2) {
      ASSERT_TRUE(broker_->Restart().ok()) << broker_->Log();
    }
    publisher_->Publish("doppel/site/wtg-1/telemetry", R"({"ts": )" + std::to_string(1'700'000'000'000 + i) +
                                                           R"(, "power": )" + std::to_string(i) + "}");
  }
  ASSERT_TRUE(WaitFor([&] { return publisher_->AllAcked(); }, 60s)) << broker_->Log();
  ASSERT_TRUE(WaitFor([&] { return Points("wtg-1", "power").size() == kMessages; }, 60s))
      << Points("wtg-1", "power").size() << " of " << kMessages << "; " << ToJson(connector_->HealthJson());
  std::vector<tsdb::Point> points = Points("wtg-1", "power");
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(points[i], (tsdb::Point{(1'700'000'000'000 + i) * 1'000'000, static_cast<double>(i)}));
  }
  EXPECT_GE(connector_->stats().reconnects, 1u);
  for (uint64_t n : connector_->stats().rejected) EXPECT_EQ(n, 0u);
}

// The message of index i in a stream where every 7th is bad (alternately malformed JSON and a
// wrong type): bad ones must be refused alone, never taking their batch neighbours with them.
bool IsBad(int i) { return i % 7 == 3; }
std::string StreamPayload(int i) {
  if (IsBad(i)) return (i / 7) % 2 == 0 ? R"({"power": )" : R"({"power": "high"})";
  return R"({"ts": )" + std::to_string(1'700'000'000'000 + i) + R"(, "power": )" + std::to_string(i) + "}";
}

TEST_F(MqttConnectorTest, AStreamWithBadMessagesStoresEveryGoodOneAndCountsEveryBadOne) {
  StartConnector();
  constexpr int kMessages = 5000;
  int bad = 0;
  for (int i = 0; i < kMessages; ++i) {
    publisher_->Publish("doppel/site/wtg-1/telemetry", StreamPayload(i));
    bad += IsBad(i) ? 1 : 0;
  }
  ASSERT_TRUE(WaitFor([&] { return connector_->stats().messages_received == kMessages; }, 120s))
      << ToJson(connector_->HealthJson());
  const MqttConnectorStats stats = connector_->stats();
  EXPECT_EQ(stats.messages_accepted, static_cast<uint64_t>(kMessages - bad));
  EXPECT_EQ(stats.rejected_for(MqttRejectReason::kMalformedPayload) + stats.rejected_for(MqttRejectReason::kWrongType),
            static_cast<uint64_t>(bad));
  EXPECT_EQ(stats.rejected_for(MqttRejectReason::kMalformedPayload), static_cast<uint64_t>((bad + 1) / 2));
  std::vector<tsdb::Point> points = Points("wtg-1", "power");
  ASSERT_EQ(points.size(), static_cast<std::size_t>(kMessages - bad));
  std::size_t next = 0;
  for (int i = 0; i < kMessages; ++i) {
    if (IsBad(i)) continue;
    EXPECT_EQ(points[next++], (tsdb::Point{(1'700'000'000'000 + i) * 1'000'000, static_cast<double>(i)}));
  }
}

TEST_F(MqttConnectorTest, MessagesPublishedWhileTheConnectorIsDownArriveAfterRestart) {
  StartConnector();
  constexpr int kMessages = 300;
  const auto publish = [&](int i) {
    publisher_->Publish("doppel/site/wtg-2/telemetry", R"({"ts": )" + std::to_string(1'700'000'000'000 + i) +
                                                           R"(, "power": )" + std::to_string(i) + "}");
  };
  for (int i = 0; i < 100; ++i) publish(i);
  connector_->Stop();  // mid-stream: some of the first 100 may still be queued at the broker
  EXPECT_FALSE(connector_->stats().connected);
  for (int i = 100; i < 200; ++i) publish(i);
  ASSERT_TRUE(WaitFor([&] { return publisher_->AllAcked(); })) << broker_->Log();
  connector_.reset();
  StartConnector();  // same clientId: the broker hands over what it queued
  for (int i = 200; i < kMessages; ++i) publish(i);
  ASSERT_TRUE(WaitFor([&] { return Points("wtg-2", "power").size() == kMessages; }, 60s))
      << Points("wtg-2", "power").size() << " of " << kMessages << "; " << ToJson(connector_->HealthJson());
  std::vector<tsdb::Point> points = Points("wtg-2", "power");
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(points[i], (tsdb::Point{(1'700'000'000'000 + i) * 1'000'000, static_cast<double>(i)}));
  }
}

TEST_F(MqttConnectorTest, StartsWhileTheBrokerIsDownAndConnectsWhenItComesUp) {
  ASSERT_TRUE(WaitFor([&] { return publisher_->connects() >= 1; })) << broker_->Log();
  ASSERT_TRUE(broker_->Stop().ok());
  connector_ = std::make_unique<MqttConnector>(Config(), *ingestor_, graph_);
  ASSERT_TRUE(connector_->Start().ok());  // not an error: it retries in the background
  EXPECT_FALSE(connector_->stats().connected);
  ASSERT_TRUE(broker_->Resume().ok()) << broker_->Log();
  ASSERT_TRUE(WaitFor([&] { return connector_->stats().subscribed; })) << ToJson(connector_->HealthJson());
  // The publisher too must be back: a QoS 1 message written to its dead connection is lost
  // until its next reconnect resends it, which a loaded machine may not reach in time.
  ASSERT_TRUE(WaitFor([&] { return publisher_->connects() >= 2; })) << broker_->Log();
  publisher_->Publish("plant/wtg-1/rotorRpm", "12");
  ASSERT_TRUE(WaitFor([&] { return Points("wtg-1", "rotorRpm").size() == 1; }));
  EXPECT_EQ(Points("wtg-1", "rotorRpm")[0].value, tsdb::Value(int64_t{12}));
}

TEST_F(MqttConnectorTest, StartAndStopAreChecked) {
  MqttConnectorConfig bad = Config();
  bad.mappings.clear();
  MqttConnector invalid(bad, *ingestor_, graph_);
  EXPECT_EQ(invalid.Start().message(), "mqtt connector 'test-broker': mappings: needs at least one mapping");
  invalid.Stop();  // idempotent, also when never started

  StartConnector();
  EXPECT_EQ(connector_->Start().code(), StatusCode::kConflict);
  connector_->Stop();
  connector_->Stop();
  EXPECT_FALSE(connector_->stats().connected);
}

// What `doppel serve` does with a connector, in a child process the test can kill -9: a store
// that syncs every write, an Ingestor and a connector. Writes `ready_file` once subscribed, then
// waits to be killed, writing the number of readings stored so far to `progress_file`. Never
// returns.
[[noreturn]] void RunConnectorProcess(const std::string& store_dir, MqttConnectorConfig config,
                                      const std::string& ready_file, const std::string& progress_file) {
  twin::MemoryJournal journal;
  ManualClock clock;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  if (!LoadTurbines(graph).ok()) ::_exit(2);
  auto store = tsdb::SeriesStore::Open(store_dir);  // sync: what the connector acks is on disk
  if (!store.ok()) ::_exit(3);
  ingest::Ingestor ingestor(graph, **store);
  uint64_t stored = 0;
  ingestor.Subscribe([&](std::span<const ingest::Reading> readings) {
    stored += readings.size();
    std::ofstream(progress_file + ".tmp") << stored << "\n";
    std::filesystem::rename(progress_file + ".tmp", progress_file);
  });
  MqttConnector connector(std::move(config), ingestor, graph);
  if (!connector.Start().ok()) ::_exit(4);
  while (!connector.stats().subscribed) std::this_thread::sleep_for(10ms);
  std::ofstream(ready_file) << "ready\n";
  while (true) ::pause();
}

TEST(MqttCrashTest, KillNineDuringAStreamLosesNothing) {
  auto started = testing::MosquittoBroker::Start();
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::unique_ptr<testing::MosquittoBroker> broker = std::move(started).value();
  tsdb::testing::TempDir dir;
  const std::string store_dir = dir.path() + "/history";
  const std::string ready = dir.path() + "/ready";
  const std::string progress = dir.path() + "/progress";
  json::value c = J(R"({"name": "crash", "clientId": "doppel-crash", "reconnect": {"minSeconds": 1, "maxSeconds": 1},
                        "mappings": [{"topic": "doppel/+/{twinId}/telemetry",
                                      "timestamp": {"field": "ts", "format": "epoch_ms"}}]})");
  c.as_object()["broker"] = broker->url();
  const MqttConnectorConfig config = ParseMqttConnectorConfig(c).value();

  // Forked before this process starts any thread of its own (the publisher comes later).
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) RunConnectorProcess(store_dir, config, ready, progress);
  // Whatever assertion fails below, the child must not outlive the test.
  struct KillOnExit {
    pid_t& pid;
    ~KillOnExit() {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } kill_on_exit{child};
  bool child_exited = false;
  ASSERT_TRUE(WaitFor([&] {
    child_exited = child_exited || ::waitpid(child, nullptr, WNOHANG) == child;
    return child_exited || std::filesystem::exists(ready);
  }));
  if (child_exited) child = -1;
  ASSERT_GT(child, 0) << "the connector process did not start";

  constexpr int kMessages = 300;
  Publisher publisher(broker->port(), "doppel-crash-publisher");
  const auto stored = [&] {
    uint64_t n = 0;
    std::ifstream(progress) >> n;
    return n;
  };
  for (int i = 0; i < kMessages; ++i) {
    if (i == kMessages / 2) {
      // Mid-stream: once the child has stored a third, it is most likely inside a write, with
      // more messages in flight behind it.
      ASSERT_TRUE(WaitFor([&] { return stored() >= kMessages / 3; }));
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      child = -1;
    }
    publisher.Publish("doppel/site/wtg-1/telemetry", R"({"ts": )" + std::to_string(1'700'000'000'000 + i) +
                                                         R"(, "power": )" + std::to_string(i) + "}");
  }
  ASSERT_TRUE(WaitFor([&] { return publisher.AllAcked(); }));

  // Doppel comes back over the same store with the same client id.
  twin::MemoryJournal journal;
  ManualClock clock;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  ASSERT_TRUE(LoadTurbines(graph).ok());
  auto store = tsdb::SeriesStore::Open(store_dir, {.sync = false});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ingest::Ingestor ingestor(graph, **store);
  const auto points = [&] {
    auto id = (*store)->Find("wtg-1", "power");
    return id.ok() ? tsdb::QueryRaw(**store, *id, INT64_MIN, INT64_MAX).value() : std::vector<tsdb::Point>{};
  };
  // For the record (it varies from run to run): how far the killed process had got.
  RecordProperty("points_before_restart", static_cast<int>(points().size()));
  MqttConnector connector(config, ingestor, graph);
  ASSERT_TRUE(connector.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return points().size() == kMessages; }, 60s))
      << points().size() << " of " << kMessages << "; " << ToJson(connector.HealthJson());
  std::vector<tsdb::Point> got = points();
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(got[i], (tsdb::Point{(1'700'000'000'000 + i) * 1'000'000, static_cast<double>(i)}));
  }
  connector.Stop();
}

// The batched path under kill -9: 5,000 QoS 1 messages with bad ones among them, the
// connector process killed mid-stream (most likely inside a batch's durable write, with up to
// receiveMaximum messages unacknowledged). Every good message is stored exactly once after the
// restart; bad ones never are.
TEST(MqttCrashTest, KillNineDuringABatchedStreamWithBadMessagesLosesNothing) {
  auto started = testing::MosquittoBroker::Start();
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::unique_ptr<testing::MosquittoBroker> broker = std::move(started).value();
  tsdb::testing::TempDir dir;
  const std::string store_dir = dir.path() + "/history";
  const std::string ready = dir.path() + "/ready";
  const std::string progress = dir.path() + "/progress";
  json::value c = J(R"({"name": "crash", "clientId": "doppel-crash-batch", "reconnect": {"minSeconds": 1, "maxSeconds": 1},
                        "mappings": [{"topic": "doppel/+/{twinId}/telemetry",
                                      "timestamp": {"field": "ts", "format": "epoch_ms"}}]})");
  c.as_object()["broker"] = broker->url();
  const MqttConnectorConfig config = ParseMqttConnectorConfig(c).value();

  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) RunConnectorProcess(store_dir, config, ready, progress);
  struct KillOnExit {
    pid_t& pid;
    ~KillOnExit() {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } kill_on_exit{child};
  bool child_exited = false;
  ASSERT_TRUE(WaitFor([&] {
    child_exited = child_exited || ::waitpid(child, nullptr, WNOHANG) == child;
    return child_exited || std::filesystem::exists(ready);
  }));
  if (child_exited) child = -1;
  ASSERT_GT(child, 0) << "the connector process did not start";

  constexpr int kMessages = 5000;
  int good = 0;
  for (int i = 0; i < kMessages; ++i) good += IsBad(i) ? 0 : 1;
  Publisher publisher(broker->port(), "doppel-crash-batch-publisher");
  const auto stored = [&] {
    uint64_t n = 0;
    std::ifstream(progress) >> n;
    return n;
  };
  for (int i = 0; i < kMessages; ++i) {
    if (i == kMessages / 2) {
      ASSERT_TRUE(WaitFor([&] { return stored() >= static_cast<uint64_t>(good / 4); }, 120s));
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      child = -1;
    }
    publisher.Publish("doppel/site/wtg-1/telemetry", StreamPayload(i));
  }
  ASSERT_TRUE(WaitFor([&] { return publisher.AllAcked(); }, 60s));

  twin::MemoryJournal journal;
  ManualClock clock;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  ASSERT_TRUE(LoadTurbines(graph).ok());
  auto store = tsdb::SeriesStore::Open(store_dir, {.sync = false});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ingest::Ingestor ingestor(graph, **store);
  const auto points = [&] {
    auto id = (*store)->Find("wtg-1", "power");
    return id.ok() ? tsdb::QueryRaw(**store, *id, INT64_MIN, INT64_MAX).value() : std::vector<tsdb::Point>{};
  };
  RecordProperty("points_before_restart", static_cast<int>(points().size()));
  MqttConnector connector(config, ingestor, graph);
  ASSERT_TRUE(connector.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return points().size() == static_cast<std::size_t>(good); }, 120s))
      << points().size() << " of " << good << "; " << ToJson(connector.HealthJson());
  std::vector<tsdb::Point> got = points();
  std::size_t next = 0;
  for (int i = 0; i < kMessages; ++i) {
    if (IsBad(i)) continue;
    EXPECT_EQ(got[next++], (tsdb::Point{(1'700'000'000'000 + i) * 1'000'000, static_cast<double>(i)}));
  }
  // The restarted connector saw the bad ones it got (those after the kill, and any redelivered)
  // refused, none accepted into history.
  EXPECT_GT(connector.stats().rejected_for(MqttRejectReason::kMalformedPayload) +
                connector.stats().rejected_for(MqttRejectReason::kWrongType),
            0u);
  connector.Stop();
}

TEST(MqttAuthTest, UsesCredentialsAndReportsARefusal) {
  tsdb::testing::TempDir dir;
  const std::string passwords = dir.path() + "/passwords";
  ASSERT_EQ(std::system(("mosquitto_passwd -b -c " + passwords + " doppel s3cret").c_str()), 0);
  testing::MosquittoBrokerOptions options;
  options.allow_anonymous = false;
  options.extra_config = "password_file " + passwords + "\n";
  auto broker = testing::MosquittoBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();

  twin::MemoryJournal journal;
  ManualClock clock;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  auto store = tsdb::SeriesStore::Open(dir.path() + "/history", {.sync = false}).value();
  ingest::Ingestor ingestor(graph, *store);
  const auto config = [&](std::string_view password) {
    json::value c = J(R"({"name": "auth", "clientId": "doppel-auth", "username": "doppel",
                          "mappings": [{"topic": "{twinId}"}]})");
    c.as_object()["broker"] = (*broker)->url();
    c.as_object()["password"] = password;
    return ParseMqttConnectorConfig(c).value();
  };
  MqttConnector wrong(config("guess"), ingestor, graph);
  ASSERT_TRUE(wrong.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return !wrong.stats().last_connection_error.empty(); }));
  EXPECT_EQ(wrong.stats().last_connection_error.rfind("refused: ", 0), 0u) << wrong.stats().last_connection_error;
  EXPECT_FALSE(wrong.stats().connected);
  wrong.Stop();

  MqttConnector right(config("s3cret"), ingestor, graph);
  ASSERT_TRUE(right.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return right.stats().subscribed; })) << ToJson(right.HealthJson()) << (*broker)->Log();
  right.Stop();
}

TEST(MqttMetricsTest, AnnouncesEachFamilyOnceForManyConnectors) {
  twin::MemoryJournal journal;
  ManualClock clock;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  tsdb::testing::TempDir dir;
  auto store = tsdb::SeriesStore::Open(dir.path(), {.sync = false}).value();
  ingest::Ingestor ingestor(graph, *store);
  MqttConnectorConfig a = ParseMqttConnectorConfig(J(R"({"name": "a", "broker": "mqtt://127.0.0.1:1", "clientId": "a",
                                                         "mappings": [{"topic": "{twinId}"}]})"))
                              .value();
  MqttConnectorConfig b = a;
  b.name = "b";
  MqttConnector ca(a, ingestor, graph), cb(b, ingestor, graph);
  const MqttConnector* all[] = {&ca, &cb};
  std::string out;
  RenderMqttMetrics(all, out);
  std::size_t helps = 0;
  for (std::size_t at = out.find("# HELP doppel_mqtt_messages_total"); at != std::string::npos;
       at = out.find("# HELP doppel_mqtt_messages_total", at + 1)) {
    ++helps;
  }
  EXPECT_EQ(helps, 1u);
  EXPECT_NE(out.find("doppel_mqtt_messages_total{connector=\"a\"} 0\n"), std::string::npos);
  EXPECT_NE(out.find("doppel_mqtt_messages_total{connector=\"b\"} 0\n"), std::string::npos);
  EXPECT_NE(out.find("doppel_mqtt_rejected_total{connector=\"b\",reason=\"store_error\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace doppel::connect::mqtt
