// SimulationService's what-if side (docs/simulation.md, "What-if scenarios"): which binding
// covers a twin, the simulation a job forks from (the shadow run's estimate, else the model
// with the twin's current values), base input profiles replayed from history, and the
// scenario and forecast endpoints on the ScenarioRunner.
#include <algorithm>

#include <fmt/format.h>

#include "sim/internal/service_state.h"
#include "tsdb/query.h"

namespace doppel::sim {
namespace {

using internal::CurrentValue;
using internal::Nanos;
using internal::Seconds;
using internal::ShadowRun;


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

std::string SimulationService::HiddenInput(std::string_view twin_id, const twin::FieldMask& mask) const {
  if (!mask) return {};
  const auto covering = state_->Covering(twin_id, "");
  return state_->graph.Read([&](const twin::GraphState& graph) -> std::string {
    for (const auto& binding : covering) {
      const internal::BoundTwin bound = internal::BindTwin(graph, std::string(twin_id), binding);
      std::vector<const TwinPath*> read;
      for (const auto* map : {&binding->parameters, &binding->inputs}) {
        for (const auto& [var, path] : *map) read.push_back(&path);
      }
      for (const auto& [var, m] : binding->measurements) read.push_back(&m.source);
      for (const TwinPath* path : read) {
        const std::string_view source = bound.SourceOf(*path);
        const twin::Twin* twin = source.empty() ? nullptr : graph.FindTwin(source);
        if (twin == nullptr) continue;
        if (const std::string_view cls = mask.Hides(twin->model_id, path->path); !cls.empty()) {
          return fmt::format("'{}' of '{}' ({})", path->path, source, cls);
        }
      }
    }
    return {};
  });
}

}  // namespace doppel::sim
