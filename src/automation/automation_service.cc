#include "automation/automation_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "automation/internal/action_log.h"
#include "automation/internal/action_runner.h"
#include "automation/internal/recommendation_store.h"
#include "automation/internal/rule_definition.h"
#include "automation/rule_engine.h"
#include "base/file_io.h"
#include "base/record_journal.h"
#include "twin/twin_graph.h"

namespace doppel::automation {

using internal::ActionContext;
using internal::ActionDef;
using internal::RuleDefinition;

namespace {

constexpr std::size_t kMaxDecidedRecommendations = 10'000;
constexpr std::size_t kMaxInstancesShown = 100'000;

std::string StringOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

TimePoint FromNanos(int64_t ns) { return TimePoint(std::chrono::nanoseconds(ns)); }

Status RuleNotFound(std::string_view name) {
  return Status::NotFound(fmt::format("there is no rule '{}'", name), "RuleNotFound");
}

// A rule as stored: its definition, or — when it could not be restored (its model was
// deleted while the server was down) — the body and why, so GET shows it and PUT can fix it.
struct RuleEntry {
  json::object body = {};
  std::shared_ptr<const RuleDefinition> def = {};  // null when `error`
  std::string error = {};
};

// What the worker is given: a transition to act on, or (ticket) a Flush waiting for it.
struct Work {
  std::optional<RuleTransition> transition = {};
  uint64_t ticket = 0;
};

}  // namespace

struct AutomationService::Impl {
  Impl(AutomationOptions o, AutomationDeps d, const Clock& c) : options(std::move(o)), deps(d), clock(c) {}

  // ---- immutable after Open ----
  const AutomationOptions options;
  const AutomationDeps deps;
  const Clock& clock;
  std::unique_ptr<internal::ActionLog> log;
  std::unique_ptr<internal::RecommendationStore> recommendations;
  std::unique_ptr<internal::ActionRunner> runner;
  std::unique_ptr<RuleEngine> engine;

  std::mutex config_mu;  // serialises rule and envelope changes (engine Put/Remove included)

  mutable std::mutex mu;  // guards what follows
  std::map<std::string, RuleEntry, std::less<>> rules;
  // rule → twin → {"since", "evidence"}: the active instances (restored on restart).
  std::map<std::string, std::map<std::string, json::object>, std::less<>> active;
  std::map<std::string, std::string, std::less<>> last_fired;  // rule → RFC 3339
  std::shared_ptr<const SafetyEnvelope> envelope = std::make_shared<SafetyEnvelope>();
  std::unique_ptr<RecordJournal> rules_journal;   // null = memory only
  std::unique_ptr<RecordJournal> active_journal;  // null = memory only
  uint64_t transitions = 0;
  uint64_t recommendations_created = 0;

  // ---- the worker's queue ----
  std::mutex queue_mu;
  std::condition_variable queue_cv;  // work queued, or stopping
  std::condition_variable done_cv;   // a Flush ticket done, or stopped
  std::deque<Work> queue;
  uint64_t next_ticket = 0;
  uint64_t done_ticket = 0;
  bool stopping = false;
  bool running = false;  // the worker thread runs (Start, until Stop has joined it)
  std::thread worker;

  internal::AvailableServices Available() const {
    return {.alerts = deps.alerts != nullptr,
            .work_orders = deps.work_orders != nullptr,
            .webhooks = deps.webhooks != nullptr,
            .commands = deps.commands != nullptr};
  }

  // ---- persistence ----
  Status Load();
  Status LoadEnvelope();
  Status LoadActive();
  Status LoadRules();
  void PersistActiveLocked(const std::string& rule, const std::string& twin_id, const json::object* state);
  Status PersistRuleLocked(std::string_view name, const json::object* body);

  // ---- the worker ----
  void Enqueue(const RuleTransition& t);
  void Run();
  void Drain(std::unique_lock<std::mutex>& lock);
  void Tick();
  void Handle(const RuleTransition& t);
  void Recommend(const RuleDefinition& rule, const ActionContext& ctx);

  json::object RuleView(const std::string& name, const RuleEntry& entry) const;  // mu held
};

// ---- persistence ----

Status AutomationService::Impl::Load() {
  DOPPEL_ASSIGN_OR_RETURN(recommendations, internal::RecommendationStore::Open(options.dir, kMaxDecidedRecommendations,
                                                                               options.sync));
  if (!options.dir.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(rules_journal, RecordJournal::Open(options.dir, "rules.jsonl"));
    DOPPEL_ASSIGN_OR_RETURN(active_journal, RecordJournal::Open(options.dir, "active.jsonl"));
  }
  DOPPEL_RETURN_IF_ERROR(LoadEnvelope());
  DOPPEL_RETURN_IF_ERROR(LoadActive());
  return LoadRules();
}

Status AutomationService::Impl::LoadEnvelope() {
  if (options.dir.empty()) return Status::Ok();
  Result<std::string> text = ReadFile(options.dir + "/envelope.json");
  if (!text.ok()) return text.status().code() == StatusCode::kNotFound ? Status::Ok() : text.status();
  DOPPEL_ASSIGN_OR_RETURN(json::value value, ParseJson(*text));
  // Without the models: a model removed since must not stop the server (its bounds apply to
  // no twin, and the envelope can be fixed through the API).
  DOPPEL_ASSIGN_OR_RETURN(SafetyEnvelope loaded, SafetyEnvelope::FromJson(value));
  envelope = std::make_shared<SafetyEnvelope>(std::move(loaded));
  return Status::Ok();
}

Status AutomationService::Impl::LoadActive() {
  if (active_journal == nullptr) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(std::vector<json::object> records, active_journal->ReadAll());
  std::vector<json::object> kept;
  for (json::object& record : records) {
    const json::value* is_active = record.if_contains("active");
    if (is_active == nullptr || !is_active->is_bool() || !is_active->get_bool()) continue;
    active[StringOf(record, "rule")][StringOf(record, "twinId")] =
        json::object{{"since", record["since"]}, {"evidence", record["evidence"]}};
    kept.push_back(std::move(record));
  }
  return active_journal->Rewrite(kept);
}

Status AutomationService::Impl::LoadRules() {
  if (rules_journal == nullptr) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(std::vector<json::object> records, rules_journal->ReadAll());
  std::vector<json::object> kept;
  const std::map<std::string, std::string, std::less<>> last_times = log->LastTimes();
  for (json::object& record : records) {
    const json::value* body = record.if_contains("definition");
    if (body == nullptr || !body->is_object()) continue;  // deleted
    const std::string name = StringOf(record, "key");
    RuleEntry entry{.body = body->get_object()};
    auto parsed = deps.graph->Read([&](const twin::GraphState& state) {
      return internal::ParseRuleDefinition(name, *body, state.models(), Available());
    });
    std::set<std::string> twins;
    for (const auto& [twin_id, state] : active[name]) twins.insert(twin_id);
    Status put = parsed.ok() ? engine->Put(parsed->spec, twins) : parsed.status();
    if (put.ok()) {
      entry.def = std::make_shared<const RuleDefinition>(std::move(*parsed));
    } else {
      entry.error = put.message();
      spdlog::warn("automation: rule '{}' could not be restored: {}", name, put.message());
    }
    rules[name] = std::move(entry);
    if (auto last = last_times.find(name); last != last_times.end()) last_fired[name] = last->second;
    kept.push_back(std::move(record));
  }
  return rules_journal->Rewrite(kept);
}

void AutomationService::Impl::PersistActiveLocked(const std::string& rule, const std::string& twin_id,
                                                  const json::object* state) {
  if (active_journal == nullptr) return;
  json::object record{{"key", fmt::format("{}\n{}", rule, twin_id)}, {"rule", rule}, {"twinId", twin_id},
                      {"active", state != nullptr}};
  if (state != nullptr) {
    record["since"] = state->at("since");
    record["evidence"] = state->at("evidence");
  }
  Status written = active_journal->Append(record, options.sync);
  std::size_t count = 0;
  for (const auto& [name, twins] : active) count += twins.size();
  if (written.ok() && active_journal->lines() > 4 * count + 1'000) {
    std::vector<json::object> kept;
    for (const auto& [name, twins] : active) {
      for (const auto& [id, s] : twins) {
        kept.push_back(json::object{{"key", fmt::format("{}\n{}", name, id)}, {"rule", name}, {"twinId", id},
                                    {"active", true}, {"since", s.at("since")}, {"evidence", s.at("evidence")}});
      }
    }
    written = active_journal->Rewrite(kept);
  }
  // An unrecorded activation is repeated after a restart; the action itself has run.
  if (!written.ok()) spdlog::error("automation: active instances not persisted: {}", written.ToString());
}

Status AutomationService::Impl::PersistRuleLocked(std::string_view name, const json::object* body) {
  if (rules_journal == nullptr) return Status::Ok();
  json::object record{{"key", name}};
  if (body != nullptr) record["definition"] = *body;
  DOPPEL_RETURN_IF_ERROR(rules_journal->Append(record, options.sync));
  if (rules_journal->lines() <= 4 * rules.size() + 100) return Status::Ok();
  std::vector<json::object> kept;
  for (const auto& [n, entry] : rules) kept.push_back(json::object{{"key", n}, {"definition", entry.body}});
  return rules_journal->Rewrite(kept);
}

// ---- the worker ----

void AutomationService::Impl::Enqueue(const RuleTransition& t) {
  {
    std::lock_guard lock(queue_mu);
    queue.push_back({.transition = t});
  }
  queue_cv.notify_one();
}

void AutomationService::Impl::Drain(std::unique_lock<std::mutex>& lock) {
  while (!queue.empty()) {
    Work work = std::move(queue.front());
    queue.pop_front();
    lock.unlock();
    if (work.transition) {
      Handle(*work.transition);
    } else {
      Tick();
    }
    lock.lock();
    if (work.ticket != 0) {
      done_ticket = std::max(done_ticket, work.ticket);
      done_cv.notify_all();
    }
  }
}

void AutomationService::Impl::Run() {
  std::unique_lock lock(queue_mu);
  while (true) {
    queue_cv.wait_for(lock, options.tick, [&] { return stopping || !queue.empty(); });
    Drain(lock);  // on Stop too: what was queued before it still runs
    if (stopping) break;
    lock.unlock();
    Tick();
    lock.lock();
  }
  done_cv.notify_all();
}

void AutomationService::Impl::Tick() {
  recommendations->ExpireDue(clock.Now());
  std::shared_ptr<const SafetyEnvelope> current;
  {
    std::lock_guard lock(mu);
    current = envelope;
  }
  runner->StepRamps(*current);
}

void AutomationService::Impl::Handle(const RuleTransition& t) {
  std::shared_ptr<const RuleDefinition> rule;
  std::shared_ptr<const SafetyEnvelope> env;
  const TimePoint time = FromNanos(t.time_ns);
  const json::object signals = EvidenceJson(t.evidence);
  {
    std::lock_guard lock(mu);
    auto it = rules.find(t.rule);
    if (it == rules.end() || it->second.def == nullptr) return;  // deleted since it was queued
    rule = it->second.def;
    env = envelope;
    ++transitions;
    if (t.active) {
      // Persisted after its actions ran (below): a crash in between must not restore the
      // instance as active with its alert, work order or recommendation never made — a
      // repeat after a restart is harmless (alerts and work orders are de-duplicated by key).
      active[t.rule][t.twin_id] = json::object{{"since", FormatRfc3339(time)}, {"evidence", signals}};
      last_fired[t.rule] = FormatRfc3339(time);
    } else {
      active[t.rule].erase(t.twin_id);
      PersistActiveLocked(t.rule, t.twin_id, nullptr);
    }
  }
  const ActionContext ctx{.rule = t.rule,
                          .twin_id = t.twin_id,
                          .time = time,
                          .evidence = internal::MakeEvidence(signals, t.twin_id, time, rule->lookback_ns)};
  const bool recommend = rule->mode == AutomationMode::kRecommend || env->mode() == AutomationMode::kRecommend;
  for (const ActionDef& action : rule->actions) {
    if (!internal::IsDeviceAction(action.type)) {
      runner->RunNotification(action, ctx, t.active);
    } else if (t.active && !recommend) {
      runner->RunDevice(action, ctx, *env, {});
    }
  }
  if (t.active && recommend && rule->has_device_actions()) Recommend(*rule, ctx);
  if (!t.active) return;
  std::lock_guard lock(mu);
  auto rule_it = active.find(t.rule);
  if (rule_it == active.end()) return;  // the rule was deleted meanwhile
  if (auto it = rule_it->second.find(t.twin_id); it != rule_it->second.end()) {
    PersistActiveLocked(t.rule, t.twin_id, &it->second);
  }
}

void AutomationService::Impl::Recommend(const RuleDefinition& rule, const ActionContext& ctx) {
  const TimePoint now = clock.Now();
  const auto ttl = rule.recommendation_ttl.count() > 0 ? rule.recommendation_ttl : options.default_recommendation_ttl;
  internal::Recommendation r{.id = internal::RandomId(),
                             .rule = rule.name,
                             .twin_id = ctx.twin_id,
                             .evidence = ctx.evidence,
                             .created = now,
                             .expires = now + ttl};
  for (const ActionDef& action : rule.actions) {
    if (internal::IsDeviceAction(action.type)) r.actions.push_back(internal::DeviceActionJson(action));
  }
  Status added = recommendations->Add(r);
  if (!added.ok()) spdlog::error("automation: recommendation not persisted: {}", added.ToString());
  {
    std::lock_guard lock(mu);
    ++recommendations_created;
  }
  for (const ActionDef& action : rule.actions) {
    if (internal::IsDeviceAction(action.type)) runner->RecordRecommended(action, ctx, r.id);
  }
}

json::object AutomationService::Impl::RuleView(const std::string& name, const RuleEntry& entry) const {
  json::object out;
  if (entry.def != nullptr) {
    out = internal::RuleDefinitionJson(*entry.def);
  } else {
    out = internal::RuleDefinitionJson(RuleDefinition{.name = name, .body = entry.body});
  }
  out["name"] = name;
  auto it = active.find(name);
  json::object status{{"activeTwins", it == active.end() ? 0 : it->second.size()}};
  if (auto fired = last_fired.find(name); fired != last_fired.end()) status["lastFired"] = fired->second;
  if (!entry.error.empty()) status["error"] = entry.error;
  out["status"] = std::move(status);
  return out;
}

// ---- the service ----

AutomationService::AutomationService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<AutomationService>> AutomationService::Open(AutomationOptions options, AutomationDeps deps,
                                                                   const Clock& clock) {
  if (deps.graph == nullptr || deps.events == nullptr || deps.ingestor == nullptr) {
    return Status::InvalidArgument("automation needs the twin graph, its event bus and the ingestor");
  }
  auto impl = std::make_unique<Impl>(std::move(options), deps, clock);
  Impl* self = impl.get();
  // The engine's thread only queues: actions run on this service's worker.
  impl->engine = std::make_unique<RuleEngine>(
      *deps.graph, *deps.events, *deps.ingestor, deps.live, deps.history,
      [self](const RuleTransition& t) { self->Enqueue(t); }, RuleEngineOptions{.max_rules = impl->options.max_rules});
  DOPPEL_ASSIGN_OR_RETURN(impl->log, internal::ActionLog::Open(impl->options.dir, impl->options.max_actions,
                                                               impl->options.sync));
  impl->runner = std::make_unique<internal::ActionRunner>(deps, clock, *impl->log, impl->options.ramp_step);
  DOPPEL_RETURN_IF_ERROR(impl->Load());
  return std::unique_ptr<AutomationService>(new AutomationService(std::move(impl)));
}

AutomationService::~AutomationService() { Stop(); }

void AutomationService::Start() {
  {
    std::lock_guard lock(impl_->queue_mu);
    if (impl_->running || impl_->stopping) return;
    impl_->running = true;
    impl_->worker = std::thread([self = impl_.get()] { self->Run(); });
  }
  impl_->engine->Start();
}

void AutomationService::Stop() {
  impl_->engine->Stop();  // no new transitions
  {
    std::lock_guard lock(impl_->queue_mu);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
  {
    std::lock_guard lock(impl_->queue_mu);
    impl_->running = false;
  }
  impl_->done_cv.notify_all();
}

void AutomationService::Flush() {
  impl_->engine->Flush();
  std::unique_lock lock(impl_->queue_mu);
  const uint64_t ticket = ++impl_->next_ticket;
  impl_->queue.push_back({.ticket = ticket});
  if (!impl_->running) {
    impl_->Drain(lock);  // not started (or stopped): the caller does the worker's job
    return;
  }
  impl_->queue_cv.notify_one();
  // Stopping: the worker drains the queue, this ticket included, before it exits.
  impl_->done_cv.wait(lock, [&] { return impl_->done_ticket >= ticket || !impl_->running; });
}

// ---- rules ----

Result<std::pair<bool, json::object>> AutomationService::PutRule(std::string_view name, const json::value& definition) {
  Impl& s = *impl_;
  std::lock_guard config(s.config_mu);
  DOPPEL_ASSIGN_OR_RETURN(RuleDefinition parsed, s.deps.graph->Read([&](const twin::GraphState& state) {
    return internal::ParseRuleDefinition(name, definition, state.models(), s.Available());
  }));
  DOPPEL_RETURN_IF_ERROR(s.engine->Check(parsed.spec));
  auto def = std::make_shared<const RuleDefinition>(std::move(parsed));
  const std::string key(name);
  std::optional<RuleEntry> previous;
  std::set<std::string> active_twins;
  {
    std::lock_guard lock(s.mu);
    auto it = s.rules.find(key);
    if (it == s.rules.end() && s.rules.size() >= s.options.max_rules) {
      return Status::ResourceExhausted(fmt::format("at most {} rules", s.options.max_rules));
    }
    if (it != s.rules.end()) previous = it->second;
    DOPPEL_RETURN_IF_ERROR(s.PersistRuleLocked(key, &def->body));
    // In the map before the engine has it: a warm-up activation finds its rule.
    s.rules[key] = RuleEntry{.body = def->body, .def = def};
    for (const auto& [twin_id, state] : s.active[key]) active_twins.insert(twin_id);
  }
  // A replaced rule keeps its active instances: a new title is not a new activation.
  Status put = s.engine->Put(def->spec, active_twins);
  std::lock_guard lock(s.mu);
  if (!put.ok()) {
    if (previous) {
      s.rules[key] = *previous;
    } else {
      s.rules.erase(key);
    }
    Status undone = s.PersistRuleLocked(key, previous ? &previous->body : nullptr);
    if (!undone.ok()) spdlog::error("automation: rule '{}' journal not restored: {}", key, undone.ToString());
    return put;
  }
  return std::make_pair(!previous.has_value(), s.RuleView(key, s.rules[key]));
}

Result<json::object> AutomationService::GetRule(std::string_view name) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->rules.find(name);
  if (it == impl_->rules.end()) return RuleNotFound(name);
  return impl_->RuleView(it->first, it->second);
}

json::array AutomationService::ListRules() const {
  std::lock_guard lock(impl_->mu);
  json::array out;
  for (const auto& [name, entry] : impl_->rules) out.push_back(impl_->RuleView(name, entry));
  return out;
}

Status AutomationService::DeleteRule(std::string_view name) {
  Impl& s = *impl_;
  std::lock_guard config(s.config_mu);
  const std::string key(name);
  {
    // Out of the map first: a transition still queued for the rule finds nothing to run.
    std::lock_guard lock(s.mu);
    auto it = s.rules.find(key);
    if (it == s.rules.end()) return RuleNotFound(name);
    RuleEntry entry = std::move(it->second);
    s.rules.erase(it);
    if (Status persisted = s.PersistRuleLocked(key, nullptr); !persisted.ok()) {
      s.rules[key] = std::move(entry);
      return persisted;
    }
  }
  s.engine->Remove(name);
  s.runner->CancelRamps(name);  // a deleted rule moves nothing further
  std::lock_guard lock(s.mu);
  if (auto it = s.active.find(key); it != s.active.end()) {
    std::map<std::string, json::object> twins = std::move(it->second);
    s.active.erase(it);
    for (const auto& [twin_id, state] : twins) s.PersistActiveLocked(key, twin_id, nullptr);
  }
  s.last_fired.erase(key);
  return Status::Ok();
}

Result<json::array> AutomationService::RuleInstances(std::string_view name, std::size_t limit) const {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->rules.contains(name)) return RuleNotFound(name);
  }
  json::array out;
  for (const InstanceStatus& i : impl_->engine->Instances(name, std::min(limit, kMaxInstancesShown))) {
    json::object o{{"twinId", i.twin_id}, {"active", i.active}, {"evidence", EvidenceJson(i.evidence)}};
    if (i.since_ns) o["since"] = FormatRfc3339(FromNanos(*i.since_ns));
    out.push_back(std::move(o));
  }
  return out;
}

// ---- the envelope ----

json::object AutomationService::GetEnvelope() const {
  std::lock_guard lock(impl_->mu);
  return impl_->envelope->ToJson();
}

Status AutomationService::PutEnvelope(const json::value& envelope) {
  Impl& s = *impl_;
  std::lock_guard config(s.config_mu);
  DOPPEL_ASSIGN_OR_RETURN(SafetyEnvelope parsed, s.deps.graph->Read([&](const twin::GraphState& state) {
    return SafetyEnvelope::FromJson(envelope, &state.models());
  }));
  if (!s.options.dir.empty()) {
    DOPPEL_RETURN_IF_ERROR(WriteFileAtomically(s.options.dir + "/envelope.json", ToPrettyJson(parsed.ToJson())));
  }
  std::lock_guard lock(s.mu);
  s.envelope = std::make_shared<SafetyEnvelope>(std::move(parsed));
  return Status::Ok();
}

Result<json::object> AutomationService::TwinEnvelope(std::string_view twin_id) const {
  std::shared_ptr<const SafetyEnvelope> env;
  {
    std::lock_guard lock(impl_->mu);
    env = impl_->envelope;
  }
  return impl_->deps.graph->Read([&](const twin::GraphState& state) -> Result<json::object> {
    const twin::Twin* t = state.FindTwin(twin_id);
    if (t == nullptr) {
      return Status::NotFound(fmt::format("there is no digital twin with id '{}'", twin_id), "DigitalTwinNotFound");
    }
    const model::ModelRegistry& models = state.models();
    model::InterfacePtr iface = models.Get(t->model_id);
    json::object out;
    if (iface == nullptr) return out;
    std::vector<std::string> writable;
    for (const auto& [name, content] : iface->contents) {
      if (content.kind == model::ContentKind::kProperty && content.writable) writable.push_back(name);
      if (content.kind != model::ContentKind::kComponent) continue;
      model::InterfacePtr inner = models.Get(content.component_interface);
      if (inner == nullptr) continue;
      for (const auto& [inner_name, c] : inner->contents) {
        if (c.kind == model::ContentKind::kProperty && c.writable) writable.push_back(fmt::format("{}/{}", name, inner_name));
      }
    }
    for (const std::string& path : writable) {
      std::optional<PropertyBound> bound = env->FindPropertyBound(models, t->model_id, path);
      if (!bound) continue;
      json::object b;
      if (bound->min) b["min"] = *bound->min;
      if (bound->max) b["max"] = *bound->max;
      if (bound->max_rate_per_minute) b["maxRatePerMinute"] = *bound->max_rate_per_minute;
      out[path] = std::move(b);
    }
    return out;
  });
}

// ---- recommendations ----

json::array AutomationService::ListRecommendations(const RecommendationFilter& filter) const {
  json::array out;
  for (const internal::Recommendation& r : impl_->recommendations->List(filter)) {
    out.push_back(internal::RecommendationJson(r));
  }
  return out;
}

Result<json::object> AutomationService::GetRecommendation(std::string_view id) const {
  DOPPEL_ASSIGN_OR_RETURN(internal::Recommendation r, impl_->recommendations->Get(id));
  return internal::RecommendationJson(r);
}

Result<json::object> AutomationService::Approve(std::string_view id, std::string_view by, std::string_view comment) {
  Impl& s = *impl_;
  DOPPEL_ASSIGN_OR_RETURN(internal::Recommendation r, s.recommendations->Decide(id, "approved", by, comment, s.clock.Now()));
  std::shared_ptr<const SafetyEnvelope> env;
  {
    std::lock_guard lock(s.mu);
    env = s.envelope;
  }
  const ActionContext ctx{.rule = r.rule,
                          .twin_id = r.twin_id,
                          .time = s.clock.Now(),
                          .evidence = r.evidence.is_object() ? r.evidence.get_object() : json::object()};
  json::array results;
  bool succeeded = true;
  for (const json::value& a : r.actions) {
    Result<ActionDef> action = internal::DeviceActionFromJson(a);
    if (!action.ok()) {
      succeeded = false;
      results.push_back(json::object{{"outcome", "failed"}, {"reason", action.status().message()}});
      continue;
    }
    // Approval is not a way around the envelope: the same checks as an automatic run.
    json::object record = s.runner->RunDevice(*action, ctx, *env, {.mode = "approved", .approved_by = std::string(by)});
    const std::string outcome = StringOf(record, "outcome");
    succeeded = succeeded && (outcome == "executed" || outcome == "clamped");
    results.push_back(std::move(record));
  }
  DOPPEL_ASSIGN_OR_RETURN(internal::Recommendation done, s.recommendations->Finish(id, succeeded, std::move(results)));
  return internal::RecommendationJson(done);
}

Result<json::object> AutomationService::Reject(std::string_view id, std::string_view by, std::string_view comment) {
  DOPPEL_ASSIGN_OR_RETURN(internal::Recommendation r,
                          impl_->recommendations->Decide(id, "rejected", by, comment, impl_->clock.Now()));
  return internal::RecommendationJson(r);
}

// ---- the action log ----

json::array AutomationService::ListActions(const ActionFilter& filter) const { return impl_->log->List(filter); }

void AutomationService::RenderMetrics(std::string& out) const {
  std::size_t rules = 0, active = 0;
  uint64_t transitions = 0, recommended = 0;
  {
    std::lock_guard lock(impl_->mu);
    rules = impl_->rules.size();
    for (const auto& [name, twins] : impl_->active) active += twins.size();
    transitions = impl_->transitions;
    recommended = impl_->recommendations_created;
  }
  out += fmt::format(
      "# HELP doppel_automation_rules Rules defined.\n# TYPE doppel_automation_rules gauge\n"
      "doppel_automation_rules {}\n"
      "# HELP doppel_automation_active_instances (rule, twin) pairs active now.\n"
      "# TYPE doppel_automation_active_instances gauge\ndoppel_automation_active_instances {}\n"
      "# HELP doppel_automation_transitions_total Rule activations and clears acted on.\n"
      "# TYPE doppel_automation_transitions_total counter\ndoppel_automation_transitions_total {}\n"
      "# HELP doppel_automation_recommendations_created_total Recommendations made.\n"
      "# TYPE doppel_automation_recommendations_created_total counter\n"
      "doppel_automation_recommendations_created_total {}\n"
      "# HELP doppel_automation_recommendations_pending Recommendations waiting for a decision.\n"
      "# TYPE doppel_automation_recommendations_pending gauge\ndoppel_automation_recommendations_pending {}\n"
      "# HELP doppel_automation_ramps Setpoint ramps under way.\n# TYPE doppel_automation_ramps gauge\n"
      "doppel_automation_ramps {}\n"
      "# HELP doppel_automation_actions_total Actions taken or proposed, by outcome.\n"
      "# TYPE doppel_automation_actions_total counter\n",
      rules, active, transitions, recommended, impl_->recommendations->CountWithStatus("pending"),
      impl_->runner->active_ramps());
  const std::map<std::string, uint64_t> counts = impl_->log->outcome_counts();
  for (std::string_view outcome : {"executed", "clamped", "blocked", "failed", "recommended"}) {
    auto it = counts.find(std::string(outcome));
    out += fmt::format("doppel_automation_actions_total{{outcome=\"{}\"}} {}\n", outcome,
                       it == counts.end() ? 0 : it->second);
  }
  impl_->engine->RenderMetrics(out);
}

}  // namespace doppel::automation
