// Rule definitions without a server: durations, templates, what GET shows, and the members
// that make a definition (the errors naming members are in automation_service_test.cc).
#include "automation/internal/rule_definition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "automation/internal/ramp_schedule.h"

namespace doppel::automation::internal {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr AvailableServices kAll{.alerts = true, .work_orders = true, .webhooks = true, .commands = true};

Result<RuleDefinition> Parse(std::string_view body, const AvailableServices& services = kAll) {
  static const model::ModelRegistry kNoModels;
  return ParseRuleDefinition("r", ParseJson(body).value(), kNoModels, services);
}

TEST(RuleDurationTest, ReadsEachUnit) {
  EXPECT_EQ(ParseDurationText("250ms", "x").value(), 250'000'000);
  EXPECT_EQ(ParseDurationText("10s", "x").value(), 10'000'000'000);
  EXPECT_EQ(ParseDurationText("30m", "x").value(), int64_t{1'800} * 1'000'000'000);
  EXPECT_EQ(ParseDurationText("1h", "x").value(), int64_t{3'600} * 1'000'000'000);
  EXPECT_EQ(ParseDurationText("1.5h", "x").value(), int64_t{5'400} * 1'000'000'000);
  EXPECT_EQ(ParseDurationText("2d", "x").value(), int64_t{172'800} * 1'000'000'000);
}

TEST(RuleDurationTest, RefusesWhatIsNotOneNamingTheMember) {
  for (std::string_view bad : {"", "10", "h", "10 m", "-5m", "1.2.3s", "5y", "400d"}) {
    Result<int64_t> d = ParseDurationText(bad, "cooldown");
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_THAT(d.status().message(), HasSubstr("cooldown: ")) << bad;
  }
}

TEST(RuleTemplateTest, ExpandsTheThreePlaceholders) {
  const TemplateValues values{.twin_id = "kr-wtg-03", .rule = "bearing", .time = TimePoint(1'700'000'000s)};
  EXPECT_EQ(ExpandTemplate("{rule}: wear on {twinId} at {time}", values),
            "bearing: wear on kr-wtg-03 at 2023-11-14T22:13:20.0000000Z");
  EXPECT_EQ(ExpandTemplate("no placeholders", values), "no placeholders");
  EXPECT_EQ(ExpandTemplate("{twinId}{twinId}", values), "kr-wtg-03kr-wtg-03");
}

TEST(RuleDefinitionTest, ReadsEveryMember) {
  auto rule = Parse(R"({"description": "d", "enabled": false,
      "scope": {"twins": ["a", "b"], "under": "farm", "relationships": ["hasTurbine"]},
      "condition": "avg(x, 10m) > 4", "clearCondition": "x < 2", "cooldown": "1h",
      "mode": "recommend", "recommendationTtl": "30m",
      "actions": [
        {"type": "alert", "severity": "critical", "title": "t {twinId}", "message": "m", "clearWithRule": false},
        {"type": "workOrder", "title": "w", "reason": "r", "priority": "urgent", "asset": "hasBearing",
         "rul": "hasBearing>rul"},
        {"type": "webhook", "url": "https://h.example/x", "secret": "s", "onClear": true},
        {"type": "setProperty", "property": "nacelle/yawTarget", "value": 3},
        {"type": "command", "command": "stop", "payload": {"reason": "x"}}]})");
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  EXPECT_FALSE(rule->spec.enabled);
  EXPECT_EQ(rule->spec.scope.twins, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(rule->spec.scope.under, "farm");
  EXPECT_EQ(rule->spec.scope.relationships, std::vector<std::string>{"hasTurbine"});
  EXPECT_EQ(rule->spec.clear_condition, "x < 2");
  EXPECT_EQ(rule->spec.cooldown_ns, int64_t{3'600} * 1'000'000'000);
  EXPECT_EQ(rule->lookback_ns, int64_t{600} * 1'000'000'000);
  EXPECT_EQ(rule->mode, AutomationMode::kRecommend);
  EXPECT_EQ(rule->recommendation_ttl, 30min);
  ASSERT_EQ(rule->actions.size(), 5u);
  EXPECT_EQ(rule->actions[0].severity, alerts::Severity::kCritical);
  EXPECT_FALSE(rule->actions[0].clear_with_rule);
  EXPECT_EQ(rule->actions[1].priority, maintenance::Priority::kUrgent);
  EXPECT_EQ(rule->actions[1].asset, "hasBearing");
  EXPECT_EQ(rule->actions[1].rul, "hasBearing>rul");
  EXPECT_TRUE(rule->actions[2].on_clear);
  EXPECT_EQ(rule->actions[3].target, "nacelle/yawTarget");
  EXPECT_EQ(rule->actions[4].value, json::value(json::object{{"reason", "x"}}));
  EXPECT_TRUE(rule->has_device_actions());
}

TEST(RuleDefinitionTest, DefaultsAreAutoEnabledAndNoCooldown) {
  auto rule = Parse(R"({"condition": "x > 1", "actions": [{"type": "alert", "title": "t"}]})");
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  EXPECT_TRUE(rule->spec.enabled);
  EXPECT_EQ(rule->mode, AutomationMode::kAuto);
  EXPECT_EQ(rule->spec.cooldown_ns, 0);
  EXPECT_EQ(rule->recommendation_ttl.count(), 0);
  EXPECT_EQ(rule->actions[0].severity, alerts::Severity::kWarning);
  EXPECT_TRUE(rule->actions[0].clear_with_rule);
  EXPECT_FALSE(rule->has_device_actions());
}

TEST(RuleDefinitionTest, ActionsWhoseServiceIsMissingAreRefused) {
  const char* body = R"({"condition": "x > 1", "actions": [{"type": "alert", "title": "t"},
      {"type": "command", "command": "stop"}]})";
  auto rule = Parse(body, {.alerts = true});
  ASSERT_FALSE(rule.ok());
  EXPECT_EQ(rule.status().message(),
            "actions[1].type: command actions need commands, which are not enabled on this server");
}

TEST(RuleDefinitionTest, GetShowsTheBodyWithoutSecrets) {
  auto rule = Parse(R"({"condition": "x > 1", "actions": [{"type": "webhook", "url": "http://h/x", "secret": "s"},
      {"type": "webhook", "url": "http://h/y"}]})");
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  EXPECT_EQ(ToJson(RuleDefinitionJson(*rule)),
            R"({"condition":"x > 1","actions":[{"type":"webhook","url":"http://h/x","secretSet":true},)"
            R"({"type":"webhook","url":"http://h/y"}]})");
  EXPECT_EQ(rule->actions[0].secret, "s");  // kept for sending
}

TEST(RuleDefinitionTest, NamesGoIntoKeysSoTheyAreRestricted) {
  EXPECT_TRUE(CheckRuleName("bearing-wear_2.v1").ok());
  const std::string too_long(65, 'a');
  for (std::string_view bad : {std::string_view(""), std::string_view("a/b"), std::string_view("a b"),
                               std::string_view("\xc3\xbc"), std::string_view(too_long)}) {
    EXPECT_EQ(CheckRuleName(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(RampTest, StepsNeverExceedTheMaximumAndLandOnTheTarget) {
  EXPECT_EQ(StepToward(12.6, 6, 2), 10.6);
  EXPECT_EQ(StepToward(7, 6, 2), 6);
  EXPECT_EQ(StepToward(6, 9, 2), 8);
  EXPECT_EQ(StepToward(9, 9, 2), 9);
}

TEST(RampTest, ADueRampIsRescheduledOneIntervalLaterAndANewerOneReplacesIt) {
  RampSchedule ramps(10s);
  const TimePoint t0(1'000s);
  ramps.Start({.twin_id = "a", .property = "p", .target = 6, .max_step = 1, .next = t0 + 10s});
  EXPECT_TRUE(ramps.TakeDue(t0 + 9s).empty());
  auto due = ramps.TakeDue(t0 + 25s);  // late: the next one is still a whole interval away
  ASSERT_EQ(due.size(), 1u);
  EXPECT_TRUE(ramps.TakeDue(t0 + 34s).empty());
  EXPECT_EQ(ramps.TakeDue(t0 + 35s).size(), 1u);
  ramps.Start({.twin_id = "a", .property = "p", .target = 9, .max_step = 1, .next = t0 + 100s});
  EXPECT_EQ(ramps.size(), 1u);
  EXPECT_TRUE(ramps.TakeDue(t0 + 99s).empty());
  ramps.Cancel("a", "p");
  EXPECT_EQ(ramps.size(), 0u);
}

}  // namespace
}  // namespace doppel::automation::internal
