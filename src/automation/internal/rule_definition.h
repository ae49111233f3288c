// A rule as PUT /rules/{name} gives it (automation_service.h shows the JSON): parsed, checked
// member by member against the models and the services the server runs, and turned into the
// RuleSpec the engine evaluates plus the actions the service runs. Internal to src/automation.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert_service.h"
#include "automation/rule_engine.h"
#include "automation/safety_envelope.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "maintenance/work_order_service.h"
#include "model/model_registry.h"

namespace doppel::automation::internal {

enum class ActionType : uint8_t { kAlert, kWorkOrder, kWebhook, kSetProperty, kCommand };
std::string_view ActionTypeName(ActionType type);  // "alert", "workOrder", "webhook", "setProperty", "command"
// setProperty and command reach a device: they pass the envelope and may need approval.
inline bool IsDeviceAction(ActionType type) { return type == ActionType::kSetProperty || type == ActionType::kCommand; }

struct ActionDef {
  ActionType type = ActionType::kAlert;
  std::string title = {};    // alert, workOrder (a template)
  std::string message = {};  // alert's message, workOrder's reason (a template)
  alerts::Severity severity = alerts::Severity::kWarning;
  bool clear_with_rule = true;  // alert: cleared when the rule clears
  maintenance::Priority priority = maintenance::Priority::kMedium;
  std::string asset = {};  // workOrder: "" = the rule's twin, else a relationship of it
  std::string rul = {};    // workOrder: "rel>name" or "name"; "" = no due date
  std::string url = {};    // webhook
  std::string secret = {};
  bool on_clear = false;        // webhook: also "rule.cleared"
  std::string target = {};      // setProperty: "name" | "comp/name"; command: the same
  json::value value = nullptr;  // setProperty's value, command's payload (null = none)
};

struct RuleDefinition {
  std::string name;
  json::object body = {};  // as given, secrets included (persisted; GET strips them)
  RuleSpec spec = {};
  AutomationMode mode = AutomationMode::kAuto;
  std::chrono::milliseconds recommendation_ttl{0};  // 0 = the service's default
  std::vector<ActionDef> actions = {};
  int64_t lookback_ns = 0;  // the condition's longest window (for the history link)

  bool has_device_actions() const;
};

// Which optional services the server runs: actions needing a missing one are refused.
struct AvailableServices {
  bool alerts = false;
  bool work_orders = false;
  bool webhooks = false;
  bool commands = false;
};

// [A-Za-z0-9_.-]{1,64}: a rule's name goes into de-duplication keys ("<rule>/<twin>").
Status CheckRuleName(std::string_view name);

// Every member checked; InvalidArgument naming it ("cooldown: ...", "actions[1].property:
// rotorSpeedLimit is not a writable property of dtmi:..."). Actions against the scope's model
// when it names one (a scope without a model is checked when the action runs). The condition
// itself is the engine's to check (RuleEngine::Check).
Result<RuleDefinition> ParseRuleDefinition(std::string_view name, const json::value& body,
                                           const model::ModelRegistry& models, const AvailableServices& services);

// The definition as GET shows it: the body with every "secret" replaced by "secretSet": true.
json::object RuleDefinitionJson(const RuleDefinition& rule);

// "1h", "30m", "10s", "250ms", "1.5d" → nanoseconds (≥ 0). InvalidArgument naming `member`.
Result<int64_t> ParseDurationText(std::string_view text, std::string_view member);

struct TemplateValues {
  std::string_view twin_id;
  std::string_view rule;
  TimePoint time{};
};
// {twinId}, {rule} and {time} replaced; the text was checked by ParseRuleDefinition.
std::string ExpandTemplate(std::string_view text, const TemplateValues& values);

}  // namespace doppel::automation::internal
