// Analytics on the ingest path (issue #6, bench/RESULTS.md), in process:
//
//  - BM_IngestWithDetectors/<kind>: 1,000 twins × 10 telemetry signals = 10,000 series; each
//    second of data time one ingest batch of 10,000 readings (history without fsync), 100
//    seconds = 1M readings through Ingestor::Write, as fast as it takes them. With a kind, one
//    univariate detector of that kind per series (no score output), and the clock stops only
//    when the service has scored every reading (Flush). "none" is the same ingest without the
//    service: the drop is the detectors' price.
//  - BM_DetectorUpdate/<kind>: one detector alone, the cost of one Update.
//  - BM_KpiTick: 100 machines in 10 lines under one plant, an 8 h shift of history (state
//    every 10 min, counters every 30 s, power every 10 s); the cost of a live KPI tick that
//    computes every machine, line and the plant and writes their KPI telemetry.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "analytics/analytics_service.h"
#include "analytics/anomaly/detector.h"
#include "analytics/kpi/kpi_engine.h"
#include "base/clock.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "twin/events.h"
#include "twin/journal.h"

namespace doppel::analytics {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kSecond = 1'000'000'000;
const char* const kKinds[] = {"none", "ewma", "mad", "changepoint", "seasonal", "context", "ensemble"};

constexpr std::string_view kSensorModel = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:Sensor;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "s0", "schema": "double"}, {"@type": "Telemetry", "name": "s1", "schema": "double"},
    {"@type": "Telemetry", "name": "s2", "schema": "double"}, {"@type": "Telemetry", "name": "s3", "schema": "double"},
    {"@type": "Telemetry", "name": "s4", "schema": "double"}, {"@type": "Telemetry", "name": "s5", "schema": "double"},
    {"@type": "Telemetry", "name": "s6", "schema": "double"}, {"@type": "Telemetry", "name": "s7", "schema": "double"},
    {"@type": "Telemetry", "name": "s8", "schema": "double"}, {"@type": "Telemetry", "name": "s9", "schema": "double"}
  ]})";

// A graph, a history store without fsync and an Ingestor in a fresh temp directory.
struct Stack {
  explicit Stack(const std::string& name)
      : dir(std::filesystem::temp_directory_path() / fmt::format("{}-{}", name, ::getpid())),
        clock(TimePoint(std::chrono::nanoseconds(kT0))),
        graph(journal, clock, events) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = std::move(tsdb::SeriesStore::Open((dir / "history").string(), {.sync = false}).value());
    ingestor = std::make_unique<ingest::Ingestor>(graph, *store);
  }
  ~Stack() {
    ingestor.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  bool AddTwin(const std::string& id, std::string_view model, std::string_view properties = "") {
    const std::string body = properties.empty()
                                 ? fmt::format(R"({{"$metadata": {{"$model": "{}"}}}})", model)
                                 : fmt::format(R"({{"$metadata": {{"$model": "{}"}}, {}}})", model, properties);
    return graph.PutTwin(id, ParseJson(body).value(), {}).ok();
  }

  std::filesystem::path dir;
  twin::MemoryJournal journal;
  ManualClock clock;
  twin::EventBus events;
  twin::TwinGraph graph;
  ingest::LiveState live;
  std::unique_ptr<tsdb::SeriesStore> store;
  std::unique_ptr<ingest::Ingestor> ingestor;
};

// A reading's value: a noisy daily-ish wave per series, an occasional spike.
double SignalValue(int twin, int signal, int second, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0.0, 0.3);
  const double spike = (second % 97 == 0 && (twin + signal) % 13 == 0) ? 8.0 : 0.0;
  return 10.0 + 3.0 * std::sin(0.05 * second + twin + signal) + noise(rng) + spike;
}

void BM_IngestWithDetectors(benchmark::State& state) {
  const std::string kind = kKinds[state.range(0)];
  constexpr int kTwins = 1000, kSignals = 10, kSeconds = 100;
  for (auto _ : state) {
    Stack stack("doppel-analytics-bench");
    if (!stack.graph.AddModels({ParseJson(kSensorModel).value()}).ok()) return state.SkipWithError("model");
    for (int i = 0; i < kTwins; ++i) {
      if (!stack.AddTwin(fmt::format("sensor-{}", i), "dtmi:bench:Sensor;1")) return state.SkipWithError("twin");
    }
    std::unique_ptr<AnalyticsService> service;
    if (kind != "none") {
      auto opened = AnalyticsService::Open({.kpi_interval = std::chrono::seconds(0)}, stack.graph, stack.events,
                                           *stack.ingestor, stack.live, stack.clock);
      if (!opened.ok()) return state.SkipWithError(opened.status().ToString().c_str());
      service = std::move(*opened);
      service->Start();
      for (int s = 0; s < kSignals; ++s) {
        const auto body = ParseJson(fmt::format(R"({{"model": "dtmi:bench:Sensor;1", "kind": "{}", "signals": ["s{}"]}})",
                                                kind, s));
        if (!service->PutDetector(fmt::format("d{}", s), body.value()).ok()) return state.SkipWithError("detector");
      }
      service->Flush();
    }
    // Batches prepared before the clock starts: the figure is ingest + detectors, not
    // building strings.
    std::mt19937_64 rng(7);
    std::vector<std::vector<ingest::Reading>> batches(kSeconds);
    for (int second = 0; second < kSeconds; ++second) {
      auto& batch = batches[second];
      batch.reserve(kTwins * kSignals);
      for (int i = 0; i < kTwins; ++i) {
        const std::string id = fmt::format("sensor-{}", i);
        for (int s = 0; s < kSignals; ++s) {
          batch.push_back({id, fmt::format("s{}", s), kT0 + second * kSecond, SignalValue(i, s, second, rng)});
        }
      }
    }
    const auto started = std::chrono::steady_clock::now();
    for (const auto& batch : batches) {
      if (!stack.ingestor->Write(batch).ok()) return state.SkipWithError("write");
    }
    if (service) service->Flush();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    state.SetIterationTime(elapsed);
    state.counters["readings_per_s"] = kTwins * kSignals * kSeconds / elapsed;
    if (service) service->Stop();
  }
}
BENCHMARK(BM_IngestWithDetectors)
    ->DenseRange(0, 6)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void BM_DetectorUpdate(benchmark::State& state) {
  const std::string kind = kKinds[state.range(0)];
  auto spec = ParseDetectorSpec(ParseJson(fmt::format(R"({{"kind": "{}", "signals": ["x"]}})", kind)).value());
  if (!spec.ok()) return state.SkipWithError(spec.status().ToString().c_str());
  auto detector = MakeDetector(*spec);
  std::mt19937_64 rng(3);
  std::vector<double> values(4096);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = SignalValue(1, 2, static_cast<int>(i), rng);
  int64_t time = kT0;
  std::size_t i = 0;
  for (auto _ : state) {
    const double value = values[i++ & 4095];
    benchmark::DoNotOptimize(detector->Update(time, std::span<const double>(&value, 1)));
    time += 60 * kSecond;
  }
  state.counters["ns_per_reading"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_DetectorUpdate)->DenseRange(1, 6);

constexpr std::string_view kMachineModel = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:Machine;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "state", "schema": "string"},
    {"@type": "Property", "name": "goodCount", "schema": "long"},
    {"@type": "Property", "name": "scrapCount", "schema": "long"},
    {"@type": "Property", "name": "idealCycleTime", "schema": "double"},
    {"@type": "Telemetry", "name": "powerDraw", "schema": "double"},
    {"@type": "Telemetry", "name": "oee", "schema": "double"},
    {"@type": "Telemetry", "name": "availability", "schema": "double"},
    {"@type": "Telemetry", "name": "performance", "schema": "double"},
    {"@type": "Telemetry", "name": "quality", "schema": "double"}
  ]})";
constexpr std::string_view kGroupModel = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:Group;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "oee", "schema": "double"},
    {"@type": "Relationship", "name": "has"}
  ]})";

void BM_KpiTick(benchmark::State& state) {
  constexpr int kLines = 10, kMachinesPerLine = 10;
  constexpr int64_t kShift = 8 * 3600;
  Stack stack("doppel-kpi-bench");
  if (!stack.graph.AddModels({ParseJson(kMachineModel).value(), ParseJson(kGroupModel).value()}).ok()) {
    return state.SkipWithError("models");
  }
  // The shift starts at 06:00 UTC of the clock's day; the clock stands at its end.
  const int64_t day = kT0 / (86400 * kSecond) * (86400 * kSecond);
  const int64_t shift_start = day + 6 * 3600 * kSecond;
  stack.clock.Set(TimePoint(std::chrono::nanoseconds(shift_start + kShift * kSecond - kSecond)));
  if (!stack.AddTwin("plant", "dtmi:bench:Group;1")) return state.SkipWithError("plant");
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (int l = 0; l < kLines; ++l) {
    const std::string line = fmt::format("line-{}", l);
    if (!stack.AddTwin(line, "dtmi:bench:Group;1")) return state.SkipWithError("line");
    if (!stack.graph.PutRelationship("plant", line, ParseJson(fmt::format(R"({{"$relationshipName": "has", "$targetId": "{}"}})", line)).value(), {}).ok()) {
      return state.SkipWithError("relationship");
    }
    for (int m = 0; m < kMachinesPerLine; ++m) {
      const std::string machine = fmt::format("{}-m{}", line, m);
      if (!stack.AddTwin(machine, "dtmi:bench:Machine;1", R"("idealCycleTime": 40.0)")) return state.SkipWithError("machine");
      if (!stack.graph.PutRelationship(line, machine, ParseJson(fmt::format(R"({{"$relationshipName": "has", "$targetId": "{}"}})", machine)).value(), {}).ok()) {
        return state.SkipWithError("relationship");
      }
      std::vector<ingest::Reading> history;
      int64_t good = 0, scrap = 0;
      for (int64_t s = 0; s < kShift; s += 10) {
        const int64_t t = shift_start + s * kSecond;
        const bool running = (s / 600 + m) % 6 != 0;
        history.push_back({machine, "powerDraw", t, running ? 11.0 : 2.0});
        if (s % 30 == 0 && running) {
          (uniform(rng) < 0.02 ? scrap : good) += 1;
          history.push_back({machine, "goodCount", t, good});
          history.push_back({machine, "scrapCount", t, scrap});
        }
        if (s % 600 == 0) history.push_back({machine, "state", t, std::string(running ? "running" : "down")});
      }
      if (!stack.ingestor->Write(history).ok()) return state.SkipWithError("history");
    }
  }
  KpiEngine engine(stack.graph, *stack.store, *stack.ingestor, stack.clock);
  const auto put = [&](const char* name, std::string_view body) { return engine.Put(name, ParseJson(body).value()).ok(); };
  if (!put("machines", R"({"model": "dtmi:bench:Machine;1", "state": {"path": "state", "map": {"running": "running", "down": "unplannedStop"}},
                           "good": "goodCount", "scrap": "scrapCount", "idealCycleTime": "idealCycleTime", "power": "powerDraw",
                           "maxGap": "15m", "shift": {"length": "8h", "start": "06:00"}})") ||
      !put("groups", R"({"model": "dtmi:bench:Group;1", "rollUp": ["has"], "shift": {"length": "8h", "start": "06:00"}})")) {
    return state.SkipWithError("definitions");
  }
  for (auto _ : state) {
    if (!engine.Tick().ok()) return state.SkipWithError("tick");
  }
  state.counters["kpi_tick_ms"] = engine.last_tick_seconds() * 1e3;
}
BENCHMARK(BM_KpiTick)->Iterations(5)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace doppel::analytics
BENCHMARK_MAIN();
