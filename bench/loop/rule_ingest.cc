#include "loop/rule_ingest.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "automation/rule_engine.h"
#include "base/clock.h"
#include "base/json.h"
#include "ingest/ingestor.h"
#include "tsdb/series_store.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::bench {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kMinute = 60'000'000'000;

constexpr std::string_view kSensorModel = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:loop:Sensor;1", "@type": "Interface",
  "contents": [{"@type": "Telemetry", "name": "s0", "schema": "double"},
               {"@type": "Telemetry", "name": "s1", "schema": "double"}]})";
constexpr std::string_view kGroupModel = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:loop:Group;1", "@type": "Interface",
  "contents": [{"@type": "Relationship", "name": "has", "target": "dtmi:bench:loop:Sensor;1"}]})";
// Both signals and a window function; false on the bench's data (values around 10), so the
// figure is the evaluation itself, not actions.
constexpr const char* kCondition = "avg(s0, 10m) > 25 or s1 > 40 for 5m";

[[noreturn]] void Fail(const std::string& what, const Status& status) {
  std::fprintf(stderr, "bench-loop: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A graph of groups and sensors, a history store without fsync and an Ingestor in a fresh temp
// directory.
struct Stack {
  explicit Stack(const RuleIngestOptions& options)
      : dir(std::filesystem::temp_directory_path() / fmt::format("doppel-bench-loop-{}", ::getpid())),
        clock(TimePoint(std::chrono::nanoseconds(kT0))),
        graph(journal, clock, events) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto opened = tsdb::SeriesStore::Open((dir / "history").string(), {.sync = false});
    if (!opened.ok()) Fail("history", opened.status());
    store = std::move(*opened);
    ingestor = std::make_unique<ingest::Ingestor>(graph, *store);
    if (auto added = graph.AddModels({ParseJson(kSensorModel).value(), ParseJson(kGroupModel).value()}); !added.ok()) {
      Fail("models", added.status());
    }
    const std::size_t per_group = options.twins / options.rules;
    for (std::size_t g = 0; g < options.rules; ++g) {
      const std::string group = fmt::format("group-{}", g);
      Put(group, "dtmi:bench:loop:Group;1");
      for (std::size_t i = g * per_group; i < (g + 1) * per_group; ++i) {
        const std::string sensor = fmt::format("sensor-{}", i);
        Put(sensor, "dtmi:bench:loop:Sensor;1");
        const json::value rel = json::object{{"$relationshipName", "has"}, {"$targetId", sensor}};
        if (auto r = graph.PutRelationship(group, fmt::format("has-{}", i), rel, {}); !r.ok()) {
          Fail("relationship", r.status());
        }
      }
    }
  }
  ~Stack() {
    ingestor.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  void Put(const std::string& id, const char* model) {
    const json::value body = json::object{{"$metadata", json::object{{"$model", model}}}};
    if (auto r = graph.PutTwin(id, body, {}); !r.ok()) Fail("twin " + id, r.status());
  }

  std::filesystem::path dir;
  twin::MemoryJournal journal;
  ManualClock clock;
  twin::EventBus events;
  twin::TwinGraph graph;
  std::unique_ptr<tsdb::SeriesStore> store;
  std::unique_ptr<ingest::Ingestor> ingestor;
};

// Every sensor once per data minute, s0 and s1 alternating by minute, in batches; prepared
// before any clock starts.
std::vector<std::vector<ingest::Reading>> Batches(const RuleIngestOptions& options) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(10.0, 1.0);
  std::vector<std::vector<ingest::Reading>> batches;
  std::vector<ingest::Reading> batch;
  for (std::size_t n = 0; n < options.readings; ++n) {
    const std::size_t twin = n % options.twins, minute = n / options.twins;
    batch.push_back({fmt::format("sensor-{}", twin), minute % 2 == 0 ? "s0" : "s1",
                     kT0 + static_cast<int64_t>(minute) * kMinute, noise(rng)});
    if (batch.size() == options.batch) batches.push_back(std::move(batch)), batch.clear();
  }
  if (!batch.empty()) batches.push_back(std::move(batch));
  return batches;
}

double Ingest(Stack& stack, const std::vector<std::vector<ingest::Reading>>& batches,
              automation::RuleEngine* engine) {
  const auto start = std::chrono::steady_clock::now();
  for (const auto& b : batches) {
    if (Status s = stack.ingestor->Write(b); !s.ok()) Fail("write", s);
  }
  if (engine != nullptr) engine->Flush();
  return SecondsSince(start);
}

}  // namespace

RuleIngestFigures RunRuleIngest(const RuleIngestOptions& options) {
  RuleIngestFigures figures;
  std::fprintf(stderr, "bench-loop: %zu readings in batches of %zu over %zu twins\n", options.readings, options.batch,
               options.twins);
  const auto batches = Batches(options);
  const double total = static_cast<double>(options.readings);
  double without = 0;
  {
    Stack stack(options);
    without = Ingest(stack, batches, nullptr);
  }
  figures.readings_per_s_without_rules = total / without;
  std::fprintf(stderr, "bench-loop: without rules %.0f readings/s\n", figures.readings_per_s_without_rules);

  Stack stack(options);
  uint64_t activations = 0;
  automation::RuleEngine engine(stack.graph, stack.events, *stack.ingestor, nullptr, nullptr,
                                [&activations](const automation::RuleTransition&) { ++activations; });
  engine.Start();
  const auto put_start = std::chrono::steady_clock::now();
  for (std::size_t g = 0; g < options.rules; ++g) {
    automation::RuleSpec spec{.name = fmt::format("rule-{}", g),
                              .scope = {.model = "dtmi:bench:loop:Sensor;1", .under = fmt::format("group-{}", g)},
                              .condition = kCondition};
    if (Status s = engine.Put(spec); !s.ok()) Fail(spec.name, s);
  }
  engine.Flush();
  figures.setup_s = SecondsSince(put_start);
  std::fprintf(stderr, "bench-loop: %zu rules put in %.1f s\n", options.rules, figures.setup_s);
  const double with = Ingest(stack, batches, &engine);
  const auto counters = engine.counters();
  engine.Stop();
  figures.readings_per_s_with_rules = total / with;
  figures.drop_pct = 100.0 * (1.0 - figures.readings_per_s_with_rules / figures.readings_per_s_without_rules);
  figures.eval_ns_per_update = (with - without) / total * 1e9;
  figures.evaluations = counters.evaluations;
  figures.activations = activations;
  figures.updates_dropped = counters.updates_dropped;
  std::fprintf(stderr,
               "bench-loop: with %zu rules %.0f readings/s (drop %.1f %%), %.0f ns per update, %llu evaluations, "
               "%llu dropped\n",
               options.rules, figures.readings_per_s_with_rules, figures.drop_pct, figures.eval_ns_per_update,
               static_cast<unsigned long long>(counters.evaluations),
               static_cast<unsigned long long>(counters.updates_dropped));
  return figures;
}

}  // namespace doppel::bench
