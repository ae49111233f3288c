#include "sim/internal/scenario_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <thread>

namespace doppel::sim::internal {
namespace {

// SplitMix64: a tiny, well-mixed generator whose output is fixed by its definition, so seeds and
// Monte-Carlo draws are the same with every standard library (std::normal_distribution is not).
uint64_t Mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The seed of sample `run` of a scenario. The scenario's position in the request is left out on
// purpose: scenarios compared side by side see the same random streams (common random numbers),
// so their differences come from what they change, not from noise, and a scenario's results do
// not depend on where it sits in the request.
uint64_t RunSeed(uint64_t seed, std::size_t run) { return Mix(Mix(seed) ^ static_cast<uint64_t>(run)); }

class DrawStream {
 public:
  explicit DrawStream(uint64_t seed) : state_(seed ^ 0xd1b54a32d192ed03ULL) {}
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double Normal() {  // Box–Muller; 1 - u keeps the logarithm finite
    double radius = std::sqrt(-2.0 * std::log(1.0 - Uniform()));
    return radius * std::cos(2.0 * std::numbers::pi * Uniform());
  }
  double Draw(const Distribution& d) {
    return d.kind == Distribution::Kind::kNormal ? d.a + d.b * Normal() : d.a + (d.b - d.a) * Uniform();
  }

 private:
  uint64_t Next() { return Mix(state_++); }
  uint64_t state_;
};

// One input's value over a run: a profile (base or the scenario's own) × scale + offset, or a
// constant, always clamped to the variable's [min, max] so that a scaled replay of history
// cannot push an input out of range mid-run.
struct InputDriver {
  std::size_t index = 0;
  const InputProfile* profile = nullptr;  // nullptr: `constant`
  double constant = 0.0;
  double scale = 1.0;
  double offset = 0.0;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();

  double At(double t_s, std::size_t* hint) const {
    return std::clamp(profile ? profile->At(t_s, hint) * scale + offset : constant, min, max);
  }
};

// Running summary of one output over every internal step.
struct Accumulator {
  double min = 0, max = 0, integral_s = 0, last = 0;
  void Start(double v) { min = max = last = v; }
  void Add(double v, double dt_s) {
    min = std::min(min, v);
    max = std::max(max, v);
    integral_s += 0.5 * (last + v) * dt_s;
    last = v;
  }
  OutputSummary Summary(double horizon_s) const {
    return {.min = min, .max = max, .mean = integral_s / horizon_s, .final = last, .integral_h = integral_s / 3600.0};
  }
};

// Linear interpolation between closest ranks (numpy's default); std::lerp keeps it monotone in q.
double Percentile(const std::vector<double>& sorted, double q) {
  double position = q * static_cast<double>(sorted.size() - 1);
  auto lower = static_cast<std::size_t>(position);
  std::size_t upper = std::min(lower + 1, sorted.size() - 1);
  return std::lerp(sorted[lower], sorted[upper], position - static_cast<double>(lower));
}

struct Band {
  double mean = 0, p5 = 0, p50 = 0, p95 = 0;
};

// Sorts `samples` in place.
Band BandOf(std::vector<double>& samples) {
  double sum = 0;
  for (double v : samples) sum += v;
  std::sort(samples.begin(), samples.end());
  return {sum / static_cast<double>(samples.size()), Percentile(samples, 0.05), Percentile(samples, 0.5),
          Percentile(samples, 0.95)};
}

constexpr double OutputSummary::*kSummaryFields[] = {&OutputSummary::min, &OutputSummary::max, &OutputSummary::mean,
                                                      &OutputSummary::final, &OutputSummary::integral_h};

}  // namespace

struct ScenarioPlan::Scenario {
  const ScenarioSpec* spec = nullptr;
  std::vector<InputDriver> fixed;    // set once before the first step
  std::vector<InputDriver> varying;  // set before every step
  std::vector<std::size_t> recorded;
  std::vector<std::pair<std::size_t, Distribution>> draws;
  std::size_t runs = 1, points = 0, steps_per_point = 1;
  std::vector<double> series;            // [output][run][point]
  std::vector<OutputSummary> summaries;  // [output][run]
  std::atomic<int64_t> compute_ns{0};

  double& Slot(std::size_t output, std::size_t run, std::size_t point) {
    return series[(output * runs + run) * points + point];
  }
  void Build(const ScenarioSpec& scenario_spec, const Simulation& base, const BaseProfiles& profiles);
  Status PrepareRun(std::size_t run, Simulation& sim) const;
  Status Run(std::size_t run, Simulation& sim, StopFlags stop, std::atomic<uint64_t>* steps_done);
  Status RunError(std::size_t run, double t_s, std::string_view what, const Status& status) const;
  OutputSeries Aggregate(std::size_t output, const ModelInfo& info) const;
};

Status CancelledStatus() { return Status::Unavailable("scenario run cancelled"); }

namespace {

InputDriver MakeDriver(std::size_t index, const Variable& variable, double current, const Modification* mod,
                       const InputProfile* base_profile) {
  InputDriver driver{.index = index, .min = variable.min, .max = variable.max};
  if (mod && mod->profile) {
    driver.profile = &*mod->profile;
  } else if (mod && mod->value) {
    driver.constant = *mod->value;
  } else if (base_profile) {
    driver.profile = base_profile;
    if (mod) {
      driver.scale = mod->scale;
      driver.offset = mod->offset;
    }
  } else {
    driver.constant = mod ? mod->Apply(current) : current;
  }
  return driver;
}

}  // namespace

void ScenarioPlan::Scenario::Build(const ScenarioSpec& scenario_spec, const Simulation& base,
                                   const BaseProfiles& profiles) {
  spec = &scenario_spec;
  const ModelInfo& info = base.info();
  for (std::size_t i = 0; i < info.variables.size(); ++i) {
    const Variable& variable = info.variables[i];
    if (variable.causality != Causality::kInput) continue;
    auto mod = spec->inputs.find(variable.name);
    auto base_profile = profiles.find(variable.name);
    const Modification* mod_ptr = mod == spec->inputs.end() ? nullptr : &mod->second;
    const InputProfile* profile_ptr = base_profile == profiles.end() ? nullptr : &base_profile->second;
    if (!mod_ptr && !profile_ptr) continue;  // holds the fork's value
    InputDriver driver = MakeDriver(i, variable, base.Get(i), mod_ptr, profile_ptr);
    (driver.profile ? varying : fixed).push_back(driver);
  }
  for (const std::string& name : spec->outputs) recorded.push_back(*info.Find(name));
  if (spec->outputs.empty()) {
    for (std::size_t i = 0; i < info.variables.size(); ++i) {
      if (info.variables[i].causality == Causality::kOutput) recorded.push_back(i);
    }
  }
  if (spec->monte_carlo) {
    for (const auto& [name, d] : spec->monte_carlo->distributions) draws.emplace_back(*info.Find(name), d);
  }
  runs = spec->runs();
  points = spec->points();
  steps_per_point = static_cast<std::size_t>(std::llround(spec->resolution_s / spec->step()));
  series.resize(recorded.size() * runs * points);
  summaries.resize(recorded.size() * runs);
}

Result<std::unique_ptr<ScenarioPlan>> ScenarioPlan::Prepare(const Simulation& base, BaseProfiles profiles,
                                                            ScenarioRequest request, const ScenarioLimits& limits) {
  DOPPEL_RETURN_IF_ERROR(ValidateScenarioRequest(request, base, profiles, limits));
  std::unique_ptr<ScenarioPlan> plan(new ScenarioPlan());
  DOPPEL_ASSIGN_OR_RETURN(plan->base_, base.Clone());
  // Moved in before building the scenarios: their drivers point into these.
  plan->profiles_ = std::move(profiles);
  plan->request_ = std::move(request);
  for (std::size_t s = 0; s < plan->request_.scenarios.size(); ++s) {
    auto scenario = std::make_unique<Scenario>();
    scenario->Build(plan->request_.scenarios[s], *plan->base_, plan->profiles_);
    for (std::size_t run = 0; run < scenario->runs; ++run) plan->tasks_.emplace_back(s, run);
    plan->scenarios_.push_back(std::move(scenario));
  }
  return plan;
}

ScenarioPlan::~ScenarioPlan() = default;

std::size_t ScenarioPlan::tasks() const { return tasks_.size(); }

uint64_t ScenarioPlan::total_steps() const {
  uint64_t total = 0;
  for (const auto& scenario : scenarios_) total += scenario->runs * scenario->spec->steps();
  return total;
}

Status ScenarioPlan::RunTask(std::size_t task, StopFlags stop, std::atomic<uint64_t>* steps_done) {
  auto started = std::chrono::steady_clock::now();
  auto [s, run] = tasks_[task];
  Scenario& scenario = *scenarios_[s];
  if (stop.stopped()) return CancelledStatus();
  std::unique_ptr<Simulation> sim;
  {
    std::lock_guard lock(clone_mu_);
    DOPPEL_ASSIGN_OR_RETURN(sim, base_->Clone());
  }
  DOPPEL_RETURN_IF_ERROR(scenario.PrepareRun(run, *sim));
  Status status = scenario.Run(run, *sim, stop, steps_done);
  scenario.compute_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started)
                             .count();
  return status;
}

Status ScenarioPlan::Scenario::RunError(std::size_t run, double t_s, std::string_view what, const Status& status) const {
  std::string sample = spec->monte_carlo ? fmt::format(" sample {}", run) : "";
  return Status(status.code(), status.error_code(),
                fmt::format("scenario '{}'{} at t = {} s: {}: {}", spec->name, sample, t_s, what, status.message()));
}

Status ScenarioPlan::Scenario::PrepareRun(std::size_t run, Simulation& sim) const {
  uint64_t seed = RunSeed(spec->seed, run);
  sim.Seed(seed);
  const ModelInfo& info = sim.info();
  for (const auto& [name, mod] : spec->parameters) {
    std::size_t index = *info.Find(name);
    Status status = sim.Set(index, mod.Apply(sim.Get(index)));
    if (!status.ok()) return RunError(run, 0, fmt::format("parameter '{}'", name), status);
  }
  DrawStream stream(seed);
  for (const auto& [index, distribution] : draws) {
    const Variable& variable = info.variables[index];
    Status status = sim.Set(index, std::clamp(stream.Draw(distribution), variable.min, variable.max));
    if (!status.ok()) return RunError(run, 0, fmt::format("drawn '{}'", variable.name), status);
  }
  for (const auto& [name, mod] : spec->states) {
    std::size_t index = *info.Find(name);
    Status status = sim.Set(index, mod.Apply(sim.Get(index)));
    if (!status.ok()) return RunError(run, 0, fmt::format("state '{}'", name), status);
  }
  for (const InputDriver& driver : fixed) {
    Status status = sim.Set(driver.index, driver.At(0, nullptr));
    if (!status.ok()) return RunError(run, 0, fmt::format("input '{}'", info.variables[driver.index].name), status);
  }
  return Status::Ok();
}

Status ScenarioPlan::Scenario::Run(std::size_t run, Simulation& sim, StopFlags stop,
                                   std::atomic<uint64_t>* steps_done) {
  const double dt = spec->step();
  std::vector<Accumulator> acc(recorded.size());
  for (std::size_t k = 0; k < recorded.size(); ++k) acc[k].Start(Slot(k, run, 0) = sim.Get(recorded[k]));
  std::vector<std::size_t> hints(varying.size(), 0);
  std::vector<double> last_set(varying.size(), std::numeric_limits<double>::quiet_NaN());
  std::size_t step = 0;
  uint64_t unreported = 0;
  for (std::size_t point = 1; point < points; ++point) {
    for (std::size_t s = 0; s < steps_per_point; ++s, ++step) {
      if (stop.stopped()) return CancelledStatus();
      // Time from the step count, not a running sum, so long runs do not drift.
      const double t = static_cast<double>(step) * dt;
      for (std::size_t d = 0; d < varying.size(); ++d) {
        double value = varying[d].At(t, &hints[d]);
        if (value == last_set[d]) continue;
        Status status = sim.Set(varying[d].index, value);
        if (!status.ok()) return RunError(run, t, fmt::format("input '{}'", sim.info().variables[varying[d].index].name), status);
        last_set[d] = value;
      }
      Status status = sim.Step(dt);
      if (!status.ok()) return RunError(run, t, "step", status);
      for (std::size_t k = 0; k < recorded.size(); ++k) acc[k].Add(sim.Get(recorded[k]), dt);
      // Batched so that many threads do not contend on one counter every step.
      if (++unreported == 1024) steps_done->fetch_add(std::exchange(unreported, 0), std::memory_order_relaxed);
    }
    for (std::size_t k = 0; k < recorded.size(); ++k) Slot(k, run, point) = acc[k].last;
  }
  steps_done->fetch_add(unreported, std::memory_order_relaxed);
  for (std::size_t k = 0; k < recorded.size(); ++k) summaries[k * runs + run] = acc[k].Summary(spec->horizon_s);
  return Status::Ok();
}

OutputSeries ScenarioPlan::Scenario::Aggregate(std::size_t output, const ModelInfo& info) const {
  const Variable& variable = info.variables[recorded[output]];
  OutputSeries out{.name = variable.name, .unit = variable.unit};
  auto first = series.begin() + static_cast<std::ptrdiff_t>(output * runs * points);
  if (!spec->monte_carlo) {
    out.values.assign(first, first + static_cast<std::ptrdiff_t>(points));
    out.summary = summaries[output * runs];
    return out;
  }
  for (auto* band : {&out.values, &out.p5, &out.p50, &out.p95}) band->resize(points);
  std::vector<double> samples(runs);
  for (std::size_t point = 0; point < points; ++point) {
    for (std::size_t run = 0; run < runs; ++run) samples[run] = first[static_cast<std::ptrdiff_t>(run * points + point)];
    Band band = BandOf(samples);
    out.values[point] = band.mean;
    out.p5[point] = band.p5;
    out.p50[point] = band.p50;
    out.p95[point] = band.p95;
  }
  for (auto field : kSummaryFields) {
    for (std::size_t run = 0; run < runs; ++run) samples[run] = summaries[output * runs + run].*field;
    Band band = BandOf(samples);
    out.summary.*field = band.mean;
    out.summary_p5.*field = band.p5;
    out.summary_p95.*field = band.p95;
  }
  return out;
}

std::vector<ScenarioResult> ScenarioPlan::Aggregate() const {
  std::vector<ScenarioResult> results;
  for (const auto& scenario : scenarios_) {
    const ScenarioSpec& spec = *scenario->spec;
    ScenarioResult result{.name = spec.name,
                          .horizon_s = spec.horizon_s,
                          .resolution_s = spec.resolution_s,
                          .step_s = spec.step(),
                          .samples = spec.monte_carlo ? spec.monte_carlo->samples : 0,
                          .seed = spec.seed,
                          .wall_time_s = static_cast<double>(scenario->compute_ns.load()) / 1e9};
    for (std::size_t k = 0; k < scenario->recorded.size(); ++k) {
      result.outputs.push_back(scenario->Aggregate(k, base_->info()));
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace doppel::sim::internal

namespace doppel::sim {

Result<std::vector<ScenarioResult>> RunScenarios(const Simulation& base, const BaseProfiles& profiles,
                                                 const ScenarioRequest& request, const RunOptions& options) {
  DOPPEL_ASSIGN_OR_RETURN(auto plan, internal::ScenarioPlan::Prepare(base, profiles, request, options.limits));
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> steps_done{0};
  std::mutex mu;
  Status first_error;  // guarded by mu; set before `failed`, so later runs' "cancelled" never wins
  auto work = [&] {
    for (std::size_t task; (task = next.fetch_add(1)) < plan->tasks();) {
      Status status = plan->RunTask(task, {options.cancel, &failed}, &steps_done);
      if (status.ok()) continue;
      std::lock_guard lock(mu);
      if (first_error.ok()) first_error = status;
      failed = true;
      return;
    }
  };
  std::size_t threads = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(options.threads, 1)), 1, plan->tasks());
  {
    std::vector<std::jthread> helpers;
    for (std::size_t i = 1; i < threads; ++i) helpers.emplace_back(work);
    work();
  }
  if (options.cancel && options.cancel->load()) return internal::CancelledStatus();
  if (!first_error.ok()) return first_error;
  return plan->Aggregate();
}

}  // namespace doppel::sim
