// KpiEngine: live performance KPIs as derived telemetry of the twins (docs/analytics-kpi.md).
// Definitions say, per DTDL model, where a machine's state, counters, ideal cycle time and
// power are; the engine reads their history, computes KpiTotals per twin over a window, rolls
// them up the twin graph along named relationships (machine → station → line → plant; turbine
// → farm) by summing totals, and writes the KPIs back through the Ingestor as telemetry of
// each twin whose model defines them (so they land in history and on /ws like any reading).
//
// A definition (PUT /analytics/kpis/{name}, or the config file's "analytics": {"kpis": {...}}):
//   {"model": "dtmi:doppel:example:production:Machine;1",       // and models extending it
//    "state": {"path": "state", "map": {"running": "running", "idle": "idle",
//              "blocked": "idle", "starved": "idle", "down": "unplannedStop",
//              "maintenance": "plannedStop"}},                  // or "classify": StateRules
//    "good": "goodCount", "scrap": "scrapCount",                // counters (resets handled)
//    "idealCycleTime": "idealCycleTime",                        // seconds per part
//    "power": "powerDraw",                                      // kW, integrated to energy
//    "ratedPower": "ratedPower",                                // kW, turbines' capacity factor
//    "maxGap": "10m",                                           // longer silence = unknown
//    "shift": {"length": "8h", "start": "06:00"},               // the live window (UTC)
//    "rollUp": ["hasStation", "hasMachine"]}                    // relationships to sum over
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "analytics/kpi/kpi.h"
#include "ingest/ingestor.h"
#include "tsdb/series_store.h"
#include "twin/twin_graph.h"

namespace doppel::analytics {

class KpiEngine {
 public:
  KpiEngine(twin::TwinGraph& graph, tsdb::SeriesStore& store, ingest::Ingestor& ingestor, const Clock& clock);
  ~KpiEngine();

  // Definitions. Put validates (InvalidArgument naming the field; NotFound for an unknown
  // model) and answers (created?, the definition as JSON).
  Result<std::pair<bool, json::object>> Put(std::string_view name, const json::value& body);
  Status Delete(std::string_view name);
  json::array List() const;
  json::object SaveDefinitions() const;              // for persistence by the service
  Status LoadDefinitions(const json::object& saved);

  // One definition as Put answered it. NotFound.
  Result<json::object> Find(std::string_view name) const;

  // KPIs of one twin over [from, to): its own (if a definition covers its model) plus the sum
  // over everything reachable by the roll-up relationships. JSON: {"twin", "from", "to",
  // "definition": name or null, "totals": {"runningSeconds", "idleSeconds",
  // "unplannedStopSeconds", "plannedStopSeconds", "unknownSeconds", "goodCount",
  // "scrapCount", "idealSeconds", "timedRunningSeconds", "meteredGoodCount", "failures",
  // "energyKwh", "ratedEnergyKwh", "availableSeconds", "assetSeconds",
  // "assetRunningSeconds"}, "kpis": {"oee": 0.71, ...the telemetry names below, absent when
  // undefined}, "assets": n, "assetsRunning": n, "state": "running" (the twin's own state
  // class at `to`, when its definition has a state)}. NotFound for an unknown twin;
  // InvalidArgument when from >= to. Reads history afresh (late readings count).
  Result<json::object> Compute(std::string_view twin_id, int64_t from_ns, int64_t to_ns) const;
  // Compute over the twin's current shift (its definition's "shift", up to the clock's now).
  // NotFound for an unknown twin or one no definition covers.
  Result<json::object> ComputeCurrentShift(std::string_view twin_id) const;

  // Computes every covered twin's KPIs for its current shift (now from the clock) and writes
  // those its model has a telemetry or property for ("oee", "availability", "performance",
  // "quality", "mtbfHours", "mttrHours", "energyPerGoodUnit", "capacityFactor",
  // "timeAvailability", "utilisation"; doubles) through the Ingestor (WriteEach: one group per
  // twin, so one bad twin does not hold up the others), stamped with the tick's time. Absent
  // KPIs are not written; nothing is written at a shift's first instant. The service calls it
  // every interval. Incremental: the series read are kept for the current shift and only
  // newer points are read (see CachingHistoryReader in twin_totals.h: a late reading older
  // than the previous tick is missed by the live values until the next shift, never by
  // Compute). Returns the first error (a history read, a refused write) after doing the rest.
  Status Tick();
  // Cost of the last Tick, for /metrics and bench.
  double last_tick_seconds() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace doppel::analytics
