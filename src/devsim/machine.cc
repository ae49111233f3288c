#include "devsim/machine.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace doppel::devsim {
namespace {

constexpr std::array<const char*, 4> kDownReasons = {"tool wear", "spindle alarm", "part jam",
                                                     "door interlock"};
constexpr std::array<const char*, 3> kIdleReasons = {"no order", "operator break",
                                                     "changeover"};
constexpr const char* kCommandStopReason = "stopped by command";

// Rounds to `digits` decimals. Divides by a power of ten (rather than multiplying by 0.01) so the
// result is the double nearest the decimal, which serialises as "54.23", not "54.230000000000004".
double Round(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

// Probability that an exponentially distributed sojourn with this mean ends within dt.
double LeaveProbability(double dt_s, double mean_s) { return 1.0 - std::exp(-dt_s / mean_s); }

}  // namespace

Machine::Machine(MachineSpec spec, const MachineParams& params, uint64_t fleet_seed)
    : spec_(std::move(spec)),
      params_(params),
      rng_(UnitSeed(fleet_seed, spec_.id)),
      state_(spec_.state),
      good_(spec_.good_count),
      scrap_(spec_.scrap_count),
      run_min_(spec_.run_time_min),
      planned_min_(spec_.planned_production_time_min) {
  if (state_ == "down") stop_reason_ = kDownReasons[rng_.Index(kDownReasons.size())];
  if (state_ == "idle") stop_reason_ = kIdleReasons[rng_.Index(kIdleReasons.size())];
  if (state_ == "blocked" || state_ == "starved") stop_reason_ = state_;
  current_cycle_s_ = nominal_cycle_time_s();
  last_cycle_s_ = current_cycle_s_;
  StepReadings();
}

double Machine::nominal_cycle_time_s() const {
  return spec_.ideal_cycle_time_s ? *spec_.ideal_cycle_time_s * params_.cycle_time_factor
                                  : params_.default_cycle_time_s;
}

void Machine::Step(double dt_s) {
  planned_min_ += dt_s / 60.0;
  if (state_ == "running") {
    run_min_ += dt_s / 60.0;
    StepProduction(dt_s);
  }
  StepState(dt_s);
  StepReadings();
}

// Parts finish whenever the running cycle clock passes the cycle time; a long step may finish
// several.
void Machine::StepProduction(double dt_s) {
  cycle_progress_s_ += dt_s;
  while (cycle_progress_s_ >= current_cycle_s_) {
    cycle_progress_s_ -= current_cycle_s_;
    last_cycle_s_ = current_cycle_s_;
    if (rng_.Chance(params_.scrap_rate)) {
      ++scrap_;
    } else {
      ++good_;
    }
    const double nominal = nominal_cycle_time_s();
    current_cycle_s_ = std::max(0.5 * nominal, rng_.Normal(nominal, params_.cycle_time_stddev_s));
  }
}

void Machine::StepState(double dt_s) {
  if (held_) return;
  if (state_ == "running") {
    if (!rng_.Chance(LeaveProbability(dt_s, params_.mean_running_s))) return;
    if (rng_.Chance(params_.down_share)) {
      Enter("down", kDownReasons[rng_.Index(kDownReasons.size())]);
    } else {
      Enter("idle", kIdleReasons[rng_.Index(kIdleReasons.size())]);
    }
    return;
  }
  const double mean = state_ == "down" ? params_.mean_down_s : params_.mean_idle_s;
  if (rng_.Chance(LeaveProbability(dt_s, mean))) Enter("running", "");
}

void Machine::Enter(std::string state, std::string reason) {
  state_ = std::move(state);
  stop_reason_ = std::move(reason);
}

void Machine::StepReadings() {
  const bool running = state_ == "running";
  if (running) {
    power_kw_ = std::max(0.0, rng_.Normal(params_.running_power_kw, params_.running_power_stddev_kw));
    spindle_rpm_ = rng_.Normal(params_.spindle_rpm, params_.spindle_rpm_stddev);
    spindle_load_ = std::clamp(rng_.Normal(params_.spindle_load, params_.spindle_load_stddev), 0.0, 1.0);
  } else {
    power_kw_ = state_ == "down" ? params_.down_power_kw : params_.idle_power_kw;
    spindle_rpm_ = 0.0;
    spindle_load_ = 0.0;
  }
}

void Machine::AppendTelemetry(const std::string& ts, std::vector<TwinMessage>& out) const {
  json::object body;
  body["ts"] = ts;
  body["cycleTime"] = Round(last_cycle_s_, 2);
  body["powerDraw"] = Round(power_kw_, 2);
  body["stopReason"] = stop_reason_;
  if (spec_.cnc) {
    body["spindleSpeed"] = std::round(spindle_rpm_);
    body["spindleLoad"] = Round(spindle_load_, 3);
  }
  out.push_back({spec_.site, spec_.id, std::move(body)});
}

void Machine::TakeReported(std::vector<TwinMessage>& out) {
  json::object body;
  if (reported_state_ != state_) body["state"] = *(reported_state_ = state_);
  const bool counts_due = ++steps_since_count_report_ >= params_.count_report_interval_steps ||
                          !reported_good_;
  if (counts_due && (reported_good_ != good_ || reported_scrap_ != scrap_)) {
    body["goodCount"] = *(reported_good_ = good_);
    body["scrapCount"] = *(reported_scrap_ = scrap_);
    body["runTime"] = Round(run_min_, 2);
    body["plannedProductionTime"] = Round(planned_min_, 2);
    steps_since_count_report_ = 0;
  }
  if (spec_.ideal_cycle_time_s && reported_ideal_ != spec_.ideal_cycle_time_s) {
    body["idealCycleTime"] = *(reported_ideal_ = spec_.ideal_cycle_time_s);
  }
  if (program_ && reported_program_ != program_) body["program"] = *(reported_program_ = program_);
  if (!body.empty()) out.push_back({spec_.site, spec_.id, std::move(body)});
}

void Machine::ForgetReported() {
  reported_state_.reset();
  reported_good_.reset();
  reported_scrap_.reset();
  reported_ideal_.reset();
  reported_program_.reset();
}

Status Machine::ApplyDesired(const json::object& desired) {
  for (const auto& [name, value] : desired) {
    if (name == "idealCycleTime") {
      if (!value.is_number() || !(value.to_number<double>() > 0.0)) {
        return Status::InvalidArgument("idealCycleTime must be a positive number of seconds");
      }
    } else if (name == "program") {
      if (!value.is_string()) return Status::InvalidArgument("program must be a string");
    } else {
      return Status::InvalidArgument("property " + std::string(name) + " of " + spec_.id +
                                     " is not writable");
    }
  }
  if (const auto* ideal = desired.if_contains("idealCycleTime")) {
    spec_.ideal_cycle_time_s = ideal->to_number<double>();
  }
  if (const auto* program = desired.if_contains("program")) {
    program_ = std::string(program->as_string());
  }
  return Status::Ok();
}

CommandResult Machine::HandleCommand(const std::string& name, const json::value& payload) {
  if (name == "stop") {
    held_ = true;
    Enter("down", kCommandStopReason);
    StepReadings();
    return Answer(200, "stopped");
  }
  if (name == "start") {
    held_ = false;
    Enter("running", "");
    StepReadings();
    return Answer(200, "started");
  }
  if (name == "resetFault") {
    if (state_ != "down" || held_) return Answer(409, "no fault to reset");
    Enter("running", "");
    StepReadings();
    return Answer(200, "fault reset");
  }
  return Answer(404, "unknown command " + name);
}

}  // namespace doppel::devsim
