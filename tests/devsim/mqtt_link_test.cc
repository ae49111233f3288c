// The simulator against a real Mosquitto broker: topics and payload shapes, desired properties,
// commands and their responses, and reconnecting after the broker restarts.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "devsim/mqtt_link.h"
#include "devsim_test_util.h"
#include "mqtt_listener.h"
#include "support/mosquitto_broker.h"

namespace doppel::devsim {
namespace {

using testing::DemoSpec;
using testing::Listener;

// The demo fleet talking to `broker` on a thread of its own until Stop().
class RunningSimulator {
 public:
  RunningSimulator(int port, double rate_hz = 20.0)
      : fleet_(DemoSpec("kr-wtg-03"), FleetOptions{}, SystemClock::Instance().Now()) {
    LinkOptions options;
    options.broker.port = port;
    options.client_id = "devsim-under-test";
    options.rate_hz = rate_hz;
    auto link = FleetLink::Create(fleet_, options, SystemClock::Instance());
    EXPECT_TRUE(link.ok()) << link.status().ToString();
    link_ = std::move(link).value();
    thread_ = std::thread([this] { status_ = link_->Run(stop_); });
  }
  ~RunningSimulator() { Stop(); }

  const LinkStats& Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    return link_->stats();
  }
  Status status() const { return status_; }

 private:
  Fleet fleet_;
  std::unique_ptr<FleetLink> link_;
  std::atomic<bool> stop_{false};
  Status status_;
  std::thread thread_;
};

std::unique_ptr<doppel::testing::MosquittoBroker> StartBroker() {
  auto broker = doppel::testing::MosquittoBroker::Start();
  EXPECT_TRUE(broker.ok()) << broker.status().ToString();
  return broker.ok() ? std::move(broker).value() : nullptr;
}

// Numbers cross the wire in their shortest form ("11" for 11.0), so compare them as doubles.
double Number(const json::object& body, const char* key) { return body.at(key).to_number<double>(); }

constexpr const char* kTurbine1 = "doppel/kestrel-ridge/kr-wtg-01";
constexpr const char* kTurbine2 = "doppel/kestrel-ridge/kr-wtg-02";

TEST(FleetLinkTest, PublishesTelemetryAndPropertiesOnTheContractTopics) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  Listener listener(broker->port(), "listener-shapes");
  RunningSimulator sim(broker->port());

  auto turbine = listener.WaitFor(std::string(kTurbine1) + "/telemetry");
  ASSERT_TRUE(turbine);
  for (const char* key : {"ts", "windSpeed", "rotorSpeed", "activePower", "pitchAngle",
                          "nacelle/yawAngle", "nacelle/nacelleTemperature", "nacelle/ambientTemperature"}) {
    EXPECT_TRUE(turbine->body.contains(key)) << key;
  }
  const std::string ts(turbine->body.at("ts").as_string());
  EXPECT_TRUE(ParseRfc3339(ts).ok()) << ts;
  EXPECT_EQ(ts.size(), 24u) << ts;  // 2026-11-25T22:41:07.250Z
  EXPECT_EQ(turbine->qos, 0);

  auto bearing = listener.WaitFor("doppel/kestrel-ridge/kr-wtg-03-mainbearing/telemetry");
  ASSERT_TRUE(bearing);
  EXPECT_TRUE(bearing->body.at("vibrationRms").is_number());
  EXPECT_TRUE(bearing->body.at("bearingTemperature").is_number());
  auto farm = listener.WaitFor("doppel/kestrel-ridge/kestrel-ridge/telemetry");
  ASSERT_TRUE(farm);
  EXPECT_TRUE(farm->body.at("activePower").is_number());
  auto cnc = listener.WaitFor("doppel/halden/halden-l1-op10-cnc1/telemetry");
  ASSERT_TRUE(cnc);
  for (const char* key : {"ts", "spindleSpeed", "spindleLoad", "cycleTime", "powerDraw", "stopReason"}) {
    EXPECT_TRUE(cnc->body.contains(key)) << key;
  }

  auto curtailed = listener.WaitFor("doppel/kestrel-ridge/kr-wtg-03/properties");
  ASSERT_TRUE(curtailed);
  EXPECT_EQ(curtailed->body.at("state"), "curtailed");
  EXPECT_EQ(Number(curtailed->body, "rotorSpeedLimit"), 10.5);
  EXPECT_EQ(curtailed->qos, 1);
  auto counts = listener.WaitFor("doppel/halden/halden-l1-op10-cnc1/properties",
                                 [](const json::object& b) { return b.contains("goodCount"); });
  ASSERT_TRUE(counts);
  EXPECT_GE(counts->body.at("goodCount").to_number<int64_t>(), 228);
  auto damage = listener.WaitFor("doppel/kestrel-ridge/kr-wtg-03-mainbearing/properties");
  ASSERT_TRUE(damage);
  EXPECT_NEAR(damage->body.at("cumulativeDamage").to_number<double>(), 0.58, 1e-3);

  const LinkStats& stats = sim.Stop();
  EXPECT_TRUE(sim.status().ok());
  EXPECT_EQ(stats.connects, 1u);
  EXPECT_GT(stats.published, 26u);
}

TEST(FleetLinkTest, ObeysDesiredPropertiesAndAnswersCommands) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  Listener listener(broker->port(), "listener-commands");
  RunningSimulator sim(broker->port());
  ASSERT_TRUE(listener.WaitFor(std::string(kTurbine1) + "/properties"));

  // Desired rotor speed limit: reported back, then obeyed in every later telemetry message.
  listener.Publish(std::string(kTurbine1) + "/desired", json::object{{"rotorSpeedLimit", 11.0}});
  auto limit = listener.WaitFor(std::string(kTurbine1) + "/properties", [](const json::object& b) {
    return b.contains("rotorSpeedLimit") && Number(b, "rotorSpeedLimit") == 11.0;
  });
  ASSERT_TRUE(limit);
  EXPECT_EQ(limit->body.at("state"), "curtailed");
  const std::size_t after_limit = listener.size();
  ASSERT_TRUE(listener.WaitFor(std::string(kTurbine1) + "/telemetry", nullptr, after_limit));
  for (const json::object& t : listener.All(std::string(kTurbine1) + "/telemetry", after_limit)) {
    EXPECT_LE(t.at("rotorSpeed").to_number<double>(), 11.0);
  }

  // stop: a 200 response with the correlation id, the new state reported, no more power.
  listener.Publish(std::string(kTurbine2) + "/commands/stop",
                   json::object{{"correlationId", "c-1"}, {"payload", "inspection"}});
  auto response = listener.WaitFor(std::string(kTurbine2) + "/commands/stop/response");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body.at("correlationId"), "c-1");
  EXPECT_EQ(response->body.at("status"), 200);
  EXPECT_EQ(response->body.at("payload").at("accepted"), true);
  EXPECT_EQ(response->qos, 1);
  ASSERT_TRUE(listener.WaitFor(std::string(kTurbine2) + "/properties",
                               [](const json::object& b) { return b.contains("state") && b.at("state") == "stopped"; }));
  const std::size_t after_stop = listener.size();
  auto stopped = listener.WaitFor(std::string(kTurbine2) + "/telemetry", nullptr, after_stop);
  ASSERT_TRUE(stopped);
  EXPECT_EQ(Number(stopped->body, "activePower"), 0.0);
  EXPECT_EQ(Number(stopped->body, "rotorSpeed"), 0.0);

  // An unknown command: 404, still correlated.
  listener.Publish(std::string(kTurbine2) + "/commands/selfDestruct", json::object{{"correlationId", "c-2"}});
  auto unknown = listener.WaitFor(std::string(kTurbine2) + "/commands/selfDestruct/response");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->body.at("correlationId"), "c-2");
  EXPECT_EQ(unknown->body.at("status"), 404);

  // A machine obeys stop too.
  listener.Publish("doppel/halden/halden-l2-op20-press/commands/stop", json::object{{"correlationId", "c-3"}});
  auto press = listener.WaitFor("doppel/halden/halden-l2-op20-press/commands/stop/response");
  ASSERT_TRUE(press);
  EXPECT_EQ(press->body.at("status"), 200);
  ASSERT_TRUE(listener.WaitFor("doppel/halden/halden-l2-op20-press/properties",
                               [](const json::object& b) { return b.contains("state") && b.at("state") == "down"; }));

  const LinkStats& stats = sim.Stop();
  EXPECT_EQ(stats.commands_handled, 3u);
  EXPECT_EQ(stats.desired_applied, 1u);
}

TEST(FleetLinkTest, ReconnectsAfterTheBrokerRestartsAndReportsAgain) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  // A persistent session, so the listener misses nothing sent at QoS 1 while it reconnects too.
  Listener after(broker->port(), "listener-persistent", /*clean_session=*/false);
  RunningSimulator sim(broker->port());
  ASSERT_TRUE(after.WaitFor(std::string(kTurbine1) + "/telemetry"));
  ASSERT_TRUE(after.WaitFor("doppel/kestrel-ridge/kr-wtg-03/properties"));
  const std::size_t before_restart = after.size();
  ASSERT_TRUE(broker->Restart().ok()) << broker->Log();
  // Telemetry flows again, and the properties are reported anew for subscribers that missed them.
  ASSERT_TRUE(after.WaitFor(std::string(kTurbine1) + "/telemetry", nullptr, before_restart));
  auto state = after.WaitFor("doppel/kestrel-ridge/kr-wtg-03/properties", nullptr, before_restart);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->body.at("state"), "curtailed");
  // Commands work on the new connection.
  after.Publish(std::string(kTurbine1) + "/commands/start", json::object{{"correlationId", "r-1"}});
  auto response = after.WaitFor(std::string(kTurbine1) + "/commands/start/response");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body.at("status"), 200);
  const LinkStats& stats = sim.Stop();
  EXPECT_EQ(stats.connects, 2u);
}

}  // namespace
}  // namespace doppel::devsim
