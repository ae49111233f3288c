// Physics sanity of the "centrifugalPump" model: affinity laws, the operating point lying on
// both the pump and the system curve, the power chain, the winding temperature's exact
// first-order response, Clone and Set checks.
#include "sim/models/centrifugal_pump.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace doppel::sim {
namespace {

constexpr double kRho = 1000.0;
constexpr double kG = 9.80665;

class Pump {
 public:
  Pump() : sim_(NewCentrifugalPump()) {}
  explicit Pump(std::unique_ptr<Simulation> sim) : sim_(std::move(sim)) {}

  double Get(const std::string& name) const { return sim_->Get(*sim_->info().Index(name)); }
  void Set(const std::string& name, double value) {
    Status status = sim_->Set(*sim_->info().Index(name), value);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  void Step(double dt = 1.0) {
    Status status = sim_->Step(dt);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  Simulation& sim() { return *sim_; }

 private:
  std::unique_ptr<Simulation> sim_;
};

TEST(CentrifugalPumpTest, DefaultsRunAtTheBestEfficiencyPoint) {
  Pump pump;  // outputs are valid before the first Step
  EXPECT_NEAR(pump.Get("flow"), 360.0, 1e-9);
  EXPECT_NEAR(pump.Get("head"), 40.0, 1e-9);
  EXPECT_NEAR(pump.Get("pumpEfficiency"), 0.8, 1e-12);
  EXPECT_NEAR(pump.Get("shaftPower"), kRho * kG * 0.1 * 40 / 0.8 / 1e3, 1e-9);
}

TEST(CentrifugalPumpTest, OperatingPointLiesOnPumpAndSystemCurves) {
  Pump pump;
  const double q_bep = 0.1;  // m³/s
  for (double speed : {1480.0, 1300.0, 1000.0}) {
    for (double opening : {1.0, 0.7, 0.4}) {
      pump.Set("speed", speed);
      pump.Set("valveOpening", opening);
      pump.Step();
      const double q = pump.Get("flow") / 3600;
      const double r = speed / 1480;
      const double pump_curve = 50 * r * r - (50 - 40) / (q_bep * q_bep) * q * q;
      const double system_curve = 15 + (20 + 5 / (opening * opening)) / (q_bep * q_bep) * q * q;
      EXPECT_GT(q, 0) << speed << " " << opening;
      EXPECT_NEAR(pump.Get("head"), pump_curve, 1e-9) << speed << " " << opening;
      EXPECT_NEAR(pump.Get("head"), system_curve, 1e-9) << speed << " " << opening;
      EXPECT_NEAR(pump.Get("hydraulicPower"), kRho * kG * q * pump.Get("head") / 1e3, 1e-9);
    }
  }
}

TEST(CentrifugalPumpTest, AffinityLawsAtSimilarOperatingPoints) {
  // Without static head the system curve is a parabola through the origin, so operating points
  // at different speeds are similar: Q ∝ n, H ∝ n², P ∝ n³, equal efficiency.
  Pump rated, slow;
  rated.Set("staticHead", 0);
  slow.Set("staticHead", 0);
  for (double ratio : {0.9, 0.75, 0.5}) {
    slow.Set("speed", 1480 * ratio);
    rated.Step();
    slow.Step();
    EXPECT_NEAR(slow.Get("flow") / rated.Get("flow"), ratio, 1e-12);
    EXPECT_NEAR(slow.Get("head") / rated.Get("head"), ratio * ratio, 1e-12);
    EXPECT_NEAR(slow.Get("shaftPower") / rated.Get("shaftPower"), ratio * ratio * ratio, 1e-12);
    EXPECT_NEAR(slow.Get("pumpEfficiency"), rated.Get("pumpEfficiency"), 1e-12);
  }
}

TEST(CentrifugalPumpTest, ThrottlingTradesFlowForHead) {
  Pump pump;
  double previous_flow = 1e9, previous_head = 0;
  for (double opening : {1.0, 0.6, 0.3, 0.1, 0.0}) {
    pump.Set("valveOpening", opening);
    pump.Step();
    EXPECT_LT(pump.Get("flow"), previous_flow) << opening;
    EXPECT_GT(pump.Get("head"), previous_head) << opening;
    previous_flow = pump.Get("flow");
    previous_head = pump.Get("head");
  }
  // Closed valve: shut-off head, no flow, finite shut-off power ρ·g·H0·Q_BEP / (2·ηBEP).
  EXPECT_EQ(pump.Get("flow"), 0.0);
  EXPECT_NEAR(pump.Get("head"), 50.0, 1e-12);
  EXPECT_NEAR(pump.Get("shaftPower"), kRho * kG * 50 * 0.1 / (2 * 0.8) / 1e3, 1e-9);
  EXPECT_EQ(pump.Get("pumpEfficiency"), 0.0);
}

TEST(CentrifugalPumpTest, TooSlowToLiftTheStaticHeadDeliversNothing) {
  Pump pump;
  pump.Set("speed", 1480 * 0.5);  // 50·0.25 = 12.5 m < 15 m static head
  pump.Step();
  EXPECT_EQ(pump.Get("flow"), 0.0);
  EXPECT_NEAR(pump.Get("head"), 12.5, 1e-12);
}

TEST(CentrifugalPumpTest, ElectricalPowerIsShaftPowerPlusMotorLosses) {
  Pump pump;
  pump.Set("speed", 1400);
  pump.Step();
  const double load = pump.Get("shaftPower") / 55.0;
  EXPECT_NEAR(pump.Get("motorLoad"), load, 1e-12);
  EXPECT_NEAR(pump.Get("electricalPower"), pump.Get("shaftPower") + 0.8 + 2.2 * load * load, 1e-9);
  EXPECT_NEAR(pump.Get("motorEfficiency"), pump.Get("shaftPower") / pump.Get("electricalPower"),
              1e-12);
  EXPECT_LT(pump.Get("hydraulicPower"), pump.Get("shaftPower"));
  EXPECT_LT(pump.Get("shaftPower"), pump.Get("electricalPower"));
  pump.Set("speed", 0);
  pump.Step();
  EXPECT_EQ(pump.Get("electricalPower"), 0.0);
  EXPECT_EQ(pump.Get("flow"), 0.0);
}

TEST(CentrifugalPumpTest, WindingTemperatureIsAnExactFirstOrderResponse) {
  Pump coarse, fine;
  coarse.Step(1e-9);
  const double loss_w = (coarse.Get("electricalPower") - coarse.Get("shaftPower")) * 1e3;
  const double target = 20 + 0.025 * loss_w;
  const double tau = 0.025 * 48000;  // 1200 s
  coarse.Step(tau);
  for (int i = 0; i < 1200; ++i) fine.Step(tau / 1200);
  EXPECT_NEAR(coarse.Get("windingTemperature"), target - (target - 20) * std::exp(-1.0), 1e-6);
  EXPECT_NEAR(fine.Get("windingTemperature"), coarse.Get("windingTemperature"), 1e-9);
  // Heat balance at steady state: loss = (T − Tamb)/R; hotter ambient, hotter winding.
  coarse.Step(40 * tau);
  EXPECT_NEAR((coarse.Get("windingTemperature") - 20) / 0.025, loss_w, 1e-6 * loss_w);
  coarse.Set("ambientTemperature", 35);
  coarse.Step(40 * tau);
  EXPECT_NEAR(coarse.Get("windingTemperature"), target + 15, 1e-6);
}

TEST(CentrifugalPumpTest, CloneIsIndependent) {
  Pump original;
  original.Step(600);
  auto copy_result = original.sim().Clone();
  ASSERT_TRUE(copy_result.ok());
  Pump copy(std::move(*copy_result));
  EXPECT_EQ(copy.Get("windingTemperature"), original.Get("windingTemperature"));
  EXPECT_EQ(copy.sim().time(), 600.0);
  copy.Set("speed", 900);
  copy.Step(600);
  EXPECT_NEAR(original.Get("flow"), 360.0, 1e-9);
  EXPECT_EQ(original.sim().time(), 600.0);
  EXPECT_LT(copy.Get("flow"), 300.0);
}

TEST(CentrifugalPumpTest, SetAndStepCheckTheirArguments) {
  Pump pump;
  Simulation& sim = pump.sim();
  const ModelInfo& info = sim.info();
  Status too_open = sim.Set(*info.Index("valveOpening"), 1.5);
  EXPECT_EQ(too_open.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(too_open.message(), "valveOpening = 1.5 is above its maximum 1");
  EXPECT_EQ(sim.Set(*info.Index("speed"), -1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sim.Set(*info.Index("flow"), 100).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sim.Set(info.variables.size(), 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sim.Step(0).code(), StatusCode::kInvalidArgument);
  // A pump curve that rises to the BEP is not a centrifugal pump curve.
  pump.Set("bepHead", 60);
  EXPECT_EQ(sim.Step(1).code(), StatusCode::kInvalidArgument);
  pump.Set("bepHead", 40);
  EXPECT_TRUE(sim.Step(1).ok());
}

}  // namespace
}  // namespace doppel::sim
