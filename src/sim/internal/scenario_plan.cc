#include "sim/internal/scenario_plan.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

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

// Where a profile is between two of its points, kept from one call to the next: a run's time
// only grows, so the search is paid once per segment instead of once per step (a 10-minute
// wind series read every minute seeks once in ten steps). Gives exactly InputProfile::At's
// value, so results do not depend on whether a cursor or At() computed them.
class ProfileCursor {
 public:
  double At(const InputProfile& profile, double t_s) {
    if (!(t_s >= from_ && t_s < until_)) Seek(profile, t_s);
    return linear_ ? v0_ + dv_ * (t_s - from_) / span_ : v0_;
  }

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  // Same segment choice as InputProfile::At: the first value up to the first point, the last
  // from the last point, else points[i] <= t_s < points[i + 1].
  void Seek(const InputProfile& profile, double t_s) {
    const auto& points = profile.points;
    linear_ = false;
    if (t_s < points.front().first) {
      from_ = -kInf, until_ = points.front().first, v0_ = points.front().second;
      return;
    }
    if (t_s >= points.back().first) {
      from_ = points.back().first, until_ = kInf, v0_ = points.back().second;
      return;
    }
    if (index_ + 1 >= points.size() || points[index_].first > t_s) {
      auto after = std::upper_bound(points.begin(), points.end(), t_s,
                                    [](double t, const auto& point) { return t < point.first; });
      index_ = static_cast<std::size_t>(after - points.begin()) - 1;
    }
    while (points[index_ + 1].first <= t_s) ++index_;
    const auto& [t0, v0] = points[index_];
    const auto& [t1, v1] = points[index_ + 1];
    from_ = t0, until_ = t1, v0_ = v0;
    if (profile.interpolation == InputProfile::Interpolation::kLinear) {
      linear_ = true;
      dv_ = v1 - v0;
      span_ = t1 - t0;
    }
  }

  double from_ = kInf, until_ = -kInf;  // empty until the first Seek
  double v0_ = 0, dv_ = 0, span_ = 1;
  bool linear_ = false;
  std::size_t index_ = 0;
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

  double Constant() const { return std::clamp(constant, min, max); }
  double At(double t_s, ProfileCursor& cursor) const {
    return std::clamp(cursor.At(*profile, t_s) * scale + offset, min, max);
  }
};

// A varying input's per-run state: where its profile is, and the value last handed to Set (a
// held or step-interpolated input repeats, and the model is not told again).
struct InputState {
  ProfileCursor cursor;
  double last_set = std::numeric_limits<double>::quiet_NaN();
};

// Running summary of one output over every internal step, fed a block of steps at a time.
// The trapezoidal integral over equal steps is dt × (v_1 + … + v_n + (v_0 − v_n) / 2), so only
// the plain sum is kept; four lanes keep min, max and sum free of one long dependency chain
// (the lanes are folded in a fixed order, so the result is the same on every run).
struct Accumulator {
  double min = 0, max = 0, sum = 0, first = 0, last = 0;
  void Start(double v) { min = max = first = last = v; }
  void Add(const double* v, std::size_t n) {
    double lo[4] = {min, min, min, min}, hi[4] = {max, max, max, max}, total[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      for (std::size_t lane = 0; lane < 4; ++lane) {
        lo[lane] = std::min(lo[lane], v[i + lane]);
        hi[lane] = std::max(hi[lane], v[i + lane]);
        total[lane] += v[i + lane];
      }
    }
    for (; i < n; ++i) {
      lo[0] = std::min(lo[0], v[i]);
      hi[0] = std::max(hi[0], v[i]);
      total[0] += v[i];
    }
    min = std::min(std::min(lo[0], lo[1]), std::min(lo[2], lo[3]));
    max = std::max(std::max(hi[0], hi[1]), std::max(hi[2], hi[3]));
    sum += (total[0] + total[1]) + (total[2] + total[3]);
    if (n > 0) last = v[n - 1];
  }
  OutputSummary Summary(double horizon_s, double dt_s) const {
    const double integral_s = dt_s * (sum + 0.5 * (first - last));
    return {.min = min, .max = max, .mean = integral_s / horizon_s, .final = last, .integral_h = integral_s / 3600.0};
  }
};

// Maps the whole pages of a freshly reserved buffer in one system call (Linux ≥ 5.14) instead
// of one page fault per 4 KiB as the run first writes them: a recorded output gains 8 bytes a
// step, so a run otherwise takes a fault every 512 steps per output. Only a hint: pages already
// mapped are left as they are, and an older kernel's EINVAL just leaves the faults to happen.
void Prefault(const void* begin, std::size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  static const auto kPage = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = (reinterpret_cast<uintptr_t>(begin) + kPage - 1) & ~(kPage - 1);
  const uintptr_t last = (reinterpret_cast<uintptr_t>(begin) + bytes) & ~(kPage - 1);
  if (last > first) static_cast<void>(madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE));
#else
  static_cast<void>(begin), static_cast<void>(bytes);
#endif
}

// Steps whose outputs are buffered before they are folded into the summaries and recorded:
// 256 steps × 8 bytes is 2 KiB per output (18 KiB for the turbine's nine), which stays in L1.
constexpr std::size_t kBlockSteps = 256;

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
  std::vector<InputDriver> varying;  // set before every step in which their value changed
  std::vector<std::size_t> recorded;
  std::vector<std::pair<std::size_t, Distribution>> draws;
  std::size_t runs = 1, points = 0, steps_per_point = 1;
  // [output * runs + run]: `points` values each, allocated (never zero-filled, pages mapped by
  // Prefault) and filled by the run itself on the thread that runs it, in parallel with the
  // other runs; moved, not copied, into the result when there is one run.
  std::vector<std::vector<double>> series;
  std::vector<OutputSummary> summaries;  // [output * runs + run]
  std::atomic<int64_t> compute_ns{0};

  void Build(const ScenarioSpec& scenario_spec, const Simulation& base, const BaseProfiles& profiles);
  Status PrepareRun(std::size_t run, Simulation& sim) const;
  Status Run(std::size_t run, Simulation& sim, StopFlags stop, std::atomic<uint64_t>* steps_done);
  Status SetInputs(std::size_t run, Simulation& sim, double t_s, const double* values,
                   std::vector<InputState>& states) const;
  void InputsAhead(std::size_t first, std::size_t count, double dt_s, std::vector<InputState>& states,
                   double* values) const;
  Status RunError(std::size_t run, double t_s, std::string_view what, const Status& status) const;
  // Moves the series out: once per output.
  OutputSeries Aggregate(std::size_t output, const ModelInfo& info);
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
  series.resize(recorded.size() * runs);
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
    Status status = sim.Set(driver.index, driver.Constant());
    if (!status.ok()) return RunError(run, 0, fmt::format("input '{}'", info.variables[driver.index].name), status);
  }
  return Status::Ok();
}

// The varying inputs' values for `count` steps from step `first` into values[d * kBlockSteps
// + i]: one tight loop per input whose divisions (linear interpolation) pipeline, instead of
// one exposed division latency per input in every step.
void ScenarioPlan::Scenario::InputsAhead(std::size_t first, std::size_t count, double dt_s,
                                         std::vector<InputState>& states, double* values) const {
  for (std::size_t d = 0; d < varying.size(); ++d) {
    for (std::size_t i = 0; i < count; ++i) {
      values[d * kBlockSteps + i] = varying[d].At(static_cast<double>(first + i) * dt_s, states[d].cursor);
    }
  }
}

// Sets the varying inputs whose value changed; input d's value for this step is at
// values[d * kBlockSteps] (`values` points at the step's slot of InputsAhead's buffer).
Status ScenarioPlan::Scenario::SetInputs(std::size_t run, Simulation& sim, double t_s, const double* values,
                                         std::vector<InputState>& states) const {
  for (std::size_t d = 0; d < varying.size(); ++d) {
    const double value = values[d * kBlockSteps];
    if (value == states[d].last_set) continue;
    Status status = sim.Set(varying[d].index, value);
    if (!status.ok()) {
      return RunError(run, t_s, fmt::format("input '{}'", sim.info().variables[varying[d].index].name), status);
    }
    states[d].last_set = value;
  }
  return Status::Ok();
}

// The hot loop: per step, the changed inputs, Step, and one Get per recorded output (no other
// output is read) into a block buffer; per block, the summaries (every internal step) and the
// recorded points (every steps_per_point-th step) in tight loops over the buffer.
Status ScenarioPlan::Scenario::Run(std::size_t run, Simulation& sim, StopFlags stop,
                                   std::atomic<uint64_t>* steps_done) {
  const double dt = spec->step();
  const std::size_t outputs = recorded.size();
  const std::size_t steps = (points - 1) * steps_per_point;
  std::vector<Accumulator> acc(outputs);
  std::vector<std::vector<double>*> columns(outputs);
  for (std::size_t k = 0; k < outputs; ++k) {
    columns[k] = &series[k * runs + run];
    columns[k]->reserve(points);  // once for the whole run: appending never reallocates
    Prefault(columns[k]->data(), points * sizeof(double));
    acc[k].Start(sim.Get(recorded[k]));
    columns[k]->push_back(acc[k].last);
  }
  std::vector<double> block(outputs * kBlockSteps);  // [output][step in block]
  std::vector<InputState> states(varying.size());
  std::vector<double> inputs(varying.size() * kBlockSteps);  // [input][step in block]
  for (std::size_t first = 0; first < steps; first += kBlockSteps) {
    const std::size_t count = std::min(kBlockSteps, steps - first);
    InputsAhead(first, count, dt, states, inputs.data());
    for (std::size_t i = 0; i < count; ++i) {
      if (stop.stopped()) return CancelledStatus();
      // Time from the step count, not a running sum, so long runs do not drift.
      const double t = static_cast<double>(first + i) * dt;
      if (!varying.empty()) DOPPEL_RETURN_IF_ERROR(SetInputs(run, sim, t, &inputs[i], states));
      Status status = sim.Step(dt);
      if (!status.ok()) return RunError(run, t, "step", status);
      for (std::size_t k = 0; k < outputs; ++k) block[k * kBlockSteps + i] = sim.Get(recorded[k]);
    }
    for (std::size_t k = 0; k < outputs; ++k) {
      const double* values = &block[k * kBlockSteps];
      acc[k].Add(values, count);
      if (steps_per_point == 1) {
        columns[k]->insert(columns[k]->end(), values, values + count);
        continue;
      }
      // Step first + i ends at point (first + i + 1) / steps_per_point when that divides.
      for (std::size_t i = steps_per_point - 1 - first % steps_per_point; i < count; i += steps_per_point) {
        columns[k]->push_back(values[i]);
      }
    }
    // Once per block, so that many threads do not contend on one counter every step.
    steps_done->fetch_add(count, std::memory_order_relaxed);
  }
  for (std::size_t k = 0; k < outputs; ++k) summaries[k * runs + run] = acc[k].Summary(spec->horizon_s, dt);
  return Status::Ok();
}

OutputSeries ScenarioPlan::Scenario::Aggregate(std::size_t output, const ModelInfo& info) {
  const Variable& variable = info.variables[recorded[output]];
  OutputSeries out{.name = variable.name, .unit = variable.unit};
  if (!spec->monte_carlo) {
    out.values = std::move(series[output]);
    out.summary = summaries[output];
    return out;
  }
  const std::vector<double>* first = &series[output * runs];
  for (auto* band : {&out.values, &out.p5, &out.p50, &out.p95}) band->resize(points);
  std::vector<double> samples(runs);
  for (std::size_t point = 0; point < points; ++point) {
    for (std::size_t run = 0; run < runs; ++run) samples[run] = first[run][point];
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

std::vector<ScenarioResult> ScenarioPlan::Aggregate() {
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
