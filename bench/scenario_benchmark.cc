// What-if throughput: wind-turbine scenarios per second for a 7-day horizon at 1-minute output
// resolution (and 1-minute internal steps), on 1 and 2 threads. The base is a warmed-up turbine
// replaying a synthetic 7-day wind series at 10-minute resolution (diurnal and synoptic swings
// plus gusts) and a diurnal ambient temperature; scenarios vary the rotor-speed limit and the
// bearing damage rate. BM_WhatIfThroughput records every output (the request's default, nine
// for the turbine); BM_WhatIfThreeOutputs records what a realistic request asks for
// (activePower, bearingTemperature, cumulativeDamage). Counters: whatif_scenarios_per_s_<n>t
// (every output), whatif3_scenarios_per_s_<n>t (three outputs), and ns_per_model_step and
// cpu_ns_per_model_step: wall and CPU time (all threads) per Simulation::Step including the
// engine's overhead. The machine may be shared: CPU time is the figure that load does not skew.
//
// BM_ThreeLimitComparison times the issue's "done when" request: rotor-speed limit 100/90/80 %
// for 7 days on 2 threads.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <numbers>
#include <string>
#include <vector>

#include "sim/models/wind_turbine.h"
#include "sim/scenario.h"

namespace doppel::sim {
namespace {

constexpr double kWeek = 7 * 86400.0;

// Deterministic pseudo-random numbers in [-1, 1) for the gusts.
double Jitter(uint64_t i) {
  uint64_t z = i * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-52 - 1.0;
}

BaseProfiles WeekOfWeather() {
  InputProfile wind, ambient;
  for (uint64_t i = 0; i * 600 <= kWeek; ++i) {
    double t = static_cast<double>(i) * 600;
    double day = 2 * std::numbers::pi * t / 86400;
    double synoptic = 2 * std::numbers::pi * t / (3.3 * 86400);
    wind.points.emplace_back(t, std::max(0.0, 8.5 + 1.5 * std::sin(day) + 4 * std::sin(synoptic) + 1.5 * Jitter(i)));
  }
  for (uint64_t i = 0; i * 3600 <= kWeek; ++i) {
    double t = static_cast<double>(i) * 3600;
    ambient.points.emplace_back(t, 10 + 5 * std::sin(2 * std::numbers::pi * (t / 86400 - 0.375)));
  }
  return {{"windSpeed", wind}, {"ambientTemperature", ambient}};
}

std::unique_ptr<Simulation> WarmTurbine() {
  auto turbine = NewWindTurbine();
  const ModelInfo& info = turbine->info();
  (void)turbine->Set(*info.Index("windSpeed"), 9);
  for (int i = 0; i < 60; ++i) (void)turbine->Step(10);
  return turbine;
}

// Wall and process CPU time (every thread) from construction, reported per model step as
// plain nanoseconds (an inverted rate counter would print them as seconds). On n free cores
// wall ≈ CPU / n; on a loaded machine CPU time is the figure that the load does not skew.
class StepTimer {
 public:
  StepTimer() : wall_(std::chrono::steady_clock::now()), cpu_s_(CpuSeconds()) {}
  void Report(benchmark::State& state, double steps) const {
    const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_).count();
    state.counters["ns_per_model_step"] = wall_s * 1e9 / steps;
    state.counters["cpu_ns_per_model_step"] = (CpuSeconds() - cpu_s_) * 1e9 / steps;
  }
  double CpuSecondsSince() const { return CpuSeconds() - cpu_s_; }

 private:
  static double CpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
  std::chrono::steady_clock::time_point wall_;
  double cpu_s_;
};

// `count` scenarios: rotor-speed limit from 100 % down in 2 % steps, every other one with a
// developing bearing fault. `outputs` empty: every output.
ScenarioRequest Request(int count, const std::vector<std::string>& outputs = {}) {
  ScenarioRequest request;
  for (int i = 0; i < count; ++i) {
    ScenarioSpec spec{.name = fmt::format("s{}", i), .horizon_s = kWeek, .resolution_s = 60, .outputs = outputs};
    spec.inputs["rotorSpeedLimit"] = Modification{.scale = 1.0 - 0.02 * (i % 16)};
    if (i % 2 == 1) spec.parameters["damageRateFactor"] = Modification{.value = 20};
    request.scenarios.push_back(std::move(spec));
  }
  return request;
}

void RunThroughput(benchmark::State& state, std::string_view counter, const std::vector<std::string>& outputs) {
  const int threads = static_cast<int>(state.range(0));
  const int scenarios = 4 * threads;
  auto base = WarmTurbine();
  BaseProfiles weather = WeekOfWeather();
  ScenarioRequest request = Request(scenarios, outputs);
  const StepTimer timer;
  for (auto _ : state) {
    auto results = RunScenarios(*base, weather, request, {.threads = threads});
    if (!results.ok()) {
      state.SkipWithError(results.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(results->back().outputs.back().summary.integral_h);
  }
  const double runs = static_cast<double>(state.iterations()) * scenarios;
  state.counters[fmt::format("{}_{}t", counter, threads)] = benchmark::Counter(runs, benchmark::Counter::kIsRate);
  // What one core delivers, whatever else the machine runs: scenarios per CPU-second.
  state.counters["scenarios_per_cpu_s"] = runs / timer.CpuSecondsSince();
  timer.Report(state, runs * (kWeek / 60));
}

void BM_WhatIfThroughput(benchmark::State& state) { RunThroughput(state, "whatif_scenarios_per_s", {}); }
BENCHMARK(BM_WhatIfThroughput)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_WhatIfThreeOutputs(benchmark::State& state) {
  RunThroughput(state, "whatif3_scenarios_per_s", {"activePower", "bearingTemperature", "cumulativeDamage"});
}
BENCHMARK(BM_WhatIfThreeOutputs)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ThreeLimitComparison(benchmark::State& state) {
  auto base = WarmTurbine();
  BaseProfiles weather = WeekOfWeather();
  auto request = ParseScenarioRequest(R"({"horizon": "7d", "resolution": "1m", "scenarios": [
      {"name": "limit 100%"},
      {"name": "limit 90%", "inputs": {"rotorSpeedLimit": {"scale": 0.9}}},
      {"name": "limit 80%", "inputs": {"rotorSpeedLimit": {"scale": 0.8}}}]})");
  if (!request.ok()) {
    state.SkipWithError(request.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto results = RunScenarios(*base, weather, *request, {.threads = 2});
    if (!results.ok()) {
      state.SkipWithError(results.status().ToString().c_str());
      return;
    }
    state.counters["energy_mwh_100"] = results->at(0).Find("activePower")->summary.integral_h / 1000;
    state.counters["energy_mwh_80"] = results->at(2).Find("activePower")->summary.integral_h / 1000;
  }
}
BENCHMARK(BM_ThreeLimitComparison)->UseRealTime()->Unit(benchmark::kMillisecond);

// The turbine alone, stepped as a scenario run steps it (wind from the profile each minute):
// what the model costs per 60-s step, without the engine.
void BM_TurbineStepAlone(benchmark::State& state) {
  auto turbine = WarmTurbine();
  const BaseProfiles weather = WeekOfWeather();  // held: a reference into a temporary would dangle
  const InputProfile& wind = weather.at("windSpeed");
  const std::size_t wind_index = *turbine->info().Index("windSpeed");
  std::size_t hint = 0;
  double t = 0;
  const StepTimer timer;
  for (auto _ : state) {
    (void)turbine->Set(wind_index, wind.At(std::fmod(t, kWeek), &hint));
    (void)turbine->Step(60);
    t += 60;
  }
  timer.Report(state, static_cast<double>(state.iterations()));
}
BENCHMARK(BM_TurbineStepAlone);

// The engine's own cost per step: a trivial model (one multiply-add per step) through
// RunScenarios with a base profile and two recorded outputs.
class Relaxation final : public Simulation {
 public:
  const ModelInfo& info() const override {
    static const ModelInfo info{.name = "relaxation",
                                .variables = {{.name = "u", .causality = Causality::kInput},
                                              {.name = "y", .causality = Causality::kOutput},
                                              {.name = "z", .causality = Causality::kOutput}}};
    return info;
  }
  Status Set(std::size_t variable, double value) override {
    values_[variable] = value;
    return Status::Ok();
  }
  double Get(std::size_t variable) const override { return values_[variable]; }
  Status Step(double dt_s) override {
    values_[1] += 1e-4 * dt_s * (values_[0] - values_[1]);
    values_[2] = 2 * values_[1];
    return Status::Ok();
  }
  double time() const override { return 0; }
  Result<std::unique_ptr<Simulation>> Clone() const override {
    return std::unique_ptr<Simulation>(std::make_unique<Relaxation>(*this));
  }

 private:
  double values_[3] = {0, 0, 0};
};

void BM_EngineOverhead(benchmark::State& state) {
  Relaxation base;
  BaseProfiles profiles{{"u", WeekOfWeather().at("windSpeed")}};
  ScenarioRequest request;
  for (int i = 0; i < 4; ++i) {
    request.scenarios.push_back(ScenarioSpec{.name = fmt::format("s{}", i), .horizon_s = kWeek, .resolution_s = 60});
  }
  const StepTimer timer;
  for (auto _ : state) {
    auto results = RunScenarios(base, profiles, request, {.threads = 1});
    benchmark::DoNotOptimize(results.ok());
  }
  timer.Report(state, static_cast<double>(state.iterations()) * 4 * (kWeek / 60));
}
BENCHMARK(BM_EngineOverhead)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace doppel::sim

BENCHMARK_MAIN();
