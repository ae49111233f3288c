// AnalyticsService's remaining-useful-life side: run-to-failure histories read from Doppel's
// own history (every twin of the model whose failure marker turned true, cut there), training
// on its own thread with progress, and one live RulTracker per twin that has not failed —
// replayed from its history when the model is (re)trained or the twin appears, then fed cycle
// by cycle from the worker.
#include <algorithm>
#include <filesystem>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "analytics/internal/history_reads.h"
#include "analytics/internal/service_state.h"
#include "base/file_io.h"

namespace doppel::analytics {
namespace {

using service_internal::Cycle;
using service_internal::CycleAssembler;
using service_internal::RulDef;
using service_internal::RulUnit;

// A unit's column readings in time order, and when its failure marker first turned true.
struct UnitReadings {
  std::vector<std::tuple<int64_t, uint32_t, double>> points;
  std::optional<int64_t> failure;
  int64_t last = std::numeric_limits<int64_t>::min();
};

// `failed_only`: a unit that never failed is left without its columns (training skips it).
UnitReadings ReadUnit(const tsdb::SeriesStore& store, const RulDef& def, std::string_view twin_id,
                      bool failed_only = false) {
  UnitReadings out;
  for (const tsdb::Point& p : service_internal::ReadHistory(store, twin_id, def.failure)) {
    auto v = service_internal::NumericOf(p.value);
    if (v && *v != 0) {
      out.failure = p.time;
      break;
    }
  }
  if (failed_only && !out.failure) return out;
  const std::vector<std::string> columns = def.Columns();
  for (std::size_t c = 0; c < columns.size(); ++c) {
    for (const tsdb::Point& p : service_internal::ReadHistory(store, twin_id, columns[c])) {
      if (auto v = service_internal::NumericOf(p.value)) out.points.emplace_back(p.time, static_cast<uint32_t>(c), *v);
    }
  }
  std::stable_sort(out.points.begin(), out.points.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  if (!out.points.empty()) out.last = std::get<0>(out.points.back());
  return out;
}

std::vector<Cycle> CyclesUntil(const RulDef& def, const UnitReadings& readings, int64_t end) {
  CycleAssembler assembler(def.Columns().size(), def.bucket_ns);
  std::vector<Cycle> cycles;
  for (const auto& [time, column, value] : readings.points) {
    if (time > end) break;
    assembler.Add(time, column, value, cycles);
  }
  assembler.Finish(cycles);
  return cycles;
}

json::object ReportJson(const TrainReport& r) {
  return json::object{{"validationRmse", FiniteOrNull(r.validation_rmse)},
                      {"validationLastRmse", FiniteOrNull(r.validation_last_rmse)},
                      {"units", static_cast<int64_t>(r.units)},
                      {"cycles", static_cast<int64_t>(r.cycles)},
                      {"seconds", FiniteOrNull(r.seconds)}};
}

}  // namespace

json::object AnalyticsService::State::RulEntryJson(const service_internal::RulEntry& entry) const {
  json::object out = entry.def->body;
  out["name"] = entry.def->name;
  out["source"] = config_rul.contains(entry.def->name) ? "config" : "api";
  out["status"] = entry.status;
  out["progress"] = FiniteOrNull(entry.progress);
  if (!entry.stage.empty()) out["stage"] = entry.stage;
  if (!entry.error.empty()) out["error"] = entry.error;
  if (entry.model) out["report"] = ReportJson(entry.model->report());
  return out;
}

void AnalyticsService::State::TrainJob(std::shared_ptr<const RulDef> def) {
  const auto set = [&](std::string_view status, double progress, std::string_view stage, std::string_view error) {
    std::lock_guard lock(defs_mu);
    auto it = rul.find(def->name);
    if (it == rul.end() || it->second.def != def) return;
    if (!status.empty()) it->second.status = std::string(status);
    it->second.progress = progress;
    it->second.stage = std::string(stage);
    it->second.error = std::string(error);
  };
  set("", 0, "reading history", "");
  const std::vector<std::string> twins =
      graph.Read([&](const twin::GraphState& state) { return def->coverage.Resolve(state); });
  std::vector<UnitHistory> units;
  for (std::size_t i = 0; i < twins.size(); ++i) {
    const UnitReadings readings = ReadUnit(ingestor.store(), *def, twins[i], /*failed_only=*/true);
    if (!readings.failure) continue;  // not run to failure: a live unit, not training data
    UnitHistory unit{.unit = twins[i], .cycles = {}};
    for (Cycle& c : CyclesUntil(*def, readings, *readings.failure)) unit.cycles.push_back(std::move(c.values));
    if (!unit.cycles.empty()) units.push_back(std::move(unit));
    set("", 0.1 * static_cast<double>(i + 1) / static_cast<double>(twins.size()), "reading history", "");
  }
  auto model = RulModel::Train(def->spec, units, [&](const TrainProgress& p) {
    set("", 0.1 + 0.85 * std::clamp(p.fraction, 0.0, 1.0), p.stage, "");
    return !cancel_training.load();
  });
  if (!model.ok()) {
    spdlog::warn("analytics: RUL model '{}' not trained: {}", def->name, model.status().message());
    set("failed", 0, "", model.status().message());
    return;
  }
  if (!options.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(PathIn(service_internal::kRulModelDir), ec);
    const std::string file = (std::filesystem::path(PathIn(service_internal::kRulModelDir)) / (def->name + ".json")).string();
    if (Status s = WriteFileAtomically(file, ToJson((*model)->Save())); !s.ok()) {
      spdlog::warn("analytics: trained RUL model '{}' not saved: {}", def->name, s.message());
    }
  }
  {
    std::lock_guard lock(defs_mu);
    auto it = rul.find(def->name);
    if (it == rul.end() || it->second.def != def) return;  // replaced or deleted meanwhile
    it->second.model = *model;
    it->second.progress = 0.95;
    it->second.stage = "attaching live units";
  }
  {
    std::lock_guard lock(rebuild_mu);
    if (auto current = CurrentRouting()) EnsureTrackers(*current);
  }
  set("trained", 1, "done", "");
  spdlog::info("analytics: RUL model '{}' trained on {} units, validation RMSE {:.2f}", def->name, units.size(),
               (*model)->report().validation_rmse);
}

void AnalyticsService::State::EnsureTrackers(const service_internal::Routing& current) {
  std::vector<ingest::Reading> outputs;
  for (const auto& unit : current.units) {
    std::shared_ptr<const RulModel> model;
    {
      std::lock_guard lock(defs_mu);
      auto it = rul.find(unit->def->name);
      if (it != rul.end() && it->second.def == unit->def) model = it->second.model;
    }
    std::lock_guard lock(rul_mu);
    if (unit->model == model) continue;
    if (!model) {
      unit->model = nullptr;
      unit->tracker.reset();
      unit->cycles.reset();
      unit->has_estimate = false;
      continue;
    }
    ReplayUnit(*unit, std::move(model), outputs);
  }
  const auto [written, failed] = service_internal::WriteByTwin(ingestor, outputs);
  rul_written.fetch_add(written, std::memory_order_relaxed);
  write_failures.fetch_add(failed, std::memory_order_relaxed);
}

void AnalyticsService::State::ReplayUnit(RulUnit& unit, std::shared_ptr<const RulModel> model,
                                        std::vector<ingest::Reading>& out) {
  const UnitReadings readings = ReadUnit(ingestor.store(), *unit.def, unit.twin_id);
  unit.model = model;
  unit.tracker.reset();
  unit.has_estimate = false;
  unit.failed = readings.failure.has_value();
  unit.cycles = std::make_unique<CycleAssembler>(unit.def->Columns().size(), unit.def->bucket_ns);
  unit.replayed_until = readings.last;
  if (unit.failed) return;  // run to failure: training data, nothing left to predict
  unit.tracker = std::make_unique<RulTracker>(std::move(model));
  std::vector<Cycle> replayed;
  for (const auto& [time, column, value] : readings.points) unit.cycles->Add(time, column, value, replayed);
  for (const Cycle& c : replayed) AddCycle(unit, c, nullptr);
  if (unit.has_estimate) EmitEstimate(unit, unit.estimate_time, out);
}

void AnalyticsService::State::FeedUnit(const service_internal::ColumnRecord& record, std::vector<ingest::Reading>& out) {
  RulUnit& unit = *record.ref.unit;
  if (unit.failed || !unit.tracker || !unit.cycles) return;
  if (record.ref.column == service_internal::kFailureColumn) {
    if (record.value != 0) {
      unit.failed = true;
      unit.tracker.reset();
    }
    return;
  }
  // What the replay read is not fed twice (a bucket would count it twice; a reading time
  // already complete is skipped by the assembler itself).
  if (unit.def->bucket_ns > 0 ? record.time <= unit.replayed_until : record.time < unit.replayed_until) return;
  std::vector<Cycle> completed;
  unit.cycles->Add(record.time, record.ref.column, record.value, completed);
  for (const Cycle& c : completed) AddCycle(unit, c, &out);
}

void AnalyticsService::State::AddCycle(RulUnit& unit, const Cycle& cycle, std::vector<ingest::Reading>* out) {
  unit.tracker->Add(cycle.values);
  unit.estimate = unit.tracker->Estimate();
  unit.estimate_time = cycle.time;
  unit.has_estimate = true;
  cycles.fetch_add(1, std::memory_order_relaxed);
  if (out != nullptr) EmitEstimate(unit, cycle.time, *out);
}

void AnalyticsService::State::EmitEstimate(const RulUnit& unit, int64_t time, std::vector<ingest::Reading>& out) const {
  const service_internal::RulOutputs& o = unit.def->outputs;
  const auto emit = [&](const std::string& path, double value) {
    if (path.empty() || !std::isfinite(value)) return;
    out.push_back(ingest::Reading{.twin_id = unit.twin_id, .path = path, .time = time, .value = value});
  };
  emit(o.rul, unit.estimate.rul);
  emit(o.low, unit.estimate.low);
  emit(o.high, unit.estimate.high);
  emit(o.health, unit.estimate.health);
}

json::object AnalyticsService::State::UnitJson(const RulUnit& unit) const {
  if (unit.failed) return json::object{{"failed", true}};
  if (!unit.model) return json::object{{"status", "untrained"}};
  if (!unit.has_estimate) return json::object{{"status", "waiting for readings"}, {"cycles", 0}};
  const RulEstimate& e = unit.estimate;
  return json::object{{"rul", FiniteOrNull(e.rul)},       {"low", FiniteOrNull(e.low)},
                      {"high", FiniteOrNull(e.high)},     {"health", FiniteOrNull(e.health)},
                      {"cycles", static_cast<int64_t>(e.cycles)}, {"time", service_internal::TimeText(unit.estimate_time)}};
}

Result<json::object> AnalyticsService::Train(std::string_view name) {
  State& s = *state_;
  std::lock_guard train_lock(s.train_mu);
  if (s.training.load()) return Status::Conflict("a RUL model is training; try again when it has finished");
  std::shared_ptr<const RulDef> def;
  json::object answer;
  {
    std::lock_guard lock(s.defs_mu);
    auto it = s.rul.find(name);
    if (it == s.rul.end()) return Status::NotFound(fmt::format("no RUL model '{}'", name));
    it->second.status = "training";
    it->second.progress = 0;
    it->second.stage = "queued";
    it->second.error.clear();
    def = it->second.def;
    answer = s.RulEntryJson(it->second);
  }
  if (s.trainer.joinable()) s.trainer.join();
  s.training.store(true);
  s.cancel_training.store(false);
  s.trainer = std::thread([&s, def] {
    s.TrainJob(def);
    s.training.store(false);
  });
  return answer;
}

}  // namespace doppel::analytics
