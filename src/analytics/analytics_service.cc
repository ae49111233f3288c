#include "analytics/analytics_service.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "analytics/internal/service_state.h"

namespace doppel::analytics {
namespace {

using service_internal::DetectorDef;
using service_internal::RulDef;
using service_internal::RulEntry;
namespace fs = std::filesystem;

Status ReadOnly(std::string_view what, std::string_view name) {
  return Status::Conflict(fmt::format("{} '{}' comes from the config file; change it there", what, name));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The service

AnalyticsService::AnalyticsService(std::unique_ptr<State> state) : state_(std::move(state)) {}
AnalyticsService::~AnalyticsService() { Stop(); }

Result<std::unique_ptr<AnalyticsService>> AnalyticsService::Open(AnalyticsServiceOptions options,
                                                                 twin::TwinGraph& graph, twin::EventBus& events,
                                                                 ingest::Ingestor& ingestor, ingest::LiveState& live,
                                                                 const Clock& clock) {
  auto state = std::make_unique<State>(std::move(options), graph, events, ingestor, live, clock);
  if (!state->options.dir.empty()) {
    std::error_code ec;
    fs::create_directories(state->options.dir, ec);
    if (ec) return Status::Unavailable(fmt::format("cannot create {}: {}", state->options.dir, ec.message()));
  }
  state->kpi = std::make_unique<KpiEngine>(graph, ingestor.store(), ingestor, clock);
  DOPPEL_RETURN_IF_ERROR(state->LoadDefinitions());
  DOPPEL_RETURN_IF_ERROR(state->LoadConfig());
  for (auto& [name, entry] : state->rul) state->LoadTrainedModel(entry);
  state->LoadAnomalies();
  return std::unique_ptr<AnalyticsService>(new AnalyticsService(std::move(state)));
}

void AnalyticsService::Start() {
  State& s = *state_;
  if (s.started) return;
  s.started = true;
  s.stopping = false;
  // Subscribed first: what is stored while the routing is built reaches the units through the
  // queue, and what was stored before is in the history their replay reads.
  s.listener = s.ingestor.Subscribe([&s](std::span<const ingest::Reading> r) { s.OnReadings(r); });
  s.event_subscription = s.events.Subscribe([&s](const twin::GraphEvent& e) { s.OnGraphEvent(e); });
  s.Rebuild();
  s.worker = std::thread([&s] { s.Run(); });
  if (s.options.kpi_interval.count() > 0) {
    s.kpi_stopping = false;
    s.kpi_timer = std::thread([&s] { s.RunKpiTimer(); });
  }
}

void AnalyticsService::Stop() {
  State& s = *state_;
  s.cancel_training.store(true);  // training may run without Start (tests, tools)
  {
    std::lock_guard lock(s.train_mu);
    if (s.trainer.joinable()) s.trainer.join();
  }
  if (!s.started) return;
  s.started = false;
  s.ingestor.Unsubscribe(s.listener);
  s.events.Unsubscribe(s.event_subscription);
  {
    std::lock_guard lock(s.kpi_mu);
    s.kpi_stopping = true;
  }
  s.kpi_cv.notify_all();
  if (s.kpi_timer.joinable()) s.kpi_timer.join();
  {
    std::lock_guard lock(s.queue_mu);
    s.stopping = true;
  }
  s.queue_cv.notify_one();
  s.flushed_cv.notify_all();
  if (s.worker.joinable()) s.worker.join();  // it persists the states on its way out
}

// ---------------------------------------------------------------------------------------------
// Detectors

json::object AnalyticsService::State::DetectorJson(const DetectorDef& def) const {
  json::object out = def.body;
  out["name"] = def.name;
  out["source"] = config_detectors.contains(def.name) ? "config" : "api";
  int64_t covered = 0;
  if (auto current = CurrentRouting()) {
    for (const auto& slot : current->slots) covered += slot->def->name == def.name ? 1 : 0;
  }
  out["coveredTwins"] = covered;
  return out;
}

json::array AnalyticsService::Detectors() const {
  json::array out;
  std::vector<std::shared_ptr<const DetectorDef>> defs;
  {
    std::lock_guard lock(state_->defs_mu);
    for (const auto& [name, def] : state_->detectors) defs.push_back(def);
  }
  for (const auto& def : defs) out.push_back(state_->DetectorJson(*def));
  return out;
}

Result<json::object> AnalyticsService::FindDetector(std::string_view name) const {
  std::shared_ptr<const DetectorDef> def;
  {
    std::lock_guard lock(state_->defs_mu);
    auto it = state_->detectors.find(name);
    if (it == state_->detectors.end()) return Status::NotFound(fmt::format("no detector '{}'", name));
    def = it->second;
  }
  return state_->DetectorJson(*def);
}

Result<std::pair<bool, json::object>> AnalyticsService::PutDetector(std::string_view name, const json::value& body) {
  State& s = *state_;
  DOPPEL_RETURN_IF_ERROR(service_internal::CheckName(name, "detector"));
  if (s.config_detectors.contains(name)) return ReadOnly("detector", name);
  DOPPEL_ASSIGN_OR_RETURN(DetectorDef parsed, service_internal::ParseDetectorDef(name, body));
  {
    std::vector<service_internal::NamedPath> reads, writes;
    for (const std::string& signal : parsed.spec.signals) reads.push_back({"signals", signal});
    if (!parsed.output.empty()) writes.push_back({"output", parsed.output});
    DOPPEL_RETURN_IF_ERROR(s.graph.Read([&](const twin::GraphState& graph) {
      return service_internal::CheckModelPaths(graph, parsed.coverage, "detector", reads, writes);
    }));
  }
  auto def = std::make_shared<const DetectorDef>(std::move(parsed));
  bool created = false;
  {
    std::lock_guard lock(s.defs_mu);
    auto it = s.detectors.find(name);
    created = it == s.detectors.end();
    std::shared_ptr<const DetectorDef> before = created ? nullptr : it->second;
    s.detectors[def->name] = def;
    if (Status saved = s.SaveDetectorsLocked(); !saved.ok()) {
      if (created) {
        s.detectors.erase(def->name);
      } else {
        s.detectors[def->name] = before;
      }
      return saved;
    }
  }
  if (s.started) s.Rebuild();  // scoring from the moment this answers, warmed up from history
  return std::make_pair(created, s.DetectorJson(*def));
}

Status AnalyticsService::DeleteDetector(std::string_view name) {
  State& s = *state_;
  if (s.config_detectors.contains(name)) return ReadOnly("detector", name);
  {
    std::lock_guard lock(s.defs_mu);
    auto it = s.detectors.find(name);
    if (it == s.detectors.end()) return Status::NotFound(fmt::format("no detector '{}'", name));
    auto removed = it->second;
    s.detectors.erase(it);
    if (Status saved = s.SaveDetectorsLocked(); !saved.ok()) {
      s.detectors[removed->name] = removed;
      return saved;
    }
    s.saved_states.erase(name);
  }
  if (s.started) s.Rebuild();
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// RUL definitions

json::array AnalyticsService::RulModels() const {
  json::array out;
  std::lock_guard lock(state_->defs_mu);
  for (const auto& [name, entry] : state_->rul) out.push_back(state_->RulEntryJson(entry));
  return out;
}

Result<json::object> AnalyticsService::FindRulModel(std::string_view name) const {
  std::lock_guard lock(state_->defs_mu);
  auto it = state_->rul.find(name);
  if (it == state_->rul.end()) return Status::NotFound(fmt::format("no RUL model '{}'", name));
  return state_->RulEntryJson(it->second);
}

Result<std::pair<bool, json::object>> AnalyticsService::PutRulModel(std::string_view name, const json::value& body) {
  State& s = *state_;
  DOPPEL_RETURN_IF_ERROR(service_internal::CheckName(name, "RUL model"));
  if (s.config_rul.contains(name)) return ReadOnly("RUL model", name);
  DOPPEL_ASSIGN_OR_RETURN(RulDef parsed, service_internal::ParseRulDef(name, body));
  {
    std::vector<service_internal::NamedPath> reads, writes;
    for (const std::string& column : parsed.Columns()) reads.push_back({"signals", column});
    if (!parsed.failure.empty()) reads.push_back({"failure", parsed.failure});
    for (const auto& [field, path] : {std::pair<const char*, const std::string&>{"outputs.rul", parsed.outputs.rul},
                                      {"outputs.low", parsed.outputs.low},
                                      {"outputs.high", parsed.outputs.high},
                                      {"outputs.health", parsed.outputs.health}}) {
      if (!path.empty()) writes.push_back({field, path});
    }
    DOPPEL_RETURN_IF_ERROR(s.graph.Read([&](const twin::GraphState& graph) {
      return service_internal::CheckModelPaths(graph, parsed.coverage, "RUL model", reads, writes);
    }));
  }
  auto def = std::make_shared<const RulDef>(std::move(parsed));
  bool created = false;
  json::object out;
  {
    std::lock_guard lock(s.defs_mu);
    auto it = s.rul.find(name);
    created = it == s.rul.end();
    if (!created && it->second.status == "training") {
      return Status::Conflict(fmt::format("RUL model '{}' is training; try again when it has finished", name));
    }
    RulEntry before = created ? RulEntry{} : it->second;
    RulEntry entry{.def = def};
    // The same definition again (a reload) keeps its trained model.
    if (!created && before.model && ToJson(before.def->body) == ToJson(def->body)) {
      entry.model = before.model;
      entry.status = before.status;
      entry.progress = before.progress;
    }
    s.rul[def->name] = entry;
    if (Status saved = s.SaveRulLocked(); !saved.ok()) {
      if (created) {
        s.rul.erase(def->name);
      } else {
        s.rul[def->name] = before;
      }
      return saved;
    }
    if (!entry.model) {
      std::error_code ec;
      if (const std::string file = s.RulModelFile(name); !file.empty()) fs::remove(file, ec);
    }
    out = s.RulEntryJson(entry);
  }
  if (s.started) s.Rebuild();
  return std::make_pair(created, std::move(out));
}

Status AnalyticsService::DeleteRulModel(std::string_view name) {
  State& s = *state_;
  if (s.config_rul.contains(name)) return ReadOnly("RUL model", name);
  {
    std::lock_guard lock(s.defs_mu);
    auto it = s.rul.find(name);
    if (it == s.rul.end()) return Status::NotFound(fmt::format("no RUL model '{}'", name));
    if (it->second.status == "training") {
      return Status::Conflict(fmt::format("RUL model '{}' is training; try again when it has finished", name));
    }
    RulEntry removed = it->second;
    s.rul.erase(it);
    if (Status saved = s.SaveRulLocked(); !saved.ok()) {
      s.rul[removed.def->name] = removed;
      return saved;
    }
    std::error_code ec;
    if (const std::string file = s.RulModelFile(name); !file.empty()) fs::remove(file, ec);
  }
  if (s.started) s.Rebuild();
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// KPIs

KpiEngine& AnalyticsService::kpis() { return *state_->kpi; }

json::array AnalyticsService::KpiDefinitions() const {
  json::array out = state_->kpi->List();
  for (json::value& v : out) {
    if (!v.is_object()) continue;
    const json::value* name = v.get_object().if_contains("name");
    if (name != nullptr && name->is_string()) {
      v.get_object()["source"] = state_->config_kpis.contains(name->get_string()) ? "config" : "api";
    }
  }
  return out;
}

Result<json::object> AnalyticsService::FindKpi(std::string_view name) const {
  DOPPEL_ASSIGN_OR_RETURN(json::object kpi, state_->kpi->Find(name));
  kpi["source"] = state_->config_kpis.contains(name) ? "config" : "api";
  return kpi;
}

Result<std::pair<bool, json::object>> AnalyticsService::PutKpi(std::string_view name, const json::value& body) {
  State& s = *state_;
  DOPPEL_RETURN_IF_ERROR(service_internal::CheckName(name, "KPI definition"));
  if (s.config_kpis.contains(name)) return ReadOnly("KPI definition", name);
  DOPPEL_ASSIGN_OR_RETURN(auto put, s.kpi->Put(name, body));
  if (Status saved = s.SaveKpis(); !saved.ok()) return saved;
  return put;
}

Status AnalyticsService::DeleteKpi(std::string_view name) {
  State& s = *state_;
  if (s.config_kpis.contains(name)) return ReadOnly("KPI definition", name);
  DOPPEL_RETURN_IF_ERROR(s.kpi->Delete(name));
  return s.SaveKpis();
}

Result<json::object> AnalyticsService::TwinKpis(std::string_view twin_id, int64_t from_ns, int64_t to_ns) const {
  return state_->kpi->Compute(twin_id, from_ns, to_ns);
}

// ---------------------------------------------------------------------------------------------
// One twin

Result<json::object> AnalyticsService::TwinAnalytics(std::string_view twin_id) const {
  const State& s = *state_;
  const bool exists = s.graph.Read([&](const twin::GraphState& g) { return g.FindTwin(twin_id) != nullptr; });
  if (!exists) return Status::NotFound(fmt::format("twin '{}' not found", twin_id), "DigitalTwinNotFound");
  json::object out;
  auto current = s.CurrentRouting();
  const service_internal::TwinRoute* route = current ? current->Find(twin_id) : nullptr;
  if (route != nullptr && !route->slots.empty()) {
    json::object anomaly;
    for (service_internal::Slot* slot : route->slots) {
      std::lock_guard lock(slot->mu);
      json::object o{{"signals", json::value_from(slot->def->spec.signals)},
                     {"observed", slot->detector ? slot->detector->observed() : 0}};
      if (slot->scored > 0 || slot->last_time != 0) {
        o["score"] = FiniteOrNull(slot->last.score);
        o["time"] = service_internal::TimeText(slot->last_time);
        o["evidence"] = service_internal::EvidenceJson(slot->last.evidence, slot->def->spec.signals);
      } else {
        o["score"] = nullptr;
      }
      anomaly[slot->def->name] = std::move(o);
    }
    out["anomaly"] = std::move(anomaly);
  }
  if (route != nullptr && !route->units.empty()) {
    json::object rul;
    std::lock_guard lock(s.rul_mu);
    for (service_internal::RulUnit* unit : route->units) rul[unit->def->name] = s.UnitJson(*unit);
    out["rul"] = std::move(rul);
  }
  // The KPIs of the twin's current shift, and its state, when a definition covers it.
  if (auto kpis = s.kpi->ComputeCurrentShift(twin_id); kpis.ok()) {
    if (const json::value* values = kpis->if_contains("kpis"); values != nullptr && values->is_object()) {
      out["kpis"] = *values;
      out["kpiWindow"] = json::object{{"from", (*kpis)["from"]}, {"to", (*kpis)["to"]}};
    }
    if (const json::value* state = kpis->if_contains("state")) out["state"] = *state;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Metrics

void AnalyticsService::RenderMetrics(std::string& out) const {
  const State& s = *state_;
  std::size_t slots = 0, units = 0, tracking = 0;
  if (auto current = s.CurrentRouting()) {
    slots = current->slots.size();
    units = current->units.size();
    std::lock_guard lock(s.rul_mu);
    for (const auto& u : current->units) tracking += u->tracker ? 1 : 0;
  }
  std::size_t queued = 0;
  {
    std::lock_guard lock(s.queue_mu);
    queued = s.queue.scores.size() + s.queue.columns.size();
  }
  out += fmt::format(
      "# HELP doppel_analytics_detectors Detector instances (one per detector and covered twin).\n"
      "# TYPE doppel_analytics_detectors gauge\ndoppel_analytics_detectors {}\n"
      "# HELP doppel_analytics_readings_scored_total Signal values scored by detectors.\n"
      "# TYPE doppel_analytics_readings_scored_total counter\ndoppel_analytics_readings_scored_total {}\n"
      "# HELP doppel_analytics_score_seconds_total Time spent scoring in the ingest listener.\n"
      "# TYPE doppel_analytics_score_seconds_total counter\ndoppel_analytics_score_seconds_total {}\n"
      "# HELP doppel_analytics_queue Records waiting for the analytics worker.\n"
      "# TYPE doppel_analytics_queue gauge\ndoppel_analytics_queue {}\n"
      "# HELP doppel_analytics_dropped_total Records dropped because the worker's queue was full.\n"
      "# TYPE doppel_analytics_dropped_total counter\ndoppel_analytics_dropped_total {}\n"
      "# HELP doppel_analytics_derived_readings_total Anomaly scores and RUL estimates written as telemetry.\n"
      "# TYPE doppel_analytics_derived_readings_total counter\n"
      "doppel_analytics_derived_readings_total{{kind=\"score\"}} {}\n"
      "doppel_analytics_derived_readings_total{{kind=\"rul\"}} {}\n"
      "# HELP doppel_analytics_derived_write_failures_total Groups of derived readings the Ingestor refused.\n"
      "# TYPE doppel_analytics_derived_write_failures_total counter\ndoppel_analytics_derived_write_failures_total {}\n"
      "# HELP doppel_analytics_anomaly_events_total Anomaly events raised.\n"
      "# TYPE doppel_analytics_anomaly_events_total counter\ndoppel_analytics_anomaly_events_total {}\n"
      "# HELP doppel_analytics_rul_units RUL units (covered twins), and those with a live tracker.\n"
      "# TYPE doppel_analytics_rul_units gauge\n"
      "doppel_analytics_rul_units{{state=\"covered\"}} {}\ndoppel_analytics_rul_units{{state=\"tracking\"}} {}\n"
      "# HELP doppel_analytics_rul_cycles_total Cycles fed to RUL trackers.\n"
      "# TYPE doppel_analytics_rul_cycles_total counter\ndoppel_analytics_rul_cycles_total {}\n"
      "# HELP doppel_analytics_kpi_ticks_total KPI computations of every covered twin, by outcome.\n"
      "# TYPE doppel_analytics_kpi_ticks_total counter\n"
      "doppel_analytics_kpi_ticks_total{{outcome=\"ok\"}} {}\ndoppel_analytics_kpi_ticks_total{{outcome=\"failed\"}} {}\n"
      "# HELP doppel_analytics_kpi_tick_seconds Duration of the last KPI tick.\n"
      "# TYPE doppel_analytics_kpi_tick_seconds gauge\ndoppel_analytics_kpi_tick_seconds {}\n",
      slots, s.scored.load(), static_cast<double>(s.score_ns.load()) / 1e9, queued, s.dropped.load(),
      s.score_written.load(), s.rul_written.load(), s.write_failures.load(), s.events_raised.load(), units, tracking,
      s.cycles.load(), s.kpi_ticks.load() - s.kpi_failures.load(), s.kpi_failures.load(), s.kpi->last_tick_seconds());
}

}  // namespace doppel::analytics
