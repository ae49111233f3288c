#include "automation/internal/engine_rule.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace doppel::automation::engine {
namespace {

// "condition: at 1:14: …", keeping the parser's code (InvalidArgument or PayloadTooLarge).
Status Prefixed(std::string_view member, const Status& status) {
  return Status(status.code(), "", fmt::format("{}: {}", member, status.message()));
}

Result<rules::Expression> ParseMember(std::string_view member, std::string_view text,
                                      const rules::ExpressionLimits& limits) {
  auto parsed = rules::Expression::Parse(text, limits);
  if (!parsed.ok()) return Prefixed(member, parsed.status());
  return std::move(*parsed);
}

// `not (<condition>)`, from the canonical text: it already passed the limits once, and the
// canonical form may be a little longer than the source, so the limits are relaxed here.
Result<rules::Expression> NegationOf(const rules::Expression& condition, const rules::ExpressionLimits& limits) {
  rules::ExpressionLimits relaxed = limits;
  relaxed.max_length = std::numeric_limits<std::size_t>::max() / 8;
  relaxed.max_nodes = limits.max_nodes + 1;
  relaxed.max_depth = limits.max_depth + 1;
  return ParseMember("condition", fmt::format("not ({})", condition.ToString()), relaxed);
}

Status CheckSpecFields(const RuleSpec& spec) {
  if (spec.name.empty()) return Status::InvalidArgument("name: a rule needs a name");
  if (spec.cooldown_ns < 0) return Status::InvalidArgument("cooldown: must not be negative");
  if (!spec.scope.relationships.empty() && spec.scope.under.empty()) {
    return Status::InvalidArgument("scope.relationships: only applies with scope.under (the root to follow them from)");
  }
  return Status::Ok();
}

// The union of both expressions' signals, and where each sits in either.
void MergeSignals(CompiledRule& rule) {
  auto index_of = [&](const rules::SignalRef& s) -> std::size_t {
    auto it = std::find(rule.signals.begin(), rule.signals.end(), s);
    if (it != rule.signals.end()) return static_cast<std::size_t>(it - rule.signals.begin());
    rule.signals.push_back(s);
    rule.in_condition.push_back(-1);
    rule.in_clear.push_back(-1);
    return rule.signals.size() - 1;
  };
  const auto condition_signals = rule.condition.signals();
  for (std::size_t i = 0; i < condition_signals.size(); ++i) {
    rule.in_condition[index_of(condition_signals[i])] = static_cast<int>(i);
  }
  const auto clear_signals = rule.clear.signals();
  for (std::size_t i = 0; i < clear_signals.size(); ++i) rule.in_clear[index_of(clear_signals[i])] = static_cast<int>(i);
  rule.has_related = std::any_of(rule.signals.begin(), rule.signals.end(),
                                 [](const rules::SignalRef& s) { return !s.relationship.empty(); });
}

Status CheckSignal(const model::ModelRegistry& models, const model::Interface& iface, std::string_view member,
                   const rules::SignalRef& signal) {
  const std::string name = SignalName(signal);
  if (signal.relationship.empty()) {
    if (models.FindValue(iface, signal.path)) return Status::Ok();
    return Status::InvalidArgument(fmt::format("{}: unknown signal '{}': model {} has no property or telemetry '{}'",
                                               member, name, iface.id, name));
  }
  const model::Content* rel = iface.Find(signal.relationship);
  if (!rel || rel->kind != model::ContentKind::kRelationship) {
    return Status::InvalidArgument(fmt::format("{}: unknown signal '{}': model {} has no relationship '{}'", member,
                                               name, iface.id, signal.relationship));
  }
  if (rel->target.empty()) return Status::Ok();  // any target model: nothing to check against
  model::InterfacePtr target = models.Get(rel->target);
  if (!target || models.FindValue(*target, signal.path)) return Status::Ok();
  return Status::InvalidArgument(
      fmt::format("{}: unknown signal '{}': model {} (the target of relationship '{}') has no property or telemetry '{}'",
                  member, name, target->id, signal.relationship, SignalName({.relationship = "", .path = signal.path})));
}

}  // namespace

std::string SignalName(const rules::SignalRef& signal) {
  std::string path = signal.path;
  std::replace(path.begin(), path.end(), '/', '.');
  return signal.relationship.empty() ? path : fmt::format("{}>{}", signal.relationship, path);
}

Result<CompiledRule> Compile(const RuleSpec& spec, const rules::ExpressionLimits& limits) {
  DOPPEL_RETURN_IF_ERROR(CheckSpecFields(spec));
  DOPPEL_ASSIGN_OR_RETURN(rules::Expression condition, ParseMember("condition", spec.condition, limits));
  Result<rules::Expression> clear = spec.clear_condition.empty()
                                        ? NegationOf(condition, limits)
                                        : ParseMember("clearCondition", spec.clear_condition, limits);
  if (!clear.ok()) return clear.status();
  CompiledRule rule{.spec = spec, .condition = std::move(condition), .clear = std::move(*clear)};
  MergeSignals(rule);
  rule.twins = spec.scope.twins;
  std::sort(rule.twins.begin(), rule.twins.end());
  rule.twins.erase(std::unique(rule.twins.begin(), rule.twins.end()), rule.twins.end());
  rule.lookback_ns = std::max(rule.condition.lookback_ns(), rule.clear.lookback_ns());
  rule.clear_is_stateful = rule.clear.lookback_ns() > 0;
  return rule;
}

Status CheckAgainstModels(const model::ModelRegistry& models, const CompiledRule& rule) {
  const std::string& model_id = rule.spec.scope.model;
  if (model_id.empty()) return Status::Ok();
  model::InterfacePtr iface = models.Get(model_id);
  if (!iface) return Status::InvalidArgument(fmt::format("scope.model: unknown model '{}'", model_id));
  for (const rules::SignalRef& s : rule.condition.signals()) {
    DOPPEL_RETURN_IF_ERROR(CheckSignal(models, *iface, "condition", s));
  }
  if (rule.spec.clear_condition.empty()) return Status::Ok();
  for (const rules::SignalRef& s : rule.clear.signals()) {
    DOPPEL_RETURN_IF_ERROR(CheckSignal(models, *iface, "clearCondition", s));
  }
  return Status::Ok();
}

}  // namespace doppel::automation::engine
