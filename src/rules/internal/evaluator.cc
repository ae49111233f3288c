// ConditionState: the windowed, timed evaluation of one Expression for one twin.
//
// Conditions are three-valued while evaluating — true, false, or unknown (monostate) when a
// value they need is missing — with Kleene's and/or/not, so `not (x > 5)` stays unknown, not
// true, while x has no value; Evaluate reports unknown as false. Every node is evaluated every
// time (no short-circuit): 'for' timers must see each evaluation, and evidence wants every value.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/expression.h"
#include "rules/internal/ast.h"
#include "rules/internal/evaluator.h"
#include "rules/internal/window.h"

namespace doppel::rules {

using internal::CompareOp;
using internal::Node;
using internal::NodeKind;
using internal::SampleWindow;
using internal::WindowFn;

struct ConditionState::Impl {
  explicit Impl(const Expression& expr);

  Value Eval(const Node& node, int64_t now_ns);
  Value EvalWindow(const Node& node) const;
  Value EvalCompare(const Node& node, int64_t now_ns);

  std::shared_ptr<const Node> root;
  std::shared_ptr<const internal::StateLayout> layout;
  std::vector<Value> latest;                     // by signal
  std::vector<std::optional<int64_t>> newest_ns;  // by signal: the newest reading time seen
  std::vector<SampleWindow> windows;              // by window slot
  std::vector<std::optional<int64_t>> true_since;  // by 'for' slot: when the comparison became true
  std::vector<Value> evidence;                     // by layout->evidence, as of the last Evaluate
  std::optional<int64_t> last_now_ns;
};

namespace {

// now − window, saturating: times come from devices and may be anything.
int64_t CutoffBefore(int64_t now_ns, int64_t window_ns) {
  int64_t cutoff = 0;
  if (__builtin_sub_overflow(now_ns, window_ns, &cutoff)) return std::numeric_limits<int64_t>::min();
  return cutoff;
}

Value NumberOrNothing(std::optional<double> number) {
  if (!number || !std::isfinite(*number)) return std::monostate{};
  return *number;
}

const double* AsNumber(const Value& value) { return std::get_if<double>(&value); }

// A value used as a condition: booleans are, anything else counts as no value.
Value AsCondition(const Value& value) {
  if (std::holds_alternative<bool>(value)) return value;
  return std::monostate{};
}

bool IsUnknown(const Value& value) { return std::holds_alternative<std::monostate>(value); }

bool Compare(CompareOp op, const Value& left, const Value& right) {
  const double* a = AsNumber(left);
  const double* b = AsNumber(right);
  if (a && b) {
    switch (op) {
      case CompareOp::kLt: return *a < *b;
      case CompareOp::kLe: return *a <= *b;
      case CompareOp::kGt: return *a > *b;
      case CompareOp::kGe: return *a >= *b;
      case CompareOp::kEq: return *a == *b;
      case CompareOp::kNe: return *a != *b;
    }
  }
  // Strings and booleans only compare for (in)equality, and only with their own type: a value
  // of the wrong type makes the comparison false.
  if (left.index() != right.index()) return false;
  if (op == CompareOp::kEq) return left == right;
  if (op == CompareOp::kNe) return left != right;
  return false;
}

Value Arith(char op, const Value& left, const Value& right) {
  const double* a = AsNumber(left);
  const double* b = AsNumber(right);
  if (!a || !b) return std::monostate{};
  switch (op) {
    case '+': return NumberOrNothing(*a + *b);
    case '-': return NumberOrNothing(*a - *b);
    case '*': return NumberOrNothing(*a * *b);
    default: return NumberOrNothing(*a / *b);  // x / 0 is not finite: no value
  }
}

// Kleene logic: false wins 'and', true wins 'or', otherwise unknown is contagious.
Value Logic(NodeKind kind, const Value& left, const Value& right) {
  bool dominant = kind == NodeKind::kOr;
  for (const Value* v : {&left, &right}) {
    if (const bool* b = std::get_if<bool>(v); b && *b == dominant) return dominant;
  }
  if (IsUnknown(left) || IsUnknown(right)) return std::monostate{};
  return !dominant;
}

}  // namespace

namespace internal {

StateLayout LayOut(const Node& root, std::span<const SignalRef> signals) {
  StateLayout layout;
  layout.windows_of_signal.resize(signals.size());
  auto add_evidence = [&layout](StateLayout::EvidenceItem item) {
    auto same = [&](const StateLayout::EvidenceItem& e) { return e.name == item.name; };
    if (std::none_of(layout.evidence.begin(), layout.evidence.end(), same)) layout.evidence.push_back(std::move(item));
  };
  // Pre-order, left to right: the order the text names things.
  auto visit = [&](const Node& node, auto& self) -> void {
    if (node.kind == NodeKind::kSignal || node.kind == NodeKind::kWindow) {
      add_evidence({.name = SignalText(signals[node.signal]), .signal = node.signal});
    }
    if (node.kind == NodeKind::kWindow) {
      add_evidence({.name = Print(node, signals), .window = &node});
      layout.window_ns.resize(std::max(layout.window_ns.size(), node.window_slot + 1));
      layout.window_ns[node.window_slot] = node.window_ns;
      auto& slots = layout.windows_of_signal[node.signal];
      if (std::find(slots.begin(), slots.end(), node.window_slot) == slots.end()) slots.push_back(node.window_slot);
    }
    if (node.kind == NodeKind::kCompare && node.for_ns > 0) {
      layout.for_timers = std::max(layout.for_timers, node.for_slot + 1);
    }
    for (const auto& child : node.children) self(*child, self);
  };
  visit(root, visit);
  return layout;
}

}  // namespace internal

ConditionState::Impl::Impl(const Expression& expr)
    : root(expr.root_),
      layout(expr.layout_),
      latest(expr.signals().size()),
      newest_ns(expr.signals().size()),
      windows(layout->window_ns.size(), SampleWindow(kMaxWindowSamples)),
      true_since(layout->for_timers),
      evidence(layout->evidence.size()) {}

Value ConditionState::Impl::Eval(const Node& node, int64_t now_ns) {
  switch (node.kind) {
    case NodeKind::kNumber: return node.number;
    case NodeKind::kString: return node.string;
    case NodeKind::kBool: return node.boolean;
    case NodeKind::kSignal: return latest[node.signal];
    case NodeKind::kWindow: return EvalWindow(node);
    case NodeKind::kAbs: {
      Value v = Eval(*node.children[0], now_ns);
      const double* x = AsNumber(v);
      return x ? Value(std::abs(*x)) : Value();
    }
    case NodeKind::kNegate: {
      Value v = Eval(*node.children[0], now_ns);
      const double* x = AsNumber(v);
      return x ? Value(-*x) : Value();
    }
    case NodeKind::kArith:
      return Arith(node.arith, Eval(*node.children[0], now_ns), Eval(*node.children[1], now_ns));
    case NodeKind::kCompare: return EvalCompare(node, now_ns);
    case NodeKind::kNot: {
      Value v = AsCondition(Eval(*node.children[0], now_ns));
      return IsUnknown(v) ? v : Value(!std::get<bool>(v));
    }
    case NodeKind::kAnd:
    case NodeKind::kOr: {
      Value left = AsCondition(Eval(*node.children[0], now_ns));
      Value right = AsCondition(Eval(*node.children[1], now_ns));
      return Logic(node.kind, left, right);
    }
  }
  return std::monostate{};
}

Value ConditionState::Impl::EvalWindow(const Node& node) const {
  const SampleWindow& window = windows[node.window_slot];
  switch (node.window_fn) {
    case WindowFn::kAvg: return NumberOrNothing(window.Avg());
    case WindowFn::kMin: return NumberOrNothing(window.Min());
    case WindowFn::kMax: return NumberOrNothing(window.Max());
    case WindowFn::kCount: return static_cast<double>(window.count());
    case WindowFn::kDelta: return NumberOrNothing(window.Delta());
    case WindowFn::kRate: return NumberOrNothing(window.Rate());
  }
  return std::monostate{};
}

// A comparison, and its 'for' timer: true once it has been true at every evaluation since a
// time at least `for_ns` ago; false or unknown restarts the timer.
Value ConditionState::Impl::EvalCompare(const Node& node, int64_t now_ns) {
  Value left = Eval(*node.children[0], now_ns);
  Value right = Eval(*node.children[1], now_ns);
  bool known = !IsUnknown(left) && !IsUnknown(right);
  bool holds = known && Compare(node.compare, left, right);
  if (node.for_ns == 0 || !holds) {
    if (node.for_ns > 0) true_since[node.for_slot].reset();
    return known ? Value(holds) : Value();
  }
  std::optional<int64_t>& since = true_since[node.for_slot];
  if (!since) since = now_ns;
  int64_t held = 0;
  return __builtin_sub_overflow(now_ns, *since, &held) || held >= node.for_ns;
}

ConditionState::ConditionState(const Expression& expression) : impl_(std::make_shared<Impl>(expression)) {}

void ConditionState::Observe(std::size_t index, int64_t time_ns, const Value& value) {
  Impl& s = *impl_;
  DOPPEL_CHECK(index < s.latest.size());
  if (s.newest_ns[index] && time_ns < *s.newest_ns[index]) return;
  s.newest_ns[index] = time_ns;
  const double* number = AsNumber(value);
  bool usable = !number || std::isfinite(*number);  // NaN and infinities count as no value
  s.latest[index] = usable ? value : Value();
  if (!number || !usable) return;  // windows hold numbers only
  for (std::size_t slot : s.layout->windows_of_signal[index]) {
    s.windows[slot].EvictThrough(CutoffBefore(time_ns, s.layout->window_ns[slot]));
    s.windows[slot].Add(time_ns, *number);
  }
}

bool ConditionState::Evaluate(int64_t now_ns) {
  Impl& s = *impl_;
  // Reading time never runs backwards for the timers and windows.
  if (s.last_now_ns) now_ns = std::max(now_ns, *s.last_now_ns);
  s.last_now_ns = now_ns;
  for (std::size_t slot = 0; slot < s.windows.size(); ++slot) {
    s.windows[slot].EvictThrough(CutoffBefore(now_ns, s.layout->window_ns[slot]));
  }
  Value result = AsCondition(s.Eval(*s.root, now_ns));
  for (std::size_t i = 0; i < s.evidence.size(); ++i) {
    const internal::StateLayout::EvidenceItem& item = s.layout->evidence[i];
    s.evidence[i] = item.window ? s.EvalWindow(*item.window) : s.latest[item.signal];
  }
  return result == Value(true);
}

std::vector<std::pair<std::string, Value>> ConditionState::Evidence() const {
  std::vector<std::pair<std::string, Value>> evidence;
  evidence.reserve(impl_->evidence.size());
  for (std::size_t i = 0; i < impl_->evidence.size(); ++i) {
    evidence.emplace_back(impl_->layout->evidence[i].name, impl_->evidence[i]);
  }
  return evidence;
}

}  // namespace doppel::rules
