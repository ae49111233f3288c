// The rule engine on the ingest path (issue #7, bench/RESULTS.md), in process, with 10,000
// rules over 100,000 twins: 1,000 farms of 100 turbines; rule i watches the turbines under
// farm (i mod 1000) — scope {model Turbine, under the farm, through hasTurbine} — with
// condition "s<k> > 90", k = (i / 1000) mod 10. Every turbine is in 10 rules, one per signal
// s0…s9: 1,000,000 (rule, twin) instances; path "ambient" is watched by none.
//
//  - BM_Listener/unwatched|watched: what the ingest listener costs per reading (a batch of
//    1,000 readings of random turbines): the routing lookup, and for a watched path the queue
//    push too (the worker drains concurrently).
//  - BM_Evaluate: updates/s through routing and evaluation — 100,000 watched readings queued,
//    then evaluated by Flush on the benchmark's thread (the worker stopped), so CPU time is
//    the whole cost even on a loaded machine.
//  - BM_IngestWrite/rules:0|1: Ingestor::Write of 1,000-reading batches (history without
//    fsync; half watched paths, half not) without and with the engine: the drop is the
//    rules' price on ingest throughput (the goal: at most 10 %).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "automation/rule_engine.h"
#include "base/clock.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::automation {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;
constexpr int kFarms = 1000;
constexpr int kTurbinesPerFarm = 100;
constexpr int kRules = 10'000;
constexpr std::size_t kBatch = 1000;

constexpr std::string_view kTurbine = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:Turbine;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "s0", "schema": "double"}, {"@type": "Telemetry", "name": "s1", "schema": "double"},
    {"@type": "Telemetry", "name": "s2", "schema": "double"}, {"@type": "Telemetry", "name": "s3", "schema": "double"},
    {"@type": "Telemetry", "name": "s4", "schema": "double"}, {"@type": "Telemetry", "name": "s5", "schema": "double"},
    {"@type": "Telemetry", "name": "s6", "schema": "double"}, {"@type": "Telemetry", "name": "s7", "schema": "double"},
    {"@type": "Telemetry", "name": "s8", "schema": "double"}, {"@type": "Telemetry", "name": "s9", "schema": "double"},
    {"@type": "Telemetry", "name": "ambient", "schema": "double"}
  ]})";
constexpr std::string_view kFarm = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:Farm;1", "@type": "Interface",
  "contents": [{"@type": "Relationship", "name": "hasTurbine", "target": "dtmi:bench:Turbine;1"}]})";

std::string TurbineId(int i) { return fmt::format("wtg-{:06d}", i); }

// The graph, a history store without fsync, the Ingestor and (on demand) the engine.
struct World {
  World()
      : dir(std::filesystem::temp_directory_path() / fmt::format("rules-bench-{}", ::getpid())),
        clock(TimePoint(std::chrono::nanoseconds(kT0))),
        graph(journal, clock, events) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = std::move(tsdb::SeriesStore::Open((dir / "history").string(), {.sync = false}).value());
    ingestor = std::make_unique<ingest::Ingestor>(graph, *store);
    (void)graph.AddModels({ParseJson(kTurbine).value(), ParseJson(kFarm).value()}).value();
    const json::value turbine = ParseJson(R"({"$metadata": {"$model": "dtmi:bench:Turbine;1"}})").value();
    const json::value farm = ParseJson(R"({"$metadata": {"$model": "dtmi:bench:Farm;1"}})").value();
    for (int f = 0; f < kFarms; ++f) {
      const std::string farm_id = fmt::format("farm-{:04d}", f);
      (void)graph.PutTwin(farm_id, farm, {}).value();
      for (int t = 0; t < kTurbinesPerFarm; ++t) {
        const int i = f * kTurbinesPerFarm + t;
        (void)graph.PutTwin(TurbineId(i), turbine, {}).value();
        json::object rel{{"$relationshipName", "hasTurbine"}, {"$targetId", TurbineId(i)}};
        (void)graph.PutRelationship(farm_id, fmt::format("t{}", t), rel, {}).value();
      }
    }
  }
  ~World() {
    engine.reset();
    ingestor.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  RuleEngine& Engine() {
    if (engine) return *engine;
    engine = std::make_unique<RuleEngine>(graph, events, *ingestor, nullptr, nullptr, nullptr);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRules; ++i) {
      RuleSpec spec{.name = fmt::format("rule-{}", i),
                    .scope = {.model = "dtmi:bench:Turbine;1",
                              .under = fmt::format("farm-{:04d}", i % kFarms),
                              .relationships = {"hasTurbine"}},
                    .condition = fmt::format("s{} > 90", (i / kFarms) % 10)};
      Status s = engine->Put(spec);
      if (!s.ok()) throw std::runtime_error(s.ToString());
    }
    engine->Start();
    engine->Flush();
    put_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return *engine;
  }

  // `kBatch` readings of random turbines at `path` ("" = s0…s9 and ambient alternating),
  // all below the thresholds, at time `t`.
  std::vector<ingest::Reading> Batch(const std::string& path, int64_t t) {
    std::vector<ingest::Reading> batch;
    batch.reserve(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      const int twin = static_cast<int>(rng() % (kFarms * kTurbinesPerFarm));
      std::string p = !path.empty() ? path : (i % 2 == 0 ? fmt::format("s{}", rng() % 10) : std::string("ambient"));
      batch.push_back({TurbineId(twin), std::move(p), t, 50.0 + static_cast<double>(rng() % 40)});
    }
    return batch;
  }

  std::filesystem::path dir;
  ManualClock clock;
  twin::MemoryJournal journal;
  twin::EventBus events;
  twin::TwinGraph graph;
  std::unique_ptr<tsdb::SeriesStore> store;
  std::unique_ptr<ingest::Ingestor> ingestor;
  std::unique_ptr<RuleEngine> engine;
  std::mt19937_64 rng{42};
  double put_seconds = 0;
};

World& TheWorld() {
  static World world;
  return world;
}

// Ingest throughput: 1,000-reading batches (the same 100 twins' series, so steady state
// writes no new series), without the engine (rules:0) and with it (rules:1).
void BM_IngestWrite(benchmark::State& state) {
  World& w = TheWorld();
  if (state.range(0) == 1) w.Engine();
  std::vector<ingest::Reading> batch;
  for (std::size_t i = 0; i < kBatch; ++i) {
    batch.push_back({TurbineId(static_cast<int>(i % 100) * 997), i % 2 == 0 ? fmt::format("s{}", i % 10) : "ambient",
                     0, 50.0});
  }
  int64_t t = kT0;
  for (auto _ : state) {
    t += kSecond;
    for (ingest::Reading& r : batch) r.time = t;
    Status s = w.ingestor->Write(batch);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  if (w.engine) w.engine->Flush();
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
}
BENCHMARK(BM_IngestWrite)->ArgName("rules")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_Listener(benchmark::State& state) {
  World& w = TheWorld();
  RuleEngine& engine = w.Engine();
  const bool watched = state.range(0) == 1;
  std::vector<std::vector<ingest::Reading>> batches;
  for (int i = 0; i < 16; ++i) batches.push_back(w.Batch(watched ? fmt::format("s{}", i % 10) : "ambient", kT0 + i));
  std::size_t n = 0;
  for (auto _ : state) engine.OnReadings(batches[n++ % batches.size()]);
  engine.Flush();
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
  state.counters["put_s"] = w.put_seconds;
  state.counters["dropped"] = static_cast<double>(engine.counters().updates_dropped);
}
BENCHMARK(BM_Listener)->ArgName("watched")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_Evaluate(benchmark::State& state) {
  World& w = TheWorld();
  RuleEngine& engine = w.Engine();
  std::vector<std::vector<ingest::Reading>> batches;
  int64_t t = kT0 + 1000 * kSecond;
  for (int i = 0; i < 100; ++i) batches.push_back(w.Batch(fmt::format("s{}", i % 10), t + i * kSecond));
  const uint64_t evaluations = engine.counters().evaluations;
  engine.Stop();
  for (auto _ : state) {
    for (auto& batch : batches) {
      t += kSecond;
      for (ingest::Reading& r : batch) r.time = t;
      engine.OnReadings(batch);
    }
    engine.Flush();
  }
  engine.Start();
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batches.size() * kBatch));
  state.counters["evaluations"] = static_cast<double>(engine.counters().evaluations - evaluations);
}
BENCHMARK(BM_Evaluate)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace doppel::automation

BENCHMARK_MAIN();
