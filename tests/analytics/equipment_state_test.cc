// Equipment state rules: parsing with specific errors, first-match classification, minimum
// dwell against flapping, stale signals.
#include "analytics/kpi/equipment_state.h"

#include <gtest/gtest.h>

namespace doppel::analytics {
namespace {

constexpr int64_t kS = 1'000'000'000;

json::value J(std::string_view text) { return ParseJson(text).value(); }

std::string ParseError(std::string_view text) {
  auto rules = ParseStateRules(J(text));
  return rules.ok() ? "ok" : rules.status().message();
}

constexpr std::string_view kTurbine = R"({"rules": [
    {"state": "faulted", "when": [{"signal": "vibrationRms", "above": 7.1}]},
    {"state": "running", "when": [{"signal": "activePower", "above": 50}]},
    {"state": "idle",    "when": [{"signal": "windSpeed", "below": 3.5}]},
    {"state": "stopped"}],
  "minDwell": "60s", "stale": "10m"})";

TEST(StateRulesTest, ParsesAndRoundTrips) {
  auto rules = ParseStateRules(J(kTurbine));
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  ASSERT_EQ(rules->rules.size(), 4u);
  EXPECT_EQ(rules->rules[0].state, "faulted");
  EXPECT_EQ(rules->rules[0].when[0].signal, "vibrationRms");
  EXPECT_DOUBLE_EQ(rules->rules[0].when[0].above, 7.1);
  EXPECT_TRUE(rules->rules[3].when.empty());
  EXPECT_EQ(rules->min_dwell_ns, 60 * kS);
  EXPECT_EQ(rules->stale_ns, 600 * kS);
  const json::object json = StateRulesToJson(*rules);
  EXPECT_EQ(json.at("minDwell").as_string(), "1m");
  EXPECT_EQ(json.at("stale").as_string(), "10m");
  auto again = ParseStateRules(json);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ToJson(StateRulesToJson(*again)), ToJson(json));
}

TEST(StateRulesTest, ErrorsNameTheRuleAndField) {
  EXPECT_EQ(ParseError("[]"), "state rules must be an object {\"rules\": [...], \"minDwell\", \"stale\"}");
  EXPECT_EQ(ParseError("{}"), "'rules' must be a non-empty array of {\"state\", \"when\"}");
  EXPECT_EQ(ParseError(R"({"rules": []})"), "'rules' must be a non-empty array of {\"state\", \"when\"}");
  EXPECT_EQ(ParseError(R"({"rules": [{"state": "idle"}], "dwell": "1m"})"),
            "unknown member 'dwell' (expected 'rules', 'minDwell', 'stale')");
  EXPECT_EQ(ParseError(R"({"rules": [{"state": "a", "when": [{"signal": "x", "above": 1}]}, {"state": ""}]})"),
            "rules[1]: 'state' must be a non-empty string");
  EXPECT_EQ(ParseError(R"({"rules": [{"state": "a", "when": [{"signal": "x", "above": 1}]},
                                     {"state": "b", "when": [{"signal": "y", "above": "high"}]}]})"),
            "rules[1].when[0]: 'above' must be a number");
  EXPECT_EQ(ParseError(R"({"rules": [{"state": "a", "when": [{"signal": "x"}]}]})"),
            "rules[0].when[0]: needs 'above' or 'below'");
  EXPECT_EQ(ParseError(R"({"rules": [{"state": "a", "when": [{"above": 3}]}]})"),
            "rules[0].when[0]: 'signal' must be a non-empty string");
  EXPECT_EQ(ParseError(R"({"rules": [{"state": "a", "when": [{"signal": "x", "above": 5, "below": 3}]}]})"),
            "rules[0].when[0]: 'above' (5) must be less than 'below' (3): the condition could never hold");
  EXPECT_EQ(ParseError(R"({"rules": [{"state": "a", "when": {"signal": "x"}}]})"),
            "rules[0]: 'when' must be an array of conditions");
  EXPECT_EQ(ParseError(R"({"rules": [{"state": "stopped"}, {"state": "running", "when": [{"signal": "p", "above": 1}]}]})"),
            "rules[1]: unreachable: rules[0] has no conditions and always matches (put the default last)");
  EXPECT_EQ(ParseError(R"({"rules": [{"state": "idle"}], "minDwell": "soon"})"),
            "'minDwell' must be a positive duration such as \"30s\", \"10m\" or \"1h\", got \"soon\"");
  EXPECT_EQ(ParseError(R"({"rules": [{"state": "idle"}], "stale": 600})"),
            "'stale' must be a duration string such as \"60s\" or \"10m\"");
}

StateRules Rules(std::string_view text) { return ParseStateRules(J(text)).value(); }

TEST(StateClassifierTest, FirstMatchWins) {
  StateClassifier c(Rules(R"({"rules": [
      {"state": "faulted", "when": [{"signal": "vibrationRms", "above": 7.1}]},
      {"state": "running", "when": [{"signal": "activePower", "above": 50}]},
      {"state": "stopped"}]})"));
  EXPECT_EQ(c.Update(0, "activePower", 800), "running");
  // Vibrating and producing: the fault rule comes first.
  EXPECT_EQ(c.Update(1 * kS, "vibrationRms", 9.0), "faulted");
  EXPECT_EQ(c.since_ns(), 1 * kS);
  EXPECT_EQ(c.Update(2 * kS, "vibrationRms", 2.0), "running");
  EXPECT_EQ(c.Update(3 * kS, "activePower", 10), "stopped");  // the default
}

TEST(StateClassifierTest, ConditionsAreConjunctionsWithStrictBounds) {
  StateClassifier c(Rules(R"({"rules": [
      {"state": "idle", "when": [{"signal": "windSpeed", "below": 3.5}, {"signal": "activePower", "below": 50}]}]})"));
  EXPECT_EQ(c.Update(0, "windSpeed", 2.0), "");  // activePower absent: the rule cannot hold
  EXPECT_EQ(c.Update(1, "activePower", 10), "idle");
  EXPECT_EQ(c.Update(2, "windSpeed", 3.5), "");  // 3.5 is not below 3.5: no rule, unknown
}

TEST(StateClassifierTest, MinimumDwellSuppressesFlapping) {
  StateClassifier c(Rules(R"({"rules": [
      {"state": "running", "when": [{"signal": "activePower", "above": 50}]},
      {"state": "idle"}], "minDwell": "60s"})"));
  EXPECT_EQ(c.Update(0, "activePower", 100), "");  // running must hold 60 s first
  EXPECT_EQ(c.Update(30 * kS, "activePower", 120), "");
  EXPECT_EQ(c.Update(60 * kS, "activePower", 110), "running");
  EXPECT_EQ(c.since_ns(), 0);  // dated from when the rule first matched
  // A 40 s dip is a blip, not a state.
  EXPECT_EQ(c.Update(100 * kS, "activePower", 20), "running");
  EXPECT_EQ(c.Update(140 * kS, "activePower", 90), "running");
  // A dip that lasts.
  EXPECT_EQ(c.Update(200 * kS, "activePower", 10), "running");
  EXPECT_EQ(c.Update(259 * kS, "activePower", 10), "running");
  EXPECT_EQ(c.Update(260 * kS, "activePower", 10), "idle");
  EXPECT_EQ(c.since_ns(), 200 * kS);
  EXPECT_EQ(c.state(), "idle");
}

TEST(StateClassifierTest, StaleSignalsCountAsAbsent) {
  StateClassifier c(Rules(R"({"rules": [
      {"state": "running", "when": [{"signal": "activePower", "above": 50}]},
      {"state": "idle", "when": [{"signal": "windSpeed", "below": 3.5}]}], "stale": "10m"})"));
  EXPECT_EQ(c.Update(0, "activePower", 900), "running");
  EXPECT_EQ(c.Update(300 * kS, "windSpeed", 8), "running");  // power 5 min old: still fresh
  // Power last seen 11 min ago: stale; wind 8 m/s matches nothing → unknown.
  EXPECT_EQ(c.Update(660 * kS, "windSpeed", 8), "");
  EXPECT_EQ(c.Update(670 * kS, "windSpeed", 2), "idle");
  // An older reading than the one held does not roll a signal back.
  EXPECT_EQ(c.Update(680 * kS, "activePower", 900), "running");
  EXPECT_EQ(c.Update(681 * kS, "activePower", 0), "idle");
  EXPECT_EQ(c.Update(100 * kS, "activePower", 900), "idle");
}

}  // namespace
}  // namespace doppel::analytics
