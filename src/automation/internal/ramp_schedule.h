// Setpoint ramps (automation_service.h, "Setpoint ramps"): a setpoint change larger than the
// envelope's rate allows moves toward its target in steps of at most rate × interval, one
// step per interval. The schedule only says which ramps are due and what their next value is;
// the action runner writes them. Internal to src/automation.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/json.h"

namespace doppel::automation::internal {

// From `current` toward `target`, moving at most `max_step` (> 0).
double StepToward(double current, double target, double max_step);

struct Ramp {
  std::string twin_id;
  std::string property;  // "name" or "component/name"
  double target = 0;
  double max_step = 0;  // max_rate_per_minute × interval
  TimePoint next{};     // when the next step is due
  // For the action records of the steps.
  std::string rule = {};
  std::string mode = {};
  std::string approved_by = {};
  json::value evidence = nullptr;
  int steps = 0;  // written so far
};

class RampSchedule {
 public:
  explicit RampSchedule(std::chrono::nanoseconds interval) : interval_(interval) {}

  std::chrono::nanoseconds interval() const { return interval_; }
  // Adds a ramp, replacing one of the same twin and property (a newer setpoint wins).
  void Start(Ramp ramp);
  void Cancel(std::string_view twin_id, std::string_view property);
  // Cancels every ramp a rule started (the rule was deleted).
  void CancelRule(std::string_view rule);
  // The ramps due at `now`, each rescheduled one interval later (the caller cancels those that
  // reached their target or failed).
  std::vector<Ramp> TakeDue(TimePoint now);
  std::size_t size() const;

 private:
  const std::chrono::nanoseconds interval_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Ramp> ramps_;  // (twin, property) → ramp
};

}  // namespace doppel::automation::internal
