// A small two-node thermal model for the state-estimation and shadow-mode tests (and the shadow
// benchmark): a heated core inside a shell that loses heat to ambient.
//
//   coreCapacity    · dTc/dt = heaterPower − coreToSurface · (Tc − Ts)
//   surfaceCapacity · dTs/dt = coreToSurface · (Tc − Ts) − heatTransfer · (Ts − ambient)
//   heatLoss = heatTransfer · (Ts − ambient)
//
// The surface temperature is what a sensor sees; the core temperature is hidden; heatTransfer
// is the "unknown asset property" a filter identifies. Integrated with fixed RK4 sub-steps of at
// most 1 s (the fastest time constant is ~17 s), so a Step of any length is accurate and cheap.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/format.h>
#include <memory>
#include <random>

#include "sim/simulation.h"

namespace doppel::sim::testing {

class ThermalTestModel final : public Simulation {
 public:
  enum Var : std::size_t {
    kHeatTransfer, kCoreToSurface, kCoreCapacity, kSurfaceCapacity,  // parameters
    kHeaterPower, kAmbient,                                          // inputs
    kCoreTemperature, kSurfaceTemperature,                           // states
    kHeatLoss,                                                       // output
    kCount
  };

  ThermalTestModel() {
    for (std::size_t i = 0; i < kCount; ++i) values_[i] = Info().variables[i].start;
    Recompute();
  }

  static const ModelInfo& Info() {
    static const ModelInfo info = {
        .name = "thermalTest",
        .description = "two-node thermal mass (test model)",
        .variables = {
            {.name = "heatTransfer", .causality = Causality::kParameter, .unit = "W/K", .start = 10.0, .min = 0.1, .max = 100.0},
            {.name = "coreToSurface", .causality = Causality::kParameter, .unit = "W/K", .start = 20.0, .min = 0.1, .max = 1000.0},
            {.name = "coreCapacity", .causality = Causality::kParameter, .unit = "J/K", .start = 2000.0, .min = 1.0, .max = 1e7},
            {.name = "surfaceCapacity", .causality = Causality::kParameter, .unit = "J/K", .start = 500.0, .min = 1.0, .max = 1e7},
            {.name = "heaterPower", .causality = Causality::kInput, .unit = "W", .start = 0.0, .min = 0.0, .max = 1e4},
            {.name = "ambientTemperature", .causality = Causality::kInput, .unit = "degC", .start = 20.0, .min = -50.0, .max = 60.0},
            {.name = "coreTemperature", .causality = Causality::kState, .unit = "degC", .start = 20.0, .min = -100.0, .max = 500.0},
            {.name = "surfaceTemperature", .causality = Causality::kState, .unit = "degC", .start = 20.0, .min = -100.0, .max = 500.0},
            {.name = "heatLoss", .causality = Causality::kOutput, .unit = "W", .start = 0.0},
        }};
    return info;
  }

  const ModelInfo& info() const override { return Info(); }

  Status Set(std::size_t variable, double value) override {
    if (variable >= kCount) return Status::InvalidArgument(fmt::format("no variable #{}", variable));
    const Variable& v = Info().variables[variable];
    if (v.causality == Causality::kOutput) return Status::InvalidArgument(fmt::format("{} is an output", v.name));
    if (!std::isfinite(value) || value < v.min || value > v.max) {
      return Status::InvalidArgument(fmt::format("{} = {} is outside [{}, {}]", v.name, value, v.min, v.max));
    }
    values_[variable] = value;
    return Status::Ok();
  }
  double Get(std::size_t variable) const override { return variable < kCount ? values_[variable] : 0.0; }

  Status Step(double dt_s) override {
    if (!(dt_s > 0)) return Status::InvalidArgument("dt must be positive");
    int n = std::max(1, static_cast<int>(std::ceil(dt_s)));
    double h = dt_s / n;
    for (int i = 0; i < n; ++i) Rk4(h);
    time_ += dt_s;
    Recompute();
    return Status::Ok();
  }
  double time() const override { return time_; }
  Result<std::unique_ptr<Simulation>> Clone() const override {
    return std::unique_ptr<Simulation>(std::make_unique<ThermalTestModel>(*this));
  }

 private:
  using State = std::array<double, 2>;
  State Derivative(const State& s) const {
    double q_cs = values_[kCoreToSurface] * (s[0] - s[1]);
    double q_loss = values_[kHeatTransfer] * (s[1] - values_[kAmbient]);
    return {(values_[kHeaterPower] - q_cs) / values_[kCoreCapacity], (q_cs - q_loss) / values_[kSurfaceCapacity]};
  }
  void Rk4(double h) {
    State s = {values_[kCoreTemperature], values_[kSurfaceTemperature]};
    auto shifted = [&](const State& k, double f) { return State{s[0] + f * k[0], s[1] + f * k[1]}; };
    State k1 = Derivative(s), k2 = Derivative(shifted(k1, h / 2)), k3 = Derivative(shifted(k2, h / 2)),
          k4 = Derivative(shifted(k3, h));
    for (int j = 0; j < 2; ++j) s[j] += h / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
    values_[kCoreTemperature] = s[0];
    values_[kSurfaceTemperature] = s[1];
  }
  void Recompute() { values_[kHeatLoss] = values_[kHeatTransfer] * (values_[kSurfaceTemperature] - values_[kAmbient]); }

  std::array<double, kCount> values_ = {};
  double time_ = 0.0;
};

// The heater schedule the tests drive both the "asset" and the tracker with: a 600 s square
// wave between 0 and 400 W, so heatTransfer is identifiable (a constant input would let the
// filter trade heatTransfer against the temperatures).
inline double HeaterPowerAt(double t_s) { return std::fmod(t_s, 600.0) < 300.0 ? 400.0 : 0.0; }

// The "physical asset": a true model whose surface temperature is read with Gaussian noise.
// Inputs are those at the end of each interval, held over it — the tracker's convention.
struct ThermalAsset {
  explicit ThermalAsset(uint64_t seed, double noise_stddev = 0.2) : rng(seed), noise(0.0, noise_stddev) {}

  // Advances dt_s seconds under the heater schedule; returns a noisy surface temperature.
  double Advance(double dt_s) {
    t += dt_s;
    static_cast<void>(truth.Set(ThermalTestModel::kHeaterPower, HeaterPowerAt(t)));
    static_cast<void>(truth.Step(dt_s));
    return truth.Get(ThermalTestModel::kSurfaceTemperature) + noise(rng);
  }
  double heat_transfer() const { return truth.Get(ThermalTestModel::kHeatTransfer); }
  void set_heat_transfer(double value) { static_cast<void>(truth.Set(ThermalTestModel::kHeatTransfer, value)); }

  ThermalTestModel truth;
  std::mt19937_64 rng;
  std::normal_distribution<double> noise;
  double t = 0.0;
};

}  // namespace doppel::sim::testing
