// The rule engine: routing (internal/engine_routes.h), the queue (engine_queue.h), scopes
// (engine_scope.h), warm-up (engine_warmup.h) and the instances' state machine
// (engine_instance.h), put together.
//
// Locks, always taken in this order: state_mu_ (rules, instances, under-sets: Put, Remove and
// the worker) → the graph's shared lock (TwinGraph::Read) → index_mu_ (the routing index:
// shared for the listener and the graph-event handler, exclusive for changes, which also hold
// state_mu_, so the worker reads the index under state_mu_ alone) → the queue's mutex.
// The graph-event handler runs under the graph's write lock, so it never takes state_mu_
// (the worker holds state_mu_ while it reads the graph): it only looks up and queues.
#include "automation/rule_engine.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "automation/internal/engine_instance.h"
#include "automation/internal/engine_queue.h"
#include "automation/internal/engine_routes.h"
#include "automation/internal/engine_rule.h"
#include "automation/internal/engine_scope.h"
#include "automation/internal/engine_values.h"
#include "automation/internal/engine_warmup.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "twin/events.h"
#include "twin/twin_graph.h"

namespace doppel::automation {

using engine::GraphChange;
using engine::Instance;

json::object EvidenceJson(const std::vector<std::pair<std::string, rules::Value>>& evidence) {
  json::object out;
  for (const auto& [name, value] : evidence) {
    json::value& v = out[name];
    if (const double* d = std::get_if<double>(&value)) {
      v = FiniteOrNull(*d);
    } else if (const bool* b = std::get_if<bool>(&value)) {
      v = *b;
    } else if (const std::string* s = std::get_if<std::string>(&value)) {
      v = *s;
    }
  }
  return out;
}

namespace {

struct RuleEntry {
  explicit RuleEntry(engine::CompiledRule c) : compiled(std::move(c)) {}
  engine::CompiledRule compiled;
  engine::UnderSet* under = nullptr;  // shared with rules of the same root and names
  std::map<std::string, std::unique_ptr<Instance>, std::less<>> instances;  // by twin id
};

using UnderKey = std::pair<std::string, std::vector<std::string>>;  // (root, sorted names)

// An instance to create, with what it reads (found under the graph's lock).
struct InstancePlan {
  RuleEntry* entry = nullptr;
  std::string twin_id;
  engine::SignalSources sources;
};

const json::object* ObjectMember(const json::value& v, std::string_view key) {
  const json::value* m = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  return m && m->is_object() ? &m->get_object() : nullptr;
}

std::string StringMember(const json::object* o, std::string_view key) {
  const json::value* m = o ? o->if_contains(key) : nullptr;
  return m && m->is_string() ? std::string(m->get_string()) : std::string();
}

std::string ModelOf(const json::object* doc) {
  const json::value* meta = doc ? doc->if_contains("$metadata") : nullptr;
  return meta && meta->is_object() ? StringMember(&meta->get_object(), "$model") : std::string();
}

}  // namespace

struct RuleEngine::Impl {
  Impl(twin::TwinGraph& g, twin::EventBus& e, ingest::Ingestor& i, ingest::LiveState* l, tsdb::SeriesStore* h,
       Sink s, RuleEngineOptions o)
      : graph(g), events(e), ingestor(i), live(l), history(h), sink(std::move(s)), options(o), queue(o.max_queue) {}

  // ---- the listener and the graph-event handler: look up and queue, nothing else ----
  void OnReadings(std::span<const ingest::Reading> readings);
  void OnGraphEvent(const twin::GraphEvent& event);
  void OnTwinUpdated(const twin::GraphEvent& event);
  void QueueRelationshipChange(GraphChange::Kind kind, const json::object* doc);

  // ---- rules (state_mu held) ----
  Status PutLocked(engine::CompiledRule compiled, const std::set<std::string>& active_twins);
  void RemoveLocked(RuleEntry& entry);
  engine::UnderSet* AcquireUnder(const RuleScope& scope);
  void ReleaseUnder(engine::UnderSet* under);

  // ---- instances and routes (state_mu held) ----
  Instance& AddInstance(RuleEntry& entry, const std::string& twin_id, const engine::SignalSources& sources);
  void RemoveInstance(RuleEntry& entry, std::string_view twin_id);
  void AddRoutes(Instance& instance, const engine::SignalSources& sources);
  // Removes the routes of `instance` whose signal `drop` selects.
  template <typename Pred>
  void RemoveRoutes(Instance& instance, Pred drop);

  // ---- the worker (state_mu held) ----
  uint64_t ProcessQueued(std::vector<RuleTransition>& out);
  void Route(const engine::Update& update);
  void EvaluateTouched(std::vector<RuleTransition>& out);
  void Evaluate(Instance& instance, std::vector<RuleTransition>& out);
  void ApplyChange(const GraphChange& change, std::vector<RuleTransition>& out);
  // Adds or removes the instance of each (rule, twin) pair as the scope now says; new ones
  // are warmed up and evaluated.
  void Reconcile(const std::vector<std::pair<RuleEntry*, std::string>>& pairs, std::vector<RuleTransition>& out);
  void ReconcileTwin(const std::string& twin_id, std::vector<RuleTransition>& out);
  void ForgetTwin(const std::string& twin_id);
  void UpdateUnderSets(const GraphChange& change, std::vector<RuleTransition>& out);
  void Reroute(const GraphChange& change, std::vector<RuleTransition>& out);
  void WarmUpEvaluate(uint64_t rule_id, std::vector<RuleTransition>& out);

  // ---- running ----
  void RunOnce();  // takes what is queued, evaluates, reports, marks it done
  void WorkerLoop();

  // Immutable after construction.
  twin::TwinGraph& graph;
  twin::EventBus& events;
  ingest::Ingestor& ingestor;
  ingest::LiveState* const live;
  tsdb::SeriesStore* const history;
  const Sink sink;
  const RuleEngineOptions options;
  uint64_t ingest_subscription = 0;
  uint64_t event_subscription = 0;

  engine::UpdateQueue queue;

  mutable std::shared_mutex index_mu;
  engine::RouteIndex index;  // guarded by index_mu (and state_mu_ for writers)

  // The graph-event handler's record of each twin's model, to notice a model change (the
  // event's patch does not carry $model). Guarded by models_mu.
  std::mutex models_mu;
  std::unordered_map<std::string, std::string> twin_models;

  mutable std::mutex state_mu;
  // Guarded by state_mu.
  std::map<std::string, std::unique_ptr<RuleEntry>, std::less<>> rules;
  std::unordered_map<uint64_t, RuleEntry*> rules_by_id;
  std::map<UnderKey, std::unique_ptr<engine::UnderSet>> under_sets;
  std::unordered_map<std::string, std::vector<Instance*>> by_twin;
  uint64_t next_rule_id = 1;
  std::vector<Instance*> touched;  // observed in this batch, to evaluate at its end
  engine::UpdateRing taken_updates;
  std::deque<GraphChange> taken_changes;

  std::mutex run_mu;  // guards worker and running
  std::thread worker;
  bool running = false;

  std::atomic<std::size_t> instance_count{0};
  std::atomic<uint64_t> evaluations{0};
  std::atomic<uint64_t> activations{0};
  std::atomic<uint64_t> clears{0};
};

// ---- the listener and the graph-event handler ----

void RuleEngine::Impl::OnReadings(std::span<const ingest::Reading> readings) {
  // The shared lock is held through the push: a slot retired after this lookup is then
  // retired after these updates too, and not reused before the worker is past them.
  std::shared_lock lock(index_mu);
  if (index.empty()) return;
  std::optional<engine::UpdateQueue::Writer> writer;
  for (const ingest::Reading& r : readings) {
    const uint32_t slot = index.Find(r.twin_id, r.path);
    if (slot == engine::kNoSlot) continue;
    if (!writer) writer.emplace(queue);
    writer->Push(slot, r.time, engine::FromReading(r.value));
  }
}

void RuleEngine::Impl::OnGraphEvent(const twin::GraphEvent& event) {
  using twin::EventType;
  switch (event.type) {
    case EventType::kTwinCreated: {
      {
        std::lock_guard lock(models_mu);
        twin_models[event.subject] = ModelOf(ObjectMember(event.data, "doc"));
      }
      queue.PushChange({.kind = GraphChange::Kind::kTwinCreated, .twin_id = event.subject});
      break;
    }
    case EventType::kTwinUpdated:
      OnTwinUpdated(event);
      break;
    case EventType::kTwinDeleted: {
      {
        std::lock_guard lock(models_mu);
        twin_models.erase(event.subject);
      }
      queue.PushChange({.kind = GraphChange::Kind::kTwinDeleted, .twin_id = event.subject});
      break;
    }
    case EventType::kRelationshipCreated:
      QueueRelationshipChange(GraphChange::Kind::kRelationshipCreated, ObjectMember(event.data, "doc"));
      break;
    case EventType::kRelationshipDeleted:
      QueueRelationshipChange(GraphChange::Kind::kRelationshipDeleted,
                              event.data.is_object() ? &event.data.get_object() : nullptr);
      break;
    default:
      break;  // relationship property updates and models change no scope or route
  }
}

void RuleEngine::Impl::OnTwinUpdated(const twin::GraphEvent& event) {
  const json::object* doc = ObjectMember(event.data, "doc");
  if (!doc) return;
  std::string model = ModelOf(doc);
  bool model_changed = false;
  {
    std::lock_guard lock(models_mu);
    std::string& known = twin_models[event.subject];
    model_changed = known != model;
    if (model_changed) known = std::move(model);
  }
  if (model_changed) queue.PushChange({.kind = GraphChange::Kind::kTwinModelChanged, .twin_id = event.subject});
  const json::value* patch = event.data.get_object().if_contains("patch");
  if (!patch) return;
  std::shared_lock lock(index_mu);
  if (index.empty()) return;
  std::optional<engine::UpdateQueue::Writer> writer;
  for (engine::PropertyValue& p : engine::ChangedProperties(*doc, *patch, engine::EventTimeNs(event.time))) {
    const uint32_t slot = index.Find(event.subject, p.path);
    if (slot == engine::kNoSlot) continue;
    if (!writer) writer.emplace(queue);
    writer->Push(slot, p.time_ns, std::move(p.value));
  }
}

void RuleEngine::Impl::QueueRelationshipChange(GraphChange::Kind kind, const json::object* doc) {
  queue.PushChange({.kind = kind,
                    .twin_id = StringMember(doc, "$sourceId"),
                    .target_id = StringMember(doc, "$targetId"),
                    .relationship = StringMember(doc, "$relationshipName")});
}

// ---- rules ----

engine::UnderSet* RuleEngine::Impl::AcquireUnder(const RuleScope& scope) {
  std::vector<std::string> names = scope.relationships;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::unique_ptr<engine::UnderSet>& slot = under_sets[UnderKey(scope.under, names)];
  if (!slot) {
    slot = std::make_unique<engine::UnderSet>();
    slot->root = scope.under;
    slot->relationships = std::move(names);
    slot->reach = graph.Read([&](const twin::GraphState& g) { return engine::Reachable(g, slot->root, slot->relationships); });
  }
  ++slot->users;
  return slot.get();
}

void RuleEngine::Impl::ReleaseUnder(engine::UnderSet* under) {
  if (!under || --under->users > 0) return;
  under_sets.erase(UnderKey(under->root, under->relationships));
}

Status RuleEngine::Impl::PutLocked(engine::CompiledRule compiled, const std::set<std::string>& active_twins) {
  auto existing = rules.find(compiled.spec.name);
  if (existing == rules.end() && rules.size() >= options.max_rules) {
    return Status::ResourceExhausted(fmt::format("the rule engine holds its limit of {} rules", options.max_rules));
  }
  compiled.id = next_rule_id++;
  auto entry = std::make_unique<RuleEntry>(std::move(compiled));
  const engine::CompiledRule& rule = entry->compiled;
  if (rule.spec.enabled && !rule.spec.scope.under.empty()) entry->under = AcquireUnder(rule.spec.scope);
  std::vector<InstancePlan> plans;
  if (rule.spec.enabled) {
    graph.Read([&](const twin::GraphState& g) {
      for (std::string& id : engine::ResolveScope(g, rule, entry->under)) {
        engine::SignalSources sources = engine::FindSources(g, rule, id);
        plans.push_back({entry.get(), std::move(id), std::move(sources)});
      }
    });
  }
  const std::size_t replaced = existing == rules.end() ? 0 : existing->second->instances.size();
  if (instance_count - replaced + plans.size() > options.max_instances) {
    ReleaseUnder(entry->under);
    return Status::ResourceExhausted(fmt::format("rule '{}' covers {} twins: past the engine's limit of {} instances",
                                                 rule.spec.name, plans.size(), options.max_instances));
  }
  if (existing != rules.end()) {
    RemoveLocked(*existing->second);
    rules.erase(existing);
  }
  RuleEntry& stored = *entry;
  rules_by_id[rule.id] = &stored;
  rules.emplace(rule.spec.name, std::move(entry));
  for (const InstancePlan& plan : plans) {
    Instance& instance = AddInstance(stored, plan.twin_id, plan.sources);
    instance.active = active_twins.contains(plan.twin_id);  // restored: not reported again
    engine::WarmUp(instance, plan.sources, live, history);
  }
  // The worker evaluates the warmed instances (it alone reports transitions).
  queue.PushChange({.kind = GraphChange::Kind::kWarmUp, .rule_id = stored.compiled.id});
  return Status::Ok();
}

void RuleEngine::Impl::RemoveLocked(RuleEntry& entry) {
  while (!entry.instances.empty()) RemoveInstance(entry, entry.instances.begin()->first);
  ReleaseUnder(entry.under);
  entry.under = nullptr;
  rules_by_id.erase(entry.compiled.id);
}

// ---- instances and routes ----

Instance& RuleEngine::Impl::AddInstance(RuleEntry& entry, const std::string& twin_id,
                                        const engine::SignalSources& sources) {
  auto instance = std::make_unique<Instance>(entry.compiled, twin_id);
  Instance& added = *instance;
  entry.instances.emplace(twin_id, std::move(instance));
  by_twin[twin_id].push_back(&added);
  ++instance_count;
  AddRoutes(added, sources);
  return added;
}

void RuleEngine::Impl::RemoveInstance(RuleEntry& entry, std::string_view twin_id) {
  auto it = entry.instances.find(twin_id);
  if (it == entry.instances.end()) return;
  Instance* instance = it->second.get();
  RemoveRoutes(*instance, [](uint32_t) { return true; });
  if (auto of_twin = by_twin.find(instance->twin_id); of_twin != by_twin.end()) {
    std::erase(of_twin->second, instance);
    if (of_twin->second.empty()) by_twin.erase(of_twin);
  }
  --instance_count;
  entry.instances.erase(it);
}

void RuleEngine::Impl::AddRoutes(Instance& instance, const engine::SignalSources& sources) {
  std::unique_lock lock(index_mu);
  for (uint32_t signal = 0; signal < sources.twins.size(); ++signal) {
    for (const std::string& twin : sources.twins[signal]) {
      const uint32_t slot = index.Add(twin, instance.rule->signals[signal].path, {&instance, signal});
      instance.routes.emplace_back(slot, signal);
    }
  }
}

template <typename Pred>
void RuleEngine::Impl::RemoveRoutes(Instance& instance, Pred drop) {
  std::unique_lock lock(index_mu);
  const uint64_t retired_at = queue.last_seq();
  std::erase_if(instance.routes, [&](const std::pair<uint32_t, uint32_t>& route) {
    if (!drop(route.second)) return false;
    index.Remove(route.first, {&instance, route.second}, retired_at);
    return true;
  });
}

// ---- the worker ----

uint64_t RuleEngine::Impl::ProcessQueued(std::vector<RuleTransition>& out) {
  const uint64_t through = queue.Take(taken_updates, taken_changes);
  std::size_t u = 0;
  // Updates and changes in sequence order; the updates before a change are evaluated before
  // it, so a change never removes an instance waiting for evaluation.
  for (const GraphChange& change : taken_changes) {
    for (; u < taken_updates.size() && taken_updates[u].seq < change.seq; ++u) Route(taken_updates[u]);
    EvaluateTouched(out);
    ApplyChange(change, out);
  }
  for (; u < taken_updates.size(); ++u) Route(taken_updates[u]);
  EvaluateTouched(out);
  taken_updates.Clear();
  taken_changes.clear();
  if (index.has_retired()) {
    std::unique_lock lock(index_mu);
    index.Recycle(through);
  }
  return through;
}

void RuleEngine::Impl::Route(const engine::Update& update) {
  for (const engine::Target& target : index.Targets(update.slot)) {
    if (target.instance->Observe(target.signal, update.time_ns, update.value)) touched.push_back(target.instance);
  }
}

void RuleEngine::Impl::EvaluateTouched(std::vector<RuleTransition>& out) {
  for (Instance* instance : touched) Evaluate(*instance, out);
  touched.clear();
}

void RuleEngine::Impl::Evaluate(Instance& instance, std::vector<RuleTransition>& out) {
  if (!instance.seen()) {
    instance.touched = false;
    return;
  }
  evaluations.fetch_add(1, std::memory_order_relaxed);
  std::optional<RuleTransition> transition = instance.Evaluate();
  if (!transition) return;
  (transition->active ? activations : clears).fetch_add(1, std::memory_order_relaxed);
  out.push_back(std::move(*transition));
}

void RuleEngine::Impl::ApplyChange(const GraphChange& change, std::vector<RuleTransition>& out) {
  switch (change.kind) {
    case GraphChange::Kind::kTwinCreated:
    case GraphChange::Kind::kTwinModelChanged:
      ReconcileTwin(change.twin_id, out);
      break;
    case GraphChange::Kind::kTwinDeleted:
      ForgetTwin(change.twin_id);
      break;
    case GraphChange::Kind::kRelationshipCreated:
    case GraphChange::Kind::kRelationshipDeleted:
      UpdateUnderSets(change, out);
      Reroute(change, out);
      break;
    case GraphChange::Kind::kWarmUp:
      WarmUpEvaluate(change.rule_id, out);
      break;
  }
}

void RuleEngine::Impl::Reconcile(const std::vector<std::pair<RuleEntry*, std::string>>& pairs,
                                 std::vector<RuleTransition>& out) {
  std::vector<InstancePlan> adds;
  std::vector<std::pair<RuleEntry*, std::string>> removes;
  graph.Read([&](const twin::GraphState& g) {
    for (const auto& [entry, twin_id] : pairs) {
      const twin::Twin* twin = g.FindTwin(twin_id);
      const bool want = entry->compiled.spec.enabled && twin && engine::InScope(g, entry->compiled, entry->under, *twin);
      const bool have = entry->instances.contains(twin_id);
      if (want && !have) adds.push_back({entry, twin_id, engine::FindSources(g, entry->compiled, twin_id)});
      if (!want && have) removes.emplace_back(entry, twin_id);
    }
  });
  for (const auto& [entry, twin_id] : removes) RemoveInstance(*entry, twin_id);
  for (const InstancePlan& plan : adds) {
    if (instance_count >= options.max_instances) {
      spdlog::warn("rules: twin '{}' joins rule '{}' past the limit of {} instances; not watched", plan.twin_id,
                   plan.entry->compiled.spec.name, options.max_instances);
      continue;
    }
    Instance& instance = AddInstance(*plan.entry, plan.twin_id, plan.sources);
    engine::WarmUp(instance, plan.sources, live, history);
    Evaluate(instance, out);
  }
}

void RuleEngine::Impl::ReconcileTwin(const std::string& twin_id, std::vector<RuleTransition>& out) {
  std::vector<std::pair<RuleEntry*, std::string>> pairs;
  pairs.reserve(rules.size());
  for (auto& [name, entry] : rules) pairs.emplace_back(entry.get(), twin_id);
  Reconcile(pairs, out);
}

void RuleEngine::Impl::ForgetTwin(const std::string& twin_id) {
  if (auto it = by_twin.find(twin_id); it != by_twin.end()) {
    std::vector<Instance*> instances = it->second;
    for (Instance* instance : instances) RemoveInstance(*rules.at(instance->rule->spec.name), twin_id);
  }
  for (auto& [key, under] : under_sets) under->reach.erase(twin_id);
}

void RuleEngine::Impl::UpdateUnderSets(const GraphChange& change, std::vector<RuleTransition>& out) {
  std::vector<std::pair<RuleEntry*, std::string>> pairs;
  for (auto& [key, under] : under_sets) {
    if (!under->AffectedBy(change.twin_id, change.relationship)) continue;
    std::unordered_set<std::string> fresh =
        graph.Read([&](const twin::GraphState& g) { return engine::Reachable(g, under->root, under->relationships); });
    std::vector<std::string> moved;  // joined or left
    for (const std::string& id : fresh) {
      if (!under->reach.contains(id)) moved.push_back(id);
    }
    for (const std::string& id : under->reach) {
      if (!fresh.contains(id)) moved.push_back(id);
    }
    under->reach = std::move(fresh);
    if (moved.empty()) continue;
    std::sort(moved.begin(), moved.end());
    for (auto& [name, entry] : rules) {
      if (entry->under != under.get()) continue;
      for (const std::string& id : moved) pairs.emplace_back(entry.get(), id);
    }
  }
  if (!pairs.empty()) Reconcile(pairs, out);
}

void RuleEngine::Impl::Reroute(const GraphChange& change, std::vector<RuleTransition>& out) {
  auto it = by_twin.find(change.twin_id);
  if (it == by_twin.end()) return;
  const std::string& relationship = change.relationship;
  std::vector<Instance*> affected;
  for (Instance* instance : it->second) {
    const auto& signals = instance->rule->signals;
    if (std::any_of(signals.begin(), signals.end(), [&](const rules::SignalRef& s) { return s.relationship == relationship; })) {
      affected.push_back(instance);
    }
  }
  if (affected.empty()) return;
  std::vector<engine::SignalSources> sources = graph.Read([&](const twin::GraphState& g) {
    std::vector<engine::SignalSources> found;
    for (Instance* instance : affected) {
      found.push_back(engine::FindRelatedSources(g, *instance->rule, change.twin_id, relationship));
    }
    return found;
  });
  for (std::size_t i = 0; i < affected.size(); ++i) {
    Instance& instance = *affected[i];
    auto reads_through = [&](uint32_t signal) { return instance.rule->signals[signal].relationship == relationship; };
    std::set<std::pair<uint32_t, std::string>> had;  // (signal, twin): already observed, no re-seeding
    for (const auto& [slot, signal] : instance.routes) {
      if (reads_through(signal)) had.emplace(signal, std::string(index.TwinOf(slot)));
    }
    RemoveRoutes(instance, reads_through);
    AddRoutes(instance, sources[i]);
    engine::SignalSources fresh;
    fresh.twins.resize(sources[i].twins.size());
    for (uint32_t signal = 0; signal < sources[i].twins.size(); ++signal) {
      for (const std::string& twin : sources[i].twins[signal]) {
        if (!had.contains({signal, twin})) fresh.twins[signal].push_back(twin);
      }
    }
    for (const engine::SignalSources::Property& p : sources[i].properties) {
      if (!had.contains({p.signal, p.twin_id})) fresh.properties.push_back(p);
    }
    const bool was_touched = instance.touched;
    engine::WarmUp(instance, fresh, live, nullptr);
    if (!was_touched && instance.touched) touched.push_back(&instance);
  }
  EvaluateTouched(out);
}

void RuleEngine::Impl::WarmUpEvaluate(uint64_t rule_id, std::vector<RuleTransition>& out) {
  auto it = rules_by_id.find(rule_id);
  if (it == rules_by_id.end()) return;  // replaced or removed since
  for (auto& [twin_id, instance] : it->second->instances) {
    if (instance->touched) Evaluate(*instance, out);
  }
}

// ---- running ----

void RuleEngine::Impl::RunOnce() {
  std::vector<RuleTransition> out;
  uint64_t through = 0;
  {
    std::lock_guard lock(state_mu);
    through = ProcessQueued(out);
  }
  // Outside the lock: a sink may read Instances().
  if (sink) {
    for (const RuleTransition& t : out) sink(t);
  }
  queue.Done(through);
}

void RuleEngine::Impl::WorkerLoop() {
  while (queue.WaitForWork()) RunOnce();
}

// ---- RuleEngine ----

RuleEngine::RuleEngine(twin::TwinGraph& graph, twin::EventBus& events, ingest::Ingestor& ingestor,
                       ingest::LiveState* live, tsdb::SeriesStore* history, Sink sink, RuleEngineOptions options)
    : impl_(std::make_unique<Impl>(graph, events, ingestor, live, history, std::move(sink), options)) {
  Impl* impl = impl_.get();
  // Subscribing under the graph's read lock: no write can slip between the snapshot of the
  // twins' models and the first event the handler sees.
  graph.Read([&](const twin::GraphState& g) {
    for (const auto& [id, twin] : g.twins()) impl->twin_models.emplace(id, twin.model_id);
    impl->event_subscription = events.Subscribe([impl](const twin::GraphEvent& e) { impl->OnGraphEvent(e); });
  });
  impl->ingest_subscription =
      ingestor.Subscribe([impl](std::span<const ingest::Reading> readings) { impl->OnReadings(readings); });
}

RuleEngine::~RuleEngine() {
  impl_->ingestor.Unsubscribe(impl_->ingest_subscription);
  impl_->events.Unsubscribe(impl_->event_subscription);
  Stop();
}

Status RuleEngine::Check(const RuleSpec& spec) const {
  DOPPEL_ASSIGN_OR_RETURN(engine::CompiledRule compiled, engine::Compile(spec, impl_->options.limits));
  return impl_->graph.Read([&](const twin::GraphState& g) { return engine::CheckAgainstModels(g.models(), compiled); });
}

Status RuleEngine::Put(const RuleSpec& spec, const std::set<std::string>& active_twins) {
  DOPPEL_ASSIGN_OR_RETURN(engine::CompiledRule compiled, engine::Compile(spec, impl_->options.limits));
  DOPPEL_RETURN_IF_ERROR(
      impl_->graph.Read([&](const twin::GraphState& g) { return engine::CheckAgainstModels(g.models(), compiled); }));
  std::lock_guard lock(impl_->state_mu);
  return impl_->PutLocked(std::move(compiled), active_twins);
}

void RuleEngine::Remove(std::string_view name) {
  std::lock_guard lock(impl_->state_mu);
  auto it = impl_->rules.find(name);
  if (it == impl_->rules.end()) return;
  impl_->RemoveLocked(*it->second);
  impl_->rules.erase(it);
}

void RuleEngine::Start() {
  std::lock_guard lock(impl_->run_mu);
  if (impl_->running) return;
  impl_->queue.Restart();
  impl_->worker = std::thread([impl = impl_.get()] { impl->WorkerLoop(); });
  impl_->running = true;
}

void RuleEngine::Stop() {
  std::lock_guard lock(impl_->run_mu);
  if (!impl_->running) return;
  impl_->queue.Stop();  // the worker drains what is queued, then ends
  impl_->worker.join();
  impl_->running = false;
}

void RuleEngine::Flush() {
  const uint64_t target = impl_->queue.last_seq();
  {
    std::lock_guard lock(impl_->run_mu);
    if (!impl_->running) {
      impl_->RunOnce();  // no worker: evaluate here, in the same order it would
      return;
    }
  }
  impl_->queue.WaitDone(target);
}

void RuleEngine::OnReadings(std::span<const ingest::Reading> readings) { impl_->OnReadings(readings); }

std::vector<InstanceStatus> RuleEngine::Instances(std::string_view rule, std::size_t limit) const {
  std::vector<InstanceStatus> out;
  std::lock_guard lock(impl_->state_mu);
  auto it = impl_->rules.find(rule);
  if (it == impl_->rules.end()) return out;
  for (const auto& [twin_id, instance] : it->second->instances) {
    if (out.size() >= limit) break;
    out.push_back({.twin_id = twin_id,
                   .active = instance->active,
                   .since_ns = instance->since_ns,
                   .evidence = instance->condition.Evidence()});
  }
  return out;
}

RuleEngine::Counters RuleEngine::counters() const {
  return {.updates_queued = impl_->queue.queued(),
          .updates_dropped = impl_->queue.dropped(),
          .evaluations = impl_->evaluations.load(std::memory_order_relaxed),
          .activations = impl_->activations.load(std::memory_order_relaxed),
          .clears = impl_->clears.load(std::memory_order_relaxed)};
}

void RuleEngine::RenderMetrics(std::string& out) const {
  const Counters c = counters();
  auto metric = [&out](std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  metric("doppel_rules_updates_total", "counter", "Updates (readings, property changes) queued for rule evaluation.",
         c.updates_queued);
  metric("doppel_rules_updates_dropped_total", "counter", "Queued updates dropped because the rule queue was full.",
         c.updates_dropped);
  metric("doppel_rules_evaluations_total", "counter", "Evaluations of a rule for one twin.", c.evaluations);
  metric("doppel_rules_activations_total", "counter", "Rule instances that became active.", c.activations);
  metric("doppel_rules_clears_total", "counter", "Rule instances that cleared.", c.clears);
  metric("doppel_rules_instances", "gauge", "(rule, twin) instances evaluated.",
         impl_->instance_count.load(std::memory_order_relaxed));
  metric("doppel_rules_queue_depth", "gauge", "Updates and graph changes waiting for the rule worker.",
         impl_->queue.size());
}

}  // namespace doppel::automation
