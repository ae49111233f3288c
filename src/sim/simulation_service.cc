#include "sim/simulation_service.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/file_io.h"
#include "sim/binding.h"
#include "sim/fmi/fmu_registry.h"
#include "sim/internal/twin_routes.h"
#include "sim/scenario.h"
#include "sim/shadow.h"
#include "tsdb/query.h"

namespace doppel::sim {
namespace {

namespace fs = std::filesystem;
using internal::Role;
using internal::Routes;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kBindingsFile = "bindings.json";
constexpr std::string_view kShadowDir = "shadow";
constexpr std::string_view kScenarioDir = "scenarios";
constexpr std::string_view kFmuDir = "fmus";
constexpr double kNanosPerSecond = 1e9;

double Seconds(tsdb::TimeNs t) { return static_cast<double>(t) / kNanosPerSecond; }
tsdb::TimeNs Nanos(double s) { return static_cast<tsdb::TimeNs>(std::llround(s * kNanosPerSecond)); }
tsdb::TimeNs Nanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::optional<double> NumericOf(const tsdb::Value& v) {
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const bool* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  return std::nullopt;
}

// The current value of a bound path: the property, else the latest reading of the telemetry.
std::optional<double> CurrentValue(const twin::GraphState& graph, const ingest::LiveState& live,
                                   std::string_view twin_id, std::string_view path) {
  if (auto value = internal::PropertyValue(graph, twin_id, path)) return value;
  if (auto latest = live.Get(twin_id, path)) return NumericOf(latest->value);
  return std::nullopt;
}

json::value Number(double v) { return std::isfinite(v) ? json::value(v) : json::value(nullptr); }

json::object VariableJson(const Variable& v) {
  json::object o{{"name", v.name}, {"causality", CausalityName(v.causality)}, {"start", Number(v.start)}};
  if (!v.unit.empty()) o["unit"] = v.unit;
  if (std::isfinite(v.min)) o["min"] = v.min;
  if (std::isfinite(v.max)) o["max"] = v.max;
  if (!v.description.empty()) o["description"] = v.description;
  return o;
}

json::object ModelJson(const ModelInfo& info, bool with_variables) {
  json::object o{{"name", info.name}, {"description", info.description}, {"stochastic", info.stochastic}};
  if (with_variables) {
    json::array vars;
    for (const auto& v : info.variables) vars.push_back(VariableJson(v));
    o["variables"] = std::move(vars);
  } else {
    o["variables"] = static_cast<int64_t>(info.variables.size());
  }
  return o;
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
  ShadowUpdate update = {};
  uint64_t observations = 0;
  uint64_t rejected = 0;
  std::string last_error = {};                   // of the last refused observation or derived write
  json::object last = {};                   // the last update, for TwinState

  std::string key() const { return bound.binding->name + '\0' + bound.twin_id; }
};

ShadowConfig ShadowConfigOf(const Binding& binding) {
  ShadowConfig config;
  for (const auto& [var, path] : binding.inputs) config.inputs.push_back(var);
  for (const auto& [var, path] : binding.parameters) {
    if (!binding.estimate.contains(var)) config.inputs.push_back(var);
  }
  for (const auto& [var, e] : binding.estimate) {
    // drift is "per hour"; the filter's random walk is per √s.
    config.estimation.estimated.push_back(
        {.name = var, .initial_stddev = e.stddev, .process_stddev = e.drift / std::sqrt(3600.0)});
  }
  for (const auto& [var, m] : binding.measurements) {
    config.estimation.measured.push_back({.name = var, .noise_stddev = m.noise});
  }
  for (const auto& [var, v] : binding.virtual_sensors) config.estimation.derived.push_back(var);
  return config;
}

std::size_t IndexIn(const std::vector<std::string>& names, std::string_view name) {
  return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

}  // namespace

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
  Routes routes;                 // guarded by run_mu
  std::vector<ShadowRun> runs;   // aligned with routes.bound; guarded by run_mu
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
    return options.dir.empty() ? std::string() : (fs::path(options.dir) / sub).string();
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
  ShadowRun NewRun(internal::BoundTwin bound, const twin::GraphState& graph_state) const;
  void Route(const ingest::Reading& reading);
  void RefreshProperties(std::string_view twin_id);
  void ObserveDue(bool flush_all);
  void Observe(ShadowRun& run, tsdb::TimeNs time, Pending& group, std::vector<ingest::Reading>& derived);
  void PersistShadows() const;
  Status RestoreShadow(ShadowRun& run) const;

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

// ---------------------------------------------------------------------------------------------
// Bindings

Status SimulationService::State::LoadBindings() {
  const std::string path = PathIn(kBindingsFile);
  if (path.empty() || !fs::exists(path)) return Status::Ok();
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return Status::Unavailable(fmt::format("cannot read {}", path));
  auto doc = ParseJson(text.str());
  if (!doc.ok() || !doc->is_array()) return Status::InvalidArgument(fmt::format("{}: not a JSON array of bindings", path));
  for (const json::value& entry : doc->get_array()) {
    const json::value* name = entry.is_object() ? entry.get_object().if_contains("name") : nullptr;
    const json::value* model = entry.is_object() ? entry.get_object().if_contains("model") : nullptr;
    if (name == nullptr || !name->is_string() || model == nullptr || !model->is_string()) {
      return Status::InvalidArgument(fmt::format("{}: a binding without a name or model", path));
    }
    auto info = catalog.Describe(model->get_string());
    if (!info.ok()) {
      // An FMU that was removed, or a model this build no longer has: keep the others running.
      spdlog::error("simulation binding '{}' skipped: {}", std::string_view(name->get_string()),
                    info.status().message());
      continue;
    }
    auto binding = ParseBinding(name->get_string(), entry, *info);
    if (!binding.ok()) return Status::InvalidArgument(fmt::format("{}: {}", path, binding.status().message()));
    std::string key = binding->name;  // before the move below: `a = b` evaluates b first
    bindings[key] = std::make_shared<const Binding>(std::move(*binding));
  }
  return Status::Ok();
}

Status SimulationService::State::LoadConfigBindings() {
  for (const auto& [name, body] : options.config_bindings) {
    const json::value* model = body.is_object() ? body.get_object().if_contains("model") : nullptr;
    if (model == nullptr || !model->is_string()) {
      return Status::InvalidArgument(fmt::format("simulation.bindings.{}: model: is required", std::string_view(name)));
    }
    auto info = catalog.Describe(model->get_string());
    if (!info.ok()) {
      return Status::InvalidArgument(fmt::format("simulation.bindings.{}: {}", std::string_view(name), info.status().message()));
    }
    auto binding = ParseBinding(name, body, *info);
    if (!binding.ok()) {
      return Status::InvalidArgument(fmt::format("simulation.bindings.{}: {}", std::string_view(name), binding.status().message()));
    }
    std::string key = binding->name;
    if (bindings.contains(key)) {
      spdlog::warn("simulation binding '{}' from the config file replaces the one defined through the API", key);
    }
    bindings[key] = std::make_shared<const Binding>(std::move(*binding));
    config_names.insert(std::move(key));
  }
  return Status::Ok();
}

json::object SimulationService::State::BindingJson(const Binding& binding) const {
  json::object out = binding.ToJson();
  out["source"] = config_names.contains(binding.name) ? "config" : "api";
  return out;
}

Status SimulationService::State::CheckWritable(std::string_view name) const {
  if (config_names.contains(name)) {
    return Status::Conflict(fmt::format("binding '{}' comes from the config file; change it there", name));
  }
  return Status::Ok();
}

Status SimulationService::State::SaveBindingsLocked() const {
  const std::string path = PathIn(kBindingsFile);
  if (path.empty()) return Status::Ok();
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  json::array all;
  for (const auto& [name, binding] : bindings) {
    if (!config_names.contains(name)) all.push_back(binding->ToJson());
  }
  return WriteFileAtomically(path, ToPrettyJson(all));
}

// ---------------------------------------------------------------------------------------------
// The worker: readings in, observations, derived telemetry out.

void SimulationService::State::OnReadings(std::span<const ingest::Reading> readings) {
  std::shared_ptr<const std::set<std::string, std::less<>>> keys;
  {
    std::lock_guard lock(sources_mu);
    keys = sources;
  }
  if (!keys || keys->empty()) return;
  std::vector<ingest::Reading> mine;
  for (const auto& r : readings) {
    if (keys->contains(Routes::SourceKey(r.twin_id, r.path))) mine.push_back(r);
  }
  if (mine.empty()) return;
  {
    std::lock_guard lock(queue_mu);
    if (queue.size() + mine.size() > options.queue_limit) {
      dropped.fetch_add(mine.size(), std::memory_order_relaxed);
      return;
    }
    queue.insert(queue.end(), std::make_move_iterator(mine.begin()), std::make_move_iterator(mine.end()));
  }
  queued.fetch_add(mine.size(), std::memory_order_relaxed);
  queue_cv.notify_one();
}

void SimulationService::State::OnGraphEvent(const twin::GraphEvent& event) {
  using twin::EventType;
  switch (event.type) {
    case EventType::kTwinUpdated: {
      std::shared_ptr<const std::set<std::string, std::less<>>> twins;
      {
        std::lock_guard lock(sources_mu);
        twins = source_twins;
      }
      if (!twins || !twins->contains(event.subject)) return;
      std::lock_guard lock(queue_mu);
      refreshed_twins.insert(event.subject);
      break;
    }
    case EventType::kRelationshipUpdated:
      return;
    default:  // twins, relationships or models came or went: who is bound may have changed
      routes_dirty.store(true);
      break;
  }
  queue_cv.notify_one();
}

ShadowRun SimulationService::State::NewRun(internal::BoundTwin bound, const twin::GraphState& graph_state) const {
  ShadowRun run{.bound = std::move(bound)};
  const Binding& binding = *run.bound.binding;
  auto model = catalog.Create(binding.model);
  if (!model.ok()) {
    run.error = model.status().message();
    return run;
  }
  // Parameters from the twins' properties before the filter takes the model's start values.
  for (const auto& [var, path] : binding.parameters) {
    auto value = internal::PropertyValue(graph_state, run.bound.SourceOf(path), path.path);
    if (!value) continue;
    if (Status s = (*model)->Set(*(*model)->info().Find(var), *value); !s.ok()) {
      run.error = fmt::format("parameter {} from {}: {}", var, path.ToString(), s.message());
      return run;
    }
  }
  // Inputs start at the twins' current values (a property, or the latest reading), so a run
  // does not begin from the model's defaults (a curtailed turbine's rotorSpeedLimit).
  for (const auto& [var, path] : binding.inputs) {
    auto value = CurrentValue(graph_state, live, run.bound.SourceOf(path), path.path);
    if (value) static_cast<void>((*model)->Set(*(*model)->info().Find(var), *value));  // out of range: keep default
  }
  ShadowConfig config = ShadowConfigOf(binding);
  run.inputs = config.inputs;
  auto tracker = ShadowTracker::Create(std::move(*model), std::move(config));
  if (!tracker.ok()) {
    run.error = tracker.status().message();
    return run;
  }
  run.tracker = std::move(*tracker);
  run.update = run.tracker->NewUpdate();
  return run;
}

void SimulationService::State::RebuildRoutes() {
  std::vector<std::shared_ptr<const Binding>> current;
  {
    std::lock_guard lock(bindings_mu);
    for (const auto& [name, b] : bindings) {
      if (b->shadow) current.push_back(b);
    }
  }
  std::lock_guard lock(run_mu);
  std::map<std::string, ShadowRun> old;
  for (auto& run : runs) old.emplace(run.key(), std::move(run));
  runs.clear();
  graph.Read([&](const twin::GraphState& state) {
    routes = internal::ResolveRoutes(state, current);
    for (const auto& bound : routes.bound) {
      auto it = old.find(bound.binding->name + '\0' + bound.twin_id);
      if (it != old.end() && it->second.bound.binding == bound.binding) {
        it->second.bound = bound;  // relationships may have moved
        runs.push_back(std::move(it->second));
        continue;
      }
      runs.push_back(NewRun(bound, state));
      if (runs.back().tracker) {
        if (Status s = RestoreShadow(runs.back()); !s.ok()) {
          spdlog::warn("shadow state of '{}' ({}) not restored: {}", bound.twin_id, bound.binding->name, s.message());
        }
      } else {
        spdlog::warn("shadow run of '{}' ({}) not started: {}", bound.twin_id, bound.binding->name, runs.back().error);
      }
    }
  });
  auto keys = std::make_shared<std::set<std::string, std::less<>>>();
  auto twins = std::make_shared<std::set<std::string, std::less<>>>();
  for (const auto& [key, r] : routes.by_source) {
    keys->insert(key);
    twins->insert(key.substr(0, key.find('\0')));
  }
  std::lock_guard sources_lock(sources_mu);
  sources = std::move(keys);
  source_twins = std::move(twins);
}

// Files a reading under its run's pending group. Caller holds run_mu.
void SimulationService::State::Route(const ingest::Reading& reading) {
  const auto* routes_of = routes.Find(reading.twin_id, reading.path);
  if (routes_of == nullptr) return;
  const std::optional<double> value = NumericOf(reading.value);
  if (!value) return;
  for (const internal::Route& route : *routes_of) {
    ShadowRun& run = runs[route.bound];
    if (!run.tracker) continue;
    if (run.tracker->started() && Seconds(reading.time) <= run.tracker->time_s()) continue;  // late
    Pending& group = run.pending[reading.time];
    if (group.inputs.empty()) {
      group.inputs.assign(run.inputs.size(), std::numeric_limits<double>::quiet_NaN());
      group.measurements.assign(run.tracker->config().estimation.measured.size(), 0.0);
      group.since = SteadyClock::now();
    }
    if (route.role == Role::kMeasurement) {
      const auto& measured = run.tracker->config().estimation.measured;
      for (std::size_t i = 0; i < measured.size(); ++i) {
        if (measured[i].name == route.variable) {
          group.measurements[i] = *value;
          group.present |= uint64_t{1} << i;
        }
      }
    } else {
      const std::size_t i = IndexIn(run.inputs, route.variable);
      if (i < group.inputs.size()) group.inputs[i] = *value;
    }
  }
}

// A property the run reads changed on a twin (API PATCH): it takes effect from the next reading.
void SimulationService::State::RefreshProperties(std::string_view twin_id) {
  graph.Read([&](const twin::GraphState& state) {
    for (ShadowRun& run : runs) {
      if (!run.tracker) continue;
      const Binding& binding = *run.bound.binding;
      for (const auto* map : {&binding.parameters, &binding.inputs}) {
        for (const auto& [var, path] : *map) {
          if (run.bound.SourceOf(path) != twin_id) continue;
          auto value = internal::PropertyValue(state, twin_id, path.path);
          const std::size_t i = IndexIn(run.inputs, var);
          if (!value || i >= run.inputs.size()) continue;
          // Queue it as an input at "now"; the next observation picks it up.
          Pending& group = run.pending[Nanos(clock.Now())];
          if (group.inputs.empty()) {
            group.inputs.assign(run.inputs.size(), std::numeric_limits<double>::quiet_NaN());
            group.measurements.assign(run.tracker->config().estimation.measured.size(), 0.0);
            group.since = SteadyClock::now();
          }
          group.inputs[i] = *value;
        }
      }
    }
  });
}

void SimulationService::State::Observe(ShadowRun& run, tsdb::TimeNs time, Pending& group,
                                       std::vector<ingest::Reading>& derived) {
  const auto started_at = SteadyClock::now();
  Status s = run.tracker->Observe(Seconds(time), group.inputs, group.measurements, group.present, run.update);
  observe_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - started_at).count(),
                       std::memory_order_relaxed);
  if (!s.ok()) {
    ++run.rejected;
    run.last_error = s.message();
    refused.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  ++run.observations;
  observed.fetch_add(1, std::memory_order_relaxed);
  const ShadowUpdate& u = run.update;
  const Binding& binding = *run.bound.binding;
  const auto& config = run.tracker->config().estimation;
  json::object expected, residuals, estimates, sensors;
  const auto emit = [&](const std::string& path, double value) {
    if (path.empty() || !std::isfinite(value)) return;
    derived.push_back(ingest::Reading{.twin_id = run.bound.twin_id, .path = path, .time = time, .value = value});
  };
  for (std::size_t i = 0; i < config.measured.size(); ++i) {
    const Measurement& m = binding.measurements.at(config.measured[i].name);
    if (!u.restarted) {
      emit(m.expected, u.expected[i]);
      emit(m.residual, u.residual[i]);
      expected[config.measured[i].name] =
          json::object{{"value", Number(u.expected[i])}, {"stddev", Number(u.expected_stddev[i])}};
      residuals[config.measured[i].name] = Number(u.residual[i]);
    }
  }
  for (std::size_t i = 0; i < config.estimated.size(); ++i) {
    estimates[config.estimated[i].name] =
        json::object{{"value", Number(u.estimates[i].value)}, {"stddev", Number(u.estimates[i].stddev)}};
  }
  for (std::size_t i = 0; i < config.derived.size(); ++i) {
    const VirtualSensor& v = binding.virtual_sensors.at(config.derived[i]);
    emit(v.path, u.virtual_sensors[i].value);
    emit(v.stddev_path, u.virtual_sensors[i].stddev);
    sensors[config.derived[i]] = json::object{{"value", Number(u.virtual_sensors[i].value)},
                                              {"stddev", Number(u.virtual_sensors[i].stddev)}};
  }
  json::object inputs;
  const auto& info = run.tracker->model().info();
  for (const auto& name : run.inputs) {
    if (auto index = info.Find(name)) inputs[name] = Number(run.tracker->model().Get(*index));
  }
  run.last = json::object{{"time", FormatRfc3339(TimePoint(std::chrono::duration_cast<TimePoint::duration>(
                                       std::chrono::nanoseconds(time))))},
                          {"restarted", u.restarted},
                          {"inputs", std::move(inputs)},
                          {"expected", std::move(expected)},
                          {"residuals", std::move(residuals)},
                          {"estimates", std::move(estimates)},
                          {"virtualSensors", std::move(sensors)}};
}

// Observes every group that is complete: an older time than the run's newest, or waited long
// enough (or all of them, at Stop).
void SimulationService::State::ObserveDue(bool flush_all) {
  const auto now = SteadyClock::now();
  std::vector<std::vector<ingest::Reading>> writes;
  std::vector<std::size_t> writers;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    ShadowRun& run = runs[r];
    if (!run.tracker || run.pending.empty()) continue;
    std::vector<ingest::Reading> derived;
    const tsdb::TimeNs newest = run.pending.rbegin()->first;
    while (!run.pending.empty()) {
      auto it = run.pending.begin();
      const bool complete = flush_all || it->first < newest || now - it->second.since >= options.group_wait;
      if (!complete) break;
      Observe(run, it->first, it->second, derived);
      run.pending.erase(it);
    }
    if (!derived.empty()) {
      writes.push_back(std::move(derived));
      writers.push_back(r);
    }
  }
  if (writes.empty()) return;
  std::vector<std::span<const ingest::Reading>> groups(writes.begin(), writes.end());
  const std::vector<Status> results = ingestor.WriteEach(groups);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) {
      derived_written.fetch_add(writes[i].size(), std::memory_order_relaxed);
    } else {
      write_failures.fetch_add(1, std::memory_order_relaxed);
      ShadowRun& run = runs[writers[i]];
      if (run.last_error != results[i].message()) {
        spdlog::warn("shadow run of '{}' ({}): derived telemetry refused: {}", run.bound.twin_id,
                     run.bound.binding->name, results[i].message());
      }
      run.last_error = results[i].message();
    }
  }
}

void SimulationService::State::Run() {
  auto next_persist = SteadyClock::now() + options.persist_interval;
  while (true) {
    std::vector<ingest::Reading> batch;
    std::set<std::string> refreshed;
    bool stop = false;
    {
      std::unique_lock lock(queue_mu);
      queue_cv.wait_for(lock, std::chrono::milliseconds(100), [&] {
        return stopping || !queue.empty() || !refreshed_twins.empty() || routes_dirty.load();
      });
      batch.swap(queue);
      refreshed.swap(refreshed_twins);
      stop = stopping;
    }
    if (routes_dirty.exchange(false)) RebuildRoutes();
    {
      std::lock_guard lock(run_mu);
      for (const auto& twin_id : refreshed) RefreshProperties(twin_id);
      for (const auto& reading : batch) Route(reading);
      ObserveDue(stop);
    }
    if (stop) break;
    if (SteadyClock::now() >= next_persist) {
      PersistShadows();
      next_persist = SteadyClock::now() + options.persist_interval;
    }
  }
  PersistShadows();
}

// One file per binding: {twinId: tracker state}.
void SimulationService::State::PersistShadows() const {
  if (options.dir.empty()) return;
  std::map<std::string, json::object> by_binding;
  {
    std::lock_guard lock(run_mu);
    for (const ShadowRun& run : runs) {
      if (!run.tracker || !run.tracker->started()) continue;
      auto state = ParseJson(run.tracker->SaveJson(), JsonLimits{.max_bytes = 64u << 20});
      if (state.ok()) by_binding[run.bound.binding->name][run.bound.twin_id] = std::move(*state);
    }
  }
  const fs::path dir = fs::path(options.dir) / kShadowDir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const auto& [name, states] : by_binding) {
    if (Status s = WriteFileAtomically((dir / (name + ".json")).string(), ToJson(states)); !s.ok()) {
      spdlog::warn("shadow states of binding '{}' not saved: {}", name, s.message());
    }
  }
}

Status SimulationService::State::RestoreShadow(ShadowRun& run) const {
  if (options.dir.empty()) return Status::Ok();
  const fs::path file = fs::path(options.dir) / kShadowDir / (run.bound.binding->name + ".json");
  if (!fs::exists(file)) return Status::Ok();
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = ParseJson(text.str(), JsonLimits{.max_bytes = 1u << 30});
  if (!doc.ok() || !doc->is_object()) return Status::InvalidArgument(fmt::format("{} is not a JSON object", file.string()));
  const json::value* state = doc->get_object().if_contains(run.bound.twin_id);
  if (state == nullptr) return Status::Ok();
  return run.tracker->RestoreJson(ToJson(*state));
}

// ---------------------------------------------------------------------------------------------
// Forks and profiles for what-if

std::vector<std::shared_ptr<const Binding>> SimulationService::State::Covering(std::string_view twin_id,
                                                                               std::string_view binding_name) const {
  std::vector<std::shared_ptr<const Binding>> candidates;
  {
    std::lock_guard lock(bindings_mu);
    for (const auto& [name, b] : bindings) {
      if (binding_name.empty() || name == binding_name) candidates.push_back(b);
    }
  }
  return graph.Read([&](const twin::GraphState& state) {
    std::vector<std::shared_ptr<const Binding>> covering;
    const twin::Twin* twin = state.FindTwin(twin_id);
    if (twin == nullptr) return covering;
    for (auto& b : candidates) {
      const bool covers = b->twin_model.empty()
                              ? std::find(b->twin_ids.begin(), b->twin_ids.end(), twin_id) != b->twin_ids.end()
                              : state.models().IsOfModel(twin->model_id, b->twin_model);
      if (covers) covering.push_back(std::move(b));
    }
    return covering;
  });
}

Result<std::shared_ptr<const Binding>> SimulationService::State::CoveringOne(std::string_view twin_id,
                                                                            std::string_view binding_name) const {
  auto covering = Covering(twin_id, binding_name);
  if (!covering.empty()) return covering.front();
  if (!binding_name.empty()) {
    return Status::NotFound(fmt::format("binding '{}' does not cover twin '{}'", binding_name, twin_id));
  }
  return Status::NotFound(fmt::format("no simulation binding covers twin '{}'", twin_id));
}

Result<std::unique_ptr<Simulation>> SimulationService::State::ForkFor(
    std::string_view twin_id, const std::shared_ptr<const Binding>& binding) const {
  {
    std::lock_guard lock(run_mu);
    for (const ShadowRun& run : runs) {
      if (run.bound.binding == binding && run.bound.twin_id == twin_id && run.tracker && run.tracker->started()) {
        return run.tracker->Fork();
      }
    }
  }
  // No shadow state (a what-if-only binding, or no reading yet): the model with the twin's
  // properties and latest readings.
  DOPPEL_ASSIGN_OR_RETURN(std::unique_ptr<Simulation> sim, catalog.Create(binding->model));
  Status status = Status::Ok();
  graph.Read([&](const twin::GraphState& state) {
    const internal::BoundTwin bound = internal::BindTwin(state, std::string(twin_id), binding);
    for (const auto* map : {&binding->parameters, &binding->inputs}) {
      for (const auto& [var, path] : *map) {
        const std::optional<double> value = CurrentValue(state, live, bound.SourceOf(path), path.path);
        if (value && status.ok()) {
          status = sim->Set(*sim->info().Find(var), *value);
          if (!status.ok()) status = Status::InvalidArgument(fmt::format("{} from {}: {}", var, path.ToString(), status.message()));
        }
      }
    }
  });
  DOPPEL_RETURN_IF_ERROR(status);
  return sim;
}

// The binding's telemetry inputs over the last `horizon_s`, replayed from now on (means over
// 1 to 10 minutes, finer for short horizons), repeated when the history is shorter than the
// horizon. Inputs without history hold their current value.
Result<BaseProfiles> SimulationService::State::HistoryProfiles(std::string_view twin_id,
                                                                const std::shared_ptr<const Binding>& binding,
                                                                double horizon_s) const {
  BaseProfiles profiles;
  const tsdb::TimeNs now = Nanos(clock.Now());
  const tsdb::TimeNs span = Nanos(horizon_s);
  const tsdb::TimeNs step = std::clamp<tsdb::TimeNs>(span / 1000, Nanos(60.0), Nanos(600.0));
  const internal::BoundTwin bound = graph.Read([&](const twin::GraphState& state) {
    return internal::BindTwin(state, std::string(twin_id), binding);
  });
  for (const auto& [var, path] : binding->inputs) {
    auto id = ingestor.store().Find(bound.SourceOf(path), path.path);
    if (!id.ok()) continue;
    auto buckets = tsdb::QueryAggregate(ingestor.store(), {.series = *id, .start = now - span, .end = now, .step = step});
    if (!buckets.ok() || buckets->empty()) continue;
    // Replayed from its oldest bucket on: scenario time 0 is that bucket's start.
    InputProfile profile;
    std::optional<tsdb::TimeNs> first;
    for (const auto& b : *buckets) {
      if (b.count == 0) continue;
      if (!first) first = b.start;
      const double t = Seconds(b.start - *first);
      if (!profile.points.empty() && t <= profile.points.back().first) continue;
      profile.points.emplace_back(t, b.avg);
    }
    if (profile.points.size() < 2) continue;
    // Less history than the horizon (a new twin, a short retention): the past is repeated.
    const double period = profile.points.back().first + Seconds(step);
    for (std::size_t i = 0, n = profile.points.size(); profile.points.back().first < horizon_s; ++i) {
      const auto& [t, v] = profile.points[i % n];
      profile.points.emplace_back(t + period * static_cast<double>(i / n + 1), v);
    }
    profiles[var] = std::move(profile);
  }
  return profiles;
}

// ---------------------------------------------------------------------------------------------
// The service

SimulationService::SimulationService(std::unique_ptr<State> state) : state_(std::move(state)) {}
SimulationService::~SimulationService() { Stop(); }

Result<std::unique_ptr<SimulationService>> SimulationService::Open(SimulationServiceOptions options,
                                                                   ModelCatalog& catalog, twin::TwinGraph& graph,
                                                                   twin::EventBus& events, ingest::Ingestor& ingestor,
                                                                   ingest::LiveState& live, const Clock& clock) {
  auto state = std::make_unique<State>(std::move(options), catalog, graph, events, ingestor, live, clock);
  if (!state->options.dir.empty()) {
    std::error_code ec;
    fs::create_directories(state->options.dir, ec);
    if (ec) return Status::Unavailable(fmt::format("cannot create {}: {}", state->options.dir, ec.message()));
  }
  if (!state->options.dir.empty()) {  // before the bindings, which may name an FMU
    fmi::FmuRegistryOptions fmu_options{.directory = state->PathIn(kFmuDir)};
    fmu_options.host.executable = state->options.fmu_host;
    DOPPEL_ASSIGN_OR_RETURN(state->fmus, fmi::FmuRegistry::Open(std::move(fmu_options), catalog));
    for (const Status& error : state->fmus->load_errors()) spdlog::error("{}", error.message());
  }
  DOPPEL_RETURN_IF_ERROR(state->LoadBindings());
  DOPPEL_RETURN_IF_ERROR(state->LoadConfigBindings());
  ScenarioRunnerOptions runner{.threads = static_cast<int>(state->options.scenario_threads),
                               .directory = state->PathIn(kScenarioDir)};
  DOPPEL_ASSIGN_OR_RETURN(state->scenarios, ScenarioRunner::Open(std::move(runner), clock));
  return std::unique_ptr<SimulationService>(new SimulationService(std::move(state)));
}

void SimulationService::Start() {
  State& s = *state_;
  if (s.started) return;
  s.started = true;
  s.routes_dirty.store(false);
  s.RebuildRoutes();
  s.listener = s.ingestor.Subscribe([&s](std::span<const ingest::Reading> r) { s.OnReadings(r); });
  s.event_subscription = s.events.Subscribe([&s](const twin::GraphEvent& e) { s.OnGraphEvent(e); });
  s.worker = std::thread([&s] { s.Run(); });
}

void SimulationService::Stop() {
  State& s = *state_;
  if (!s.started) return;
  s.started = false;
  s.ingestor.Unsubscribe(s.listener);
  s.events.Unsubscribe(s.event_subscription);
  {
    std::lock_guard lock(s.queue_mu);
    s.stopping = true;
  }
  s.queue_cv.notify_one();
  if (s.worker.joinable()) s.worker.join();
  s.scenarios->Stop();
}

json::array SimulationService::Models() const {
  json::array out;
  for (const ModelInfo& info : state_->catalog.List()) out.push_back(ModelJson(info, false));
  return out;
}

Result<json::object> SimulationService::DescribeModel(std::string_view name) const {
  DOPPEL_ASSIGN_OR_RETURN(ModelInfo info, state_->catalog.Describe(name));
  return ModelJson(info, true);
}

Result<std::pair<bool, json::object>> SimulationService::PutFmu(std::string_view name, std::string_view archive) {
  State& s = *state_;
  if (!s.fmus) return Status::Unavailable("FMU upload needs a data directory (the server runs in memory)");
  const auto names = s.fmus->Names();
  const bool created = std::find(names.begin(), names.end(), name) == names.end();
  DOPPEL_ASSIGN_OR_RETURN(ModelInfo info, s.fmus->Add(name, archive));
  // Shadow runs of a replaced FMU keep their child; new runs load the new binary.
  s.routes_dirty.store(true);
  return std::make_pair(created, ModelJson(info, true));
}

Status SimulationService::DeleteFmu(std::string_view name) {
  State& s = *state_;
  if (!s.fmus) return Status::Unavailable("FMU upload needs a data directory (the server runs in memory)");
  const std::string model = fmt::format("fmu:{}", name);
  {
    std::lock_guard lock(s.bindings_mu);
    for (const auto& [binding_name, b] : s.bindings) {
      if (b->model == model) {
        return Status::Conflict(fmt::format("FMU '{}' is used by binding '{}'; delete the binding first", name,
                                            binding_name));
      }
    }
  }
  return s.fmus->Remove(name);
}

json::array SimulationService::Bindings() const {
  json::array out;
  std::lock_guard lock(state_->bindings_mu);
  for (const auto& [name, b] : state_->bindings) out.push_back(state_->BindingJson(*b));
  return out;
}

Result<json::object> SimulationService::FindBinding(std::string_view name) const {
  std::lock_guard lock(state_->bindings_mu);
  auto it = state_->bindings.find(name);
  if (it == state_->bindings.end()) return Status::NotFound(fmt::format("no simulation binding '{}'", name));
  return state_->BindingJson(*it->second);
}

Result<std::pair<bool, json::object>> SimulationService::PutBinding(std::string_view name, const json::value& body) {
  State& s = *state_;
  const json::value* model = body.is_object() ? body.get_object().if_contains("model") : nullptr;
  if (model == nullptr || !model->is_string()) {
    return Status::InvalidArgument("model: is required (a simulation model name, see GET /simulation/models)");
  }
  DOPPEL_RETURN_IF_ERROR(s.CheckWritable(name));
  DOPPEL_ASSIGN_OR_RETURN(ModelInfo info, s.catalog.Describe(model->get_string()));
  DOPPEL_ASSIGN_OR_RETURN(sim::Binding binding, ParseBinding(name, body, info));
  auto shared = std::make_shared<const sim::Binding>(std::move(binding));
  bool created = false;
  {
    std::lock_guard lock(s.bindings_mu);
    auto previous = s.bindings.find(name);
    created = previous == s.bindings.end();
    std::shared_ptr<const sim::Binding> before = created ? nullptr : previous->second;
    s.bindings[shared->name] = shared;
    if (Status saved = s.SaveBindingsLocked(); !saved.ok()) {
      if (created) {
        s.bindings.erase(shared->name);
      } else {
        s.bindings[shared->name] = before;
      }
      return saved;
    }
  }
  s.RebuildRoutes();  // the shadow runs follow readings from the moment this answers
  const std::size_t bound = s.graph.Read([&](const twin::GraphState& state) {
    return internal::ResolveRoutes(state, std::span(&shared, 1)).bound.size();
  });
  json::object out = s.BindingJson(*shared);
  out["boundTwins"] = static_cast<int64_t>(bound);
  return std::make_pair(created, std::move(out));
}

Status SimulationService::DeleteBinding(std::string_view name) {
  State& s = *state_;
  DOPPEL_RETURN_IF_ERROR(s.CheckWritable(name));
  {
    std::lock_guard lock(s.bindings_mu);
    auto it = s.bindings.find(name);
    if (it == s.bindings.end()) return Status::NotFound(fmt::format("no simulation binding '{}'", name));
    auto removed = it->second;
    s.bindings.erase(it);
    if (Status saved = s.SaveBindingsLocked(); !saved.ok()) {
      s.bindings[removed->name] = removed;
      return saved;
    }
  }
  if (!s.options.dir.empty()) {
    std::error_code ec;
    fs::remove(fs::path(s.options.dir) / kShadowDir / (std::string(name) + ".json"), ec);
  }
  s.RebuildRoutes();
  return Status::Ok();
}

Result<json::object> SimulationService::TwinState(std::string_view twin_id) const {
  const State& s = *state_;
  json::array bindings;
  {
    std::lock_guard lock(s.run_mu);
    for (const ShadowRun& run : s.runs) {
      if (run.bound.twin_id != twin_id) continue;
      json::object o{{"binding", run.bound.binding->name}, {"model", run.bound.binding->model}, {"shadow", true}};
      if (!run.tracker) {
        o["status"] = "error";
        o["error"] = run.error;
      } else {
        o["status"] = run.tracker->started() ? "tracking" : "waiting for readings";
        o["observations"] = run.observations;
        o["rejected"] = run.rejected;
        if (!run.last_error.empty()) o["lastError"] = run.last_error;
        if (!run.last.empty()) o["last"] = run.last;
      }
      bindings.push_back(std::move(o));
    }
  }
  for (const auto& b : s.Covering(twin_id, "")) {
    if (!b->shadow) bindings.push_back(json::object{{"binding", b->name}, {"model", b->model}, {"shadow", false}});
  }
  if (bindings.empty()) return Status::NotFound(fmt::format("no simulation binding covers twin '{}'", twin_id));
  return json::object{{"twinId", twin_id}, {"bindings", std::move(bindings)}};
}

namespace {

// Splits our members ("binding", "base") off a scenario or forecast body; the rest is the
// scenario engine's.
struct RunRequest {
  std::string binding;
  std::string base = "history";
  json::object rest;
};

Result<RunRequest> SplitRequest(const json::value& body) {
  if (!body.is_object()) return Status::InvalidArgument("request body must be a JSON object");
  RunRequest out;
  out.rest = body.get_object();
  if (const json::value* b = out.rest.if_contains("binding")) {
    if (!b->is_string()) return Status::InvalidArgument("binding: must be a binding name");
    out.binding = std::string(b->get_string());
    out.rest.erase("binding");
  }
  if (const json::value* b = out.rest.if_contains("base")) {
    if (!b->is_string() || (b->get_string() != "history" && b->get_string() != "hold")) {
      return Status::InvalidArgument("base: must be \"history\" (replay the inputs' recent past) or \"hold\"");
    }
    out.base = std::string(b->get_string());
    out.rest.erase("base");
  }
  return out;
}

double LongestHorizon(const ScenarioRequest& request) {
  double horizon = 0;
  for (const auto& s : request.scenarios) horizon = std::max(horizon, s.horizon_s);
  return horizon;
}

}  // namespace

Result<json::object> SimulationService::StartScenarios(std::string_view twin_id, const json::value& body) {
  State& s = *state_;
  DOPPEL_ASSIGN_OR_RETURN(RunRequest run, SplitRequest(body));
  DOPPEL_ASSIGN_OR_RETURN(ScenarioRequest request, ParseScenarioRequest(json::value(run.rest)));
  DOPPEL_ASSIGN_OR_RETURN(std::shared_ptr<const sim::Binding> binding, s.CoveringOne(twin_id, run.binding));
  DOPPEL_ASSIGN_OR_RETURN(std::unique_ptr<Simulation> fork, s.ForkFor(twin_id, binding));
  BaseProfiles profiles;
  if (run.base == "history") {
    DOPPEL_ASSIGN_OR_RETURN(profiles, s.HistoryProfiles(twin_id, binding, LongestHorizon(request)));
  }
  DOPPEL_ASSIGN_OR_RETURN(std::string id, s.scenarios->Submit(*fork, std::move(profiles), std::move(request),
                                                              s.clock.Now(), std::string(twin_id)));
  DOPPEL_ASSIGN_OR_RETURN(json::value job, s.scenarios->RenderJson(id, false));
  return job.get_object();
}

Result<json::object> SimulationService::Scenarios(std::string_view twin_id, std::string_view job_id) const {
  DOPPEL_ASSIGN_OR_RETURN(JobProgress progress, state_->scenarios->Progress(job_id));
  if (progress.tag != twin_id) return Status::NotFound(fmt::format("no scenario job '{}' for twin '{}'", job_id, twin_id));
  DOPPEL_ASSIGN_OR_RETURN(json::value job, state_->scenarios->RenderJson(job_id, true));
  return job.get_object();
}

json::array SimulationService::ScenarioJobs(std::string_view twin_id) const {
  json::array out;
  for (const std::string& id : state_->scenarios->List(twin_id)) {
    auto job = state_->scenarios->RenderJson(id, false);
    if (job.ok()) out.push_back(std::move(*job));
  }
  return out;
}

Status SimulationService::CancelScenarios(std::string_view twin_id, std::string_view job_id) {
  DOPPEL_ASSIGN_OR_RETURN(JobProgress progress, state_->scenarios->Progress(job_id));
  if (progress.tag != twin_id) return Status::NotFound(fmt::format("no scenario job '{}' for twin '{}'", job_id, twin_id));
  return state_->scenarios->Cancel(job_id);
}

Result<json::object> SimulationService::Forecast(std::string_view twin_id, const json::value& body) {
  State& s = *state_;
  DOPPEL_ASSIGN_OR_RETURN(RunRequest run, SplitRequest(body));
  if (!body.get_object().contains("base")) run.base = "hold";  // "under current conditions"
  json::object spec = std::move(run.rest);
  if (spec.contains("scenarios")) return Status::InvalidArgument("scenarios: a forecast runs the current conditions only");
  if (!spec.contains("horizon")) spec["horizon"] = "24h";
  if (!spec.contains("resolution")) spec["resolution"] = "10m";
  spec["scenarios"] = json::array{json::object{{"name", "forecast"}}};
  DOPPEL_ASSIGN_OR_RETURN(ScenarioRequest request, ParseScenarioRequest(json::value(std::move(spec))));
  DOPPEL_ASSIGN_OR_RETURN(std::shared_ptr<const sim::Binding> binding, s.CoveringOne(twin_id, run.binding));
  DOPPEL_ASSIGN_OR_RETURN(std::unique_ptr<Simulation> fork, s.ForkFor(twin_id, binding));
  BaseProfiles profiles;
  if (run.base == "history") {
    DOPPEL_ASSIGN_OR_RETURN(profiles, s.HistoryProfiles(twin_id, binding, LongestHorizon(request)));
  }
  DOPPEL_ASSIGN_OR_RETURN(std::vector<ScenarioResult> results, RunScenarios(*fork, profiles, request, {.threads = 1}));
  json::object out{{"twinId", twin_id}, {"binding", binding->name}, {"startTime", FormatRfc3339(s.clock.Now())},
                   {"base", run.base}};
  out["forecast"] = ScenarioResultToJson(results.front());
  return out;
}

void SimulationService::RenderMetrics(std::string& out) const {
  const State& s = *state_;
  std::size_t runs = 0, tracking = 0;
  {
    std::lock_guard lock(s.run_mu);
    runs = s.runs.size();
    for (const auto& r : s.runs) tracking += r.tracker && r.tracker->started() ? 1 : 0;
  }
  out += fmt::format(
      "# HELP doppel_sim_shadow_runs Bound twins in shadow mode (tracking = has observed a reading).\n"
      "# TYPE doppel_sim_shadow_runs gauge\n"
      "doppel_sim_shadow_runs{{state=\"bound\"}} {}\ndoppel_sim_shadow_runs{{state=\"tracking\"}} {}\n"
      "# HELP doppel_sim_readings_total Readings the shadow runs received, by outcome.\n"
      "# TYPE doppel_sim_readings_total counter\n"
      "doppel_sim_readings_total{{outcome=\"queued\"}} {}\ndoppel_sim_readings_total{{outcome=\"dropped\"}} {}\n"
      "# HELP doppel_sim_observations_total Shadow observations (a group of readings of one instant).\n"
      "# TYPE doppel_sim_observations_total counter\n"
      "doppel_sim_observations_total{{outcome=\"ok\"}} {}\ndoppel_sim_observations_total{{outcome=\"refused\"}} {}\n"
      "# HELP doppel_sim_observe_seconds_total Time spent stepping and filtering.\n"
      "# TYPE doppel_sim_observe_seconds_total counter\ndoppel_sim_observe_seconds_total {}\n"
      "# HELP doppel_sim_derived_readings_total Expected values, residuals and virtual sensors written.\n"
      "# TYPE doppel_sim_derived_readings_total counter\n"
      "doppel_sim_derived_readings_total {}\ndoppel_sim_derived_write_failures_total {}\n",
      runs, tracking, s.queued.load(), s.dropped.load(), s.observed.load(), s.refused.load(),
      static_cast<double>(s.observe_ns.load()) / 1e9, s.derived_written.load(), s.write_failures.load());
}

}  // namespace doppel::sim
