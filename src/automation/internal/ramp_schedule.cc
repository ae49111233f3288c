#include "automation/internal/ramp_schedule.h"

#include <cmath>

namespace doppel::automation::internal {

double StepToward(double current, double target, double max_step) {
  if (std::abs(target - current) <= max_step) return target;
  return target > current ? current + max_step : current - max_step;
}

void RampSchedule::Start(Ramp ramp) {
  std::lock_guard lock(mu_);
  auto key = std::make_pair(ramp.twin_id, ramp.property);
  ramps_[std::move(key)] = std::move(ramp);
}

void RampSchedule::Cancel(std::string_view twin_id, std::string_view property) {
  std::lock_guard lock(mu_);
  ramps_.erase(std::make_pair(std::string(twin_id), std::string(property)));
}

void RampSchedule::CancelRule(std::string_view rule) {
  std::lock_guard lock(mu_);
  std::erase_if(ramps_, [&](const auto& entry) { return entry.second.rule == rule; });
}

std::vector<Ramp> RampSchedule::TakeDue(TimePoint now) {
  std::vector<Ramp> due;
  std::lock_guard lock(mu_);
  for (auto& [key, ramp] : ramps_) {
    if (ramp.next > now) continue;
    ++ramp.steps;
    due.push_back(ramp);
    // A late tick does not make up for lost time with a bigger step: the next one is a whole
    // interval after this one.
    ramp.next = now + interval_;
  }
  return due;
}

std::size_t RampSchedule::size() const {
  std::lock_guard lock(mu_);
  return ramps_.size();
}

}  // namespace doppel::automation::internal
