// SimulationService's insides, shared by its three files: simulation_service.cc (models,
// FMUs, bindings, the service's life cycle), internal/shadow_worker.cc (readings in, shadow
// runs observed, derived telemetry out) and internal/what_if.cc (forks, history profiles,
// scenario jobs and forecasts). Nothing outside those files includes it.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/json.h"
#include "ingest/live_state.h"
#include "sim/binding.h"
#include "sim/fmi/fmu_registry.h"
#include "sim/internal/twin_routes.h"
#include "sim/scenario.h"
#include "sim/shadow.h"
#include "sim/simulation_service.h"

namespace doppel::sim::internal {

using SteadyClock = std::chrono::steady_clock;

// Under SimulationServiceOptions::dir.
inline constexpr std::string_view kBindingsFile = "bindings.json";
inline constexpr std::string_view kShadowDir = "shadow";     // <binding>.json: {twinId: tracker state}
inline constexpr std::string_view kScenarioDir = "scenarios";  // ScenarioRunner's finished jobs
inline constexpr std::string_view kFmuDir = "fmus";            // FmuRegistry's archives

inline double Seconds(tsdb::TimeNs t) { return static_cast<double>(t) / 1e9; }
inline tsdb::TimeNs Nanos(double s) { return static_cast<tsdb::TimeNs>(std::llround(s * 1e9)); }
inline tsdb::TimeNs Nanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

using tsdb::NumericOf;

// The current value of a bound path: the property, else the latest reading of the telemetry.
inline std::optional<double> CurrentValue(const twin::GraphState& graph, const ingest::LiveState& live,
                                   std::string_view twin_id, std::string_view path) {
  if (auto value = internal::PropertyValue(graph, twin_id, path)) return value;
  if (auto latest = live.Get(twin_id, path)) return NumericOf(latest->value);
  return std::nullopt;
}


// What a bound twin's shadow run knows between readings.
struct Pending {
  std::vector<double> inputs;               // by ShadowConfig::inputs; NaN = not in this group
  std::vector<double> measurements;         // by measured variable
  uint64_t present = 0;
  SteadyClock::time_point since;            // wall time the group's first reading arrived
};

struct ShadowRun {
  internal::BoundTwin bound;
  std::unique_ptr<ShadowTracker> tracker = {};  // null when it could not be built (error says why)
  std::string error = {};
  std::vector<std::string> inputs = {};    // ShadowConfig::inputs (binding inputs, then parameters)
  std::map<tsdb::TimeNs, Pending> pending = {};  // readings by time, waiting to be observed together
  // Property values changed through the graph (an API PATCH), by ShadowConfig::inputs; NaN =
  // none. Applied with the next observed group that does not carry the input itself.
  std::vector<double> changed_properties = {};
  ShadowUpdate update = {};
  uint64_t observations = 0;
  uint64_t rejected = 0;
  std::string last_error = {};                   // of the last refused observation or derived write
  json::object last = {};                   // the last update, for TwinState

  std::string key() const { return bound.binding->name + '\0' + bound.twin_id; }
};

}  // namespace doppel::sim::internal

namespace doppel::sim {

struct SimulationService::State {
  SimulationServiceOptions options;
  ModelCatalog& catalog;
  twin::TwinGraph& graph;
  twin::EventBus& events;
  ingest::Ingestor& ingestor;
  ingest::LiveState& live;
  const Clock& clock;
  std::unique_ptr<ScenarioRunner> scenarios;
  std::unique_ptr<fmi::FmuRegistry> fmus;  // null without a directory: no uploads

  // Bindings, by name. Changed by the API; the worker picks changes up through routes_dirty.
  mutable std::mutex bindings_mu;
  std::map<std::string, std::shared_ptr<const Binding>, std::less<>> bindings;  // guarded by bindings_mu
  std::set<std::string, std::less<>> config_names;  // bindings from the config file; fixed after Open

  // The worker's: routes and runs. run_mu is held while the worker observes and while the API
  // reads a run (TwinState, forks), so a tracker is never used by two threads at once.
  mutable std::mutex run_mu;
  internal::Routes routes;                 // guarded by run_mu
  std::vector<internal::ShadowRun> runs;   // aligned with routes.bound; guarded by run_mu
  // The source keys the listener queues readings for (swapped whole by the worker).
  std::mutex sources_mu;
  std::shared_ptr<const std::set<std::string, std::less<>>> sources;  // guarded by sources_mu
  std::shared_ptr<const std::set<std::string, std::less<>>> source_twins;  // guarded by sources_mu

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::vector<ingest::Reading> queue;        // guarded by queue_mu
  std::set<std::string> refreshed_twins;     // twins whose properties changed; guarded by queue_mu
  bool stopping = false;                     // guarded by queue_mu
  std::atomic<bool> routes_dirty{true};

  std::atomic<uint64_t> queued{0}, dropped{0}, observed{0}, refused{0}, derived_written{0}, write_failures{0};
  std::atomic<uint64_t> observe_ns{0};
  std::thread worker;
  uint64_t listener = 0;
  twin::EventBus::SubscriptionId event_subscription = 0;
  bool started = false;

  State(SimulationServiceOptions o, ModelCatalog& c, twin::TwinGraph& g, twin::EventBus& e, ingest::Ingestor& i,
        ingest::LiveState& l, const Clock& k)
      : options(std::move(o)), catalog(c), graph(g), events(e), ingestor(i), live(l), clock(k) {}

  std::string PathIn(std::string_view sub) const {
    return options.dir.empty() ? std::string() : (std::filesystem::path(options.dir) / sub).string();
  }

  // ---- bindings ----
  Status LoadBindings();
  Status LoadConfigBindings();
  Status SaveBindingsLocked() const;
  json::object BindingJson(const Binding& binding) const;
  Status CheckWritable(std::string_view name) const;

  // ---- the worker ----
  void OnReadings(std::span<const ingest::Reading> readings);
  void OnGraphEvent(const twin::GraphEvent& event);
  void Run();
  void RebuildRoutes();
  internal::ShadowRun NewRun(internal::BoundTwin bound, const twin::GraphState& graph_state) const;
  void Route(const ingest::Reading& reading);
  void RefreshProperties(std::string_view twin_id);
  void ObserveDue(bool flush_all);
  void Observe(internal::ShadowRun& run, tsdb::TimeNs time, internal::Pending& group, std::vector<ingest::Reading>& derived);
  void PersistShadows() const;
  // The saved tracker states of one binding's runs ({twinId: state}); empty when none.
  json::object SavedShadows(const std::string& binding_name) const;

  // ---- forks ----
  // The bindings covering `twin_id` (only `binding_name`, if not empty), by name.
  std::vector<std::shared_ptr<const Binding>> Covering(std::string_view twin_id, std::string_view binding_name) const;
  // The first of them, or NotFound naming what is missing.
  Result<std::shared_ptr<const Binding>> CoveringOne(std::string_view twin_id, std::string_view binding_name) const;
  // A simulation to run what-if from: the shadow run's estimate, else the model with the
  // twin's properties and latest readings.
  Result<std::unique_ptr<Simulation>> ForkFor(std::string_view twin_id,
                                              const std::shared_ptr<const Binding>& binding) const;
  Result<BaseProfiles> HistoryProfiles(std::string_view twin_id, const std::shared_ptr<const Binding>& binding,
                                       double horizon_s) const;
};

}  // namespace doppel::sim
