#include "devsim/turbine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <utility>

namespace doppel::devsim {
namespace {

constexpr double kSecondsPerDay = 86400.0;
constexpr double kFeatheredPitchDeg = 90.0;
constexpr double kMaxRotorSpeedLimitRpm = 30.0;
constexpr const char* kVibrationTripCode = "MB-VIB-HIGH";
// Damage is reported when it has moved by this much: the sum creeps by ~6e-6 per full-load
// hour, so a finer step would only add traffic.
constexpr double kDamageReportStep = 1e-5;

double Sine(double day, double phase) { return std::sin(2.0 * std::numbers::pi * (day - phase)); }

// Rounds to `digits` decimals. Divides by a power of ten (rather than multiplying by 0.01) so the
// result is the double nearest the decimal, which serialises as "54.23", not "54.230000000000004".
double Round(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

}  // namespace

Turbine::Turbine(TurbineSpec spec, const TurbineParams& params, uint64_t fleet_seed,
                 TimePoint start)
    : spec_(std::move(spec)),
      params_(params),
      rng_(UnitSeed(fleet_seed, spec_.id)),
      start_(start),
      gust_(params.gust_tau_s, params.gust_stddev_ms),
      turbulence_(params.turbulence_tau_s, params.turbulence_stddev_ms),
      direction_(params.direction_tau_s, params.direction_stddev_deg),
      limit_rpm_(spec_.rotor_speed_limit_rpm),
      stopped_(spec_.state == "stopped"),
      damage_(spec_.cumulative_damage) {
  if (spec_.state == "fault") {
    fault_code_ = spec_.active_fault_code.empty() ? "UNKNOWN" : spec_.active_fault_code;
  }
  // Start in thermal steady state, so the first minutes do not show a warm-up nobody asked for.
  Step(start, 0.0);
  const bool rotating = rotor_rpm_ > 0.0;
  // A faulty bearing starts at its fault's heat too (as the backfilled history has it).
  bearing_c_ = ambient_c_ + (rotating ? params_.bearing_idle_rise_c + params_.bearing_load_rise_c * load() + fault_heat_c_
                                      : 0.0);
  oil_c_ = ambient_c_ + (rotating ? params_.oil_idle_rise_c + params_.oil_load_rise_c * load() : 0.0);
  winding_c_ = ambient_c_ + (rotating ? params_.winding_idle_rise_c + params_.winding_load_rise_c * load() : 0.0);
  nacelle_c_ = ambient_c_ + params_.nacelle_rise_c + params_.nacelle_load_rise_c * load();
  yaw_deg_ = params_.prevailing_direction_deg;
  Step(start, 0.0);
}

void Turbine::Step(TimePoint now, double dt_s) {
  StepWind(now, dt_s);
  StepDrive();
  StepThermal(dt_s);
  StepCondition(now, dt_s);
}

void Turbine::StepWind(TimePoint now, double dt_s) {
  const double day = DayFraction(now);
  gust_.Step(dt_s, rng_);
  turbulence_.Step(dt_s, rng_);
  direction_.Step(dt_s, rng_);
  wind_ms_ = std::max(0.0, params_.mean_wind_ms +
                               params_.daily_amplitude_ms * Sine(day, params_.daily_phase) +
                               gust_.value() + turbulence_.value() +
                               params_.wind_offset_per_index_ms * spec_.index);
  ambient_c_ = params_.ambient_mean_c + params_.ambient_amplitude_c * Sine(day, 0.375);
  // The nacelle turns after the wind at a bounded rate, taking the short way round.
  const double wind_dir = std::fmod(params_.prevailing_direction_deg + direction_.value() + 360.0, 360.0);
  double error = std::remainder(wind_dir - yaw_deg_, 360.0);
  const double max_move = params_.yaw_rate_deg_s * dt_s;
  error = std::clamp(error, -max_move, max_move);
  yaw_deg_ = std::fmod(yaw_deg_ + error + 360.0, 360.0);
}

// The controller: the power curve, capped by the rotor speed limit and any power limit.
// Speed and power follow the wind within the tick (the rotor's inertia is seconds, below the
// publishing rate), which keeps the limit a hard bound that tests can rely on.
void Turbine::StepDrive() {
  const double curve_kw = params_.curve.PowerKw(wind_ms_);
  if (stopped_ || !fault_code_.empty() || curve_kw <= 0.0) {
    rotor_rpm_ = 0.0;
    power_kw_ = 0.0;
    pitch_deg_ = kFeatheredPitchDeg;
    return;
  }
  const double free_rpm =
      std::min(params_.max_rotor_rpm, params_.rotor_base_rpm + params_.rotor_per_ms_rpm * wind_ms_);
  rotor_rpm_ = std::min(free_rpm, limit_rpm_);
  double cap_kw = params_.curve.rated_power_kw * std::min(1.0, limit_rpm_ / params_.rated_rotor_rpm);
  if (power_limit_kw_) cap_kw = std::min(cap_kw, *power_limit_kw_);
  power_kw_ = std::min(curve_kw, cap_kw);
  // Above rated wind the blades pitch out to shed power; a cap sheds more.
  const double shed = curve_kw > 0.0 ? 1.0 - power_kw_ / curve_kw : 0.0;
  pitch_deg_ = std::min(params_.max_pitch_deg,
                        std::max(0.0, wind_ms_ - params_.curve.rated_wind_ms) * params_.pitch_per_ms_deg +
                            shed * params_.max_pitch_deg);
}

void Turbine::StepThermal(double dt_s) {
  const bool rotating = rotor_rpm_ > 0.0;
  const double l = load();
  const auto target = [&](double idle_rise, double load_rise) {
    return ambient_c_ + (rotating ? idle_rise + load_rise * l : 0.0);
  };
  bearing_c_ = Relax(bearing_c_, target(params_.bearing_idle_rise_c, params_.bearing_load_rise_c) + fault_heat_c_,
                     params_.bearing_tau_s, dt_s);
  oil_c_ = Relax(oil_c_, target(params_.oil_idle_rise_c, params_.oil_load_rise_c), params_.oil_tau_s, dt_s);
  winding_c_ = Relax(winding_c_, target(params_.winding_idle_rise_c, params_.winding_load_rise_c),
                     params_.winding_tau_s, dt_s);
  nacelle_c_ = Relax(nacelle_c_, ambient_c_ + params_.nacelle_rise_c + params_.nacelle_load_rise_c * l,
                     params_.nacelle_tau_s, dt_s);
  bearing_reading_c_ = bearing_c_ + rng_.Normal(0.0, params_.temperature_noise_c);
  oil_reading_c_ = oil_c_ + rng_.Normal(0.0, params_.temperature_noise_c);
  winding_reading_c_ = winding_c_ + rng_.Normal(0.0, params_.temperature_noise_c);
}

double Turbine::FaultDays(TimePoint now) const {
  return std::chrono::duration<double>(now - start_).count() / kSecondsPerDay;
}

// Vibration, the fault's progress, fatigue damage and the vibration trip.
void Turbine::StepCondition(TimePoint now, double dt_s) {
  const bool rotating = rotor_rpm_ > 0.0;
  if (spec_.bearing_fault) {
    // A damaged bearing rings and heats in proportion to its speed (0 when stopped): the next
    // thermal step relaxes toward the new heat, the vibration follows at once.
    const double days = FaultDays(now);
    const double speed = rotor_rpm_ / params_.fault_reference_rpm;
    fault_vibration_mms_ = (params_.fault_vibration_start_mms + params_.fault_vibration_per_day_mms * days) * speed;
    fault_heat_c_ = (params_.fault_heat_c + params_.fault_heat_per_day_c * days) * speed;
  }
  const double healthy = rotating ? params_.vibration_base_mms + params_.vibration_per_load_mms * load()
                                  : params_.vibration_stopped_mms;
  vibration_mms_ = std::max(0.0, healthy + fault_vibration_mms_ + rng_.Normal(0.0, params_.vibration_noise_mms));
  if (rotating) {
    const double factor = spec_.bearing_fault ? params_.fault_damage_factor : 1.0;
    damage_ += factor * load() * load() * load() * (dt_s / 3600.0) / spec_.rated_life_h;
  }
  if (rotating && fault_code_.empty() && vibration_mms_ > params_.vibration_trip_mms) {
    fault_code_ = kVibrationTripCode;
  }
}

std::string Turbine::state() const {
  if (!fault_code_.empty()) return "fault";
  if (stopped_) return "stopped";
  if (limit_rpm_ < params_.rated_rotor_rpm || power_limit_kw_) return "curtailed";
  return "running";
}

void Turbine::AppendTelemetry(const std::string& ts, std::vector<TwinMessage>& out) const {
  json::object turbine;
  turbine["ts"] = ts;
  turbine["windSpeed"] = Round(wind_ms_, 2);
  turbine["rotorSpeed"] = Round(rotor_rpm_, 2);
  turbine["activePower"] = Round(power_kw_, 1);
  turbine["pitchAngle"] = Round(pitch_deg_, 2);
  turbine["nacelle/yawAngle"] = std::fmod(Round(yaw_deg_, 1), 360.0);  // 359.96 → 0, not 360
  turbine["nacelle/nacelleTemperature"] = Round(nacelle_c_, 2);
  turbine["nacelle/ambientTemperature"] = Round(ambient_c_, 2);
  out.push_back({spec_.site, spec_.id, std::move(turbine)});
  const auto part = [&](const std::string& id, json::object body) {
    if (!id.empty()) out.push_back({spec_.site, id, std::move(body)});
  };
  part(spec_.bearing_id, {{"ts", ts},
                          {"bearingTemperature", Round(bearing_reading_c_, 2)},
                          {"vibrationRms", Round(vibration_mms_, 3)}});
  part(spec_.gearbox_id, {{"ts", ts}, {"oilTemperature", Round(oil_reading_c_, 2)}});
  part(spec_.generator_id, {{"ts", ts}, {"windingTemperature", Round(winding_reading_c_, 2)}});
}

void Turbine::TakeReported(std::vector<TwinMessage>& out) {
  json::object turbine;
  const std::string current_state = state();
  if (reported_state_ != current_state) turbine["state"] = *(reported_state_ = current_state);
  if (reported_fault_code_ != fault_code_) turbine["activeFaultCode"] = *(reported_fault_code_ = fault_code_);
  if (reported_limit_ != limit_rpm_) turbine["rotorSpeedLimit"] = *(reported_limit_ = limit_rpm_);
  if (!turbine.empty()) out.push_back({spec_.site, spec_.id, std::move(turbine)});
  if (!spec_.bearing_id.empty() &&
      (!reported_damage_ || std::abs(damage_ - *reported_damage_) >= kDamageReportStep)) {
    reported_damage_ = damage_;
    out.push_back({spec_.site, spec_.bearing_id, {{"cumulativeDamage", Round(damage_, 6)}}});
  }
}

void Turbine::ForgetReported() {
  reported_state_.reset();
  reported_fault_code_.reset();
  reported_limit_.reset();
  reported_damage_.reset();
}

Status Turbine::ApplyDesired(const std::string& twin_id, const json::object& desired) {
  if (twin_id != spec_.id) return Status::InvalidArgument(twin_id + " has no writable properties");
  for (const auto& [name, value] : desired) {
    if (name != "rotorSpeedLimit") {
      return Status::InvalidArgument("property " + std::string(name) + " of " + twin_id +
                                     " is not writable");
    }
    if (!value.is_number()) return Status::InvalidArgument("rotorSpeedLimit must be a number");
    const double limit = value.to_number<double>();
    if (!(limit > 0.0 && limit <= kMaxRotorSpeedLimitRpm)) {
      return Status::InvalidArgument("rotorSpeedLimit must be in (0, 30] rpm");
    }
  }
  // Validate all before applying any: a desired document is applied whole or not at all.
  if (const auto* limit = desired.if_contains("rotorSpeedLimit")) {
    limit_rpm_ = limit->to_number<double>();
    StepDrive();  // the controller obeys at once, not at the next tick
  }
  return Status::Ok();
}

CommandResult Turbine::HandleCommand(const std::string& twin_id, const std::string& name,
                                     const json::value& payload) {
  if (twin_id != spec_.id) return Answer(404, twin_id + " has no commands");
  if (name == "stop") {
    stopped_ = true;
    StepDrive();
    return Answer(200, "stopped");
  }
  if (name == "start") {
    if (!fault_code_.empty()) return Answer(409, "fault " + fault_code_ + " is latched: resetFault first");
    stopped_ = false;
    StepDrive();
    return Answer(200, "started");
  }
  if (name == "resetFault") {
    if (fault_code_.empty()) return Answer(409, "no fault to reset");
    if (payload.is_string() && !payload.as_string().empty() && payload.as_string() != fault_code_) {
      return Answer(409, "active fault is " + fault_code_ + ", not " + std::string(payload.as_string()));
    }
    fault_code_.clear();
    StepDrive();
    return Answer(200, "fault reset");
  }
  if (name == "curtail") {
    if (payload.is_null()) {
      power_limit_kw_.reset();
    } else if (payload.is_number() && payload.to_number<double>() >= 0.0) {
      power_limit_kw_ = payload.to_number<double>();
    } else {
      return CommandResult{400, false};
    }
    StepDrive();
    return CommandResult{200, true};
  }
  return Answer(404, "unknown command " + name);
}

}  // namespace doppel::devsim
