// AnalyticsService's insides, shared by its files: analytics_service.cc (life cycle, the public
// API), internal/definition_files.cc (definitions on disk and in the config file),
// internal/routing.cc (definitions resolved against the graph into the listener's routing map,
// detector warm-up and states), internal/scoring.cc (the Ingestor listener, the worker, derived
// telemetry and anomaly events) and internal/rul_training.cc (run-to-failure histories,
// training, live RUL trackers). Nothing outside src/analytics includes it.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "analytics/analytics_service.h"
#include "analytics/internal/cycles.h"
#include "analytics/internal/definitions.h"
#include "analytics/kpi/kpi_engine.h"

namespace doppel::analytics::service_internal {

using SteadyClock = std::chrono::steady_clock;

// Under AnalyticsServiceOptions::dir.
inline constexpr std::string_view kDetectorsFile = "detectors.json";       // {name: definition}
inline constexpr std::string_view kRulFile = "rul.json";                   // {name: definition}
inline constexpr std::string_view kKpisFile = "kpis.json";                 // KpiEngine::SaveDefinitions
inline constexpr std::string_view kStatesFile = "detector_states.json";   // {name: {twin: saved}}
inline constexpr std::string_view kAnomaliesFile = "anomalies.json";      // [event], oldest first
inline constexpr std::string_view kRulModelDir = "rul_models";            // <name>.json: RulModel::Save

inline constexpr std::size_t kMaxEvents = 10'000;  // anomaly events kept (and persisted)

using tsdb::NumericOf;
std::string TimeText(int64_t time_ns);
json::object EvidenceJson(const Evidence& evidence, const std::vector<std::string>& signals);

// One detector definition applied to one twin.
struct Slot {
  std::shared_ptr<const DetectorDef> def;
  std::string twin_id;
  std::mutex mu;  // writers' threads (the listener), Flush and the API
  // Everything below is guarded by mu.
  std::unique_ptr<Detector> detector = {};
  std::vector<double> values = {};  // multivariate: this time's value per signal (NaN = absent)
  int64_t group_time = 0;
  std::size_t group_count = 0;
  Score last = {};
  int64_t last_time = 0;
  uint64_t scored = 0;
  bool above = false;  // the last score was at or over the event threshold
};

// One RUL definition applied to one twin (a unit).
struct RulUnit {
  std::shared_ptr<const RulDef> def;
  std::string twin_id;
  // Everything below is guarded by State::rul_mu.
  std::shared_ptr<const RulModel> model = {};  // the tracker's model
  std::unique_ptr<RulTracker> tracker = {};    // null: untrained, or this unit has failed
  std::unique_ptr<CycleAssembler> cycles = {};
  int64_t replayed_until = std::numeric_limits<int64_t>::min();  // history replayed up to here
  bool failed = false;
  bool has_estimate = false;
  RulEstimate estimate = {};
  int64_t estimate_time = 0;
};

inline constexpr uint32_t kFailureColumn = std::numeric_limits<uint32_t>::max();

struct SignalRef {
  Slot* slot;
  uint32_t signal;
};
struct ColumnRef {
  RulUnit* unit;
  uint32_t column;  // or kFailureColumn
};
struct PathRoute {
  std::string path;
  std::vector<SignalRef> signals = {};
  std::vector<ColumnRef> columns = {};
};
struct TwinRoute {
  std::vector<PathRoute> paths = {};  // few per twin: a linear scan beats hashing the path
  std::vector<Slot*> slots = {};
  std::vector<RulUnit*> units = {};
  const PathRoute* Find(std::string_view path) const {
    for (const PathRoute& p : paths) {
      if (p.path == path) return &p;
    }
    return nullptr;
  }
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Where each reading goes: built whole from the definitions and the graph, swapped whole, read
// by the listener without locks beyond the pointer copy. Owns its slots and units (shared with
// the next routing when the same definition still covers the same twin).
struct Routing {
  std::vector<std::shared_ptr<Slot>> slots;
  std::vector<std::shared_ptr<RulUnit>> units;
  std::vector<Slot*> grouped;  // the slots of several signals (their groups may wait; Flush)
  std::unordered_map<std::string, TwinRoute, StringHash, std::equal_to<>> by_twin;

  const TwinRoute* Find(std::string_view twin_id) const {
    auto it = by_twin.find(twin_id);
    return it == by_twin.end() ? nullptr : &it->second;
  }
};

// What the listener hands the worker: compact, no strings (the worker builds the readings).
struct ScoreRecord {
  Slot* slot;
  int64_t time;
  double score;
};
struct ColumnRecord {
  ColumnRef ref;
  int64_t time;
  double value;
};
struct AnomalyEvent {
  std::string detector, twin_id;
  int64_t time = 0;
  double score = 0;
  json::object evidence = {};
};

// A listener's per-batch output, reused per thread so steady-state scoring does not allocate.
struct Scratch {
  std::vector<ScoreRecord> scores;
  std::vector<ColumnRecord> columns;
  std::vector<AnomalyEvent> events;
  bool empty() const { return scores.empty() && columns.empty() && events.empty(); }
  void clear() {
    scores.clear();
    columns.clear();
    events.clear();
  }
};

// A RUL definition with its trained model and training status.
struct RulEntry {
  std::shared_ptr<const RulDef> def;
  std::shared_ptr<const RulModel> model = {};  // null until trained
  std::string status = "untrained";            // "training", "trained", "failed"
  double progress = 0;
  std::string stage = {};
  std::string error = {};
};

// Writes derived readings in groups of one twin each (a twin whose model lacks an output path
// fails alone); answers (written, failed groups). internal/scoring.cc.
std::pair<uint64_t, uint64_t> WriteByTwin(ingest::Ingestor& ingestor, const std::vector<ingest::Reading>& readings);

}  // namespace doppel::analytics::service_internal

namespace doppel::analytics {

struct AnalyticsService::State {
  AnalyticsServiceOptions options;
  twin::TwinGraph& graph;
  twin::EventBus& events;
  ingest::Ingestor& ingestor;
  ingest::LiveState& live;
  const Clock& clock;
  std::unique_ptr<KpiEngine> kpi;

  // Definitions, by name. Changed by the API; the routing follows through Rebuild.
  mutable std::mutex defs_mu;
  std::map<std::string, std::shared_ptr<const service_internal::DetectorDef>, std::less<>> detectors;  // guarded
  std::map<std::string, service_internal::RulEntry, std::less<>> rul;                                 // guarded
  std::set<std::string, std::less<>> config_detectors, config_rul, config_kpis;  // fixed after Open
  json::object saved_states;  // detector states read at Open: {name: {twin: saved}}; guarded
  // Config-file KPI definitions whose model is not uploaded yet: put when models arrive.
  json::object pending_kpis;  // guarded by defs_mu

  // The routing the listener reads (swapped whole by Rebuild, which rebuild_mu serialises).
  std::mutex rebuild_mu;
  mutable std::mutex routing_mu;
  std::shared_ptr<const service_internal::Routing> routing;  // guarded by routing_mu
  std::atomic<bool> routes_dirty{false};

  // RUL units' trackers and cycles: the worker, training and the API.
  mutable std::mutex rul_mu;

  // The worker's queue.
  mutable std::mutex queue_mu;
  std::condition_variable queue_cv, flushed_cv;
  service_internal::Scratch queue;                                      // guarded by queue_mu
  std::vector<std::shared_ptr<const service_internal::Routing>> pinned;  // keeps queued slots alive; guarded
  uint64_t enqueued = 0, processed = 0;                         // batches (and flushes); guarded
  bool stopping = false;                                        // guarded by queue_mu

  // Anomaly events, oldest first.
  mutable std::mutex events_mu;
  std::deque<service_internal::AnomalyEvent> anomalies;  // guarded by events_mu
  bool anomalies_dirty = false;                  // guarded by events_mu

  // Training: one job at a time.
  std::mutex train_mu;
  std::thread trainer;  // guarded by train_mu
  std::atomic<bool> training{false};
  std::atomic<bool> cancel_training{false};  // Stop: the job's progress callback says stop

  // The KPI timer: its own thread, so a slow tick never holds up the score writes.
  std::mutex kpi_mu;
  std::condition_variable kpi_cv;
  bool kpi_stopping = false;  // guarded by kpi_mu
  std::thread kpi_timer;

  std::atomic<uint64_t> scored{0}, dropped{0}, score_written{0}, write_failures{0}, events_raised{0};
  std::atomic<uint64_t> cycles{0}, rul_written{0}, kpi_ticks{0}, kpi_failures{0};
  std::atomic<uint64_t> score_ns{0};
  std::thread worker;
  uint64_t listener = 0;
  twin::EventBus::SubscriptionId event_subscription = 0;
  bool started = false;

  State(AnalyticsServiceOptions o, twin::TwinGraph& g, twin::EventBus& e, ingest::Ingestor& i,
        ingest::LiveState& l, const Clock& k)
      : options(std::move(o)), graph(g), events(e), ingestor(i), live(l), clock(k) {}

  std::string PathIn(std::string_view sub) const {
    return options.dir.empty() ? std::string() : (std::filesystem::path(options.dir) / sub).string();
  }
  std::shared_ptr<const service_internal::Routing> CurrentRouting() const {
    std::lock_guard lock(routing_mu);
    return routing;
  }

  // ---- definitions (internal/definition_files.cc) ----
  Status LoadDefinitions();
  Status LoadConfig();
  Status SaveDetectorsLocked() const;
  Status SaveRulLocked() const;
  Status SaveKpis() const;
  void RetryPendingKpis();
  json::object RulEntryJson(const service_internal::RulEntry& entry) const;
  json::object DetectorJson(const service_internal::DetectorDef& def) const;
  std::string RulModelFile(std::string_view name) const;  // "" without a directory
  // Loads the trained model saved for the entry's definition; one trained for another spec is
  // ignored (train again).
  void LoadTrainedModel(service_internal::RulEntry& entry);

  // ---- routing (internal/routing.cc) ----
  // Re-resolves every definition against the graph and swaps the routing in; new detector
  // slots restore a saved state or warm up from history; RUL units of trained models get
  // trackers replayed from history.
  void Rebuild();
  std::shared_ptr<service_internal::Slot> NewSlot(std::shared_ptr<const service_internal::DetectorDef> def, std::string twin_id);
  void WarmUp(service_internal::Slot& slot) const;
  void PersistStates();

  // ---- scoring and the worker (internal/scoring.cc) ----
  void OnReadings(std::span<const ingest::Reading> readings);
  void OnGraphEvent(const twin::GraphEvent& event);
  // Scores one signal's value in the slot (caller holds slot.mu).
  void Score(service_internal::Slot& slot, uint32_t signal, int64_t time, double value, service_internal::Scratch& out) const;
  void ScoreGroup(service_internal::Slot& slot, service_internal::Scratch& out) const;
  void Emit(service_internal::Slot& slot, int64_t time, const analytics::Score& score, service_internal::Scratch& out) const;
  void Enqueue(const std::shared_ptr<const service_internal::Routing>& routing, service_internal::Scratch& batch);
  void Run();
  void RunKpiTimer();
  void Process(service_internal::Scratch& batch);
  void WriteScores(const std::vector<service_internal::ScoreRecord>& scores);
  void KeepEvents(std::vector<service_internal::AnomalyEvent>& batch);
  void PersistAnomalies();
  void LoadAnomalies();

  // ---- RUL (internal/rul_training.cc) ----
  void TrainJob(std::shared_ptr<const service_internal::RulDef> def);
  // Gives each unit of `routing` the current model of its definition (replaying its history)
  // when its tracker was made with another one, and publishes each replayed unit's current
  // estimate as its output telemetry at once (rules and screens need not wait for the next
  // cycle). Caller holds rebuild_mu.
  void EnsureTrackers(const service_internal::Routing& routing);
  // (Re)builds one unit's tracker from its history; its latest estimate's outputs go to `out`.
  // Caller holds rul_mu.
  void ReplayUnit(service_internal::RulUnit& unit, std::shared_ptr<const RulModel> model,
                  std::vector<ingest::Reading>& out);
  // The outputs of the unit's current estimate (rul, low, high, health) at `time`.
  void EmitEstimate(const service_internal::RulUnit& unit, int64_t time, std::vector<ingest::Reading>& out) const;
  // Feeds one live reading of a unit's column; completed cycles' outputs go to `out`.
  void FeedUnit(const service_internal::ColumnRecord& record, std::vector<ingest::Reading>& out);
  void AddCycle(service_internal::RulUnit& unit, const service_internal::Cycle& cycle, std::vector<ingest::Reading>* out);
  json::object UnitJson(const service_internal::RulUnit& unit) const;
};

}  // namespace doppel::analytics
