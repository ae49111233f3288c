// AnalyticsService end to end in process: detectors over a DTDL model scoring readings that come
// through the real Ingestor (score telemetry in history, anomaly events with evidence), state
// across a restart, config entries read-only, bad bodies refused with the library's message,
// and a RUL model trained on synthetic run-to-failure twins giving live twins a falling RUL.
#include "analytics/analytics_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "analytics/kpi/kpi_engine.h"
#include "base/clock.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "tsdb/query.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"

namespace doppel::analytics {
namespace {

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kPump = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Pump;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "vibration", "schema": "double"},
    {"@type": "Telemetry", "name": "temperature", "schema": "double"},
    {"@type": "Telemetry", "name": "vibrationAnomaly", "schema": "double"},
    {"@type": "Telemetry", "name": "wear", "schema": "double"},
    {"@type": "Telemetry", "name": "heat", "schema": "double"},
    {"@type": "Telemetry", "name": "failed", "schema": "boolean"},
    {"@type": "Telemetry", "name": "rul", "schema": "double"},
    {"@type": "Telemetry", "name": "rulLow", "schema": "double"},
    {"@type": "Telemetry", "name": "rulHigh", "schema": "double"},
    {"@type": "Telemetry", "name": "health", "schema": "double"}
  ]})";

constexpr std::string_view kDetector = R"({
  "model": "dtmi:test:Pump;1", "kind": "mad", "signals": ["vibration"],
  "output": "vibrationAnomaly", "eventThreshold": 0.9})";

constexpr std::string_view kRul = R"({
  "model": "dtmi:test:Pump;1", "signals": ["wear", "heat"], "cap": 80, "cycle": "reading",
  "failure": "failed", "outputs": {"rul": "rul", "low": "rulLow", "high": "rulHigh", "health": "health"}})";

constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // ns
constexpr int64_t kSecond = 1'000'000'000;

// A deterministic noise in [-1, 1].
double Noise(uint64_t i) {
  uint64_t x = i * 0x9E3779B97F4A7C15ull + 0x1234567;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return static_cast<double>(x % 2001) / 1000.0 - 1.0;
}

class AnalyticsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(graph_.AddModels({J(kPump)}).ok());
    AddTwin("pump-1");
    store_ = tsdb::SeriesStore::Open(store_dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    ingestor_->Subscribe([this](std::span<const ingest::Reading> r) { live_.Apply(r); });
    Open();
  }
  void TearDown() override { service_.reset(); }

  void AddTwin(const std::string& id) {
    ASSERT_TRUE(graph_.PutTwin(id, J(R"({"$metadata": {"$model": "dtmi:test:Pump;1"}})"), {}).ok());
  }

  void Open(AnalyticsServiceOptions options = {}) {
    service_.reset();
    options.dir = dir_.path();
    options.kpi_interval = std::chrono::seconds(0);
    auto service = AnalyticsService::Open(std::move(options), graph_, events_, *ingestor_, live_, clock_);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
    service_->Start();
  }

  // `n` readings of a calm vibration (1.0 ± 0.05), one per second from `from`.
  void FeedCalm(const std::string& twin, int64_t from, int n) {
    std::vector<ingest::Reading> batch;
    for (int i = 0; i < n; ++i) {
      batch.push_back({twin, "vibration", kT0 + (from + i) * kSecond, 1.0 + 0.05 * Noise(from + i)});
    }
    ASSERT_TRUE(ingestor_->Write(batch).ok());
  }

  std::vector<tsdb::Point> Points(std::string_view twin, std::string_view path) {
    auto id = store_->Find(twin, path);
    if (!id.ok()) return {};
    return tsdb::QueryRaw(*store_, *id, 0, INT64_MAX).value();
  }

  // One unit's life: `cycles` cycles whose wear and heat grow toward failure at `life`.
  void FeedUnit(const std::string& twin, int first, int cycles, int life, bool fail_at_end) {
    std::vector<ingest::Reading> batch;
    for (int c = first; c < first + cycles; ++c) {
      const double age = static_cast<double>(c) / life;
      const int64_t time = kT0 + c * 60 * kSecond;
      batch.push_back({twin, "wear", time, 10 + 40 * age * age + 0.3 * Noise(c * 7 + life)});
      batch.push_back({twin, "heat", time, 300 + 25 * age + 0.3 * Noise(c * 13 + life)});
      batch.push_back({twin, "failed", time, fail_at_end && c == first + cycles - 1});
    }
    ASSERT_TRUE(ingestor_->Write(batch).ok());
  }

  json::object WaitForTraining(std::string_view name) {
    json::object last;
    for (int i = 0; i < 6000; ++i) {
      auto model = service_->FindRulModel(name);
      EXPECT_TRUE(model.ok()) << model.status().ToString();
      if (!model.ok()) return {};
      last = *model;
      if (last.at("status").as_string() != "training") return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "training never finished: " << ToJson(last);
    return last;
  }

  double Rul(std::string_view twin) {
    auto analytics = service_->TwinAnalytics(twin);
    EXPECT_TRUE(analytics.ok()) << analytics.status().ToString();
    if (!analytics.ok()) return NAN;
    const json::value* rul = analytics->if_contains("rul");
    EXPECT_NE(rul, nullptr) << ToJson(*analytics);
    if (rul == nullptr) return NAN;
    const json::value& estimate = rul->at("wear");
    EXPECT_TRUE(estimate.as_object().contains("rul")) << ToJson(*analytics);
    if (!estimate.as_object().contains("rul")) return NAN;
    EXPECT_LE(estimate.at("low").to_number<double>(), estimate.at("rul").to_number<double>());
    EXPECT_GE(estimate.at("high").to_number<double>(), estimate.at("rul").to_number<double>());
    return estimate.at("rul").to_number<double>();
  }

  tsdb::testing::TempDir store_dir_, dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_{TimePoint(std::chrono::nanoseconds(kT0))};
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  ingest::LiveState live_;
  std::unique_ptr<AnalyticsService> service_;
};

TEST_F(AnalyticsServiceTest, SpikeGivesAHighScoreReadingAndAnAnomalyEventWithEvidence) {
  auto put = service_->PutDetector("vib", J(kDetector));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE(put->first);
  EXPECT_EQ(put->second.at("coveredTwins").to_number<int64_t>(), 1);

  FeedCalm("pump-1", 0, 400);
  const int64_t spike_time = kT0 + 400 * kSecond;
  ASSERT_TRUE(ingestor_->Write(std::vector<ingest::Reading>{{"pump-1", "vibration", spike_time, 9.0}}).ok());
  service_->Flush();

  // Every reading has its score in history, at the reading's time; the spike's is high.
  const auto scores = Points("pump-1", "vibrationAnomaly");
  ASSERT_EQ(scores.size(), 401u);
  EXPECT_EQ(scores.back().time, spike_time);
  EXPECT_GE(std::get<double>(scores.back().value), 0.9);
  EXPECT_LT(std::get<double>(scores[350].value), 0.9);

  const json::array events = service_->Anomalies("pump-1", 0, 10);
  ASSERT_EQ(events.size(), 1u);
  const json::object& event = events[0].as_object();
  EXPECT_EQ(event.at("detector").as_string(), "vib");
  EXPECT_EQ(event.at("twinId").as_string(), "pump-1");
  EXPECT_EQ(event.at("time").as_string(), FormatRfc3339(TimePoint(std::chrono::nanoseconds(spike_time))));
  EXPECT_DOUBLE_EQ(event.at("evidence").at("value").to_number<double>(), 9.0);
  EXPECT_LT(event.at("evidence").at("high").to_number<double>(), 9.0);
  EXPECT_TRUE(service_->Anomalies("other-twin", 0, 10).empty());
  EXPECT_TRUE(service_->Anomalies("", spike_time + 1, 10).empty());

  auto analytics = service_->TwinAnalytics("pump-1");
  ASSERT_TRUE(analytics.ok()) << analytics.status().ToString();
  EXPECT_GE(analytics->at("anomaly").at("vib").at("score").to_number<double>(), 0.9);
  EXPECT_EQ(service_->TwinAnalytics("nobody").status().code(), StatusCode::kNotFound);
}

TEST_F(AnalyticsServiceTest, ADetectorPutLaterWarmsUpFromHistory) {
  FeedCalm("pump-1", 0, 300);
  ASSERT_TRUE(service_->PutDetector("vib", J(kDetector)).ok());
  auto analytics = service_->TwinAnalytics("pump-1");
  ASSERT_TRUE(analytics.ok());
  EXPECT_EQ(analytics->at("anomaly").at("vib").at("observed").to_number<int64_t>(), 300);
  // Warm, so the first live spike is already recognised.
  ASSERT_TRUE(ingestor_->Write(std::vector<ingest::Reading>{{"pump-1", "vibration", kT0 + 300 * kSecond, 9.0}}).ok());
  service_->Flush();
  EXPECT_EQ(service_->Anomalies("pump-1", 0, 10).size(), 1u);
}

TEST_F(AnalyticsServiceTest, DetectorsStateAndEventsSurviveARestart) {
  ASSERT_TRUE(service_->PutDetector("vib", J(kDetector)).ok());
  FeedCalm("pump-1", 0, 300);
  ASSERT_TRUE(ingestor_->Write(std::vector<ingest::Reading>{{"pump-1", "vibration", kT0 + 300 * kSecond, 9.0}}).ok());
  service_->Flush();
  ASSERT_EQ(service_->Anomalies("", 0, 10).size(), 1u);
  const double score = service_->TwinAnalytics("pump-1")->at("anomaly").at("vib").at("score").to_number<double>();

  // A short warm-up on reopen: a detector that restored its state has seen all 301 readings.
  Open({.warmup_readings = 10});
  auto def = service_->FindDetector("vib");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->at("output").as_string(), "vibrationAnomaly");
  auto analytics = service_->TwinAnalytics("pump-1");
  ASSERT_TRUE(analytics.ok());
  EXPECT_EQ(analytics->at("anomaly").at("vib").at("observed").to_number<int64_t>(), 301);
  EXPECT_DOUBLE_EQ(analytics->at("anomaly").at("vib").at("score").to_number<double>(), score);
  EXPECT_EQ(service_->Anomalies("", 0, 10).size(), 1u);

  // A changed definition does not take the old state: it warms up (10 readings) instead.
  ASSERT_TRUE(service_->DeleteDetector("vib").ok());
  Open({.warmup_readings = 10});
  EXPECT_EQ(service_->FindDetector("vib").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(service_->PutDetector("vib", J(kDetector)).ok());
  analytics = service_->TwinAnalytics("pump-1");
  ASSERT_TRUE(analytics.ok());
  EXPECT_EQ(analytics->at("anomaly").at("vib").at("observed").to_number<int64_t>(), 10);
}

TEST_F(AnalyticsServiceTest, ADetectorCoversTwinsCreatedLater) {
  ASSERT_TRUE(service_->PutDetector("vib", J(kDetector)).ok());
  AddTwin("pump-2");
  service_->Flush();  // the routing has caught up with the graph
  FeedCalm("pump-2", 0, 100);
  service_->Flush();
  EXPECT_EQ(Points("pump-2", "vibrationAnomaly").size(), 100u);
  auto analytics = service_->TwinAnalytics("pump-2");
  ASSERT_TRUE(analytics.ok());
  EXPECT_EQ(analytics->at("anomaly").at("vib").at("observed").to_number<int64_t>(), 100);
  EXPECT_EQ(service_->FindDetector("vib")->at("coveredTwins").to_number<int64_t>(), 2);
}

TEST_F(AnalyticsServiceTest, AFullQueueDropsScoresInsteadOfHoldingUpIngest) {
  Open({.queue_limit = 5});
  ASSERT_TRUE(service_->PutDetector("vib", J(kDetector)).ok());
  FeedCalm("pump-1", 0, 10);  // ten score readings in one batch: more than the queue takes
  service_->Flush();
  EXPECT_TRUE(Points("pump-1", "vibrationAnomaly").empty());
  std::string metrics;
  service_->RenderMetrics(metrics);
  EXPECT_NE(metrics.find("doppel_analytics_dropped_total 10\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("doppel_analytics_readings_scored_total 10\n"), std::string::npos) << metrics;
  // The detector itself saw every reading: dropping costs only the derived telemetry.
  EXPECT_EQ(service_->TwinAnalytics("pump-1")->at("anomaly").at("vib").at("observed").to_number<int64_t>(), 10);
}

TEST_F(AnalyticsServiceTest, MultivariateDetectorScoresTheSignalsOfOneTimeTogether) {
  ASSERT_TRUE(service_->PutDetector("mv", J(R"({"twins": ["pump-1"], "kind": "multivariate",
                                                "signals": ["vibration", "temperature"]})")).ok());
  std::vector<ingest::Reading> batch;
  for (int i = 0; i < 50; ++i) {
    batch.push_back({"pump-1", "vibration", kT0 + i * kSecond, 1.0 + 0.05 * Noise(i)});
    batch.push_back({"pump-1", "temperature", kT0 + i * kSecond, 40.0 + Noise(i + 1000)});
  }
  batch.push_back({"pump-1", "vibration", kT0 + 50 * kSecond, 1.0});  // its temperature never comes
  ASSERT_TRUE(ingestor_->Write(batch).ok());
  service_->Flush();  // scores the incomplete last group as it is
  auto analytics = service_->TwinAnalytics("pump-1");
  ASSERT_TRUE(analytics.ok());
  EXPECT_EQ(analytics->at("anomaly").at("mv").at("observed").to_number<int64_t>(), 51);
  EXPECT_EQ(analytics->at("anomaly").at("mv").at("time").as_string(),
            FormatRfc3339(TimePoint(std::chrono::nanoseconds(kT0 + 50 * kSecond))));
}

TEST_F(AnalyticsServiceTest, BadBodiesAreRefusedWithTheLibrarysMessage) {
  auto bad_kind = service_->PutDetector("d", J(R"({"model": "dtmi:test:Pump;1", "kind": "foo", "signals": ["x"]})"));
  EXPECT_EQ(bad_kind.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_kind.status().message().find("unknown detector kind 'foo'"), std::string::npos)
      << bad_kind.status().message();
  auto bad_window =
      service_->PutDetector("d", J(R"({"model": "dtmi:test:Pump;1", "kind": "mad", "signals": ["x"], "window": 3})"));
  EXPECT_EQ(bad_window.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_window.status().message().find("'window'"), std::string::npos) << bad_window.status().message();
  auto no_target = service_->PutDetector("d", J(R"({"kind": "mad", "signals": ["x"]})"));
  EXPECT_NE(no_target.status().message().find("'model'"), std::string::npos) << no_target.status().message();
  EXPECT_EQ(service_->PutDetector("bad name", J(kDetector)).status().code(), StatusCode::kInvalidArgument);

  auto bad_cap = service_->PutRulModel("r", J(R"({"model": "dtmi:test:Pump;1", "signals": ["wear"],
                                                  "failure": "failed", "cap": 0})"));
  EXPECT_EQ(bad_cap.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_cap.status().message().find("'cap'"), std::string::npos) << bad_cap.status().message();
  auto bad_cycle = service_->PutRulModel("r", J(R"({"model": "dtmi:test:Pump;1", "signals": ["wear"],
                                                    "failure": "failed", "cycle": "often"})"));
  EXPECT_NE(bad_cycle.status().message().find("'cycle'"), std::string::npos) << bad_cycle.status().message();
  auto no_failure = service_->PutRulModel("r", J(R"({"model": "dtmi:test:Pump;1", "signals": ["wear"]})"));
  EXPECT_NE(no_failure.status().message().find("'failure'"), std::string::npos) << no_failure.status().message();

  EXPECT_EQ(service_->PutKpi("k", J(R"({"model": 3})")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->FindDetector("d").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->DeleteRulModel("r").code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Train("r").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(service_->Detectors().empty());
}

TEST_F(AnalyticsServiceTest, PathsAreCheckedAgainstALoadedModel) {
  auto unknown_signal = service_->PutDetector(
      "d", J(R"({"model": "dtmi:test:Pump;1", "kind": "mad", "signals": ["vibraton"], "output": "vibrationAnomaly"})"));
  EXPECT_EQ(unknown_signal.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(unknown_signal.status().message(),
            "detector 'signals': model 'dtmi:test:Pump;1' has no property or telemetry 'vibraton'");
  // The score goes into history as a double: a boolean telemetry cannot take it.
  auto boolean_output = service_->PutDetector(
      "d", J(R"({"model": "dtmi:test:Pump;1", "kind": "mad", "signals": ["vibration"], "output": "failed"})"));
  EXPECT_EQ(boolean_output.status().message(),
            "detector 'output': model 'dtmi:test:Pump;1' has no double or float telemetry 'failed'");
  auto rul_output = service_->PutRulModel("r", J(R"({"model": "dtmi:test:Pump;1", "signals": ["wear"],
                                                     "failure": "failed", "outputs": {"rul": "remaining"}})"));
  EXPECT_EQ(rul_output.status().message(),
            "RUL model 'outputs.rul': model 'dtmi:test:Pump;1' has no double or float telemetry 'remaining'");
  // A model not uploaded yet is checked later, by the Ingestor, as readings come.
  EXPECT_TRUE(service_->PutDetector("later", J(R"({"model": "dtmi:test:Later;1", "kind": "mad", "signals": ["x"]})")).ok());
  EXPECT_TRUE(service_->FindDetector("d").status().code() == StatusCode::kNotFound);
}

TEST_F(AnalyticsServiceTest, ConfigEntriesAreReadOnly) {
  AnalyticsServiceOptions options;
  options.config = J(R"({"detectors": {"cfg": {"twins": ["pump-1"], "kind": "ewma", "signals": ["vibration"]}},
                         "rul": {"cfgRul": {"model": "dtmi:test:Pump;1", "signals": ["wear"], "failure": "failed"}}})")
                       .as_object();
  Open(std::move(options));
  auto listed = service_->Detectors();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("source").as_string(), "config");
  EXPECT_EQ(service_->PutDetector("cfg", J(kDetector)).status().code(), StatusCode::kConflict);
  EXPECT_EQ(service_->DeleteDetector("cfg").code(), StatusCode::kConflict);
  EXPECT_EQ(service_->PutRulModel("cfgRul", J(kRul)).status().code(), StatusCode::kConflict);
  EXPECT_EQ(service_->DeleteRulModel("cfgRul").code(), StatusCode::kConflict);

  // An invalid config entry fails Open, naming it.
  service_.reset();
  AnalyticsServiceOptions bad{.dir = dir_.path()};
  bad.config = J(R"({"detectors": {"broken": {"twins": ["pump-1"], "kind": "nope", "signals": ["x"]}}})").as_object();
  auto opened = AnalyticsService::Open(std::move(bad), graph_, events_, *ingestor_, live_, clock_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("analytics.detectors.broken"), std::string::npos)
      << opened.status().message();
}

TEST_F(AnalyticsServiceTest, AConfigKpiWaitsForItsModel) {
  AnalyticsServiceOptions options;
  options.config = J(R"({"kpis": {"machines": {"model": "dtmi:test:Machine;1", "good": "goodCount"}}})").as_object();
  Open(std::move(options));
  EXPECT_TRUE(service_->KpiDefinitions().empty());
  ASSERT_TRUE(graph_.AddModels({J(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Machine;1",
      "@type": "Interface", "contents": [{"@type": "Telemetry", "name": "goodCount", "schema": "long"}]})")}).ok());
  service_->Flush();
  const json::array kpis = service_->KpiDefinitions();
  ASSERT_EQ(kpis.size(), 1u);
  EXPECT_EQ(kpis[0].at("source").as_string(), "config");
  EXPECT_EQ(service_->PutKpi("machines", J(R"({"model": "dtmi:test:Machine;1", "good": "goodCount"})")).status().code(),
            StatusCode::kConflict);
}

TEST_F(AnalyticsServiceTest, TwinAnalyticsCarriesTheCurrentShiftsKpisAndState) {
  ASSERT_TRUE(graph_.AddModels({J(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Machine;1",
      "@type": "Interface", "contents": [{"@type": "Telemetry", "name": "state", "schema": "string"},
                                         {"@type": "Telemetry", "name": "goodCount", "schema": "long"}]})")}).ok());
  ASSERT_TRUE(graph_.PutTwin("m1", J(R"({"$metadata": {"$model": "dtmi:test:Machine;1"}})"), {}).ok());
  auto put = service_->PutKpi("machines", J(R"({"model": "dtmi:test:Machine;1", "state": {"path": "state"},
                                                "good": "goodCount", "shift": {"length": "8h", "start": "00:00"}})"));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  clock_.Set(TimePoint(std::chrono::nanoseconds(kT0 + 3600 * kSecond)));
  ASSERT_TRUE(ingestor_->Write(std::vector<ingest::Reading>{{"m1", "state", kT0, std::string("running")},
                                                            {"m1", "goodCount", kT0, int64_t{0}},
                                                            {"m1", "goodCount", kT0 + 1800 * kSecond, int64_t{100}}})
                  .ok());
  auto analytics = service_->TwinAnalytics("m1");
  ASSERT_TRUE(analytics.ok()) << analytics.status().ToString();
  EXPECT_EQ(analytics->at("state").as_string(), "running") << ToJson(*analytics);
  EXPECT_TRUE(analytics->at("kpis").is_object()) << ToJson(*analytics);
  EXPECT_FALSE(service_->TwinAnalytics("pump-1")->contains("kpis"));  // no definition covers it
  // The definition persists with the service.
  Open();
  EXPECT_EQ(service_->FindKpi("machines")->at("source").as_string(), "api");
}

TEST_F(AnalyticsServiceTest, RulModelTrainsOnRunToFailureTwinsAndLiveTwinsGetAFallingRul) {
  for (int u = 0; u < 10; ++u) {
    const std::string id = "unit-" + std::to_string(u);
    AddTwin(id);
    FeedUnit(id, 0, 100 + 15 * u, 100 + 15 * u, /*fail_at_end=*/true);
  }
  AddTwin("live-1");
  FeedUnit("live-1", 0, 40, 160, false);  // before training

  auto put = service_->PutRulModel("wear", J(kRul));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->second.at("status").as_string(), "untrained");
  auto started = service_->Train("wear");
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(started->at("status").as_string(), "training");
  const json::object trained = WaitForTraining("wear");
  ASSERT_EQ(trained.at("status").as_string(), "trained") << ToJson(trained);
  EXPECT_EQ(trained.at("report").at("units").to_number<int64_t>(), 10);
  EXPECT_TRUE(trained.at("report").at("validationRmse").is_number());

  const double early = Rul("live-1");
  FeedUnit("live-1", 40, 100, 160, false);  // after training: 140 of its 160 cycles
  service_->Flush();
  const double late = Rul("live-1");
  EXPECT_LT(late, early - 20) << "early " << early << ", late " << late;
  // The replayed estimate, published when training attached the unit, then one per live cycle.
  EXPECT_EQ(Points("live-1", "rul").size(), 101u);

  // A twin that appears after training is tracked too; a failed unit is not.
  AddTwin("live-2");
  FeedUnit("live-2", 0, 30, 160, false);
  service_->Flush();
  EXPECT_GT(Rul("live-2"), late);
  auto failed = service_->TwinAnalytics("unit-0");
  ASSERT_TRUE(failed.ok());
  EXPECT_TRUE(failed->at("rul").at("wear").at("failed").as_bool());

  // The trained model is saved and loaded with the definition.
  Open();
  EXPECT_EQ(service_->FindRulModel("wear")->at("status").as_string(), "trained");
  EXPECT_NEAR(Rul("live-1"), late, 1e-6);
}

TEST_F(AnalyticsServiceTest, TrainingWithoutRunToFailureHistoryFails) {
  ASSERT_TRUE(service_->PutRulModel("wear", J(kRul)).ok());
  FeedUnit("pump-1", 0, 50, 100, false);
  ASSERT_TRUE(service_->Train("wear").ok());
  const json::object result = WaitForTraining("wear");
  EXPECT_EQ(result.at("status").as_string(), "failed");
  EXPECT_FALSE(result.at("error").as_string().empty());
}

}  // namespace
}  // namespace doppel::analytics
