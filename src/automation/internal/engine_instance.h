// One (rule, twin) instance: the evaluation state of both conditions for that twin and the
// rule's state machine (rule_engine.h):
//   inactive ──condition true (and cooldown over)──▶ active      reported: activated
//   active ──clear condition true──▶ inactive                     reported: cleared
// Owned by the engine's worker (and Put, under the same lock).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "automation/internal/engine_rule.h"
#include "automation/rule_engine.h"
#include "rules/expression.h"

namespace doppel::automation::engine {

struct Instance {
  Instance(const CompiledRule& compiled, std::string twin);

  // A value of rule->signals[signal] at `time_ns`; marks the instance for evaluation at the
  // newest time it has seen. Returns true if it was not marked yet (the caller lists it).
  bool Observe(uint32_t signal, int64_t time_ns, const rules::Value& value);
  // Evaluates both conditions at the newest time seen and steps the state machine; the
  // transition, if any (the evidence is the deciding condition's: the condition's for an
  // activation, the clear condition's for a clear).
  std::optional<RuleTransition> Evaluate();
  // Evaluates without stepping the state machine: replaying history during warm-up advances
  // windows and 'for' timers, but a state seen only in the past reports nothing.
  void Replay();
  bool seen() const { return now_ns != kNever; }

  static constexpr int64_t kNever = std::numeric_limits<int64_t>::min();

  const CompiledRule* rule;
  std::string twin_id;
  rules::ConditionState condition;
  rules::ConditionState clear;
  bool active = false;
  std::optional<int64_t> since_ns;
  std::optional<int64_t> cooldown_until_ns;
  int64_t now_ns = kNever;  // the newest time observed
  bool touched = false;     // observed since its last evaluation (listed for the batch's end)
  // Routes into the RouteIndex: (slot, signal), this twin's own and its related twins'.
  std::vector<std::pair<uint32_t, uint32_t>> routes;
};

}  // namespace doppel::automation::engine
