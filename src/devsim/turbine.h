// A simulated wind turbine with its drivetrain parts (main bearing, gearbox, generator) and its
// nacelle component. Signal shapes follow scripts/demo-history.py, so live data continues the
// backfilled history without a seam; docs/devsim.md gives the equations.
//
//   Turbine t(spec, TurbineParams{}, seed, start);
//   t.Step(start + 1s, 1.0);
//   double kw = t.active_power_kw();
//
// Not thread-safe: one owner steps it and routes its commands (the Fleet).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "devsim/messages.h"
#include "devsim/signals.h"

namespace doppel::devsim {

// Tunables of the turbine model. Defaults reproduce scripts/demo-history.py where it has the
// signal, and otherwise are plausible for a 150 m rotor, 3.6 MW class machine.
struct TurbineParams {
  PowerCurve curve;
  // Wind: mean + daily_amplitude * sin(2π(day - daily_phase)) + gust (slow OU) + turbulence
  // (fast OU) + wind_offset_per_index * index. The gust process is the script's AR(1)
  // g ← 0.9 g + N(0, 0.6) per minute, written as a continuous OU process.
  double mean_wind_ms = 9.0;
  double daily_amplitude_ms = 4.0;
  double daily_phase = 0.3;
  double wind_offset_per_index_ms = 0.3;
  double gust_tau_s = 569.5;       // -60 s / ln(0.9)
  double gust_stddev_ms = 1.376;   // 0.6 / sqrt(1 - 0.81)
  double turbulence_tau_s = 6.0;   // seconds-scale turbulence the per-minute script cannot see
  double turbulence_stddev_ms = 0.4;
  // Rotor: min(max_rotor, rotor_base + rotor_per_ms * wind), never above rotorSpeedLimit. A limit
  // below rated_rotor_rpm caps power at rated_power * limit / rated_rotor_rpm (less torque
  // headroom at lower speed); at or above it the turbine runs unconstrained ("running").
  double rotor_base_rpm = 4.0;
  double rotor_per_ms_rpm = 0.85;
  double max_rotor_rpm = 14.0;
  double rated_rotor_rpm = 12.6;
  double max_pitch_deg = 25.0;
  double pitch_per_ms_deg = 2.2;
  // Temperatures: ambient(day) = ambient_mean + ambient_amplitude * sin(2π(day - 0.375))
  // (warmest mid-afternoon UTC); each part relaxes toward ambient + (rotating ? idle_rise +
  // load_rise * load : 0) with its own time constant.
  double ambient_mean_c = 12.0;
  double ambient_amplitude_c = 4.0;
  double bearing_idle_rise_c = 16.0, bearing_load_rise_c = 22.0, bearing_tau_s = 1200.0;
  double oil_idle_rise_c = 33.0, oil_load_rise_c = 18.0, oil_tau_s = 900.0;
  double winding_idle_rise_c = 43.0, winding_load_rise_c = 40.0, winding_tau_s = 600.0;
  double nacelle_rise_c = 6.0, nacelle_load_rise_c = 4.0, nacelle_tau_s = 1800.0;
  // Vibration RMS (mm/s): vibration_base + vibration_per_load * load while rotating, plus on a
  // faulty unit the fault's (fault_vibration_start + fault_vibration_per_day * days) * ω / ω_ref.
  // The fault also heats the bearing by (fault_heat + fault_heat_per_day * days) * ω / ω_ref.
  // Both scale with the rotor speed ω (ω_ref = fault_reference_rpm): the friction and the
  // defect's impact energy grow with speed, so derating a faulty turbine cools its bearing
  // and quiets it, and a stopped one neither rings nor heats.
  double vibration_base_mms = 0.8, vibration_per_load_mms = 1.2, vibration_stopped_mms = 0.1;
  double fault_vibration_start_mms = 0.8, fault_vibration_per_day_mms = 0.6;
  double fault_heat_c = 9.0, fault_heat_per_day_c = 1.0;
  double fault_reference_rpm = 14.0;
  // Above this vibration the controller trips: state "fault", activeFaultCode "MB-VIB-HIGH".
  // 7.1 mm/s is the boundary of ISO 10816 zone D for large machines.
  double vibration_trip_mms = 7.1;
  // Palmgren-Miner damage rate: load^3 / rated life per hour of rotation, times
  // fault_damage_factor on a faulty bearing.
  double fault_damage_factor = 20.0;
  // Measurement noise (standard deviation) added to the published readings.
  double temperature_noise_c = 0.15, vibration_noise_mms = 0.04;
  // Wind direction: prevailing_direction_deg + OU noise; the nacelle yaws after it at
  // yaw_rate_deg_s.
  double prevailing_direction_deg = 240.0, direction_stddev_deg = 15.0,
         direction_tau_s = 1800.0, yaw_rate_deg_s = 0.5;
};

// One turbine as found in twins.json (or generated). Empty part ids mean "no such twin".
struct TurbineSpec {
  std::string id;
  std::string site;
  int index = 0;  // position in the farm; shifts the mean wind (as in the history script)
  std::string bearing_id, gearbox_id, generator_id;
  double rotor_speed_limit_rpm = 12.6;
  std::string state = "running";  // running | stopped | curtailed | fault
  std::string active_fault_code;
  double cumulative_damage = 0.0;
  double rated_life_h = 175000.0;
  bool bearing_fault = false;  // a slowly developing main-bearing fault
};

class Turbine {
 public:
  Turbine(TurbineSpec spec, const TurbineParams& params, uint64_t fleet_seed, TimePoint start);

  // Advances the model to `now`, `dt_s` seconds after the previous step.
  void Step(TimePoint now, double dt_s);

  const TurbineSpec& spec() const { return spec_; }
  double wind_speed_ms() const { return wind_ms_; }
  double rotor_speed_rpm() const { return rotor_rpm_; }
  double active_power_kw() const { return power_kw_; }
  double pitch_angle_deg() const { return pitch_deg_; }
  double yaw_angle_deg() const { return yaw_deg_; }
  double ambient_temperature_c() const { return ambient_c_; }
  double nacelle_temperature_c() const { return nacelle_c_; }
  double bearing_temperature_c() const { return bearing_c_; }  // the true state, without noise
  double oil_temperature_c() const { return oil_c_; }
  double winding_temperature_c() const { return winding_c_; }
  double vibration_rms_mms() const { return vibration_mms_; }  // the published reading
  double cumulative_damage() const { return damage_; }
  double rotor_speed_limit_rpm() const { return limit_rpm_; }
  // Power over rated power, in [0, 1].
  double load() const { return power_kw_ / params_.curve.rated_power_kw; }
  std::string state() const;
  const std::string& active_fault_code() const { return fault_code_; }

  // Telemetry for the turbine (with "nacelle/..." members) and its part twins, stamped `ts`.
  void AppendTelemetry(const std::string& ts, std::vector<TwinMessage>& out) const;
  // Reported properties that changed since the last call (all of them on the first call).
  void TakeReported(std::vector<TwinMessage>& out);
  // Forgets what was reported, so the next TakeReported repeats everything (after a reconnect).
  void ForgetReported();

  // Desired properties addressed to `twin_id` (the turbine or one of its parts). Writable:
  // rotorSpeedLimit (rpm, 0 < limit <= 30) on the turbine. Unknown names are InvalidArgument.
  Status ApplyDesired(const std::string& twin_id, const json::object& desired);
  // stop, start, resetFault, curtail on the turbine; 404 for anything else.
  CommandResult HandleCommand(const std::string& twin_id, const std::string& name,
                              const json::value& payload);

 private:
  void StepWind(TimePoint now, double dt_s);
  void StepDrive();
  void StepThermal(double dt_s);
  void StepCondition(TimePoint now, double dt_s);
  double FaultDays(TimePoint now) const;

  TurbineSpec spec_;
  TurbineParams params_;
  Rng rng_;
  TimePoint start_;
  OuProcess gust_, turbulence_, direction_;

  double limit_rpm_;
  std::optional<double> power_limit_kw_;  // set by the curtail command
  bool stopped_;                          // by command
  std::string fault_code_;                // latched fault; non-empty = state "fault"
  double damage_;

  double wind_ms_ = 0, rotor_rpm_ = 0, power_kw_ = 0, pitch_deg_ = 0, yaw_deg_ = 0;
  double ambient_c_ = 0, nacelle_c_ = 0, bearing_c_ = 0, oil_c_ = 0, winding_c_ = 0;
  double fault_vibration_mms_ = 0, fault_heat_c_ = 0;
  double vibration_mms_ = 0;
  double bearing_reading_c_ = 0, oil_reading_c_ = 0, winding_reading_c_ = 0;

  // Last reported values; nullopt = report on the next TakeReported.
  std::optional<std::string> reported_state_, reported_fault_code_;
  std::optional<double> reported_limit_, reported_damage_;
};

}  // namespace doppel::devsim
