// KpiEngine end to end in process: definitions checked against DTDL models, KPIs computed from
// history written through the real Ingestor, rolled up the twin graph, and Tick writing them
// back as telemetry. Expected values are worked out by hand in the comments.
#include "analytics/kpi/kpi_engine.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ingest/ingestor.h"
#include "tsdb/query.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"

namespace doppel::analytics {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kH = 3600 * kS;
// 2023-11-14T00:00:00Z: a midnight, so shifts "06:00" start at kDay + 6 h.
constexpr int64_t kDay = 1'699'920'000 * kS;
constexpr int64_t kShift = kDay + 6 * kH;

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kMachine = R"({
  "@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"], "@id": "dtmi:test:Machine;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "state", "schema": "string"},
    {"@type": "Property", "name": "goodCount", "schema": "long"},
    {"@type": "Property", "name": "scrapCount", "schema": "long"},
    {"@type": ["Property", "TimeSpan"], "name": "idealCycleTime", "schema": "double", "unit": "second"},
    {"@type": ["Telemetry", "Power"], "name": "powerDraw", "schema": "double", "unit": "watt"},
    {"@type": "Telemetry", "name": "oee", "schema": "double"},
    {"@type": "Telemetry", "name": "availability", "schema": "double"},
    {"@type": "Telemetry", "name": "mttrHours", "schema": "double"},
    {"@type": "Telemetry", "name": "energyPerGoodUnit", "schema": "double"}
  ]})";
// Extends Machine: covered by the Machine definition.
constexpr std::string_view kPress = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Press;1", "@type": "Interface",
  "extends": "dtmi:test:Machine;1", "contents": []})";
// "includes" has no target, so lines may include lines (and make a cycle).
constexpr std::string_view kLine = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Line;1", "@type": "Interface",
  "contents": [
    {"@type": "Relationship", "name": "includes"},
    {"@type": "Telemetry", "name": "oee", "schema": "double"},
    {"@type": "Telemetry", "name": "utilisation", "schema": "double"}
  ]})";
constexpr std::string_view kTurbine = R"({
  "@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"], "@id": "dtmi:test:Turbine;1", "@type": "Interface",
  "contents": [
    {"@type": ["Property", "Power"], "name": "ratedPower", "schema": "double", "unit": "kilowatt"},
    {"@type": "Telemetry", "name": "windSpeed", "schema": "double"},
    {"@type": ["Telemetry", "Power"], "name": "activePower", "schema": "double", "unit": "kilowatt"},
    {"@type": "Telemetry", "name": "capacityFactor", "schema": "double"},
    {"@type": "Telemetry", "name": "timeAvailability", "schema": "double"}
  ]})";
constexpr std::string_view kFarm = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Farm;1", "@type": "Interface",
  "contents": [
    {"@type": "Relationship", "name": "hasTurbine", "target": "dtmi:test:Turbine;1"},
    {"@type": "Telemetry", "name": "capacityFactor", "schema": "double"}
  ]})";

constexpr std::string_view kMachineKpis = R"({
  "model": "dtmi:test:Machine;1",
  "state": {"path": "state", "map": {"lunch": "plannedStop"}},
  "good": "goodCount", "scrap": "scrapCount", "idealCycleTime": "idealCycleTime",
  "power": "powerDraw", "shift": {"length": "8h", "start": "06:00"}})";
constexpr std::string_view kTurbineKpis = R"({
  "model": "dtmi:test:Turbine;1",
  "classify": {"rules": [
      {"state": "running", "when": [{"signal": "activePower", "above": 50}]},
      {"state": "idle", "when": [{"signal": "windSpeed", "below": 3.5}]},
      {"state": "faulted"}]},
  "power": "activePower", "ratedPower": "ratedPower", "maxGap": "10m"})";

class KpiEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto added = graph_.AddModels({J(kMachine), J(kPress), J(kLine), J(kTurbine), J(kFarm)});
    ASSERT_TRUE(added.ok()) << added.status().message();
    store_ = tsdb::SeriesStore::Open(store_dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    engine_ = std::make_unique<KpiEngine>(graph_, *store_, *ingestor_, clock_);
  }

  void Twin(std::string_view id, std::string_view model, std::string_view props = "") {
    const std::string body = fmt::format(R"({{"$metadata": {{"$model": "{}"}}{}{}}})", model, props.empty() ? "" : ", ", props);
    auto put = graph_.PutTwin(id, J(body), {});
    ASSERT_TRUE(put.ok()) << put.status().message();
  }
  void Relate(std::string_view source, std::string_view name, std::string_view target) {
    const std::string rel_id = fmt::format("{}-{}", source, target);
    auto put = graph_.PutRelationship(
        source, rel_id, J(fmt::format(R"({{"$relationshipName": "{}", "$targetId": "{}"}})", name, target)), {});
    ASSERT_TRUE(put.ok()) << put.status().message();
  }
  void Write(std::vector<ingest::Reading> readings) {
    Status s = ingestor_->Write(readings);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  void Define(std::string_view name, std::string_view body) {
    auto put = engine_->Put(name, J(body));
    ASSERT_TRUE(put.ok()) << put.status().message();
  }
  json::object Compute(std::string_view twin, int64_t from, int64_t to) {
    auto result = engine_->Compute(twin, from, to);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? *result : json::object();
  }
  static double Kpi(const json::object& r, std::string_view name) { return r.at("kpis").at(name).to_number<double>(); }
  static double Total(const json::object& r, std::string_view name) {
    return r.at("totals").at(name).to_number<double>();
  }

  // The machine day of kpi_test's MachineShiftByHand, in the shift starting at kShift:
  // running 23 400 s, down 1 800 s (1 failure), lunch 1 800 s, starved 1 800 s; 600 good and
  // 20 scrap at 30 s ideal; 1 500 W drawn all shift (12 kWh).
  void WriteMachineShift(std::string_view id) {
    const std::string m(id);
    Write({{m, "state", kShift - 2 * kH, std::string("idle")},  // before the shift
           {m, "goodCount", kShift - kH, int64_t{9000}},         // last shift's count
           {m, "scrapCount", kShift - kH, int64_t{40}},
           {m, "powerDraw", kShift - 60 * kS, 1500.0},
           {m, "state", kShift, std::string("running")},
           {m, "goodCount", kShift + 60 * kS, int64_t{0}},  // reset at shift change
           {m, "scrapCount", kShift + 60 * kS, int64_t{0}},
           {m, "state", kShift + 3 * kH, std::string("down")},
           {m, "goodCount", kShift + 3 * kH, int64_t{250}},
           {m, "state", kShift + 7 * kH / 2, std::string("running")},
           {m, "state", kShift + 4 * kH, std::string("lunch")},
           {m, "state", kShift + 9 * kH / 2, std::string("running")},
           {m, "state", kShift + 15 * kH / 2, std::string("starved")},
           {m, "goodCount", kShift + 15 * kH / 2, int64_t{600}},
           {m, "scrapCount", kShift + 15 * kH / 2, int64_t{20}}});
  }

  tsdb::testing::TempDir store_dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_{TimePoint(std::chrono::nanoseconds(kShift + 8 * kH - kS))};
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<KpiEngine> engine_;
};

TEST_F(KpiEngineTest, MachineOeeFromHistory) {
  Twin("m1", "dtmi:test:Machine;1", R"("idealCycleTime": 30)");
  WriteMachineShift("m1");
  Define("machines", kMachineKpis);
  const json::object r = Compute("m1", kShift, kShift + 8 * kH);
  EXPECT_EQ(r.at("definition").as_string(), "machines");
  EXPECT_DOUBLE_EQ(Total(r, "runningSeconds"), 23'400);
  EXPECT_DOUBLE_EQ(Total(r, "unplannedStopSeconds"), 1'800);
  EXPECT_DOUBLE_EQ(Total(r, "plannedStopSeconds"), 1'800);  // "lunch", mapped by the definition
  EXPECT_DOUBLE_EQ(Total(r, "idleSeconds"), 1'800);         // "starved", the default mapping
  // goodCount 9 000 (before) → 0 (reset: +0) → 250 → 600: 600; scrap 40 → 0 → 20: 20.
  EXPECT_DOUBLE_EQ(Total(r, "goodCount"), 600);
  EXPECT_DOUBLE_EQ(Total(r, "scrapCount"), 20);
  // OEE = 18 600 / 27 000 × 600 / 620 = 2/3 (kpi_test MachineShiftByHand).
  EXPECT_NEAR(Kpi(r, "oee"), 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(Kpi(r, "availability"), 23'400.0 / 27'000);
  EXPECT_DOUBLE_EQ(Kpi(r, "mtbfHours"), 6.5);
  EXPECT_DOUBLE_EQ(Kpi(r, "mttrHours"), 0.5);
  // 1 500 W held from before the shift for all 8 h = 12 kWh; / 600 good = 0.02 kWh.
  EXPECT_DOUBLE_EQ(Total(r, "energyKwh"), 12);
  EXPECT_DOUBLE_EQ(Kpi(r, "energyPerGoodUnit"), 0.02);
  EXPECT_EQ(r.at("assets").to_number<double>(), 1);
  EXPECT_EQ(r.at("from").as_string(), "2023-11-14T06:00:00.0000000Z");
  EXPECT_EQ(r.at("state").as_string(), "idle");  // starved at the end of the shift
  // The current shift (the clock is at its last second) is the same window, one second short.
  auto current = engine_->ComputeCurrentShift("m1");
  ASSERT_TRUE(current.ok()) << current.status().message();
  EXPECT_EQ(current->at("from").as_string(), "2023-11-14T06:00:00.0000000Z");
  EXPECT_EQ(current->at("to").as_string(), "2023-11-14T13:59:59.0000000Z");
  EXPECT_NEAR(Kpi(*current, "oee"), 18'600.0 / 26'999 * 600 / 620, 1e-12);
}

TEST_F(KpiEngineTest, WindowStartingMidStateAndNoPlannedProduction) {
  Twin("m1", "dtmi:test:Machine;1", R"("idealCycleTime": 30)");
  WriteMachineShift("m1");
  Define("machines", kMachineKpis);
  // [3 h 15 min, 3 h 45 min): down (carried in, not a new failure) 15 min, running 15 min.
  const json::object r = Compute("m1", kShift + 13 * kH / 4, kShift + 15 * kH / 4);
  EXPECT_DOUBLE_EQ(Total(r, "unplannedStopSeconds"), 900);
  EXPECT_DOUBLE_EQ(Total(r, "runningSeconds"), 900);
  EXPECT_DOUBLE_EQ(Total(r, "failures"), 0);
  EXPECT_DOUBLE_EQ(Kpi(r, "availability"), 0.5);
  EXPECT_FALSE(r.at("kpis").as_object().contains("mttrHours"));
  // Lunch only [4 h, 4 h 30 min): nothing planned, so availability and OEE are absent.
  const json::object lunch = Compute("m1", kShift + 4 * kH, kShift + 9 * kH / 2);
  EXPECT_FALSE(lunch.at("kpis").as_object().contains("availability"));
  EXPECT_FALSE(lunch.at("kpis").as_object().contains("oee"));
  EXPECT_DOUBLE_EQ(Kpi(lunch, "timeAvailability"), 0);
}

TEST_F(KpiEngineTest, CounterResetInsideTheWindow) {
  Twin("m1", "dtmi:test:Machine;1", R"("idealCycleTime": 10)");
  Define("machines", kMachineKpis);
  // 100 (before the window) → 200 (+100) → 5 (power cycle: +5) → 55 (+50) = 155 good.
  Write({{"m1", "state", kShift - kH, std::string("running")},
         {"m1", "goodCount", kShift - 10 * kS, int64_t{100}},
         {"m1", "goodCount", kShift + 1000 * kS, int64_t{200}},
         {"m1", "goodCount", kShift + 1500 * kS, int64_t{5}},
         {"m1", "goodCount", kShift + 3000 * kS, int64_t{55}}});
  const json::object r = Compute("m1", kShift, kShift + kH);
  EXPECT_DOUBLE_EQ(Total(r, "goodCount"), 155);
  // Ideal 10 s × 155 = 1 550 s over 3 600 s running.
  EXPECT_DOUBLE_EQ(Kpi(r, "performance"), 1'550.0 / 3'600);
  EXPECT_DOUBLE_EQ(Kpi(r, "quality"), 1.0);  // no scrap counted
}

TEST_F(KpiEngineTest, LineRollsUpTwoMachinesBySummingTotals) {
  Twin("m1", "dtmi:test:Machine;1", R"("idealCycleTime": 10)");
  Twin("m2", "dtmi:test:Press;1", R"("idealCycleTime": 30)");  // a Machine by extension
  Twin("line", "dtmi:test:Line;1");
  Twin("plant", "dtmi:test:Line;1");
  Relate("line", "includes", "m1");
  Relate("line", "includes", "m2");
  Relate("plant", "includes", "line");
  Relate("plant", "includes", "m2");  // m2 reachable twice: counted once
  Relate("line", "includes", "plant");  // a cycle
  Define("machines", kMachineKpis);
  Define("lines", R"({"model": "dtmi:test:Line;1", "rollUp": ["includes"], "shift": {"length": "8h", "start": "06:00"}})");
  // kpi_test RollUpSumsTotalsNotPercentages: M1 runs 27 000 s then is down 1 800 s, 2 700
  // good at 10 s; M2 is planned off 25 200 s, runs 1 800 s, down 1 800 s, 15 good + 15 scrap
  // at 30 s.
  Write({{"m1", "state", kShift, std::string("running")},
         {"m1", "goodCount", kShift, int64_t{0}},
         {"m1", "state", kShift + 27'000 * kS, std::string("down")},
         {"m1", "goodCount", kShift + 27'000 * kS, int64_t{2700}},
         {"m2", "state", kShift, std::string("lunch")},
         {"m2", "goodCount", kShift, int64_t{0}},
         {"m2", "scrapCount", kShift, int64_t{0}},
         {"m2", "state", kShift + 25'200 * kS, std::string("running")},
         {"m2", "state", kShift + 27'000 * kS, std::string("down")},
         {"m2", "goodCount", kShift + 27'000 * kS, int64_t{15}},
         {"m2", "scrapCount", kShift + 27'000 * kS, int64_t{15}}});
  const int64_t to = kShift + 8 * kH;
  EXPECT_DOUBLE_EQ(Kpi(Compute("m1", kShift, to), "oee"), 0.9375);
  EXPECT_DOUBLE_EQ(Kpi(Compute("m2", kShift, to), "oee"), 0.125);
  for (std::string_view root : {"line", "plant"}) {
    SCOPED_TRACE(root);
    const json::object r = Compute(root, kShift, to);
    EXPECT_EQ(r.at("assets").to_number<double>(), 2);
    EXPECT_DOUBLE_EQ(Total(r, "runningSeconds"), 28'800);
    EXPECT_DOUBLE_EQ(Total(r, "goodCount"), 2'715);
    // 27 900 / 32 400 × 2 715 / 2 730 = 0.85638, not the average 0.53125.
    EXPECT_NEAR(Kpi(r, "oee"), 27'900.0 / 32'400 * 2'715 / 2'730, 1e-12);
    EXPECT_DOUBLE_EQ(Kpi(r, "utilisation"), 0.5);
  }
}

TEST_F(KpiEngineTest, TurbineStateIsClassifiedFromSignals) {
  Twin("t1", "dtmi:test:Turbine;1", R"("ratedPower": 2000)");
  Twin("t2", "dtmi:test:Turbine;1", R"("ratedPower": 2000)");
  Twin("farm", "dtmi:test:Farm;1");
  Relate("farm", "hasTurbine", "t1");
  Relate("farm", "hasTurbine", "t2");
  Define("turbines", kTurbineKpis);
  Define("farms", R"({"model": "dtmi:test:Farm;1", "rollUp": ["hasTurbine"]})");
  // t1, readings every 5 min over [0, 1 h):
  //   [0, 30 min)    1 200 kW, wind 9 m/s   → running, 600 kWh
  //   [30, 45 min)   0 kW, wind 2 m/s        → idle (low wind), 0 kWh
  //   [45, 50 min)   0 kW, wind 12 m/s       → faulted (the default), 0 kWh
  //   [50, 60 min)   silent: 10 min max gap from the 45-min reading → faulted to 55, then unknown
  const int64_t t0 = kShift;
  std::vector<ingest::Reading> readings;
  for (int minute = 0; minute <= 45; minute += 5) {
    const int64_t t = t0 + minute * 60 * kS;
    const double power = minute < 30 ? 1200 : 0;
    const double wind = minute < 30 ? 9 : (minute < 45 ? 2 : 12);
    readings.push_back({"t1", "activePower", t, power});
    readings.push_back({"t1", "windSpeed", t, wind});
  }
  // t2 runs the whole hour at 400 kW (a reading every 5 min keeps it known).
  for (int minute = 0; minute < 60; minute += 5) {
    readings.push_back({"t2", "activePower", t0 + minute * 60 * kS, 400.0});
  }
  Write(readings);
  const json::object r1 = Compute("t1", t0, t0 + kH);
  EXPECT_DOUBLE_EQ(Total(r1, "runningSeconds"), 1'800);
  EXPECT_DOUBLE_EQ(Total(r1, "idleSeconds"), 900);
  EXPECT_DOUBLE_EQ(Total(r1, "unplannedStopSeconds"), 600);  // 45 → 55 min
  EXPECT_DOUBLE_EQ(Total(r1, "unknownSeconds"), 300);        // 55 → 60 min
  EXPECT_DOUBLE_EQ(Total(r1, "failures"), 1);
  // Energy: 1 200 kW × 0.5 h = 600 kWh (power 0 afterwards, and nothing after 55 min).
  EXPECT_DOUBLE_EQ(Total(r1, "energyKwh"), 600);
  // Rated energy over the known 55 min: 2 000 kW × 55/60 h = 1 833.33 kWh.
  EXPECT_NEAR(Kpi(r1, "capacityFactor"), 600 / (2000 * 55.0 / 60), 1e-12);
  // Time availability = (30 + 15 min) / 55 min.
  EXPECT_NEAR(Kpi(r1, "timeAvailability"), 45.0 / 55, 1e-12);
  // Farm: energy 600 + 400 = 1 000 kWh; rated 1 833.33 + 2 000 = 3 833.33 kWh.
  const json::object farm = Compute("farm", t0, t0 + kH);
  EXPECT_EQ(farm.at("assets").to_number<double>(), 2);
  EXPECT_NEAR(Kpi(farm, "capacityFactor"), 1000 / (2000 * 55.0 / 60 + 2000), 1e-12);
  // Available (45 + 60 min) / known (55 + 60 min).
  EXPECT_NEAR(Kpi(farm, "timeAvailability"), 105.0 / 115, 1e-12);
  // Live: the turbines' shift is the UTC day (the default); ticking twice (the second from
  // what the first kept) writes what Compute says for the day so far.
  const int64_t now = clock_.Now().time_since_epoch().count();
  ASSERT_TRUE(engine_->Tick().ok());
  clock_.Advance(std::chrono::seconds(60));
  ASSERT_TRUE(engine_->Tick().ok());
  const json::object day = Compute("farm", kDay, now + 60 * kS);
  auto id = store_->Find("farm", "capacityFactor").value();
  auto points = tsdb::QueryRaw(*store_, id, 0, INT64_MAX).value();
  ASSERT_EQ(points.size(), 2u);
  EXPECT_NEAR(std::get<double>(points[1].value), Kpi(day, "capacityFactor"), 1e-12);
  // Over the day t2 runs on for the 10 min max gap after its last reading at 55 min: energy
  // 600 + 400 × 65/60 kWh; rated 2 000 × 55/60 + 2 000 × 65/60 kWh (the rest of the day is
  // unknown and excluded) → 1 033.3 / 4 000 = 0.2583.
  EXPECT_NEAR(Kpi(day, "capacityFactor"), (600 + 400 * 65.0 / 60) / (2000 * 55.0 / 60 + 2000 * 65.0 / 60), 1e-12);
}

TEST_F(KpiEngineTest, TickWritesLiveKpisAsTelemetry) {
  Twin("m1", "dtmi:test:Machine;1", R"("idealCycleTime": 30)");
  Twin("line", "dtmi:test:Line;1");
  Relate("line", "includes", "m1");
  WriteMachineShift("m1");
  Define("machines", kMachineKpis);
  Define("lines", R"({"model": "dtmi:test:Line;1", "rollUp": ["includes"], "shift": {"length": "8h", "start": "06:00"}})");
  clock_.Set(TimePoint(std::chrono::nanoseconds(kShift + 8 * kH - kS)));  // the shift's last second
  ASSERT_TRUE(engine_->Tick().ok());
  EXPECT_GE(engine_->last_tick_seconds(), 0);
  const int64_t now = kShift + 8 * kH - kS;
  const auto point = [&](std::string_view twin, std::string_view path) -> std::optional<double> {
    auto id = store_->Find(twin, path);
    if (!id.ok()) return std::nullopt;
    auto points = tsdb::QueryRaw(*store_, *id, now, now + 1).value();
    if (points.size() != 1) return std::nullopt;
    return std::get<double>(points[0].value);
  };
  const json::object expected = Compute("m1", kShift, now);
  // The shift so far is one second short of the whole: starved 1 799 s instead of 1 800.
  EXPECT_NEAR(*point("m1", "oee"), Kpi(expected, "oee"), 1e-12);
  EXPECT_NEAR(*point("m1", "oee"), 18'600.0 / 26'999 * 600 / 620, 1e-12);
  EXPECT_NEAR(*point("m1", "availability"), 23'400.0 / 26'999, 1e-12);
  EXPECT_NEAR(*point("m1", "mttrHours"), 0.5, 1e-12);
  EXPECT_TRUE(point("m1", "energyPerGoodUnit"));
  EXPECT_FALSE(point("m1", "performance"));  // the model has no such telemetry
  EXPECT_NEAR(*point("line", "oee"), Kpi(expected, "oee"), 1e-12);
  EXPECT_NEAR(*point("line", "utilisation"), 23'400.0 / (8 * 3600 - 1), 1e-12);
  // The next shift has just begun: nothing to report yet at its first instant.
  clock_.Set(TimePoint(std::chrono::nanoseconds(kShift + 8 * kH)));
  ASSERT_TRUE(engine_->Tick().ok());
  auto oee = store_->Find("m1", "oee").value();
  EXPECT_EQ(tsdb::QueryRaw(*store_, oee, 0, INT64_MAX).value().size(), 1u);
}

TEST_F(KpiEngineTest, SuccessiveTicksMatchAFreshComputation) {
  // Tick keeps what it read and reads only new points: after more readings arrive, the next
  // tick must agree with Compute reading the whole shift afresh.
  Twin("m1", "dtmi:test:Machine;1", R"("idealCycleTime": 30)");
  Define("machines", kMachineKpis);
  const auto oee_at = [&](int64_t t) {
    auto id = store_->Find("m1", "oee").value();
    auto points = tsdb::QueryRaw(*store_, id, t, t + 1).value();
    return points.size() == 1 ? std::get<double>(points[0].value) : -1.0;
  };
  Write({{"m1", "state", kShift, std::string("running")}, {"m1", "goodCount", kShift, int64_t{0}},
         {"m1", "goodCount", kShift + kH, int64_t{100}}});
  const int64_t t1 = kShift + kH + kS;
  clock_.Set(TimePoint(std::chrono::nanoseconds(t1)));
  ASSERT_TRUE(engine_->Tick().ok());
  // 1 h 1 s running, 100 parts × 30 s = 3 000 s ideal → OEE 3 000 / 3 601.
  EXPECT_NEAR(oee_at(t1), 3'000.0 / 3'601, 1e-12);
  Write({{"m1", "state", kShift + 2 * kH, std::string("down")}, {"m1", "goodCount", kShift + 2 * kH, int64_t{220}},
         {"m1", "state", kShift + 5 * kH / 2, std::string("running")}});
  const int64_t t2 = kShift + 3 * kH;
  clock_.Set(TimePoint(std::chrono::nanoseconds(t2)));
  ASSERT_TRUE(engine_->Tick().ok());
  // Running 2 h + 0.5 h of 3 h planned; 220 parts × 30 s = 6 600 s ideal → OEE 6 600 / 10 800.
  EXPECT_NEAR(oee_at(t2), 6'600.0 / 10'800, 1e-12);
  EXPECT_NEAR(oee_at(t2), Kpi(Compute("m1", kShift, t2), "oee"), 1e-12);
}

TEST_F(KpiEngineTest, DefinitionsAreCheckedAndPersisted) {
  auto created = engine_->Put("machines", J(kMachineKpis));
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->first);
  EXPECT_EQ(created->second.at("name").as_string(), "machines");
  EXPECT_FALSE(engine_->Put("machines", J(kMachineKpis))->first);  // replaced
  const auto error = [&](std::string_view body) {
    auto put = engine_->Put("bad", J(body));
    return put.ok() ? std::string("ok") : put.status().message();
  };
  EXPECT_EQ(engine_->Put("bad", J(R"({"model": "dtmi:test:Nope;1", "rollUp": ["x"]})")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(error(R"({"model": "dtmi:test:Machine;1", "good": "goodCnt"})"),
            "'good': model 'dtmi:test:Machine;1' has no property or telemetry 'goodCnt'");
  EXPECT_EQ(error(R"({"model": "dtmi:test:Machine;1", "state": {"path": "state", "map": {"x": "broken"}}})"),
            "'state.map.x': 'broken' is not a state class (running, idle, unplannedStop, plannedStop, unknown)");
  EXPECT_EQ(error(R"({"model": "dtmi:test:Machine;1", "rollUp": ["a"], "shift": {"start": "6am"}})"),
            "'shift.start' must be a UTC time of day \"HH:MM\", got \"6am\"");
  EXPECT_EQ(error(R"({"model": "dtmi:test:Machine;1"})"),
            "a KPI definition needs data ('state', 'classify', 'good', 'scrap' or 'power') or 'rollUp'");
  EXPECT_EQ(error(R"({"model": "dtmi:test:Turbine;1", "classify": {"rules": [{"state": "spinning"}]}})"),
            "'classify': rules[0]: state 'spinning' has no KPI meaning (running, idle, stopped, faulted, or a state "
            "class)");
  EXPECT_EQ(error(R"({"model": "dtmi:test:Turbine;1", "classify": {"rules": [{"state": "running", "when": [{"signal": "rpm", "above": 1}]}]}})"),
            "'classify.rules[0].when[0].signal': model 'dtmi:test:Turbine;1' has no property or telemetry 'rpm'");
  EXPECT_EQ(error(R"({"model": "dtmi:test:Machine;1", "good": "goodCount", "maxGap": "often"})"),
            "'maxGap' must be a positive duration such as \"30s\", \"10m\" or \"1h\", got \"often\"");
  EXPECT_EQ(engine_->List().size(), 1u);
  EXPECT_EQ(engine_->Find("machines")->at("model").as_string(), "dtmi:test:Machine;1");
  EXPECT_EQ(engine_->Find("bad").status().code(), StatusCode::kNotFound);
  const json::object saved = engine_->SaveDefinitions();
  EXPECT_TRUE(engine_->Delete("machines").ok());
  EXPECT_EQ(engine_->Delete("machines").code(), StatusCode::kNotFound);
  EXPECT_TRUE(engine_->List().empty());
  ASSERT_TRUE(engine_->LoadDefinitions(saved).ok());
  EXPECT_EQ(ToJson(engine_->SaveDefinitions()), ToJson(saved));
  // Unknown twin, empty window.
  EXPECT_EQ(engine_->Compute("nobody", 0, 1).status().code(), StatusCode::kNotFound);
  Twin("m1", "dtmi:test:Machine;1");
  EXPECT_EQ(engine_->Compute("m1", 5, 5).status().code(), StatusCode::kInvalidArgument);
  Twin("t1", "dtmi:test:Turbine;1");
  EXPECT_EQ(engine_->ComputeCurrentShift("t1").status().code(), StatusCode::kNotFound);  // no definition
  // A twin no definition covers still answers Compute, with nothing to report.
  auto uncovered = engine_->Compute("t1", 0, kS);
  ASSERT_TRUE(uncovered.ok());
  EXPECT_TRUE(uncovered->at("definition").is_null());
  EXPECT_TRUE(uncovered->at("kpis").as_object().empty());
}

// The definitions proposed for the examples (docs/analytics-kpi.md, "Examples") parse against
// the example models as they are.
std::vector<json::value> ExampleModels(std::string_view example) {
  std::vector<json::value> models;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(DOPPEL_SOURCE_DIR) / "examples" / example / "models")) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    models.push_back(J(text.str()));
  }
  return models;
}

TEST_F(KpiEngineTest, ExampleDefinitionsFitTheExampleModels) {
  ASSERT_TRUE(graph_.AddModels(ExampleModels("production-line")).ok());
  ASSERT_TRUE(graph_.AddModels(ExampleModels("wind-farm")).ok());
  Define("machines", R"({"model": "dtmi:doppel:example:production:Machine;1",
    "state": {"path": "state", "map": {"running": "running", "idle": "idle", "blocked": "idle",
                                       "starved": "idle", "down": "unplannedStop"}},
    "good": "goodCount", "scrap": "scrapCount", "idealCycleTime": "idealCycleTime", "power": "powerDraw",
    "maxGap": "10m", "shift": {"length": "8h", "start": "06:00"}})");
  Define("stations", R"({"model": "dtmi:doppel:example:production:Station;1", "rollUp": ["hasMachine"],
    "shift": {"length": "8h", "start": "06:00"}})");
  Define("lines", R"({"model": "dtmi:doppel:example:production:ProductionLine;1", "rollUp": ["hasStation", "hasMachine"],
    "shift": {"length": "8h", "start": "06:00"}})");
  Define("plants", R"({"model": "dtmi:doppel:example:production:Plant;1",
    "rollUp": ["hasLine", "hasStation", "hasMachine"], "shift": {"length": "8h", "start": "06:00"}})");
  Define("turbines", R"({"model": "dtmi:doppel:example:windfarm:WindTurbine;1",
    "classify": {"rules": [
      {"state": "running", "when": [{"signal": "activePower", "above": 20}]},
      {"state": "idle", "when": [{"signal": "windSpeed", "below": 3.5}]},
      {"state": "idle", "when": [{"signal": "windSpeed", "above": 25}]},
      {"state": "faulted", "when": [{"signal": "windSpeed", "above": 3.5}]}], "minDwell": "2m", "stale": "10m"},
    "power": "activePower", "ratedPower": "ratedPower", "maxGap": "10m", "shift": {"length": "24h", "start": "00:00"}})");
  Define("farms", R"({"model": "dtmi:doppel:example:windfarm:WindFarm;1", "rollUp": ["hasTurbine"],
    "shift": {"length": "24h", "start": "00:00"}})");
  EXPECT_EQ(engine_->List().size(), 6u);
}

}  // namespace
}  // namespace doppel::analytics
