// SimulationService's shadow worker (docs/simulation.md, "Shadow mode"): readings of bound paths
// are queued by an Ingestor listener, grouped per bound twin and instant, observed by each
// twin's ShadowTracker on one worker thread, and the expected values, residuals and virtual
// sensors are written back through the Ingestor. Bindings resolve to routes against the graph;
// shadow states are saved every persist_interval and at Stop.
#include <algorithm>
#include <filesystem>
#include <limits>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/file_io.h"
#include "sim/internal/service_state.h"

namespace doppel::sim {
namespace {

using internal::CurrentValue;
using internal::kShadowDir;
using internal::NumericOf;
using internal::Pending;
using internal::Role;
using internal::Routes;
using internal::Seconds;
using internal::ShadowRun;
using internal::SteadyClock;
namespace fs = std::filesystem;

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
  // Each binding's saved states, read once (a file holds every twin of the binding).
  std::map<std::string, json::object> saved;
  const auto saved_state = [&](const std::string& binding, const std::string& twin_id) -> const json::value* {
    auto it = saved.find(binding);
    if (it == saved.end()) it = saved.emplace(binding, SavedShadows(binding)).first;
    return it->second.if_contains(twin_id);
  };
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
        if (const json::value* saved_json = saved_state(bound.binding->name, bound.twin_id)) {
          if (Status s = runs.back().tracker->RestoreJson(ToJson(*saved_json)); !s.ok()) {
            spdlog::warn("shadow state of '{}' ({}) not restored: {}", bound.twin_id, bound.binding->name, s.message());
          }
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
          // Not an observation of its own (the server's clock is not the devices'): the next
          // observed instant takes it.
          if (run.changed_properties.size() != run.inputs.size()) {
            run.changed_properties.assign(run.inputs.size(), std::numeric_limits<double>::quiet_NaN());
          }
          run.changed_properties[i] = *value;
        }
      }
    }
  });
}

void SimulationService::State::Observe(ShadowRun& run, tsdb::TimeNs time, Pending& group,
                                       std::vector<ingest::Reading>& derived) {
  for (std::size_t i = 0; i < run.changed_properties.size(); ++i) {
    if (std::isnan(group.inputs[i])) group.inputs[i] = run.changed_properties[i];
  }
  run.changed_properties.clear();
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
          json::object{{"value", FiniteOrNull(u.expected[i])}, {"stddev", FiniteOrNull(u.expected_stddev[i])}};
      residuals[config.measured[i].name] = FiniteOrNull(u.residual[i]);
    }
  }
  for (std::size_t i = 0; i < config.estimated.size(); ++i) {
    estimates[config.estimated[i].name] =
        json::object{{"value", FiniteOrNull(u.estimates[i].value)}, {"stddev", FiniteOrNull(u.estimates[i].stddev)}};
  }
  for (std::size_t i = 0; i < config.derived.size(); ++i) {
    const VirtualSensor& v = binding.virtual_sensors.at(config.derived[i]);
    emit(v.path, u.virtual_sensors[i].value);
    emit(v.stddev_path, u.virtual_sensors[i].stddev);
    sensors[config.derived[i]] = json::object{{"value", FiniteOrNull(u.virtual_sensors[i].value)},
                                              {"stddev", FiniteOrNull(u.virtual_sensors[i].stddev)}};
  }
  json::object inputs;
  const auto& info = run.tracker->model().info();
  for (const auto& name : run.inputs) {
    if (auto index = info.Find(name)) inputs[name] = FiniteOrNull(run.tracker->model().Get(*index));
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

json::object SimulationService::State::SavedShadows(const std::string& binding_name) const {
  if (options.dir.empty()) return {};
  const std::string file = (fs::path(options.dir) / kShadowDir / (binding_name + ".json")).string();
  auto text = ReadFile(file);
  if (!text.ok()) {
    if (text.status().code() != StatusCode::kNotFound) spdlog::warn("shadow states not restored: {}", text.status().message());
    return {};
  }
  auto doc = ParseJson(*text, JsonLimits{.max_bytes = 1u << 30});
  if (!doc.ok() || !doc->is_object()) {
    spdlog::warn("shadow states not restored: {} is not a JSON object", file);
    return {};
  }
  return std::move(doc->get_object());
}

}  // namespace doppel::sim
