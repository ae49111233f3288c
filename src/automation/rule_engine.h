// The rule engine (docs/automation.md): evaluates rule conditions (rules/expression.h) for
// every twin in a rule's scope, on each relevant update — never by polling — and reports when
// a rule becomes active or clears for a twin. What to do then is the AutomationService's.
//
// Scope: the twins a rule watches, kept current as the graph changes (a turbine added to the
// farm joins the rule):
//   - `model`: twins of that model or of a model extending it ("" = any model);
//   - `twins`: these ids (empty = no restriction);
//   - `under`: twins reachable from this root twin through outgoing relationships (of the
//     names in `relationships`; empty = any), transitively — "all turbines of a farm",
//     "any station of a line". The root itself is not in scope.
// All given criteria must hold. A rule with none watches every twin.
//
// Signals: a condition names its twin's properties and telemetry ("x", "comp/x") and, through
// one relationship, a related twin's ("hasMainBearing>rul"). Telemetry arrives through the
// Ingestor's listener, properties through the graph's events (a twin's PATCH, a device's
// reported property); a related twin's update reaches every twin related to it by that
// relationship. Values are observed at their reading time; property changes at the event's
// time.
//
// Evaluation, per (rule, twin) instance, after each batch of updates that touches one of its
// signals:
//   inactive ──condition true (and cooldown over)──▶ active      reported: activated
//   active ──clear condition true──▶ inactive                     reported: cleared
// The clear condition defaults to `not (condition)`; a separate one gives hysteresis
// ("bearingTemperature > 90" / "bearingTemperature < 85"). While active, the condition being
// true again reports nothing (de-duplication). `cooldown`: after a clear, an instance does not
// activate again for this long (reading time) — a flapping signal does not flood.
//
// Warm-up: a new rule (or a twin joining a scope) starts from the twin's current properties
// and live telemetry (ingest/live_state.h) and, when a SeriesStore is given, from history
// covering the condition's lookback, so `avg(x, 10m)` is right from the start. History is
// replayed through the conditions (windows fill, 'for' timers run) without stepping the state
// machine; then the instance is evaluated once, and if its condition holds it activates and
// that IS reported — a fault present now is news — while states that held only in the
// replayed past report nothing (no flood of stale transitions after a restart; restored
// active instances, see Put, report nothing until they clear). A twin that gains a related
// twin starts reading it from that twin's properties and live telemetry.
//
// A relationship with several targets ("hasBlade>pitch" with three blades): each target's
// readings are observed as the one signal, the newest wins. A signal keeps its last value when
// its source goes away (a relationship deleted) until another value arrives.
//
// Threads: the ingest listener and graph-event handler only look up which instances an update
// touches (a hash lookup per reading) and queue those updates; one worker thread evaluates
// and calls the sink, in order. The sink must not block for long (queue heavy work).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "rules/expression.h"

namespace doppel::twin {
class TwinGraph;
class EventBus;
}
namespace doppel::ingest {
class Ingestor;
class LiveState;
struct Reading;
}
namespace doppel::tsdb {
class SeriesStore;
}

namespace doppel::automation {

struct RuleScope {
  std::string model = {};
  std::vector<std::string> twins = {};
  std::string under = {};
  std::vector<std::string> relationships = {};
  bool operator==(const RuleScope&) const = default;
};

// What the engine needs of a rule.
struct RuleSpec {
  std::string name;
  RuleScope scope = {};
  std::string condition;
  std::string clear_condition = {};  // "" = not (condition)
  int64_t cooldown_ns = 0;
  bool enabled = true;
};

struct RuleTransition {
  std::string rule;
  std::string twin_id;
  bool active = false;  // true: activated; false: cleared
  int64_t time_ns = 0;  // the reading time that decided it
  // The deciding condition's evidence at that moment (ConditionState::Evidence): the
  // condition's for an activation, the clear condition's for a clear; by the names the
  // expression writes ("vibrationRms", "avg(hasMainBearing>rul, 1h)").
  std::vector<std::pair<std::string, rules::Value>> evidence;
};
// {"name": value, ...} with monostate as null.
json::object EvidenceJson(const std::vector<std::pair<std::string, rules::Value>>& evidence);

// One instance's state, for GET /rules/{name}.
struct InstanceStatus {
  std::string twin_id;
  bool active = false;
  std::optional<int64_t> since_ns = {};  // when it last changed
  std::vector<std::pair<std::string, rules::Value>> evidence;  // of the last evaluation
};

struct RuleEngineOptions {
  std::size_t max_rules = 100'000;
  // (rule, twin) pairs; beyond, Put is ResourceExhausted. ~1.6 KB each (bench/RESULTS.md), so
  // the default bounds the engine near 3 GB.
  std::size_t max_instances = 2'000'000;
  std::size_t max_queue = 1'000'000;  // queued updates; beyond, the oldest are dropped and counted
  rules::ExpressionLimits limits = {};
};

class RuleEngine {
 public:
  using Sink = std::function<void(const RuleTransition&)>;

  // `live` and `history` may be null (no warm-up from them). All must outlive the engine.
  RuleEngine(twin::TwinGraph& graph, twin::EventBus& events, ingest::Ingestor& ingestor,
             ingest::LiveState* live, tsdb::SeriesStore* history, Sink sink, RuleEngineOptions options = {});
  ~RuleEngine();  // Stop(), unsubscribes
  RuleEngine(const RuleEngine&) = delete;
  RuleEngine& operator=(const RuleEngine&) = delete;

  // Parses and checks a spec without adding it: InvalidArgument "condition: at 1:14: ..." /
  // "clearCondition: at ..." / "scope.model: unknown model ..."; when the scope names a
  // model, each signal must be a property or telemetry of it (or of the relationship's target
  // model), else InvalidArgument naming the signal.
  Status Check(const RuleSpec& spec) const;
  // Adds or replaces (a replaced rule's instances restart inactive unless listed in
  // `active_twins`, which also restores the active state after a restart without reporting
  // it). Check()'s errors; ResourceExhausted past the limits.
  Status Put(const RuleSpec& spec, const std::set<std::string>& active_twins = {});
  void Remove(std::string_view name);

  void Start();  // the evaluation worker
  void Stop();   // idempotent
  // Waits until every update queued before the call is evaluated (tests, benchmarks).
  void Flush();
  // What the ingest listener does with a stored batch: a hash lookup per reading, queueing the
  // watched ones. Public for benchmarks, which time the listener without the store's write.
  void OnReadings(std::span<const ingest::Reading> readings);

  std::vector<InstanceStatus> Instances(std::string_view rule, std::size_t limit) const;

  struct Counters {
    uint64_t updates_queued = 0;
    uint64_t updates_dropped = 0;
    uint64_t evaluations = 0;
    uint64_t activations = 0;
    uint64_t clears = 0;
  };
  Counters counters() const;
  void RenderMetrics(std::string& out) const;  // doppel_rules_*

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doppel::automation
