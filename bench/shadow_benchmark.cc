// Shadow mode cost per incoming reading: ShadowTracker::Observe (inputs set, model and sigma
// points stepped, filter update) for the two-node thermal test model and the wind turbine.
//
// Counters: shadow_us_per_reading (wall µs per Observe) and allocs_per_reading (heap
// allocations per Observe, counted by replacing operator new in this binary — the hot path is
// meant to allocate nothing).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>

#include "../tests/sim/thermal_test_model.h"
#include "sim/models/wind_turbine.h"
#include "sim/shadow.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// GCC 12 cannot see that the replaced operator new above is malloc, and warns.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace doppel::sim {
namespace {

void Report(benchmark::State& state, long allocations) {
  const double readings = static_cast<double>(state.iterations());
  state.counters["shadow_us_per_reading"] =
      benchmark::Counter(readings * 1e-6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["allocs_per_reading"] = static_cast<double>(allocations) / readings;
}

// Runs Observe in a loop: a reading every dt_s with the given inputs and measurements.
template <typename NextReading>
void RunTracker(benchmark::State& state, ShadowTracker& tracker, double dt_s, NextReading next) {
  ShadowUpdate update = tracker.NewUpdate();
  std::vector<double> inputs(tracker.config().inputs.size()), measured(tracker.config().estimation.measured.size());
  const uint64_t mask = state.range(0) ? (uint64_t{1} << measured.size()) - 1 : 0;
  double t = 0;
  next(t, inputs, measured);
  if (!tracker.Observe(t, inputs, measured, mask, update).ok()) state.SkipWithError("first Observe failed");
  long allocations = 0;
  for (auto _ : state) {
    t += dt_s;
    next(t, inputs, measured);
    long before = g_allocations.load(std::memory_order_relaxed);
    Status status = tracker.Observe(t, inputs, measured, mask, update);
    allocations += g_allocations.load(std::memory_order_relaxed) - before;
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(update.residual.data());
  }
  Report(state, allocations);
}

// Thermal model: 3 estimated (two temperatures, heat transfer), 1 measurement, 2 virtual
// sensors — 7 sigma points. Arg: 1 = with a measurement (predict + update), 0 = predict only.
void BM_ShadowThermal(benchmark::State& state) {
  ShadowConfig config{
      .inputs = {"heaterPower", "ambientTemperature"},
      .estimation = {.estimated = {{.name = "coreTemperature", .initial_stddev = 10, .process_stddev = 0.01},
                                   {.name = "surfaceTemperature", .initial_stddev = 1, .process_stddev = 0.01},
                                   {.name = "heatTransfer", .initial_stddev = 5, .process_stddev = 0.01}},
                     .measured = {{.name = "surfaceTemperature", .noise_stddev = 0.2}},
                     .derived = {"coreTemperature", "heatLoss"}}};
  auto tracker = ShadowTracker::Create(std::make_unique<testing::ThermalTestModel>(), config);
  if (!tracker.ok()) return state.SkipWithError(tracker.status().ToString().c_str());
  testing::ThermalAsset asset(1);
  RunTracker(state, **tracker, 5.0, [&](double t, std::vector<double>& in, std::vector<double>& y) {
    in = {testing::HeaterPowerAt(t), 20.0};
    y[0] = t > 0 ? asset.Advance(5.0) : 20.0;
  });
}
BENCHMARK(BM_ShadowThermal)->Arg(1)->Arg(0);

// Wind turbine, a reading every second (typical SCADA telemetry). Estimated: bearing
// temperature and friction coefficient (5 sigma points); measured: bearingTemperature,
// activePower, vibrationRms; virtual sensors: cumulativeDamage, bearingFrictionLoss.
// Arg(0): 1 = predict + update, 0 = predict only. Arg(1): estimate (1) or not (0 = the
// model alone, one Step per reading: what a decimated policy pays between updates).
void BM_ShadowTurbine(benchmark::State& state) {
  ShadowConfig config{.inputs = {"windSpeed", "ambientTemperature"},
                      .estimation = {.measured = {{.name = "bearingTemperature", .noise_stddev = 0.5},
                                                  {.name = "activePower", .noise_stddev = 20},
                                                  {.name = "vibrationRms", .noise_stddev = 0.1}},
                                     .derived = {"cumulativeDamage", "bearingFrictionLoss"}}};
  if (state.range(1)) {
    config.estimation.estimated = {{.name = "bearingTemperature", .initial_stddev = 5, .process_stddev = 0.01},
                                   {.name = "bearingFrictionCoefficient", .initial_stddev = 0.002,
                                    .process_stddev = 1e-5}};
  }
  auto tracker = ShadowTracker::Create(NewWindTurbine(), config);
  if (!tracker.ok()) return state.SkipWithError(tracker.status().ToString().c_str());
  RunTracker(state, **tracker, 1.0, [](double t, std::vector<double>& in, std::vector<double>& y) {
    in = {9.0 + 2.5 * std::sin(t / 300.0), 12.0};
    y = {50.0, 1500.0, 1.5};  // the cost does not depend on the values being consistent
  });
}
BENCHMARK(BM_ShadowTurbine)->Args({1, 1})->Args({0, 1})->Args({1, 0});

}  // namespace
}  // namespace doppel::sim

BENCHMARK_MAIN();
