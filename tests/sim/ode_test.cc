// Accuracy of the ODE wrapper against analytic solutions, each with a stated tolerance, and its
// failure modes (step budget, divergence, bad arguments).
#include "sim/ode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

namespace doppel::sim {
namespace {

struct Decay {  // x' = -k x  →  x(t) = x0 e^{-kt}
  double k = 0.5;
  void operator()(const OdeState<1>& x, OdeState<1>& dxdt, double) const { dxdt[0] = -k * x[0]; }
};

struct Oscillator {  // x'' = -w² x  →  x = cos(wt), v = -w sin(wt); energy (v² + w²x²)/2 constant
  double w = 2.0 * std::numbers::pi;
  void operator()(const OdeState<2>& x, OdeState<2>& dxdt, double) const {
    dxdt[0] = x[1];
    dxdt[1] = -w * w * x[0];
  }
  double Energy(const OdeState<2>& x) const { return 0.5 * (x[1] * x[1] + w * w * x[0] * x[0]); }
};

// y' = -a (y - cos t), y(0) = 0: after a transient of 1/a seconds y follows cos t closely.
// Exact: y = (a² cos t + a sin t)/(1 + a²) - a²/(1 + a²) e^{-at}. With a = 1000 an explicit
// method's stability limit (h < 3.3/a) forces thousands of steps where accuracy needs few.
constexpr double kStiffness = 1000.0;
double StiffExact(double t) {
  const double a = kStiffness;
  return (a * a * std::cos(t) + a * std::sin(t)) / (1 + a * a) -
         a * a / (1 + a * a) * std::exp(-a * t);
}

struct StiffCosine {
  void operator()(const StiffVector& y, StiffVector& dydt, double t) const {
    dydt[0] = -kStiffness * (y[0] - std::cos(t));
  }
  void Jacobian(const StiffVector&, StiffMatrix& jacobian, double t, StiffVector& dfdt) const {
    jacobian(0, 0) = -kStiffness;
    dfdt[0] = -kStiffness * std::sin(t);
  }
  // The same right-hand side for the explicit solver.
  void operator()(const OdeState<1>& y, OdeState<1>& dydt, double t) const {
    dydt[0] = -kStiffness * (y[0] - std::cos(t));
  }
};

TEST(OdeTest, ExponentialDecayMatchesWithinTolerance) {
  Decay decay;
  OdeState<1> x{1.0};
  auto stats = IntegrateNonStiff(decay, x, 0.0, 10.0,
                                 {.absolute_tolerance = 1e-12, .relative_tolerance = 1e-10});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  // Stated: relative error below 1e-8 at tolerances 1e-10 (the global error is a small multiple
  // of the per-step tolerance over this many steps).
  EXPECT_NEAR(x[0] / std::exp(-5.0), 1.0, 1e-8);
  EXPECT_GT(stats->steps, 0u);
}

TEST(OdeTest, ExponentialDecayAtDefaultTolerances) {
  Decay decay;
  OdeState<1> x{1.0};
  auto stats = IntegrateNonStiff(decay, x, 0.0, 10.0);
  ASSERT_TRUE(stats.ok());
  // Stated: default tolerances (1e-6) give an absolute error below 1e-5.
  EXPECT_NEAR(x[0], std::exp(-5.0), 1e-5);
  // A smooth decay needs few steps: the controller does not crawl.
  EXPECT_LT(stats->steps, 60u);
}

TEST(OdeTest, HarmonicOscillatorConservesEnergyOverManyPeriods) {
  Oscillator osc;
  OdeState<2> x{1.0, 0.0};
  const double e0 = osc.Energy(x);
  double worst_energy = 0.0, worst_position = 0.0;
  std::size_t observations = 0;
  auto stats = IntegrateNonStiffDense(
      osc, x, 0.0, 100.0, 0.01,
      [&](const OdeState<2>& s, double t) {
        ++observations;
        worst_energy = std::max(worst_energy, std::abs(osc.Energy(s) / e0 - 1.0));
        worst_position = std::max(worst_position, std::abs(s[0] - std::cos(osc.w * t)));
      },
      {.absolute_tolerance = 1e-12, .relative_tolerance = 1e-10});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  // 100 periods observed every 0.01 s, both ends included.
  EXPECT_EQ(observations, 10001u);
  // Stated: over 100 periods energy drifts by less than 1e-6 (relative) and the position stays
  // within 1e-5 of cos(wt) — including interpolated (dense output) points between steps.
  EXPECT_LT(worst_energy, 1e-6);
  EXPECT_LT(worst_position, 1e-5);
  EXPECT_NEAR(x[0], 1.0, 1e-5);
  // Dense output: the output grid costs no extra steps over an unobserved run.
  OdeState<2> plain{1.0, 0.0};
  auto plain_stats = IntegrateNonStiff(osc, plain, 0.0, 100.0,
                                       {.absolute_tolerance = 1e-12, .relative_tolerance = 1e-10});
  ASSERT_TRUE(plain_stats.ok());
  EXPECT_LE(stats->steps, plain_stats->steps + 1);
}

TEST(OdeTest, StiffProblemSolvedByRosenbrockInFewSteps) {
  StiffCosine system;
  StiffVector y(1);
  y[0] = 0.0;
  auto stats = IntegrateStiff(system, y, 0.0, 10.0);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  // Stated: at the default tolerances (1e-6), absolute error below 1e-6 at t = 10.
  EXPECT_NEAR(y[0], StiffExact(10.0), 1e-6);
  EXPECT_LT(stats->steps, 400u);

  // dopri5 reaches the same answer only by taking thousands of stability-limited steps.
  OdeState<1> z{0.0};
  auto explicit_stats = IntegrateNonStiff(system, z, 0.0, 10.0);
  ASSERT_TRUE(explicit_stats.ok());
  EXPECT_NEAR(z[0], StiffExact(10.0), 1e-5);
  EXPECT_GT(explicit_stats->steps, 2000u);
  EXPECT_GT(explicit_stats->steps, 5 * stats->steps);
}

TEST(OdeTest, StiffTransientIsResolved) {
  StiffCosine system;
  StiffVector y(1);
  y[0] = 0.0;
  // Stop inside the transient (3 time constants): the error control must resolve it.
  auto stats = IntegrateStiff(system, y, 0.0, 0.003,
                              {.absolute_tolerance = 1e-10, .relative_tolerance = 1e-8});
  ASSERT_TRUE(stats.ok());
  EXPECT_NEAR(y[0], StiffExact(0.003), 1e-7);
}

TEST(OdeTest, StepBudgetFailsWithResourceExhausted) {
  StiffCosine system;
  OdeState<1> z{0.0};
  auto stats = IntegrateNonStiff(system, z, 0.0, 10.0, {.max_steps = 500});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(stats.status().message().find("500 step attempts"), std::string::npos);
}

TEST(OdeTest, NonFiniteStateIsAnError) {
  const auto poisoned = [](const OdeState<1>&, OdeState<1>& dxdt, double t) {
    dxdt[0] = t > 0.5 ? std::numeric_limits<double>::quiet_NaN() : 1.0;
  };
  OdeState<1> x{0.0};
  auto stats = IntegrateNonStiff(poisoned, x, 0.0, 1.0, {.initial_step = 0.1});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kInternal);
  EXPECT_NE(stats.status().message().find("non-finite"), std::string::npos);
}

TEST(OdeTest, BadArgumentsAreRejected) {
  Decay decay;
  OdeState<1> x{1.0};
  EXPECT_EQ(IntegrateNonStiff(decay, x, 1.0, 0.0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(IntegrateNonStiff(decay, x, 0.0, 1.0, {.relative_tolerance = 0.0}).status().code(),
            StatusCode::kInvalidArgument);
  OdeState<1> bad{std::numeric_limits<double>::infinity()};
  EXPECT_EQ(IntegrateNonStiff(decay, bad, 0.0, 1.0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(IntegrateNonStiffDense(decay, x, 0.0, 1.0, 0.0, [](const OdeState<1>&, double) {})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  // An empty interval is a no-op, not an error.
  auto none = IntegrateNonStiff(decay, x, 2.0, 2.0);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->steps, 0u);
  EXPECT_EQ(x[0], 1.0);
}

TEST(OdeTest, NextStepCarriesOverBetweenCalls) {
  Decay decay;
  OdeState<1> x{1.0};
  auto first = IntegrateNonStiff(decay, x, 0.0, 1.0);
  ASSERT_TRUE(first.ok());
  EXPECT_GT(first->next_step, 0.0);
  auto second = IntegrateNonStiff(decay, x, 1.0, 2.0, {.initial_step = first->next_step});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->rejected, 0u);
  EXPECT_NEAR(x[0], std::exp(-1.0), 1e-6);
}

}  // namespace
}  // namespace doppel::sim
