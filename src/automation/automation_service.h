// AutomationService (docs/automation.md): rules and what they do — the loop's last step.
//
// A rule (PUT /rules/{name}) is a condition over a scope of twins (rule_engine.h) and a list
// of actions run when it activates for a twin:
//
//   {"description": "Derate a turbine whose main bearing is wearing",
//    "enabled": true,
//    "scope": {"model": "dtmi:doppel:example:windfarm:WindTurbine;1", "under": "kestrel-ridge"},
//    "condition": "hasMainBearing>vibrationAnomalyScore > 0.9 for 10m or hasMainBearing>rul < 250",
//    "clearCondition": "hasMainBearing>vibrationAnomalyScore < 0.5 and hasMainBearing>rul > 300",
//    "cooldown": "1h",
//    "mode": "auto",                        // or "recommend": device actions wait for approval
//    "recommendationTtl": "4h",
//    "actions": [
//      {"type": "alert", "severity": "major", "title": "Main bearing wear on {twinId}"},
//      {"type": "setProperty", "property": "rotorSpeedLimit", "value": 9},
//      {"type": "command", "command": "curtail", "payload": 2000},
//      {"type": "workOrder", "title": "Inspect main bearing of {twinId}", "priority": "high",
//       "asset": "hasMainBearing",          // the twin the order is for: this one or a related
//       "rul": "hasMainBearing>rul"},        // due = now + lower bound (rulLow) of the RUL, hours
//      {"type": "webhook", "url": "https://ops.example/hook", "secret": "…"}]}
//
// Templates in titles and messages: {twinId}, {rule}, {time}. GET answers the definition with
// "secret" omitted ("secretSet": true) and "status": {"activeTwins": n, "lastFired"?}.
//
// On activation, for the twin: alert → AlertService::Raise (dedup key "<rule>/<twin>"), cleared
// by ClearByKey when the rule clears (unless "clearWithRule": false); workOrder →
// WorkOrderService::Create (dedup key "<rule>/<asset>") with the evidence, the RUL and a
// history link; webhook → WebhookSender::Enqueue ({"event": "rule.activated", "rule", "twinId",
// "time", "evidence"}; also on clear when "onClear": true); setProperty and command are
// DEVICE actions: they pass the safety envelope (safety_envelope.h) and its rate limit, and in
// recommend mode (the rule's or the envelope's) they become one recommendation per activation
// instead of running.
//
// Recommendations: {"recommendationId", "rule", "twinId", "actions": [...], "evidence",
// "status": "pending"|"approved"|"rejected"|"expired"|"executed"|"failed", "createdTime",
// "expiresTime", "decidedBy"?, "decidedTime"?, "comment"?, "results": [action records]}.
// Approve runs the device actions — through the envelope again, with the approver recorded —
// and answers the recommendation executed (or failed, with each action's result); reject and
// expiry run nothing. Only pending recommendations can be decided (Conflict "NotPending").
//
// The action log: every action automation took or proposed, one record each:
// {"actionId", "time", "rule", "twinId", "type", "mode": "auto"|"recommend"|"approved",
//  "outcome": "executed"|"clamped"|"blocked"|"failed"|"recommended", "request", "applied"?,
//  "reason"?, "evidence", "ref": {"alertId"|"workOrderId"|"invocationId"|"deliveryId"|
//  "recommendationId"}?, "approvedBy"?}.
//
// Setpoint ramps: a setProperty whose change exceeds the envelope's max rate moves in steps
// (every `ramp_step` of wall time, each at most rate × step) until it reaches the target; each
// step is a desired-property write (command/command_service.h), logged.
//
// Persistence under <dir>: rules.jsonl, recommendations.jsonl, actions.jsonl (newest
// `max_actions` kept), envelope.json, and active.jsonl: which (rule, twin) instances are active
// (so a restart neither repeats nor forgets an activation). Ramps under way are not resumed
// after a restart.
//
// Thread-safety: every public method may be called from any thread. Actions run on the
// service's own worker (the rule engine's thread only queues them).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "automation/safety_envelope.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::twin {
class TwinGraph;
class EventBus;
}
namespace doppel::ingest {
class Ingestor;
class LiveState;
}
namespace doppel::tsdb {
class SeriesStore;
}
namespace doppel::command {
class CommandService;
}
namespace doppel::alerts {
class AlertService;
}
namespace doppel::maintenance {
class WorkOrderService;
}
namespace doppel::client {
class WebhookSender;
}

namespace doppel::automation {

struct AutomationOptions {
  std::string dir = {};  // "" = memory only
  std::size_t max_rules = 10'000;
  std::size_t max_actions = 100'000;            // action log records kept
  std::chrono::milliseconds default_recommendation_ttl{4 * 3'600'000};
  std::chrono::milliseconds ramp_step{10'000};  // setpoint ramp interval (wall time)
  std::chrono::milliseconds tick{250};          // expiry and ramp checks
  bool sync = true;
};

// Everything the service drives. graph, events and ingestor are required; the rest may be
// null (their actions are then refused at PUT /rules with the reason: "alert actions need
// alerts, which are not enabled on this server").
struct AutomationDeps {
  twin::TwinGraph* graph = nullptr;
  twin::EventBus* events = nullptr;
  ingest::Ingestor* ingestor = nullptr;
  ingest::LiveState* live = nullptr;
  tsdb::SeriesStore* history = nullptr;
  command::CommandService* commands = nullptr;
  alerts::AlertService* alerts = nullptr;
  maintenance::WorkOrderService* work_orders = nullptr;
  client::WebhookSender* webhooks = nullptr;
};

struct ActionFilter {
  std::string rule = {};
  std::string twin_id = {};
  std::size_t limit = 100;
};

struct RecommendationFilter {
  std::string status = {};  // "" = any
  std::string twin_id = {};
  std::string rule = {};
  std::size_t limit = 100;
};

class AutomationService {
 public:
  // Loads rules, the envelope, recommendations and active instances from `options.dir`.
  static Result<std::unique_ptr<AutomationService>> Open(AutomationOptions options, AutomationDeps deps,
                                                         const Clock& clock = SystemClock::Instance());
  ~AutomationService();  // Stop()
  AutomationService(const AutomationService&) = delete;
  AutomationService& operator=(const AutomationService&) = delete;

  void Start();  // the rule engine and the action worker
  void Stop();   // idempotent
  // Waits until every update queued so far is evaluated and every action it caused has run,
  // then runs the expiry and ramp checks once at the clock's now (tests with a ManualClock,
  // benchmarks). Before Start, the caller's thread does the worker's job.
  void Flush();

  // ---- rules ----
  // Creates or replaces; answers (created?, the stored definition as GET shows it). Errors:
  // InvalidArgument naming the member ("condition: at 1:14: …", "actions[1].property: …").
  Result<std::pair<bool, json::object>> PutRule(std::string_view name, const json::value& definition);
  Result<json::object> GetRule(std::string_view name) const;  // NotFound "RuleNotFound"
  json::array ListRules() const;
  Status DeleteRule(std::string_view name);  // NotFound "RuleNotFound"
  // GET /rules/{name}/instances: [{"twinId", "active", "since"?, "evidence"}]
  Result<json::array> RuleInstances(std::string_view name, std::size_t limit) const;

  // ---- the envelope ----
  json::object GetEnvelope() const;
  Status PutEnvelope(const json::value& envelope);  // SafetyEnvelope::FromJson's errors
  // The bounds that apply to a twin's writable properties, for the twin view:
  // {"<property>": {"min", "max", "maxRatePerMinute"}}. NotFound for an unknown twin.
  Result<json::object> TwinEnvelope(std::string_view twin_id) const;

  // ---- recommendations ----
  json::array ListRecommendations(const RecommendationFilter& filter) const;
  Result<json::object> GetRecommendation(std::string_view id) const;  // NotFound "RecommendationNotFound"
  Result<json::object> Approve(std::string_view id, std::string_view by, std::string_view comment);
  Result<json::object> Reject(std::string_view id, std::string_view by, std::string_view comment);

  // ---- the action log ----
  json::array ListActions(const ActionFilter& filter) const;  // newest first

  void RenderMetrics(std::string& out) const;  // doppel_automation_*, plus the engine's

 private:
  struct Impl;
  explicit AutomationService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace doppel::automation
