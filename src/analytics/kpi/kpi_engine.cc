#include "analytics/kpi/kpi_engine.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analytics/kpi/kpi_definition.h"
#include "analytics/kpi/twin_totals.h"

namespace doppel::analytics {
namespace {

using DefinitionPtr = std::shared_ptr<const KpiDefinition>;
using Definitions = std::map<std::string, DefinitionPtr, std::less<>>;

// The live telemetry Tick writes, in this order, when the twin's model has it.
constexpr std::string_view kOutputs[] = {"oee",       "availability",      "performance",    "quality",
                                         "mtbfHours", "mttrHours",         "energyPerGoodUnit",
                                         "capacityFactor", "timeAvailability", "utilisation"};

// What the engine needs of one twin, copied out of the graph under its lock so that history
// is read without holding it.
struct Node {
  DefinitionPtr def;  // the most specific definition covering the twin's model; null if none
  TwinFacts facts;
  std::vector<std::pair<std::string, std::string>> edges;  // (relationship name, target id)
  std::vector<std::string_view> outputs;                   // kOutputs the model has
};
using View = std::unordered_map<std::string, Node>;

// Of the definitions covering `model_id` (its own model or one it extends), the most specific:
// one whose model extends every other candidate's; ties go to the first by name.
DefinitionPtr MostSpecific(const Definitions& defs, const model::ModelRegistry& models, std::string_view model_id) {
  DefinitionPtr best;
  for (const auto& [name, def] : defs) {
    if (!models.IsOfModel(model_id, def->model)) continue;
    if (best == nullptr || (def->model != best->model && models.IsOfModel(def->model, best->model))) best = def;
  }
  return best;
}

std::optional<double> DocNumber(const json::object& doc, std::string_view path) {
  const json::object* at = &doc;
  std::string_view name = path;
  if (const size_t slash = path.find('/'); slash != std::string_view::npos) {
    const json::value* component = doc.if_contains(path.substr(0, slash));
    if (component == nullptr || !component->is_object()) return std::nullopt;
    at = &component->get_object();
    name = path.substr(slash + 1);
  }
  const json::value* v = at->if_contains(name);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

Node MakeNode(const twin::GraphState& graph, const twin::Twin& twin, const Definitions& defs,
              const std::set<std::string, std::less<>>& roll_up_names) {
  Node node;
  node.def = MostSpecific(defs, graph.models(), twin.model_id);
  if (node.def != nullptr) {
    if (!node.def->ideal_cycle_s.path.empty()) node.facts.ideal_cycle_s = DocNumber(twin.doc, node.def->ideal_cycle_s.path);
    if (!node.def->rated_power_kw.path.empty()) {
      node.facts.rated_power_kw = DocNumber(twin.doc, node.def->rated_power_kw.path);
    }
  }
  if (const auto* out = graph.Outgoing(twin.id)) {
    for (const auto& [id, rel] : *out) {
      if (roll_up_names.contains(rel.name)) node.edges.emplace_back(rel.name, rel.target_id);
    }
  }
  if (model::InterfacePtr iface = graph.models().Get(twin.model_id)) {
    for (std::string_view output : kOutputs) {
      const model::Content* c = iface->Find(output);
      if (c != nullptr && (c->kind == model::ContentKind::kTelemetry || c->kind == model::ContentKind::kProperty)) {
        node.outputs.push_back(output);
      }
    }
  }
  return node;
}

// The twins reachable from `roots` along any roll-up relationship, as Nodes.
View BuildView(const twin::GraphState& graph, const Definitions& defs, const std::vector<std::string>& roots) {
  std::set<std::string, std::less<>> names;
  for (const auto& [name, def] : defs) names.insert(def->roll_up.begin(), def->roll_up.end());
  View view;
  std::deque<std::string> queue(roots.begin(), roots.end());
  while (!queue.empty()) {
    std::string id = std::move(queue.front());
    queue.pop_front();
    if (view.contains(id)) continue;
    const twin::Twin* twin = graph.FindTwin(id);
    if (twin == nullptr) continue;  // a relationship to a twin being deleted
    Node node = MakeNode(graph, *twin, defs, names);
    for (const auto& edge : node.edges) queue.push_back(edge.second);
    view.emplace(std::move(id), std::move(node));
  }
  return view;
}

// Own totals per (twin, window), so a twin counted under several roots in one Tick is read once.
using Memo = std::map<std::tuple<std::string, int64_t, int64_t>, TwinResult, std::less<>>;

// Sums the totals of `root` and of every twin reachable from it by the roll-up relationships
// (the root's definition's and each visited twin's own), each twin once. The state is the
// root's own.
Result<TwinResult> RollUp(const View& view, const std::string& root, const HistoryReader& reader, int64_t from_ns,
                          int64_t to_ns, Memo& memo) {
  TwinResult sum;
  const Node& root_node = view.at(root);
  std::set<std::string_view> visited{root};
  std::deque<std::string_view> queue{root};
  while (!queue.empty()) {
    const std::string_view id = queue.front();
    queue.pop_front();
    auto it = view.find(std::string(id));
    if (it == view.end()) continue;
    const Node& node = it->second;
    if (node.def != nullptr && node.def->has_sources()) {
      auto key = std::make_tuple(it->first, from_ns, to_ns);
      auto cached = memo.find(key);
      if (cached == memo.end()) {
        DOPPEL_ASSIGN_OR_RETURN(TwinResult own, TwinTotals(*node.def, it->first, node.facts, reader, from_ns, to_ns));
        cached = memo.emplace(std::move(key), own).first;
      }
      sum.totals += cached->second.totals;
      if (id == root) sum.state = cached->second.state;
    }
    for (const auto& [name, target] : node.edges) {
      const auto follows = [&name](const Node& n) {
        return n.def != nullptr && std::find(n.def->roll_up.begin(), n.def->roll_up.end(), name) != n.def->roll_up.end();
      };
      if ((follows(root_node) || follows(node)) && visited.insert(target).second) queue.push_back(target);
    }
  }
  return sum;
}

json::object TotalsJson(const KpiTotals& t) {
  return {{"runningSeconds", t.running_s},
          {"idleSeconds", t.idle_s},
          {"unplannedStopSeconds", t.unplanned_stop_s},
          {"plannedStopSeconds", t.planned_stop_s},
          {"unknownSeconds", t.unknown_s},
          {"goodCount", t.good},
          {"scrapCount", t.scrap},
          {"idealSeconds", t.ideal_time_s},
          {"timedRunningSeconds", t.timed_running_s},
          {"meteredGoodCount", t.metered_good},
          {"failures", t.failures},
          {"energyKwh", t.energy_kwh},
          {"ratedEnergyKwh", t.rated_energy_kwh},
          {"availableSeconds", t.available_s},
          {"assetSeconds", t.asset_time_s},
          {"assetRunningSeconds", t.asset_running_s}};
}

// The KPIs by their telemetry names (kOutputs), absent ones left out.
std::vector<std::pair<std::string_view, double>> KpiValues(const Kpis& k) {
  std::vector<std::pair<std::string_view, double>> out;
  const auto add = [&out](std::string_view name, std::optional<double> v, double scale = 1) {
    if (v) out.emplace_back(name, *v * scale);
  };
  add("oee", k.oee);
  add("availability", k.availability);
  add("performance", k.performance);
  add("quality", k.quality);
  add("mtbfHours", k.mtbf_s, 1.0 / 3600);
  add("mttrHours", k.mttr_s, 1.0 / 3600);
  add("energyPerGoodUnit", k.energy_per_good_kwh);
  add("capacityFactor", k.capacity_factor);
  add("timeAvailability", k.time_availability);
  add("utilisation", k.utilisation);
  return out;
}

std::string FormatTime(int64_t ns) { return FormatRfc3339(TimePoint(std::chrono::nanoseconds(ns))); }

json::object DefinitionJson(const KpiDefinition& def) {
  json::object out = def.body;
  out["name"] = def.name;
  return out;
}

}  // namespace

struct KpiEngine::State {
  State(twin::TwinGraph& g, tsdb::SeriesStore& s, ingest::Ingestor& i, const Clock& c)
      : graph(g), store(s), ingestor(i), clock(c) {}

  twin::TwinGraph& graph;
  tsdb::SeriesStore& store;
  ingest::Ingestor& ingestor;
  const Clock& clock;
  HistoryReader reader{store};

  mutable std::shared_mutex mu;
  Definitions defs;  // guarded by mu

  std::mutex tick_mu;  // one Tick at a time
  CachingHistoryReader tick_reader{store};  // guarded by tick_mu
  std::atomic<double> last_tick_seconds{0};

  Definitions Snapshot() const {
    std::shared_lock lock(mu);
    return defs;
  }
};

KpiEngine::KpiEngine(twin::TwinGraph& graph, tsdb::SeriesStore& store, ingest::Ingestor& ingestor, const Clock& clock)
    : state_(std::make_unique<State>(graph, store, ingestor, clock)) {}

KpiEngine::~KpiEngine() = default;

Result<std::pair<bool, json::object>> KpiEngine::Put(std::string_view name, const json::value& body) {
  if (name.empty()) return Status::InvalidArgument("a KPI definition needs a name");
  DOPPEL_ASSIGN_OR_RETURN(KpiDefinition def, state_->graph.Read([&](const twin::GraphState& g) {
    return ParseKpiDefinition(name, body, g.models());
  }));
  json::object out = DefinitionJson(def);
  std::unique_lock lock(state_->mu);
  const bool created = !state_->defs.contains(name);
  state_->defs[std::string(name)] = std::make_shared<const KpiDefinition>(std::move(def));
  return std::make_pair(created, std::move(out));
}

Status KpiEngine::Delete(std::string_view name) {
  std::unique_lock lock(state_->mu);
  auto it = state_->defs.find(name);
  if (it == state_->defs.end()) return Status::NotFound(fmt::format("KPI definition '{}' not found", name));
  state_->defs.erase(it);
  return Status::Ok();
}

json::array KpiEngine::List() const {
  json::array out;
  for (const auto& [name, def] : state_->Snapshot()) out.push_back(DefinitionJson(*def));
  return out;
}

json::object KpiEngine::SaveDefinitions() const {
  json::object out;
  for (const auto& [name, def] : state_->Snapshot()) out[name] = def->body;
  return out;
}

Status KpiEngine::LoadDefinitions(const json::object& saved) {
  std::string failures;
  for (const auto& [name, body] : saved) {
    auto put = Put(name, body);
    if (!put.ok()) failures += fmt::format("{}'{}': {}", failures.empty() ? "" : "; ", std::string_view(name), put.status().message());
  }
  if (failures.empty()) return Status::Ok();
  return Status::InvalidArgument(fmt::format("KPI definitions not loaded: {}", failures));
}

Result<json::object> KpiEngine::Compute(std::string_view twin_id, int64_t from_ns, int64_t to_ns) const {
  if (from_ns >= to_ns) return Status::InvalidArgument("'from' must be before 'to'");
  const Definitions defs = state_->Snapshot();
  const std::string root(twin_id);
  View view = state_->graph.Read([&](const twin::GraphState& g) {
    return g.FindTwin(twin_id) == nullptr ? View() : BuildView(g, defs, {root});
  });
  if (!view.contains(root)) {
    return Status::NotFound(fmt::format("twin '{}' not found", twin_id), "DigitalTwinNotFound");
  }
  Memo memo;
  DOPPEL_ASSIGN_OR_RETURN(TwinResult result, RollUp(view, root, state_->reader, from_ns, to_ns, memo));
  const KpiTotals& totals = result.totals;
  json::object kpis;
  for (const auto& [name, value] : KpiValues(ComputeKpis(totals))) kpis[name] = value;
  const DefinitionPtr& def = view.at(root).def;
  json::object out{{"twin", root},
                   {"from", FormatTime(from_ns)},
                   {"to", FormatTime(to_ns)},
                   {"definition", def != nullptr ? json::value(def->name) : json::value(nullptr)},
                   {"totals", TotalsJson(totals)},
                   {"kpis", std::move(kpis)},
                   {"assets", totals.assets},
                   {"assetsRunning", totals.assets_running}};
  if (result.state) out["state"] = StateClassName(*result.state);
  return out;
}

Result<json::object> KpiEngine::ComputeCurrentShift(std::string_view twin_id) const {
  const int64_t now = state_->clock.Now().time_since_epoch().count();
  const Definitions defs = state_->Snapshot();
  DOPPEL_ASSIGN_OR_RETURN(DefinitionPtr def, state_->graph.Read([&](const twin::GraphState& g) -> Result<DefinitionPtr> {
    const twin::Twin* twin = g.FindTwin(twin_id);
    if (twin == nullptr) return Status::NotFound(fmt::format("twin '{}' not found", twin_id), "DigitalTwinNotFound");
    return MostSpecific(defs, g.models(), twin->model_id);
  }));
  if (def == nullptr) return Status::NotFound(fmt::format("no KPI definition covers twin '{}'", twin_id));
  const int64_t from = def->ShiftStart(now);
  // At the very first instant of a shift there is nothing yet: answer the empty instant.
  return Compute(twin_id, from, std::max(now, from + 1));
}

Result<json::object> KpiEngine::Find(std::string_view name) const {
  std::shared_lock lock(state_->mu);
  auto it = state_->defs.find(name);
  if (it == state_->defs.end()) return Status::NotFound(fmt::format("KPI definition '{}' not found", name));
  return DefinitionJson(*it->second);
}

Status KpiEngine::Tick() {
  std::lock_guard tick(state_->tick_mu);
  const auto started = std::chrono::steady_clock::now();
  const int64_t now = state_->clock.Now().time_since_epoch().count();
  const Definitions defs = state_->Snapshot();
  std::vector<std::string> covered;
  View view = state_->graph.Read([&](const twin::GraphState& g) {
    for (const auto& [model_id, entry] : g.models().entries()) {
      if (MostSpecific(defs, g.models(), model_id) == nullptr) continue;
      if (const auto* twins = g.TwinsOfExactModel(model_id)) covered.insert(covered.end(), twins->begin(), twins->end());
    }
    return BuildView(g, defs, covered);
  });
  Memo memo;
  std::vector<std::vector<ingest::Reading>> batches;
  Status first_error = Status::Ok();
  for (const std::string& id : covered) {
    const Node& node = view.at(id);
    if (node.outputs.empty()) continue;
    const int64_t from = node.def->ShiftStart(now);
    if (from >= now) continue;
    auto totals = RollUp(view, id, state_->tick_reader, from, now, memo);
    if (!totals.ok()) {
      if (first_error.ok()) first_error = totals.status();
      continue;
    }
    std::vector<ingest::Reading> batch;
    for (const auto& [name, value] : KpiValues(ComputeKpis(totals->totals))) {
      if (std::find(node.outputs.begin(), node.outputs.end(), name) != node.outputs.end()) {
        batch.push_back({.twin_id = id, .path = std::string(name), .time = now, .value = value});
      }
    }
    if (!batch.empty()) batches.push_back(std::move(batch));
  }
  state_->tick_reader.DropUnused();
  std::vector<std::span<const ingest::Reading>> groups(batches.begin(), batches.end());
  for (Status& s : state_->ingestor.WriteEach(groups)) {
    if (!s.ok() && first_error.ok()) first_error = std::move(s);
  }
  state_->last_tick_seconds.store(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return first_error;
}

double KpiEngine::last_tick_seconds() const { return state_->last_tick_seconds.load(); }

}  // namespace doppel::analytics
