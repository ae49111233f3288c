// SimulationService: simulation as a server capability (docs/simulation.md). It keeps the
// bindings (persisted in <dataDir>/simulation/bindings.json), runs every bound twin's shadow
// simulation in step with its live readings — writing expected values, residuals and virtual
// sensors back as the twin's telemetry — and runs what-if scenarios and forecasts forked from a
// twin's estimated state.
//
//   auto service = SimulationService::Open(options, catalog, graph, events, ingestor, live, clock);
//   (*service)->Start();            // subscribes to readings and graph events, starts the worker
//   ... services.simulation = service->get(); ...
//   (*service)->Stop();             // persists the shadow states, stops the worker
//
// Threads: readings arrive on writers' threads (an Ingestor listener) and are only queued; one
// worker thread owns every shadow run (steps, filters, writes derived telemetry through the
// Ingestor); scenarios run on their own pool. Public methods may be called from any thread.
// The catalog, graph, event bus, ingestor, live state and clock must outlive the service.
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
#include "sim/simulation.h"
#include "twin/events.h"
#include "twin/field_mask.h"
#include "twin/twin_graph.h"

namespace doppel::sim {

struct SimulationServiceOptions {
  // Where bindings, shadow states, scenario results and FMUs persist; "" = memory only.
  std::string dir = {};
  unsigned scenario_threads = 0;  // 0 = hardware concurrency
  // Readings queued for the shadow worker beyond this are dropped (counted in /metrics): the
  // shadow falls behind gracefully rather than holding up ingest.
  std::size_t queue_limit = 1 << 20;
  // Readings of one bound twin with the same timestamp are observed together; a group waits at
  // most this long (wall time) for its last reading.
  std::chrono::milliseconds group_wait{500};
  std::chrono::seconds persist_interval{60};  // shadow states saved this often, and at Stop
  // The executable FMUs run in (`doppel fmu-host`); "" = /proc/self/exe.
  std::string fmu_host = {};
  // Bindings from the server's config file ("simulation": {"bindings": {name: binding}}):
  // loaded at Open (an invalid one fails Open, naming it), read-only through the API (PUT and
  // DELETE answer Conflict), not written to bindings.json.
  json::object config_bindings = {};
};

class SimulationService {
 public:
  static Result<std::unique_ptr<SimulationService>> Open(SimulationServiceOptions options, ModelCatalog& catalog,
                                                         twin::TwinGraph& graph, twin::EventBus& events,
                                                         ingest::Ingestor& ingestor, ingest::LiveState& live,
                                                         const Clock& clock = SystemClock::Instance());
  ~SimulationService();  // Stop()
  SimulationService(const SimulationService&) = delete;
  SimulationService& operator=(const SimulationService&) = delete;

  void Start();
  void Stop();  // idempotent

  // ---- models (GET /simulation/models[/{name}], PUT/DELETE /simulation/fmus/{name}) ----
  json::array Models() const;
  Result<json::object> DescribeModel(std::string_view name) const;
  // Stores, validates and registers an FMU as model "fmu:<name>"; (created?, its model JSON).
  Result<std::pair<bool, json::object>> PutFmu(std::string_view name, std::string_view archive);
  Status DeleteFmu(std::string_view name);  // NotFound; Conflict while a binding uses it

  // ---- bindings (GET /simulation/bindings[/{name}], PUT, DELETE) ----
  json::array Bindings() const;
  Result<json::object> FindBinding(std::string_view name) const;
  // Creates or replaces a binding; answers (created?, its JSON with "boundTwins"). Conflict for
  // a binding from the config file.
  Result<std::pair<bool, json::object>> PutBinding(std::string_view name, const json::value& body);
  Status DeleteBinding(std::string_view name);

  // ---- one twin (GET /digitaltwins/{id}/simulation) ----
  // The twin's bindings and, for a shadow run, its last update: time, inputs, expected values,
  // residuals and estimates with standard deviations. NotFound when no binding covers it.
  Result<json::object> TwinState(std::string_view twin_id) const;

  // Data classification (docs/security.md): the first value a binding covering the twin reads
  // (a parameter, input or measurement, on the twin or a related one) that `mask` hides, as
  // "'<path>' of '<twin>' (<class>)"; "" when none. A caller for whom it is not empty must not
  // see the twin's simulation: its states, estimates and forecasts are made from that value.
  std::string HiddenInput(std::string_view twin_id, const twin::FieldMask& mask) const;

  // ---- what-if (POST/GET/DELETE /digitaltwins/{id}/scenarios[/{job}], POST .../forecast) ----
  // Starts a job forked from the twin's current (estimated) state; answers the job JSON.
  Result<json::object> StartScenarios(std::string_view twin_id, const json::value& body);
  Result<json::object> Scenarios(std::string_view twin_id, std::string_view job_id) const;
  json::array ScenarioJobs(std::string_view twin_id) const;
  Status CancelScenarios(std::string_view twin_id, std::string_view job_id);
  // Projects the current state forward under current conditions (inputs held, or replayed
  // from history as the body says); synchronous.
  Result<json::object> Forecast(std::string_view twin_id, const json::value& body);

  // Prometheus text: doppel_sim_* families.
  void RenderMetrics(std::string& out) const;

 private:
  struct State;
  explicit SimulationService(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace doppel::sim
