// Physics sanity of the "windTurbine" model: its power curve, the rotor-speed limit, energy and
// heat balances, Palmgren–Miner damage and its effects, and calibration against the device
// simulator's equations (docs/devsim.md), which shadow mode compares it with.
#include "sim/models/wind_turbine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

namespace doppel::sim {
namespace {

constexpr double kRatedKw = 3600.0;
constexpr double kBearingResistance = 5e-3;  // K/W, the default
constexpr double kRotorInertia = 3.5e7;      // kg m², the default
constexpr double kRpm = std::numbers::pi / 30.0;

class Turbine {
 public:
  Turbine() : sim_(NewWindTurbine()) {}
  explicit Turbine(std::unique_ptr<Simulation> sim) : sim_(std::move(sim)) {}

  double Get(const std::string& name) const { return sim_->Get(Index(name)); }
  void Set(const std::string& name, double value) {
    Status status = sim_->Set(Index(name), value);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  void Run(double seconds, double dt = 1.0) {
    for (double t = 0; t < seconds - 1e-9; t += dt) {
      Status status = sim_->Step(dt);
      ASSERT_TRUE(status.ok()) << status.ToString();
    }
  }
  Simulation& sim() { return *sim_; }
  std::size_t Index(const std::string& name) const {
    auto index = sim_->info().Index(name);
    EXPECT_TRUE(index.ok()) << name;
    return index.ok() ? *index : 0;
  }

 private:
  std::unique_ptr<Simulation> sim_;
};

// devsim's steady-state equations (docs/devsim.md), rotor speed limit 12.6 rpm.
double DevsimPowerKw(double v) {
  if (v < 3 || v > 25) return 0;
  if (v >= 12) return kRatedKw;
  return kRatedKw * std::pow((v - 3) / 9, 3);
}
double DevsimRotorRpm(double v) {
  return (v < 3 || v > 25) ? 0 : std::min({14.0, 4 + 0.85 * v, 12.6});
}

// Steady-state active power at wind speed v (rotor started at rest).
double SteadyPowerKw(double v) {
  Turbine t;
  t.Set("windSpeed", v);
  t.Run(120);
  return t.Get("activePower");
}

TEST(WindTurbineTest, ExposesTheDemoTwinsVariableNames) {
  const ModelInfo info = WindTurbineInfo();
  EXPECT_EQ(info.name, "windTurbine");
  const std::vector<std::pair<std::string, Causality>> expected = {
      {"windSpeed", Causality::kInput},
      {"rotorSpeedLimit", Causality::kInput},
      {"ambientTemperature", Causality::kInput},
      {"rotorSpeed", Causality::kState},
      {"bearingTemperature", Causality::kState},
      {"cumulativeDamage", Causality::kState},
      {"nacelleTemperature", Causality::kState},
      {"activePower", Causality::kOutput},
      {"pitchAngle", Causality::kOutput},
      {"vibrationRms", Causality::kOutput},
      {"ratedPower", Causality::kParameter},
      {"rotorDiameter", Causality::kParameter},
      {"ratedLife", Causality::kParameter},
      {"bearingFrictionCoefficient", Causality::kParameter}};
  for (const auto& [name, causality] : expected) {
    auto index = info.Find(name);
    ASSERT_TRUE(index.has_value()) << name;
    EXPECT_EQ(info.variables[*index].causality, causality) << name;
  }
  EXPECT_EQ(info.variables[*info.Find("activePower")].unit, "kW");
  EXPECT_EQ(info.variables[*info.Find("rotorSpeed")].unit, "rpm");
}

TEST(WindTurbineTest, PowerCurveIsMonotoneZeroOutsideAndNeverAboveRated) {
  double previous = 0;
  for (double v = 0; v <= 30; v += 0.5) {
    const double p = SteadyPowerKw(v);
    if (v < 3 || v > 25) {
      EXPECT_EQ(p, 0.0) << "v = " << v;
      continue;
    }
    EXPECT_LE(p, kRatedKw * (1 + 1e-9)) << "v = " << v;
    EXPECT_GE(p, previous - 1e-6) << "v = " << v;
    if (v >= 12) {
      EXPECT_NEAR(p, kRatedKw, 1e-3) << "v = " << v;
    }
    previous = p;
  }
}

TEST(WindTurbineTest, ReproducesTheDeviceSimulatorInSteadyState) {
  for (double v : {4.0, 5.5, 8.0, 10.0, 11.0, 13.0, 20.0}) {
    Turbine t;
    t.Set("windSpeed", v);
    t.Set("ambientTemperature", 12.0);
    t.Run(8 * 3600, 10.0);  // 24 bearing time constants
    const double load = DevsimPowerKw(v) / kRatedKw;
    // Stated: power within 0.1% + 1 W, rotor speed within 0.001 rpm, temperatures within
    // 0.01 °C, vibration within 0.001 mm/s of devsim's noise-free signals.
    EXPECT_NEAR(t.Get("activePower"), DevsimPowerKw(v), 1e-3 * DevsimPowerKw(v) + 1e-3) << v;
    EXPECT_NEAR(t.Get("rotorSpeed"), DevsimRotorRpm(v), 1e-3) << v;
    EXPECT_NEAR(t.Get("bearingTemperature"), 12 + 16 + 22 * load, 0.01) << v;
    EXPECT_NEAR(t.Get("nacelleTemperature"), 12 + 6 + 4 * load, 0.01) << v;
    EXPECT_NEAR(t.Get("vibrationRms"), 0.8 + 1.2 * load, 1e-3) << v;
    EXPECT_NEAR(t.Get("pitchAngle"), std::min(25.0, 2.2 * std::max(0.0, v - 12)), 0.05) << v;
  }
}

TEST(WindTurbineTest, RotorSpeedLimitCapsSpeedAndPower) {
  double previous_power = kRatedKw + 1;
  double previous_pitch = -1;
  for (double limit : {14.0, 12.6, 11.0, 9.0, 6.0}) {
    Turbine t;
    t.Set("windSpeed", 15.0);
    t.Set("rotorSpeed", 12.6);
    t.Set("rotorSpeedLimit", limit);
    t.Run(120);
    const double cap = kRatedKw * std::min(1.0, limit / 12.6);
    EXPECT_LE(t.Get("rotorSpeed"), limit * (1 + 1e-6)) << limit;
    EXPECT_NEAR(t.Get("activePower"), cap, 1e-3 * cap) << limit;  // devsim: 3600·min(1, L/12.6)
    EXPECT_LE(t.Get("activePower"), previous_power + 1e-6) << limit;
    EXPECT_GE(t.Get("pitchAngle"), previous_pitch) << limit;  // the surplus is pitched away
    previous_power = t.Get("activePower");
    previous_pitch = t.Get("pitchAngle");
  }
}

TEST(WindTurbineTest, LoweringTheLimitSlowsTheRotorWithoutOvershoot) {
  Turbine t;
  t.Set("windSpeed", 11.0);
  t.Run(120);
  t.Set("rotorSpeedLimit", 8.0);
  double previous = t.Get("rotorSpeed");
  for (int i = 0; i < 60; ++i) {
    t.Run(1);
    EXPECT_LE(t.Get("rotorSpeed"), previous + 1e-9);
    EXPECT_GE(t.Get("rotorSpeed"), 8.0 - 1e-6);
    previous = t.Get("rotorSpeed");
  }
  EXPECT_NEAR(t.Get("rotorSpeed"), 8.0, 1e-3);
  t.Set("rotorSpeedLimit", 0.0);  // a zero limit stops the turbine
  t.Run(120);
  EXPECT_EQ(t.Get("activePower"), 0.0);
  EXPECT_LT(t.Get("rotorSpeed"), 0.01);
  EXPECT_EQ(t.Get("pitchAngle"), 90.0);
}

TEST(WindTurbineTest, PowerBalanceHoldsAtEveryStepOfAGust) {
  Turbine t;
  t.Set("windSpeed", 6.0);
  t.Run(60);
  for (int i = 0; i < 40; ++i) {
    t.Set("windSpeed", 6.0 + 0.2 * i);  // a gust rising 0.2 m/s per second
    t.Run(1);
    const double aero = t.Get("aerodynamicPower");
    const double out = t.Get("activePower") + t.Get("drivetrainLoss") +
                       t.Get("bearingFrictionLoss") + t.Get("rotorKineticPower");
    EXPECT_NEAR(aero, out, 1e-9 * std::abs(aero) + 1e-9);
    // Gearbox 0.97 and generator 0.96: losses are the rest of the shaft power.
    EXPECT_NEAR(t.Get("drivetrainLoss"), t.Get("activePower") * (1 / (0.97 * 0.96) - 1),
                1e-9 * aero + 1e-9);
  }
  // While the rotor speeds up it stores energy; at steady state it stores none.
  t.Run(120);
  EXPECT_NEAR(t.Get("rotorKineticPower"), 0.0, 1e-3);
}

TEST(WindTurbineTest, KineticPowerIntegratesToTheRotorsEnergyChange) {
  Turbine t;
  t.Set("windSpeed", 10.0);
  t.Run(120);
  const double w0 = t.Get("rotorSpeed") * kRpm;
  t.Set("windSpeed", 30.0);  // above cut-out: feather and coast down
  double energy_kj = 0, previous_kw = t.Get("rotorKineticPower");
  // The first output after the input change is evaluated at the new inputs; integrate the
  // kinetic power with the trapezoid rule over 0.01-s steps.
  {
    Status s = t.sim().Step(1e-9);
    ASSERT_TRUE(s.ok());
    previous_kw = t.Get("rotorKineticPower");
  }
  for (int i = 0; i < 3000; ++i) {
    t.Run(0.01, 0.01);
    energy_kj += 0.5 * (previous_kw + t.Get("rotorKineticPower")) * 0.01;
    previous_kw = t.Get("rotorKineticPower");
  }
  const double w1 = t.Get("rotorSpeed") * kRpm;
  const double expected_kj = 0.5 * kRotorInertia * (w1 * w1 - w0 * w0) / 1e3;
  EXPECT_LT(expected_kj, -20000.0);  // ~30 MJ of rotor energy
  EXPECT_NEAR(energy_kj, expected_kj, 1e-3 * std::abs(expected_kj));
}

TEST(WindTurbineTest, BearingHeatBalanceAtSteadyState) {
  Turbine t;
  t.Set("windSpeed", 9.0);
  t.Set("ambientTemperature", 5.0);
  t.Run(30000, 60.0);
  const double heat_in_w = t.Get("bearingFrictionLoss") * 1e3;
  const double heat_out_w = (t.Get("bearingTemperature") - 5.0) / kBearingResistance;
  EXPECT_NEAR(heat_in_w, heat_out_w, 1e-4 * heat_in_w);
}

TEST(WindTurbineTest, DamageIsMonotoneAndFasterUnderHigherLoad) {
  Turbine low, high;
  low.Set("windSpeed", 8.0);
  high.Set("windSpeed", 13.0);
  double low_prev = 0, high_prev = 0;
  for (int minute = 0; minute < 24 * 60; ++minute) {
    low.Run(60, 60);
    high.Run(60, 60);
    EXPECT_GE(low.Get("cumulativeDamage"), low_prev);
    EXPECT_GE(high.Get("cumulativeDamage"), high_prev);
    low_prev = low.Get("cumulativeDamage");
    high_prev = high.Get("cumulativeDamage");
  }
  // Palmgren–Miner at rated load and speed: one day of a 175 000 h life (less the first
  // seconds of spin-up).
  EXPECT_NEAR(high_prev, 24.0 / 175000.0, 1e-3 * 24.0 / 175000.0);
  // Load^3 × revolutions: at 8 m/s load 0.1715 and 10.8/12.6 of rated speed.
  const double load = std::pow(5.0 / 9.0, 3);
  EXPECT_NEAR(low_prev / high_prev, load * load * load * 10.8 / 12.6, 1e-2 * load * load * load);
  EXPECT_GT(high_prev, 100 * low_prev);

  // A developing fault multiplies the rate.
  Turbine faulty;
  faulty.Set("windSpeed", 13.0);
  faulty.Set("damageRateFactor", 20.0);
  faulty.Run(24 * 3600, 60);
  EXPECT_NEAR(faulty.Get("cumulativeDamage"), 20 * high_prev, 1e-3 * 20 * high_prev);
}

TEST(WindTurbineTest, DamageRaisesFrictionTemperatureAndVibration) {
  const auto run = [](double damage) {
    Turbine t;
    t.Set("windSpeed", 10.0);
    t.Set("cumulativeDamage", damage);
    t.Run(6 * 3600, 30.0);
    return std::array<double, 6>{t.Get("bearingFrictionLoss"),
                                 t.Get("bearingTemperature"),
                                 t.Get("vibrationRms"),
                                 t.Get("activePower"),
                                 t.Get("load"),
                                 t.Get("cumulativeDamage")};
  };
  const auto healthy = run(0.0);
  const auto worn = run(0.3);  // below the 0.5 onset: a healthy bearing still
  const auto damaged = run(0.9);
  const auto failing = run(1.5);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(worn[i], healthy[i], 1e-6 * healthy[i] + 1e-6) << i;
    EXPECT_GT(damaged[i], healthy[i]) << i;
    EXPECT_GT(failing[i], damaged[i]) << i;
  }
  // 1.5 − 0.5 onset ≈ 1 unit of excess (plus what 6 h added): friction ×(1 + 2·excess),
  // vibration +6 mm/s per unit, both at the failing bearing's (slightly lower) load. Healthy
  // friction is μ·(F0 + F1·load)·d/2·ω_rated.
  const double excess = failing[5] - 0.5;
  const double lever_kw = 0.005 * 0.97 / 2 * 12.6 * kRpm;  // kW per kN
  EXPECT_NEAR(failing[0], (1 + 2 * excess) * lever_kw * (1000 + 1375 * failing[4]), 1e-9);
  EXPECT_NEAR(failing[2], 0.8 + 1.2 * failing[4] + 6.0 * excess, 1e-9);
  // The extra friction costs a little power.
  EXPECT_LT(failing[3], healthy[3]);
  EXPECT_GT(failing[3], 0.99 * healthy[3]);
}

TEST(WindTurbineTest, HeierCpModelTracksOptimalTipSpeedRatio) {
  Turbine t;
  t.Set("aerodynamicModel", 1);
  t.Set("windSpeed", 6.0);
  t.Run(300);
  EXPECT_NEAR(t.Get("tipSpeedRatio"), 8.1, 0.01);
  EXPECT_EQ(t.Get("pitchAngle"), 0.0);
  // Heier's curve peaks near Cp 0.48 at λ ≈ 8.1, β = 0.
  const double wind_kw = 0.5 * 1.225 * std::numbers::pi * 75 * 75 * 216 / 1e3;
  EXPECT_NEAR(t.Get("aerodynamicPower") / wind_kw, 0.48, 0.01);
  // Above rated the rotor holds rated power and pitches.
  t.Set("windSpeed", 16.0);
  t.Run(300);
  EXPECT_NEAR(t.Get("activePower"), kRatedKw, 1e-3 * kRatedKw);
  EXPECT_GT(t.Get("pitchAngle"), 5.0);
  EXPECT_LE(t.Get("rotorSpeed"), 12.6 + 1e-6);
}

TEST(WindTurbineTest, CloneIsIndependentAndComplete) {
  Turbine original;
  original.Set("windSpeed", 9.0);
  original.Set("cumulativeDamage", 0.7);
  original.Run(300);
  auto copy_result = original.sim().Clone();
  ASSERT_TRUE(copy_result.ok());
  Turbine copy(std::move(*copy_result));
  EXPECT_EQ(copy.sim().time(), original.sim().time());
  // Same inputs: bit-identical trajectories (every state, parameter and solver setting copied).
  original.Run(100);
  copy.Run(100);
  for (const auto& variable : WindTurbineInfo().variables) {
    EXPECT_EQ(copy.Get(variable.name), original.Get(variable.name)) << variable.name;
  }
  // Different inputs: stepping one never changes the other.
  const double before = original.Get("activePower");
  copy.Set("windSpeed", 14.0);
  copy.Set("ratedPower", 2000.0);
  copy.Run(100);
  EXPECT_EQ(original.Get("activePower"), before);
  EXPECT_EQ(original.Get("ratedPower"), 3600.0);
  EXPECT_NE(copy.Get("activePower"), before);
}

// Deterministic pseudo-random numbers in [-1, 1) (splitmix64), for wind series.
double Jitter(uint64_t i) {
  uint64_t z = (i + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-52 - 1.0;
}

// Gusty wind, one value per minute: an AR(1) around 9 m/s with σ ≈ 4 m/s, so it crosses cut-in,
// rated and (briefly) cut-out, with minute-to-minute jumps of several m/s.
std::vector<double> GustyMinutes(int minutes) {
  std::vector<double> wind(minutes);
  double gust = 0;
  for (int i = 0; i < minutes; ++i) {
    gust = 0.9 * gust + 3.0 * Jitter(static_cast<uint64_t>(i));
    wind[i] = std::clamp(9.0 + gust, 0.0, 30.0);
  }
  return wind;
}

// Worst per-minute disagreement between a turbine stepped 60 × 1 s and one stepped 60 s.
struct Disagreement {
  double power_kw = 0, rotor_rpm = 0, bearing_c = 0, nacelle_c = 0, damage_rel = 0;
};

// Steps a 60-s turbine and a 1-s twin of it through `wind` (held per minute), applying
// `before_minute(minute, turbine)` to both first, and returns their worst disagreement.
template <typename Hook>
Disagreement CompareCoarseWithFine(Turbine& coarse, Turbine& fine, const std::vector<double>& wind,
                                   Hook before_minute) {
  Disagreement worst;
  const double damage_start = fine.Get("cumulativeDamage");
  for (std::size_t minute = 0; minute < wind.size(); ++minute) {
    for (Turbine* t : {&coarse, &fine}) {
      t->Set("windSpeed", wind[minute]);
      before_minute(minute, *t);
    }
    coarse.Run(60, 60);
    fine.Run(60, 1);
    const auto track = [&](double& max, const char* name, double scale) {
      max = std::max(max, std::abs(coarse.Get(name) - fine.Get(name)) / scale);
    };
    track(worst.power_kw, "activePower", 1.0);
    track(worst.rotor_rpm, "rotorSpeed", 1.0);
    track(worst.bearing_c, "bearingTemperature", 1.0);
    track(worst.nacelle_c, "nacelleTemperature", 1.0);
    // Damage relative to what has accrued since the start.
    track(worst.damage_rel, "cumulativeDamage",
          std::max(1e-12, fine.Get("cumulativeDamage") - damage_start));
  }
  return worst;
}

// Steps of ≥ 5 rotor response times take a closed-form path (rotor settled exponentially or
// power-limited, slow states as exact linear lags); it must agree with the error-controlled
// solver stepping 1 s, minute by minute, through gusts, a curtailment, a stop and a restart
// (which falls back to the solver), on a bearing past damage onset.
TEST(WindTurbineTest, CoarseStepsAgreeWithFineStepsMinuteByMinute) {
  Turbine coarse, fine;
  for (Turbine* t : {&coarse, &fine}) {
    t->Set("cumulativeDamage", 0.9);
    t->Set("damageRateFactor", 20.0);
    t->Set("rotorSpeed", 11.0);
    t->Set("bearingTemperature", 40.0);
  }
  const auto schedule = [](std::size_t minute, Turbine& t) {
    if (minute == 120) t.Set("rotorSpeedLimit", 9.0);   // curtailed for an hour
    if (minute == 180) t.Set("rotorSpeedLimit", 0.0);   // stopped for 20 minutes
    if (minute == 200) t.Set("rotorSpeedLimit", 12.6);  // restarted
    if (minute == 300) t.Set("ambientTemperature", 30.0);
  };
  const Disagreement worst = CompareCoarseWithFine(coarse, fine, GustyMinutes(6 * 60), schedule);
  // Stated: power 0.5 kW, rotor speed 0.001 rpm, temperatures 0.01 °C, damage 0.5 % of what
  // accrued since the start. (Measured: 0.03 kW, 1·10⁻⁴ rpm, 0.0025 °C, 10⁻⁴ °C, 0.15 % — see
  // AnHourLongStepMatchesOneSecondSteps for where damage differs. The rotor-speed difference is
  // the solver's own, from restarts below minRotorSpeed that both sides integrate, carried along
  // by the power-limited acceleration that follows, which has no restoring force.)
  EXPECT_LT(worst.power_kw, 0.5);
  EXPECT_LT(worst.rotor_rpm, 1e-3);
  EXPECT_LT(worst.bearing_c, 0.01);
  EXPECT_LT(worst.nacelle_c, 0.01);
  EXPECT_LT(worst.damage_rel, 5e-3);
}

// The Cp model takes the closed form only while the rotor tracks (its available power depends
// on ω, so a power-limited rotor goes to the solver). The wind stays between 4 and 24 m/s: a
// Cp-model rotor that has stopped does not restart, on either path (docs/simulation-models.md).
TEST(WindTurbineTest, CoarseStepsAgreeWithFineStepsInTheCpModel) {
  Turbine coarse, fine;
  for (Turbine* t : {&coarse, &fine}) {
    t->Set("aerodynamicModel", 1);
    t->Set("cumulativeDamage", 0.9);
    t->Set("rotorSpeed", 9.0);
    t->Set("bearingTemperature", 40.0);
  }
  std::vector<double> wind = GustyMinutes(6 * 60);
  for (double& v : wind) v = std::clamp(v, 4.0, 24.0);
  const auto schedule = [](std::size_t minute, Turbine& t) {
    if (minute == 120) t.Set("rotorSpeedLimit", 9.0);
    if (minute == 180) t.Set("rotorSpeedLimit", 12.6);
  };
  const Disagreement worst = CompareCoarseWithFine(coarse, fine, wind, schedule);
  // Stated as above. (Measured: 0.014 kW, 1.4·10⁻⁵ rpm, 0.0022 °C, 1.6·10⁻⁴ °C, 0.04 %.)
  EXPECT_LT(worst.power_kw, 0.5);
  EXPECT_LT(worst.rotor_rpm, 1e-3);
  EXPECT_LT(worst.bearing_c, 0.01);
  EXPECT_LT(worst.nacelle_c, 0.01);
  EXPECT_LT(worst.damage_rel, 5e-3);
}

// A what-if week at 1-minute steps against the same week at 1-s steps: wind at 10-minute
// resolution (diurnal and synoptic swings plus gusts) interpolated and held per minute. Energy is
// integrated from 1-s samples on the fine side (the truth, transients included) and from the
// 1-minute samples on the coarse side, as a scenario records it.
TEST(WindTurbineTest, AWeekOfCoarseStepsKeepsEnergyAndDamage) {
  constexpr int kMinutes = 7 * 24 * 60;
  std::vector<double> wind(kMinutes);
  for (int i = 0; i < kMinutes; ++i) {
    const auto at = [](int ten) {
      const double t = ten * 600.0;
      return std::max(0.0, 8.5 + 1.5 * std::sin(2 * std::numbers::pi * t / 86400) +
                               4 * std::sin(2 * std::numbers::pi * t / (3.3 * 86400)) +
                               1.5 * Jitter(static_cast<uint64_t>(ten)));
    };
    const double f = (i % 10) / 10.0;
    wind[i] = (1 - f) * at(i / 10) + f * at(i / 10 + 1);
  }
  Turbine coarse, fine;
  for (Turbine* t : {&coarse, &fine}) {
    t->Set("rotorSpeed", 11.0);
    t->Set("bearingTemperature", 40.0);
    t->Set("rotorSpeedLimit", 0.8 * 12.6);
  }
  double coarse_kwh = 0, fine_kwh = 0, coarse_peak = 0, fine_peak = 0;
  for (int minute = 0; minute < kMinutes; ++minute) {
    coarse.Set("windSpeed", wind[minute]);
    fine.Set("windSpeed", wind[minute]);
    coarse.Run(60, 60);
    coarse_kwh += coarse.Get("activePower") / 60;
    coarse_peak = std::max(coarse_peak, coarse.Get("bearingTemperature"));
    for (int s = 0; s < 60; ++s) {
      fine.Run(1, 1);
      fine_kwh += fine.Get("activePower") / 3600;
      fine_peak = std::max(fine_peak, fine.Get("bearingTemperature"));
    }
  }
  // Stated: energy within 0.1 %, damage within 0.01 %, peak bearing temperature within 0.01 °C.
  // (Measured: 1.2·10⁻⁵, 7·10⁻⁸ and < 0.001 °C. Energy differs only because the 1-minute samples
  // miss the rotor's kinetic exchanges within each minute, which nearly cancel over a week.)
  EXPECT_GT(fine_kwh, 100e3);  // a substantial week: > 100 MWh
  EXPECT_NEAR(coarse_kwh, fine_kwh, 1e-3 * fine_kwh);
  EXPECT_NEAR(coarse.Get("cumulativeDamage"), fine.Get("cumulativeDamage"),
              1e-4 * fine.Get("cumulativeDamage"));
  EXPECT_NEAR(coarse_peak, fine_peak, 0.01);
}

// One coarse step may be long (a forecast stepping hours at a time): the rotor's transient is
// folded in at the start of the step, the slow lags are solved exactly over the rest.
TEST(WindTurbineTest, AnHourLongStepMatchesOneSecondSteps) {
  for (double new_wind : {10.0, 4.5, 14.0, 2.0}) {  // limited then tracking; slowing; rated; stop
    Turbine coarse, fine;
    for (Turbine* t : {&coarse, &fine}) {
      t->Set("windSpeed", 6.0);
      t->Set("rotorSpeed", 9.1);
      t->Set("bearingTemperature", 30.0);
      t->Set("cumulativeDamage", 0.8);
      t->Set("windSpeed", new_wind);
      t->Set("ambientTemperature", 20.0);
    }
    coarse.Run(3600, 3600);
    fine.Run(3600, 1);
    // Stated: 0.1 kW, 0.001 rpm, 0.01 °C, 0.5 % of the damage accrued. (Measured: < 10⁻¹¹ kW,
    // < 10⁻¹⁴ rpm, 3·10⁻⁴ °C, 0.2 % — when the rotor slows from 9.1 to 7.8 rpm in 4.5 m/s wind
    // nearly all of the hour's damage accrues in the seconds the generator spends at its cap
    // unloading the rotor, where the quadrature meets the cap's kink.)
    EXPECT_NEAR(coarse.Get("activePower"), fine.Get("activePower"), 0.1) << new_wind;
    EXPECT_NEAR(coarse.Get("rotorSpeed"), fine.Get("rotorSpeed"), 1e-3) << new_wind;
    EXPECT_NEAR(coarse.Get("bearingTemperature"), fine.Get("bearingTemperature"), 0.01) << new_wind;
    EXPECT_NEAR(coarse.Get("nacelleTemperature"), fine.Get("nacelleTemperature"), 0.01) << new_wind;
    EXPECT_NEAR(coarse.Get("cumulativeDamage"), fine.Get("cumulativeDamage"),
                5e-3 * (fine.Get("cumulativeDamage") - 0.8) + 1e-15)
        << new_wind;
  }
}

TEST(WindTurbineTest, SetChecksRangesCausalityAndIndices) {
  Turbine t;
  Status low = t.sim().Set(t.Index("windSpeed"), -3.0);
  EXPECT_EQ(low.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(low.message(), "windSpeed = -3 is below its minimum 0");
  EXPECT_EQ(t.sim().Set(t.Index("rotorSpeedLimit"), 31.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.sim().Set(t.Index("windSpeed"), std::nan("")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.sim().Set(t.Index("activePower"), 100.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.sim().Set(WindTurbineInfo().variables.size(), 1.0).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(t.Get("windSpeed"), 0.0);  // refused values leave the old one
  // States are writable (a state estimator corrects them) and read back in their units.
  t.Set("rotorSpeed", 10.5);
  t.Set("bearingTemperature", 44.0);
  EXPECT_DOUBLE_EQ(t.Get("rotorSpeed"), 10.5);
  EXPECT_EQ(t.Get("bearingTemperature"), 44.0);
  EXPECT_EQ(t.sim().Step(0.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.sim().Step(-1.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.sim().time(), 0.0);
}

TEST(WindTurbineTest, StoppedTurbineCoolsAndRestsQuietly) {
  Turbine t;
  t.Set("windSpeed", 10.0);
  t.Run(3600, 10);
  EXPECT_GT(t.Get("bearingTemperature"), 35.0);
  t.Set("windSpeed", 1.0);  // below cut-in
  t.Run(6 * 3600, 60);
  EXPECT_EQ(t.Get("activePower"), 0.0);
  EXPECT_NEAR(t.Get("bearingTemperature"), 12.0, 0.01);
  EXPECT_NEAR(t.Get("vibrationRms"), 0.1, 1e-3);
  EXPECT_EQ(t.Get("pitchAngle"), 90.0);
  EXPECT_NEAR(t.sim().time(), 3600 + 6 * 3600, 1e-6);
}

}  // namespace
}  // namespace doppel::sim
