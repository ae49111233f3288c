// Evaluating rule conditions over observed readings: operators, run-time types, missing data,
// window functions over hand-computed samples, 'for' timers, evidence, and the ToString round
// trip evaluated on a random reading sequence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "rules/expression.h"

namespace doppel::rules {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;
constexpr int64_t kMinuteNs = 60 * kSecondNs;

Expression MustParse(std::string_view text) {
  auto parsed = Expression::Parse(text);
  if (!parsed.ok()) {
    ADD_FAILURE() << text << ": " << parsed.status().message();
    return Expression::Parse("false").value();
  }
  return *parsed;
}

// One expression and its state, with readings addressed by the signal's text ("x", "c.y").
class Condition {
 public:
  explicit Condition(std::string_view text) : expression_(MustParse(text)), state_(expression_) {}

  Condition& Set(std::string_view name, int64_t time_ns, const Value& value) {
    state_.Observe(IndexOf(name), time_ns, value);
    return *this;
  }
  bool At(int64_t now_ns) { return state_.Evaluate(now_ns); }
  // Sets the signals at time 0 and evaluates there.
  bool With(std::initializer_list<std::pair<std::string_view, Value>> values) {
    for (const auto& [name, value] : values) Set(name, 0, value);
    return At(0);
  }
  Value Evidence(std::string_view name) const {
    for (const auto& [n, v] : state_.Evidence()) {
      if (n == name) return v;
    }
    ADD_FAILURE() << "no evidence named " << name;
    return {};
  }
  // The number a window function (or signal) showed at the last evaluation; NaN if none.
  double Number(std::string_view name) const {
    Value v = Evidence(name);
    return std::holds_alternative<double>(v) ? std::get<double>(v) : std::nan("");
  }
  ConditionState& state() { return state_; }

 private:
  std::size_t IndexOf(std::string_view name) const {
    for (std::size_t i = 0; i < expression_.signals().size(); ++i) {
      const SignalRef& signal = expression_.signals()[i];
      std::string path = signal.path;
      if (auto slash = path.find('/'); slash != std::string::npos) path[slash] = '.';
      if (!signal.relationship.empty()) path = signal.relationship + ">" + path;
      if (path == name) return i;
    }
    ADD_FAILURE() << "no signal " << name;
    return 0;
  }

  Expression expression_;
  ConditionState state_;
};

bool Eval(std::string_view text, std::initializer_list<std::pair<std::string_view, Value>> values = {}) {
  return Condition(text).With(values);
}

TEST(ConditionEvaluate, ComparisonOperatorsOnNumbers) {
  EXPECT_TRUE(Eval("x < 2", {{"x", 1.0}}));
  EXPECT_FALSE(Eval("x < 2", {{"x", 2.0}}));
  EXPECT_TRUE(Eval("x <= 2", {{"x", 2.0}}));
  EXPECT_FALSE(Eval("x <= 2", {{"x", 2.5}}));
  EXPECT_TRUE(Eval("x > 2", {{"x", 2.5}}));
  EXPECT_FALSE(Eval("x > 2", {{"x", 2.0}}));
  EXPECT_TRUE(Eval("x >= 2", {{"x", 2.0}}));
  EXPECT_FALSE(Eval("x >= 2", {{"x", 1.9}}));
  EXPECT_TRUE(Eval("x == 2", {{"x", 2.0}}));
  EXPECT_FALSE(Eval("x == 2", {{"x", 2.1}}));
  EXPECT_TRUE(Eval("x != 2", {{"x", 2.1}}));
  EXPECT_FALSE(Eval("x != 2", {{"x", 2.0}}));
  EXPECT_TRUE(Eval("x > y", {{"x", 3.0}, {"y", 2.0}}));
}

TEST(ConditionEvaluate, ArithmeticAndItsPrecedence) {
  EXPECT_TRUE(Eval("2 + 3 * 4 == 14"));
  EXPECT_TRUE(Eval("(2 + 3) * 4 == 20"));
  EXPECT_TRUE(Eval("a - b - c == -1", {{"a", 10.0}, {"b", 5.0}, {"c", 6.0}}));  // (10 − 5) − 6
  EXPECT_TRUE(Eval("a / b / c == 1", {{"a", 8.0}, {"b", 4.0}, {"c", 2.0}}));    // (8 / 4) / 2
  EXPECT_TRUE(Eval("-2 * 3 == -6"));
  EXPECT_TRUE(Eval("--x == 4", {{"x", 4.0}}));
  EXPECT_TRUE(Eval("abs(x - 20) == 5", {{"x", 15.0}}));
  EXPECT_TRUE(Eval("x / 4 == 2.5", {{"x", 10.0}}));
  // Division by zero has no value: the comparison is unknown, so false either way round.
  EXPECT_FALSE(Eval("x / 0 > 1", {{"x", 1.0}}));
  EXPECT_FALSE(Eval("not (x / 0 > 1)", {{"x", 1.0}}));
}

TEST(ConditionEvaluate, LogicAndItsPrecedence) {
  // 'and' binds tighter than 'or': true or (false and false).
  EXPECT_TRUE(Eval("a or b and c", {{"a", true}, {"b", false}, {"c", false}}));
  EXPECT_FALSE(Eval("(a or b) and c", {{"a", true}, {"b", false}, {"c", false}}));
  // 'not' binds tighter than 'and', looser than comparisons.
  EXPECT_TRUE(Eval("not a and b", {{"a", false}, {"b", true}}));
  EXPECT_FALSE(Eval("not (a and b)", {{"a", true}, {"b", true}}));
  EXPECT_TRUE(Eval("not x == 1", {{"x", 2.0}}));
  EXPECT_TRUE(Eval("not not a", {{"a", true}}));
  for (bool a : {false, true}) {
    for (bool b : {false, true}) {
      EXPECT_EQ(Eval("a and b", {{"a", a}, {"b", b}}), a && b);
      EXPECT_EQ(Eval("a or b", {{"a", a}, {"b", b}}), a || b);
    }
    EXPECT_EQ(Eval("not a", {{"a", a}}), !a);
  }
  EXPECT_TRUE(Eval("true"));
  EXPECT_FALSE(Eval("false or 1 > 2"));
}

TEST(ConditionEvaluate, StringsCompareForEquality) {
  EXPECT_TRUE(Eval("state == \"fault\"", {{"state", std::string("fault")}}));
  EXPECT_FALSE(Eval("state == \"fault\"", {{"state", std::string("ok")}}));
  EXPECT_TRUE(Eval("state != \"fault\"", {{"state", std::string("ok")}}));
  EXPECT_TRUE(Eval("state == \"fault\" and not (code == \"\")",
                   {{"state", std::string("fault")}, {"code", std::string("E42")}}));
  EXPECT_FALSE(Eval("state == \"fault\" and not (code == \"\")",
                    {{"state", std::string("fault")}, {"code", std::string("")}}));
  EXPECT_TRUE(Eval("x == y", {{"x", std::string("é")}, {"y", std::string("é")}}));
  EXPECT_TRUE(Eval("x == \"a\\\"b\"", {{"x", std::string("a\"b")}}));
}

TEST(ConditionEvaluate, AValueOfTheWrongTypeMakesTheComparisonFalse) {
  EXPECT_FALSE(Eval("state == \"fault\"", {{"state", 3.0}}));
  EXPECT_FALSE(Eval("state != \"fault\"", {{"state", 3.0}}));
  EXPECT_TRUE(Eval("not (state == \"fault\")", {{"state", 3.0}}));
  EXPECT_FALSE(Eval("x > 1", {{"x", std::string("5")}}));
  EXPECT_FALSE(Eval("x < y", {{"x", std::string("a")}, {"y", std::string("b")}}));
  EXPECT_FALSE(Eval("x == 1", {{"x", true}}));
  EXPECT_TRUE(Eval("x == true", {{"x", true}}));
  // Arithmetic on a non-number has no value.
  EXPECT_FALSE(Eval("x + 1 > 0", {{"x", std::string("1")}}));
  // A bare signal is a condition only when it holds a boolean; anything else is no value.
  EXPECT_TRUE(Eval("running", {{"running", true}}));
  EXPECT_FALSE(Eval("running", {{"running", 1.0}}));
  EXPECT_FALSE(Eval("not running", {{"running", 1.0}}));
}

TEST(ConditionEvaluate, MissingSignalsMakeConditionsFalse) {
  EXPECT_FALSE(Eval("x > 1"));
  EXPECT_FALSE(Eval("not (x > 1)"));
  EXPECT_FALSE(Eval("x > 1 and y > 1", {{"y", 5.0}}));
  EXPECT_TRUE(Eval("x > 1 or y > 1", {{"y", 5.0}}));   // true whatever x is
  EXPECT_FALSE(Eval("x > 1 and y > 1", {{"y", 0.0}}));  // false whatever x is
  EXPECT_FALSE(Eval("running"));
  // NaN and infinity count as no value.
  EXPECT_FALSE(Eval("not (x > 1)", {{"x", std::nan("")}}));
  EXPECT_FALSE(Eval("x > 1", {{"x", INFINITY}}));
  // An explicit "no value" clears the signal.
  Condition c("x > 1");
  c.Set("x", 0, 5.0);
  EXPECT_TRUE(c.At(0));
  c.Set("x", 1, Value());
  EXPECT_FALSE(c.At(1));
}

TEST(ConditionEvaluate, ReadingsOlderThanTheNewestAreIgnored) {
  Condition c("x > 1");
  c.Set("x", 10 * kSecondNs, 5.0).Set("x", 5 * kSecondNs, 0.0);
  EXPECT_TRUE(c.At(10 * kSecondNs));
  c.Set("x", 10 * kSecondNs, 0.0);  // the same time replaces
  EXPECT_FALSE(c.At(10 * kSecondNs));
}

// x at minutes 0..4: 1, 2, 3, 4, 10.
void FeedRamp(Condition& c) {
  const double values[] = {1, 2, 3, 4, 10};
  for (int i = 0; i < 5; ++i) c.Set("x", i * kMinuteNs, values[i]);
}

TEST(ConditionWindows, EachFunctionOverKnownSamples) {
  Condition c("avg(x, 10m) > 0 or min(x, 10m) > 0 or max(x, 10m) > 0 or count(x, 10m) > 0 or "
              "delta(x, 10m) > 0 or rate(x, 10m) > 0");
  FeedRamp(c);
  EXPECT_TRUE(c.At(4 * kMinuteNs));
  EXPECT_DOUBLE_EQ(c.Number("avg(x, 10m)"), 4.0);  // 20 / 5
  EXPECT_DOUBLE_EQ(c.Number("min(x, 10m)"), 1.0);
  EXPECT_DOUBLE_EQ(c.Number("max(x, 10m)"), 10.0);
  EXPECT_DOUBLE_EQ(c.Number("count(x, 10m)"), 5.0);
  EXPECT_DOUBLE_EQ(c.Number("delta(x, 10m)"), 9.0);  // 10 − 1
  // Slope: t̄ = 2, v̄ = 4, Σ(t−t̄)(v−v̄) = 6 + 2 + 0 + 0 + 12 = 20, Σ(t−t̄)² = 10 → 2 per minute.
  EXPECT_NEAR(c.Number("rate(x, 10m)"), 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(c.Number("x"), 10.0);
}

TEST(ConditionWindows, OldSamplesLeaveTheWindow) {
  Condition c("avg(x, 3m) > 5 and min(x, 3m) >= 0 and max(x, 3m) >= 0 and count(x, 3m) >= 0 and "
              "delta(x, 3m) >= 0 and rate(x, 3m) >= 0");
  FeedRamp(c);
  // At 4m the window (1m, 4m] holds minutes 2, 3, 4: 3, 4, 10 (minute 1, on the edge, is out).
  EXPECT_TRUE(c.At(4 * kMinuteNs));
  EXPECT_DOUBLE_EQ(c.Number("avg(x, 3m)"), 17.0 / 3);
  EXPECT_DOUBLE_EQ(c.Number("min(x, 3m)"), 3.0);
  EXPECT_DOUBLE_EQ(c.Number("max(x, 3m)"), 10.0);
  EXPECT_DOUBLE_EQ(c.Number("count(x, 3m)"), 3.0);
  EXPECT_DOUBLE_EQ(c.Number("delta(x, 3m)"), 7.0);
  // t̄ = 3, Σ(t−t̄)(v−v̄) = (−1)(3 − 17/3) + (1)(10 − 17/3) = 7, Σ(t−t̄)² = 2 → 3.5 per minute.
  EXPECT_NEAR(c.Number("rate(x, 3m)"), 3.5, 1e-12);

  // At 6m only minute 4 is left. delta and rate need two samples: they have no value, so
  // their comparisons are unknown and the whole 'and' is not true.
  EXPECT_FALSE(c.At(6 * kMinuteNs));
  EXPECT_DOUBLE_EQ(c.Number("avg(x, 3m)"), 10.0);
  EXPECT_DOUBLE_EQ(c.Number("count(x, 3m)"), 1.0);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.Evidence("delta(x, 3m)")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.Evidence("rate(x, 3m)")));

  // At 8m the window is empty: count is 0, the others have no value.
  EXPECT_FALSE(c.At(8 * kMinuteNs));
  EXPECT_DOUBLE_EQ(c.Number("count(x, 3m)"), 0.0);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.Evidence("avg(x, 3m)")));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.Evidence("min(x, 3m)")));
  EXPECT_TRUE(Condition("count(x, 3m) == 0").At(0));  // a silent signal counts 0
}

TEST(ConditionWindows, MinAndMaxFollowEvictionsInOrder) {
  Condition c("min(x, 2m) > 0 or max(x, 2m) > 0");
  const double values[] = {5, 1, 3, 2, 4};
  const double want_min[] = {5, 1, 1, 2, 2};  // window (t − 2m, t]
  const double want_max[] = {5, 5, 3, 3, 4};
  for (int i = 0; i < 5; ++i) {
    c.Set("x", i * kMinuteNs, values[i]);
    c.At(i * kMinuteNs);
    EXPECT_DOUBLE_EQ(c.Number("min(x, 2m)"), want_min[i]) << i;
    EXPECT_DOUBLE_EQ(c.Number("max(x, 2m)"), want_max[i]) << i;
  }
}

TEST(ConditionWindows, RateIsPerMinuteAndNeedsTwoTimes) {
  Condition c("rate(x, 1h) > 1");
  c.Set("x", 0, 0.0);
  EXPECT_FALSE(c.At(0));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(c.Evidence("rate(x, 1h)")));
  c.Set("x", 30 * kSecondNs, 1.0);  // +1 in half a minute
  EXPECT_TRUE(c.At(30 * kSecondNs));
  EXPECT_NEAR(c.Number("rate(x, 1h)"), 2.0, 1e-12);

  Condition same_time("rate(x, 1h) > 1");
  same_time.Set("x", kMinuteNs, 0.0).Set("x", kMinuteNs, 5.0);
  EXPECT_FALSE(same_time.At(kMinuteNs));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(same_time.Evidence("rate(x, 1h)")));
}

TEST(ConditionWindows, OnlyNumbersAreSamples) {
  Condition c("count(x, 1h) == 2 and avg(x, 1h) == 3");
  c.Set("x", 0, 2.0).Set("x", 1, std::string("x")).Set("x", 2, true).Set("x", 3, std::nan("")).Set("x", 4, 4.0);
  EXPECT_TRUE(c.At(4));
}

TEST(ConditionWindows, SharedWindowsAndSeparateSignals) {
  Condition c("avg(x, 1m) > avg(y, 1m) and max(x, 1m) == 3 and avg(x, 2m) == 2");
  c.Set("x", 0, 1.0).Set("y", 0, 0.0);
  c.Set("x", 60 * kSecondNs, 2.0);
  c.Set("x", 90 * kSecondNs, 3.0).Set("y", 90 * kSecondNs, 1.0);
  // At 90 s: x's 1m window (30 s, 90 s] holds 2, 3; its 2m window holds 1, 2, 3; y's holds 1.
  EXPECT_TRUE(c.At(90 * kSecondNs));
  EXPECT_DOUBLE_EQ(c.Number("avg(x, 1m)"), 2.5);
  EXPECT_DOUBLE_EQ(c.Number("avg(y, 1m)"), 1.0);
}

TEST(ConditionWindows, CapsSamplesPerWindowDroppingTheOldest) {
  Condition c("count(x, 1d) > 0");
  for (std::size_t i = 0; i <= kMaxWindowSamples; ++i) {
    c.Set("x", static_cast<int64_t>(i) * 1'000'000, static_cast<double>(i));
  }
  EXPECT_TRUE(c.At(static_cast<int64_t>(kMaxWindowSamples) * 1'000'000));
  EXPECT_DOUBLE_EQ(c.Number("count(x, 1d)"), static_cast<double>(kMaxWindowSamples));
  Condition m("min(x, 1d) > 0");
  for (std::size_t i = 0; i <= kMaxWindowSamples + 5; ++i) {
    m.Set("x", static_cast<int64_t>(i), static_cast<double>(i));
  }
  EXPECT_TRUE(m.At(static_cast<int64_t>(kMaxWindowSamples + 5)));
  EXPECT_DOUBLE_EQ(m.Number("min(x, 1d)"), 6.0);  // samples 0..5 were dropped
}

TEST(ConditionFor, HoldsOnlyAfterTheDurationAndRestartsOnABreak) {
  Condition c("x > 90 for 5m");
  // 95 at minutes 0–2, 80 at minute 3 (the break), 95 from minute 4 on.
  std::vector<bool> results;
  for (int minute = 0; minute <= 10; ++minute) {
    c.Set("x", minute * kMinuteNs, minute == 3 ? 80.0 : 95.0);
    results.push_back(c.At(minute * kMinuteNs));
  }
  // True since minute 4; 5 minutes later is minute 9.
  std::vector<bool> want = {false, false, false, false, false, false, false, false, false, true, true};
  EXPECT_EQ(results, want);
}

TEST(ConditionFor, HoldsExactlyAtTheDurationWithoutABreak) {
  Condition c("x > 90 for 5m");
  c.Set("x", 0, 95.0);
  EXPECT_FALSE(c.At(0));
  EXPECT_FALSE(c.At(5 * kMinuteNs - 1));
  EXPECT_TRUE(c.At(5 * kMinuteNs));  // no new reading needed: the latest value still holds
  c.Set("x", 6 * kMinuteNs, Value());  // unknown restarts the timer too
  EXPECT_FALSE(c.At(6 * kMinuteNs));
  c.Set("x", 7 * kMinuteNs, 95.0);
  EXPECT_FALSE(c.At(7 * kMinuteNs));
  EXPECT_FALSE(c.At(11 * kMinuteNs));
  EXPECT_TRUE(c.At(12 * kMinuteNs));
}

TEST(ConditionFor, TheTimerStartsAtTheFirstEvaluationThatSawItTrue) {
  // Evaluate after each batch of readings: a condition first evaluated late starts late.
  Condition c("x > 90 for 5m");
  c.Set("x", 0, 95.0);
  EXPECT_FALSE(c.At(3 * kMinuteNs));
  EXPECT_FALSE(c.At(7 * kMinuteNs));
  EXPECT_TRUE(c.At(8 * kMinuteNs));
}

TEST(ConditionFor, TimersRunInsideAndEvenWhenTheOtherSideIsFalse) {
  Condition c("enabled and x > 90 for 2m");
  c.Set("enabled", 0, false).Set("x", 0, 95.0);
  EXPECT_FALSE(c.At(0));
  EXPECT_FALSE(c.At(2 * kMinuteNs));
  c.Set("enabled", 3 * kMinuteNs, true);
  EXPECT_TRUE(c.At(3 * kMinuteNs));  // x has held since minute 0
}

TEST(ConditionFor, WithAWindowFunction) {
  Condition c("avg(x, 2m) > 10 for 1m");
  c.Set("x", 0, 20.0);
  EXPECT_FALSE(c.At(0));
  c.Set("x", kMinuteNs, 0.0);  // avg 10: not above
  EXPECT_FALSE(c.At(kMinuteNs));
  c.Set("x", 2 * kMinuteNs, 30.0);  // window (0, 2m]: 0, 30 → 15
  EXPECT_FALSE(c.At(2 * kMinuteNs));
  c.Set("x", 3 * kMinuteNs, 30.0);  // (1m, 3m]: 30, 30
  EXPECT_TRUE(c.At(3 * kMinuteNs));
}

TEST(ConditionEvidence, NamesEachSignalAndWindowOnceInTextOrder) {
  Condition c("avg(vibrationRms, 10m) > 4.5 and bearingTemperature > 80 and vibrationRms > 1 and "
              "hasMainBearing>temp > 1 and nacelle.t > 0");
  c.Set("vibrationRms", 0, 4.0).Set("vibrationRms", kMinuteNs, 6.0).Set("bearingTemperature", kMinuteNs, 85.0);
  c.Set("hasMainBearing>temp", kMinuteNs, 2.0);
  c.Set("nacelle.t", kMinuteNs, std::string("n/a"));
  EXPECT_FALSE(c.At(kMinuteNs));  // nacelle.t > 0 on a string is false
  auto evidence = c.state().Evidence();
  ASSERT_EQ(evidence.size(), 5u);
  EXPECT_EQ(evidence[0], (std::pair<std::string, Value>{"vibrationRms", 6.0}));
  EXPECT_EQ(evidence[1], (std::pair<std::string, Value>{"avg(vibrationRms, 10m)", 5.0}));
  EXPECT_EQ(evidence[2], (std::pair<std::string, Value>{"bearingTemperature", 85.0}));
  EXPECT_EQ(evidence[3], (std::pair<std::string, Value>{"hasMainBearing>temp", 2.0}));
  EXPECT_EQ(evidence[4], (std::pair<std::string, Value>{"nacelle.t", std::string("n/a")}));
  // Evidence is what the last evaluation saw, not readings since.
  c.Set("bearingTemperature", 2 * kMinuteNs, 70.0);
  EXPECT_EQ(c.state().Evidence()[2].second, Value(85.0));
}

// A random reading sequence over the signals of `e`, evaluated after each reading.
std::vector<bool> RunRandom(const Expression& e, uint32_t seed) {
  std::mt19937 rng(seed);
  ConditionState state(e);
  std::vector<bool> results;
  int64_t now = 0;
  for (int step = 0; step < 400; ++step) {
    now += static_cast<int64_t>(rng() % 40) * kSecondNs;
    int kind = static_cast<int>(rng() % 10);
    Value value = kind == 0   ? Value()
                  : kind == 1 ? Value(rng() % 2 == 0)
                  : kind == 2 ? Value(std::string(rng() % 2 == 0 ? "fault" : "ok"))
                              : Value(static_cast<double>(rng() % 200) / 2);
    if (!e.signals().empty()) state.Observe(rng() % e.signals().size(), now, value);
    results.push_back(state.Evaluate(now));
  }
  return results;
}

TEST(ExpressionToString, RoundTripParsesToTheSameTextAndEvaluatesTheSame) {
  const char* texts[] = {
      "avg(x, 10m) > 45 and y > 80 for 5m",
      "rate(x, 15m) > 0.5 or delta(y, 2m) < -10 or count(x, 1m) >= 3",
      "not (s == \"fault\") and (x - y) / 2 > 5 or min(x, 30s) == max(x, 30s)",
      "abs(x - y) * -1 < -20 and not not (b or s != \"ok\")",
      "(x > 50 for 2m) == (y > 50 for 3m)",
      "x - (y - 3) > 2 * (x + y) / 4 or -x >= 10",
      "hasPart>x + part.y > 60",
  };
  int evaluated_true = 0;
  for (const char* text : texts) {
    SCOPED_TRACE(text);
    auto first = Expression::Parse(text);
    ASSERT_TRUE(first.ok()) << first.status().message();
    std::string canonical = first->ToString();
    auto second = Expression::Parse(canonical);
    ASSERT_TRUE(second.ok()) << canonical << ": " << second.status().message();
    EXPECT_EQ(second->ToString(), canonical);
    EXPECT_EQ(std::vector<SignalRef>(second->signals().begin(), second->signals().end()),
              std::vector<SignalRef>(first->signals().begin(), first->signals().end()));
    for (uint32_t seed : {1u, 2u, 3u}) {
      std::vector<bool> a = RunRandom(*first, seed);
      EXPECT_EQ(a, RunRandom(*second, seed)) << canonical;
      evaluated_true += static_cast<int>(std::count(a.begin(), a.end(), true));
    }
  }
  EXPECT_GT(evaluated_true, 0);  // the sequences exercise true results, not only false ones
}

}  // namespace
}  // namespace doppel::rules
