// AnalyticsService's routing: every detector and RUL definition resolved against the twin graph
// into slots (one Detector per definition and twin) and units (one RUL tracker per definition
// and twin), indexed by twin and path for the Ingestor listener. Rebuilt whole when definitions
// or the graph change, and swapped in; unchanged slots and units carry over with their state.
// New slots restore their saved state when it matches, else warm up from history.
#include <algorithm>
#include <filesystem>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "analytics/internal/history_reads.h"
#include "analytics/internal/service_state.h"
#include "base/file_io.h"

namespace doppel::analytics {
namespace {

using service_internal::DetectorDef;
using service_internal::RulDef;
using service_internal::RulUnit;
using service_internal::Slot;
using service_internal::TwinRoute;

std::string KeyOf(std::string_view name, std::string_view twin_id) { return fmt::format("{}\n{}", name, twin_id); }

service_internal::PathRoute& RouteOf(TwinRoute& twin, const std::string& path) {
  for (auto& p : twin.paths) {
    if (p.path == path) return p;
  }
  return twin.paths.emplace_back(service_internal::PathRoute{.path = path});
}

}  // namespace

void AnalyticsService::State::Rebuild() {
  std::lock_guard rebuild_lock(rebuild_mu);
  routes_dirty.store(false);
  std::vector<std::shared_ptr<const DetectorDef>> detector_defs;
  std::vector<std::shared_ptr<const RulDef>> rul_defs;
  {
    std::lock_guard lock(defs_mu);
    for (const auto& [name, def] : detectors) detector_defs.push_back(def);
    for (const auto& [name, entry] : rul) rul_defs.push_back(entry.def);
  }
  std::vector<std::pair<std::shared_ptr<const DetectorDef>, std::string>> wanted_slots;
  std::vector<std::pair<std::shared_ptr<const RulDef>, std::string>> wanted_units;
  graph.Read([&](const twin::GraphState& state) {
    for (const auto& def : detector_defs) {
      for (std::string& id : def->coverage.Resolve(state)) wanted_slots.emplace_back(def, std::move(id));
    }
    for (const auto& def : rul_defs) {
      for (std::string& id : def->coverage.Resolve(state)) wanted_units.emplace_back(def, std::move(id));
    }
  });

  std::map<std::string, std::shared_ptr<Slot>> old_slots;
  std::map<std::string, std::shared_ptr<RulUnit>> old_units;
  if (auto old = CurrentRouting()) {
    for (const auto& slot : old->slots) old_slots.emplace(KeyOf(slot->def->name, slot->twin_id), slot);
    for (const auto& unit : old->units) old_units.emplace(KeyOf(unit->def->name, unit->twin_id), unit);
  }
  auto next = std::make_shared<service_internal::Routing>();
  for (auto& [def, twin_id] : wanted_slots) {
    auto it = old_slots.find(KeyOf(def->name, twin_id));
    // The same definition (or one with the same body, PUT again) keeps its detectors' state.
    if (it != old_slots.end() && it->second->def->fingerprint == def->fingerprint) {
      next->slots.push_back(it->second);
    } else {
      next->slots.push_back(NewSlot(def, std::move(twin_id)));
    }
  }
  for (auto& [def, twin_id] : wanted_units) {
    auto it = old_units.find(KeyOf(def->name, twin_id));
    if (it != old_units.end() && it->second->def == def) {
      next->units.push_back(it->second);
    } else {
      next->units.push_back(std::make_shared<RulUnit>(RulUnit{.def = def, .twin_id = std::move(twin_id)}));
    }
  }
  for (const auto& slot : next->slots) {
    TwinRoute& twin = next->by_twin[slot->twin_id];
    twin.slots.push_back(slot.get());
    if (slot->values.size() > 1) next->grouped.push_back(slot.get());
    const auto& signals = slot->def->spec.signals;
    for (std::size_t i = 0; i < signals.size(); ++i) {
      RouteOf(twin, signals[i]).signals.push_back({slot.get(), static_cast<uint32_t>(i)});
    }
  }
  for (const auto& unit : next->units) {
    TwinRoute& twin = next->by_twin[unit->twin_id];
    twin.units.push_back(unit.get());
    const std::vector<std::string> columns = unit->def->Columns();
    for (std::size_t i = 0; i < columns.size(); ++i) {
      RouteOf(twin, columns[i]).columns.push_back({unit.get(), static_cast<uint32_t>(i)});
    }
    RouteOf(twin, unit->def->failure).columns.push_back({unit.get(), service_internal::kFailureColumn});
  }
  {
    std::lock_guard lock(routing_mu);
    routing = next;
  }
  // After the swap: a reading stored from here on reaches the units through the queue, and
  // their history replay covers everything before (the overlap is skipped by time).
  EnsureTrackers(*next);
}

std::shared_ptr<Slot> AnalyticsService::State::NewSlot(std::shared_ptr<const DetectorDef> def, std::string twin_id) {
  auto slot = std::make_shared<Slot>();
  slot->def = std::move(def);
  slot->twin_id = std::move(twin_id);
  slot->detector = MakeDetector(slot->def->spec);
  slot->values.assign(slot->def->spec.signals.size(), std::numeric_limits<double>::quiet_NaN());
  if (!slot->detector) return slot;
  json::object saved;
  {
    std::lock_guard lock(defs_mu);
    const json::value* of_def = saved_states.if_contains(slot->def->name);
    const json::value* of_twin = of_def != nullptr && of_def->is_object()
                                     ? of_def->get_object().if_contains(slot->twin_id)
                                     : nullptr;
    if (of_twin != nullptr && of_twin->is_object()) saved = of_twin->get_object();
  }
  const json::value* fingerprint = saved.if_contains("definition");
  const json::value* state = saved.if_contains("state");
  if (fingerprint != nullptr && fingerprint->is_string() && fingerprint->get_string() == slot->def->fingerprint &&
      state != nullptr && state->is_object()) {
    std::lock_guard lock(slot->mu);
    Status restored = slot->detector->Restore(state->get_object());
    if (restored.ok()) {
      // The last score too, so GET .../analytics answers the same after a restart.
      const json::value* score = saved.if_contains("score");
      const json::value* time = saved.if_contains("time");
      if (score != nullptr && score->is_number() && time != nullptr && time->is_int64()) {
        slot->last.score = score->to_number<double>();
        slot->last_time = time->get_int64();
        slot->above = slot->last.score >= slot->def->spec.event_threshold;
      }
      return slot;
    }
    spdlog::warn("analytics: saved state of detector '{}' on '{}' not restored ({}); warming up from history",
                 slot->def->name, slot->twin_id, restored.message());
    slot->detector = MakeDetector(slot->def->spec);  // a half-restored detector is not trusted
  }
  WarmUp(*slot);
  return slot;
}

// Replays the twin's newest readings of the detector's signals (grouped by time) without
// emitting scores: the detector starts with a baseline instead of blind.
void AnalyticsService::State::WarmUp(Slot& slot) const {
  const auto& signals = slot.def->spec.signals;
  std::vector<std::tuple<int64_t, std::size_t, double>> points;
  for (std::size_t i = 0; i < signals.size(); ++i) {
    for (const tsdb::Point& p : service_internal::ReadTail(ingestor.store(), slot.twin_id, signals[i], options.warmup_readings)) {
      if (auto v = service_internal::NumericOf(p.value)) points.emplace_back(p.time, i, *v);
    }
  }
  std::stable_sort(points.begin(), points.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  std::lock_guard lock(slot.mu);
  std::vector<double> values(signals.size(), std::numeric_limits<double>::quiet_NaN());
  for (std::size_t i = 0; i < points.size();) {
    const int64_t time = std::get<0>(points[i]);
    std::fill(values.begin(), values.end(), std::numeric_limits<double>::quiet_NaN());
    for (; i < points.size() && std::get<0>(points[i]) == time; ++i) values[std::get<1>(points[i])] = std::get<2>(points[i]);
    slot.last = slot.detector->Update(time, values);
    slot.last_time = time;
  }
  slot.above = slot.last.score >= slot.def->spec.event_threshold;
}

// Every slot's detector state with the definition it belongs to: {name: {twin: {definition, state}}}.
void AnalyticsService::State::PersistStates() {
  auto current = CurrentRouting();
  if (options.dir.empty() || !current) return;
  json::object all;
  for (const auto& slot : current->slots) {
    json::object saved;
    {
      std::lock_guard lock(slot->mu);
      if (!slot->detector || slot->detector->observed() == 0) continue;
      saved = json::object{{"definition", slot->def->fingerprint},
                           {"state", slot->detector->Save()},
                           {"score", slot->last.score},
                           {"time", slot->last_time}};
    }
    json::value& of_def = all[slot->def->name];
    if (!of_def.is_object()) of_def = json::object{};
    of_def.get_object()[slot->twin_id] = std::move(saved);
  }
  // Boost's serializer, not ToJson: it keeps an integral double a double ("6e0", not "6"), and
  // a detector restores only into exactly the parameters (types included) it was saved with.
  if (Status s = WriteFileAtomically(PathIn(service_internal::kStatesFile), boost::json::serialize(all)); !s.ok()) {
    spdlog::warn("analytics: detector states not saved: {}", s.message());
    return;
  }
  std::lock_guard lock(defs_mu);
  saved_states = std::move(all);
}

}  // namespace doppel::analytics
