// AnalyticsService's hot path and worker. Readings are scored in the Ingestor listener, on the
// writing thread: one routing lookup per twin run, one lock per slot, no allocation in steady
// state (the per-thread Scratch keeps its capacity). Score readings, RUL columns and anomaly
// events go to the worker in compact records; it builds the derived readings and writes them
// through Ingestor::WriteEach, feeds RUL trackers and persists states. A timer thread ticks
// the KPIs.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "analytics/internal/service_state.h"
#include "base/file_io.h"

namespace doppel::analytics {
namespace {

using service_internal::AnomalyEvent;
using service_internal::Scratch;
using service_internal::Slot;
using service_internal::SteadyClock;

json::object EventJson(const AnomalyEvent& e) {
  return json::object{{"detector", e.detector},
                      {"twinId", e.twin_id},
                      {"time", service_internal::TimeText(e.time)},
                      {"score", FiniteOrNull(e.score)},
                      {"evidence", e.evidence}};
}


}  // namespace

namespace service_internal {

std::pair<uint64_t, uint64_t> WriteByTwin(ingest::Ingestor& ingestor, const std::vector<ingest::Reading>& readings) {
  if (readings.empty()) return {0, 0};
  std::vector<std::span<const ingest::Reading>> groups;
  std::size_t begin = 0;
  for (std::size_t i = 1; i <= readings.size(); ++i) {
    if (i == readings.size() || readings[i].twin_id != readings[begin].twin_id) {
      groups.emplace_back(readings.data() + begin, i - begin);
      begin = i;
    }
  }
  const std::vector<Status> results = ingestor.WriteEach(groups);
  uint64_t written = 0, failed = 0;
  for (std::size_t g = 0; g < results.size(); ++g) {
    if (results[g].ok()) {
      written += groups[g].size();
      continue;
    }
    ++failed;
    spdlog::debug("analytics: derived telemetry of '{}' refused: {}", groups[g].front().twin_id, results[g].message());
  }
  return {written, failed};
}


std::string TimeText(int64_t time_ns) {
  return FormatRfc3339(TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(time_ns))));
}

json::object EvidenceJson(const Evidence& evidence, const std::vector<std::string>& signals) {
  json::object out{{"value", FiniteOrNull(evidence.value)},
                   {"expected", FiniteOrNull(evidence.expected)},
                   {"low", FiniteOrNull(evidence.low)},
                   {"high", FiniteOrNull(evidence.high)}};
  if (!signals.empty()) out["signal"] = signals.front();
  if (!evidence.contributions.empty()) {
    json::object contributions;
    for (std::size_t i = 0; i < evidence.contributions.size() && i < signals.size(); ++i) {
      contributions[signals[i]] = FiniteOrNull(evidence.contributions[i]);
    }
    out["contributions"] = std::move(contributions);
  }
  return out;
}

}  // namespace service_internal

void AnalyticsService::State::OnReadings(std::span<const ingest::Reading> readings) {
  std::shared_ptr<const service_internal::Routing> current = CurrentRouting();
  if (!current || current->by_twin.empty()) return;
  const auto started_at = SteadyClock::now();
  thread_local Scratch scratch;
  scratch.clear();
  const service_internal::TwinRoute* twin = nullptr;
  const std::string* twin_of = nullptr;  // the twin id `twin` was looked up for
  uint64_t scored_here = 0;
  for (const ingest::Reading& reading : readings) {
    if (twin_of == nullptr || reading.twin_id != *twin_of) {
      twin = current->Find(reading.twin_id);
      twin_of = &reading.twin_id;
    }
    if (twin == nullptr) continue;
    const service_internal::PathRoute* path = twin->Find(reading.path);
    if (path == nullptr) continue;
    const std::optional<double> value = service_internal::NumericOf(reading.value);
    if (!value || std::isnan(*value)) continue;
    for (const service_internal::SignalRef& ref : path->signals) {
      std::lock_guard lock(ref.slot->mu);
      Score(*ref.slot, ref.signal, reading.time, *value, scratch);
      ++scored_here;
    }
    for (const service_internal::ColumnRef& ref : path->columns) {
      scratch.columns.push_back({.ref = ref, .time = reading.time, .value = *value});
    }
  }
  if (scored_here > 0) {
    scored.fetch_add(scored_here, std::memory_order_relaxed);
    score_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - started_at).count(),
                       std::memory_order_relaxed);
  }
  if (!scratch.empty()) Enqueue(current, scratch);
}

void AnalyticsService::State::OnGraphEvent(const twin::GraphEvent& event) {
  using twin::EventType;
  if (event.type == EventType::kTwinDeleted) {  // erasure: its anomaly events go with it
    std::lock_guard lock(events_mu);
    const auto before = anomalies.size();
    std::erase_if(anomalies, [&](const AnomalyEvent& e) { return e.twin_id == event.subject; });
    anomalies_dirty = anomalies_dirty || anomalies.size() != before;
  }
  switch (event.type) {
    case EventType::kTwinCreated:
    case EventType::kTwinDeleted:
    case EventType::kModelsCreated:
    case EventType::kModelUpdated:
    case EventType::kModelDeleted:
      routes_dirty.store(true);  // who each definition covers may have changed
      queue_cv.notify_one();
      return;
    default:
      return;
  }
}

void AnalyticsService::State::Score(Slot& slot, uint32_t signal, int64_t time, double value, Scratch& out) const {
  if (!slot.detector) return;
  if (slot.values.size() == 1) {
    Emit(slot, time, slot.detector->Update(time, std::span<const double>(&value, 1)), out);
    return;
  }
  // Several signals: the values of one time are scored together, when all have come or a
  // later time starts.
  if (slot.group_count > 0 && time != slot.group_time) {
    if (time < slot.group_time) return;  // late for a group already under way
    ScoreGroup(slot, out);
  }
  if (slot.group_count == 0) slot.group_time = time;
  if (std::isnan(slot.values[signal])) ++slot.group_count;
  slot.values[signal] = value;
  if (slot.group_count == slot.values.size()) ScoreGroup(slot, out);
}

void AnalyticsService::State::ScoreGroup(Slot& slot, Scratch& out) const {
  Emit(slot, slot.group_time, slot.detector->Update(slot.group_time, slot.values), out);
  std::fill(slot.values.begin(), slot.values.end(), std::numeric_limits<double>::quiet_NaN());
  slot.group_count = 0;
}

void AnalyticsService::State::Emit(Slot& slot, int64_t time, const analytics::Score& score, Scratch& out) const {
  slot.last = score;
  slot.last_time = time;
  ++slot.scored;
  const service_internal::DetectorDef& def = *slot.def;
  if (!def.output.empty()) out.scores.push_back({.slot = &slot, .time = time, .score = score.score});
  const bool above = score.score >= def.spec.event_threshold;
  if (above && !slot.above) {  // rising edge: one event per excursion
    out.events.push_back(AnomalyEvent{.detector = def.name,
                                      .twin_id = slot.twin_id,
                                      .time = time,
                                      .score = score.score,
                                      .evidence = service_internal::EvidenceJson(score.evidence, def.spec.signals)});
  }
  slot.above = above;
}

void AnalyticsService::State::Enqueue(const std::shared_ptr<const service_internal::Routing>& current, Scratch& batch) {
  {
    std::lock_guard lock(queue_mu);
    const std::size_t records = batch.scores.size() + batch.columns.size();
    if (queue.scores.size() + queue.columns.size() + records > options.queue_limit) {
      dropped.fetch_add(records, std::memory_order_relaxed);
    } else {
      queue.scores.insert(queue.scores.end(), batch.scores.begin(), batch.scores.end());
      queue.columns.insert(queue.columns.end(), batch.columns.begin(), batch.columns.end());
    }
    // Events are rare and worth more than their scores: kept even when the scores are dropped.
    for (auto& e : batch.events) queue.events.push_back(std::move(e));
    if (pinned.empty() || pinned.back() != current) pinned.push_back(current);
    ++enqueued;
  }
  queue_cv.notify_one();
}

void AnalyticsService::State::Run() {
  auto next_persist = SteadyClock::now() + options.persist_interval;
  Scratch batch;  // swapped with the queue each round, so both keep their capacity
  while (true) {
    std::vector<std::shared_ptr<const service_internal::Routing>> pins;
    uint64_t round = 0;
    bool stop = false;
    {
      std::unique_lock lock(queue_mu);
      queue_cv.wait_for(lock, std::chrono::milliseconds(100),
                        [&] { return stopping || enqueued != processed || routes_dirty.load(); });
      std::swap(batch, queue);
      pins.swap(pinned);
      round = enqueued;
      stop = stopping;
    }
    if (routes_dirty.load()) {
      RetryPendingKpis();  // models may have arrived
      Rebuild();
    }
    Process(batch);
    batch.clear();
    pins.clear();
    {
      std::lock_guard lock(queue_mu);
      processed = round;
    }
    flushed_cv.notify_all();
    if (stop) break;
    if (SteadyClock::now() >= next_persist) {
      PersistStates();
      PersistAnomalies();
      next_persist = SteadyClock::now() + options.persist_interval;
    }
  }
  PersistStates();
  PersistAnomalies();
}

void AnalyticsService::State::RunKpiTimer() {
  std::unique_lock lock(kpi_mu);
  while (!kpi_cv.wait_for(lock, options.kpi_interval, [&] { return kpi_stopping; })) {
    lock.unlock();
    Status s = kpi->Tick();
    kpi_ticks.fetch_add(1, std::memory_order_relaxed);
    if (!s.ok()) {
      kpi_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("analytics: KPI tick: {}", s.message());
    }
    lock.lock();
  }
}

void AnalyticsService::State::Process(Scratch& batch) {
  WriteScores(batch.scores);
  KeepEvents(batch.events);
  if (batch.columns.empty()) return;
  std::vector<ingest::Reading> outputs;
  {
    std::lock_guard lock(rul_mu);
    for (const service_internal::ColumnRecord& record : batch.columns) FeedUnit(record, outputs);
  }
  const auto [written, failed] = service_internal::WriteByTwin(ingestor, outputs);
  rul_written.fetch_add(written, std::memory_order_relaxed);
  write_failures.fetch_add(failed, std::memory_order_relaxed);
}

void AnalyticsService::State::WriteScores(const std::vector<service_internal::ScoreRecord>& scores) {
  if (scores.empty()) return;
  std::vector<ingest::Reading> readings;
  readings.reserve(scores.size());
  for (const service_internal::ScoreRecord& r : scores) {
    readings.push_back(ingest::Reading{.twin_id = r.slot->twin_id, .path = r.slot->def->output, .time = r.time, .value = r.score});
  }
  const auto [written, failed] = service_internal::WriteByTwin(ingestor, readings);
  score_written.fetch_add(written, std::memory_order_relaxed);
  write_failures.fetch_add(failed, std::memory_order_relaxed);
}

void AnalyticsService::State::KeepEvents(std::vector<AnomalyEvent>& batch) {
  if (batch.empty()) return;
  events_raised.fetch_add(batch.size(), std::memory_order_relaxed);
  std::lock_guard lock(events_mu);
  for (auto& e : batch) {
    // Debug, not info: a noisy fleet raises many events, and they are listed by the API and
    // counted in /metrics already.
    spdlog::debug("anomaly: detector '{}' on twin '{}' scored {:.3f} at {}", e.detector, e.twin_id, e.score,
                 service_internal::TimeText(e.time));
    anomalies.push_back(std::move(e));
  }
  while (anomalies.size() > service_internal::kMaxEvents) anomalies.pop_front();
  anomalies_dirty = true;
}

void AnalyticsService::State::PersistAnomalies() {
  if (options.dir.empty()) return;
  json::array all;
  {
    std::lock_guard lock(events_mu);
    if (!anomalies_dirty) return;
    anomalies_dirty = false;
    for (const AnomalyEvent& e : anomalies) all.push_back(EventJson(e));
  }
  if (Status s = WriteFileAtomically(PathIn(service_internal::kAnomaliesFile), ToJson(all)); !s.ok()) {
    spdlog::warn("analytics: anomaly events not saved: {}", s.message());
  }
}

void AnalyticsService::State::LoadAnomalies() {
  if (options.dir.empty()) return;
  auto text = ReadFile(PathIn(service_internal::kAnomaliesFile));
  if (!text.ok()) return;
  auto doc = ParseJson(*text, JsonLimits{.max_bytes = 256u << 20});
  if (!doc.ok() || !doc->is_array()) {
    spdlog::warn("analytics: {} is not a JSON array; anomaly events start empty", PathIn(service_internal::kAnomaliesFile));
    return;
  }
  std::lock_guard lock(events_mu);
  for (const json::value& v : doc->get_array()) {
    if (!v.is_object()) continue;
    const json::object& o = v.get_object();
    const json::value* time = o.if_contains("time");
    const json::value* score = o.if_contains("score");
    const json::value* evidence = o.if_contains("evidence");
    if (time == nullptr || !time->is_string()) continue;
    auto parsed = ParseRfc3339(time->get_string());
    if (!parsed.ok()) continue;
    AnomalyEvent e{.detector = o.contains("detector") && o.at("detector").is_string()
                                   ? std::string(o.at("detector").get_string()) : std::string(),
                   .twin_id = o.contains("twinId") && o.at("twinId").is_string()
                                  ? std::string(o.at("twinId").get_string()) : std::string(),
                   .time = std::chrono::duration_cast<std::chrono::nanoseconds>(parsed->time_since_epoch()).count(),
                   .score = score != nullptr && score->is_number() ? score->to_number<double>() : 0.0,
                   .evidence = evidence != nullptr && evidence->is_object() ? evidence->get_object() : json::object{}};
    anomalies.push_back(std::move(e));
  }
}

void AnalyticsService::Flush() {
  State& s = *state_;
  if (!s.started) return;
  // Groups of a multivariate detector still waiting for a signal are scored as they are.
  if (auto current = s.CurrentRouting()) {
    Scratch pending;
    for (service_internal::Slot* slot : current->grouped) {
      std::lock_guard lock(slot->mu);
      if (slot->detector && slot->group_count > 0) s.ScoreGroup(*slot, pending);
    }
    if (!pending.empty()) s.Enqueue(current, pending);
  }
  std::unique_lock lock(s.queue_mu);
  const uint64_t target = ++s.enqueued;
  s.queue_cv.notify_one();
  s.flushed_cv.wait(lock, [&] { return s.processed >= target || s.stopping; });
}

json::array AnalyticsService::Anomalies(std::string_view twin_id, int64_t since_ns, std::size_t limit) const {
  json::array out;
  std::lock_guard lock(state_->events_mu);
  for (auto it = state_->anomalies.rbegin(); it != state_->anomalies.rend() && out.size() < limit; ++it) {
    if (!twin_id.empty() && it->twin_id != twin_id) continue;
    if (it->time < since_ns) continue;
    out.push_back(EventJson(*it));
  }
  return out;
}

}  // namespace doppel::analytics
