#include "automation/internal/engine_instance.h"

#include <algorithm>
#include <utility>

namespace doppel::automation::engine {
namespace {

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<int64_t>::max() : sum;
}

}  // namespace

Instance::Instance(const CompiledRule& compiled, std::string twin)
    : rule(&compiled), twin_id(std::move(twin)), condition(compiled.condition), clear(compiled.clear) {}

bool Instance::Observe(uint32_t signal, int64_t time_ns, const rules::Value& value) {
  if (int i = rule->in_condition[signal]; i >= 0) condition.Observe(static_cast<std::size_t>(i), time_ns, value);
  if (int i = rule->in_clear[signal]; i >= 0) clear.Observe(static_cast<std::size_t>(i), time_ns, value);
  now_ns = std::max(now_ns, time_ns);
  if (touched) return false;
  touched = true;
  return true;
}

void Instance::Replay() {
  condition.Evaluate(now_ns);
  if (rule->clear_is_stateful) clear.Evaluate(now_ns);
}

std::optional<RuleTransition> Instance::Evaluate() {
  touched = false;
  // 'for' timers must see every evaluation, active or not, or a clear condition's timer
  // would still run from before the activation; a clear condition without timers or windows
  // depends on the latest values alone, so while inactive it need not be evaluated (half the
  // work for the usual rule).
  const bool raise = condition.Evaluate(now_ns);
  const bool lower = (active || rule->clear_is_stateful) && clear.Evaluate(now_ns);
  if (!active) {
    if (!raise || (cooldown_until_ns && now_ns < *cooldown_until_ns)) return std::nullopt;
    active = true;
    since_ns = now_ns;
    return RuleTransition{.rule = rule->spec.name, .twin_id = twin_id, .active = true, .time_ns = now_ns,
                          .evidence = condition.Evidence()};
  }
  if (!lower) return std::nullopt;
  active = false;
  since_ns = now_ns;
  if (rule->spec.cooldown_ns > 0) cooldown_until_ns = SaturatingAdd(now_ns, rule->spec.cooldown_ns);
  return RuleTransition{.rule = rule->spec.name, .twin_id = twin_id, .active = false, .time_ns = now_ns,
                        .evidence = clear.Evidence()};
}

}  // namespace doppel::automation::engine
