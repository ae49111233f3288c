// Speed of the built-in physics models: one wind turbine stepped at 1 s resolution (the
// shadow-mode rate, on the adaptive solver) and at 60 s (the what-if output resolution, which
// takes the closed-form coarse-step path; the Cp-model variant shows the solver fallback's cost
// there), and one centrifugal pump.
// turbine_realtime_factor = simulated seconds per wall-clock second (goal ≥ 10^6). It is
// measured in real time, so on a loaded machine it drops with the CPU share the process gets;
// the CPU column shows the cost itself.
//
// The wind is a fixed, pre-generated turbulent series (mean 9 m/s, seconds-scale gusts), so
// the controller and the solver see realistic changes every step and every run is the same.
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "sim/models/centrifugal_pump.h"
#include "sim/models/wind_turbine.h"

namespace doppel::sim {
namespace {

// A first-order autoregressive wind: mean 9 m/s, σ ≈ 1.5 m/s, correlation time ≈ 10 samples.
std::vector<double> TurbulentWind(std::size_t n) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0.0, 1.5 * std::sqrt(1 - 0.9 * 0.9));
  std::vector<double> wind(n);
  double gust = 0;
  for (auto& v : wind) {
    gust = 0.9 * gust + noise(rng);
    v = std::max(0.0, 9.0 + gust);
  }
  return wind;
}

std::unique_ptr<Simulation> RunningTurbine(std::size_t wind, std::size_t rotor,
                                           double aerodynamic_model) {
  auto turbine = NewWindTurbine();
  (void)turbine->Set(*WindTurbineInfo().Index("aerodynamicModel"), aerodynamic_model);
  (void)turbine->Set(wind, 9.0);
  (void)turbine->Set(rotor, 11.65);
  for (int i = 0; i < 600; ++i) (void)turbine->Step(1.0);
  return turbine;
}

// aerodynamic_model: 0 = power curve (the default), 1 = Heier Cp.
void TurbineSteps(benchmark::State& state, double dt_s, double aerodynamic_model = 0) {
  const ModelInfo& info = WindTurbineInfo();
  const std::size_t wind_index = *info.Index("windSpeed");
  auto turbine = RunningTurbine(wind_index, *info.Index("rotorSpeed"), aerodynamic_model);
  const std::vector<double> wind = TurbulentWind(1 << 14);
  std::size_t i = 0;
  for (auto _ : state) {
    (void)turbine->Set(wind_index, wind[i++ & (wind.size() - 1)]);
    if (!turbine->Step(dt_s).ok()) state.SkipWithError("step failed");
  }
  benchmark::DoNotOptimize(turbine->Get(*info.Index("activePower")));
  state.counters["turbine_realtime_factor"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * dt_s, benchmark::Counter::kIsRate);
}

void BM_TurbineStep1s(benchmark::State& state) { TurbineSteps(state, 1.0); }
BENCHMARK(BM_TurbineStep1s)->MinTime(1.0)->UseRealTime();

void BM_TurbineStep60s(benchmark::State& state) { TurbineSteps(state, 60.0); }
BENCHMARK(BM_TurbineStep60s)->MinTime(0.5)->UseRealTime();

void BM_TurbineStep60sCpModel(benchmark::State& state) { TurbineSteps(state, 60.0, 1); }
BENCHMARK(BM_TurbineStep60sCpModel)->MinTime(0.5)->UseRealTime();

void BM_TurbineClone(benchmark::State& state) {
  auto turbine = NewWindTurbine();
  for (auto _ : state) benchmark::DoNotOptimize(turbine->Clone());
}
BENCHMARK(BM_TurbineClone)->MinTime(0.3);

void BM_PumpStep1s(benchmark::State& state) {
  auto pump = NewCentrifugalPump();
  const std::size_t speed = *CentrifugalPumpInfo().Index("speed");
  std::size_t i = 0;
  for (auto _ : state) {
    (void)pump->Set(speed, 1200.0 + static_cast<double>(i++ & 255));
    if (!pump->Step(1.0).ok()) state.SkipWithError("step failed");
  }
  state.counters["pump_realtime_factor"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PumpStep1s)->MinTime(0.3);

}  // namespace
}  // namespace doppel::sim

BENCHMARK_MAIN();
