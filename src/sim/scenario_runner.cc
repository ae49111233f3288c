// ScenarioRunner: asynchronous scenario jobs on a fixed thread pool, plus the JSON form of
// results (shared by the API rendering and the persisted job files).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include "base/file_io.h"
#include "sim/internal/scenario_plan.h"
#include "sim/scenario.h"

namespace doppel::sim {
namespace {

// ---------------------------------------------------------------------------------------------
// Results ⇄ JSON. Non-finite numbers (a model that diverged) are written as null and read back
// as NaN, since JSON has no NaN.


json::array SeriesJson(const std::vector<double>& values) {
  json::array array;
  array.reserve(values.size());
  for (double v : values) array.push_back(FiniteOrNull(v));
  return array;
}

json::object SummaryJson(const OutputSummary& s, std::string_view unit) {
  return {{"min", FiniteOrNull(s.min)},
          {"max", FiniteOrNull(s.max)},
          {"mean", FiniteOrNull(s.mean)},
          {"final", FiniteOrNull(s.final)},
          {"integral", FiniteOrNull(s.integral_h)},
          {"integralUnit", unit.empty() ? std::string("h") : fmt::format("{}*h", unit)}};
}

Status ReadError(std::string_view what) { return Status::InvalidArgument(fmt::format("scenario result: bad {}", what)); }

Result<double> ReadNumber(const json::value* v, std::string_view what) {
  if (!v) return ReadError(what);
  if (v->is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (v->is_number()) return v->to_number<double>();
  return ReadError(what);
}

Result<std::vector<double>> ReadSeries(const json::value* v, std::string_view what) {
  if (!v || !v->is_array()) return ReadError(what);
  std::vector<double> values;
  values.reserve(v->get_array().size());
  for (const json::value& item : v->get_array()) {
    DOPPEL_ASSIGN_OR_RETURN(double number, ReadNumber(&item, what));
    values.push_back(number);
  }
  return values;
}

Result<OutputSummary> ReadSummary(const json::value* v) {
  if (!v || !v->is_object()) return ReadError("summary");
  const json::object& o = v->get_object();
  OutputSummary s;
  DOPPEL_ASSIGN_OR_RETURN(s.min, ReadNumber(o.if_contains("min"), "summary.min"));
  DOPPEL_ASSIGN_OR_RETURN(s.max, ReadNumber(o.if_contains("max"), "summary.max"));
  DOPPEL_ASSIGN_OR_RETURN(s.mean, ReadNumber(o.if_contains("mean"), "summary.mean"));
  DOPPEL_ASSIGN_OR_RETURN(s.final, ReadNumber(o.if_contains("final"), "summary.final"));
  DOPPEL_ASSIGN_OR_RETURN(s.integral_h, ReadNumber(o.if_contains("integral"), "summary.integral"));
  return s;
}

Result<std::string> ReadString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_string()) return ReadError(key);
  return std::string(v->get_string());
}

Result<OutputSeries> ReadOutput(std::string_view name, const json::value& v, bool monte_carlo) {
  if (!v.is_object()) return ReadError("output");
  const json::object& o = v.get_object();
  OutputSeries series{.name = std::string(name)};
  DOPPEL_ASSIGN_OR_RETURN(series.unit, ReadString(o, "unit"));
  DOPPEL_ASSIGN_OR_RETURN(series.values, ReadSeries(o.if_contains("values"), "values"));
  DOPPEL_ASSIGN_OR_RETURN(series.summary, ReadSummary(o.if_contains("summary")));
  if (!monte_carlo) return series;
  DOPPEL_ASSIGN_OR_RETURN(series.p5, ReadSeries(o.if_contains("p5"), "p5"));
  DOPPEL_ASSIGN_OR_RETURN(series.p50, ReadSeries(o.if_contains("p50"), "p50"));
  DOPPEL_ASSIGN_OR_RETURN(series.p95, ReadSeries(o.if_contains("p95"), "p95"));
  DOPPEL_ASSIGN_OR_RETURN(series.summary_p5, ReadSummary(o.if_contains("summaryP5")));
  DOPPEL_ASSIGN_OR_RETURN(series.summary_p95, ReadSummary(o.if_contains("summaryP95")));
  return series;
}

}  // namespace

json::value ScenarioResultToJson(const ScenarioResult& result) {
  json::object outputs;
  for (const OutputSeries& series : result.outputs) {
    json::object o{{"unit", series.unit}, {"values", SeriesJson(series.values)},
                   {"summary", SummaryJson(series.summary, series.unit)}};
    if (result.samples > 0) {
      o["p5"] = SeriesJson(series.p5);
      o["p50"] = SeriesJson(series.p50);
      o["p95"] = SeriesJson(series.p95);
      o["summaryP5"] = SummaryJson(series.summary_p5, series.unit);
      o["summaryP95"] = SummaryJson(series.summary_p95, series.unit);
    }
    outputs[series.name] = std::move(o);
  }
  return json::object{{"name", result.name},
                      {"horizon", result.horizon_s},
                      {"resolution", result.resolution_s},
                      {"step", result.step_s},
                      {"samples", result.samples},
                      {"seed", result.seed},
                      {"wallTimeSeconds", result.wall_time_s},
                      {"outputs", std::move(outputs)}};
}

Result<ScenarioResult> ScenarioResultFromJson(const json::value& value) {
  if (!value.is_object()) return ReadError("scenario");
  const json::object& o = value.get_object();
  ScenarioResult result;
  DOPPEL_ASSIGN_OR_RETURN(result.name, ReadString(o, "name"));
  DOPPEL_ASSIGN_OR_RETURN(result.horizon_s, ReadNumber(o.if_contains("horizon"), "horizon"));
  DOPPEL_ASSIGN_OR_RETURN(result.resolution_s, ReadNumber(o.if_contains("resolution"), "resolution"));
  DOPPEL_ASSIGN_OR_RETURN(result.step_s, ReadNumber(o.if_contains("step"), "step"));
  DOPPEL_ASSIGN_OR_RETURN(result.wall_time_s, ReadNumber(o.if_contains("wallTimeSeconds"), "wallTimeSeconds"));
  const json::value* samples = o.if_contains("samples");
  const json::value* seed = o.if_contains("seed");
  const json::value* outputs = o.if_contains("outputs");
  if (!samples || !samples->is_int64() || samples->get_int64() < 0) return ReadError("samples");
  if (!seed || !(seed->is_uint64() || (seed->is_int64() && seed->get_int64() >= 0))) return ReadError("seed");
  if (!outputs || !outputs->is_object()) return ReadError("outputs");
  result.samples = static_cast<int>(samples->get_int64());
  result.seed = seed->to_number<uint64_t>();
  for (const auto& [name, output] : outputs->get_object()) {
    DOPPEL_ASSIGN_OR_RETURN(OutputSeries series, ReadOutput(name, output, result.samples > 0));
    result.outputs.push_back(std::move(series));
  }
  return result;
}

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

namespace {

std::optional<JobState> ParseJobState(std::string_view name) {
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed, JobState::kCancelled}) {
    if (JobStateName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsTerminal(JobState state) { return state != JobState::kQueued && state != JobState::kRunning; }

// A fixed set of threads taking tasks FIFO. Shutdown runs what is queued (cancelled jobs' tasks
// return at once) and joins.
class TaskPool {
 public:
  explicit TaskPool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~TaskPool() { Shutdown(); }

  void Post(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  void Shutdown() {
    {
      std::lock_guard lock(mu_);
      shutting_down_ = true;
    }
    cv_.notify_all();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return shutting_down_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool shutting_down_ = false;               // guarded by mu_
  std::vector<std::thread> threads_;
};

struct Job {
  // Immutable after the job is published.
  uint64_t number = 0;
  std::string tag;
  TimePoint created = {};
  TimePoint start_time = {};
  uint64_t total_steps = 0;

  std::atomic<JobState> state{JobState::kQueued};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> steps_done{0};
  std::atomic<std::size_t> tasks_left{0};
  // Set (release) once no task will touch the job again; `finished` is written before.
  std::atomic<bool> drained{false};
  std::unique_ptr<internal::ScenarioPlan> plan;  // owned by the tasks until drained

  mutable std::mutex mu;
  mutable std::condition_variable drained_cv;
  std::string error;                                             // guarded by mu
  std::optional<TimePoint> finished;                             // guarded by mu
  std::shared_ptr<const std::vector<ScenarioResult>> results;    // guarded by mu
  std::optional<double> loaded_fraction;                         // jobs read from disk

  std::string id() const { return std::to_string(number); }
  double Fraction() const {
    if (state.load() == JobState::kSucceeded) return 1.0;
    if (loaded_fraction) return *loaded_fraction;
    if (total_steps == 0) return 0.0;
    return std::min(1.0, static_cast<double>(steps_done.load()) / static_cast<double>(total_steps));
  }
};

json::object RenderLocked(const Job& job, bool include_results) {
  json::object o{{"id", job.id()},
                 {"tag", job.tag},
                 {"status", JobStateName(job.state.load())},
                 {"progress", job.Fraction()},
                 {"createdAt", FormatRfc3339(job.created)},
                 {"startTime", FormatRfc3339(job.start_time)}};
  if (job.finished) o["finishedAt"] = FormatRfc3339(*job.finished);
  if (!job.error.empty()) o["error"] = job.error;
  if (include_results && job.results) {
    json::array scenarios;
    for (const ScenarioResult& result : *job.results) scenarios.push_back(ScenarioResultToJson(result));
    o["scenarios"] = std::move(scenarios);
  }
  return o;
}

Result<TimePoint> ReadTime(const json::object& o, std::string_view key) {
  DOPPEL_ASSIGN_OR_RETURN(std::string text, ReadString(o, key));
  return ParseRfc3339(text);
}

Result<std::shared_ptr<Job>> JobFromJson(const json::value& value) {
  if (!value.is_object()) return ReadError("job");
  const json::object& o = value.get_object();
  auto job = std::make_shared<Job>();
  DOPPEL_ASSIGN_OR_RETURN(std::string id, ReadString(o, "id"));
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), job->number);
  if (ec != std::errc() || end != id.data() + id.size()) return ReadError("id");
  DOPPEL_ASSIGN_OR_RETURN(job->tag, ReadString(o, "tag"));
  DOPPEL_ASSIGN_OR_RETURN(std::string status, ReadString(o, "status"));
  auto state = ParseJobState(status);
  if (!state || !IsTerminal(*state)) return ReadError("status");
  job->state = *state;
  DOPPEL_ASSIGN_OR_RETURN(job->loaded_fraction, ReadNumber(o.if_contains("progress"), "progress"));
  DOPPEL_ASSIGN_OR_RETURN(job->created, ReadTime(o, "createdAt"));
  DOPPEL_ASSIGN_OR_RETURN(job->start_time, ReadTime(o, "startTime"));
  DOPPEL_ASSIGN_OR_RETURN(job->finished, ReadTime(o, "finishedAt"));
  if (o.contains("error")) {
    DOPPEL_ASSIGN_OR_RETURN(job->error, ReadString(o, "error"));
  }
  if (*state == JobState::kSucceeded) {
    const json::value* scenarios = o.if_contains("scenarios");
    if (!scenarios || !scenarios->is_array()) return ReadError("scenarios");
    auto results = std::make_shared<std::vector<ScenarioResult>>();
    for (const json::value& scenario : scenarios->get_array()) {
      DOPPEL_ASSIGN_OR_RETURN(ScenarioResult result, ScenarioResultFromJson(scenario));
      results->push_back(std::move(result));
    }
    job->results = std::move(results);
  }
  job->drained = true;
  return job;
}


}  // namespace

struct ScenarioRunner::Impl {
  ScenarioRunnerOptions options;
  const Clock& clock;
  std::unique_ptr<TaskPool> pool;

  mutable std::mutex mu;
  std::map<uint64_t, std::shared_ptr<Job>> jobs;  // guarded by mu; by number = oldest first
  uint64_t next_number = 1;                       // guarded by mu
  bool stopped = false;                           // guarded by mu

  Impl(ScenarioRunnerOptions o, const Clock& c) : options(std::move(o)), clock(c) {}

  std::filesystem::path PathOf(uint64_t number) const {
    return std::filesystem::path(options.directory) / fmt::format("job-{}.json", number);
  }

  Result<std::shared_ptr<Job>> Find(std::string_view id) const {
    uint64_t number = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), number);
    std::lock_guard lock(mu);
    auto it = jobs.find(number);
    if (ec != std::errc() || end != id.data() + id.size() || it == jobs.end()) {
      return Status::NotFound(fmt::format("no scenario job '{}'", id));
    }
    return it->second;
  }

  Status Load();
  void RunTask(const std::shared_ptr<Job>& job, std::size_t task);
  void Finish(Job& job);
  void Persist(const Job& job) const;
  void EvictLocked();
};

Status ScenarioRunner::Impl::Load() {
  if (options.directory.empty()) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(options.directory, ec);
  if (ec) return Status::Internal(fmt::format("cannot create {}: {}", options.directory, ec.message()));
  std::filesystem::directory_iterator it(options.directory, ec);
  if (ec) return Status::Internal(fmt::format("cannot list {}: {}", options.directory, ec.message()));
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("job-") || !name.ends_with(".json")) continue;
    uint64_t number = 0;
    std::string_view digits = std::string_view(name).substr(4, name.size() - 9);
    auto [end, parse_error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (parse_error != std::errc() || end != digits.data() + digits.size()) continue;
    // Even an unreadable file's id is never handed out again.
    next_number = std::max(next_number, number + 1);
    Result<std::shared_ptr<Job>> job = [&]() -> Result<std::shared_ptr<Job>> {
      DOPPEL_ASSIGN_OR_RETURN(std::string text, ReadFile(entry.path().string()));
      DOPPEL_ASSIGN_OR_RETURN(json::value value, ParseJson(text));
      return JobFromJson(value);
    }();
    if (!job.ok()) {
      spdlog::warn("skipping scenario job file {}: {}", entry.path().string(), job.status().message());
      continue;
    }
    if ((*job)->number != number) {
      spdlog::warn("skipping scenario job file {}: it holds job {}", entry.path().string(), (*job)->number);
      continue;
    }
    jobs[number] = std::move(*job);
  }
  return Status::Ok();
}

void ScenarioRunner::Impl::RunTask(const std::shared_ptr<Job>& job, std::size_t task) {
  JobState queued = JobState::kQueued;
  job->state.compare_exchange_strong(queued, JobState::kRunning);
  Status status = job->plan->RunTask(task, {&job->stop, nullptr}, &job->steps_done);
  if (!status.ok()) {
    std::lock_guard lock(job->mu);
    // The first real error wins; "cancelled" from runs stopped because of it (or of Cancel) is
    // not one: `stop` is only ever set after `error` or together with the kCancelled state.
    if (job->error.empty() && job->state.load() != JobState::kCancelled) job->error = status.message();
    job->stop = true;
  }
  if (job->tasks_left.fetch_sub(1) == 1) Finish(*job);
}

void ScenarioRunner::Impl::Finish(Job& job) {
  std::shared_ptr<const std::vector<ScenarioResult>> results;
  bool failed = false;
  {
    std::lock_guard lock(job.mu);
    failed = !job.error.empty();
  }
  if (!failed && job.state.load() != JobState::kCancelled) {
    results = std::make_shared<const std::vector<ScenarioResult>>(job.plan->Aggregate());
  }
  job.plan.reset();
  {
    std::lock_guard lock(job.mu);
    JobState running = JobState::kRunning;
    // Fails when Cancel got in first: the job stays cancelled and its results are dropped.
    if (job.state.compare_exchange_strong(running, failed ? JobState::kFailed : JobState::kSucceeded) && !failed) {
      job.results = std::move(results);
    }
    job.finished = clock.Now();
  }
  Persist(job);
  {
    std::lock_guard lock(job.mu);
    job.drained = true;
  }
  job.drained_cv.notify_all();
}

void ScenarioRunner::Impl::Persist(const Job& job) const {
  if (options.directory.empty()) return;
  std::string text;
  {
    std::lock_guard lock(job.mu);
    text = ToJson(RenderLocked(job, true));
  }
  Status status = WriteFileAtomically(PathOf(job.number).string(), text);
  if (!status.ok()) spdlog::warn("scenario job {} not persisted: {}", job.number, status.message());
}

void ScenarioRunner::Impl::EvictLocked() {
  TimePoint now = clock.Now();
  std::size_t finished = 0;
  for (const auto& [number, job] : jobs) finished += job->drained.load() ? 1 : 0;
  for (auto it = jobs.begin(); it != jobs.end();) {
    Job& job = *it->second;
    bool expired = false;
    if (job.drained.load()) {
      std::lock_guard lock(job.mu);
      expired = finished > options.max_jobs || (job.finished && *job.finished + options.retention < now);
    }
    if (!expired) {
      ++it;
      continue;
    }
    if (!options.directory.empty()) {
      std::error_code ec;
      std::filesystem::remove(PathOf(job.number), ec);
    }
    --finished;
    it = jobs.erase(it);
  }
}

ScenarioRunner::ScenarioRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ScenarioRunner::~ScenarioRunner() { Stop(); }

Result<std::unique_ptr<ScenarioRunner>> ScenarioRunner::Open(ScenarioRunnerOptions options, const Clock& clock) {
  if (options.threads <= 0) options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto impl = std::make_unique<Impl>(std::move(options), clock);
  DOPPEL_RETURN_IF_ERROR(impl->Load());
  impl->pool = std::make_unique<TaskPool>(impl->options.threads);
  return std::unique_ptr<ScenarioRunner>(new ScenarioRunner(std::move(impl)));
}

Result<std::string> ScenarioRunner::Submit(const Simulation& base, BaseProfiles profiles, ScenarioRequest request,
                                           TimePoint start_time, std::string tag) {
  DOPPEL_ASSIGN_OR_RETURN(auto plan, internal::ScenarioPlan::Prepare(base, std::move(profiles), std::move(request),
                                                                     impl_->options.limits));
  auto job = std::make_shared<Job>();
  job->tag = std::move(tag);
  job->start_time = start_time;
  job->total_steps = plan->total_steps();
  const std::size_t tasks = plan->tasks();  // the last task frees the plan, maybe before posting ends
  job->tasks_left = tasks;
  job->plan = std::move(plan);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return Status::Unavailable("the scenario runner is stopped");
    impl_->EvictLocked();
    std::size_t active = 0;
    for (const auto& [number, other] : impl_->jobs) active += other->drained.load() ? 0 : 1;
    if (active >= impl_->options.max_active_jobs) {
      return Status::ResourceExhausted(
          fmt::format("{} scenario jobs are queued or running (the limit); retry when one finishes", active));
    }
    job->number = impl_->next_number++;
    job->created = impl_->clock.Now();
    impl_->jobs[job->number] = job;
    // Posted under the lock so Stop() cannot slip between publishing the job and queueing it.
    for (std::size_t task = 0; task < tasks; ++task) {
      impl_->pool->Post([impl = impl_.get(), job, task] { impl->RunTask(job, task); });
    }
  }
  return job->id();
}

Result<JobProgress> ScenarioRunner::Progress(std::string_view id) const {
  DOPPEL_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, impl_->Find(id));
  std::lock_guard lock(job->mu);
  return JobProgress{.id = job->id(),
                     .tag = job->tag,
                     .state = job->state.load(),
                     .fraction = job->Fraction(),
                     .error = job->error,
                     .created = job->created,
                     .start_time = job->start_time,
                     .finished = job->finished};
}

Status ScenarioRunner::Cancel(std::string_view id) {
  DOPPEL_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, impl_->Find(id));
  JobState state = job->state.load();
  while (!IsTerminal(state)) {
    if (job->state.compare_exchange_weak(state, JobState::kCancelled)) break;
  }
  job->stop = true;
  if (state == JobState::kSucceeded || state == JobState::kFailed) {
    return Status::Conflict(fmt::format("scenario job {} already {}", id, JobStateName(state)));
  }
  return Status::Ok();
}

Result<std::shared_ptr<const std::vector<ScenarioResult>>> ScenarioRunner::Results(std::string_view id) const {
  DOPPEL_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, impl_->Find(id));
  std::lock_guard lock(job->mu);
  if (job->results) return job->results;
  JobState state = job->state.load();
  if (state == JobState::kFailed) return Status::Conflict(fmt::format("scenario job {} failed: {}", id, job->error));
  return Status::Conflict(fmt::format("scenario job {} is {}, it has no results", id, JobStateName(state)));
}

Status ScenarioRunner::Wait(std::string_view id) const {
  DOPPEL_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, impl_->Find(id));
  std::unique_lock lock(job->mu);
  job->drained_cv.wait(lock, [&] { return job->drained.load(); });
  return Status::Ok();
}

Result<json::value> ScenarioRunner::RenderJson(std::string_view id, bool include_results) const {
  DOPPEL_ASSIGN_OR_RETURN(std::shared_ptr<Job> job, impl_->Find(id));
  std::lock_guard lock(job->mu);
  return json::value(RenderLocked(*job, include_results));
}

std::vector<std::string> ScenarioRunner::List(std::string_view tag) const {
  std::lock_guard lock(impl_->mu);
  impl_->EvictLocked();
  std::vector<std::string> ids;
  for (const auto& [number, job] : impl_->jobs) {
    if (tag.empty() || job->tag == tag) ids.push_back(job->id());
  }
  return ids;
}

void ScenarioRunner::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    for (const auto& [number, job] : impl_->jobs) {
      JobState state = job->state.load();
      while (!IsTerminal(state) && !job->state.compare_exchange_weak(state, JobState::kCancelled)) {
      }
      job->stop = true;
    }
  }
  impl_->pool->Shutdown();
}

}  // namespace doppel::sim
