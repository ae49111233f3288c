// Runs a rule's actions for one twin and records each in the action log: alerts, work
// orders and webhooks as asked; device actions (setProperty, command) only through the safety
// envelope and its rate limit, with setpoint ramps. Internal to src/automation.
//
// Thread-safety: every method may be called from any thread (the service's worker runs
// activations and ramp steps, an HTTP thread runs an approval); device actions are serialised
// among themselves so that a ramp step and a new setpoint for the same property never race.
#pragma once

#include <chrono>
#include <memory>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "automation/automation_service.h"
#include "automation/internal/action_log.h"
#include "automation/internal/ramp_schedule.h"
#include "automation/internal/rule_definition.h"
#include "automation/safety_envelope.h"
#include "base/clock.h"
#include "base/json.h"

namespace doppel::automation::internal {

// One activation or clear of a rule for a twin.
struct ActionContext {
  std::string rule;
  std::string twin_id;
  TimePoint time{};  // the reading time that decided it
  // {"signals": {...}, "time", "history": "/timeseries/query?..."}
  json::object evidence = {};
};
// The evidence of a transition: its signals, its time and the history window a person looks
// at (the condition's lookback before it, at least an hour).
json::object MakeEvidence(const json::object& signals, std::string_view twin_id, TimePoint time, int64_t lookback_ns);

// How a device action came to run: "auto", or "approved" (with the approver).
struct DeviceMode {
  std::string mode = "auto";
  std::string approved_by = {};
};

// A device action as a recommendation holds it, and back.
json::object DeviceActionJson(const ActionDef& action);
Result<ActionDef> DeviceActionFromJson(const json::value& value);

class ActionRunner {
 public:
  // `deps` and `log` must outlive the runner.
  ActionRunner(const AutomationDeps& deps, const Clock& clock, ActionLog& log, std::chrono::milliseconds ramp_step);

  // alert, workOrder, webhook on an activation (`activated`) or a clear.
  void RunNotification(const ActionDef& action, const ActionContext& ctx, bool activated);
  // A setProperty or command through `envelope`; returns its action record.
  json::object RunDevice(const ActionDef& action, const ActionContext& ctx, const SafetyEnvelope& envelope,
                         const DeviceMode& mode);
  // One "recommended" record per device action of a new recommendation.
  void RecordRecommended(const ActionDef& action, const ActionContext& ctx, std::string_view recommendation_id);
  // Writes the ramp steps due at the clock's now, each checked against `envelope` as it is
  // now: clamped to its bounds and rate, stopped when it blocks the setpoint or (for a ramp
  // not approved by a person) asks for recommend mode.
  void StepRamps(const SafetyEnvelope& envelope);
  void CancelRamps(std::string_view rule) { ramps_.CancelRule(rule); }
  std::size_t active_ramps() const { return ramps_.size(); }

 private:
  json::object Record(const ActionContext& ctx, const ActionDef& action, std::string_view mode,
                      std::string_view outcome) const;
  json::object Log(json::object record);
  void RunAlert(const ActionDef& action, const ActionContext& ctx, bool activated);
  void RunWorkOrder(const ActionDef& action, const ActionContext& ctx);
  void RunWebhook(const ActionDef& action, const ActionContext& ctx, bool activated);
  json::object RunSetpoint(const ActionDef& action, const ActionContext& ctx, const SafetyEnvelope& envelope,
                           json::object record);
  // Schedules the rest of a ramp (its next step at `next`) whose first step, if any, `record`
  // holds, and says so in it.
  void StartRamp(const ActionContext& ctx, const std::string& property, double target, double step, double rate,
                 json::object& record, TimePoint next);
  json::object RunCommand(const ActionDef& action, const ActionContext& ctx, const SafetyEnvelope& envelope,
                          json::object record);
  // The envelope's verdict and the rate limit: false (and `record` says why) when blocked.
  bool Admit(const EnvelopeDecision& decision, std::string_view twin_id, const SafetyEnvelope& envelope,
             json::object& record);
  // A desired-property write, as PATCH /digitaltwins/{id} makes it (command_service.h).
  Status WriteSetpoint(std::string_view twin_id, std::string_view property, const json::value& value);
  std::string ModelOf(std::string_view twin_id) const;

  // Immutable after construction.
  const AutomationDeps deps_;
  const Clock& clock_;
  ActionLog& log_;

  std::mutex device_mu_;  // serialises device actions and ramp steps
  RateLimiter limiter_;
  RampSchedule ramps_;
  // When automation last wrote each "<twin>\n<property>": the rate of change holds across
  // separate writes (two rules, an approval), not only within one ramp. Guarded by device_mu_.
  std::map<std::string, TimePoint, std::less<>> last_writes_;
};

}  // namespace doppel::automation::internal
