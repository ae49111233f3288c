// Query latencies over a 100k-twin graph: 1,000 wind farms, each with 99 turbines (a tenth of
// them offshore, a model deriving from Turbine), each farm → turbine a `hasTurbine`
// relationship. Built once, through the real TwinGraph (MemoryJournal), then each benchmark
// times one typical query end to end (parse, plan, execute, build the page).
//
//   ./query_benchmark --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "query/query.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::query {
namespace {

constexpr int kFarms = 1000;
constexpr int kTurbinesPerFarm = 99;

void Die(const Status& status, std::string_view what) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(what.size()), what.data(),
               status.ToString().c_str());
  std::abort();
}

json::value MustJson(std::string_view text) {
  auto v = ParseJson(text);
  if (!v.ok()) Die(v.status(), text);
  return *v;
}

std::string FarmId(int f) { return fmt::format("farm-{:06d}", f); }
std::string TurbineId(int f, int t) { return fmt::format("turbine-{:06d}-{:02d}", f, t); }

class BenchGraph {
 public:
  BenchGraph() : graph_(journal_, clock_, events_) { Build(); }
  const twin::TwinGraph& graph() const { return graph_; }

 private:
  void Build() {
    std::vector<json::value> models = {
        MustJson(
            R"({"@id":"dtmi:bench:Asset;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
          "contents":[{"@type":"Property","name":"name","schema":"string"}]})"),
        MustJson(R"({"@id":"dtmi:bench:WindFarm;1","@type":"Interface",
          "@context":"dtmi:dtdl:context;3","extends":"dtmi:bench:Asset;1",
          "contents":[{"@type":"Property","name":"region","schema":"string"},
                      {"@type":"Relationship","name":"hasTurbine",
                       "properties":[{"@type":"Property","name":"since","schema":"integer"}]}]})"),
        MustJson(R"({"@id":"dtmi:bench:Turbine;1","@type":"Interface",
          "@context":"dtmi:dtdl:context;3","extends":"dtmi:bench:Asset;1",
          "contents":[{"@type":"Property","name":"ratedPowerKw","schema":"double"},
                      {"@type":"Property","name":"status","schema":"string"}]})"),
        MustJson(R"({"@id":"dtmi:bench:OffshoreTurbine;1","@type":"Interface",
          "@context":"dtmi:dtdl:context;3","extends":"dtmi:bench:Turbine;1",
          "contents":[{"@type":"Property","name":"waterDepthM","schema":"double"}]})"),
    };
    if (auto r = graph_.AddModels(models); !r.ok()) Die(r.status(), "models");
    static const char* kStatus[] = {"running", "running", "running", "stopped"};
    for (int f = 0; f < kFarms; ++f) {
      json::object farm{{"$metadata", json::object{{"$model", "dtmi:bench:WindFarm;1"}}},
                        {"name", fmt::format("Farm {}", f)},
                        {"region", f % 2 ? "EU" : "US"}};
      if (auto r = graph_.PutTwin(FarmId(f), farm, {}); !r.ok()) Die(r.status(), "farm");
      for (int t = 0; t < kTurbinesPerFarm; ++t) {
        int n = f * kTurbinesPerFarm + t;
        bool offshore = t % 10 == 0;
        json::object turbine{
            {"$metadata", json::object{{"$model", offshore ? "dtmi:bench:OffshoreTurbine;1"
                                                           : "dtmi:bench:Turbine;1"}}},
            {"name", fmt::format("T{}", n)},
            {"ratedPowerKw", 1000.0 + (n * 37 % 4000)},
            // 1% of turbines are in fault.
            {"status", n % 100 == 42 ? "fault" : kStatus[n % 4]}};
        if (offshore) turbine["waterDepthM"] = 20.0 + t;
        if (auto r = graph_.PutTwin(TurbineId(f, t), turbine, {}); !r.ok())
          Die(r.status(), "turbine");
        json::object rel{{"$targetId", TurbineId(f, t)},
                         {"$relationshipName", "hasTurbine"},
                         {"since", 2000 + t % 20}};
        if (auto r = graph_.PutRelationship(FarmId(f), fmt::format("ht-{:02d}", t), rel, {});
            !r.ok()) {
          Die(r.status(), "relationship");
        }
      }
    }
  }

  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_;
};

const BenchGraph& Graph() {
  static const BenchGraph* graph = new BenchGraph();  // built once, never destroyed
  return *graph;
}

void RunQuery(benchmark::State& state, const std::string& text, std::size_t page_size) {
  const twin::TwinGraph& graph = Graph().graph();
  QueryOptions options;
  options.page_size = page_size;
  std::size_t rows = 0;
  for (auto _ : state) {
    auto page = Execute(graph, text, options);
    if (!page.ok()) Die(page.status(), text);
    rows = page->value.size();
    benchmark::DoNotOptimize(page->value.data());
  }
  state.counters["rows"] = static_cast<double>(rows);
}

// Each benchmark is one query; the page size is large enough for the whole result unless
// the name says "first page".
#define QUERY_BENCHMARK(name, text, page_size)                             \
  void name(benchmark::State& state) { RunQuery(state, text, page_size); } \
  BENCHMARK(name)->Unit(benchmark::kMicrosecond)

QUERY_BENCHMARK(BM_ByDtId, "SELECT * FROM DIGITALTWINS T WHERE T.$dtId = 'turbine-000500-07'", 100);
QUERY_BENCHMARK(BM_DtIdIn,
                "SELECT * FROM DIGITALTWINS T WHERE T.$dtId IN ['farm-000001', "
                "'turbine-000002-03', 'turbine-000999-98', 'none']",
                100);
QUERY_BENCHMARK(BM_IsOfModelFarms_1000Rows,
                "SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:bench:WindFarm;1')", 10000);
QUERY_BENCHMARK(BM_IsOfModelTurbines_FirstPage,
                "SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:bench:Turbine;1')", 100);
QUERY_BENCHMARK(BM_CountIsOfModelTurbines_99kTwins,
                "SELECT COUNT() FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:bench:Turbine;1')", 100);
QUERY_BENCHMARK(BM_PropertyEquality_1000Rows,
                "SELECT * FROM DIGITALTWINS T WHERE T.status = 'fault'", 10000);
QUERY_BENCHMARK(BM_StartsWithDtId_99Rows,
                "SELECT * FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'turbine-000042-')", 100);
QUERY_BENCHMARK(BM_RangeFilterFullScan,
                "SELECT T.$dtId, T.ratedPowerKw FROM DIGITALTWINS T "
                "WHERE T.ratedPowerKw >= 4990",
                10000);
QUERY_BENCHMARK(BM_CountAll_100k, "SELECT COUNT() FROM DIGITALTWINS", 100);
QUERY_BENCHMARK(BM_SelectAll_FirstPage, "SELECT * FROM DIGITALTWINS", 100);
QUERY_BENCHMARK(BM_JoinFarmToTurbines_99Rows,
                "SELECT T FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine "
                "WHERE F.$dtId = 'farm-000042'",
                100);
QUERY_BENCHMARK(BM_JoinRelationshipFilter,
                "SELECT T.$dtId, R.since FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine R "
                "WHERE F.$dtId = 'farm-000042' AND R.since >= 2015 AND T.status = 'running'",
                100);
QUERY_BENCHMARK(BM_JoinTurbineToFarm,
                "SELECT F.$dtId FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine "
                "WHERE T.$dtId = 'turbine-000777-33'",
                100);
QUERY_BENCHMARK(BM_JoinAllFarms_CountFaults,
                "SELECT COUNT() FROM DIGITALTWINS F JOIN T RELATED F.hasTurbine "
                "WHERE IS_OF_MODEL(F, 'dtmi:bench:WindFarm;1') AND T.status = 'fault'",
                100);

QUERY_BENCHMARK(BM_RelationshipsBySource_99Rows,
                "SELECT * FROM RELATIONSHIPS R WHERE R.$sourceId = 'farm-000042'", 100);
QUERY_BENCHMARK(BM_RelationshipsByTarget,
                "SELECT R.$sourceId FROM RELATIONSHIPS R WHERE R.$targetId = 'turbine-000777-33'",
                100);
QUERY_BENCHMARK(BM_CountRelationshipsByProperty_99kScanned,
                "SELECT COUNT() FROM RELATIONSHIPS R WHERE R.since = 2019", 100);

// Resuming deep into a result: the token restarts at a twin id, not at an offset.
void BM_ResumeDeepPage(benchmark::State& state) {
  const twin::TwinGraph& graph = Graph().graph();
  const std::string text = "SELECT * FROM DIGITALTWINS";
  QueryOptions options;
  options.page_size = 10000;
  for (int i = 0; i < 9; ++i) {
    auto page = Execute(graph, text, options);
    if (!page.ok()) Die(page.status(), text);
    options.continuation_token = page->continuation_token;
  }
  options.page_size = 100;
  for (auto _ : state) {
    auto page = Execute(graph, text, options);
    if (!page.ok()) Die(page.status(), text);
    benchmark::DoNotOptimize(page->value.data());
  }
}
BENCHMARK(BM_ResumeDeepPage)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace doppel::query

BENCHMARK_MAIN();
