// AnalyticsService: analytics as a server capability (docs/analytics.md) — streaming anomaly
// detectors on telemetry, remaining-useful-life models trained from run-to-failure history and
// applied to live twins, and performance KPIs (KpiEngine). Persisted under <dataDir>/analytics.
//
//   auto service = AnalyticsService::Open(options, graph, events, ingestor, live, clock);
//   (*service)->Start();   // subscribes to readings, warms detectors up, starts the worker
//   ... services.analytics = service->get(); ...
//   (*service)->Stop();    // saves detector and tracker states
//
// Detectors (PUT /analytics/detectors/{name}):
//   {"model": "dtmi:...;1" | "twins": ["id", ...],   // which twins (a model covers extensions)
//    "kind": "ensemble", "signals": ["vibrationRms"], <detector parameters, detector.h>,
//    "output": "vibrationAnomaly",                     // telemetry the score is written to
//    "eventThreshold": 0.9}
// Each (detector, twin) pair has its own Detector. Readings are scored in the Ingestor's
// listener, on the writing thread (a routing map from (twin, path) swapped whole on change, a
// lock per (detector, twin), no allocation in steady state); the score readings (at the
// reading's time) and events are handed to the worker, which writes them through the Ingestor.
// A multivariate detector scores the values of one time together (all arrived, or a later time).
// An anomaly event (score ≥ threshold, rising edge) is kept (GET /analytics/anomalies) with
// its evidence and published as a graph-independent event on /ws.
// Warm-up: at Start and when a detector is put, each pair restores its saved state if it
// matches, else replays the twin's recent history (options.warmup_readings) before going live.
//
// RUL models (PUT /analytics/rul/{name}, POST /analytics/rul/{name}/train):
//   {"model": "dtmi:...;1", "signals": [...], "settings": [...], "cap": 125,
//    "cycle": "reading" | "<duration>",      // a cycle: each distinct timestamp, or a time bucket
//    "failure": "failed",                     // boolean telemetry/property: true = failed here
//    "outputs": {"rul": "rul", "low": "rulLow", "high": "rulHigh", "health": "healthIndex"}}
// Training reads every twin of the model whose history has a failure marker (run to failure),
// cut at the marker, and runs on its own thread (progress and validation error on GET). Once
// trained, each twin of the model without a failure gets a RulTracker: its history so far is
// replayed, then it is fed each cycle as it completes (cycle "reading": when every column of a
// time has arrived or a later time starts; a duration: when a later bucket starts). Its
// estimate is answered by GET /digitaltwins/{id}/analytics and written to the outputs.
// Persisted: definitions, detector states, anomaly events and trained models (docs/analytics.md).
//
// Thread-safety: public methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "twin/events.h"
#include "twin/twin_graph.h"

namespace doppel::analytics {

class KpiEngine;

struct AnalyticsServiceOptions {
  std::string dir = {};  // "" = memory only
  // Score and RUL readings waiting for the worker beyond this are dropped (counted).
  std::size_t queue_limit = 1 << 20;
  std::size_t warmup_readings = 2000;  // history replayed per (detector, twin) without a state
  std::chrono::seconds persist_interval{60};
  std::chrono::seconds kpi_interval{60};  // KpiEngine::Tick period; 0 = never (tests tick by hand)
  // From the config file: "analytics": {"detectors": {...}, "rul": {...}, "kpis": {...}};
  // read-only through the API (Conflict), as simulation bindings are.
  json::object config = {};
};

class AnalyticsService {
 public:
  static Result<std::unique_ptr<AnalyticsService>> Open(AnalyticsServiceOptions options, twin::TwinGraph& graph,
                                                        twin::EventBus& events, ingest::Ingestor& ingestor,
                                                        ingest::LiveState& live,
                                                        const Clock& clock = SystemClock::Instance());
  ~AnalyticsService();  // Stop()
  AnalyticsService(const AnalyticsService&) = delete;
  AnalyticsService& operator=(const AnalyticsService&) = delete;

  void Start();
  void Stop();  // idempotent
  // Blocks until every reading ingested before the call has been scored, its score readings
  // and events written, the RUL trackers fed, and the routing caught up with graph changes
  // made before the call (tests, benches, and GET /digitaltwins/{id}/analytics). A group of a
  // multivariate detector still waiting for a signal is scored as it is. No-op before Start.
  void Flush();

  // ---- detectors: GET /analytics/detectors[/{name}], PUT, DELETE ----
  json::array Detectors() const;
  Result<json::object> FindDetector(std::string_view name) const;
  Result<std::pair<bool, json::object>> PutDetector(std::string_view name, const json::value& body);
  Status DeleteDetector(std::string_view name);
  // GET /analytics/anomalies?twin=&since=&limit= : newest first.
  json::array Anomalies(std::string_view twin_id, int64_t since_ns, std::size_t limit) const;

  // ---- RUL: GET /analytics/rul[/{name}], PUT, DELETE, POST /analytics/rul/{name}/train ----
  json::array RulModels() const;
  Result<json::object> FindRulModel(std::string_view name) const;  // with training status
  Result<std::pair<bool, json::object>> PutRulModel(std::string_view name, const json::value& body);
  Status DeleteRulModel(std::string_view name);
  Result<json::object> Train(std::string_view name);  // starts; Conflict while one runs

  // ---- KPIs: GET/PUT/DELETE /analytics/kpis[/{name}], GET /digitaltwins/{id}/kpis?from=&to= ----
  KpiEngine& kpis();
  // The engine's definitions, persisted (kpis.json) and read-only when from the config file
  // (Conflict), as detectors are. Put answers (created?, the definition).
  json::array KpiDefinitions() const;
  Result<json::object> FindKpi(std::string_view name) const;
  Result<std::pair<bool, json::object>> PutKpi(std::string_view name, const json::value& body);
  Status DeleteKpi(std::string_view name);
  // KpiEngine::Compute over [from, to).
  Result<json::object> TwinKpis(std::string_view twin_id, int64_t from_ns, int64_t to_ns) const;

  // ---- one twin: GET /digitaltwins/{id}/analytics ----
  // {"anomaly": {detector: {score, time, evidence, observed, signals}}, "rul": {model: {rul,
  //  low, high, health, cycles, time} | {"status": "untrained"} | {"failed": true}}, "kpis":
  //  {...its current shift...}, "kpiWindow": {from, to}, "state": "running"}. NotFound for an
  //  unknown twin; an empty object for a twin nothing covers.
  Result<json::object> TwinAnalytics(std::string_view twin_id) const;

  void RenderMetrics(std::string& out) const;  // doppel_analytics_* families

 private:
  struct State;
  explicit AnalyticsService(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace doppel::analytics
