#include "sim/estimation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "sim/thermal_test_model.h"

namespace doppel::sim {
namespace {

using testing::HeaterPowerAt;
using testing::ThermalAsset;
using testing::ThermalTestModel;

constexpr double kDt = 5.0;        // one reading every 5 s
constexpr double kNoise = 0.2;     // K, the surface sensor's noise

// Estimates both temperatures and the heat-transfer coefficient from the surface sensor.
EstimationConfig ThermalConfig(double heat_transfer_guess, double core_guess = 20.0) {
  return {.estimated = {{.name = "coreTemperature", .initial_stddev = 10, .process_stddev = 0.01,
                         .initial_value = core_guess},
                        {.name = "surfaceTemperature", .initial_stddev = 1, .process_stddev = 0.01},
                        {.name = "heatTransfer", .initial_stddev = 5, .initial_value = heat_transfer_guess}},
          .measured = {{.name = "surfaceTemperature", .noise_stddev = kNoise}},
          .derived = {"heatLoss"}};
}

struct Rig {
  explicit Rig(EstimationConfig config, uint64_t seed = 42) : asset(seed, kNoise) {
    auto created = UnscentedKalmanFilter::Create(model, std::move(config));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    filter = std::move(created).value();
  }
  // One reading: the asset moves, the filter predicts with the same inputs and corrects.
  void Step() {
    double measured = asset.Advance(kDt);
    ASSERT_TRUE(model.Set(ThermalTestModel::kHeaterPower, HeaterPowerAt(asset.t)).ok());
    ASSERT_TRUE(filter->Predict(kDt).ok());
    double values[] = {measured};
    ASSERT_TRUE(filter->Update(values, 1).ok());
  }
  ThermalTestModel model;
  ThermalAsset asset;
  std::unique_ptr<UnscentedKalmanFilter> filter;
};

TEST(EstimationTest, IdentifiesAConstantHiddenParameter) {
  Rig rig(ThermalConfig(/*heat_transfer_guess=*/5.0));
  for (int i = 0; i < 2 * 3600 / kDt; ++i) ASSERT_NO_FATAL_FAILURE(rig.Step());
  Estimate h = rig.filter->estimate(2);
  // Truth 10 W/K from a 50% wrong start, 2 h of 5 s readings at 0.2 K noise: within 2%.
  EXPECT_NEAR(h.value, 10.0, 0.2);
  EXPECT_LT(h.stddev, 0.2);
  EXPECT_LT(std::abs(h.value - 10.0), 3 * h.stddev + 1e-9);
  // The model the filter drives holds the estimate (it is what a fork starts from).
  EXPECT_DOUBLE_EQ(rig.model.Get(ThermalTestModel::kHeatTransfer), h.value);
  EXPECT_EQ(rig.filter->covariance_resets(), 0);
}

TEST(EstimationTest, UnmeasuredStateConvergesAndItsUncertaintyShrinks) {
  Rig rig(ThermalConfig(/*heat_transfer_guess=*/10.0, /*core_guess=*/35.0));
  const double initial_stddev = rig.filter->estimate(0).stddev;
  EXPECT_DOUBLE_EQ(initial_stddev, 10.0);
  std::vector<double> stddev;
  for (int i = 0; i < 720; ++i) {
    ASSERT_NO_FATAL_FAILURE(rig.Step());
    stddev.push_back(rig.filter->estimate(0).stddev);
  }
  Estimate core = rig.filter->estimate(0);
  double truth = rig.asset.truth.Get(ThermalTestModel::kCoreTemperature);
  EXPECT_LT(stddev[10], initial_stddev);
  EXPECT_LT(stddev[100], stddev[10]);
  EXPECT_LT(core.stddev, 0.5);
  EXPECT_NEAR(core.value, truth, 0.5);  // started 15 K off
  EXPECT_LT(std::abs(core.value - truth), 3 * core.stddev);
}

TEST(EstimationTest, DerivedVariableIsConditionedOnTheMeasurement) {
  Rig rig(ThermalConfig(/*heat_transfer_guess=*/5.0));
  for (int i = 0; i < 1440; ++i) ASSERT_NO_FATAL_FAILURE(rig.Step());
  // heatLoss = h·(Ts − ambient) is never measured; its estimate follows the asset's.
  Estimate loss = rig.filter->derived(0);
  double truth = rig.asset.heat_transfer() * (rig.asset.truth.Get(ThermalTestModel::kSurfaceTemperature) - 20.0);
  EXPECT_GT(loss.stddev, 0.0);
  EXPECT_NEAR(loss.value, truth, std::max(3 * loss.stddev, 0.05 * std::abs(truth)));
}

TEST(EstimationTest, NonFiniteMeasurementIsRefusedAndChangesNothing) {
  Rig rig(ThermalConfig(5.0));
  for (int i = 0; i < 20; ++i) ASSERT_NO_FATAL_FAILURE(rig.Step());
  ASSERT_TRUE(rig.filter->Predict(kDt).ok());
  const Eigen::VectorXd x = rig.filter->mean();
  const Eigen::MatrixXd p = rig.filter->covariance();
  double bad[] = {std::numeric_limits<double>::quiet_NaN()};
  Status status = rig.filter->Update(bad, 1);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("surfaceTemperature"), std::string::npos) << status.message();
  EXPECT_EQ(rig.filter->mean(), x);
  EXPECT_EQ(rig.filter->covariance(), p);
  // A NaN in an absent slot is fine: the mask says it was not measured.
  EXPECT_TRUE(rig.filter->Update(bad, 0).ok());
  EXPECT_EQ(rig.filter->mean(), x);
  // A second Update without a Predict would reuse stale sigma points.
  double good[] = {30.0};
  EXPECT_EQ(rig.filter->Update(good, 1).code(), StatusCode::kPreconditionFailed);
}

TEST(EstimationTest, RefusesBadConfigurations) {
  ThermalTestModel model;
  auto unknown = UnscentedKalmanFilter::Create(model, {.estimated = {{.name = "nope"}}});
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  auto output = UnscentedKalmanFilter::Create(model, {.estimated = {{.name = "heatLoss"}}});
  EXPECT_EQ(output.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(output.status().message().find("heatLoss"), std::string::npos);
  auto input = UnscentedKalmanFilter::Create(model, {.measured = {{.name = "heaterPower"}}});
  EXPECT_EQ(input.status().code(), StatusCode::kInvalidArgument);
  auto noise = UnscentedKalmanFilter::Create(model, {.measured = {{.name = "heatLoss", .noise_stddev = 0}}});
  EXPECT_EQ(noise.status().code(), StatusCode::kInvalidArgument);
  auto range = UnscentedKalmanFilter::Create(model, {.estimated = {{.name = "heatTransfer", .initial_value = -1}}});
  EXPECT_EQ(range.status().code(), StatusCode::kInvalidArgument);
}

TEST(EstimationTest, EstimatesStayWithinTheVariablesRange) {
  // A wildly wrong guess with a huge prior pushes sigma points below heatTransfer's minimum of
  // 0.1; they are clamped, the model never sees an illegal value, and the estimate recovers.
  Rig rig({.estimated = {{.name = "heatTransfer", .initial_stddev = 50, .initial_value = 0.5}},
           .measured = {{.name = "surfaceTemperature", .noise_stddev = kNoise}}});
  for (int i = 0; i < 1440; ++i) {
    ASSERT_NO_FATAL_FAILURE(rig.Step());
    ASSERT_GE(rig.filter->estimate(0).value, 0.1);
    ASSERT_LE(rig.filter->estimate(0).value, 100.0);
  }
  EXPECT_NEAR(rig.filter->estimate(0).value, 10.0, 1.0);
}

TEST(EstimationTest, RepairsACollapsedCovarianceWithoutNaNs) {
  Rig rig(ThermalConfig(5.0));
  Eigen::MatrixXd singular = Eigen::MatrixXd::Zero(3, 3);  // positive semi-definite, not definite
  ASSERT_TRUE(rig.filter->Restore(rig.filter->mean(), singular).ok());
  for (int i = 0; i < 10; ++i) ASSERT_NO_FATAL_FAILURE(rig.Step());
  EXPECT_TRUE(rig.filter->mean().allFinite());
  EXPECT_TRUE(rig.filter->covariance().allFinite());
  Eigen::MatrixXd indefinite = Eigen::MatrixXd::Identity(3, 3);
  indefinite(0, 0) = -1;
  EXPECT_EQ(rig.filter->Restore(rig.filter->mean(), indefinite).code(), StatusCode::kInvalidArgument);
}

// The thermal model, except that its copies (the filter's sigma points) report a NaN core
// temperature while `poisoned` is set — a model driven outside where it is valid.
class PoisonableModel final : public Simulation {
 public:
  PoisonableModel(std::shared_ptr<bool> poisoned, bool is_copy) : poisoned_(std::move(poisoned)), is_copy_(is_copy) {}
  const ModelInfo& info() const override { return inner_.info(); }
  Status Set(std::size_t variable, double value) override { return inner_.Set(variable, value); }
  double Get(std::size_t variable) const override {
    if (*poisoned_ && is_copy_ && variable == ThermalTestModel::kCoreTemperature) return std::nan("");
    return inner_.Get(variable);
  }
  Status Step(double dt_s) override { return inner_.Step(dt_s); }
  double time() const override { return inner_.time(); }
  Result<std::unique_ptr<Simulation>> Clone() const override {
    auto copy = std::make_unique<PoisonableModel>(poisoned_, true);
    copy->inner_ = inner_;
    return std::unique_ptr<Simulation>(std::move(copy));
  }

 private:
  ThermalTestModel inner_;
  std::shared_ptr<bool> poisoned_;
  bool is_copy_;
};

TEST(EstimationTest, NonFinitePredictionResetsTheCovarianceInsteadOfSpreadingNaNs) {
  auto poisoned = std::make_shared<bool>(false);
  PoisonableModel model(poisoned, false);
  auto filter = UnscentedKalmanFilter::Create(model, ThermalConfig(5.0));
  ASSERT_TRUE(filter.ok());
  double y[] = {20.0};
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*filter)->Predict(kDt).ok());
    ASSERT_TRUE((*filter)->Update(y, 1).ok());
  }
  const double h = (*filter)->estimate(2).value;
  *poisoned = true;
  ASSERT_TRUE((*filter)->Predict(kDt).ok());
  EXPECT_EQ((*filter)->covariance_resets(), 1);
  EXPECT_FALSE((*filter)->ready_for_update());
  EXPECT_EQ((*filter)->Update(y, 1).code(), StatusCode::kPreconditionFailed);
  EXPECT_TRUE((*filter)->mean().allFinite());
  EXPECT_DOUBLE_EQ((*filter)->estimate(2).value, h);  // the centre point's value is kept
  EXPECT_DOUBLE_EQ((*filter)->estimate(2).stddev, 5.0);  // the prior uncertainty
  *poisoned = false;
  ASSERT_TRUE((*filter)->Predict(kDt).ok());
  EXPECT_TRUE((*filter)->Update(y, 1).ok());
  EXPECT_TRUE((*filter)->mean().allFinite());
}

TEST(EstimationTest, SamplesSpreadLikeTheCovariance) {
  Rig rig(ThermalConfig(5.0));
  for (int i = 0; i < 50; ++i) ASSERT_NO_FATAL_FAILURE(rig.Step());
  Estimate h = rig.filter->estimate(2);
  double sum = 0, sum2 = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    ThermalTestModel sample;
    ASSERT_TRUE(rig.filter->WriteSample(sample, /*seed=*/i).ok());
    double v = sample.Get(ThermalTestModel::kHeatTransfer);
    sum += v;
    sum2 += v * v;
  }
  double mean = sum / n, stddev = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, h.value, 4 * h.stddev / std::sqrt(n) + 1e-6);
  EXPECT_NEAR(stddev, h.stddev, 0.1 * h.stddev);
}

}  // namespace
}  // namespace doppel::sim
