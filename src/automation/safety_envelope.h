// The safety envelope (docs/automation.md, "Safety envelope"): the bounds automation cannot
// exceed, whatever a rule asks. People writing through the API are not bound by it (their
// writes are checked by the model and their permissions); rules and approved recommendations
// are.
//
// - Per writable property (matched by model, including models that extend it, and a path
//   "name" or "component/name"): min, max, and a maximum rate of change. A setpoint outside
//   [min, max] is clamped to the nearest bound (recorded "clamped"); a change larger than the
//   rate allows is ramped: the automation service moves the setpoint in steps of at most
//   max_rate_per_minute × the step interval (see AutomationService).
// - Per command argument (model, command "name" or "component/name", argument: a member of an
//   object payload, or "" for a scalar payload): min, max. An argument outside is blocked, not
//   clamped — a command is not a quantity to shave.
// - A rate limit: at most `max_commands_per_twin_per_hour` automated device actions
//   (commands and setpoint writes, ramp steps excepted) per twin in any sliding hour;
//   beyond, blocked.
// - The mode: `auto` (device actions run), `recommend` (every device action becomes a
//   recommendation an operator approves); a rule may ask for recommend on its own, never for
//   auto when the envelope says recommend.
//
// JSON (GET/PUT /automation/envelope):
//   {"mode": "auto", "maxCommandsPerTwinPerHour": 12,
//    "properties": [{"model": "dtmi:…:WindTurbine;1", "property": "rotorSpeedLimit",
//                    "min": 6, "max": 16, "maxRatePerMinute": 2}],
//    "commandArguments": [{"model": "dtmi:…:WindTurbine;1", "command": "curtail",
//                          "argument": "", "min": 0, "max": 3600}]}
//
// Thread-safety: a SafetyEnvelope is immutable; the rate limiter (RateLimiter) is
// thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "model/model_registry.h"

namespace doppel::automation {

enum class AutomationMode : uint8_t { kAuto, kRecommend };
std::string_view AutomationModeName(AutomationMode mode);  // "auto", "recommend"
Result<AutomationMode> ParseAutomationMode(std::string_view name);

struct PropertyBound {
  std::string model;
  std::string property;  // "name" or "component/name"
  std::optional<double> min = {};
  std::optional<double> max = {};
  std::optional<double> max_rate_per_minute = {};  // > 0
};

struct CommandArgumentBound {
  std::string model;
  std::string command;   // "name" or "component/name"
  std::string argument;  // "" = the payload itself
  std::optional<double> min = {};
  std::optional<double> max = {};
};

// What the envelope makes of an automated action.
struct EnvelopeDecision {
  enum class Outcome : uint8_t { kAllowed, kClamped, kBlocked };
  Outcome outcome = Outcome::kAllowed;
  json::value value = nullptr;  // setpoints: the value to write (clamped when kClamped)
  std::string reason = {};      // why clamped or blocked: "rotorSpeedLimit 4 below the envelope's min 6"
  std::optional<double> max_rate_per_minute = {};  // setpoints: ramp at most this fast
};
std::string_view OutcomeName(EnvelopeDecision::Outcome outcome);  // "allowed", "clamped", "blocked"

class SafetyEnvelope {
 public:
  SafetyEnvelope() = default;
  // InvalidArgument naming the entry and member ("properties[2].min: must be ≤ max"); a model
  // or property the registry does not know, or a property that is not a writable number, is
  // an error when `models` is given.
  static Result<SafetyEnvelope> FromJson(const json::value& value,
                                         const model::ModelRegistry* models = nullptr);
  json::object ToJson() const;

  AutomationMode mode() const { return mode_; }
  std::size_t max_commands_per_twin_per_hour() const { return max_commands_per_twin_per_hour_; }

  // A setpoint automation wants to write on a twin of `model_id`. Non-numeric values of a
  // bounded property are blocked; unbounded properties are allowed as asked.
  EnvelopeDecision CheckSetpoint(const model::ModelRegistry& models, std::string_view model_id,
                                 std::string_view property, const json::value& requested) const;
  // A command automation wants to invoke with `payload`: blocked when a bounded argument is
  // outside its bounds, missing, or not a number.
  EnvelopeDecision CheckCommand(const model::ModelRegistry& models, std::string_view model_id,
                                std::string_view command, const json::value& payload) const;
  // The bound of a property for a model, if any (for showing the envelope beside a twin).
  std::optional<PropertyBound> FindPropertyBound(const model::ModelRegistry& models, std::string_view model_id,
                                                 std::string_view property) const;

 private:
  AutomationMode mode_ = AutomationMode::kAuto;
  std::size_t max_commands_per_twin_per_hour_ = 12;
  std::vector<PropertyBound> properties_;
  std::vector<CommandArgumentBound> arguments_;
};

// The per-twin rate limit on automated device actions (a sliding hour).
class RateLimiter {
 public:
  // True and counted when the twin has had fewer than `per_hour` actions in the hour before
  // `now`; false (not counted) otherwise.
  bool TryAcquire(std::string_view twin_id, TimePoint now, std::size_t per_hour);

 private:
  std::mutex mu_;
  std::map<std::string, std::deque<TimePoint>, std::less<>> recent_;
};

}  // namespace doppel::automation
