// RuleEngine against a real TwinGraph (in-memory journal) and a real Ingestor over a SeriesStore:
// transitions on telemetry and property changes, related-twin signals, scopes kept current as
// the graph changes, hysteresis, de-duplication, cooldown, 'for' and windows in reading time,
// warm-up from the live state and history, Check's errors, restored active sets, queue overflow.
#include "automation/rule_engine.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::automation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // ns
constexpr int64_t kMinute = 60'000'000'000;

constexpr const char* kTurbineModel = "dtmi:test:Turbine;1";
constexpr const char* kOffshoreModel = "dtmi:test:OffshoreTurbine;1";
constexpr const char* kBearingModel = "dtmi:test:Bearing;1";
constexpr const char* kFarmModel = "dtmi:test:Farm;1";

constexpr std::string_view kBearing = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Bearing;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "vibrationRms", "schema": "double"},
    {"@type": "Telemetry", "name": "rul", "schema": "double"}
  ]})";
constexpr std::string_view kNacelle = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Nacelle;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "ambientTemperature", "schema": "double"},
    {"@type": "Telemetry", "name": "nacelleTemperature", "schema": "double"}
  ]})";
constexpr std::string_view kTurbine = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Turbine;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "bearingTemperature", "schema": "double"},
    {"@type": "Telemetry", "name": "vibrationRms", "schema": "double"},
    {"@type": "Property", "name": "state", "schema": "string"},
    {"@type": "Relationship", "name": "hasMainBearing", "target": "dtmi:test:Bearing;1"},
    {"@type": "Component", "name": "nacelle", "schema": "dtmi:test:Nacelle;1"}
  ]})";
constexpr std::string_view kOffshore = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:OffshoreTurbine;1", "@type": "Interface",
  "extends": "dtmi:test:Turbine;1",
  "contents": [{"@type": "Telemetry", "name": "waveHeight", "schema": "double"}]})";
constexpr std::string_view kFarm = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Farm;1", "@type": "Interface",
  "contents": [
    {"@type": "Relationship", "name": "hasTurbine"},
    {"@type": "Relationship", "name": "hasSpare"}
  ]})";

class RuleEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto added = graph_.AddModels({J(kBearing), J(kNacelle), J(kTurbine), J(kOffshore), J(kFarm)});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    AddTwin("farm-1", kFarmModel);
    AddTwin("wtg-1", kTurbineModel);
    AddTwin("wtg-2", kTurbineModel);
    AddTwin("bearing-1", kBearingModel);
    AddTwin("bearing-2", kBearingModel);
    Relate("farm-1", "t1", "hasTurbine", "wtg-1");
    Relate("farm-1", "t2", "hasTurbine", "wtg-2");
    Relate("wtg-1", "mb", "hasMainBearing", "bearing-1");
    store_ = tsdb::SeriesStore::Open(store_dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    ingestor_->Subscribe([this](std::span<const ingest::Reading> r) { live_.Apply(r); });
  }
  void TearDown() override { engine_.reset(); }

  void Open(RuleEngineOptions options = {}, bool start = true) {
    engine_.reset();
    engine_ = std::make_unique<RuleEngine>(
        graph_, events_, *ingestor_, &live_, store_.get(),
        [this](const RuleTransition& t) {
          std::lock_guard lock(mu_);
          transitions_.push_back(t);
        },
        options);
    if (start) engine_->Start();
  }

  void AddTwin(const std::string& id, std::string_view model) {
    std::string body = model == kTurbineModel || model == kOffshoreModel
                           ? fmt::format(R"({{"$metadata": {{"$model": "{}"}}, "nacelle": {{"$metadata": {{}}}}}})", model)
                           : fmt::format(R"({{"$metadata": {{"$model": "{}"}}}})", model);
    auto put = graph_.PutTwin(id, J(body), {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }
  void Relate(const std::string& source, const std::string& rel_id, const std::string& name, const std::string& target) {
    auto put = graph_.PutRelationship(
        source, rel_id, J(fmt::format(R"({{"$relationshipName": "{}", "$targetId": "{}"}})", name, target)), {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }
  void Unrelate(const std::string& source, const std::string& rel_id) {
    ASSERT_TRUE(graph_.DeleteRelationship(source, rel_id, {}).ok());
  }

  void Write(const std::string& twin, const std::string& path, double minutes, double value) {
    const int64_t time = kT0 + static_cast<int64_t>(minutes * kMinute);
    ingest::Reading reading{twin, path, time, value};
    Status s = ingestor_->Write({&reading, 1});
    ASSERT_TRUE(s.ok()) << s.ToString();
    // One evaluation per reading, as a slow stream would have it (the worker may otherwise
    // take several in one batch and evaluate once, at the newest).
    if (engine_) engine_->Flush();
  }

  void Put(RuleSpec spec, const std::set<std::string>& active = {}) {
    Status s = engine_->Put(spec, active);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // The transitions reported since the last call, after everything queued is evaluated.
  std::vector<RuleTransition> Take() {
    engine_->Flush();
    std::lock_guard lock(mu_);
    return std::exchange(transitions_, {});
  }

  std::vector<std::string> InstanceTwins(std::string_view rule) {
    engine_->Flush();
    std::vector<std::string> twins;
    for (const InstanceStatus& s : engine_->Instances(rule, 1000)) twins.push_back(s.twin_id);
    return twins;
  }

  static RuleSpec Rule(std::string condition, RuleScope scope = {.model = kTurbineModel}) {
    return {.name = "hot", .scope = std::move(scope), .condition = std::move(condition)};
  }

  tsdb::testing::TempDir store_dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_{TimePoint(std::chrono::nanoseconds(kT0))};
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  ingest::LiveState live_;
  std::unique_ptr<RuleEngine> engine_;
  std::mutex mu_;
  std::vector<RuleTransition> transitions_;
};

// One transition, as "twin:+" (activated) or "twin:-" (cleared).
std::vector<std::string> Summary(const std::vector<RuleTransition>& ts) {
  std::vector<std::string> out;
  for (const RuleTransition& t : ts) out.push_back(t.twin_id + (t.active ? ":+" : ":-"));
  return out;
}

TEST_F(RuleEngineTest, TelemetryActivatesAndClearsWithEvidenceAtReadingTime) {
  Open();
  Put(Rule("bearingTemperature > 90"));
  Write("wtg-1", "bearingTemperature", 0, 80);
  Write("wtg-2", "vibrationRms", 0, 1);  // watched by nobody
  EXPECT_TRUE(Take().empty());
  Write("wtg-1", "bearingTemperature", 1, 95);
  auto ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-1:+"));
  EXPECT_EQ(ts[0].rule, "hot");
  EXPECT_EQ(ts[0].time_ns, kT0 + kMinute);
  EXPECT_THAT(ts[0].evidence, ElementsAre(Pair("bearingTemperature", rules::Value(95.0))));
  EXPECT_EQ(ToJson(EvidenceJson(ts[0].evidence)), R"({"bearingTemperature":95})");
  Write("wtg-1", "bearingTemperature", 2, 70);
  ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-1:-"));
  EXPECT_EQ(ts[0].time_ns, kT0 + 2 * kMinute);
  auto instances = engine_->Instances("hot", 10);
  ASSERT_EQ(instances.size(), 2u);
  EXPECT_EQ(instances[0].twin_id, "wtg-1");
  EXPECT_FALSE(instances[0].active);
  EXPECT_EQ(instances[0].since_ns, kT0 + 2 * kMinute);
  EXPECT_EQ(engine_->counters().activations, 1u);
  EXPECT_EQ(engine_->counters().clears, 1u);
  EXPECT_EQ(engine_->counters().updates_queued, 3u);  // the unwatched reading is not queued
}

TEST_F(RuleEngineTest, PropertyPatchesActivateAtTheEventTime) {
  Open();
  Put(Rule(R"(state == "fault")"));
  Put({.name = "warm", .scope = {.model = kTurbineModel}, .condition = "nacelle.ambientTemperature > 30"});
  ASSERT_TRUE(graph_.PatchTwin("wtg-2", J(R"([{"op": "add", "path": "/state", "value": "fault"}])"), {}).ok());
  auto ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-2:+"));
  EXPECT_EQ(ts[0].rule, "hot");
  EXPECT_EQ(ts[0].time_ns, kT0);
  clock_.Set(TimePoint(std::chrono::nanoseconds(kT0 + kMinute)));
  ASSERT_TRUE(graph_.PatchTwin("wtg-2", J(R"([{"op": "replace", "path": "/state", "value": "ok"}])"), {}).ok());
  ASSERT_TRUE(
      graph_.PatchComponent("wtg-1", "nacelle", J(R"([{"op": "add", "path": "/ambientTemperature", "value": 35}])"), {})
          .ok());
  ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-2:-", "wtg-1:+"));
  EXPECT_EQ(ts[1].rule, "warm");
  EXPECT_EQ(ts[1].time_ns, kT0 + kMinute);
  EXPECT_THAT(ts[1].evidence, ElementsAre(Pair("nacelle.ambientTemperature", rules::Value(35.0))));
}

TEST_F(RuleEngineTest, RelatedTwinSignalFollowsTheRelationship) {
  Open();
  Put(Rule("hasMainBearing>rul < 200"));
  Write("bearing-1", "rul", 0, 150);
  auto ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-1:+"));
  EXPECT_THAT(ts[0].evidence, ElementsAre(Pair("hasMainBearing>rul", rules::Value(150.0))));
  Write("bearing-2", "rul", 1, 100);  // not wtg-2's bearing (it has none)
  EXPECT_TRUE(Take().empty());

  // wtg-1's bearing is replaced by bearing-2: readings of bearing-1 no longer reach it.
  Unrelate("wtg-1", "mb");
  Relate("wtg-1", "mb2", "hasMainBearing", "bearing-2");
  Take();
  Write("bearing-1", "rul", 2, 500);
  EXPECT_TRUE(Take().empty());
  Write("bearing-2", "rul", 3, 800);
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-1:-"));

  // wtg-2 gets bearing-1 as its main bearing: bearing-1's readings now reach it.
  Relate("wtg-2", "mb", "hasMainBearing", "bearing-1");
  Write("bearing-1", "rul", 4, 120);
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-2:+"));
}

TEST_F(RuleEngineTest, ScopeUnderARootFollowsTheGraph) {
  Open();
  Put(Rule("bearingTemperature > 90", {.model = kTurbineModel, .under = "farm-1", .relationships = {"hasTurbine"}}));
  EXPECT_THAT(InstanceTwins("hot"), ElementsAre("wtg-1", "wtg-2"));

  // A turbine added to the farm joins, an offshore one too (its model extends Turbine).
  AddTwin("wtg-3", kOffshoreModel);
  EXPECT_THAT(InstanceTwins("hot"), ElementsAre("wtg-1", "wtg-2"));
  Relate("farm-1", "t3", "hasTurbine", "wtg-3");
  EXPECT_THAT(InstanceTwins("hot"), ElementsAre("wtg-1", "wtg-2", "wtg-3"));
  Write("wtg-3", "bearingTemperature", 0, 99);
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-3:+"));

  // Another relationship name is not followed; a removed turbine leaves.
  AddTwin("wtg-4", kTurbineModel);
  Relate("farm-1", "s4", "hasSpare", "wtg-4");
  Unrelate("farm-1", "t1");
  EXPECT_THAT(InstanceTwins("hot"), ElementsAre("wtg-2", "wtg-3"));
  Write("wtg-1", "bearingTemperature", 1, 99);
  Write("wtg-4", "bearingTemperature", 1, 99);
  EXPECT_TRUE(Take().empty());

  // Transitively: a twin reached through a turbine is under the farm (if of the model).
  Relate("wtg-3", "mb", "hasMainBearing", "bearing-2");
  Put({.name = "any", .scope = {.under = "farm-1"}, .condition = "vibrationRms > 5"});
  EXPECT_THAT(InstanceTwins("any"), ElementsAre("bearing-2", "wtg-2", "wtg-3", "wtg-4"));
  Unrelate("farm-1", "s4");
  EXPECT_THAT(InstanceTwins("any"), ElementsAre("bearing-2", "wtg-2", "wtg-3"));
  // A deleted twin leaves every scope.
  Put({.name = "four", .scope = {.twins = {"wtg-4"}}, .condition = "vibrationRms > 5"});
  EXPECT_THAT(InstanceTwins("four"), ElementsAre("wtg-4"));
  ASSERT_TRUE(graph_.DeleteTwin("wtg-4", {}).ok());
  EXPECT_TRUE(InstanceTwins("four").empty());
}

TEST_F(RuleEngineTest, ScopeByExplicitTwinsAndModelChanges) {
  Open();
  Put(Rule("vibrationRms > 5", {.twins = {"wtg-2", "bearing-1", "nope"}}));
  EXPECT_THAT(InstanceTwins("hot"), ElementsAre("bearing-1", "wtg-2"));
  Put({.name = "bearings", .scope = {.model = kBearingModel}, .condition = "vibrationRms > 5"});
  EXPECT_THAT(InstanceTwins("bearings"), ElementsAre("bearing-1", "bearing-2"));
  AddTwin("bearing-3", kBearingModel);
  EXPECT_THAT(InstanceTwins("bearings"), ElementsAre("bearing-1", "bearing-2", "bearing-3"));
  // bearing-3 becomes a turbine: it leaves the bearings rule.
  ASSERT_TRUE(graph_.PatchTwin("bearing-3", J(R"([{"op": "replace", "path": "/$metadata/$model",
      "value": "dtmi:test:Turbine;1"}, {"op": "add", "path": "/nacelle", "value": {"$metadata": {}}}])"), {}).ok());
  EXPECT_THAT(InstanceTwins("bearings"), ElementsAre("bearing-1", "bearing-2"));
  engine_->Remove("bearings");
  EXPECT_TRUE(InstanceTwins("bearings").empty());
  Write("bearing-1", "vibrationRms", 0, 9);
  EXPECT_THAT(Summary(Take()), ElementsAre("bearing-1:+"));  // only "hot"
}

TEST_F(RuleEngineTest, ClearConditionGivesHysteresisAndActiveDeDuplicates) {
  Open();
  RuleSpec spec = Rule("bearingTemperature > 90");
  spec.clear_condition = "bearingTemperature < 85";
  Put(spec);
  Write("wtg-1", "bearingTemperature", 0, 95);
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-1:+"));
  Write("wtg-1", "bearingTemperature", 1, 88);  // below 90, not below 85: still active
  Write("wtg-1", "bearingTemperature", 2, 97);  // true again while active: nothing
  EXPECT_TRUE(Take().empty());
  Write("wtg-1", "bearingTemperature", 3, 84);
  auto ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-1:-"));
  EXPECT_THAT(ts[0].evidence, ElementsAre(Pair("bearingTemperature", rules::Value(84.0))));
  EXPECT_EQ(engine_->counters().evaluations, 4u);
}

TEST_F(RuleEngineTest, DefaultClearIsThreeValued) {
  Open();
  Put(Rule("bearingTemperature > 90"));
  Write("wtg-1", "bearingTemperature", 0, 95);
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-1:+"));
  engine_->OnReadings(std::vector<ingest::Reading>{{"wtg-1", "bearingTemperature", kT0 + kMinute, NAN}});
  EXPECT_TRUE(Take().empty());  // no value: not (x > 90) is unknown, not true
  Write("wtg-1", "bearingTemperature", 2, 50);
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-1:-"));
}

TEST_F(RuleEngineTest, CooldownHoldsOffReactivationInReadingTime) {
  Open();
  RuleSpec spec = Rule("bearingTemperature > 90");
  spec.cooldown_ns = 10 * kMinute;
  Put(spec);
  Write("wtg-1", "bearingTemperature", 0, 95);
  Write("wtg-1", "bearingTemperature", 1, 80);
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-1:+", "wtg-1:-"));
  Write("wtg-1", "bearingTemperature", 2, 95);
  Write("wtg-1", "bearingTemperature", 10.5, 96);
  EXPECT_TRUE(Take().empty());
  Write("wtg-1", "bearingTemperature", 11, 97);
  auto ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-1:+"));
  EXPECT_EQ(ts[0].time_ns, kT0 + 11 * kMinute);
}

TEST_F(RuleEngineTest, ForAndWindowsRunOnReadingTime) {
  Open();
  Put(Rule("bearingTemperature > 90 for 5m"));
  Put({.name = "shaky", .scope = {.model = kTurbineModel}, .condition = "avg(vibrationRms, 10m) > 5"});
  for (int m : {0, 2, 4}) Write("wtg-1", "bearingTemperature", m, 95);
  EXPECT_TRUE(Take().empty());
  Write("wtg-1", "bearingTemperature", 5, 95);
  auto ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-1:+"));
  EXPECT_EQ(ts[0].time_ns, kT0 + 5 * kMinute);

  Write("wtg-2", "vibrationRms", 0, 8);
  ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-2:+"));
  Write("wtg-2", "vibrationRms", 5, 1);  // avg 4.5
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-2:-"));
  Write("wtg-2", "vibrationRms", 10, 9.5);  // the 8 at 0 has left the window: avg (1 + 9.5) / 2
  ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-2:+"));
  EXPECT_THAT(ts[0].evidence, ElementsAre(Pair("vibrationRms", rules::Value(9.5)),
                                          Pair("avg(vibrationRms, 10m)", rules::Value(5.25))));
}

TEST_F(RuleEngineTest, WarmsUpFromLiveStateAndReportsWhatHoldsNow) {
  Write("wtg-1", "bearingTemperature", 0, 95);
  Write("wtg-2", "bearingTemperature", 0, 60);
  ASSERT_TRUE(graph_.PatchTwin("wtg-2", J(R"([{"op": "add", "path": "/state", "value": "fault"}])"), {}).ok());
  Open();
  Put(Rule("bearingTemperature > 90"));
  Put({.name = "fault", .scope = {.model = kTurbineModel}, .condition = R"(state == "fault")"});
  auto ts = Take();
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-1:+", "wtg-2:+"));
  EXPECT_EQ(ts[0].time_ns, kT0);
  EXPECT_EQ(ts[1].rule, "fault");
}

TEST_F(RuleEngineTest, WarmsUpWindowsAndTimersFromHistory) {
  // Ten minutes of history before the rule exists.
  for (int m = 0; m <= 10; ++m) Write("wtg-1", "bearingTemperature", m, m < 4 ? 70 : 95);
  for (int m = 0; m <= 10; ++m) Write("wtg-2", "vibrationRms", m, m % 2 == 0 ? 8 : 3);
  Open();
  Put(Rule("bearingTemperature > 90 for 5m"));
  Put({.name = "shaky", .scope = {.model = kTurbineModel}, .condition = "avg(vibrationRms, 10m) > 5"});
  auto ts = Take();
  // Held since minute 4, and the replay covers the last 5 minutes: active at once (once, not
  // per replayed step).
  ASSERT_THAT(Summary(ts), ElementsAre("wtg-1:+", "wtg-2:+"));
  EXPECT_EQ(ts[0].time_ns, kT0 + 10 * kMinute);
  // avg over (0m, 10m]: five 8s (2,4,6,8,10) and five 3s.
  EXPECT_THAT(ts[1].evidence,
              ElementsAre(Pair("vibrationRms", rules::Value(8.0)), Pair("avg(vibrationRms, 10m)", rules::Value(5.5))));
}

TEST_F(RuleEngineTest, RestoredActiveInstancesAreNotReportedAgain) {
  Write("wtg-1", "bearingTemperature", 0, 95);
  Open();
  Put(Rule("bearingTemperature > 90"), {"wtg-1"});
  EXPECT_TRUE(Take().empty());
  auto instances = engine_->Instances("hot", 10);
  ASSERT_FALSE(instances.empty());
  EXPECT_TRUE(instances[0].active);
  Write("wtg-1", "bearingTemperature", 1, 96);
  EXPECT_TRUE(Take().empty());
  Write("wtg-1", "bearingTemperature", 2, 50);
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-1:-"));
}

TEST_F(RuleEngineTest, ReplacingARuleRestartsItsInstances) {
  Open();
  Put(Rule("bearingTemperature > 90"));
  Write("wtg-1", "bearingTemperature", 0, 95);
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-1:+"));
  Put(Rule("bearingTemperature > 100"));
  EXPECT_TRUE(Take().empty());
  EXPECT_FALSE(engine_->Instances("hot", 10)[0].active);
  Write("wtg-1", "bearingTemperature", 1, 101);
  EXPECT_THAT(Summary(Take()), ElementsAre("wtg-1:+"));
}

TEST_F(RuleEngineTest, CheckNamesTheMistake) {
  Open();
  auto message = [&](RuleSpec spec) { return engine_->Check(spec).message(); };
  EXPECT_TRUE(engine_->Check(Rule("hasMainBearing>rul < 200 and nacelle.ambientTemperature > 3")).ok());
  EXPECT_EQ(message(Rule("bearingTemperature > 1 and")),
            "condition: at 1:27: expected a value after 'and', found the end of the expression");
  EXPECT_EQ(engine_->Check(Rule("(a > 1")).code(), StatusCode::kInvalidArgument);
  RuleSpec bad_clear = Rule("bearingTemperature > 90");
  bad_clear.clear_condition = "bearingTemperature < ";
  EXPECT_THAT(message(bad_clear), HasSubstr("clearCondition: at 1:22: "));
  EXPECT_EQ(message(Rule("vibration > 1")),
            "condition: unknown signal 'vibration': model dtmi:test:Turbine;1 has no property or telemetry 'vibration'");
  EXPECT_EQ(message(Rule("nacelle.wind > 1")),
            "condition: unknown signal 'nacelle.wind': model dtmi:test:Turbine;1 has no property or telemetry "
            "'nacelle.wind'");
  EXPECT_EQ(message(Rule("hasGearbox>rul < 1")),
            "condition: unknown signal 'hasGearbox>rul': model dtmi:test:Turbine;1 has no relationship 'hasGearbox'");
  EXPECT_EQ(message(Rule("hasMainBearing>temperature > 1")),
            "condition: unknown signal 'hasMainBearing>temperature': model dtmi:test:Bearing;1 (the target of "
            "relationship 'hasMainBearing') has no property or telemetry 'temperature'");
  RuleSpec unknown_clear = Rule("bearingTemperature > 90");
  unknown_clear.clear_condition = "temp < 1";
  EXPECT_THAT(message(unknown_clear), HasSubstr("clearCondition: unknown signal 'temp'"));
  EXPECT_EQ(message(Rule("x > 1", {.model = "dtmi:test:Nope;1"})), "scope.model: unknown model 'dtmi:test:Nope;1'");
  EXPECT_TRUE(engine_->Check(Rule("anything > 1", {})).ok());  // no model: nothing to check against
  EXPECT_THAT(message(Rule("x > 1", {.relationships = {"hasTurbine"}})), HasSubstr("scope.relationships: "));
  RuleSpec negative = Rule("bearingTemperature > 90");
  negative.cooldown_ns = -1;
  EXPECT_THAT(message(negative), HasSubstr("cooldown: "));
  // Put refuses what Check refuses, and adds nothing.
  EXPECT_EQ(engine_->Put(Rule("vibration > 1")).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(engine_->Instances("hot", 10).empty());
}

TEST_F(RuleEngineTest, LimitsOnRulesAndInstances) {
  Open({.max_rules = 1, .max_instances = 3});
  Put(Rule("bearingTemperature > 90"));  // wtg-1, wtg-2
  RuleSpec second = Rule("vibrationRms > 1", {.model = kBearingModel});
  second.name = "second";
  EXPECT_EQ(engine_->Put(second).code(), StatusCode::kResourceExhausted);
  Open({.max_rules = 2, .max_instances = 3});
  Put(Rule("bearingTemperature > 90"));
  EXPECT_EQ(engine_->Put(second).code(), StatusCode::kResourceExhausted);  // 2 + 2 > 3
  EXPECT_TRUE(engine_->Instances("second", 10).empty());
  Put(Rule("bearingTemperature > 90", {.twins = {"wtg-1"}}));  // replacing frees its instances
  Put(second);
  EXPECT_EQ(engine_->Instances("second", 10).size(), 2u);
}

TEST_F(RuleEngineTest, QueueOverflowDropsTheOldestAndCountsThem) {
  Open({.max_queue = 3}, /*start=*/false);
  Put(Rule("bearingTemperature > 90"));
  std::vector<ingest::Reading> batch;
  for (int i = 0; i < 10; ++i) batch.push_back({"wtg-1", "bearingTemperature", kT0 + i * kMinute, i == 8 ? 95.0 : 50.0});
  ASSERT_TRUE(ingestor_->Write(batch).ok());
  RuleEngine::Counters c = engine_->counters();
  EXPECT_EQ(c.updates_queued, 10u);
  EXPECT_EQ(c.updates_dropped, 7u);
  // The three newest survive (95 at 8, then 50 at 9): one batch, evaluated at its end.
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(engine_->counters().evaluations, 1u);
  std::string metrics;
  engine_->RenderMetrics(metrics);
  EXPECT_THAT(metrics, HasSubstr("doppel_rules_updates_dropped_total 7\n"));
  EXPECT_THAT(metrics, HasSubstr("doppel_rules_updates_total 10\n"));
  EXPECT_THAT(metrics, HasSubstr("doppel_rules_instances 2\n"));
  EXPECT_THAT(metrics, HasSubstr("doppel_rules_evaluations_total 1\n"));
}

TEST_F(RuleEngineTest, ConcurrentIngestAndGraphChangesStayConsistent) {
  Open();
  Put(Rule("bearingTemperature > 90", {.model = kTurbineModel, .under = "farm-1", .relationships = {"hasTurbine"}}));
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop || i < 200; ++i) {
      std::vector<ingest::Reading> batch{{"wtg-1", "bearingTemperature", kT0 + i * kMinute, i % 2 == 0 ? 95.0 : 50.0},
                                         {"wtg-2", "vibrationRms", kT0 + i * kMinute, 1.0}};
      ASSERT_TRUE(ingestor_->Write(batch).ok());
      written = i + 1;
    }
  });
  std::vector<std::string> expected = {"wtg-1", "wtg-2"};
  for (int k = 10; k < 30; ++k) {
    const std::string id = fmt::format("wtg-{}", k);
    AddTwin(id, kTurbineModel);
    Relate("farm-1", fmt::format("t{}", k), "hasTurbine", id);
    if (k % 2 == 0) {
      Unrelate("farm-1", fmt::format("t{}", k));
    } else {
      expected.push_back(id);
    }
  }
  stop = true;
  writer.join();
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(InstanceTwins("hot"), expected);
  // However the updates were batched (each batch is evaluated once, at its newest reading),
  // wtg-1's transitions alternate — never two activations in a row — and its state ends as
  // the last reading says (95 when an odd number were written).
  std::vector<std::string> summary = Summary(Take());
  for (std::size_t i = 0; i < summary.size(); ++i) EXPECT_EQ(summary[i], i % 2 == 0 ? "wtg-1:+" : "wtg-1:-");
  const bool last_hot = written % 2 == 1;
  EXPECT_EQ(engine_->Instances("hot", 1)[0].active, last_hot);
  if (!summary.empty()) {
    EXPECT_EQ(summary.back(), last_hot ? "wtg-1:+" : "wtg-1:-");
  }
}

TEST_F(RuleEngineTest, DisabledRulesWatchNothing) {
  Open();
  RuleSpec spec = Rule("bearingTemperature > 90");
  spec.enabled = false;
  Put(spec);
  Write("wtg-1", "bearingTemperature", 0, 95);
  EXPECT_TRUE(Take().empty());
  EXPECT_TRUE(engine_->Instances("hot", 10).empty());
  EXPECT_EQ(engine_->counters().updates_queued, 0u);
}

}  // namespace
}  // namespace doppel::automation
