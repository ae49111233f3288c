// What-if scenarios: fork a simulation, change its inputs, parameters and states over a horizon,
// and run many scenarios (and Monte-Carlo samples of uncertain parameters) in parallel.
//
//   auto request = ParseScenarioRequest(R"({"horizon": "7d", "resolution": "1m",
//       "scenarios": [{"name": "limit 80%", "inputs": {"rotorSpeedLimit": {"value": 0.8}}}]})");
//   BaseProfiles base;                           // e.g. the last 7 days of wind, replayed
//   base["windSpeed"] = InputProfile{.points = {{0, 7.5}, {600, 8.1}, ...}};
//   auto results = RunScenarios(*forked_turbine, base, *request, {.threads = 2});
//   double kwh = (*results)[0].Find("electricalPower")->summary.integral_h;
//
// ScenarioRunner does the same asynchronously for the API: a fixed thread pool, job ids,
// progress, cooperative cancellation, bounded retention and optional persistence.
// docs/simulation-scenarios.md is the user-facing description of the JSON format.
//
// Determinism: a run's random draws and its model seed derive only from (spec seed, scenario
// index, sample index), and each run writes its own result slots, so the same request gives
// bit-identical results whatever the thread count or scheduling (wall times aside).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "sim/simulation.h"

namespace doppel::sim {

// A time series over scenario time (seconds from the scenario start). Between points the value
// is interpolated linearly (or held from the previous point with kStep); before the first point
// it is the first value, after the last point the last value.
struct InputProfile {
  enum class Interpolation : uint8_t { kLinear, kStep };
  std::vector<std::pair<double, double>> points = {};  // (t_s, value), t strictly increasing
  Interpolation interpolation = Interpolation::kLinear;

  double At(double t_s) const;
  // The same, starting the search at `*hint` and leaving it there for the next, later call:
  // O(1) per call when t only grows (as in a run).
  double At(double t_s, std::size_t* hint) const;
  // InvalidArgument when empty, a time or value is not finite, or times do not increase.
  Status Validate() const;
};

// The base input profiles a scenario modifies, by input name. Inputs without one hold the
// forked simulation's current value.
using BaseProfiles = std::map<std::string, InputProfile, std::less<>>;

// How a scenario changes one variable. Exactly one of: `value` (a constant), `profile` (a time
// series replacing the base; inputs only), or scale/offset (base × scale + offset, where base is
// the base profile or current value).
struct Modification {
  std::optional<double> value = {};
  std::optional<InputProfile> profile = {};
  double scale = 1.0;
  double offset = 0.0;

  // The modified value given the unmodified one (not for a profile).
  double Apply(double base) const { return value ? *value : base * scale + offset; }
};

// A Monte-Carlo distribution of one parameter or state. Draws outside the variable's [min, max]
// are clamped to it.
struct Distribution {
  enum class Kind : uint8_t { kNormal, kUniform };
  Kind kind = Kind::kNormal;
  double a = 0.0;  // normal: mean;   uniform: min
  double b = 0.0;  // normal: stddev; uniform: max
};

struct MonteCarloSpec {
  int samples = 1;                                        // runs of the scenario, ≥ 1
  std::map<std::string, Distribution> distributions = {};  // by parameter/state name
};

struct ScenarioSpec {
  std::string name;
  double horizon_s = 0.0;     // simulated span, > 0, a multiple of resolution_s
  double resolution_s = 0.0;  // spacing of recorded points, a multiple of step_s
  double step_s = 0.0;        // internal step handed to Simulation::Step; 0 = resolution_s
  std::map<std::string, Modification> inputs = {};
  std::map<std::string, Modification> parameters = {};  // applied before states
  std::map<std::string, Modification> states = {};
  std::optional<MonteCarloSpec> monte_carlo = {};
  uint64_t seed = 0;                   // default 0: results are reproducible by default
  std::vector<std::string> outputs = {};  // recorded outputs; empty = every kOutput variable

  double step() const { return step_s > 0 ? step_s : resolution_s; }
  std::size_t points() const;  // recorded points per output, including t = 0
  std::size_t steps() const;   // internal steps of one run
  std::size_t runs() const { return monte_carlo ? static_cast<std::size_t>(monte_carlo->samples) : 1; }
};

struct ScenarioRequest {
  std::vector<ScenarioSpec> scenarios = {};
};

// Every limit is checked before any work starts; each has a documented default.
struct ScenarioLimits {
  std::size_t max_scenarios = 64;
  std::size_t max_samples = 10'000;            // Monte-Carlo samples per scenario
  std::size_t max_points = 100'000;            // recorded points per output (horizon/resolution)
  std::size_t max_profile_points = 100'000;    // per profile in a spec
  double min_step_s = 1e-3;
  // Σ scenarios × samples × steps. Default 10^9: ~100 s of 2 cores at the turbine's rate.
  uint64_t max_work_steps = 1'000'000'000;
  // Σ scenarios × samples × points × outputs held while a job runs (8 bytes each): default
  // 16M = 128 MiB. Monte-Carlo bands need every sample's series until the percentiles are taken.
  uint64_t max_stored_values = 16'000'000;
};

// Parses a request: {"scenarios": [...]} plus optional request-wide defaults ("horizon",
// "resolution", "step", "outputs", "seed") that a scenario may override. Durations are seconds
// (a number) or strings "90s", "30m", "12h", "7d", "1w". Unknown fields are errors. Errors are
// InvalidArgument naming the field: "scenarios[2].inputs.windSpeed.scale: must be a finite number".
Result<ScenarioRequest> ParseScenarioRequest(const json::value& body, const ScenarioLimits& limits = {});
Result<ScenarioRequest> ParseScenarioRequest(std::string_view json_text, const ScenarioLimits& limits = {});
// A string literal would otherwise match both overloads above.
inline Result<ScenarioRequest> ParseScenarioRequest(const char* json_text, const ScenarioLimits& limits = {}) {
  return ParseScenarioRequest(std::string_view(json_text), limits);
}

// Checks a request against the model it will run on and against the limits: every named
// variable exists with the right causality, overrides are in range on the forked state, and
// the total work and memory fit ("request needs 2.1e9 model steps ...").
Status ValidateScenarioRequest(const ScenarioRequest& request, const Simulation& base,
                               const BaseProfiles& profiles, const ScenarioLimits& limits = {});

// Summary figures of one output over a run, computed at every internal step (not only the
// recorded points). mean is the time average; integral_h is the trapezoidal ∫ value dt in
// unit·hours (kW → kWh).
struct OutputSummary {
  double min = 0.0;
  double max = 0.0;
  double mean = 0.0;
  double final = 0.0;
  double integral_h = 0.0;
};

struct OutputSeries {
  std::string name;
  std::string unit = {};
  // values[i] is at t = i × resolution: the run's value, or the mean over Monte-Carlo samples.
  std::vector<double> values = {};
  // Monte-Carlo only: per-point percentiles over samples (linear between closest ranks).
  std::vector<double> p5 = {}, p50 = {}, p95 = {};
  // The run's figures, or (Monte-Carlo) the mean over samples of each sample's figure, with
  // the 5th and 95th percentile of each figure over samples in summary_p5/summary_p95.
  OutputSummary summary = {};
  OutputSummary summary_p5 = {}, summary_p95 = {};
};

struct ScenarioResult {
  std::string name;
  double horizon_s = 0.0;
  double resolution_s = 0.0;
  double step_s = 0.0;
  int samples = 0;  // 0 = a single deterministic run; else the Monte-Carlo sample count
  uint64_t seed = 0;
  double wall_time_s = 0.0;  // compute time summed over the scenario's runs
  std::vector<OutputSeries> outputs = {};

  const OutputSeries* Find(std::string_view output) const;
};

json::value ScenarioResultToJson(const ScenarioResult& result);
Result<ScenarioResult> ScenarioResultFromJson(const json::value& value);

struct RunOptions {
  int threads = 1;
  ScenarioLimits limits = {};
  const std::atomic<bool>* cancel = nullptr;  // optional: checked between steps
};

// Validates, then runs every scenario of `request` on forks of `base` and waits. Unavailable
// "scenario run cancelled" when *cancel became true; the first run's error otherwise. `base`
// is only Cloned (from the calling thread) and must not be stepped concurrently.
Result<std::vector<ScenarioResult>> RunScenarios(const Simulation& base, const BaseProfiles& profiles,
                                                 const ScenarioRequest& request,
                                                 const RunOptions& options = {});

enum class JobState : uint8_t { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
std::string_view JobStateName(JobState state);  // "queued", "running", ...

struct JobProgress {
  std::string id;
  std::string tag;           // what the submitter scoped the job by (e.g. the twin id)
  JobState state = JobState::kQueued;
  double fraction = 0.0;     // model steps done / total, in [0, 1]
  std::string error = {};    // kFailed only
  TimePoint created = {};
  TimePoint start_time = {};  // scenario time 0 in real time
  std::optional<TimePoint> finished = {};
};

struct ScenarioRunnerOptions {
  int threads = 0;             // pool size; 0 = std::thread::hardware_concurrency()
  std::size_t max_jobs = 100;  // finished jobs kept; the oldest is evicted first
  std::chrono::seconds retention = std::chrono::hours(24);  // finished jobs older are evicted
  std::size_t max_active_jobs = 32;  // queued + running; more is ResourceExhausted
  // Where finished jobs are written as job-<id>.json and reloaded from on Open; "" = memory
  // only. Jobs running at a crash are lost (they were never finished).
  std::string directory = {};
  ScenarioLimits limits = {};
};

// Runs scenario jobs on a fixed thread pool. Thread-safe. Jobs are run FIFO, each split into
// one task per (scenario, sample). The Clock (which must outlive the runner) stamps jobs and
// drives retention.
class ScenarioRunner {
 public:
  // Starts the pool and loads finished jobs from options.directory (unreadable files are
  // skipped with a warning). Internal when the directory cannot be created or listed.
  static Result<std::unique_ptr<ScenarioRunner>> Open(ScenarioRunnerOptions options, const Clock& clock);
  ~ScenarioRunner();  // Stop()
  ScenarioRunner(const ScenarioRunner&) = delete;
  ScenarioRunner& operator=(const ScenarioRunner&) = delete;

  // Validates the request against `base` (errors as ValidateScenarioRequest), Clones `base`
  // (on the calling thread; the runner never touches `base` afterwards) and queues the job.
  // ResourceExhausted with max_active_jobs in flight; Unavailable after Stop().
  Result<std::string> Submit(const Simulation& base, BaseProfiles profiles, ScenarioRequest request,
                             TimePoint start_time, std::string tag = "");
  // NotFound for an unknown (or evicted) id.
  Result<JobProgress> Progress(std::string_view id) const;
  // Cooperative: the job is kCancelled at once and its tasks stop within one model step.
  // OK for an already-cancelled job; Conflict for one that already succeeded or failed.
  Status Cancel(std::string_view id);
  // The results of a succeeded job; Conflict naming the state otherwise.
  Result<std::shared_ptr<const std::vector<ScenarioResult>>> Results(std::string_view id) const;
  // Blocks until the job is finished and none of its tasks is still running.
  Status Wait(std::string_view id) const;
  // {"id", "tag", "status", "progress", "createdAt", "startTime", "finishedAt"?, "error"?,
  //  "scenarios"? (with include_results and a succeeded job)}.
  Result<json::value> RenderJson(std::string_view id, bool include_results) const;
  // Ids of the kept jobs with this tag ("" = all), oldest first.
  std::vector<std::string> List(std::string_view tag = "") const;

  // Refuses new jobs, cancels queued and running ones, joins the pool. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit ScenarioRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace doppel::sim
