#include "sim/simulation_service.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/file_io.h"
#include "sim/internal/service_state.h"

namespace doppel::sim {
namespace {

using internal::kBindingsFile;
using internal::kFmuDir;
using internal::kScenarioDir;
using internal::kShadowDir;
using internal::ShadowRun;
namespace fs = std::filesystem;

json::object VariableJson(const Variable& v) {
  json::object o{{"name", v.name}, {"causality", CausalityName(v.causality)}, {"start", FiniteOrNull(v.start)}};
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

}  // namespace

// ---------------------------------------------------------------------------------------------
// Bindings

Status SimulationService::State::LoadBindings() {
  const std::string path = PathIn(kBindingsFile);
  if (path.empty()) return Status::Ok();
  auto text = ReadFile(path);
  if (text.status().code() == StatusCode::kNotFound) return Status::Ok();
  DOPPEL_RETURN_IF_ERROR(text.status());
  auto doc = ParseJson(*text);
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
