#include "sim/models/wind_turbine.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "sim/models/variable_values.h"
#include "sim/ode.h"

namespace doppel::sim {
namespace {

constexpr double kRadPerSecPerRpm = std::numbers::pi / 30.0;
constexpr double kSecondsPerHour = 3600.0;
constexpr double kFeatheredPitchDeg = 90.0;
// Generous: a week-long Step with steady inputs takes a few thousand steps.
constexpr std::size_t kMaxSolverSteps = 1'000'000;
// 1e-6 on states of order 1 (rad/s, damage) to 100 (°C): far below sensor noise.
constexpr double kTolerance = 1e-6;
// Steps at least this many rotor-speed response times long take the closed-form path (see
// AdvanceQuasiStatic); shorter ones, shadow mode's 1-s steps among them, stay on the solver.
constexpr double kCoarseStepFactor = 5.0;

// Variables in ModelInfo order.
enum Var : std::size_t {
  // Parameters.
  kRatedPower,
  kRotorDiameter,
  kAerodynamicModel,
  kCutInWindSpeed,
  kRatedWindSpeed,
  kCutOutWindSpeed,
  kAirDensity,
  kOptimalTipSpeedRatio,
  kMinRotorSpeed,
  kRotorSpeedSlope,
  kMaxRotorSpeed,
  kRatedRotorSpeed,
  kPitchPerWindSpeed,
  kMaxShedPitch,
  kRotorInertia,
  kSpeedResponseTime,
  kGearboxEfficiency,
  kGeneratorEfficiency,
  kBearingFrictionCoefficient,
  kBearingStaticLoad,
  kBearingRatedThrust,
  kBearingPitchDiameter,
  kBearingThermalResistance,
  kBearingHeatCapacity,
  kRatedLife,
  kDamageExponent,
  kDamageRateFactor,
  kDamageOnset,
  kFrictionDamageGain,
  kVibrationDamageGain,
  kVibrationBase,
  kVibrationPerLoad,
  kVibrationStopped,
  kNacelleIdleRise,
  kNacelleLoadRise,
  kNacelleTimeConstant,
  // Inputs.
  kWindSpeed,
  kRotorSpeedLimit,
  kAmbientTemperature,
  // States.
  kRotorSpeed,
  kBearingTemperature,
  kCumulativeDamage,
  kNacelleTemperature,
  // Outputs.
  kActivePower,
  kPitchAngle,
  kVibrationRms,
  kAerodynamicPower,
  kDrivetrainLoss,
  kBearingFrictionLoss,
  kRotorKineticPower,
  kTipSpeedRatio,
  kLoad,
  kVariableCount
};

// The continuous state the solver integrates: rotor speed (rad/s), bearing temperature (°C),
// damage (1), nacelle air temperature (°C).
using TurbineState = OdeState<4>;
enum StateIndex : std::size_t { kOmega, kBearing, kDamage, kNacelle };

Variable Param(const char* name, const char* unit, double start, double min, double max,
               const char* what) {
  return DeclareVariable(Causality::kParameter, name, unit, start, min, max, what);
}

ModelInfo BuildInfo() {
  ModelInfo info{
      .name = "windTurbine",
      .description =
          "Variable-speed pitch-regulated wind turbine with main bearing: power curve or Cp(λ,β) "
          "aerodynamics, rotor inertia, speed/pitch control with a rotor-speed limit, drivetrain "
          "losses, bearing friction heating, Palmgren-Miner damage raising friction and vibration.",
      .variables = {
          Param("ratedPower", "kW", 3600, 1, 50000, "rated electrical power"),
          Param("rotorDiameter", "m", 150, 1, 400, "rotor diameter"),
          Param("aerodynamicModel", "1", 0, 0, 1,
                "0 = manufacturer power curve, 1 = Heier Cp(λ,β)"),
          Param("cutInWindSpeed", "m/s", 3, 0, 20, "production starts at this wind speed"),
          Param("ratedWindSpeed", "m/s", 12, 1, 40, "power curve reaches rated power here"),
          Param("cutOutWindSpeed", "m/s", 25, 1, 60, "production stops above this wind speed"),
          Param("airDensity", "kg/m3", 1.225, 0.5, 1.6, "air density (Cp model)"),
          Param("optimalTipSpeedRatio", "1", 8.1, 1, 20,
                "tip-speed ratio tracked below rated (Cp model)"),
          Param("minRotorSpeed", "rpm", 4, 0.1, 50,
                "lowest operating speed; speed schedule offset"),
          Param("rotorSpeedSlope", "rpm/(m/s)", 0.85, 0, 10,
                "speed schedule slope (power-curve model)"),
          Param("maxRotorSpeed", "rpm", 14, 0.1, 50, "highest rotor speed the controller allows"),
          Param("ratedRotorSpeed", "rpm", 12.6, 0.1, 50,
                "speed at which rated generator torque gives rated power"),
          Param("pitchPerWindSpeed", "deg/(m/s)", 2.2, 0, 20,
                "pitch above rated wind (power-curve model)"),
          Param("maxShedPitch", "deg", 25, 0, 90,
                "pitch that sheds all captured power (power-curve model)"),
          Param("rotorInertia", "kg m2", 3.5e7, 1, 1e10,
                "rotor and drivetrain inertia at the rotor shaft"),
          Param("speedResponseTime", "s", 2, 0.1, 600,
                "closed-loop time constant of rotor speed tracking"),
          Param("gearboxEfficiency", "1", 0.97, 0.5, 1, "gearbox efficiency"),
          Param("generatorEfficiency", "1", 0.96, 0.5, 1, "generator and converter efficiency"),
          Param("bearingFrictionCoefficient", "1", 0.005, 0, 0.1,
                "main bearing friction coefficient μ"),
          Param("bearingStaticLoad", "kN", 1000, 0, 1e5, "bearing load from the rotor's weight"),
          Param("bearingRatedThrust", "kN", 1375, 0, 1e5,
                "bearing load from rotor thrust at rated load"),
          Param("bearingPitchDiameter", "m", 0.97, 0.01, 10, "bearing pitch (mean) diameter"),
          Param("bearingThermalResistance", "K/W", 5e-3, 1e-6, 10,
                "bearing to ambient thermal resistance"),
          Param("bearingHeatCapacity", "J/K", 2.4e5, 1, 1e9, "bearing heat capacity"),
          Param("ratedLife", "h", 175000, 1, 1e7,
                "bearing rated (L10) life at rated load and speed"),
          Param("damageExponent", "1", 3, 1, 10,
                "load-life exponent p (3 ball, 10/3 roller bearings)"),
          Param("damageRateFactor", "1", 1, 0, 1000,
                "damage rate multiplier (a developing fault: 20)"),
          Param("damageOnset", "1", 0.5, 0, 10, "damage above which friction and vibration rise"),
          Param("frictionDamageGain", "1", 2, 0, 100,
                "relative friction increase per unit damage above onset"),
          Param("vibrationDamageGain", "mm/s", 6, 0, 1000,
                "vibration increase per unit damage above onset"),
          Param("vibrationBase", "mm/s", 0.8, 0, 100, "vibration RMS rotating at no load"),
          Param("vibrationPerLoad", "mm/s", 1.2, 0, 100, "vibration RMS increase at rated load"),
          Param("vibrationStopped", "mm/s", 0.1, 0, 100, "vibration RMS at standstill"),
          Param("nacelleIdleRise", "K", 6, -50, 100, "nacelle air above ambient with no load"),
          Param("nacelleLoadRise", "K", 4, -50, 100, "further nacelle air rise at rated load"),
          Param("nacelleTimeConstant", "s", 1800, 1, 1e6, "nacelle air temperature time constant"),
          DeclareVariable(Causality::kInput, "windSpeed", "m/s", 0, 0, 80, "hub-height wind speed"),
          DeclareVariable(Causality::kInput, "rotorSpeedLimit", "rpm", 12.6, 0, 30,
                          "rotor speed set-point cap (0 stops the turbine)"),
          DeclareVariable(Causality::kInput, "ambientTemperature", "degC", 12, -60, 60,
                          "outside air temperature"),
          DeclareVariable(Causality::kState, "rotorSpeed", "rpm", 0, 0, 50, "rotor speed"),
          DeclareVariable(Causality::kState, "bearingTemperature", "degC", 12, -60, 300,
                          "main bearing temperature"),
          DeclareVariable(Causality::kState, "cumulativeDamage", "1", 0, 0, 100,
                          "Palmgren-Miner damage sum (1 = rated life used)"),
          DeclareVariable(Causality::kState, "nacelleTemperature", "degC", 12, -60, 150,
                          "nacelle air temperature"),
          DeclareOutput("activePower", "kW", "electrical power delivered"),
          DeclareOutput("pitchAngle", "deg", "blade pitch angle (90 = feathered)"),
          DeclareOutput("vibrationRms", "mm/s", "main bearing vibration velocity RMS"),
          DeclareOutput("aerodynamicPower", "kW",
                        "power the rotor captures from the wind (negative when braking)"),
          DeclareOutput("drivetrainLoss", "kW", "gearbox and generator losses"),
          DeclareOutput("bearingFrictionLoss", "kW",
                        "main bearing friction loss (heat into the bearing)"),
          DeclareOutput("rotorKineticPower", "kW", "rate of change of the rotor's kinetic energy"),
          DeclareOutput("tipSpeedRatio", "1", "blade tip speed over wind speed"),
          DeclareOutput("load", "1", "activePower over ratedPower"),
      }};
  return info;
}

const ModelInfo& Info() {
  static const ModelInfo info = BuildInfo();
  return info;
}

// Parameters in SI units and the combinations the right-hand side needs, recomputed when a
// parameter changes (not per evaluation).
struct Plant {
  bool cp_model = false;
  double rated_w = 0, radius = 0, half_rho_area = 0;
  double cut_in = 0, rated_wind = 0, cut_out = 0, tip_speed_ratio = 0;
  double w_min = 0, w_slope = 0, w_max = 0, w_rated = 0;
  double pitch_per_wind = 0, max_shed_pitch = 0;
  double inertia = 0, response_time = 0, efficiency = 0;
  double friction_static_w = 0, friction_thrust_w = 0;  // μ·F·(d/2)·ω_rated, W
  double bearing_resistance = 0, bearing_capacity = 0;
  double damage_per_s = 0, damage_exponent = 3, damage_onset = 0;
  double friction_damage_gain = 0, vibration_damage_gain = 0;
  double vibration_base = 0, vibration_per_load = 0, vibration_stopped = 0;
  double nacelle_idle_rise = 0, nacelle_load_rise = 0, nacelle_time_constant = 0;
  // Reciprocals, so the right-hand side multiplies instead of divides.
  double inv_w_min = 0, inv_w_rated = 0, inv_response_time = 0, inv_rated_w = 0;
  double inv_efficiency = 0, inv_curve_span = 0, rated_shaft_w = 0;
  double inv_bearing_resistance = 0, inv_bearing_capacity = 0, inv_nacelle_time_constant = 0;
};

Plant MakePlant(const VariableValues& v) {
  Plant p;
  p.cp_model = v[kAerodynamicModel] >= 0.5;
  p.rated_w = v[kRatedPower] * 1e3;
  p.radius = v[kRotorDiameter] / 2;
  p.half_rho_area = 0.5 * v[kAirDensity] * std::numbers::pi * p.radius * p.radius;
  p.cut_in = v[kCutInWindSpeed];
  p.rated_wind = std::max(v[kRatedWindSpeed], p.cut_in + 1e-3);
  p.cut_out = v[kCutOutWindSpeed];
  p.tip_speed_ratio = v[kOptimalTipSpeedRatio];
  p.w_min = v[kMinRotorSpeed] * kRadPerSecPerRpm;
  p.w_slope = v[kRotorSpeedSlope] * kRadPerSecPerRpm;
  p.w_max = v[kMaxRotorSpeed] * kRadPerSecPerRpm;
  p.w_rated = v[kRatedRotorSpeed] * kRadPerSecPerRpm;
  p.pitch_per_wind = v[kPitchPerWindSpeed];
  p.max_shed_pitch = v[kMaxShedPitch];
  p.inertia = v[kRotorInertia];
  p.response_time = v[kSpeedResponseTime];
  p.efficiency = v[kGearboxEfficiency] * v[kGeneratorEfficiency];
  const double lever = v[kBearingFrictionCoefficient] * v[kBearingPitchDiameter] / 2 * p.w_rated;
  p.friction_static_w = lever * v[kBearingStaticLoad] * 1e3;
  p.friction_thrust_w = lever * v[kBearingRatedThrust] * 1e3;
  p.bearing_resistance = v[kBearingThermalResistance];
  p.bearing_capacity = v[kBearingHeatCapacity];
  p.damage_per_s = v[kDamageRateFactor] / (v[kRatedLife] * kSecondsPerHour);
  p.damage_exponent = v[kDamageExponent];
  p.damage_onset = v[kDamageOnset];
  p.friction_damage_gain = v[kFrictionDamageGain];
  p.vibration_damage_gain = v[kVibrationDamageGain];
  p.vibration_base = v[kVibrationBase];
  p.vibration_per_load = v[kVibrationPerLoad];
  p.vibration_stopped = v[kVibrationStopped];
  p.nacelle_idle_rise = v[kNacelleIdleRise];
  p.nacelle_load_rise = v[kNacelleLoadRise];
  p.nacelle_time_constant = v[kNacelleTimeConstant];
  p.inv_w_min = 1 / p.w_min;
  p.inv_w_rated = 1 / p.w_rated;
  p.inv_response_time = 1 / p.response_time;
  p.inv_rated_w = 1 / p.rated_w;
  p.inv_efficiency = 1 / p.efficiency;
  p.inv_curve_span = 1 / (p.rated_wind - p.cut_in);
  p.rated_shaft_w = p.rated_w * p.inv_efficiency;
  p.inv_bearing_resistance = 1 / p.bearing_resistance;
  p.inv_bearing_capacity = 1 / p.bearing_capacity;
  p.inv_nacelle_time_constant = 1 / p.nacelle_time_constant;
  return p;
}

// Inputs, held constant over a Step, and what follows from them alone.
struct Conditions {
  double wind = 0;     // m/s
  double limit_w = 0;  // rad/s
  double ambient = 0;  // °C
  bool producing = false;
  double w_ref = 0;            // rad/s, the controller's speed reference
  double curve_available = 0;  // W, AvailablePower of the power-curve model (speed-independent)
};

// Heier's analytic power coefficient (Heier, "Grid Integration of Wind Energy Conversion
// Systems", 1998; as used by Slootweg et al. 2003). Peaks at ≈0.48 for λ ≈ 8.1, β = 0.
double HeierCp(double lambda, double pitch_deg) {
  if (lambda <= 0) return 0;
  const double inv_li =
      1 / (lambda + 0.08 * pitch_deg) - 0.035 / (pitch_deg * pitch_deg * pitch_deg + 1);
  const double cp =
      0.5176 * (116 * inv_li - 0.4 * pitch_deg - 5) * std::exp(-21 * inv_li) + 0.0068 * lambda;
  return std::max(0.0, cp);
}

// The manufacturer curve: electrical power (W) at wind v in steady optimal operation.
double CurvePower(const Plant& p, double v) {
  if (v < p.cut_in || v > p.cut_out) return 0;
  if (v >= p.rated_wind) return p.rated_w;
  const double x = (v - p.cut_in) * p.inv_curve_span;
  return p.rated_w * x * x * x;
}

// Where the controller wants the rotor: the schedule, never above maxRotorSpeed or the limit.
double RotorReference(const Plant& p, const Conditions& c) {
  const double schedule = p.cp_model ? std::max(p.w_min, p.tip_speed_ratio * c.wind / p.radius)
                                     : p.w_min + p.w_slope * c.wind;
  return std::min({schedule, p.w_max, c.limit_w});
}

// Aerodynamic power (W) the rotor could capture at fine pitch. The power curve gives electrical
// output, so it is divided by the drivetrain efficiency and a healthy bearing's friction is added:
// a healthy turbine then delivers exactly the curve, and a damaged one a little less.
double AvailablePower(const Plant& p, double wind, double w) {
  if (wind <= 0) return 0;  // a zero cut-in lets the turbine "produce" in calm air
  if (p.cp_model) return p.half_rho_area * wind * wind * wind * HeierCp(w * p.radius / wind, 0);
  const double curve = CurvePower(p, wind);
  return curve * p.inv_efficiency + p.friction_static_w +
         p.friction_thrust_w * curve * p.inv_rated_w;
}

Conditions MakeConditions(const Plant& p, double wind, double limit_rpm, double ambient) {
  Conditions c{.wind = wind, .limit_w = limit_rpm * kRadPerSecPerRpm, .ambient = ambient};
  c.producing = wind >= p.cut_in && wind <= p.cut_out && c.limit_w > 0;
  c.w_ref = c.producing ? RotorReference(p, c) : 0.0;
  c.curve_available = p.cp_model ? 0.0 : AvailablePower(p, wind, 0.0);
  return c;
}

// Bearing friction (W) with no thrust load: the rotor's weight alone, scaled by the fade-out at
// standstill and by damage past the onset. Thrust adds friction_thrust_w × the same scale × load.
double FrictionScale(const Plant& p, double w, double damage) {
  return std::min(1.0, w * p.inv_w_min) *
         (1 + p.friction_damage_gain * std::max(0.0, damage - p.damage_onset));
}

// Every power flow at one instant (W), and the state's derivative.
struct Flows {
  bool producing = false;
  double available = 0, aero = 0, shaft = 0, electrical = 0, friction = 0, kinetic = 0;
  double load = 0, rotation = 0, damage_excess = 0;
  TurbineState derivative = {};
};

// The power balance on the rotor shaft: aero = shaft (to the gearbox) + bearing friction +
// kinetic (J·ω·dω/dt). The controller asks for the kinetic share K = J·ω·(ω_ref − ω)/τ that
// moves the rotor toward its reference with time constant τ; the generator takes the rest, up
// to its limit (rated torque below rated speed, rated power above). If the wind offers more,
// the blades pitch to shed it; if it offers too little, the generator unloads and the rotor
// accelerates only as fast as the wind allows.
// (Built from locals and returned whole: zero-filling a Flows first cost a quarter of a call.)
Flows Evaluate(const Plant& p, const Conditions& c, const TurbineState& x) {
  const double w = std::max(0.0, x[kOmega]);
  const double friction_scale = FrictionScale(p, w, x[kDamage]);
  const double c0 = friction_scale * p.friction_static_w;
  const double c1 = friction_scale * p.friction_thrust_w;  // at rated load
  const double tracking = (c.w_ref - w) * p.inv_response_time;
  const double want_kinetic = p.inertia * w * tracking;
  double dw_dt = tracking;
  double available = 0, aero = 0, shaft = 0, friction = 0, kinetic = 0;
  if (!c.producing) {
    // Feathered: the blades brake the rotor aerodynamically; the generator is off.
    friction = c0;
    kinetic = want_kinetic;
    aero = kinetic + friction;
  } else {
    available = p.cp_model ? AvailablePower(p, c.wind, w) : c.curve_available;
    const double cap = p.rated_shaft_w * std::min(1.0, w * p.inv_w_rated);
    // Friction grows with load, and load with shaft power: solve the linear balance at once.
    const double per_shaft_watt = c1 * p.efficiency * p.inv_rated_w;
    shaft = (available - c0 - want_kinetic) / (1 + per_shaft_watt);
    if (shaft > cap) {
      shaft = cap;
      friction = c0 + per_shaft_watt * shaft;
      kinetic = want_kinetic;
      aero = shaft + friction + kinetic;
    } else if (shaft >= 0) {
      friction = c0 + per_shaft_watt * shaft;
      kinetic = want_kinetic;
      aero = available;
    } else {
      shaft = 0;
      friction = c0;
      aero = available;
      kinetic = available - c0;
      dw_dt = w > 1e-9 ? kinetic / (p.inertia * w) : 0.0;
    }
  }
  const double electrical = p.efficiency * shaft;
  const double load = electrical * p.inv_rated_w;
  const double load_power =
      p.damage_exponent == 3 ? load * load * load : std::pow(load, p.damage_exponent);
  return {
      .producing = c.producing,
      .available = available,
      .aero = aero,
      .shaft = shaft,
      .electrical = electrical,
      .friction = friction,
      .kinetic = kinetic,
      .load = load,
      // Bearing friction, heat and vibration fade out as the rotor stops.
      .rotation = std::min(1.0, w * p.inv_w_min),
      .damage_excess = std::max(0.0, x[kDamage] - p.damage_onset),
      .derivative = {dw_dt,
                     (friction - (x[kBearing] - c.ambient) * p.inv_bearing_resistance) *
                         p.inv_bearing_capacity,
                     p.damage_per_s * load_power * (w * p.inv_w_rated),
                     (c.ambient + p.nacelle_idle_rise + p.nacelle_load_rise * load - x[kNacelle]) *
                         p.inv_nacelle_time_constant}};
}

// The right-hand side handed to the solver.
struct TurbineSystem {
  const Plant* plant;
  Conditions conditions;
  void operator()(const TurbineState& x, TurbineState& dxdt, double) const {
    dxdt = Evaluate(*plant, conditions, x).derivative;
  }
};

// ---- Coarse steps: the rotor in closed form, the slow states as linear lags ----------------
//
// Over a Step the inputs are held, so above minRotorSpeed (no friction fade-out) the rotor follows
// one of two closed-form laws (the second only in the power-curve model, whose available power
// does not depend on ω):
//   tracking:      ω(t) = ω_ref + (ω0 − ω_ref)·e^(−t/τ)   (the generator can absorb the
//                  controller's kinetic demand: J·ω·(ω_ref − ω)/τ ≤ S, S = P_avail − Q_b,unloaded)
//   power-limited: ω(t)² = ω0² + 2·S·t/J                   (the wind cannot supply it; shaft 0)
// and an accelerating rotor passes from the second to the first at most once, at the larger
// root ω_s of J·ω·(ω_ref − ω)/τ = S. Bearing heat, load and damage rate depend on ω (and on
// damage, which a Step changes by ~10⁻⁷, so it is frozen at its start value); bearing and nacelle
// temperatures are linear lags of them, solved exactly for forcing held at its steady value plus
// the rotor transient's excess injected at the start of the phase (it lasts a few τ ≪ 1200 s).

// What drives the slow states: bearing heat (W), load (1) and damage rate (1/s); or, as an
// excess over a transient, their time integrals (J, s, 1).
struct Forcing {
  double heat = 0, load = 0, damage = 0;
};

Forcing ForcingAt(const Plant& p, const Conditions& c, TurbineState x, double w) {
  x[kOmega] = w;
  const Flows f = Evaluate(p, c, x);
  return {.heat = f.friction, .load = f.load, .damage = f.derivative[kDamage]};
}

// Gauss–Legendre nodes for the rotor transient (TransientExcess).
constexpr std::size_t kTransientNodes = 4;

// e^(−h/τ) of the rotor, bearing and nacelle lags over h seconds, and the transient quadrature.
struct Decay {
  double h = 0;
  double rotor = 1, bearing = 1, nacelle = 1;
  std::array<double, kTransientNodes> node_u = {};       // u at the Gauss–Legendre nodes
  std::array<double, kTransientNodes> node_weight = {};  // τ × weight / u, s
};

Decay MakeDecay(const Plant& p, double h) {
  static constexpr std::array<double, kTransientNodes> kNode = {
      -0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526};
  static constexpr std::array<double, kTransientNodes> kWeight = {
      0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538};
  Decay d{.h = h,
          .rotor = std::exp(-h * p.inv_response_time),
          .bearing = std::exp(-h * p.inv_bearing_resistance * p.inv_bearing_capacity),
          .nacelle = std::exp(-h * p.inv_nacelle_time_constant)};
  const double mid = (1 + d.rotor) / 2, half = (1 - d.rotor) / 2;
  for (std::size_t i = 0; i < kTransientNodes; ++i) {
    d.node_u[i] = mid + half * kNode[i];
    d.node_weight[i] = p.response_time * half * kWeight[i] / d.node_u[i];
  }
  return d;
}

// ∫₀ʰ (forcing(ω(t)) − steady) dt along ω(t) = ω_ref + δ·e^(−t/τ), where decay.rotor =
// e^(−h/τ). With u = e^(−t/τ) it is τ·∫_decay^1 (g(u) − g_ss)/u du, whose integrand is a
// polynomial of degree ≤ 6 in u (load is quadratic in u, damage rate ∝ load³·ω) unless the
// generator reaches its cap mid-transient: 4-point Gauss–Legendre integrates it exactly, and
// closely across the cap. The nodes and weights depend only on h and τ: `decay` holds them.
Forcing TransientExcess(const Plant& p, const Conditions& c, const TurbineState& x,
                        const Forcing& steady, double delta, const Decay& decay) {
  if (delta == 0) return {};
  Forcing excess;
  for (std::size_t i = 0; i < kTransientNodes; ++i) {
    const Forcing g = ForcingAt(p, c, x, c.w_ref + delta * decay.node_u[i]);
    const double weight = decay.node_weight[i];
    excess.heat += weight * (g.heat - steady.heat);
    excess.load += weight * (g.load - steady.load);
    excess.damage += weight * (g.damage - steady.damage);
  }
  return excess;
}

// Advances bearing temperature, damage and nacelle temperature over decay.h seconds of `held`
// forcing, after an impulse `excess` at the start (exact solutions of the linear lags).
void AdvanceSlowStates(const Plant& p, const Conditions& c, const Forcing& held,
                       const Forcing& excess, const Decay& decay, TurbineState& x) {
  const double bearing_eq = c.ambient + p.bearing_resistance * held.heat;
  x[kBearing] = bearing_eq +
                (x[kBearing] + excess.heat * p.inv_bearing_capacity - bearing_eq) * decay.bearing;
  const double nacelle_eq = c.ambient + p.nacelle_idle_rise + p.nacelle_load_rise * held.load;
  x[kNacelle] =
      nacelle_eq +
      (x[kNacelle] + p.nacelle_load_rise * excess.load * p.inv_nacelle_time_constant - nacelle_eq) *
          decay.nacelle;
  x[kDamage] += excess.damage + held.damage * decay.h;
}

// A tracking phase of decay.h seconds from the current ω: the rotor settles exponentially.
void AdvanceTracking(const Plant& p, const Conditions& c, const Decay& decay, TurbineState& x) {
  const double delta = x[kOmega] - c.w_ref;
  const Forcing steady = ForcingAt(p, c, x, c.w_ref);
  const Forcing excess = TransientExcess(p, c, x, steady, delta, decay);
  AdvanceSlowStates(p, c, steady, excess, decay, x);
  x[kOmega] = c.w_ref + delta * decay.rotor;
}

// Advances x over `step` (its decay factors) in closed form, or returns false, leaving x
// untouched, where the rotor's path is not one of the laws above: a rotor below minRotorSpeed
// (start-up, a limit under it), a wind too weak to turn the unloaded bearing, an accelerating
// rotor starting below ω_ref/2 whose demand first fits the surplus, or a power-limited rotor in
// the Cp model (whose available power depends on ω).
bool AdvanceQuasiStatic(const Plant& p, const Conditions& c, const Decay& step, TurbineState& x) {
  const double w0 = x[kOmega];  // ≥ 0: Set's range and Step's clamp keep it so
  if (!c.producing) {           // feathered: ω decays to 0, always tracking
    AdvanceTracking(p, c, step, x);
    return true;
  }
  const double w_ref = c.w_ref;
  if (w0 < p.w_min || w_ref < p.w_min) return false;
  // Between ω0 and ω_ref the rotor turns at or above minRotorSpeed: no fade-out, so the unloaded
  // friction is constant, and the surplus is smallest at an end of the path (the Cp model's
  // available power rises to a single peak in ω while λ ≤ 100; Heier's Cp turns up again only
  // past λ ≈ 1400).
  const double unloaded = FrictionScale(p, w0, x[kDamage]) * p.friction_static_w;
  double surplus = c.curve_available - unloaded;
  if (p.cp_model) {
    if (std::max(w0, w_ref) * p.radius > 100 * c.wind) return false;
    surplus = std::min(AvailablePower(p, c.wind, w0), AvailablePower(p, c.wind, w_ref)) - unloaded;
  }
  if (surplus < 0) return false;
  // The demand J·ω·(ω_ref − ω)/τ is ≤ 0 while slowing and peaks at ω_ref/2 while accelerating.
  const auto demand = [&](double w) { return p.inertia * w * (w_ref - w) * p.inv_response_time; };
  if (w0 >= w_ref || demand(std::max(w0, w_ref / 2)) <= surplus) {
    AdvanceTracking(p, c, step, x);
    return true;
  }
  // The power-limited law needs an available power independent of ω; and a rotor starting below
  // ω_ref/2 may track, then be limited, then track.
  if (p.cp_model || demand(w0) <= surplus) return false;
  // Power-limited until ω reaches ω_s (then tracking), or for the whole step.
  const double discriminant = w_ref * w_ref - 4 * surplus * p.response_time / p.inertia;
  const double w_switch = (w_ref + std::sqrt(std::max(0.0, discriminant))) / 2;
  const double limited_s =
      surplus > 0 ? p.inertia * (w_switch * w_switch - w0 * w0) / (2 * surplus) : step.h;
  const double phase_s = std::min(limited_s, step.h);
  const Forcing held = ForcingAt(p, c, x, w0);  // shaft 0: bearing under the rotor's weight only
  AdvanceSlowStates(p, c, held, {}, MakeDecay(p, phase_s), x);
  if (limited_s >= step.h) {
    x[kOmega] = std::sqrt(w0 * w0 + 2 * surplus * step.h / p.inertia);
    return true;
  }
  x[kOmega] = w_switch;
  AdvanceTracking(p, c, MakeDecay(p, step.h - limited_s), x);
  return true;
}

// Pitch that captures `keep` (0..1) of the fine-pitch Cp at tip-speed ratio λ, by bisection
// (Cp falls monotonically with pitch over 0–45°). Only for outputs, not in the solver loop.
double HeierPitchFor(double lambda, double keep) {
  if (keep >= 1) return 0;
  const double target = keep * HeierCp(lambda, 0);
  double lo = 0, hi = 45;
  for (int i = 0; i < 40; ++i) {
    const double mid = (lo + hi) / 2;
    (HeierCp(lambda, mid) > target ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

class WindTurbine final : public Simulation {
 public:
  WindTurbine() : values_(Info()) {
    x_ = {values_[kRotorSpeed] * kRadPerSecPerRpm, values_[kBearingTemperature],
          values_[kCumulativeDamage], values_[kNacelleTemperature]};
    plant_ = MakePlant(values_);
    UpdateOutputs();
  }

  const ModelInfo& info() const override { return Info(); }

  Status Set(std::size_t variable, double value) override {
    DOPPEL_RETURN_IF_ERROR(VariableValues::CheckSet(Info(), variable, value));
    switch (Info().variables[variable].causality) {
      case Causality::kState:
        SetState(variable, value);
        break;
      case Causality::kParameter:
        values_[variable] = value;
        plant_ = MakePlant(values_);
        step_decay_ = {};
        break;
      default:
        values_[variable] = value;
        break;
    }
    return Status::Ok();
  }

  double Get(std::size_t variable) const override {
    switch (variable) {
      case kRotorSpeed:
        return x_[kOmega] / kRadPerSecPerRpm;
      case kBearingTemperature:
        return x_[kBearing];
      case kCumulativeDamage:
        return x_[kDamage];
      case kNacelleTemperature:
        return x_[kNacelle];
      default:
        return variable < kVariableCount ? values_[variable] : 0.0;
    }
  }

  Status Step(double dt_s) override {
    if (!failure_.ok()) return failure_;
    if (!(dt_s > 0) || !std::isfinite(dt_s)) {
      return Status::InvalidArgument(
          fmt::format("windTurbine: step of {} s (must be > 0 and finite)", dt_s));
    }
    if (plant_.cut_out < plant_.cut_in) {
      return Status::InvalidArgument("windTurbine: cutOutWindSpeed is below cutInWindSpeed");
    }
    const Conditions conditions = CurrentConditions();
    const double damage_before = x_[kDamage];
    if (!AdvanceCoarse(conditions, dt_s)) DOPPEL_RETURN_IF_ERROR(Integrate(conditions, dt_s));
    time_ += dt_s;
    // Exact solutions keep ω ≥ 0 and damage non-decreasing; dopri5's negative weight (or the
    // coarse path's quadrature) could nudge either by rounding, which a state estimator would
    // read as information.
    x_[kOmega] = std::max(0.0, x_[kOmega]);
    x_[kDamage] = std::max(damage_before, x_[kDamage]);
    UpdateOutputs(conditions);
    return Status::Ok();
  }

  double time() const override { return time_; }

  Result<std::unique_ptr<Simulation>> Clone() const override {
    return std::unique_ptr<Simulation>(std::make_unique<WindTurbine>(*this));
  }

 private:
  // Steps of at least kCoarseStepFactor rotor response times: the closed form where it applies
  // (AdvanceQuasiStatic). Returns false, x_ untouched, for the solver to take the step.
  bool AdvanceCoarse(const Conditions& conditions, double dt_s) {
    if (dt_s < kCoarseStepFactor * plant_.response_time) return false;
    if (step_decay_.h != dt_s) step_decay_ = MakeDecay(plant_, dt_s);
    return AdvanceQuasiStatic(plant_, conditions, step_decay_, x_);
  }

  // Dormand–Prince over dt_s; a failure makes the model unusable (failure_).
  Status Integrate(const Conditions& conditions, double dt_s) {
    TurbineSystem system{&plant_, conditions};
    auto stats = IntegrateNonStiff(system, x_, 0.0, dt_s,
                                   {.absolute_tolerance = kTolerance,
                                    .relative_tolerance = kTolerance,
                                    .initial_step = next_step_,
                                    .max_steps = kMaxSolverSteps});
    if (!stats.ok()) {
      failure_ = Status(stats.status().code(), "",
                        fmt::format("windTurbine: {}", stats.status().message()));
      return failure_;
    }
    next_step_ = stats->next_step;
    return Status::Ok();
  }

  Conditions CurrentConditions() const {
    return MakeConditions(plant_, values_[kWindSpeed], values_[kRotorSpeedLimit],
                          values_[kAmbientTemperature]);
  }

  void SetState(std::size_t variable, double value) {
    switch (variable) {
      case kRotorSpeed:
        x_[kOmega] = value * kRadPerSecPerRpm;
        break;
      case kBearingTemperature:
        x_[kBearing] = value;
        break;
      case kCumulativeDamage:
        x_[kDamage] = value;
        break;
      case kNacelleTemperature:
        x_[kNacelle] = value;
        break;
      default:
        break;
    }
  }

  void UpdateOutputs() { UpdateOutputs(CurrentConditions()); }

  void UpdateOutputs(const Conditions& c) {
    const Flows f = Evaluate(plant_, c, x_);
    const double w = x_[kOmega];
    values_[kActivePower] = f.electrical / 1e3;
    values_[kAerodynamicPower] = f.aero / 1e3;
    values_[kDrivetrainLoss] = (f.shaft - f.electrical) / 1e3;
    values_[kBearingFrictionLoss] = f.friction / 1e3;
    values_[kRotorKineticPower] = f.kinetic / 1e3;
    values_[kLoad] = f.load;
    values_[kTipSpeedRatio] = c.wind > 0 ? w * plant_.radius / c.wind : 0.0;
    values_[kVibrationRms] =
        f.rotation * (plant_.vibration_base + plant_.vibration_per_load * f.load +
                      plant_.vibration_damage_gain * f.damage_excess) +
        (1 - f.rotation) * plant_.vibration_stopped;
    values_[kPitchAngle] = Pitch(f, c);
  }

  // Power-curve model: the manufacturer's pitch schedule above rated wind plus the pitch that
  // sheds a curtailment's surplus (devsim's rule). Cp model: the pitch at which Cp(λ, β)
  // captures what the controller takes.
  double Pitch(const Flows& f, const Conditions& c) const {
    if (!f.producing || f.available <= 0) return kFeatheredPitchDeg;
    const double keep = std::clamp(f.aero / f.available, 0.0, 1.0);
    if (plant_.cp_model) return HeierPitchFor(values_[kTipSpeedRatio], keep);
    return std::min(plant_.max_shed_pitch,
                    plant_.pitch_per_wind * std::max(0.0, c.wind - plant_.rated_wind) +
                        plant_.max_shed_pitch * (1 - keep));
  }

  VariableValues values_;
  TurbineState x_{};
  Plant plant_;
  double time_ = 0;
  double next_step_ = 0;  // the solver's step-size suggestion, carried between Steps
  Decay step_decay_;      // the coarse path's decay factors for the last step length
  Status failure_;
};

}  // namespace

ModelInfo WindTurbineInfo() { return Info(); }

std::unique_ptr<Simulation> NewWindTurbine() { return std::make_unique<WindTurbine>(); }

}  // namespace doppel::sim
