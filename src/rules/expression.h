// The rule condition language (docs/rules-language.md): readable conditions over one twin's
// signals — properties, telemetry and the derived values Doppel writes (anomaly scores,
// residuals, RUL, KPIs) — with time windows, durations and rates.
//
//   vibrationRms > 7.1
//   avg(vibrationRms, 10m) > 4.5 and bearingTemperature > 80 for 5m
//   rate(bearingTemperature, 15m) > 2          // per minute, least-squares slope over the window
//   rul < 200 or anomalyScore >= 0.9
//   state == "fault" and not (activeFaultCode == "")
//   nacelle.nacelleTemperature - nacelle.ambientTemperature > 25    // a component's telemetry
//   hasMainBearing>vibrationRms > 6                                 // a related twin's signal
//
// Grammar (keywords are lowercase; identifiers are DTDL names):
//   expr    := or
//   or      := and ('or' and)*
//   and     := not ('and' not)*
//   not     := 'not' not | cmp
//   cmp     := sum (CMPOP sum)? ('for' DURATION)?        CMPOP: < <= > >= == !=
//   sum     := prod (('+' | '-') prod)*
//   prod    := unary (('*' | '/') unary)*
//   unary   := '-' unary | primary
//   primary := NUMBER | STRING | 'true' | 'false' | signal | call | '(' expr ')'
//   signal  := (IDENT '>')? IDENT ('.' IDENT)?           relationship>component.name
//   call    := WFUNC '(' signal ',' DURATION ')'          WFUNC: avg min max count delta rate
//            | 'abs' '(' sum ')'
//   DURATION:= NUMBER ('ms' | 's' | 'm' | 'h' | 'd')      e.g. 30s, 10m, 1.5h
// `x > 90 for 5m` is true once x > 90 has held continuously for 5 minutes of reading time:
// its timer starts at the first evaluation that sees x > 90 and restarts at any evaluation
// that sees it false or without a value.
// Windows and durations are in reading time (the readings' timestamps), never the wall clock.
// A condition over a signal that has no value yet is false (not an error).
// Run-time types: a signal compared with a number compares numerically, with a string or a
// boolean by equality; a value of another type makes that comparison false. A bare signal
// used as a condition must hold a boolean (anything else counts as no value). Conditions are
// three-valued while evaluating (Kleene and/or/not over "no value"), so `not (x > 5)` is not
// true while x has no value.
//
// Thread-safety: an Expression is immutable; a ConditionState has one owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"

namespace doppel::rules {

namespace internal {
struct StateLayout;
}

// A signal the expression reads: a path of this twin ("name", "component/name") or of the
// twin reached by one relationship ("rel>name", "rel>component/name"), written with '/'
// between component and name, as Doppel's readings name paths.
struct SignalRef {
  std::string relationship;  // "" = this twin
  std::string path;          // "name" or "component/name"
  bool operator==(const SignalRef&) const = default;
};

struct ExpressionLimits {
  std::size_t max_length = 4096;      // characters of text
  std::size_t max_nodes = 256;        // AST nodes
  std::size_t max_depth = 32;         // nesting
  int64_t max_window_ns = int64_t{7} * 24 * 3600 * 1'000'000'000;  // windows and 'for' ≤ 7 days
};

// Samples kept per (signal, window) pair; past it the oldest are dropped early, so a signal
// faster than 100,000 readings per window sees a shorter window (docs/rules-language.md).
inline constexpr std::size_t kMaxWindowSamples = 100'000;

class Expression {
 public:
  // Parses and checks. Errors are InvalidArgument with the position: "at 1:14: expected ')'
  // after the window of avg, found 'and'" (line:column, 1-based, in characters), and
  // PayloadTooLarge for text over the limits. Type errors are found here too: comparing a
  // string with '<', arithmetic on a boolean, 'for' on a non-comparison, a window function on
  // a literal ("at 1:5: avg needs a signal, not a number").
  static Result<Expression> Parse(std::string_view text, const ExpressionLimits& limits = {});

  const std::string& text() const;
  // Every signal read, each once, in first-use order: the index a value is observed under.
  std::span<const SignalRef> signals() const;
  // The longest window or 'for' duration, so the caller knows how much history warms it up.
  int64_t lookback_ns() const;
  // Canonical text (normalised spacing and parentheses); Parse(ToString()) is equivalent and
  // has the same ToString. It may be longer than text() (spaces are added): keep text() as the
  // rule's source.
  std::string ToString() const;

  struct Node;  // internal
  Expression(std::shared_ptr<const Node> root, std::string text, std::vector<SignalRef> signals, int64_t lookback);

 private:
  friend class ConditionState;  // evaluates root_

  std::shared_ptr<const Node> root_;
  std::string text_;
  std::vector<SignalRef> signals_;
  int64_t lookback_ns_ = 0;
  std::shared_ptr<const internal::StateLayout> layout_;  // shared by every ConditionState
};

using Value = std::variant<std::monostate, double, bool, std::string>;  // monostate = no value

// The evaluation state of one expression for one twin: the latest value of each signal, the
// windows the window functions need (bounded by their duration), and the 'for' timers.
// Copies share one state (impl_ is shared); make one ConditionState per (expression, twin).
class ConditionState {
 public:
  explicit ConditionState(const Expression& expression);
  // A new value of signals()[index] (index < signals().size(), else a CHECK failure) at
  // `time_ns`. Older than the newest seen: ignored. A NaN or infinite number counts as no
  // value. Numbers also enter the windows of that signal; strings and booleans do not.
  void Observe(std::size_t index, int64_t time_ns, const Value& value);
  // Evaluates at `now_ns` (reading time; normally the newest observed time): true, false, or
  // false when a signal it needs has no value. Advances 'for' timers, so call it after each
  // batch of observations, in time order (an earlier `now_ns` than the last is taken as the
  // last). A window W covers the samples with time in (now − W, now].
  bool Evaluate(int64_t now_ns);
  // The values that made the last evaluation ("vibrationRms" → 7.4, "avg(vibrationRms, 10m)" →
  // 5.1): evidence for alerts and work orders. Each signal and each window function once, in
  // the order the text names them, named as ToString() writes them; monostate = no value.
  std::vector<std::pair<std::string, Value>> Evidence() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace doppel::rules
