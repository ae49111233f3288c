// Issue #7's seed scenario end to end, against the real binary, a real Mosquitto and the real
// device simulator (`doppel devsim`) playing the wind-farm example:
//
//   kr-wtg-03's main bearing develops a fault → its vibration's anomaly score rises → the
//   example rule (examples/wind-farm/rules/bearing-wear.json) activates → it lowers the
//   turbine's rotorSpeedLimit, asking for 4 rpm, which the safety envelope
//   (examples/wind-farm/automation/envelope.json) clamps to its minimum, 6 rpm, reached in
//   ramp steps → the desired value reaches the simulated turbine over MQTT, which acknowledges
//   it and obeys (rotor speed ≤ 6 rpm) → the bearing, turning slower, runs cooler → meanwhile
//   a work order for the bearing (with the evidence) and an alert for the turbine are open.
//
// The simulator runs 3600× faster than real time (an hour of simulated time per second), so a
// fault that takes days to develop shows within a minute or two. Each step is printed with its
// wall time (since the fault was injected) and its simulated time.
//
// The fault is detectable when the rule's evidence first holds once the rule is in place: a
// reading of the bearing whose anomaly score is ≥ 0.9 and whose vibration is above what a
// healthy bearing shows even at full load (2.2 mm/s; the anomaly score alone also rises on a
// healthy turbine when the wind falls to levels the baseline has not seen; in a light wind the
// young fault stays below 2.2). Its wall time is derived from its simulated time.
//
// The simulator's fault is present from its start, so the detector would learn it as normal if
// the faulty turbine were all it ever saw: the suite first records a healthy run of the
// simulator and replays it as history ending just before the faulty run starts, and the
// detector warms up from that history (docs/analytics.md).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "base/clock.h"
#include "wind_farm_rig.h"
#include "server_process.h"
#include "support/mosquitto_broker.h"
#include "test_models.h"

namespace doppel::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kTurbine = "kr-wtg-03";
constexpr const char* kBearing = "kr-wtg-03-mainbearing";
constexpr const char* kRule = "bearing-wear";
constexpr int64_t kMinute = 60'000'000'000;
constexpr int64_t kHour = 60 * kMinute;

// Simulated seconds per real second, and ticks (readings per twin) per real second: a reading
// every 12 simulated minutes.
constexpr const char* kSpeed = "3600";
constexpr const char* kRate = "5";
// The healthy run recorded for the detector's baseline: 150 readings per bearing, 30 simulated
// hours (more than the detector's warm-up of 60 readings).
constexpr seconds kBaselineRun{30};
// How long the fault may take to become detectable. At 3600× the simulator's fault adds
// 0.6 mm/s of vibration at once and grows 0.45 mm/s per simulated day (24 s) on this turbine;
// above 2.2 mm/s as soon as the wind loads the turbine, in any wind after about 3 days; it
// trips the turbine at 7.1 mm/s after about 10 simulated days (~250 s).
constexpr seconds kDetectionTimeout{200};
// How long after the rule is put its evidence may take to hold: the young fault shows above
// 2.2 mm/s only in a strong wind, which the simulator's daily wind cycle brings at least once
// a simulated day (24 s).
constexpr seconds kActivationTimeout{90};
// THE BOUND: from the fault becoming detectable (see above) to the last step of the loop
// (setpoint acknowledged, the device obeying, its bearing cooler, work order and alert open).
// Besides what follows, it covers the rule's `for 10m` (a reading or two, < 1 s at 3600×).
// What it is made of: two ramp steps of the setpoint (10.5 → 7.17 → 6 rpm at the envelope's
// 20 rpm/min, one step per 10 s of wall time), a few MQTT round trips (milliseconds), three
// simulated hours for the bearing to settle and be measured (3 s at 3600×), and polling at
// 100 ms — about 15 s on a quiet machine; 60 s leaves room for a loaded 2-core one. It is a
// functional bound (a loop that stalls, waits for a timeout or forgets a step fails it), not
// a benchmark: the loop's latency is bench-loop's business.
constexpr seconds kChainBound{60};

constexpr int64_t kSpeedFactor = 3600;  // kSpeed as a number
// Simulated time of the faulty run before the rule is put (15 readings; 3 s of wall time).
constexpr int64_t kBeforeDerate = 3 * kHour;
constexpr double kHealthyCeiling = 2.2;  // mm/s, the rule's vibration level (bearing-wear.json)
constexpr double kEnvelopeMin = 6.0;    // examples/wind-farm/automation/envelope.json
constexpr double kInitialLimit = 10.5;  // kr-wtg-03's rotorSpeedLimit in the example twins

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::filesystem::path Example(const std::string& relative) {
  return std::filesystem::path(DOPPEL_SOURCE_DIR) / "examples" / "wind-farm" / relative;
}

// The detector the suite attaches to every main bearing: the median and robust spread of the
// last 2000 readings (a baseline that the fault does not drag along), scoring 0.9 at 2
// spreads. The demo's own detector (analytics/detectors/bearing-vibration.json, the ensemble)
// needs 300 readings of warm-up and is tuned for per-minute data; this one suits a simulator
// running 3600× (a reading every 12 simulated minutes, load swinging widely between them).
constexpr const char* kDetector = R"({
  "model": "dtmi:doppel:example:windfarm:MainBearing;1", "kind": "mad", "signals": ["vibrationRms"],
  "output": "vibrationAnomalyScore", "eventThreshold": 0.9, "window": 2000, "warmup": 60, "threshold": 2})";

// Points [time ns, value] of one series over [start, end).
std::vector<std::pair<int64_t, double>> History(client::HttpClient& http, const std::string& twin,
                                                const std::string& path, int64_t start, int64_t end) {
  json::object body{{"series", json::array{json::object{{"twin", twin}, {"path", path}}}},
                    {"start", start},
                    {"end", end},
                    {"timeFormat", "ns"}};
  auto r = http.Send("POST", "/timeseries/query", ToJson(body), {});
  std::vector<std::pair<int64_t, double>> points;
  if (!r.ok() || r->status != 200) return points;
  auto parsed = ParseJson(r->body);
  if (!parsed.ok()) return points;
  for (const json::value& series : Items(parsed->at("series"))) {
    for (const json::value& p : series.at("points").as_array()) {
      if (p.at(1).is_number()) points.emplace_back(p.at(0).to_number<int64_t>(), p.at(1).to_number<double>());
    }
  }
  return points;
}

double Mean(const std::vector<std::pair<int64_t, double>>& points) {
  double sum = 0;
  for (const auto& [t, v] : points) sum += v;
  return points.empty() ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(points.size());
}

// The value at `t` of a series sampled at the same instants (devsim stamps a tick's readings
// alike), NaN if none.
double At(const std::vector<std::pair<int64_t, double>>& points, int64_t t) {
  auto it = std::lower_bound(points.begin(), points.end(), std::make_pair(t, -std::numeric_limits<double>::infinity()));
  return it != points.end() && it->first == t ? it->second : std::numeric_limits<double>::quiet_NaN();
}

// The bearing's temperature over a range, raw and as the fault's share of it: its excess over
// what a healthy bearing would show — the shadow simulation's residual. docs/devsim.md gives the
// healthy physics: each tick (dt = 720 s here) the temperature relaxes toward
// ambient + 16 + 22·P/3600 °C (+ the fault's heat) with τ = 1200 s, so the heat behind reading k
// is (T_k − a·T_{k−1})/(1 − a) − (ambient_k + 16 + 22·P_k/3600), a = exp(−dt/τ): the lag
// undone, the wind's swings of load taken out. The fault's heat scales with the rotor speed.
// Only readings in a strong enough wind count (≥ 7.1 m/s, where the turbine would turn at
// ≥ 10 rpm without a derate): in a light wind the rotor turns slowly anyway.
struct Temperatures {
  double raw = std::numeric_limits<double>::quiet_NaN();
  double fault_heat = std::numeric_limits<double>::quiet_NaN();
  std::size_t readings = 0;
};
constexpr double kStrongWind = 7.1;  // m/s: 4 + 0.85·v ≥ 10 rpm
constexpr int64_t kTick = 720'000'000'000;  // simulated ns per reading at kSpeed and kRate

Temperatures BearingTemperatures(client::HttpClient& http, int64_t start, int64_t end) {
  const auto temperature = History(http, kBearing, "bearingTemperature", start - kTick, end);
  const auto power = History(http, kTurbine, "activePower", start, end);
  const auto ambient = History(http, kTurbine, "nacelle/ambientTemperature", start, end);
  const auto wind = History(http, kTurbine, "windSpeed", start, end);
  const double a = std::exp(-720.0 / 1200.0);
  std::vector<std::pair<int64_t, double>> raw, heat;
  for (std::size_t k = 1; k < temperature.size(); ++k) {
    const auto [t, v] = temperature[k];
    const auto [t_prev, v_prev] = temperature[k - 1];
    const double p = At(power, t), amb = At(ambient, t), w = At(wind, t);
    if (t < start || std::llabs(t - t_prev - kTick) > 1'000'000'000 || std::isnan(p) || std::isnan(amb) ||
        !(w >= kStrongWind)) {
      continue;
    }
    raw.emplace_back(t, v);
    heat.emplace_back(t, (v - a * v_prev) / (1 - a) - (amb + 16.0 + 22.0 * p / 3600.0));
  }
  return {.raw = Mean(raw), .fault_heat = Mean(heat), .readings = heat.size()};
}

// The healthy simulator's bearings, recorded once for the suite.
std::string& HealthyCapture() {
  static std::string capture;
  return capture;
}

class ClosedLoopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto broker = MosquittoBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    TempDir scratch;
    const std::string captured = scratch.Sub("healthy.txt");
    auto sub = ChildProcess::Spawn({"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string((*broker)->port()),
                                    "-t", "doppel/+/+/telemetry", "-v"},
                                   captured);
    ASSERT_NE(sub, nullptr);
    std::this_thread::sleep_for(milliseconds(300));  // subscribed before the first tick
    auto devsim = StartDevsim((*broker)->url(), "doppel-devsim-healthy", {"--speed", kSpeed, "--rate", kRate},
                              scratch.Sub("devsim-healthy.log"));
    ASSERT_NE(devsim, nullptr);
    std::this_thread::sleep_for(kBaselineRun);
    devsim->Stop();
    sub->Stop();
    HealthyCapture() = ReadText(captured);
  }

  void SetUp() override {
    ASSERT_FALSE(HealthyCapture().empty()) << "no healthy run was recorded";
    auto broker = MosquittoBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
    const std::string config = dir_.Sub("doppel.json");
    WriteFile(config, WindFarmConnectorConfig(broker_->url(), "doppel-closed-loop-it"));
    auto server = ServerProcess::Start(dir_.Sub("data"), {"--config", config});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    http_ = Connect(server_->url());
    const std::string loaded = LoadWindFarmTwins(server_->url(), dir_.path());
    ASSERT_EQ(loaded, "");
    ASSERT_TRUE(Eventually([&] { return Metric(*http_, "doppel_command_transport_subscribed") == 1; }, seconds(30)))
        << server_->Output();

    // The healthy history, ending a minute before now: the faulty run's first reading follows it.
    const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
    BearingHistory history = BearingHistoryFrom(HealthyCapture(), now_ns - kMinute);
    ASSERT_GE(history.readings, 4u * 100u) << "the healthy run gave too few bearing readings";
    std::string lines;
    for (const std::string& line : history.lines) lines += line + "\n";
    auto written = Send(*http_, "POST", "/write?precision=ns", lines);
    ASSERT_EQ(written.status, 204) << written.body;

    auto detector = Send(*http_, "PUT", "/analytics/detectors/bearing-vibration", kDetector);
    ASSERT_TRUE(detector.status == 200 || detector.status == 201) << detector.body;
    auto envelope = Send(*http_, "PUT", "/automation/envelope", ReadText(Example("automation/envelope.json")));
    ASSERT_TRUE(envelope.status == 200 || envelope.status == 204) << envelope.body;
  }

  // Starts the simulator with the bearing fault, then puts the example rule (in `mode`) once
  // the faulty run has kBeforeDerate of readings: the turbine's state before the derate is the
  // reference for the cooling the derate brings (the fault is detectable from the first
  // readings on, so a rule put earlier would act before there is anything to compare with).
  void StartFaultyRun(const std::string& mode) {
    origin_ = std::chrono::steady_clock::now();
    start_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
    timeline_ = std::make_unique<Timeline>(origin_);
    devsim_ = StartDevsim(broker_->url(), "doppel-devsim-faulty",
                          {"--speed", kSpeed, "--rate", kRate, "--fault", kTurbine}, dir_.Sub("devsim.log"));
    ASSERT_NE(devsim_, nullptr);
    timeline_->Mark("devsim started, kr-wtg-03's bearing faulty", 0);
    ASSERT_TRUE(Eventually([&] { return SimNow() >= start_ns_ + kBeforeDerate; }, seconds(30)))
        << "the simulator's readings do not arrive: " << devsim_->Log();
    json::value rule = Json(ReadText(Example("rules/bearing-wear.json")));
    rule.as_object()["mode"] = mode;
    auto put = Send(*http_, "PUT", std::string("/rules/") + kRule, ToJson(rule));
    ASSERT_TRUE(put.status == 200 || put.status == 201) << put.body;
    rule_put_sim_ = SimNow();
    timeline_->Mark(fmt::format("rule bearing-wear put (mode {})", mode), rule_put_sim_);
  }

  // The simulated time of the turbine's newest reading (0 before any).
  int64_t SimNow() {
    json::value live = GetJson(*http_, std::string("/digitaltwins/") + kTurbine + "/telemetry");
    if (!live.is_object() || !live.as_object().contains("telemetry")) return 0;
    const auto* rotor = live.at("telemetry").as_object().if_contains("rotorSpeed");
    return rotor == nullptr ? 0 : TimeNs(rotor->at("time"));
  }

  json::value FindItem(const std::string& target, const std::function<bool(const json::value&)>& match) {
    for (const json::value& item : Items(GetJson(*http_, target))) {
      if (match(item)) return item;
    }
    return nullptr;
  }

  // The wall time (since the faulty run started) of a simulated time of the faulty run.
  milliseconds WallOf(int64_t sim_ns) const { return milliseconds((sim_ns - start_ns_) / kSpeedFactor / 1'000'000); }

  // The anomaly event of the faulty bearing: its vibration's score rose to 0.9.
  json::value AwaitAnomaly() {
    json::value event;
    const bool detected = Eventually(
        [&] {
          json::array events = Items(GetJson(*http_, std::string("/analytics/anomalies?twin=") + kBearing));
          if (events.empty()) return false;
          event = events.back();  // newest first: the first event is the last
          return true;
        },
        kDetectionTimeout);
    EXPECT_TRUE(detected) << "no anomaly event for " << kBearing << "; live: "
                          << ToJson(GetJson(*http_, std::string("/digitaltwins/") + kBearing + "/telemetry"))
                          << "\ndevsim: " << devsim_->Log();
    if (!detected) return nullptr;
    EXPECT_GE(NumberAt(event, "score"), 0.9) << ToJson(event);
    timeline_->Mark("anomaly event: vibration score >= 0.9", TimeNs(event.at("time")),
                    fmt::format("score {:.3f}, vibration {} mm/s", NumberAt(event, "score"),
                                ToJson(event.at("evidence").at("value"))));
    return event;
  }

  // When the fault became detectable by the rule: the first reading, once the rule was put,
  // with the rule's evidence (score ≥ 0.9 and vibration above the healthy ceiling). The
  // evidence comes and goes with the wind before the fault is large. Recorded in the timeline.
  void RecordDetectable(int64_t until_ns) {
    const auto scores = History(*http_, kBearing, "vibrationAnomalyScore", rule_put_sim_, until_ns);
    const auto vibration = History(*http_, kBearing, "vibrationRms", rule_put_sim_, until_ns);
    for (const auto& [t, score] : scores) {
      const double v = At(vibration, t);
      if (score >= 0.9 && v > kHealthyCeiling) {
        detectable_wall_ = WallOf(t);
        timeline_->Record("fault detectable: score >= 0.9, vibration > 2.2 mm/s", detectable_wall_, t,
                          fmt::format("score {:.3f}, vibration {:.2f} mm/s (derived from simulated time)", score, v));
        return;
      }
    }
    ADD_FAILURE() << "no reading of " << kBearing << " between the rule's put and its activation shows its evidence";
  }

  // Step 2: the rule's instance for the turbine is active; answers the simulated time it activated.
  int64_t AwaitRuleActive() {
    json::value instance;
    const bool active = Eventually(
        [&] {
          instance = FindItem(std::string("/rules/") + kRule + "/instances", [](const json::value& i) {
            return i.at("twinId") == json::value(kTurbine) && i.at("active") == json::value(true);
          });
          return !instance.is_null();
        },
        kActivationTimeout);
    EXPECT_TRUE(active) << ToJson(GetJson(*http_, std::string("/rules/") + kRule + "/instances"));
    if (!active) return 0;
    const int64_t since = instance.as_object().contains("since") ? TimeNs(instance.at("since")) : 0;
    timeline_->Mark("rule bearing-wear active for kr-wtg-03", since);
    RecordDetectable(since + 1);
    return since;
  }

  // The work order for the bearing and the alert for the turbine, both from the rule.
  void ExpectWorkOrderAndAlert() {
    json::value order;
    EXPECT_TRUE(Eventually(
        [&] {
          order = FindItem(std::string("/workorders?twinId=") + kBearing,
                           [](const json::value& o) { return o.at("rule") == json::value(kRule); });
          return !order.is_null();
        },
        seconds(20)))
        << ToJson(GetJson(*http_, "/workorders"));
    if (!order.is_null()) {
      timeline_->Mark("work order open for kr-wtg-03-mainbearing", SimNow(), std::string(order.at("workOrderId").as_string()));
      EXPECT_EQ(order.at("status"), json::value("open")) << ToJson(order);
      EXPECT_EQ(order.at("priority"), json::value("high")) << ToJson(order);
      ASSERT_TRUE(order.at("evidence").is_object()) << ToJson(order);
      EXPECT_NE(ToJson(order.at("evidence")).find("vibrationAnomalyScore"), std::string::npos) << ToJson(order);
    }
    json::value alert;
    EXPECT_TRUE(Eventually(
        [&] {
          alert = FindItem(std::string("/alerts?twinId=") + kTurbine,
                           [](const json::value& a) { return a.at("rule") == json::value(kRule); });
          return !alert.is_null();
        },
        seconds(20)))
        << ToJson(GetJson(*http_, "/alerts"));
    if (!alert.is_null()) {
      timeline_->Mark("alert raised for kr-wtg-03", SimNow(), std::string(alert.at("severity").as_string()));
      EXPECT_EQ(alert.at("state"), json::value("raised")) << ToJson(alert);
      EXPECT_EQ(alert.at("title"), json::value("Main bearing wear on kr-wtg-03")) << ToJson(alert);
    }
  }

  // The turbine's desired rotorSpeedLimit acknowledged at `value`; answers the simulated time then.
  int64_t AwaitAcknowledged(double value) {
    json::value meta;
    const bool acked = Eventually(
        [&] {
          json::value twin = GetJson(*http_, std::string("/digitaltwins/") + kTurbine);
          if (!twin.is_object()) return false;
          meta = twin.at("$metadata").at("rotorSpeedLimit");
          return meta.at("ackCode") == json::value(200) && NumberAt(meta, "reportedValue") == value;
        },
        seconds(45));
    EXPECT_TRUE(acked) << ToJson(meta) << "\nactions: " << ToJson(GetJson(*http_, "/automation/actions"))
                       << "\ndevsim: " << devsim_->Log();
    if (!acked) return 0;
    EXPECT_EQ(NumberAt(meta, "desiredValue"), value) << ToJson(meta);
    const int64_t sim = SimNow();
    timeline_->Mark("rotorSpeedLimit 6 acknowledged by the device (ackCode 200)", sim,
                    "desiredVersion " + ToJson(meta.at("desiredVersion")));
    return sim;
  }

  // The device obeys from a tick after the acknowledgement, and its bearing cools.
  void ExpectObeyedAndCooler(int64_t derate_sim, int64_t ack_sim) {
    ASSERT_GT(derate_sim, 0);
    ASSERT_GT(ack_sim, 0);
    // Three simulated hours after the acknowledgement: 15 readings, the bearing's thermal time
    // constant (20 min) several times over.
    ASSERT_TRUE(Eventually([&] { return SimNow() >= ack_sim + 3 * kHour; }, seconds(30)));
    const auto rotor = History(*http_, kTurbine, "rotorSpeed", ack_sim + 15 * kMinute, ack_sim + 3 * kHour);
    ASSERT_GE(rotor.size(), 5u);
    double fastest = 0;
    for (const auto& [t, v] : rotor) fastest = std::max(fastest, v);
    EXPECT_LE(fastest, kEnvelopeMin + 1e-9) << "the turbine turned faster than its acknowledged limit";
    timeline_->Mark("device obeys: rotorSpeed <= 6 rpm", ack_sim + 3 * kHour,
                    fmt::format("fastest {:.2f} rpm over {} readings", fastest, rotor.size()));

    // Before: the faulty run up to the derate; after: from an hour after the acknowledgement
    // (three thermal time constants) on.
    const Temperatures before = BearingTemperatures(*http_, start_ns_, derate_sim);
    const Temperatures after = BearingTemperatures(*http_, ack_sim + kHour, ack_sim + 3 * kHour);
    ASSERT_GE(before.readings, 3u) << "too few readings in a strong wind before the derate";
    ASSERT_GE(after.readings, 3u) << "too few readings in a strong wind after the derate";
    // The fault's heat scales with the rotor speed: 10.5 → 6 rpm takes 43 % of it, ~3 °C here
    // (it also grows by ~0.4 °C a simulated day at 6 rpm, and "before" is up to a day earlier).
    EXPECT_LT(after.fault_heat, before.fault_heat - 1.5)
        << "the fault's heat before " << before.fault_heat << " °C, after " << after.fault_heat << " °C";
    timeline_->Mark("bearing cooler after the derate", ack_sim + 3 * kHour,
                    fmt::format("fault's heat {:.1f} -> {:.1f} C, temperature {:.1f} -> {:.1f} C ({} / {} readings)",
                                before.fault_heat, after.fault_heat, before.raw, after.raw, before.readings,
                                after.readings));
  }

  // Every setpoint automation wrote stayed within the envelope (and at least one was written).
  void ExpectWithinEnvelope() {
    int written = 0;
    for (const json::value& action : Items(GetJson(*http_, std::string("/automation/actions?rule=") + kRule))) {
      if (action.at("type") != json::value("setProperty")) continue;
      const json::value* applied = action.as_object().if_contains("applied");
      if (applied == nullptr || !applied->is_object()) continue;
      ++written;
      // {"value": the step written, "target"?: where a ramp is heading}
      EXPECT_GE(NumberAt(*applied, "value"), kEnvelopeMin) << ToJson(action);
      if (applied->as_object().contains("target")) {
        EXPECT_GE(NumberAt(*applied, "target"), kEnvelopeMin) << ToJson(action);
      }
    }
    EXPECT_GT(written, 0) << ToJson(GetJson(*http_, "/automation/actions"));
  }

  void TearDown() override {
    if (timeline_) timeline_->Print(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  TempDir dir_;
  std::unique_ptr<MosquittoBroker> broker_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<client::HttpClient> http_;
  std::unique_ptr<ChildProcess> devsim_;
  std::chrono::steady_clock::time_point origin_;
  std::unique_ptr<Timeline> timeline_;
  int64_t start_ns_ = 0;  // the faulty run's start (its simulated clock starts there)
  int64_t rule_put_sim_ = 0;  // the simulated time when the rule was put
  milliseconds detectable_wall_{0};
};

TEST_F(ClosedLoopTest, AWearingBearingDeratesItsTurbineWithinTheEnvelopeAndOpensAWorkOrderAndAnAlert) {
  StartFaultyRun("auto");
  ASSERT_FALSE(AwaitAnomaly().is_null());
  const int64_t derate_sim = AwaitRuleActive();

  // The setpoint: asked for 4 rpm, clamped to the envelope's 6.
  json::value clamped;
  EXPECT_TRUE(Eventually(
      [&] {
        clamped = FindItem(std::string("/automation/actions?rule=") + kRule, [](const json::value& a) {
          return a.at("type") == json::value("setProperty") && a.at("outcome") == json::value("clamped") &&
                 a.at("twinId") == json::value(kTurbine);
        });
        return !clamped.is_null();
      },
      seconds(20)))
      << ToJson(GetJson(*http_, "/automation/actions"));
  if (!clamped.is_null()) {
    timeline_->Mark("setpoint 4 rpm clamped to the envelope's 6", SimNow(), std::string(clamped.at("mode").as_string()));
  }
  ExpectWorkOrderAndAlert();
  const int64_t ack_sim = AwaitAcknowledged(kEnvelopeMin);
  ExpectObeyedAndCooler(derate_sim, ack_sim);
  ExpectWithinEnvelope();

  const milliseconds last = timeline_->Mark("loop closed", SimNow());
  EXPECT_LE(last - detectable_wall_, kChainBound) << "the loop took longer than its bound after the fault became detectable";
  // The other turbines' bearings are healthy: nothing asked them to slow down.
  for (const char* healthy : {"kr-wtg-01", "kr-wtg-02"}) {
    json::value twin = GetJson(*http_, std::string("/digitaltwins/") + healthy);
    EXPECT_FALSE(twin.at("$metadata").at("rotorSpeedLimit").as_object().contains("desiredValue")) << ToJson(twin);
  }
}

TEST_F(ClosedLoopTest, InRecommendModeNothingReachesTheDeviceUntilAnOperatorApproves) {
  StartFaultyRun("recommend");
  ASSERT_FALSE(AwaitAnomaly().is_null());
  AwaitRuleActive();

  json::value recommendation;
  ASSERT_TRUE(Eventually(
      [&] {
        recommendation = FindItem("/recommendations", [](const json::value& r) {
          return r.at("rule") == json::value(kRule) && r.at("twinId") == json::value(kTurbine);
        });
        return !recommendation.is_null();
      },
      seconds(20)))
      << ToJson(GetJson(*http_, "/recommendations"));
  EXPECT_EQ(recommendation.at("status"), json::value("pending")) << ToJson(recommendation);
  timeline_->Mark("recommendation pending", SimNow(), std::string(recommendation.at("recommendationId").as_string()));
  // The rule's other actions are not device actions: they ran.
  ExpectWorkOrderAndAlert();

  // Nothing is sent while it waits: no desired value, the device keeps its limit (checked over
  // 3 s of wall time, 3 simulated hours).
  const auto nothing_sent = [&] {
    json::value twin = GetJson(*http_, std::string("/digitaltwins/") + kTurbine);
    EXPECT_FALSE(twin.at("$metadata").at("rotorSpeedLimit").as_object().contains("desiredValue")) << ToJson(twin);
    EXPECT_EQ(NumberAt(twin, "rotorSpeedLimit"), kInitialLimit) << ToJson(twin);
  };
  nothing_sent();
  std::this_thread::sleep_for(seconds(3));
  nothing_sent();
  EXPECT_TRUE(Items(GetJson(*http_, std::string("/digitaltwins/") + kTurbine + "/commands")).empty());
  timeline_->Mark("nothing sent to the device while pending", SimNow());

  const std::string id(recommendation.at("recommendationId").as_string());
  auto approved = Send(*http_, "POST", "/recommendations/" + id + "/approve",
                       R"({"comment": "derate approved by the closed-loop integration test"})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(Json(approved.body).at("status"), json::value("executed")) << approved.body;
  timeline_->Mark("recommendation approved and executed", SimNow());

  AwaitAcknowledged(kEnvelopeMin);
  ExpectWithinEnvelope();
  json::value approved_action = FindItem(std::string("/automation/actions?rule=") + kRule, [](const json::value& a) {
    return a.at("type") == json::value("setProperty") && a.at("mode") == json::value("approved");
  });
  EXPECT_FALSE(approved_action.is_null()) << ToJson(GetJson(*http_, "/automation/actions"));
  timeline_->Mark("loop closed", SimNow());
}

}  // namespace
}  // namespace doppel::testing
