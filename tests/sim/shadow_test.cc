#include "sim/shadow.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "sim/models/wind_turbine.h"
#include "sim/thermal_test_model.h"

namespace doppel::sim {
namespace {

using testing::HeaterPowerAt;
using testing::ThermalAsset;
using testing::ThermalTestModel;

constexpr double kDt = 5.0;
constexpr double kNoise = 0.2;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ShadowConfig TrackingConfig(double heat_transfer_process_stddev) {
  return {.inputs = {"heaterPower", "ambientTemperature"},
          .estimation = {.estimated = {{.name = "coreTemperature", .initial_stddev = 10, .process_stddev = 0.01},
                                       {.name = "surfaceTemperature", .initial_stddev = 1, .process_stddev = 0.01},
                                       {.name = "heatTransfer", .initial_stddev = 5,
                                        .process_stddev = heat_transfer_process_stddev, .initial_value = 5.0}},
                         .measured = {{.name = "surfaceTemperature", .noise_stddev = kNoise}},
                         .derived = {"coreTemperature", "heatLoss"}}};
}

// States only: the model's parameters are taken as given, so a changed asset shows in the
// residuals instead of being absorbed.
ShadowConfig StatesOnlyConfig() {
  return {.inputs = {"heaterPower", "ambientTemperature"},
          .estimation = {.estimated = {{.name = "coreTemperature", .initial_stddev = 1, .process_stddev = 0.001},
                                       {.name = "surfaceTemperature", .initial_stddev = 1, .process_stddev = 0.001}},
                         .measured = {{.name = "surfaceTemperature", .noise_stddev = kNoise}}}};
}

std::unique_ptr<ShadowTracker> NewTracker(ShadowConfig config) {
  auto tracker = ShadowTracker::Create(std::make_unique<ThermalTestModel>(), std::move(config));
  EXPECT_TRUE(tracker.ok()) << tracker.status().ToString();
  return std::move(tracker).value();
}

// Feeds the tracker one reading from the asset, the way ingest would.
struct Feed {
  Feed(ShadowTracker& t, uint64_t seed) : tracker(t), asset(seed, kNoise), update(t.NewUpdate()) {
    double inputs[] = {HeaterPowerAt(0), 20.0};
    double measured[] = {asset.truth.Get(ThermalTestModel::kSurfaceTemperature)};
    EXPECT_TRUE(tracker.Observe(asset.t, inputs, measured, 1, update).ok());
  }
  void Next() {
    double measured[] = {asset.Advance(kDt)};
    double inputs[] = {HeaterPowerAt(asset.t), 20.0};
    Status status = tracker.Observe(asset.t, inputs, measured, 1, update);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  ShadowTracker& tracker;
  ThermalAsset asset;
  ShadowUpdate update;
};

TEST(ShadowTest, FirstObservationAnchorsTimeWithoutAResidual) {
  auto tracker = NewTracker(TrackingConfig(0));
  auto update = tracker->Observe(100.0, {{"heaterPower", 400.0}}, {{"surfaceTemperature", 20.3}});
  ASSERT_TRUE(update.ok()) << update.status().ToString();
  EXPECT_TRUE(update->restarted);
  EXPECT_FALSE(update->filtered);
  EXPECT_TRUE(std::isnan(update->residual[0]));
  EXPECT_DOUBLE_EQ(update->measured[0], 20.3);
  EXPECT_DOUBLE_EQ(tracker->time_s(), 100.0);
  EXPECT_DOUBLE_EQ(tracker->model().Get(ThermalTestModel::kHeaterPower), 400.0);

  update = tracker->Observe(105.0, {}, {{"surfaceTemperature", 20.5}});
  ASSERT_TRUE(update.ok());
  EXPECT_FALSE(update->restarted);
  EXPECT_TRUE(update->filtered);
  EXPECT_DOUBLE_EQ(update->residual[0], 20.5 - update->expected[0]);
  EXPECT_GT(update->expected_stddev[0], kNoise);
}

// The acceptance test: an asset whose heat-transfer coefficient drifts by 60% over
// four hours (fouling, say) is tracked.
TEST(ShadowTest, TracksADriftingHiddenParameter) {
  auto tracker = NewTracker(TrackingConfig(/*heat_transfer_process_stddev=*/0.02));
  Feed feed(*tracker, /*seed=*/7);
  const int steps = 4 * 3600 / static_cast<int>(kDt);
  int inside = 0, counted = 0;
  for (int i = 0; i < steps; ++i) {
    feed.asset.set_heat_transfer(8.0 + 6.0 * i / steps);  // 8 → 14 W/K
    ASSERT_NO_FATAL_FAILURE(feed.Next());
    if (i < steps / 4) continue;  // first hour: converging from the 5 W/K guess
    const Estimate& h = feed.update.estimates[2];
    ++counted;
    if (std::abs(h.value - feed.asset.heat_transfer()) <= 2 * h.stddev) ++inside;
  }
  const Estimate& h = feed.update.estimates[2];
  EXPECT_NEAR(h.value, feed.asset.heat_transfer(), 0.5);  // within ~4% at the end
  EXPECT_GE(static_cast<double>(inside) / counted, 0.8) << inside << " of " << counted;
}

TEST(ShadowTest, ResidualsAreZeroMeanForAMatchingModelAndGrowWhenTheAssetDiverges) {
  auto tracker = NewTracker(StatesOnlyConfig());
  Feed feed(*tracker, /*seed=*/11);
  feed.asset.set_heat_transfer(10.0);  // same as the model's default
  std::vector<double> before, after;
  for (int i = 0; i < 1440; ++i) {
    ASSERT_NO_FATAL_FAILURE(feed.Next());
    if (i >= 120) before.push_back(feed.update.residual[0]);
  }
  feed.asset.set_heat_transfer(20.0);  // the asset changes; the model does not know
  for (int i = 0; i < 1440; ++i) {
    ASSERT_NO_FATAL_FAILURE(feed.Next());
    after.push_back(feed.update.residual[0]);
  }
  auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); };
  auto rms = [](const std::vector<double>& v) {
    return std::sqrt(std::inner_product(v.begin(), v.end(), v.begin(), 0.0) / v.size());
  };
  // Matching: zero mean within ~4 standard errors, scatter at the expected level.
  EXPECT_NEAR(mean(before), 0.0, 4 * rms(before) / std::sqrt(before.size()));
  EXPECT_LT(rms(before), 2 * kNoise);
  EXPECT_GT(rms(after), 1.5 * rms(before)) << rms(before) << " → " << rms(after);
}

TEST(ShadowTest, VirtualSensorForAnUnmeasuredStateHasShrinkingUncertainty) {
  auto tracker = NewTracker(TrackingConfig(0));
  Feed feed(*tracker, /*seed=*/3);
  const double first = feed.update.virtual_sensors[0].stddev;
  EXPECT_DOUBLE_EQ(first, 10.0);  // nothing predicted yet: the prior of the estimated state
  EXPECT_TRUE(std::isnan(feed.update.virtual_sensors[1].stddev));  // heatLoss: not known yet
  ASSERT_NO_FATAL_FAILURE(feed.Next());
  const double early = feed.update.virtual_sensors[0].stddev;
  for (int i = 0; i < 720; ++i) ASSERT_NO_FATAL_FAILURE(feed.Next());
  const Estimate& core = feed.update.virtual_sensors[0];
  EXPECT_LT(core.stddev, early / 5);
  double truth = feed.asset.truth.Get(ThermalTestModel::kCoreTemperature);
  EXPECT_LT(std::abs(core.value - truth), std::max(3 * core.stddev, 0.3));
  // The virtual sensor of an estimated state agrees with its estimate.
  EXPECT_NEAR(core.value, feed.update.estimates[0].value, 1e-6);
}

TEST(ShadowTest, BadReadingsAreRefusedAndDoNotCorruptTheEstimate) {
  auto tracker = NewTracker(TrackingConfig(0));
  Feed feed(*tracker, /*seed=*/5);
  for (int i = 0; i < 50; ++i) ASSERT_NO_FATAL_FAILURE(feed.Next());
  const std::string before = tracker->SaveJson();
  const double t = tracker->time_s();

  auto nan = tracker->Observe(t + kDt, {}, {{"surfaceTemperature", kNaN}});
  EXPECT_EQ(nan.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(nan.status().message().find("surfaceTemperature"), std::string::npos);
  auto old = tracker->Observe(t - 1, {}, {{"surfaceTemperature", 25.0}});
  EXPECT_EQ(old.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(old.status().message().find("not after"), std::string::npos) << old.status().message();
  auto duplicate = tracker->Observe(t, {}, {{"surfaceTemperature", 25.0}});
  EXPECT_EQ(duplicate.status().code(), StatusCode::kInvalidArgument);
  auto unknown = tracker->Observe(t + kDt, {}, {{"bogus", 25.0}});
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  auto range = tracker->Observe(t + kDt, {{"heaterPower", -5.0}}, {{"surfaceTemperature", 25.0}});
  EXPECT_EQ(range.status().code(), StatusCode::kInvalidArgument);
  auto infinite_time = tracker->Observe(std::numeric_limits<double>::infinity(), {}, {});
  EXPECT_EQ(infinite_time.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tracker->SaveJson(), before);  // nothing moved

  for (int i = 0; i < 10; ++i) ASSERT_NO_FATAL_FAILURE(feed.Next());  // still tracks
  EXPECT_TRUE(feed.update.filtered);
}

TEST(ShadowTest, ReadingWithoutMeasurementsOnlyPredicts) {
  auto tracker = NewTracker(TrackingConfig(/*heat_transfer_process_stddev=*/0.01));
  Feed feed(*tracker, /*seed=*/5);
  // Past the first readings, whose sigma points are clamped at heatTransfer's minimum (which
  // narrows their spread).
  for (int i = 0; i < 100; ++i) ASSERT_NO_FATAL_FAILURE(feed.Next());
  const double stddev = feed.update.estimates[2].stddev;
  auto update = tracker->Observe(tracker->time_s() + kDt, {{"heaterPower", 400.0}}, {});
  ASSERT_TRUE(update.ok());
  EXPECT_FALSE(update->filtered);
  EXPECT_TRUE(std::isfinite(update->expected[0]));
  EXPECT_TRUE(std::isnan(update->residual[0]));
  // No data: the parameter's uncertainty only grows by its random walk. (A state's may still
  // shrink — the dynamics pull the core temperature towards the well-known surface.)
  EXPECT_NEAR(update->estimates[2].stddev, std::sqrt(stddev * stddev + 1e-4 * kDt), 1e-9);
}

TEST(ShadowTest, LongGapRestartsWithStatesUncertainAndParametersKept) {
  auto tracker = NewTracker(TrackingConfig(/*heat_transfer_process_stddev=*/0.001));
  Feed feed(*tracker, /*seed=*/9);
  for (int i = 0; i < 720; ++i) ASSERT_NO_FATAL_FAILURE(feed.Next());
  const Estimate h = feed.update.estimates[2];
  auto update = tracker->Observe(tracker->time_s() + 2 * 3600, {}, {{"surfaceTemperature", 25.0}});
  ASSERT_TRUE(update.ok());
  EXPECT_TRUE(update->restarted);
  EXPECT_FALSE(update->filtered);
  EXPECT_DOUBLE_EQ(update->estimates[0].stddev, 10.0);  // core temperature: back to its prior
  EXPECT_DOUBLE_EQ(update->estimates[2].value, h.value);
  EXPECT_NEAR(update->estimates[2].stddev, std::sqrt(h.stddev * h.stddev + 1e-6 * 7200), 1e-9);
}

TEST(ShadowTest, SaveAndRestoreRoundTrip) {
  auto original = NewTracker(TrackingConfig(0.01));
  Feed feed(*original, /*seed=*/21);
  for (int i = 0; i < 200; ++i) ASSERT_NO_FATAL_FAILURE(feed.Next());
  const std::string saved = original->SaveJson();

  auto restored = NewTracker(TrackingConfig(0.01));
  Status status = restored->RestoreJson(saved);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(restored->SaveJson(), saved);
  EXPECT_DOUBLE_EQ(restored->time_s(), original->time_s());

  // Both continue identically on the same readings.
  ShadowUpdate copy = restored->NewUpdate();
  for (int i = 0; i < 50; ++i) {
    ASSERT_NO_FATAL_FAILURE(feed.Next());
    double inputs[] = {HeaterPowerAt(feed.asset.t), 20.0};
    ASSERT_TRUE(restored->Observe(feed.asset.t, inputs, feed.update.measured, 1, copy).ok());
    ASSERT_DOUBLE_EQ(copy.expected[0], feed.update.expected[0]);
    ASSERT_DOUBLE_EQ(copy.estimates[2].value, feed.update.estimates[2].value);
    ASSERT_DOUBLE_EQ(copy.estimates[2].stddev, feed.update.estimates[2].stddev);
  }
}

TEST(ShadowTest, RestoreRefusesForeignOrCorruptStateAndChangesNothing) {
  auto tracker = NewTracker(TrackingConfig(0.01));
  Feed feed(*tracker, /*seed=*/2);
  for (int i = 0; i < 20; ++i) ASSERT_NO_FATAL_FAILURE(feed.Next());
  const std::string saved = tracker->SaveJson();
  auto other = NewTracker(StatesOnlyConfig());
  EXPECT_EQ(other->RestoreJson(saved).code(), StatusCode::kInvalidArgument);  // other variables

  auto replace = [&](std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  const std::string before = tracker->SaveJson();
  EXPECT_FALSE(tracker->RestoreJson("{").ok());
  EXPECT_FALSE(tracker->RestoreJson(replace(saved, "thermalTest", "windTurbine")).ok());
  EXPECT_FALSE(tracker->RestoreJson(replace(saved, "\"covariance\":[[", "\"covariance\":[[-1e9,")).ok());
  EXPECT_FALSE(tracker->RestoreJson(replace(saved, "\"heaterPower\":", "\"heaterPower\":-1,\"x\":")).ok());
  EXPECT_EQ(tracker->SaveJson(), before);
}

TEST(ShadowTest, ForksStartFromTheEstimateAndAreIndependent) {
  auto tracker = NewTracker(TrackingConfig(0));
  Feed feed(*tracker, /*seed=*/4);
  for (int i = 0; i < 500; ++i) ASSERT_NO_FATAL_FAILURE(feed.Next());
  auto fork = tracker->Fork();
  ASSERT_TRUE(fork.ok());
  EXPECT_DOUBLE_EQ((*fork)->Get(ThermalTestModel::kHeatTransfer), feed.update.estimates[2].value);
  EXPECT_DOUBLE_EQ((*fork)->Get(ThermalTestModel::kCoreTemperature), feed.update.estimates[0].value);
  const double core = tracker->model().Get(ThermalTestModel::kCoreTemperature);
  ASSERT_TRUE((*fork)->Set(ThermalTestModel::kHeaterPower, 5000).ok());
  ASSERT_TRUE((*fork)->Step(3600).ok());
  EXPECT_GT((*fork)->Get(ThermalTestModel::kCoreTemperature), core + 10);
  EXPECT_DOUBLE_EQ(tracker->model().Get(ThermalTestModel::kCoreTemperature), core);

  auto a = tracker->ForkSample(1), b = tracker->ForkSample(2), a2 = tracker->ForkSample(1);
  ASSERT_TRUE(a.ok() && b.ok() && a2.ok());
  EXPECT_NE((*a)->Get(ThermalTestModel::kHeatTransfer), (*b)->Get(ThermalTestModel::kHeatTransfer));
  EXPECT_DOUBLE_EQ((*a)->Get(ThermalTestModel::kHeatTransfer), (*a2)->Get(ThermalTestModel::kHeatTransfer));
}

// The wind turbine (src/sim/models/wind_turbine.h) as the asset: a reading every 10 s of wind,
// ambient, bearing temperature, power and vibration, with sensor noise.
struct TurbineFeed {
  static constexpr double kStep = 10.0;
  TurbineFeed(ShadowConfig config, uint64_t seed) : asset(NewWindTurbine()), rng(seed) {
    auto created = ShadowTracker::Create(NewWindTurbine(), std::move(config));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    tracker = std::move(created).value();
    update = tracker->NewUpdate();
  }
  Status Set(std::string_view name, double value) { return asset->Set(*asset->info().Index(name), value); }
  double Get(std::string_view name) const { return asset->Get(*asset->info().Index(name)); }
  void Next() {
    t += kStep;
    const double wind = 9.0 + 2.5 * std::sin(t / 300.0);
    ASSERT_TRUE(Set("windSpeed", wind).ok());
    ASSERT_TRUE(asset->Step(kStep).ok());
    std::normal_distribution<double> noise;
    double inputs[] = {wind, 12.0};
    double measured[] = {Get("bearingTemperature") + 0.5 * noise(rng), Get("activePower") + 20 * noise(rng),
                         Get("vibrationRms") + 0.1 * noise(rng)};
    Status status = tracker->Observe(t, inputs, measured, 0b111, update);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  std::unique_ptr<Simulation> asset;
  std::unique_ptr<ShadowTracker> tracker;
  std::mt19937_64 rng;
  ShadowUpdate update;
  double t = 0;
};

ShadowConfig TurbineConfig(std::vector<EstimatedVariable> estimated) {
  return {.inputs = {"windSpeed", "ambientTemperature"},
          .estimation = {.estimated = std::move(estimated),
                         .measured = {{.name = "bearingTemperature", .noise_stddev = 0.5},
                                      {.name = "activePower", .noise_stddev = 20},
                                      {.name = "vibrationRms", .noise_stddev = 0.1}},
                         .derived = {"cumulativeDamage", "bearingFrictionLoss"}}};
}

// The bearing's friction coefficient rises 50% over 12 hours (lubricant degrading); the shadow
// twin, which starts from the healthy datasheet value, follows it from the bearing temperature.
TEST(ShadowTurbineTest, TracksADriftingBearingFrictionCoefficient) {
  TurbineFeed feed(TurbineConfig({{.name = "bearingTemperature", .initial_stddev = 5, .process_stddev = 0.01},
                                  {.name = "bearingFrictionCoefficient", .initial_stddev = 0.002,
                                   .process_stddev = 2e-5}}),
                   /*seed=*/17);
  const int steps = 12 * 3600 / static_cast<int>(TurbineFeed::kStep);
  int inside = 0, counted = 0;
  for (int i = 0; i < steps; ++i) {
    ASSERT_TRUE(feed.Set("bearingFrictionCoefficient", 0.005 + 0.0025 * i / steps).ok());
    ASSERT_NO_FATAL_FAILURE(feed.Next());
    if (i < steps / 6) continue;  // the first two hours: the bearing warms up, the filter converges
    const Estimate& mu = feed.update.estimates[1];
    ++counted;
    if (std::abs(mu.value - feed.Get("bearingFrictionCoefficient")) <= 2 * mu.stddev) ++inside;
  }
  const Estimate& mu = feed.update.estimates[1];
  EXPECT_NEAR(mu.value, feed.Get("bearingFrictionCoefficient"), 0.0003);  // within 4% at the end
  EXPECT_GE(static_cast<double>(inside) / counted, 0.8) << inside << " of " << counted;
  // The friction-loss virtual sensor follows the asset's.
  const Estimate& loss = feed.update.virtual_sensors[1];
  EXPECT_NEAR(loss.value, feed.Get("bearingFrictionLoss"), std::max(3 * loss.stddev, 0.05 * feed.Get("bearingFrictionLoss")));
}

// A bearing that is further gone than the twin was told: cumulative damage is estimated from
// vibration (which rises with damage past the onset) as a virtual sensor with uncertainty.
TEST(ShadowTurbineTest, EstimatesBearingDamageAsAVirtualSensor) {
  TurbineFeed feed(TurbineConfig({{.name = "bearingTemperature", .initial_stddev = 5, .process_stddev = 0.01},
                                  {.name = "cumulativeDamage", .initial_stddev = 0.2, .process_stddev = 1e-5,
                                   .initial_value = 0.6}}),
                   /*seed=*/23);
  ASSERT_TRUE(feed.Set("cumulativeDamage", 0.8).ok());
  ASSERT_TRUE(feed.Set("damageRateFactor", 1000).ok());  // a developing fault: damage keeps growing
  ASSERT_NO_FATAL_FAILURE(feed.Next());  // anchors time
  ASSERT_NO_FATAL_FAILURE(feed.Next());
  const double early = feed.update.virtual_sensors[0].stddev;
  for (int i = 0; i < 6 * 360; ++i) ASSERT_NO_FATAL_FAILURE(feed.Next());
  const Estimate& damage = feed.update.virtual_sensors[0];
  EXPECT_NEAR(damage.value, feed.Get("cumulativeDamage"), 0.02);
  EXPECT_LT(damage.stddev, early / 3);
  EXPECT_LT(std::abs(damage.value - feed.Get("cumulativeDamage")), std::max(3 * damage.stddev, 0.005));
}

}  // namespace
}  // namespace doppel::sim
