// Shadow mode keeping up with ingest, in process: 1,000 turbine twins bound to the windTurbine
// model; each second of data time every twin gets windSpeed, activePower and rotorSpeed in one
// ingest batch (3,000 readings, history without fsync), written as fast as the Ingestor takes
// them. Timed from the first write until the shadow worker has observed every instant: the
// readings per second the whole path sustains (ingest → queue → step + filter → derived
// telemetry written back), and the worker's own time per reading.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "sim/simulation_service.h"
#include "twin/events.h"
#include "twin/journal.h"

namespace doppel::sim {
namespace {

constexpr int kTwins = 1000;
constexpr int kSeconds = 60;
constexpr int64_t kT0 = 1'700'000'000'000'000'000;

constexpr std::string_view kModel = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:Turbine;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "rotorSpeedLimit", "schema": "double"},
    {"@type": "Telemetry", "name": "windSpeed", "schema": "double"},
    {"@type": "Telemetry", "name": "activePower", "schema": "double"},
    {"@type": "Telemetry", "name": "rotorSpeed", "schema": "double"},
    {"@type": "Telemetry", "name": "expectedActivePower", "schema": "double"},
    {"@type": "Telemetry", "name": "activePowerResidual", "schema": "double"}
  ]})";

constexpr std::string_view kBinding = R"({
  "model": "windTurbine", "twins": {"model": "dtmi:bench:Turbine;1"},
  "inputs": {"windSpeed": "windSpeed", "rotorSpeedLimit": "rotorSpeedLimit"},
  "measurements": {
    "activePower": {"path": "activePower", "noise": 60, "expected": "expectedActivePower",
                    "residual": "activePowerResidual"},
    "rotorSpeed": {"path": "rotorSpeed", "noise": 0.5}},
  "estimate": {"rotorSpeed": {"stddev": 1}, "bearingFrictionCoefficient": {"stddev": 0.001, "drift": 0.0001}}
})";

// A counter's value from the service's Prometheus text.
double Metric(const SimulationService& service, const std::string& series) {
  std::string text;
  service.RenderMetrics(text);
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? 0.0 : std::stod(text.substr(at + series.size() + 2));
}

void BM_ShadowKeepsUpWithIngest(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / ("doppel-shadow-bench-" + std::to_string(::getpid()));
  for (auto _ : state) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    twin::MemoryJournal journal;
    ManualClock clock{TimePoint(std::chrono::nanoseconds(kT0))};
    twin::EventBus events;
    twin::TwinGraph graph(journal, clock, events);
    if (!graph.AddModels({ParseJson(kModel).value()}).ok()) return state.SkipWithError("model");
    for (int i = 0; i < kTwins; ++i) {
      auto put = graph.PutTwin("wtg-" + std::to_string(i),
                               ParseJson(R"({"$metadata": {"$model": "dtmi:bench:Turbine;1"}, "rotorSpeedLimit": 12.6})")
                                   .value(),
                               {});
      if (!put.ok()) return state.SkipWithError("twin");
    }
    auto store = tsdb::SeriesStore::Open((dir / "history").string(), {.sync = false});
    if (!store.ok()) return state.SkipWithError("store");
    ingest::Ingestor ingestor(graph, **store);
    ingest::LiveState live;
    ModelCatalog catalog = ModelCatalog::WithBuiltins();
    auto service = SimulationService::Open({.group_wait = std::chrono::milliseconds(20)}, catalog, graph, events,
                                           ingestor, live, clock);
    if (!service.ok()) return state.SkipWithError("service");
    (*service)->Start();
    if (!(*service)->PutBinding("turbines", ParseJson(kBinding).value()).ok()) return state.SkipWithError("binding");

    const auto started = std::chrono::steady_clock::now();
    for (int s = 0; s < kSeconds; ++s) {
      std::vector<ingest::Reading> batch;
      batch.reserve(3 * kTwins);
      const int64_t time = kT0 + int64_t{s} * 1'000'000'000;
      for (int i = 0; i < kTwins; ++i) {
        const double wind = 8.0 + 2.0 * std::sin(0.01 * s + i);
        const double power = 3600.0 * std::pow((wind - 3.0) / 9.0, 3);
        const std::string id = "wtg-" + std::to_string(i);
        batch.push_back({id, "windSpeed", time, wind});
        batch.push_back({id, "activePower", time, power});
        batch.push_back({id, "rotorSpeed", time, std::min(14.0, 4.0 + 0.85 * wind)});
      }
      if (!ingestor.Write(batch).ok()) return state.SkipWithError("write");
    }
    const double instants = static_cast<double>(kTwins) * kSeconds;
    while (Metric(**service, "doppel_sim_observations_total{outcome=\"ok\"}") +
               Metric(**service, "doppel_sim_observations_total{outcome=\"refused\"}") <
           instants) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    state.SetIterationTime(elapsed);
    const double readings = 3 * instants;
    state.counters["readings_per_s"] = readings / elapsed;
    state.counters["shadow_worker_us_per_reading"] =
        Metric(**service, "doppel_sim_observe_seconds_total") * 1e6 / readings;
    state.counters["dropped"] = Metric(**service, "doppel_sim_readings_total{outcome=\"dropped\"}");
    (*service)->Stop();
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ShadowKeepsUpWithIngest)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace doppel::sim
BENCHMARK_MAIN();
