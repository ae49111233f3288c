// A rule as the engine runs it: its spec with both conditions parsed, and the signals of the
// two taken together (one route per signal serves both), checked against the models.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "automation/rule_engine.h"
#include "base/status.h"
#include "model/model_registry.h"
#include "rules/expression.h"

namespace doppel::automation::engine {

struct CompiledRule {
  uint64_t id = 0;  // unique per Put, so a queued warm-up never reaches a replaced rule
  RuleSpec spec;
  rules::Expression condition;
  // The clear condition: spec.clear_condition, or `not (<condition>)` — three-valued, so a
  // condition that has lost its value (a NaN reading, a removed property) does not clear.
  rules::Expression clear;
  std::vector<rules::SignalRef> signals = {};  // of both, each once, the condition's first
  std::vector<int> in_condition = {};         // by signal: its index in condition.signals(), or -1
  std::vector<int> in_clear = {};             // by signal: its index in clear.signals(), or -1
  std::vector<std::string> twins = {};        // spec.scope.twins, sorted, for binary search
  int64_t lookback_ns = 0;                // of both
  // The clear condition has windows or 'for' timers, which must see every evaluation; one
  // without (the usual threshold) is evaluated only while the instance is active.
  bool clear_is_stateful = false;
  bool has_related = false;               // reads a related twin's signal
};

// Parses both conditions and checks the spec's own fields. InvalidArgument (or
// PayloadTooLarge, from the parser) "condition: at 1:14: …", "clearCondition: …",
// "name: …", "cooldown: …", "scope.relationships: …".
Result<CompiledRule> Compile(const RuleSpec& spec, const rules::ExpressionLimits& limits);

// The scope's model exists and every signal is a property or telemetry of it (or, for
// "rel>x", `rel` is a relationship of it and x a property or telemetry of its target model,
// when the relationship names one). InvalidArgument "scope.model: unknown model '…'",
// "condition: unknown signal 'x': model … has no property or telemetry 'x'".
Status CheckAgainstModels(const model::ModelRegistry& models, const CompiledRule& rule);

// "hasMainBearing>oil.temperature": a signal as the condition writes it.
std::string SignalName(const rules::SignalRef& signal);

}  // namespace doppel::automation::engine
