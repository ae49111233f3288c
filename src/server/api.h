// The HTTP API: the Azure Digital Twins data-plane REST API (2023-10-31 contract) over a
// TwinGraph, plus /healthz, /metrics (Prometheus) and /openapi.json.
//
// DigitalTwinsApi turns a plain HttpRequest into an HttpResponse — no sockets, so tests call it
// directly and http_server.cc carries it over the wire:
//
//   twin::TwinGraph graph(journal, clock, events);
//   server::DigitalTwinsApi api(graph, clock);
//   HttpServer server(options, [&](const HttpRequest& r) { return api.Handle(r); });
//
// Conventions (docs: GET /openapi.json):
// - `api-version` may be omitted (convenience for curl); if given it must be a known ADT data
//   plane version (kApiVersions) or the answer is 400 UnsupportedApiVersion. System routes
//   (/healthz, /metrics, /openapi.json) ignore it.
// - Errors: {"error": {"code", "message"}} with the x-ms-error-code header; the status and code
//   come from the Status (base/status.h). Unknown path → 404 RouteNotFound naming the path;
//   known path, wrong method → 405 with an Allow header; bad %-encoding → 400.
// - List endpoints page with {"value": [...], "nextLink": "<url>"}; the page size comes from
//   the `max-items-per-page` header (older SDKs send `x-ms-max-item-count`).
//
// Thread-safety: Handle() may be called from many threads at once (TwinGraph serialises
// writers). The graph and clock must outlive the API.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <vector>
#include <string>
#include <memory>
#include <string_view>
#include <utility>

#include "base/clock.h"
#include "server/http_message.h"
#include "server/metrics.h"
#include "server/router.h"
#include "twin/twin_graph.h"

namespace doppel::ingest {
class Ingestor;
class LiveState;
}
namespace doppel::tsdb {
class SeriesStore;
}
namespace doppel::auth {
class ApiKeyStore;
class Authenticator;
class Authorizer;
class DataClassification;
}
namespace doppel::audit {
class AuditLog;
}
namespace doppel::sim {
class SimulationService;
}
namespace doppel::analytics {
class AnalyticsService;
}
namespace doppel::command {
class CommandService;
}
namespace doppel::alerts {
class AlertService;
}
namespace doppel::maintenance {
class WorkOrderService;
}
namespace doppel::automation {
class AutomationService;
}
namespace doppel::client {
class WebhookSender;
}

namespace doppel::server {

// The api-version values accepted (the ADT data-plane versions published so far).
inline constexpr std::array<std::string_view, 6> kApiVersions = {
    "2020-05-31-preview", "2020-10-31", "2021-06-30-preview", "2022-05-31", "2023-06-30", "2023-10-31"};

struct ApiOptions {
  // Largest request body, bytes (also enforced by the transport). Default 32 MiB (JsonLimits).
  std::size_t max_body_bytes = 32u << 20;
  // Deepest JSON nesting accepted in a body. Default 64 (JsonLimits).
  std::size_t max_json_depth = 64;
  // Items per page of list endpoints and queries when the client does not ask. Default 100,
  // ADT's page size.
  std::size_t default_page_size = 100;
  // Most items per page whatever the client asks (bigger requests are clamped). Default 1000:
  // a page stays well under a megabyte for typical twins.
  std::size_t max_page_size = 1000;
  // /metrics lists points and bytes per history series only while there are at most this many
  // series (each is two time series in Prometheus); past it, only the totals. Default 10,000.
  std::size_t max_series_metrics = 10'000;
  // Most write requests (telemetry, line protocol) handled at once; more are answered 503 with
  // Retry-After: 1 at once instead of queueing, so a flood of writes never takes every worker
  // and reads (an operator's screen) stay answered. 0 = no limit. `doppel serve` sets it to
  // the worker count minus one.
  std::size_t max_ingest_in_flight = 0;
  // Requests per second each authenticated caller (API key, JWT subject) may make, sustained,
  // and the burst it may spend at once; beyond, 429 with Retry-After. 0 = no limit (default).
  // Dev mode is not limited: there is only one caller.
  double requests_per_second_per_caller = 0;
  double request_burst_per_caller = 0;  // 0 = twice the rate
};

// The engines behind the API besides the graph. Each is optional: its routes answer
// 503 ServiceUnavailable ("history is not enabled") when it is null. All must outlive the API.
struct ApiServices {
  ingest::Ingestor* ingestor = nullptr;  // telemetry and line-protocol ingest
  tsdb::SeriesStore* history = nullptr;  // /timeseries queries and per-series metrics
  ingest::LiveState* live = nullptr;     // GET /digitaltwins/{id}/telemetry (latest values)
  // Writes a consistent copy of every store into `dir` (POST /backup); see app/serve.cc.
  std::function<Status(const std::string& dir)> backup;
  // Right to erasure (POST /digitaltwins/{id}/erase): erases the twin from the graph, the
  // ingest cache, history and the live state, and answers what was removed:
  // {"twin", "relationships", "series", "points"}. NotFound for an unknown twin. Null = 503
  // "erasure is not enabled on this server". See app/serve.cc and docs/security.md.
  std::function<Result<json::object>(std::string_view twin_id)> erase_twin;
  // The connectors' health, one JSON object each with at least "name" (GET /connectors).
  std::function<json::array()> connectors;
  // PUT /connectors/{name}: creates or replaces an API-defined connector from one connector
  // object (docs/mqtt.md) and starts it; answers (created?, its health JSON). DELETE stops and
  // removes one. Null = 503 "connectors cannot be changed on this server". See
  // app/connector_registry.h.
  std::function<Result<std::pair<bool, json::object>>(std::string_view name, const json::value& config)>
      put_connector;
  std::function<Status(std::string_view name)> delete_connector;
  // Simulation (docs/simulation.md): models, FMUs, bindings, shadow state, scenarios,
  // forecasts. Null = 503 "simulation is not enabled on this server".
  sim::SimulationService* simulation = nullptr;
  // Analytics (docs/analytics.md): anomaly detectors and events, RUL models and training, KPI
  // definitions, a twin's analytics and KPIs. Null = 503 "analytics is not enabled on this server".
  analytics::AnalyticsService* analytics = nullptr;
  // Commands and desired properties (docs/commands.md): /digitaltwins/{id}/commands, and a
  // PATCH of a writable property is also sent to the device, with its acknowledgement in GET
  // /digitaltwins/{id}'s $metadata. Null = 503 "commands are not enabled on this server" (and
  // PATCH works as a plain twin write).
  command::CommandService* commands = nullptr;
  // Closing the loop (docs/automation.md, alerts.md, work-orders.md, webhooks.md). Each null =
  // 503 "<area> is not enabled on this server".
  alerts::AlertService* alerts = nullptr;                 // /alerts
  maintenance::WorkOrderService* work_orders = nullptr;   // /workorders, /maintenance, /production
  automation::AutomationService* automation = nullptr;    // /rules, /automation, /recommendations
  client::WebhookSender* webhooks = nullptr;              // /webhooks/deliveries
  // The operator dashboard (docs/dashboard.md): the directory of its built assets (index.html,
  // assets/), served at / and /assets/<name> to anyone — they hold no data; every API call the
  // page makes needs a token as usual. "" = not served (those paths answer 404 like any other).
  std::string web_root = {};
  // More metric families for /metrics (connectors, streams): each appends Prometheus text.
  std::vector<std::function<void(std::string& out)>> metrics;

  // Security (docs/security.md). Dev mode — every request is the anonymous admin — while the
  // authenticator is null or has no credentials configured (the server refuses to start that
  // way on a non-loopback address; app/serve.cc). Otherwise every route but /healthz and
  // /openapi.json needs a bearer token, and the authorizer decides (null = any authenticated
  // caller may do anything; tests only).
  const auth::Authenticator* authenticator = nullptr;
  const auth::Authorizer* authorizer = nullptr;
  auth::ApiKeyStore* api_keys = nullptr;  // /auth/apikeys; null = 503
  audit::AuditLog* audit = nullptr;       // records changes and denials; /audit; null = off
  // Data classification (auth/classification.h): classified values are masked for callers
  // whose clearances do not cover them, in every read. Null = nothing is classified.
  const auth::DataClassification* classification = nullptr;
};

class DigitalTwinsApi {
 public:
  DigitalTwinsApi(twin::TwinGraph& graph, const Clock& clock, ApiOptions options = {},
                  ApiServices services = {});
  ~DigitalTwinsApi();

  // Answers one request. Never throws; unexpected exceptions become 500 InternalServerError.
  HttpResponse Handle(const HttpRequest& request);

  // The route table (for the OpenAPI coverage test and diagnostics).
  const Router& router() const;
  const HttpMetrics& metrics() const;

 private:
  // Routes, authenticates, authorises and runs the handler; fills `match` (route, caller).
  Result<HttpResponse> Dispatch(const HttpRequest& request, RouteMatch& match);

  struct State;
  std::unique_ptr<State> state_;
};

// The OpenAPI 3.0 document served at /openapi.json (src/server/openapi.json, compiled in).
std::string_view OpenApiDocument();

}  // namespace doppel::server
