// Authorisation check costs (auth/policy.h): what every API request, ingest batch and query row
// pays for Allows / the visibility filter.
//
//   auth_benchmark
//
// The graph: a fleet of 100 sites, each containing 99 turbines (10,000 twins), built through
// the real TwinGraph on a MemoryJournal. Checks rotate over every twin, so hits and misses mix
// as they would in a query over the whole graph.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "auth/policy.h"
#include "base/clock.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::auth {
namespace {

constexpr int kSites = 100;
constexpr int kTurbinesPerSite = 99;  // 100 sites + 9,900 turbines = 10,000 twins

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kAsset = R"({"@id":"dtmi:bench:Asset;1","@type":"Interface",
    "@context":"dtmi:dtdl:context;3","contents":[{"@type":"Relationship","name":"contains"}]})";

std::string Derived(std::string_view name, std::string_view base) {
  return fmt::format(R"({{"@id":"dtmi:bench:{};1","@type":"Interface",
      "@context":"dtmi:dtdl:context;3","extends":"dtmi:bench:{};1"}})",
                     name, base);
}

std::string SiteId(int s) { return fmt::format("site-{:03d}", s); }
std::string TurbineId(int s, int t) { return fmt::format("site-{:03d}-turbine-{:02d}", s, t); }

constexpr std::string_view kPolicy = R"({"roles": {
  "pattern": [{"actions": ["read"], "twins": ["site-007", "site-01*", "*-turbine-0*",
                                              "site-*-turbine-*9", "dock-*"]}],
  "model":   [{"actions": ["read"], "models": ["dtmi:bench:Turbine;1"]}],
  "scope":   [{"actions": ["read", "invokeCommands"], "scope": "site-042"}]
}})";

// The fleet, its graph and an Authorizer over it, built once for all benchmarks.
class Fleet {
 public:
  static Fleet& Get() {
    static Fleet* fleet = new Fleet();
    return *fleet;
  }

  const Authorizer& authorizer() const { return *authz_; }
  const std::vector<std::string>& ids() const { return ids_; }
  const std::vector<std::string>& models() const { return models_; }

  // Puts site-042 → (a turbine of site-043) when `on`, deletes it otherwise: a change to the
  // scope of the "scope" role, so the next check walks the graph again.
  void ToggleCrossSiteLink(bool on) {
    if (on) {
      Check(graph_
                .PutRelationship(
                    SiteId(42), "cross",
                    J(fmt::format(R"({{"$targetId":"{}","$relationshipName":"contains"}})",
                                  TurbineId(43, 0))),
                    {})
                .status());
    } else {
      Check(graph_.DeleteRelationship(SiteId(42), "cross", {}));
    }
  }

 private:
  Fleet() : graph_(journal_, clock_, events_) {
    Check(graph_
              .AddModels({J(kAsset), J(Derived("Site", "Asset")), J(Derived("Turbine", "Asset")),
                          J(Derived("WindTurbine", "Turbine"))})
              .status());
    for (int s = 0; s < kSites; ++s) {
      Add(SiteId(s), "dtmi:bench:Site;1");
      for (int t = 0; t < kTurbinesPerSite; ++t) {
        // Every other site has the derived model, so model grants exercise inheritance.
        Add(TurbineId(s, t), s % 2 == 0 ? "dtmi:bench:Turbine;1" : "dtmi:bench:WindTurbine;1");
        Check(graph_
                  .PutRelationship(
                      SiteId(s), fmt::format("c{}", t),
                      J(fmt::format(R"({{"$targetId":"{}","$relationshipName":"contains"}})",
                                    TurbineId(s, t))),
                      {})
                  .status());
      }
    }
    auto config = ParsePolicyConfig(J(kPolicy));
    Check(config.status());
    authz_ = std::make_unique<Authorizer>(std::move(config).value(), &graph_, &events_);
  }

  void Add(std::string id, std::string model) {
    Check(graph_.PutTwin(id, J(fmt::format(R"({{"$metadata":{{"$model":"{}"}}}})", model)), {})
              .status());
    ids_.push_back(std::move(id));
    models_.push_back(std::move(model));
  }

  static void Check(const Status& status) {
    if (!status.ok()) {
      fmt::print(stderr, "fleet setup failed: {}\n", status.ToString());
      std::abort();
    }
  }

  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_;
  std::unique_ptr<Authorizer> authz_;
  std::vector<std::string> ids_;
  std::vector<std::string> models_;
};

Principal With(std::string role) {
  return Principal{
      .subject = "bench", .roles = {std::move(role)}, .method = AuthMethod::kJwt, .clearances = {}};
}

// Checks `action` for `principal` on each twin in turn (with its model when `with_model`).
void RunChecks(benchmark::State& state, const Principal& principal, Action action,
               bool with_model) {
  const Fleet& fleet = Fleet::Get();
  const std::size_t n = fleet.ids().size();
  std::size_t i = 0;
  int64_t allowed = 0;
  for (auto _ : state) {
    Resource r{.twin_id = fleet.ids()[i],
               .model_id = with_model ? std::string_view(fleet.models()[i]) : std::string_view()};
    allowed += fleet.authorizer().Allows(principal, action, r);
    if (++i == n) i = 0;
  }
  state.counters["allowed%"] =
      benchmark::Counter(100.0 * static_cast<double>(allowed) /
                             static_cast<double>(std::max<int64_t>(state.iterations(), 1)),
                         benchmark::Counter::kAvgThreads);
}

void BM_AllowsUnscoped(benchmark::State& state) {
  RunChecks(state, With("operator"), Action::kInvokeCommands, true);
}
BENCHMARK(BM_AllowsUnscoped);

void BM_AllowsUnscopedDenied(benchmark::State& state) {
  RunChecks(state, With("viewer"), Action::kInvokeCommands, true);
}
BENCHMARK(BM_AllowsUnscopedDenied);

void BM_AllowsPattern(benchmark::State& state) {
  RunChecks(state, With("pattern"), Action::kRead, true);
}
BENCHMARK(BM_AllowsPattern);

void BM_AllowsModel(benchmark::State& state) {
  RunChecks(state, With("model"), Action::kRead, true);
}
BENCHMARK(BM_AllowsModel);

// The model is not given, so each check reads the twin's model under the graph's shared lock.
void BM_AllowsModelLookup(benchmark::State& state) {
  RunChecks(state, With("model"), Action::kRead, false);
}
BENCHMARK(BM_AllowsModelLookup);

void BM_AllowsScope(benchmark::State& state) {
  RunChecks(state, With("scope"), Action::kInvokeCommands, true);
}
BENCHMARK(BM_AllowsScope)->ThreadRange(1, 2);

void BM_VisibilityFilter(benchmark::State& state) {
  const Fleet& fleet = Fleet::Get();
  twin::TwinFilter visible = fleet.authorizer().VisibilityFor(With("scope"));
  const std::size_t n = fleet.ids().size();
  std::size_t i = 0;
  int64_t seen = 0;
  for (auto _ : state) {
    seen += visible(fleet.ids()[i], fleet.models()[i]);
    if (++i == n) i = 0;
  }
  benchmark::DoNotOptimize(seen);
}
BENCHMARK(BM_VisibilityFilter);

// A scope change and then one check (which rebuilds the scope sets: a walk of ~100 twins).
// Includes the graph write itself (journal append on a MemoryJournal, event publication).
void BM_AllowsScopeAfterChange(benchmark::State& state) {
  Fleet& fleet = Fleet::Get();
  Principal principal = With("scope");
  bool on = false;
  int64_t allowed = 0;
  for (auto _ : state) {
    on = !on;
    fleet.ToggleCrossSiteLink(on);
    allowed += fleet.authorizer().Allows(principal, Action::kRead,
                                         {.twin_id = "site-043-turbine-00", .model_id = {}});
  }
  if (allowed != (state.iterations() + 1) / 2) state.SkipWithError("wrong answers");
  if (on) fleet.ToggleCrossSiteLink(false);
}
BENCHMARK(BM_AllowsScopeAfterChange);

// Building the filter itself, once per query or stream subscription.
void BM_VisibilityFor(benchmark::State& state) {
  const Fleet& fleet = Fleet::Get();
  Principal principal = With("scope");
  for (auto _ : state) benchmark::DoNotOptimize(fleet.authorizer().VisibilityFor(principal));
}
BENCHMARK(BM_VisibilityFor);

}  // namespace
}  // namespace doppel::auth

BENCHMARK_MAIN();
