// A simulated production machine (the example's Machine, CncMachine and Robot models): it cycles
// through running, idle and down, makes one part per cycle while running, and counts good and
// scrap parts. Signal levels follow scripts/demo-history.py; docs/devsim.md has the details.
//
// Not thread-safe: one owner steps it and routes its commands (the Fleet).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "devsim/messages.h"
#include "devsim/signals.h"

namespace doppel::devsim {

// Tunables of the machine model; every duration is in seconds of simulated time.
struct MachineParams {
  // Probability that a finished part is scrap.
  double scrap_rate = 0.02;
  // Mean time in each state before leaving it (exponentially distributed). A running machine
  // leaves for "down" with probability down_share, otherwise for "idle".
  double mean_running_s = 2700.0;
  double mean_idle_s = 240.0;  // also blocked and starved, if a twin starts in those
  double mean_down_s = 480.0;
  double down_share = 0.35;
  // Cycle time: idealCycleTime * cycle_time_factor when the twin has one, else
  // default_cycle_time_s; each cycle draws N(nominal, cycle_time_stddev_s).
  double default_cycle_time_s = 42.0;
  double cycle_time_factor = 1.1;
  double cycle_time_stddev_s = 1.5;
  // Power draw (kW) by state, with noise while running.
  double running_power_kw = 11.0, running_power_stddev_kw = 0.8;
  double idle_power_kw = 2.0, down_power_kw = 0.3;
  // CNC spindle while running: speed (rpm) and load (fraction of rated torque).
  double spindle_rpm = 8000.0, spindle_rpm_stddev = 40.0;
  double spindle_load = 0.55, spindle_load_stddev = 0.03;
  // Counters are reported at most once per this many steps (state changes at once).
  int count_report_interval_steps = 5;
};

struct MachineSpec {
  std::string id;
  std::string site;
  bool cnc = false;  // has a spindle (CncMachine)
  std::string state = "running";  // idle | running | blocked | starved | down
  int64_t good_count = 0;
  int64_t scrap_count = 0;
  std::optional<double> ideal_cycle_time_s;
  double run_time_min = 0.0;
  double planned_production_time_min = 0.0;
};

class Machine {
 public:
  Machine(MachineSpec spec, const MachineParams& params, uint64_t fleet_seed);

  // Advances the model by `dt_s` seconds.
  void Step(double dt_s);

  const MachineSpec& spec() const { return spec_; }
  const std::string& state() const { return state_; }
  int64_t good_count() const { return good_; }
  int64_t scrap_count() const { return scrap_; }
  double cycle_time_s() const { return last_cycle_s_; }
  double power_draw_kw() const { return power_kw_; }
  double spindle_speed_rpm() const { return spindle_rpm_; }
  const std::string& stop_reason() const { return stop_reason_; }
  double nominal_cycle_time_s() const;

  void AppendTelemetry(const std::string& ts, std::vector<TwinMessage>& out) const;
  // Reported properties that changed since the last call (all of them on the first call).
  void TakeReported(std::vector<TwinMessage>& out);
  void ForgetReported();

  // Writable: idealCycleTime (s, > 0); program (Robot, a string). Others are InvalidArgument.
  Status ApplyDesired(const json::object& desired);
  // stop (holds the machine "down" until start), start, resetFault (clears a "down"); 404 else.
  CommandResult HandleCommand(const std::string& name, const json::value& payload);

 private:
  void StepState(double dt_s);
  void StepProduction(double dt_s);
  void StepReadings();
  void Enter(std::string state, std::string reason);

  MachineSpec spec_;
  MachineParams params_;
  Rng rng_;
  std::string state_;
  std::string stop_reason_;
  bool held_ = false;  // stopped by command: no spontaneous restart
  std::optional<std::string> program_;
  int64_t good_, scrap_;
  double run_min_, planned_min_;
  double cycle_progress_s_ = 0.0, current_cycle_s_ = 0.0, last_cycle_s_ = 0.0;
  double power_kw_ = 0.0, spindle_rpm_ = 0.0, spindle_load_ = 0.0;

  int steps_since_count_report_ = 0;
  std::optional<std::string> reported_state_;
  std::optional<int64_t> reported_good_, reported_scrap_;
  std::optional<double> reported_ideal_;
  std::optional<std::string> reported_program_;
};

}  // namespace doppel::devsim
