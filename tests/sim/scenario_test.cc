// What-if scenarios: spec parsing and validation, exact input/parameter/state modifications
// against analytic solutions of a first-order system, Monte-Carlo bands, determinism across
// thread counts, and the asynchronous runner (cancellation, concurrency, limits, persistence).
#include "sim/scenario.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

namespace doppel::sim {
namespace {

// Lets a test hold every run at a known point: Step blocks once simulated time reaches `at_s`
// until the test opens the gate.
struct Gate {
  double at_s = 0;
  std::mutex mu;
  std::condition_variable cv;
  int waiting = 0;    // guarded by mu
  bool open = false;  // guarded by mu

  void Pass() {
    std::unique_lock lock(mu);
    ++waiting;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
  void AwaitWaiter() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return waiting > 0; });
  }
  void Open() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
};

// dx/dt = (gain·u − x) / tau, stepped exactly (x relaxes towards gain·u by e^{−dt/tau}), plus
// an optional random walk of `noise` stddev per step. Outputs y = x and uApplied = the input
// used for the last step. Fails every step after `failAt` seconds.
class FirstOrder final : public Simulation {
 public:
  enum : std::size_t { kU, kGain, kTau, kNoise, kFailAt, kX, kY, kUApplied };

  explicit FirstOrder(std::shared_ptr<Gate> gate = nullptr) : gate_(std::move(gate)) {
    for (const Variable& v : Info().variables) values_.push_back(v.start);
  }

  static const ModelInfo& Info() {
    static const ModelInfo info{
        .name = "firstOrder",
        .variables = {{.name = "u", .causality = Causality::kInput, .unit = "kW", .min = -100, .max = 100},
                      {.name = "gain", .causality = Causality::kParameter, .start = 1, .min = 0, .max = 10},
                      {.name = "tau", .causality = Causality::kParameter, .unit = "s", .start = 10, .min = 0.001},
                      {.name = "noise", .causality = Causality::kParameter, .min = 0},
                      {.name = "failAt", .causality = Causality::kParameter, .unit = "s", .start = 1e300},
                      {.name = "x", .causality = Causality::kState, .unit = "kW"},
                      {.name = "y", .causality = Causality::kOutput, .unit = "kW"},
                      {.name = "uApplied", .causality = Causality::kOutput, .unit = "kW"}},
        .stochastic = true};
    return info;
  }
  const ModelInfo& info() const override { return Info(); }

  Status Set(std::size_t variable, double value) override {
    const Variable& v = Info().variables.at(variable);
    if (v.causality == Causality::kOutput) return Status::InvalidArgument(v.name + " is an output");
    if (!std::isfinite(value) || value < v.min || value > v.max) {
      return Status::InvalidArgument(v.name + " = " + std::to_string(value) + " is out of range");
    }
    values_[variable] = value;
    return Status::Ok();
  }
  double Get(std::size_t variable) const override { return values_.at(variable); }

  Status Step(double dt_s) override {
    if (time_ >= values_[kFailAt]) return Status::Internal("diverged");
    if (gate_ && time_ >= gate_->at_s) gate_->Pass();
    double target = values_[kGain] * values_[kU];
    double x = target + (values_[kX] - target) * std::exp(-dt_s / values_[kTau]);
    if (values_[kNoise] > 0) x += values_[kNoise] * std::normal_distribution<double>()(rng_);
    values_[kX] = values_[kY] = x;
    values_[kUApplied] = values_[kU];
    time_ += dt_s;
    return Status::Ok();
  }
  double time() const override { return time_; }
  void Seed(uint64_t seed) override { rng_.seed(seed); }
  Result<std::unique_ptr<Simulation>> Clone() const override {
    return std::unique_ptr<Simulation>(std::make_unique<FirstOrder>(*this));
  }

 private:
  std::shared_ptr<Gate> gate_;
  std::vector<double> values_;
  double time_ = 0;
  std::mt19937_64 rng_{1};
};

ScenarioRequest Parse(std::string_view text) {
  auto request = ParseScenarioRequest(text);
  EXPECT_TRUE(request.ok()) << request.status().ToString();
  return request.ok() ? *request : ScenarioRequest{};
}

std::string ParseError(std::string_view text) {
  auto request = ParseScenarioRequest(text);
  EXPECT_FALSE(request.ok());
  return request.ok() ? "" : request.status().message();
}

std::vector<ScenarioResult> RunModel(const ScenarioRequest& request, const BaseProfiles& profiles = {}, int threads = 1) {
  FirstOrder model;
  auto results = RunScenarios(model, profiles, request, {.threads = threads});
  EXPECT_TRUE(results.ok()) << results.status().ToString();
  return results.ok() ? *results : std::vector<ScenarioResult>{};
}

// ----- parsing ------------------------------------------------------------------------------

TEST(ScenarioSpecTest, ParsesEveryField) {
  ScenarioRequest request = Parse(R"({
    "horizon": "2h", "resolution": "1m", "seed": 7, "outputs": ["y"],
    "scenarios": [
      {"name": "base"},
      {"name": "changed", "horizon": 3600, "resolution": 60, "step": "10s", "seed": 9,
       "inputs": {"u": {"scale": 2, "offset": -1},
                  "v": {"profile": [[0, 1], [60, 2.5]], "interpolation": "step"},
                  "w": 4},
       "parameters": {"gain": {"scale": 1.5}, "tau": 20},
       "states": {"x": {"offset": 3}},
       "outputs": ["y", "uApplied"],
       "monteCarlo": {"samples": 50, "seed": 11,
                      "parameters": {"friction": {"distribution": "normal", "mean": 1, "stddev": 0.1},
                                     "noise": {"distribution": "uniform", "min": 0, "max": 0.5}}}}]})");
  ASSERT_EQ(request.scenarios.size(), 2u);
  const ScenarioSpec& base = request.scenarios[0];
  EXPECT_EQ(base.horizon_s, 7200);
  EXPECT_EQ(base.resolution_s, 60);
  EXPECT_EQ(base.step(), 60);
  EXPECT_EQ(base.seed, 7u);
  EXPECT_EQ(base.outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(base.points(), 121u);
  EXPECT_FALSE(base.monte_carlo);

  const ScenarioSpec& changed = request.scenarios[1];
  EXPECT_EQ(changed.horizon_s, 3600);
  EXPECT_EQ(changed.step(), 10);
  EXPECT_EQ(changed.steps(), 360u);
  EXPECT_EQ(changed.seed, 11u);  // monteCarlo.seed wins over the scenario's
  EXPECT_EQ(changed.inputs.at("u").scale, 2);
  EXPECT_EQ(changed.inputs.at("u").offset, -1);
  ASSERT_TRUE(changed.inputs.at("v").profile);
  EXPECT_EQ(changed.inputs.at("v").profile->interpolation, InputProfile::Interpolation::kStep);
  EXPECT_EQ(changed.inputs.at("v").profile->points.size(), 2u);
  EXPECT_EQ(changed.inputs.at("w").value, 4.0);
  EXPECT_EQ(changed.parameters.at("gain").scale, 1.5);
  EXPECT_EQ(changed.parameters.at("tau").value, 20.0);
  EXPECT_EQ(changed.states.at("x").offset, 3);
  ASSERT_TRUE(changed.monte_carlo);
  EXPECT_EQ(changed.runs(), 50u);
  const Distribution& noise = changed.monte_carlo->distributions.at("noise");
  EXPECT_EQ(noise.kind, Distribution::Kind::kUniform);
  EXPECT_EQ(noise.b, 0.5);
}

TEST(ScenarioSpecTest, DefaultsNameScenariosByPosition) {
  ScenarioRequest request = Parse(R"({"horizon": 60, "resolution": 60, "scenarios": [{}, {}]})");
  ASSERT_EQ(request.scenarios.size(), 2u);
  EXPECT_EQ(request.scenarios[1].name, "scenario 2");
  EXPECT_EQ(request.scenarios[1].seed, 0u);
}

TEST(ScenarioSpecTest, EachErrorNamesItsField) {
  const std::string h = R"("horizon": "1h", "resolution": "1m", )";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {h + R"("scenarios": [{}, {}, {"inputs": {"windSpeed": {"scale": "x"}}}])",
       "scenarios[2].inputs.windSpeed.scale: must be a finite number"},
      {h + R"("scenarios": [{"horizn": 5}])", "scenarios[0].horizn: unknown field"},
      {h + R"("scenarios": [{"horizon": "7x"}])",
       R"(scenarios[0].horizon: must be seconds or a duration like "30m", "12h", "7d")"},
      {h + R"("scenarios": [{"horizon": -5}])",
       R"(scenarios[0].horizon: must be seconds or a duration like "30m", "12h", "7d")"},
      {h + R"("scenarios": [{"horizon": 90}])", "scenarios[0].horizon: 90 s is not a multiple of the resolution 60 s"},
      {h + R"("scenarios": [{"step": 7}])", "scenarios[0].resolution: 60 s is not a multiple of the step 7 s"},
      {h + R"("scenarios": [{"horizon": "365d", "resolution": 60}])",
       "scenarios[0].resolution: 525600 points per output (horizon / resolution) is over the limit of 100000"},
      {R"("scenarios": [{}])", "scenarios[0].horizon: is required"},
      {h + R"("scenarios": [{"inputs": {"u": {"value": 1, "scale": 2}}}])",
       "scenarios[0].inputs.u: give exactly one of value, profile, or scale/offset"},
      {h + R"("scenarios": [{"parameters": {"gain": {"profile": [[0, 1]]}}}])",
       "scenarios[0].parameters.gain.profile: unknown field"},
      {h + R"("scenarios": [{"inputs": {"u": {"profile": [[0, 1], [0, 2]]}}}])",
       "scenarios[0].inputs.u.profile[1]: time 0 is not after the previous 0"},
      {h + R"("scenarios": [{"inputs": {"u": {"profile": [[0, 1, 2]]}}}])",
       "scenarios[0].inputs.u.profile[0]: must be [t_seconds, value]"},
      {h + R"("scenarios": [{"inputs": {"u": {"value": 1, "interpolation": "step"}}}])",
       "scenarios[0].inputs.u.interpolation: only applies to a profile"},
      {h + R"("scenarios": [{"monteCarlo": {"samples": 0}}])",
       "scenarios[0].monteCarlo.samples: must be a positive integer"},
      {h + R"("scenarios": [{"monteCarlo": {"samples": 20000}}])",
       "scenarios[0].monteCarlo.samples: must be from 1 to 10000"},
      {h + R"("scenarios": [{"monteCarlo": {"samples": 5, "parameters": {"gain": {"distribution": "beta"}}}}])",
       R"(scenarios[0].monteCarlo.parameters.gain.distribution: must be "normal" or "uniform")"},
      {h + R"("scenarios": [{"monteCarlo": {"samples": 5, "parameters": {"gain": {"distribution": "normal", "mean": 1}}}}])",
       "scenarios[0].monteCarlo.parameters.gain.stddev: is required"},
      {h + R"("scenarios": [{"monteCarlo": {"samples": 5, "parameters": {"gain": {"distribution": "uniform", "min": 2, "max": 1}}}}])",
       "scenarios[0].monteCarlo.parameters.gain.max: must not be below min"},
      {h + R"("scenarios": [{"monteCarlo": {"samples": 5, "parameters": {"gain": {"distribution": "normal", "mean": 1, "stddev": 1, "min": 0}}}}])",
       "scenarios[0].monteCarlo.parameters.gain.min: not a field of a normal distribution"},
      {h + R"("scenarios": [{"parameters": {"gain": 2}, "monteCarlo": {"samples": 5, "parameters": {"gain": {"distribution": "normal", "mean": 1, "stddev": 1}}}}])",
       "scenarios[0].monteCarlo.parameters.gain: is also overridden in the scenario; give one or the other"},
      {h + R"("scenarios": [{"name": "a"}, {"name": "a"}])", "scenarios[1].name: 'a' is already used by scenarios[0]"},
      {h + R"("scenarios": [{"outputs": ["y", "y"]}])", "scenarios[0].outputs[1]: 'y' is listed twice"},
      {h + R"("scenarios": [{"seed": -1}])", "scenarios[0].seed: must be a non-negative integer"},
      {h + R"("scenarios": [])", "scenarios: at least one scenario is needed"},
      {h + R"("scenario": [])", "request.scenario: unknown field"},
  };
  for (const auto& [body, error] : cases) EXPECT_EQ(ParseError("{" + body + "}"), error) << body;
}

TEST(ScenarioSpecTest, ValidatesAgainstTheModel) {
  FirstOrder model;
  const std::string h = R"({"horizon": "1h", "resolution": "1m", "scenarios": [)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"inputs": {"windSpeed": {"value": 1}}})", "scenarios[0].inputs.windSpeed: model 'firstOrder' has no variable 'windSpeed'"},
      {R"({"inputs": {"gain": {"value": 1}}})", "scenarios[0].inputs.gain: 'gain' is a parameter, not an input"},
      {R"({"parameters": {"x": 1}})", "scenarios[0].parameters.x: 'x' is a state, not a parameter"},
      {R"({"states": {"u": 1}})", "scenarios[0].states.u: 'u' is an input, not a state"},
      {R"({"monteCarlo": {"samples": 2, "parameters": {"u": {"distribution": "normal", "mean": 1, "stddev": 1}}}})",
       "scenarios[0].monteCarlo.parameters.u: 'u' is an input, not a parameter or state"},
      {R"({"outputs": ["z"]})", "scenarios[0].outputs[0]: model 'firstOrder' has no variable 'z'"},
      {R"({"parameters": {"gain": {"scale": 20}}})", "scenarios[0].parameters.gain: gain = 20.000000 is out of range"},
  };
  for (const auto& [scenario, error] : cases) {
    ScenarioRequest request = Parse(h + scenario + "]}");
    Status status = ValidateScenarioRequest(request, model, {});
    EXPECT_EQ(status.message(), error) << scenario;
  }
  ScenarioRequest plain = Parse(h + "{}]}");
  EXPECT_EQ(ValidateScenarioRequest(plain, model, {{"gain", InputProfile{.points = {{0, 1}}}}}).message(),
            "base profile 'gain': 'gain' is a parameter, not an input");
  EXPECT_EQ(ValidateScenarioRequest(plain, model, {{"u", InputProfile{}}}).message(),
            "base profile 'u': profile has no points");
}

TEST(ScenarioSpecTest, RefusesWorkOverTheCaps) {
  FirstOrder model;
  // 1001 runs × 604800 steps = 6.05e8 model steps, under the default cap of 1e9.
  ScenarioRequest request = Parse(R"({"horizon": "7d", "resolution": "1m", "step": "1s", "outputs": ["y"],
      "scenarios": [{"name": "a"}, {"name": "b", "monteCarlo": {"samples": 1000}}]})");
  EXPECT_TRUE(ValidateScenarioRequest(request, model, {}).ok());
  ScenarioLimits tight{.max_work_steps = 1'000'000};
  auto results = RunScenarios(model, {}, request, {.limits = tight});
  EXPECT_EQ(results.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(results.status().message(),
            "request needs 6.05e+08 model steps (scenarios × samples × horizon / step), over the limit of 1e+06: "
            "shorten the horizon, lengthen the step, or use fewer scenarios or samples");
  ScenarioRequest stored = Parse(R"({"horizon": "7d", "resolution": "1m",
      "scenarios": [{"monteCarlo": {"samples": 2000}}]})");
  EXPECT_EQ(ValidateScenarioRequest(stored, model, {}).message(),
            "request needs 4.03e+07 recorded values (scenarios × samples × points × outputs), over the limit of "
            "1.6e+07: record fewer outputs, coarsen the resolution, or use fewer samples");
}

// ----- exact modifications --------------------------------------------------------------------

TEST(ScenarioRunTest, InputValueMatchesTheAnalyticStepResponse) {
  // y(t) = 5 (1 − e^{−t/10}); the model steps exactly, so every point matches to rounding.
  auto results = RunModel(Parse(R"({"horizon": 600, "resolution": 10, "step": 1,
      "scenarios": [{"name": "step", "inputs": {"u": {"value": 5}}}]})"));
  ASSERT_EQ(results.size(), 1u);
  const OutputSeries* y = results[0].Find("y");
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->unit, "kW");
  ASSERT_EQ(y->values.size(), 61u);
  for (std::size_t i = 0; i < y->values.size(); ++i) {
    EXPECT_NEAR(y->values[i], 5 * (1 - std::exp(-static_cast<double>(i) * 10 / 10)), 1e-11) << i;
  }
  EXPECT_TRUE(y->p50.empty());
  EXPECT_EQ(results[0].samples, 0);
  // Integral of 5(1 − e^{−t/10}) over 600 s = 5 (600 − 10 (1 − e^{−60})) kW·s; the trapezoid at
  // 1 s steps is off by dt²/12 · (y'(T) − y'(0)) ≈ −0.042 kW·s.
  double exact_kws = 5 * (600 - 10 * (1 - std::exp(-60.0)));
  EXPECT_NEAR(y->summary.integral_h, exact_kws / 3600, 0.05 / 3600);
  EXPECT_NEAR(y->summary.mean, exact_kws / 600, 0.05 / 600);
  EXPECT_EQ(y->summary.min, 0);
  EXPECT_NEAR(y->summary.max, 5 * (1 - std::exp(-60.0)), 1e-12);
  EXPECT_EQ(y->summary.final, y->values.back());
}

TEST(ScenarioRunTest, ScaleAndOffsetApplyToTheBaseProfile) {
  // Base u(t) = 1 + t/50 (linear); scenario u' = 2u + 1, applied at each step's start.
  BaseProfiles base{{"u", InputProfile{.points = {{0, 1}, {100, 3}}}}};
  auto results = RunModel(Parse(R"({"horizon": 100, "resolution": 10, "step": 5,
      "scenarios": [{"name": "s", "inputs": {"u": {"scale": 2, "offset": 1}}, "outputs": ["uApplied"]}]})"),
                     base);
  const OutputSeries* applied = results.at(0).Find("uApplied");
  ASSERT_NE(applied, nullptr);
  for (std::size_t i = 1; i < applied->values.size(); ++i) {
    double step_start = static_cast<double>(i) * 10 - 5;
    EXPECT_NEAR(applied->values[i], 2 * (1 + step_start / 50) + 1, 1e-12) << i;
  }
}

TEST(ScenarioRunTest, ProfilesInterpolateLinearlyOrStepAndHoldAtTheEnds) {
  auto results = RunModel(Parse(R"({"horizon": 100, "resolution": 10, "outputs": ["uApplied"], "scenarios": [
      {"name": "linear", "inputs": {"u": {"profile": [[20, 0], [60, 8]]}}},
      {"name": "step", "inputs": {"u": {"profile": [[20, 0], [60, 8]], "interpolation": "step"}}}]})"));
  // Recorded point i holds the input of the step that started at (i − 1)·10 s.
  std::vector<double> linear = {0, 0, 0, 0, 2, 4, 6, 8, 8, 8, 8};
  std::vector<double> step = {0, 0, 0, 0, 0, 0, 0, 8, 8, 8, 8};
  EXPECT_EQ(results.at(0).Find("uApplied")->values, linear);
  EXPECT_EQ(results.at(1).Find("uApplied")->values, step);
}

TEST(ScenarioRunTest, SummariesTakeEveryInternalStepNotOnlyTheRecordedPoints) {
  // 999 one-second steps recorded every 3 s: the runner works in blocks of steps, and neither
  // the block length nor the run is a multiple of 3. The input spikes to 90 for the step
  // starting at 501 s, which no recorded point shows; the summaries must still see it.
  InputProfile u{.points = {{0, 0}, {500, 50}, {501, 90}, {502, 50}, {999, -20}}};
  auto results = RunModel(Parse(R"({"horizon": 999, "resolution": 3, "step": 1, "outputs": ["uApplied"],
      "scenarios": [{"name": "spike"}]})"), {{"u", u}});
  const OutputSeries* applied = results.at(0).Find("uApplied");
  ASSERT_NE(applied, nullptr);
  ASSERT_EQ(applied->values.size(), 334u);
  EXPECT_EQ(applied->values[0], 0);  // the fork's uApplied before any step
  // Point i holds the input of the step that started at 3i − 1 s.
  for (std::size_t i = 1; i < applied->values.size(); ++i) {
    EXPECT_EQ(applied->values[i], u.At(static_cast<double>(3 * i - 1))) << i;
  }
  // The same figures from every step, the slow way: v_0 = 0, v_{j+1} = u(j).
  std::vector<double> v = {0};
  for (int j = 0; j < 999; ++j) v.push_back(u.At(j));
  double integral_s = 0;
  for (std::size_t j = 1; j < v.size(); ++j) integral_s += 0.5 * (v[j - 1] + v[j]);
  EXPECT_EQ(applied->summary.max, 90);
  EXPECT_EQ(applied->summary.min, *std::min_element(v.begin(), v.end()));
  EXPECT_EQ(applied->summary.final, v.back());
  EXPECT_NEAR(applied->summary.integral_h, integral_s / 3600, 1e-9 * std::abs(integral_s) / 3600);
  EXPECT_NEAR(applied->summary.mean, integral_s / 999, 1e-9 * std::abs(integral_s) / 999);
}

TEST(ScenarioRunTest, InputsAreClampedToTheirRange) {
  BaseProfiles base{{"u", InputProfile{.points = {{0, 60}}}}};
  auto results = RunModel(Parse(R"({"horizon": 20, "resolution": 10, "outputs": ["uApplied"],
      "scenarios": [{"inputs": {"u": {"scale": 2}}}]})"), base);
  EXPECT_EQ(results.at(0).Find("uApplied")->values.back(), 100);  // 120 clamped to max 100
}

TEST(ScenarioRunTest, ParameterAndStateOverridesApplyToTheFork) {
  // x0 = 2 (state), u = 0, tau scaled from 10 to 20: y = 2 e^{−t/20}.
  auto results = RunModel(Parse(R"({"horizon": 100, "resolution": 10, "outputs": ["y"],
      "scenarios": [{"states": {"x": 2}, "parameters": {"tau": {"scale": 2}}}]})"));
  const OutputSeries* y = results.at(0).Find("y");
  // Point 0 is the fork's output as of its last step, before the scenario's changes.
  EXPECT_EQ(y->values[0], 0);
  for (std::size_t i = 1; i < y->values.size(); ++i) {
    EXPECT_NEAR(y->values[i], 2 * std::exp(-static_cast<double>(i) * 10 / 20), 1e-12) << i;
  }
}

TEST(ScenarioRunTest, UnchangedInputsHoldTheForkedValue) {
  FirstOrder model;
  ASSERT_TRUE(model.Set(FirstOrder::kU, 3).ok());
  auto request = Parse(R"({"horizon": 50, "resolution": 10, "scenarios": [{}]})");
  auto results = RunScenarios(model, {}, request);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ((*results)[0].Find("uApplied")->values.back(), 3);
  ASSERT_EQ((*results)[0].outputs.size(), 2u);  // every kOutput by default
}

TEST(ScenarioRunTest, AModelErrorNamesScenarioAndTime) {
  auto request = Parse(R"({"horizon": 100, "resolution": 10, "scenarios": [{"name": "bad", "parameters": {"failAt": 30}}]})");
  FirstOrder model;
  auto results = RunScenarios(model, {}, request, {.threads = 2});
  EXPECT_EQ(results.status().code(), StatusCode::kInternal);
  EXPECT_EQ(results.status().message(), "scenario 'bad' at t = 30 s: step: diverged");
}

// ----- Monte-Carlo and determinism ------------------------------------------------------------

TEST(ScenarioMonteCarloTest, BandsAreOrderedAndContainTheAnalyticMean) {
  // gain ~ N(2, 0.2), u = 1, x0 = 0: E[y(t)] = 2 (1 − e^{−t/10}), sd = 0.2 (1 − e^{−t/10}).
  auto results = RunModel(Parse(R"({"horizon": 100, "resolution": 10, "outputs": ["y"], "scenarios": [{
      "inputs": {"u": 1}, "monteCarlo": {"samples": 400, "seed": 3,
      "parameters": {"gain": {"distribution": "normal", "mean": 2, "stddev": 0.2}}}}]})"),
                     {}, 2);
  const OutputSeries* y = results.at(0).Find("y");
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(results[0].samples, 400);
  ASSERT_EQ(y->p5.size(), 11u);
  for (std::size_t i = 1; i < y->values.size(); ++i) {
    double shape = 1 - std::exp(-static_cast<double>(i));
    EXPECT_LE(y->p5[i], y->p50[i]);
    EXPECT_LE(y->p50[i], y->p95[i]);
    EXPECT_LT(y->p5[i], 2 * shape);
    EXPECT_GT(y->p95[i], 2 * shape);
    EXPECT_NEAR(y->values[i], 2 * shape, 4 * 0.2 * shape / std::sqrt(400.0)) << i;
    // Normal: p95 − p5 ≈ 2 × 1.645 sd.
    EXPECT_NEAR(y->p95[i] - y->p5[i], 3.29 * 0.2 * shape, 0.2 * 3.29 * 0.2 * shape) << i;
  }
  EXPECT_LE(y->summary_p5.final, y->summary.final);
  EXPECT_LE(y->summary.final, y->summary_p95.final);
}

TEST(ScenarioMonteCarloTest, UniformDrawsStayInsideTheirBounds) {
  auto results = RunModel(Parse(R"({"horizon": 1000, "resolution": 1000, "step": 1000, "outputs": ["y"], "scenarios": [{
      "inputs": {"u": 1}, "monteCarlo": {"samples": 200,
      "parameters": {"gain": {"distribution": "uniform", "min": 1, "max": 3}}}}]})"));
  const OutputSeries* y = results.at(0).Find("y");
  // After 100 time constants y = gain: the bands are the uniform's quantiles.
  EXPECT_GE(y->p5[1], 1);
  EXPECT_LE(y->p95[1], 3);
  EXPECT_NEAR(y->values[1], 2, 4 * (2 / std::sqrt(12.0)) / std::sqrt(200.0));
  EXPECT_NEAR(y->p5[1], 1.1, 0.1);
  EXPECT_NEAR(y->p95[1], 2.9, 0.1);
}

constexpr std::string_view kStochastic = R"({"horizon": "1h", "resolution": "1m", "step": 10, "seed": 5,
    "scenarios": [
      {"name": "noisy", "inputs": {"u": 2}, "parameters": {"noise": 0.1}},
      {"name": "sampled", "inputs": {"u": {"offset": 1}}, "parameters": {"noise": 0.05},
       "monteCarlo": {"samples": 30, "parameters": {"gain": {"distribution": "normal", "mean": 1, "stddev": 0.3},
                                                     "tau": {"distribution": "uniform", "min": 5, "max": 50}}}},
      {"name": "other seed", "seed": 6, "inputs": {"u": 2}, "parameters": {"noise": 0.1}}]})";

void ExpectSameResults(const std::vector<ScenarioResult>& a, const std::vector<ScenarioResult>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t s = 0; s < a.size(); ++s) {
    ASSERT_EQ(a[s].outputs.size(), b[s].outputs.size());
    for (std::size_t k = 0; k < a[s].outputs.size(); ++k) {
      const OutputSeries& x = a[s].outputs[k];
      const OutputSeries& y = b[s].outputs[k];
      EXPECT_EQ(x.values, y.values) << a[s].name << " " << x.name;
      EXPECT_EQ(x.p5, y.p5);
      EXPECT_EQ(x.p50, y.p50);
      EXPECT_EQ(x.p95, y.p95);
      EXPECT_EQ(x.summary.integral_h, y.summary.integral_h);
      EXPECT_EQ(x.summary_p95.max, y.summary_p95.max);
    }
  }
}

TEST(ScenarioDeterminismTest, SameSeedSameResultsWhateverTheThreadCount) {
  ScenarioRequest request = Parse(kStochastic);
  auto one = RunModel(request, {}, 1);
  ExpectSameResults(one, RunModel(request, {}, 1));
  ExpectSameResults(one, RunModel(request, {}, 3));
  ExpectSameResults(one, RunModel(request, {}, 8));
  // The noise really is random: another seed gives another path.
  EXPECT_NE(one.at(0).Find("y")->values, one.at(2).Find("y")->values);
}

TEST(ScenarioDeterminismTest, AScenarioDoesNotDependOnItsPositionInTheRequest) {
  // Common random numbers: scenarios compared side by side see the same random streams.
  auto results = RunModel(Parse(R"({"horizon": 600, "resolution": 60, "scenarios": [
      {"name": "a", "parameters": {"noise": 0.1}}, {"name": "b", "parameters": {"noise": 0.1}}]})"));
  EXPECT_EQ(results.at(0).Find("y")->values, results.at(1).Find("y")->values);
}

TEST(ScenarioDeterminismTest, CancelledRunReturnsUnavailable) {
  std::atomic<bool> cancel{true};
  FirstOrder model;
  auto results = RunScenarios(model, {}, Parse(kStochastic), {.threads = 2, .cancel = &cancel});
  EXPECT_EQ(results.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(results.status().message(), "scenario run cancelled");
}

// ----- the asynchronous runner ----------------------------------------------------------------

std::unique_ptr<ScenarioRunner> OpenRunner(Clock& clock, ScenarioRunnerOptions options = {}) {
  if (options.threads == 0) options.threads = 2;
  auto runner = ScenarioRunner::Open(std::move(options), clock);
  EXPECT_TRUE(runner.ok()) << runner.status().ToString();
  return runner.ok() ? std::move(*runner) : nullptr;
}

TEST(ScenarioRunnerTest, RunsAJobToTheSameResultsAsRunScenarios) {
  ManualClock clock;
  auto runner = OpenRunner(clock, {.threads = 3});
  FirstOrder model;
  auto id = runner->Submit(model, {}, Parse(kStochastic), clock.Now(), "twin-1");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(runner->Wait(*id).ok());
  auto progress = runner->Progress(*id);
  ASSERT_TRUE(progress.ok());
  EXPECT_EQ(progress->state, JobState::kSucceeded);
  EXPECT_EQ(progress->fraction, 1.0);
  EXPECT_EQ(progress->tag, "twin-1");
  auto results = runner->Results(*id);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ExpectSameResults(**results, RunModel(Parse(kStochastic)));

  auto rendered = runner->RenderJson(*id, true);
  ASSERT_TRUE(rendered.ok());
  const json::object& o = rendered->as_object();
  EXPECT_EQ(o.at("status").as_string(), "succeeded");
  EXPECT_EQ(o.at("tag").as_string(), "twin-1");
  EXPECT_EQ(o.at("progress").to_number<double>(), 1.0);
  const json::object& y = o.at("scenarios").as_array().at(1).as_object().at("outputs").as_object().at("y").as_object();
  EXPECT_EQ(y.at("p95").as_array().size(), 61u);
  EXPECT_EQ(y.at("summary").as_object().at("integralUnit").as_string(), "kW*h");
  EXPECT_FALSE(runner->RenderJson(*id, false)->get_object().contains("scenarios"));
  EXPECT_EQ(runner->List("twin-1"), std::vector<std::string>{*id});
  EXPECT_TRUE(runner->List("twin-2").empty());
}

TEST(ScenarioRunnerTest, RefusesAnInvalidRequestAtSubmit) {
  ManualClock clock;
  auto runner = OpenRunner(clock);
  FirstOrder model;
  auto id = runner->Submit(model, {}, Parse(R"({"horizon": 60, "resolution": 60, "scenarios": [{"states": {"gain": 1}}]})"),
                           clock.Now());
  EXPECT_EQ(id.status().message(), "scenarios[0].states.gain: 'gain' is a parameter, not a state");
  EXPECT_EQ(runner->Progress("42").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(runner->Progress("nope").status().code(), StatusCode::kNotFound);
}

TEST(ScenarioRunnerTest, CancelStopsARunningJobWithoutResults) {
  ManualClock clock;
  auto runner = OpenRunner(clock, {.threads = 2});
  auto gate = std::make_shared<Gate>();
  gate->at_s = 100;
  FirstOrder model(gate);
  auto id = runner->Submit(model, {}, Parse(R"({"horizon": "30d", "resolution": "1h", "step": 1,
      "scenarios": [{"name": "a"}, {"name": "b"}, {"name": "c"}]})"), clock.Now());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  gate->AwaitWaiter();  // a run is inside Step at t = 100 s
  EXPECT_EQ(runner->Progress(*id)->state, JobState::kRunning);
  ASSERT_TRUE(runner->Cancel(*id).ok());
  EXPECT_EQ(runner->Progress(*id)->state, JobState::kCancelled);
  gate->Open();
  ASSERT_TRUE(runner->Wait(*id).ok());
  auto progress = runner->Progress(*id);
  EXPECT_EQ(progress->state, JobState::kCancelled);
  EXPECT_LT(progress->fraction, 0.01);
  EXPECT_TRUE(progress->finished.has_value());
  EXPECT_EQ(runner->Results(*id).status().message(), "scenario job " + *id + " is cancelled, it has no results");
  EXPECT_TRUE(runner->Cancel(*id).ok());  // idempotent
}

TEST(ScenarioRunnerTest, AFailedJobSaysWhy) {
  ManualClock clock;
  auto runner = OpenRunner(clock);
  FirstOrder model;
  auto id = runner->Submit(model, {}, Parse(R"({"horizon": 600, "resolution": 60, "scenarios": [
      {"name": "ok"}, {"name": "bad", "parameters": {"failAt": 120}}]})"), clock.Now());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(runner->Wait(*id).ok());
  auto progress = runner->Progress(*id);
  EXPECT_EQ(progress->state, JobState::kFailed);
  EXPECT_EQ(progress->error, "scenario 'bad' at t = 120 s: step: diverged");
  EXPECT_EQ(runner->Results(*id).status().code(), StatusCode::kConflict);
  EXPECT_EQ(runner->Cancel(*id).code(), StatusCode::kConflict);
}

TEST(ScenarioRunnerTest, ManyConcurrentJobsEachGetTheirOwnAnswer) {
  ManualClock clock;
  auto runner = OpenRunner(clock, {.threads = 4, .max_active_jobs = 64});
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    FirstOrder model;
    ASSERT_TRUE(model.Set(FirstOrder::kGain, 1 + i % 5).ok());
    std::string body = R"({"horizon": "1h", "resolution": "1m", "step": 1, "outputs": ["y"], "scenarios": [
        {"name": "u", "inputs": {"u": )" + std::to_string(i) + R"(}}, {"name": "zero", "inputs": {"u": 0}}]})";
    auto id = runner->Submit(model, {}, Parse(body), clock.Now());
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ids.push_back(*id);
  }
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(runner->Wait(ids[i]).ok());
    auto results = runner->Results(ids[i]);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    // After 360 time constants y = gain × u.
    EXPECT_NEAR((**results)[0].Find("y")->summary.final, (1 + i % 5) * i, 1e-9) << i;
    EXPECT_EQ((**results)[1].Find("y")->summary.final, 0);
  }
}

TEST(ScenarioRunnerTest, RefusesJobsBeyondTheActiveLimit) {
  ManualClock clock;
  auto runner = OpenRunner(clock, {.threads = 1, .max_active_jobs = 1});
  auto gate = std::make_shared<Gate>();
  FirstOrder model(gate);
  auto request = Parse(R"({"horizon": 60, "resolution": 60, "scenarios": [{}]})");
  auto first = runner->Submit(model, {}, request, clock.Now());
  ASSERT_TRUE(first.ok());
  auto second = runner->Submit(model, {}, request, clock.Now());
  EXPECT_EQ(second.status().code(), StatusCode::kResourceExhausted);
  gate->Open();
  ASSERT_TRUE(runner->Wait(*first).ok());
  EXPECT_TRUE(runner->Submit(model, {}, request, clock.Now()).ok());
}

TEST(ScenarioRunnerTest, EvictsTheOldestFinishedJobsByCountAndAge) {
  ManualClock clock;
  std::string dir = ::testing::TempDir() + "/scenario_evict";
  std::filesystem::remove_all(dir);
  auto runner = OpenRunner(clock, {.max_jobs = 2, .retention = std::chrono::hours(1), .directory = dir});
  FirstOrder model;
  auto request = Parse(R"({"horizon": 60, "resolution": 60, "scenarios": [{}]})");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto id = runner->Submit(model, {}, request, clock.Now());
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(runner->Wait(*id).ok());
    ids.push_back(*id);
  }
  EXPECT_EQ(runner->List(), (std::vector<std::string>{ids[1], ids[2]}));
  EXPECT_EQ(runner->Progress(ids[0]).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir + "/job-" + ids[0] + ".json"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/job-" + ids[1] + ".json"));
  clock.Advance(std::chrono::hours(2));
  EXPECT_TRUE(runner->List().empty());
}

TEST(ScenarioRunnerTest, FinishedJobsSurviveARestart) {
  ManualClock clock;
  std::string dir = ::testing::TempDir() + "/scenario_persist";
  std::filesystem::remove_all(dir);
  FirstOrder model;
  std::string succeeded, failed;
  std::shared_ptr<const std::vector<ScenarioResult>> before;
  {
    auto runner = OpenRunner(clock, {.directory = dir});
    auto id = runner->Submit(model, {}, Parse(kStochastic), clock.Now(), "twin-9");
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(runner->Wait(*id).ok());
    succeeded = *id;
    before = *runner->Results(succeeded);
    auto bad = runner->Submit(model, {}, Parse(R"({"horizon": 60, "resolution": 60, "scenarios": [
        {"name": "bad", "parameters": {"failAt": 0}}]})"), clock.Now());
    ASSERT_TRUE(bad.ok());
    ASSERT_TRUE(runner->Wait(*bad).ok());
    failed = *bad;
  }
  std::ofstream(dir + "/job-77.json") << "{ torn";
  auto runner = OpenRunner(clock, {.directory = dir});
  EXPECT_EQ(runner->List(), (std::vector<std::string>{succeeded, failed}));
  auto after = runner->Results(succeeded);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ExpectSameResults(*before, **after);
  EXPECT_EQ((**after)[1].samples, 30);
  EXPECT_EQ((**after)[1].seed, 5u);
  EXPECT_EQ(runner->Progress(succeeded)->tag, "twin-9");
  EXPECT_EQ(runner->Progress(failed)->state, JobState::kFailed);
  EXPECT_EQ(runner->Progress(failed)->error, "scenario 'bad' at t = 0 s: step: diverged");
  // New ids continue after the highest one on disk.
  auto next = runner->Submit(model, {}, Parse(R"({"horizon": 60, "resolution": 60, "scenarios": [{}]})"), clock.Now());
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, "78");
}

TEST(ScenarioRunnerTest, StopCancelsQueuedJobsAndRefusesNewOnes) {
  ManualClock clock;
  auto runner = OpenRunner(clock, {.threads = 1});
  auto gate = std::make_shared<Gate>();
  FirstOrder model(gate);
  auto request = Parse(R"({"horizon": 60, "resolution": 60, "scenarios": [{}]})");
  auto running = runner->Submit(model, {}, request, clock.Now());
  auto queued = runner->Submit(model, {}, request, clock.Now());
  ASSERT_TRUE(running.ok() && queued.ok());
  gate->AwaitWaiter();
  // Opened only once Stop has cancelled the jobs, so the queued one cannot slip through first.
  std::thread opener([&] {
    while (runner->Progress(*queued)->state != JobState::kCancelled) std::this_thread::yield();
    gate->Open();
  });
  runner->Stop();
  opener.join();
  EXPECT_EQ(runner->Progress(*queued)->state, JobState::kCancelled);
  EXPECT_EQ(runner->Submit(model, {}, request, clock.Now()).status().code(), StatusCode::kUnavailable);
  runner->Stop();  // idempotent
}

TEST(ScenarioInputProfileTest, HintedLookupMatchesTheSearch) {
  InputProfile profile{.points = {{0, 0}, {10, 10}, {20, 0}, {30, 5}}};
  std::size_t hint = 0;
  for (double t = -5; t <= 35; t += 0.5) EXPECT_EQ(profile.At(t, &hint), profile.At(t)) << t;
  EXPECT_EQ(profile.At(25, &hint), 2.5);  // going back in time still works
  EXPECT_EQ(profile.At(15), 5);
}

}  // namespace
}  // namespace doppel::sim
