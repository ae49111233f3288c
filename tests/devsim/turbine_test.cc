// Believability of the turbine model, as properties over simulated hours and days.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <optional>

#include "devsim/fleet.h"
#include "devsim/signals.h"
#include "devsim/turbine.h"
#include "devsim_test_util.h"

namespace doppel::devsim {
namespace {

using testing::DemoSpec;
using testing::Midnight;
using testing::SeededOptions;
using std::chrono::seconds;

TurbineSpec OneTurbine() {
  TurbineSpec spec;
  spec.id = "t1";
  spec.site = "s";
  spec.bearing_id = "t1-mainbearing";
  return spec;
}

TEST(PowerCurveTest, ZeroOutsideCutInAndCutOutCubicBetweenFlatAtRated) {
  PowerCurve curve;
  EXPECT_EQ(curve.PowerKw(0.0), 0.0);
  EXPECT_EQ(curve.PowerKw(2.99), 0.0);
  EXPECT_DOUBLE_EQ(curve.PowerKw(7.5), 3600.0 * 0.125);  // half-way: (1/2)^3
  EXPECT_DOUBLE_EQ(curve.PowerKw(12.0), 3600.0);
  EXPECT_DOUBLE_EQ(curve.PowerKw(20.0), 3600.0);
  EXPECT_EQ(curve.PowerKw(25.1), 0.0);
  for (double v = 3.0; v < 12.0; v += 0.25) EXPECT_LT(curve.PowerKw(v), curve.PowerKw(v + 0.25));
}

TEST(TurbineTest, PowerFollowsThePowerCurveAndIsZeroBelowCutIn) {
  TurbineParams params;
  Turbine turbine(OneTurbine(), params, 1, Midnight());
  int below_cut_in = 0, producing = 0;
  TimePoint now = Midnight();
  for (int i = 0; i < 2 * 86400; i += 10) {
    now += seconds(10);
    turbine.Step(now, 10.0);
    const double wind = turbine.wind_speed_ms();
    EXPECT_NEAR(turbine.active_power_kw(), params.curve.PowerKw(wind), 1e-9) << "wind " << wind;
    if (wind < params.curve.cut_in_ms) {
      ++below_cut_in;
      EXPECT_EQ(turbine.active_power_kw(), 0.0);
      EXPECT_EQ(turbine.rotor_speed_rpm(), 0.0);
    } else {
      ++producing;
      EXPECT_GT(turbine.rotor_speed_rpm(), 0.0);
    }
  }
  // The daily cycle and the gusts take the wind through both regimes.
  EXPECT_GT(below_cut_in, 10);
  EXPECT_GT(producing, 1000);
}

TEST(TurbineTest, RotorSpeedNeverExceedsTheLimitAfterADesiredChange) {
  Turbine turbine(OneTurbine(), TurbineParams{}, 3, Midnight());
  ASSERT_TRUE(turbine.ApplyDesired("t1", {{"rotorSpeedLimit", 11.0}}).ok());
  EXPECT_EQ(turbine.rotor_speed_limit_rpm(), 11.0);
  EXPECT_EQ(turbine.state(), "curtailed");
  double max_rotor = 0.0, max_power = 0.0;
  TimePoint now = Midnight();
  for (int i = 0; i < 86400; i += 5) {
    now += seconds(5);
    turbine.Step(now, 5.0);
    max_rotor = std::max(max_rotor, turbine.rotor_speed_rpm());
    max_power = std::max(max_power, turbine.active_power_kw());
  }
  EXPECT_LE(max_rotor, 11.0);
  EXPECT_GT(max_rotor, 10.9);  // the limit binds: there was wind enough to want more
  // Power follows the speed: capped at rated * 11 / 12.6.
  EXPECT_LE(max_power, 3600.0 * 11.0 / 12.6 + 1e-9);
  EXPECT_GT(max_power, 3000.0);
}

TEST(TurbineTest, InvalidDesiredPropertiesAreRejectedAndChangeNothing) {
  Turbine turbine(OneTurbine(), TurbineParams{}, 3, Midnight());
  EXPECT_FALSE(turbine.ApplyDesired("t1", {{"rotorSpeedLimit", -1.0}}).ok());
  EXPECT_FALSE(turbine.ApplyDesired("t1", {{"rotorSpeedLimit", "fast"}}).ok());
  EXPECT_FALSE(turbine.ApplyDesired("t1", {{"rotorSpeedLimit", 9.0}, {"ratedPower", 1.0}}).ok());
  EXPECT_FALSE(turbine.ApplyDesired("t1-mainbearing", {{"cumulativeDamage", 0.0}}).ok());
  EXPECT_EQ(turbine.rotor_speed_limit_rpm(), 12.6);
}

TEST(TurbineTest, BearingTemperatureRelaxesTowardAmbientWhenStopped) {
  Turbine turbine(OneTurbine(), TurbineParams{}, 5, Midnight() + std::chrono::hours(14));
  TimePoint now = Midnight() + std::chrono::hours(14);
  ASSERT_EQ(turbine.HandleCommand("t1", "stop", nullptr).status, 200);
  double gap = std::abs(turbine.bearing_temperature_c() - turbine.ambient_temperature_c());
  for (int minute = 0; minute < 180; minute += 20) {
    for (int s = 0; s < 1200; s += 10) {
      now += seconds(10);
      turbine.Step(now, 10.0);
    }
    const double next_gap = std::abs(turbine.bearing_temperature_c() - turbine.ambient_temperature_c());
    EXPECT_LT(next_gap, gap + 0.05) << "after " << minute + 20 << " min";
    gap = next_gap;
  }
  EXPECT_LT(gap, 0.5);
  EXPECT_EQ(turbine.active_power_kw(), 0.0);
  EXPECT_EQ(turbine.state(), "stopped");
}

// Mean bearing temperature over ambient after three hours in a steady wind.
double BearingRise(double mean_wind) {
  TurbineParams params;
  params.mean_wind_ms = mean_wind;
  params.daily_amplitude_ms = 0.0;
  params.gust_stddev_ms = 0.2;
  params.turbulence_stddev_ms = 0.2;
  params.wind_offset_per_index_ms = 0.0;
  Turbine turbine(OneTurbine(), params, 9, Midnight());
  TimePoint now = Midnight();
  double sum = 0.0;
  int n = 0;
  for (int s = 0; s < 4 * 3600; s += 10) {
    now += seconds(10);
    turbine.Step(now, 10.0);
    if (s >= 3 * 3600) {
      sum += turbine.bearing_temperature_c() - turbine.ambient_temperature_c();
      ++n;
    }
  }
  return sum / n;
}

TEST(TurbineTest, BearingTemperatureRisesWithLoad) {
  const double light = BearingRise(5.0);   // load ≈ 0.03
  const double medium = BearingRise(9.0);  // load ≈ 0.3
  const double full = BearingRise(16.0);   // load = 1
  EXPECT_LT(light, medium);
  EXPECT_LT(medium, full);
  EXPECT_NEAR(full - light, 22.0 * (1.0 - 0.03), 1.5);
}

TEST(TurbineTest, StopStartAndUnknownCommands) {
  Turbine turbine(OneTurbine(), TurbineParams{}, 1, Midnight());
  EXPECT_EQ(turbine.HandleCommand("t1", "stop", "maintenance").status, 200);
  EXPECT_EQ(turbine.rotor_speed_rpm(), 0.0);
  EXPECT_EQ(turbine.pitch_angle_deg(), 90.0);
  EXPECT_EQ(turbine.HandleCommand("t1", "start", nullptr).status, 200);
  EXPECT_EQ(turbine.state(), "running");
  EXPECT_EQ(turbine.HandleCommand("t1", "resetFault", nullptr).status, 409);  // nothing latched
  const CommandResult unknown = turbine.HandleCommand("t1", "selfDestruct", nullptr);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.payload.at("accepted"), false);
  EXPECT_EQ(turbine.HandleCommand("t1-mainbearing", "stop", nullptr).status, 404);
}

TEST(TurbineTest, CurtailCapsPowerUntilCleared) {
  TurbineParams params;
  params.mean_wind_ms = 16.0;
  params.daily_amplitude_ms = 0.0;
  Turbine turbine(OneTurbine(), params, 1, Midnight());
  EXPECT_EQ(turbine.HandleCommand("t1", "curtail", 1500.0).payload, true);
  turbine.Step(Midnight() + seconds(1), 1.0);
  EXPECT_LE(turbine.active_power_kw(), 1500.0);
  EXPECT_EQ(turbine.state(), "curtailed");
  EXPECT_EQ(turbine.HandleCommand("t1", "curtail", "lots").status, 400);
  EXPECT_EQ(turbine.HandleCommand("t1", "curtail", nullptr).status, 200);
  EXPECT_EQ(turbine.state(), "running");
}

TEST(TurbineTest, HighVibrationTripsAFaultThatStartCannotClearButResetFaultCan) {
  TurbineParams params;
  params.vibration_trip_mms = 1.0;  // trip on the fault's first vibration
  params.mean_wind_ms = 14.0;
  params.daily_amplitude_ms = 0.0;
  TurbineSpec spec = OneTurbine();
  spec.bearing_fault = true;
  Turbine turbine(spec, params, 1, Midnight());
  turbine.Step(Midnight() + seconds(1), 1.0);
  ASSERT_EQ(turbine.state(), "fault");
  EXPECT_EQ(turbine.active_fault_code(), "MB-VIB-HIGH");
  turbine.Step(Midnight() + seconds(2), 1.0);
  EXPECT_EQ(turbine.active_power_kw(), 0.0);
  EXPECT_EQ(turbine.HandleCommand("t1", "start", nullptr).status, 409);
  EXPECT_EQ(turbine.HandleCommand("t1", "resetFault", "OTHER-CODE").status, 409);
  EXPECT_EQ(turbine.HandleCommand("t1", "resetFault", "MB-VIB-HIGH").status, 200);
  EXPECT_EQ(turbine.active_fault_code(), "");
  EXPECT_GT(turbine.active_power_kw(), 0.0);
}

// A turbine in a steady wind above rated speed: its rotor runs at whatever limit it is given.
struct DeratingRun {
  double bearing_c = 0;        // true bearing temperature after the run
  double first_vibration = 0;  // the vibration reading one step after the derating
};

DeratingRun RunWithLimit(bool bearing_fault, std::optional<double> derated_limit) {
  TurbineParams params;
  params.mean_wind_ms = 15.0;  // free rotor speed 14 rpm, above any limit used here
  params.daily_amplitude_ms = 0.0;
  params.gust_stddev_ms = 0.2;
  params.turbulence_stddev_ms = 0.2;
  TurbineSpec spec = OneTurbine();
  spec.bearing_fault = bearing_fault;
  // Same id and seed: the same wind and the same noise in every run, so differences are the model's.
  Turbine turbine(spec, params, 11, Midnight());
  TimePoint now = Midnight();
  DeratingRun run;
  if (derated_limit) {
    EXPECT_TRUE(turbine.ApplyDesired("t1", {{"rotorSpeedLimit", *derated_limit}}).ok());
  }
  for (int s = 0; s < 30 * 60; s += 10) {
    now += seconds(10);
    turbine.Step(now, 10.0);
    if (s == 0) run.first_vibration = turbine.vibration_rms_mms();
  }
  EXPECT_EQ(turbine.active_fault_code(), "");  // far below the trip
  EXPECT_NEAR(turbine.rotor_speed_rpm(), derated_limit.value_or(12.6), 1e-9);
  run.bearing_c = turbine.bearing_temperature_c();
  return run;
}

TEST(TurbineTest, DeratingAFaultyTurbineCoolsItsBearingWithinHalfAnHourAndQuietsItAtOnce) {
  const DeratingRun faulty_full = RunWithLimit(true, std::nullopt);
  const DeratingRun faulty_derated = RunWithLimit(true, 8.0);
  const DeratingRun healthy_full = RunWithLimit(false, std::nullopt);
  const DeratingRun healthy_derated = RunWithLimit(false, 8.0);
  // 12.6 → 8 rpm: less load (rise 22 · (1 − 8/12.6) ≈ 8 °C) and less fault heat
  // (9 · 4.6/14 ≈ 3 °C), ~78 % relaxed after 30 min (τ = 20 min).
  EXPECT_LT(faulty_derated.bearing_c, faulty_full.bearing_c - 6.0);
  // The fault's own share of the heat falls with speed: 9 · 12.6/14 = 8.1 °C at full limit,
  // 9 · 8/14 = 5.1 °C derated once relaxed; at least 1.5 °C of the 3 °C after 30 minutes.
  const double fault_heat_full = faulty_full.bearing_c - healthy_full.bearing_c;
  const double fault_heat_derated = faulty_derated.bearing_c - healthy_derated.bearing_c;
  EXPECT_NEAR(fault_heat_full, 9.0 * 12.6 / 14.0, 0.2);
  EXPECT_LT(fault_heat_derated, fault_heat_full - 1.5);
  // Vibration answers on the first step: the fault adds 0.8 · ω/14 mm/s (the noise is the same
  // in both runs, so it cancels).
  EXPECT_NEAR(faulty_full.first_vibration - healthy_full.first_vibration, 0.8 * 12.6 / 14.0, 0.01);
  EXPECT_NEAR(faulty_derated.first_vibration - healthy_derated.first_vibration, 0.8 * 8.0 / 14.0, 0.01);
  EXPECT_LT(faulty_derated.first_vibration, faulty_full.first_vibration - 0.5);
}

TEST(TurbineTest, AStoppedFaultyBearingNeitherRingsNorRunsWarm) {
  TurbineSpec spec = OneTurbine();
  spec.bearing_fault = true;
  Turbine turbine(spec, TurbineParams{}, 5, Midnight());
  ASSERT_EQ(turbine.HandleCommand("t1", "stop", nullptr).status, 200);
  TimePoint now = Midnight();
  for (int s = 0; s < 4 * 3600; s += 10) {
    now += seconds(10);
    turbine.Step(now, 10.0);
  }
  EXPECT_LT(std::abs(turbine.bearing_temperature_c() - turbine.ambient_temperature_c()), 0.5);
  EXPECT_LT(turbine.vibration_rms_mms(), 0.3);
}

// Daily means of one bearing's vibration over `days` simulated days of the demo farm.
std::vector<double> DailyVibration(Fleet& fleet, const std::string& turbine_id, int days) {
  std::vector<double> means;
  for (int day = 0; day < days; ++day) {
    double sum = 0.0;
    for (int minute = 0; minute < 1440; ++minute) {
      fleet.Step(seconds(60));
      sum += fleet.FindTurbine(turbine_id)->vibration_rms_mms();
    }
    means.push_back(sum / 1440);
  }
  return means;
}

TEST(TurbineTest, FaultyBearingVibrationTrendsUpOverDaysWhileHealthyOnesDoNot) {
  Fleet faulty_fleet(DemoSpec("kr-wtg-03"), SeededOptions(7), Midnight());
  Fleet healthy_fleet(DemoSpec(), SeededOptions(7), Midnight());
  const auto faulty = DailyVibration(faulty_fleet, "kr-wtg-03", 5);
  for (std::size_t d = 1; d < faulty.size(); ++d) EXPECT_GT(faulty[d], faulty[d - 1]) << "day " << d;
  EXPECT_GT(faulty.back() - faulty.front(), 1.5);
  for (const char* id : {"kr-wtg-01", "kr-wtg-02", "kr-wtg-04"}) {
    const auto healthy = DailyVibration(healthy_fleet, id, 5);
    for (double mean : healthy) EXPECT_NEAR(mean, healthy.front(), 0.6) << id;
  }
  // The fault also warms the bearing and wears it faster.
  const Turbine& sick = *faulty_fleet.FindTurbine("kr-wtg-03");
  const Turbine& well = *faulty_fleet.FindTurbine("kr-wtg-01");
  EXPECT_GT(well.cumulative_damage(), 0.31);
  EXPECT_GT(sick.cumulative_damage() - 0.58, 5 * (well.cumulative_damage() - 0.31));
  EXPECT_EQ(sick.state(), "curtailed");  // kr-wtg-03 is curtailed in twins.json and stays so
}

}  // namespace
}  // namespace doppel::devsim
