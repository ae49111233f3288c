// SimulationService end to end in process: a binding over a DTDL model, live readings through
// the real Ingestor, shadow estimates and derived telemetry in history, persistence across a
// restart, what-if jobs and forecasts. The "asset" is the two-node thermal test model with a
// heat-transfer coefficient the binding's default does not know.
#include "sim/simulation_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "base/clock.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "sim/binding.h"
#include "sim/thermal_test_model.h"
#include "tsdb/query.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"

namespace doppel::sim {
namespace {

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kHeater = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Heater;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "nominalHeatTransfer", "schema": "double"},
    {"@type": "Property", "name": "roomTemperature", "schema": "double", "writable": true},
    {"@type": "Telemetry", "name": "heaterPower", "schema": "double"},
    {"@type": "Telemetry", "name": "ambientTemperature", "schema": "double"},
    {"@type": "Telemetry", "name": "surfaceTemperature", "schema": "double"},
    {"@type": "Telemetry", "name": "expectedSurfaceTemperature", "schema": "double"},
    {"@type": "Telemetry", "name": "surfaceTemperatureResidual", "schema": "double"},
    {"@type": "Telemetry", "name": "coreTemperatureEstimate", "schema": "double"},
    {"@type": "Telemetry", "name": "coreTemperatureStddev", "schema": "double"}
  ]})";

constexpr std::string_view kBinding = R"({
  "model": "thermalTest",
  "twins": {"model": "dtmi:test:Heater;1"},
  "inputs": {"heaterPower": "heaterPower", "ambientTemperature": "ambientTemperature"},
  "measurements": {"surfaceTemperature": {"path": "surfaceTemperature", "noise": 0.2,
                                           "expected": "expectedSurfaceTemperature",
                                           "residual": "surfaceTemperatureResidual"}},
  "estimate": {"heatTransfer": {"stddev": 5, "drift": 0.1}, "coreTemperature": {"stddev": 2}},
  "virtualSensors": {"coreTemperature": {"path": "coreTemperatureEstimate", "stddevPath": "coreTemperatureStddev"}}
})";

constexpr double kTrueHeatTransfer = 14.0;  // the binding starts from the model's 10
constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // ns

ModelCatalog TestCatalog() {
  ModelCatalog catalog;
  catalog.Register(testing::ThermalTestModel::Info(), []() -> Result<std::unique_ptr<Simulation>> {
    return std::unique_ptr<Simulation>(std::make_unique<testing::ThermalTestModel>());
  });
  return catalog;
}

class SimulationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(graph_.AddModels({J(kHeater)}).ok());
    ASSERT_TRUE(graph_.PutTwin("heater-1", J(R"({"$metadata": {"$model": "dtmi:test:Heater;1"}})"), {}).ok());
    store_ = tsdb::SeriesStore::Open(store_dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    ingestor_->Subscribe([this](std::span<const ingest::Reading> r) { live_.Apply(r); });
    Open();
  }
  void TearDown() override { service_.reset(); }

  void Open() {
    auto service = SimulationService::Open(
        {.dir = sim_dir_.path(), .scenario_threads = 2, .group_wait = std::chrono::milliseconds(20)}, catalog_,
        graph_, events_, *ingestor_, live_, clock_);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
    service_->Start();
  }

  // Feeds `seconds` of the asset at 5 s intervals, all three readings of an instant in one write.
  void Feed(testing::ThermalAsset& asset, double seconds) {
    for (double t = 0; t < seconds; t += 5.0) {
      const double surface = asset.Advance(5.0);
      const int64_t time = kT0 + static_cast<int64_t>(asset.t * 1e9);
      std::vector<ingest::Reading> batch = {
          {"heater-1", "heaterPower", time, testing::HeaterPowerAt(asset.t)},
          {"heater-1", "ambientTemperature", time, 20.0},
          {"heater-1", "surfaceTemperature", time, surface}};
      ASSERT_TRUE(ingestor_->Write(batch).ok());
    }
  }

  // The twin's shadow state once `observations` have been made (the worker is asynchronous).
  json::object WaitForObservations(int64_t observations) {
    std::string last;
    for (int i = 0; i < 500; ++i) {
      auto state = service_->TwinState("heater-1");
      last = state.ok() ? ToJson(*state) : state.status().ToString();
      if (state.ok()) {
        const auto& b = state->at("bindings").as_array().at(0).as_object();
        if (b.contains("observations") && b.at("observations").to_number<int64_t>() >= observations) return *state;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "the shadow run never reached " << observations << " observations: " << last;
    return {};
  }

  static double Estimate(const json::object& state, std::string_view name) {
    return state.at("bindings").as_array().at(0).at("last").at("estimates").at(name).at("value").to_number<double>();
  }

  std::vector<tsdb::Point> Points(std::string_view path) {
    auto id = store_->Find("heater-1", path);
    if (!id.ok()) return {};
    return tsdb::QueryRaw(*store_, *id, 0, INT64_MAX).value();
  }

  json::object WaitForJob(const std::string& id) {
    for (int i = 0; i < 1000; ++i) {
      auto job = service_->Scenarios("heater-1", id);
      EXPECT_TRUE(job.ok()) << job.status().ToString();
      if (!job.ok()) return {};
      const auto status = job->at("status").as_string();
      if (status != "queued" && status != "running") return *job;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }

  tsdb::testing::TempDir store_dir_, sim_dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_{TimePoint(std::chrono::nanoseconds(kT0 + 4'000'000'000'000LL))};
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  ingest::LiveState live_;
  ModelCatalog catalog_ = TestCatalog();
  std::unique_ptr<SimulationService> service_;
};

TEST_F(SimulationServiceTest, ShadowRunIdentifiesTheAssetAndWritesDerivedTelemetry) {
  auto put = service_->PutBinding("heaters", J(kBinding));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE(put->first);
  EXPECT_EQ(put->second.at("boundTwins").to_number<int64_t>(), 1);

  testing::ThermalAsset asset(7, 0.2);
  asset.set_heat_transfer(kTrueHeatTransfer);
  Feed(asset, 3600);  // 720 instants
  json::object state = WaitForObservations(720);
  ASSERT_FALSE(state.empty());

  EXPECT_NEAR(Estimate(state, "heatTransfer"), kTrueHeatTransfer, 1.0);
  EXPECT_NEAR(Estimate(state, "coreTemperature"), asset.truth.Get(testing::ThermalTestModel::kCoreTemperature), 1.0);
  // Expected values and residuals are in history, one per instant after the first (which only
  // anchors time); the virtual sensor from the first on (its prior).
  EXPECT_EQ(Points("expectedSurfaceTemperature").size(), 719u);
  const auto residuals = Points("surfaceTemperatureResidual");
  ASSERT_EQ(residuals.size(), 719u);
  double late_sum = 0;
  for (std::size_t i = residuals.size() - 200; i < residuals.size(); ++i) late_sum += std::get<double>(residuals[i].value);
  EXPECT_LT(std::abs(late_sum / 200), 0.1) << "a calibrated model's residuals are centred on zero";
  const auto core = Points("coreTemperatureEstimate");
  ASSERT_EQ(core.size(), 720u);
  EXPECT_NEAR(std::get<double>(core.back().value), asset.truth.Get(testing::ThermalTestModel::kCoreTemperature), 1.0);
  EXPECT_GT(std::get<double>(Points("coreTemperatureStddev").back().value), 0.0);
}

TEST_F(SimulationServiceTest, BindingsAndShadowStateSurviveARestart) {
  ASSERT_TRUE(service_->PutBinding("heaters", J(kBinding)).ok());
  testing::ThermalAsset asset(11, 0.2);
  asset.set_heat_transfer(kTrueHeatTransfer);
  Feed(asset, 3000);
  const double before = Estimate(WaitForObservations(600), "heatTransfer");

  service_->Stop();
  service_.reset();
  Open();
  auto binding = service_->FindBinding("heaters");
  ASSERT_TRUE(binding.ok()) << binding.status().ToString();
  EXPECT_EQ(binding->at("model").as_string(), "thermalTest");
  // The restored run continues from the saved estimate: the next readings are filtered at once.
  Feed(asset, 50);
  json::object state = WaitForObservations(10);
  ASSERT_FALSE(state.empty());
  EXPECT_NEAR(Estimate(state, "heatTransfer"), before, 0.5);
  EXPECT_FALSE(state.at("bindings").as_array().at(0).at("last").at("restarted").as_bool());
}

TEST_F(SimulationServiceTest, WhatIfJobsForkTheEstimatedStateAndCompareScenarios) {
  ASSERT_TRUE(service_->PutBinding("heaters", J(kBinding)).ok());
  testing::ThermalAsset asset(3, 0.2);
  asset.set_heat_transfer(kTrueHeatTransfer);
  Feed(asset, 2000);
  WaitForObservations(400);

  auto job = service_->StartScenarios("heater-1", J(R"({"base": "hold", "horizon": "2h", "resolution": "1m",
      "scenarios": [{"name": "off", "inputs": {"heaterPower": {"value": 0}}},
                    {"name": "full", "inputs": {"heaterPower": {"value": 400}}},
                    {"name": "double", "inputs": {"heaterPower": {"value": 800}}}]})"));
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  json::object done = WaitForJob(std::string(job->at("id").as_string()));
  ASSERT_EQ(done.at("status").as_string(), "succeeded") << ToJson(done);
  ASSERT_TRUE(done.at("scenarios").is_array()) << ToJson(done);
  const auto& scenarios = done.at("scenarios").as_array();
  ASSERT_EQ(scenarios.size(), 3u);
  // After two hours the surface settles near ambient + P / heatTransfer (the estimated one).
  std::vector<double> finals;
  for (const auto& s : scenarios) {
    finals.push_back(s.at("outputs").at("heatLoss").at("summary").at("final").to_number<double>());
  }
  ASSERT_EQ(finals.size(), 3u);
  EXPECT_NEAR(finals[0], 0.0, 5.0);
  EXPECT_NEAR(finals[1], 400.0, 20.0);
  EXPECT_NEAR(finals[2], 800.0, 40.0);
  EXPECT_EQ(service_->ScenarioJobs("heater-1").size(), 1u);
  EXPECT_EQ(service_->Scenarios("other-twin", std::string(job->at("id").as_string())).status().code(),
            StatusCode::kNotFound);

  auto forecast = service_->Forecast("heater-1", J(R"({"horizon": "1h", "resolution": "5m"})"));
  ASSERT_TRUE(forecast.ok()) << forecast.status().ToString();
  EXPECT_EQ(forecast->at("base").as_string(), "hold");
  EXPECT_EQ(forecast->at("forecast").at("outputs").at("heatLoss").at("values").as_array().size(), 13u);
}

TEST_F(SimulationServiceTest, RefusesBadBindingsWithSpecificErrors) {
  const auto error = [&](std::string_view body) {
    auto put = service_->PutBinding("b", J(body));
    return put.ok() ? std::string("accepted") : put.status().message();
  };
  EXPECT_EQ(error(R"({"twins": {"ids": ["heater-1"]}})"),
            "model: is required (a simulation model name, see GET /simulation/models)");
  EXPECT_EQ(service_->PutBinding("b", J(R"({"model": "nope", "twins": {"ids": ["x"]}})")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(error(R"({"model": "thermalTest", "twins": {"ids": ["heater-1"]}, "inputs": {"heatLoss": "heaterPower"}})"),
            "inputs.heatLoss: 'heatLoss' is an output of model 'thermalTest', not an input");
  EXPECT_EQ(error(R"({"model": "thermalTest", "twins": {"ids": ["heater-1"]}, "inputs": {"heaterPower": "heaterPower"},
                      "measurements": {"surfaceTemperature": {"path": "surfaceTemperature", "noise": 0}}})"),
            "measurements.surfaceTemperature.noise: must be a finite number > 0");
  EXPECT_EQ(error(R"({"model": "thermalTest", "twins": {"ids": ["heater-1"]}, "inputs": {"heaterPower": "heaterPower"},
                      "virtualSensors": {"coreTemperature": {"path": "heaterPower"}}})"),
            "heaterPower: is both read and written by the binding");
  EXPECT_EQ(error(R"({"model": "thermalTest", "twins": {"model": "dtmi:test:Heater;1", "ids": ["a"]}, "inputs": {}})"),
            "twins: needs exactly one of \"model\" or \"ids\"");
  EXPECT_EQ(error(R"({"model": "thermalTest", "twins": {"ids": ["heater-1"]}, "inputs": {"heaterPower": "a>b>c"}})"),
            "inputs.heaterPower: 'a>b>c' is not a twin path (name, component/name or relationship>name)");
  EXPECT_EQ(error(R"({"model": "thermalTest", "twins": {"ids": ["heater-1"]}, "colour": 1})"),
            "colour: unknown member 'colour' (known: name, model, twins, parameters, inputs, measurements, "
            "estimate, virtualSensors, shadow)");
  EXPECT_EQ(service_->PutBinding("bad name!", J(kBinding)).status().message(),
            "binding name 'bad name!' must be 1-64 of A-Z a-z 0-9 _ -");
  EXPECT_TRUE(service_->Bindings().empty()) << "nothing refused was kept";
}

TEST_F(SimulationServiceTest, ConfigFileBindingsAreReadOnlyAndNotPersisted) {
  service_.reset();
  SimulationServiceOptions options{.dir = sim_dir_.path(), .group_wait = std::chrono::milliseconds(20)};
  options.config_bindings["from-config"] = J(kBinding);
  auto service = SimulationService::Open(options, catalog_, graph_, events_, *ingestor_, live_, clock_);
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  service_ = std::move(*service);
  service_->Start();
  auto binding = service_->FindBinding("from-config");
  ASSERT_TRUE(binding.ok());
  EXPECT_EQ(binding->at("source").as_string(), "config");
  EXPECT_EQ(service_->PutBinding("from-config", J(kBinding)).status().message(),
            "binding 'from-config' comes from the config file; change it there");
  EXPECT_EQ(service_->DeleteBinding("from-config").code(), StatusCode::kConflict);
  ASSERT_TRUE(service_->PutBinding("from-api", J(kBinding)).ok());
  EXPECT_EQ(service_->FindBinding("from-api")->at("source").as_string(), "api");
  // Only the API's binding is written to bindings.json; the config's is live (a shadow run).
  testing::ThermalAsset asset(5, 0.2);
  Feed(asset, 50);
  auto state = service_->TwinState("heater-1");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->at("bindings").as_array().size(), 2u);
  service_.reset();
  auto reopened = SimulationService::Open({.dir = sim_dir_.path()}, catalog_, graph_, events_, *ingestor_, live_, clock_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->FindBinding("from-api").ok());
  EXPECT_EQ((*reopened)->FindBinding("from-config").status().code(), StatusCode::kNotFound);

  SimulationServiceOptions bad{.dir = sim_dir_.path()};
  bad.config_bindings["broken"] = J(R"({"model": "thermalTest", "twins": {"ids": ["heater-1"]}, "inputs": {"nope": "x"}})");
  EXPECT_EQ(SimulationService::Open(bad, catalog_, graph_, events_, *ingestor_, live_, clock_).status().message(),
            "simulation.bindings.broken: inputs.nope: model 'thermalTest' has no variable 'nope'");
}

TEST_F(SimulationServiceTest, APropertyChangedThroughTheGraphDrivesTheNextObservation) {
  ASSERT_TRUE(service_->PutBinding("heaters", J(R"({"model": "thermalTest", "twins": {"ids": ["heater-1"]},
      "inputs": {"heaterPower": "heaterPower", "ambientTemperature": "roomTemperature"},
      "measurements": {"surfaceTemperature": {"path": "surfaceTemperature", "noise": 0.2}},
      "estimate": {"heatTransfer": {"stddev": 5}}})")).ok());
  testing::ThermalAsset asset(9, 0.2);
  const auto feed = [&](double seconds) {
    for (double t = 0; t < seconds; t += 5.0) {
      const double surface = asset.Advance(5.0);
      const int64_t time = kT0 + static_cast<int64_t>(asset.t * 1e9);
      std::vector<ingest::Reading> batch = {{"heater-1", "heaterPower", time, testing::HeaterPowerAt(asset.t)},
                                            {"heater-1", "surfaceTemperature", time, surface}};
      ASSERT_TRUE(ingestor_->Write(batch).ok());
    }
  };
  feed(50);
  json::object state = WaitForObservations(10);
  EXPECT_EQ(state.at("bindings").as_array().at(0).at("last").at("inputs").at("ambientTemperature").to_number<double>(),
            20.0) << "the model's default until the property has a value";
  ASSERT_TRUE(graph_.PatchTwin("heater-1", J(R"([{"op": "add", "path": "/roomTemperature", "value": 23.5}])"), {}).ok());
  // The change event is queued before the readings below, and the worker handles changes first.
  feed(50);
  state = WaitForObservations(20);
  const auto& last = state.at("bindings").as_array().at(0).at("last");
  EXPECT_EQ(last.at("inputs").at("ambientTemperature").to_number<double>(), 23.5);
  EXPECT_EQ(state.at("bindings").as_array().at(0).at("rejected").to_number<int64_t>(), 0);
}

TEST_F(SimulationServiceTest, NamesAClassifiedValueItsBindingsRead) {
  ASSERT_TRUE(service_->PutBinding("heaters", J(kBinding)).ok());
  twin::FieldMask mask;
  mask.hidden = [](std::string_view model, std::string_view path) -> std::string_view {
    return model == "dtmi:test:Heater;1" && path == "surfaceTemperature" ? "confidential" : "";
  };
  EXPECT_EQ(service_->HiddenInput("heater-1", mask), "'surfaceTemperature' of 'heater-1' (confidential)");
  EXPECT_EQ(service_->HiddenInput("heater-1", twin::FieldMask{}), "") << "a null mask hides nothing";
  twin::FieldMask other;
  other.hidden = [](std::string_view, std::string_view path) -> std::string_view {
    return path == "nominalHeatTransfer" ? "personal" : "";  // not read by the binding
  };
  EXPECT_EQ(service_->HiddenInput("heater-1", other), "");
}

TEST(TwinPathTest, ParsesOwnComponentAndRelatedPaths) {
  EXPECT_EQ(ParseTwinPath("windSpeed")->ToString(), "windSpeed");
  EXPECT_EQ(ParseTwinPath("nacelle/nacelleTemperature")->path, "nacelle/nacelleTemperature");
  auto related = ParseTwinPath("hasMainBearing>bearingTemperature");
  ASSERT_TRUE(related.ok());
  EXPECT_EQ(related->relationship, "hasMainBearing");
  EXPECT_EQ(related->path, "bearingTemperature");
  EXPECT_FALSE(ParseTwinPath("").ok());
  EXPECT_FALSE(ParseTwinPath("a/b/c").ok());
  EXPECT_FALSE(ParseTwinPath(">x").ok());
  EXPECT_FALSE(ParseTwinPath("1abc").ok());
}

}  // namespace
}  // namespace doppel::sim
