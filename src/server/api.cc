#include "server/api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "ingest/ingestor.h"
#include "tsdb/series_store.h"
#include "server/internal/access.h"
#include "server/internal/alert_handlers.h"
#include "server/internal/analytics_handlers.h"
#include "server/internal/api_common.h"
#include "server/internal/automation_handlers.h"
#include "server/internal/command_handlers.h"
#include "server/internal/handlers.h"
#include "server/internal/maintenance_handlers.h"
#include "server/internal/static_handlers.h"
#include "server/internal/webhook_handlers.h"

namespace doppel::server {
namespace {

using internal::ApiContext;
using internal::Handler;

// Who may call a route (docs/security.md, "Routes and actions").
enum class Scope : uint8_t {
  kPublic,         // no token needed (health probes, the API description)
  kAuthenticated,  // any valid token (whoami; model reads: a schema is not data)
  kServer,         // a server-wide action: needs an unscoped grant of `action`
  kTwin,           // `action` on the twin named by the {id} path parameter
  kFiltered,       // `action` over many twins: the handler shows/writes only permitted ones
};

struct RouteSpec {
  const char* method;
  const char* pattern;
  Handler handler;
  bool adt;  // part of the ADT contract: api-version is checked
  auth::Action action;
  Scope scope;
  const char* audit;  // the audit log's action for a change ("twin.create"); nullptr = not a change
};

Result<HttpResponse> Healthz(ApiContext& ctx, const HttpRequest&, const RouteMatch&);
Result<HttpResponse> Metrics(ApiContext& ctx, const HttpRequest&, const RouteMatch&);
Result<HttpResponse> OpenApi(ApiContext& ctx, const HttpRequest&, const RouteMatch&);

using auth::Action;
constexpr Action kRead = Action::kRead;
constexpr Action kWrite = Action::kWriteProperties;
constexpr Action kIngest = Action::kIngest;
constexpr Action kModels = Action::kManageModels;
constexpr Action kAdmin = Action::kAdmin;
constexpr Action kInvoke = Action::kInvokeCommands;

// The one route table. Every entry is documented in openapi.json (a test holds them equal,
// and another calls each one without a token, with bad and expired ones, and without rights).
constexpr RouteSpec kRoutes[] = {
    {"POST", "/models", internal::AddModels, true, kModels, Scope::kServer, "model.create"},
    {"GET", "/models", internal::ListModels, true, kRead, Scope::kAuthenticated, nullptr},
    {"GET", "/models/{id}", internal::GetModel, true, kRead, Scope::kAuthenticated, nullptr},
    {"PATCH", "/models/{id}", internal::PatchModel, true, kModels, Scope::kServer, "model.update"},
    {"DELETE", "/models/{id}", internal::DeleteModel, true, kModels, Scope::kServer, "model.delete"},
    {"PUT", "/digitaltwins/{id}", internal::PutTwin, true, kWrite, Scope::kTwin, "twin.put"},
    {"GET", "/digitaltwins/{id}", internal::GetTwin, true, kRead, Scope::kTwin, nullptr},
    {"PATCH", "/digitaltwins/{id}", internal::PatchTwin, true, kWrite, Scope::kTwin, "twin.patch"},
    {"DELETE", "/digitaltwins/{id}", internal::DeleteTwin, true, kWrite, Scope::kTwin, "twin.delete"},
    {"GET", "/digitaltwins/{id}/components/{componentPath}", internal::GetComponent, true, kRead, Scope::kTwin,
     nullptr},
    {"PATCH", "/digitaltwins/{id}/components/{componentPath}", internal::PatchComponent, true, kWrite,
     Scope::kTwin, "twin.patch_component"},
    {"PUT", "/digitaltwins/{id}/relationships/{relationshipId}", internal::PutRelationship, true, kWrite,
     Scope::kTwin, "relationship.put"},
    {"GET", "/digitaltwins/{id}/relationships/{relationshipId}", internal::GetRelationship, true, kRead,
     Scope::kTwin, nullptr},
    {"PATCH", "/digitaltwins/{id}/relationships/{relationshipId}", internal::PatchRelationship, true, kWrite,
     Scope::kTwin, "relationship.patch"},
    {"DELETE", "/digitaltwins/{id}/relationships/{relationshipId}", internal::DeleteRelationship, true, kWrite,
     Scope::kTwin, "relationship.delete"},
    {"GET", "/digitaltwins/{id}/relationships", internal::ListRelationships, true, kRead, Scope::kTwin, nullptr},
    {"GET", "/digitaltwins/{id}/incomingrelationships", internal::ListIncomingRelationships, true, kRead,
     Scope::kTwin, nullptr},
    {"POST", "/digitaltwins/{id}/commands/{commandName}", internal::InvokeCommand, false, kInvoke, Scope::kTwin,
     "command.invoke"},
    {"POST", "/digitaltwins/{id}/components/{componentPath}/commands/{commandName}", internal::InvokeComponentCommand,
     false, kInvoke, Scope::kTwin, "command.invoke"},
    {"GET", "/digitaltwins/{id}/commands", internal::ListCommandInvocations, false, kRead, Scope::kTwin, nullptr},
    {"GET", "/digitaltwins/{id}/commands/invocations/{invocationId}", internal::GetCommandInvocation, false, kRead,
     Scope::kTwin, nullptr},
    {"POST", "/digitaltwins/{id}/erase", internal::EraseTwin, false, kAdmin, Scope::kTwin, "twin.erase"},
    {"POST", "/query", internal::Query, true, kRead, Scope::kFiltered, nullptr},
    {"GET", "/timeseries", internal::ListTimeSeries, false, kRead, Scope::kFiltered, nullptr},
    {"POST", "/timeseries/query", internal::QueryTimeSeries, false, kRead, Scope::kFiltered, nullptr},
    {"GET", "/timeseries/query", internal::QueryTimeSeriesGet, false, kRead, Scope::kFiltered, nullptr},
    {"POST", "/digitaltwins/{id}/telemetry", internal::SendTelemetry, true, kIngest, Scope::kTwin, nullptr},
    {"GET", "/digitaltwins/{id}/telemetry", internal::GetLiveTelemetry, true, kRead, Scope::kTwin, nullptr},
    {"POST", "/digitaltwins/{id}/components/{componentPath}/telemetry", internal::SendComponentTelemetry, true,
     kIngest, Scope::kTwin, nullptr},
    {"POST", "/write", internal::WriteLineProtocolV1, false, kIngest, Scope::kFiltered, nullptr},
    {"POST", "/api/v2/write", internal::WriteLineProtocolV2, false, kIngest, Scope::kFiltered, nullptr},
    {"GET", "/simulation/models", internal::ListSimulationModels, false, kRead, Scope::kAuthenticated, nullptr},
    {"GET", "/simulation/models/{name}", internal::GetSimulationModel, false, kRead, Scope::kAuthenticated, nullptr},
    {"PUT", "/simulation/fmus/{name}", internal::PutFmu, false, kModels, Scope::kServer, "fmu.put"},
    {"DELETE", "/simulation/fmus/{name}", internal::DeleteFmu, false, kModels, Scope::kServer, "fmu.delete"},
    {"GET", "/simulation/bindings", internal::ListBindings, false, kRead, Scope::kAuthenticated, nullptr},
    {"GET", "/simulation/bindings/{name}", internal::GetBinding, false, kRead, Scope::kAuthenticated, nullptr},
    {"PUT", "/simulation/bindings/{name}", internal::PutBinding, false, kModels, Scope::kServer, "binding.put"},
    {"DELETE", "/simulation/bindings/{name}", internal::DeleteBinding, false, kModels, Scope::kServer,
     "binding.delete"},
    {"GET", "/digitaltwins/{id}/simulation", internal::GetTwinSimulation, false, kRead, Scope::kTwin, nullptr},
    {"POST", "/digitaltwins/{id}/scenarios", internal::StartScenarios, false, kRead, Scope::kTwin, nullptr},
    {"GET", "/digitaltwins/{id}/scenarios", internal::ListScenarios, false, kRead, Scope::kTwin, nullptr},
    {"GET", "/digitaltwins/{id}/scenarios/{jobId}", internal::GetScenarios, false, kRead, Scope::kTwin, nullptr},
    {"DELETE", "/digitaltwins/{id}/scenarios/{jobId}", internal::CancelScenarios, false, kRead, Scope::kTwin,
     nullptr},
    {"POST", "/digitaltwins/{id}/forecast", internal::Forecast, false, kRead, Scope::kTwin, nullptr},
    {"GET", "/analytics/detectors", internal::ListAnalyticsDetectors, false, kRead, Scope::kAuthenticated, nullptr},
    {"GET", "/analytics/detectors/{name}", internal::GetAnalyticsDetector, false, kRead, Scope::kAuthenticated,
     nullptr},
    {"PUT", "/analytics/detectors/{name}", internal::PutAnalyticsDetector, false, kModels, Scope::kServer,
     "detector.put"},
    {"DELETE", "/analytics/detectors/{name}", internal::DeleteAnalyticsDetector, false, kModels, Scope::kServer,
     "detector.delete"},
    {"GET", "/analytics/anomalies", internal::ListAnomalies, false, kRead, Scope::kFiltered, nullptr},
    {"GET", "/analytics/rul", internal::ListRulModels, false, kRead, Scope::kAuthenticated, nullptr},
    {"GET", "/analytics/rul/{name}", internal::GetRulModel, false, kRead, Scope::kAuthenticated, nullptr},
    {"PUT", "/analytics/rul/{name}", internal::PutRulModel, false, kModels, Scope::kServer, "rul.put"},
    {"DELETE", "/analytics/rul/{name}", internal::DeleteRulModel, false, kModels, Scope::kServer, "rul.delete"},
    {"POST", "/analytics/rul/{name}/train", internal::TrainRulModel, false, kModels, Scope::kServer, "rul.train"},
    {"GET", "/analytics/kpis", internal::ListKpiDefinitions, false, kRead, Scope::kAuthenticated, nullptr},
    {"GET", "/analytics/kpis/{name}", internal::GetKpiDefinition, false, kRead, Scope::kAuthenticated, nullptr},
    {"PUT", "/analytics/kpis/{name}", internal::PutKpiDefinition, false, kModels, Scope::kServer, "kpi.put"},
    {"DELETE", "/analytics/kpis/{name}", internal::DeleteKpiDefinition, false, kModels, Scope::kServer,
     "kpi.delete"},
    {"GET", "/digitaltwins/{id}/analytics", internal::GetTwinAnalytics, false, kRead, Scope::kTwin, nullptr},
    {"GET", "/digitaltwins/{id}/kpis", internal::GetTwinKpis, false, kRead, Scope::kTwin, nullptr},
    // Automation (docs/automation.md): rules and the envelope are server-wide configuration;
    // the action log, recommendations and a rule's instances show only twins the caller may
    // read; deciding a recommendation sends to devices, as a command does.
    {"GET", "/rules", internal::ListRules, false, kRead, Scope::kAuthenticated, nullptr},
    {"GET", "/rules/{name}", internal::GetRule, false, kRead, Scope::kAuthenticated, nullptr},
    {"PUT", "/rules/{name}", internal::PutRule, false, kModels, Scope::kServer, "rule.put"},
    {"DELETE", "/rules/{name}", internal::DeleteRule, false, kModels, Scope::kServer, "rule.delete"},
    {"GET", "/rules/{name}/instances", internal::ListRuleInstances, false, kRead, Scope::kFiltered, nullptr},
    {"GET", "/automation/envelope", internal::GetEnvelope, false, kRead, Scope::kAuthenticated, nullptr},
    {"PUT", "/automation/envelope", internal::PutEnvelope, false, kAdmin, Scope::kServer, "envelope.put"},
    {"GET", "/automation/actions", internal::ListAutomationActions, false, kRead, Scope::kFiltered, nullptr},
    {"GET", "/digitaltwins/{id}/envelope", internal::GetTwinEnvelope, false, kRead, Scope::kTwin, nullptr},
    {"GET", "/recommendations", internal::ListRecommendations, false, kRead, Scope::kFiltered, nullptr},
    {"GET", "/recommendations/{recommendationId}", internal::GetRecommendation, false, kRead, Scope::kFiltered,
     nullptr},
    {"POST", "/recommendations/{recommendationId}/approve", internal::ApproveRecommendation, false, kInvoke,
     Scope::kServer, "recommendation.approve"},
    {"POST", "/recommendations/{recommendationId}/reject", internal::RejectRecommendation, false, kInvoke,
     Scope::kServer, "recommendation.reject"},
    // Alerts: each handler shows only alerts of twins the caller may read and needs
    // writeProperties on the alert's twin to change one (alert_handlers.h).
    {"GET", "/alerts", internal::ListAlerts, false, kRead, Scope::kFiltered, nullptr},
    {"POST", "/alerts", internal::RaiseAlert, false, kWrite, Scope::kFiltered, "alert.raise"},
    {"GET", "/alerts/{alertId}", internal::GetAlert, false, kRead, Scope::kFiltered, nullptr},
    {"POST", "/alerts/{alertId}/acknowledge", internal::AcknowledgeAlert, false, kWrite, Scope::kFiltered,
     "alert.acknowledge"},
    {"POST", "/alerts/{alertId}/clear", internal::ClearAlert, false, kWrite, Scope::kFiltered, "alert.clear"},
    {"POST", "/alerts/{alertId}/comments", internal::CommentOnAlert, false, kWrite, Scope::kFiltered,
     "alert.comment"},
    // Work orders and enterprise records: each handler shows only those of twins the caller may
    // read and needs writeProperties on the order's twin to open or change one; imports are
    // server-wide (maintenance_handlers.h).
    {"POST", "/workorders", internal::PostWorkOrder, false, kWrite, Scope::kFiltered, "workorder.create"},
    {"GET", "/workorders", internal::ListWorkOrders, false, kRead, Scope::kFiltered, nullptr},
    {"GET", "/workorders/{workOrderId}", internal::GetWorkOrder, false, kRead, Scope::kFiltered, nullptr},
    {"PATCH", "/workorders/{workOrderId}", internal::PatchWorkOrder, false, kWrite, Scope::kFiltered,
     "workorder.update"},
    {"POST", "/maintenance/history", internal::ImportMaintenanceHistory, false, kAdmin, Scope::kServer,
     "maintenance.import"},
    {"GET", "/maintenance/history", internal::ListMaintenanceHistory, false, kRead, Scope::kFiltered, nullptr},
    {"POST", "/production/orders", internal::ImportProductionOrders, false, kAdmin, Scope::kServer,
     "production.import"},
    {"GET", "/production/orders", internal::ListProductionOrders, false, kRead, Scope::kFiltered, nullptr},
    {"GET", "/webhooks/deliveries", internal::ListWebhookDeliveries, false, kAdmin, Scope::kServer, nullptr},
    {"GET", "/webhooks/deliveries/{deliveryId}", internal::GetWebhookDelivery, false, kAdmin, Scope::kServer,
     nullptr},
    {"GET", "/connectors", internal::ListConnectors, false, kRead, Scope::kServer, nullptr},
    {"GET", "/connectors/{name}", internal::GetConnector, false, kRead, Scope::kServer, nullptr},
    {"PUT", "/connectors/{name}", internal::PutConnector, false, kAdmin, Scope::kServer, "connector.put"},
    {"DELETE", "/connectors/{name}", internal::DeleteConnector, false, kAdmin, Scope::kServer, "connector.delete"},
    {"POST", "/backup", internal::Backup, false, kAdmin, Scope::kServer, "server.backup"},
    {"GET", "/auth/whoami", internal::WhoAmI, false, kRead, Scope::kAuthenticated, nullptr},
    {"GET", "/auth/apikeys", internal::ListApiKeys, false, kAdmin, Scope::kServer, nullptr},
    {"POST", "/auth/apikeys", internal::CreateApiKey, false, kAdmin, Scope::kServer, "apikey.create"},
    {"GET", "/auth/apikeys/{keyId}", internal::GetApiKey, false, kAdmin, Scope::kServer, nullptr},
    {"DELETE", "/auth/apikeys/{keyId}", internal::RevokeApiKey, false, kAdmin, Scope::kServer, "apikey.revoke"},
    {"GET", "/audit", internal::QueryAudit, false, kAdmin, Scope::kServer, nullptr},
    {"GET", "/audit/verify", internal::VerifyAudit, false, kAdmin, Scope::kServer, nullptr},
    {"GET", "/healthz", Healthz, false, kRead, Scope::kPublic, nullptr},
    {"GET", "/metrics", Metrics, false, kRead, Scope::kServer, nullptr},
    {"GET", "/openapi.json", OpenApi, false, kRead, Scope::kPublic, nullptr},
};

const RouteSpec& SpecOf(const Route& route) {
  for (const RouteSpec& spec : kRoutes) {
    if (spec.pattern == route.pattern && spec.method == route.method) return spec;
  }
  DOPPEL_CHECK(false);
  return kRoutes[0];
}

Status CheckApiVersion(const QueryParams& query) {
  const std::string* version = query.Find("api-version");
  if (version == nullptr) return Status::Ok();
  if (std::find(kApiVersions.begin(), kApiVersions.end(), *version) != kApiVersions.end()) return Status::Ok();
  std::string known;
  for (std::string_view v : kApiVersions) known += (known.empty() ? "" : ", ") + std::string(v);
  return Status::InvalidArgument("unsupported api-version '" + *version + "'; supported: " + known,
                                 "UnsupportedApiVersion");
}

// Bounded label values: a client inventing methods must not grow the metrics without limit.
std::string_view MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"};
  for (std::string_view m : kKnown) {
    if (m == method) return m;
  }
  return "OTHER";
}

double Seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

void RenderIngestMetrics(const ingest::Ingestor& ingestor, std::string& out) {
  out += "# HELP doppel_ingest_readings_total Readings accepted into history.\n"
         "# TYPE doppel_ingest_readings_total counter\n";
  out += "doppel_ingest_readings_total " + std::to_string(ingestor.accepted()) + "\n";
  out += "# HELP doppel_ingest_rejected_total Readings or messages refused, by reason.\n"
         "# TYPE doppel_ingest_rejected_total counter\n";
  for (std::size_t r = 0; r < ingest::kRejectReasonCount; ++r) {
    auto reason = static_cast<ingest::RejectReason>(r);
    out += "doppel_ingest_rejected_total{reason=\"" + std::string(ingest::RejectReasonName(reason)) + "\"} " +
           std::to_string(ingestor.rejected(reason)) + "\n";
  }
}

void RenderHistoryMetrics(const tsdb::SeriesStore& store, std::size_t max_series, std::string& out) {
  tsdb::StoreStats total = store.TotalStats();
  AppendGauge(out, "doppel_history_series", "Series in history.", static_cast<double>(total.series));
  AppendGauge(out, "doppel_history_points", "Points in history (late rewrites count twice until compacted).",
              static_cast<double>(total.points));
  AppendGauge(out, "doppel_history_chunks", "Sealed chunks in history.", static_cast<double>(total.chunks));
  AppendGauge(out, "doppel_history_encoded_bytes", "Encoded bytes of history's chunks and log.",
              static_cast<double>(total.disk_bytes));
  AppendGauge(out, "doppel_history_sst_bytes", "Bytes of history's table files on disk.",
              static_cast<double>(total.sst_bytes));
  if (total.series > max_series) return;
  std::vector<tsdb::SeriesInfo> series = store.ListSeries();
  std::map<tsdb::SeriesId, const tsdb::SeriesInfo*> info;
  for (const tsdb::SeriesInfo& s : series) info[s.id] = &s;
  std::string points, bytes;
  for (const auto& [id, stats] : store.AllStats()) {
    auto it = info.find(id);
    if (it == info.end()) continue;  // created after ListSeries: next scrape
    std::string labels = "{twin=\"" + EscapeLabelValue(it->second->spec.twin_id) + "\",path=\"" +
                         EscapeLabelValue(it->second->spec.path) + "\"} ";
    points += "doppel_history_series_points" + labels + std::to_string(stats.points) + "\n";
    bytes += "doppel_history_series_bytes" + labels + std::to_string(stats.disk_bytes) + "\n";
  }
  out += "# HELP doppel_history_series_points Points held per series.\n"
         "# TYPE doppel_history_series_points gauge\n" + points;
  out += "# HELP doppel_history_series_bytes Encoded bytes per series (chunks and log).\n"
         "# TYPE doppel_history_series_bytes gauge\n" + bytes;
}

Result<HttpResponse> Healthz(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  json::object body;
  body["status"] = "ok";
  body["version"] = "0.1.0";
  const bool dev = internal::DevMode(ctx);
  body["auth"] = dev ? json::object{{"mode", "dev"},
                                    {"warning", "authentication is off (loopback only, no credentials "
                                                "configured): every caller is an administrator"}}
                     : json::object{{"mode", "enforced"}};
  // Probes need no token; the inventory below is for callers who may read it.
  if (!dev && !(match.auth.authenticated && internal::Authorize(ctx, match.auth, auth::Action::kRead, {}).ok())) {
    return HttpResponse::Json(200, body);
  }
  body["uptimeSeconds"] = Seconds(ctx.clock.Now() - ctx.started);
  body["models"] = ctx.graph.model_count();
  body["twins"] = ctx.graph.twin_count();
  body["relationships"] = ctx.graph.Read([](const twin::GraphState& s) { return s.relationship_count(); });
  body["eventSequence"] = ctx.graph.last_event_seq();
  if (ctx.services.history != nullptr) {
    tsdb::StoreStats history = ctx.services.history->TotalStats();
    body["history"] = json::object{{"series", history.series}, {"points", history.points}};
  }
  if (ctx.services.connectors) {
    json::array connectors;
    for (const json::value& c : ctx.services.connectors()) {
      const json::object& o = c.as_object();
      connectors.push_back(json::object{{"name", o.at("name")}, {"connected", o.at("connected")}});
    }
    body["connectors"] = std::move(connectors);
  }
  return HttpResponse::Json(200, body);
}

Result<HttpResponse> Metrics(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  std::string out;
  ctx.metrics.Render(out);
  auto relationships = ctx.graph.Read([](const twin::GraphState& s) { return s.relationship_count(); });
  AppendGauge(out, "doppel_twins", "Digital twins in the graph.", static_cast<double>(ctx.graph.twin_count()));
  AppendGauge(out, "doppel_models", "Models (DTDL interfaces) known.", static_cast<double>(ctx.graph.model_count()));
  AppendGauge(out, "doppel_relationships", "Relationships in the graph.", static_cast<double>(relationships));
  AppendGauge(out, "doppel_event_sequence", "Sequence number of the last graph event.",
              static_cast<double>(ctx.graph.last_event_seq()));
  AppendGauge(out, "doppel_uptime_seconds", "Seconds since the API started.", Seconds(ctx.clock.Now() - ctx.started));
  if (ctx.services.ingestor != nullptr) RenderIngestMetrics(*ctx.services.ingestor, out);
  if (ctx.services.history != nullptr) RenderHistoryMetrics(*ctx.services.history, ctx.options.max_series_metrics, out);
  for (const auto& render : ctx.services.metrics) render(out);
  return HttpResponse::Text(200, std::move(out), "text/plain; version=0.0.4; charset=utf-8");
}

Result<HttpResponse> OpenApi(ApiContext&, const HttpRequest&, const RouteMatch&) {
  return HttpResponse::Text(200, std::string(OpenApiDocument()), "application/json; charset=utf-8");
}

}  // namespace

struct DigitalTwinsApi::State {
  State(twin::TwinGraph& graph, const Clock& clock, ApiOptions options, ApiServices services)
      : ctx{graph, clock, options, services, clock.Now(), {}} {}
  ApiContext ctx;
  Router router;
};

DigitalTwinsApi::DigitalTwinsApi(twin::TwinGraph& graph, const Clock& clock, ApiOptions options,
                                 ApiServices services)
    : state_(std::make_unique<State>(graph, clock, options, services)) {
  for (const RouteSpec& spec : kRoutes) {
    Handler handler = spec.handler;
    ApiContext* ctx = &state_->ctx;
    Status added = state_->router.Add(spec.method, spec.pattern,
                                      [ctx, handler](const HttpRequest& request, const RouteMatch& match) {
                                        return handler(*ctx, request, match);
                                      });
    DOPPEL_CHECK(added.ok());
  }
}

DigitalTwinsApi::~DigitalTwinsApi() = default;

const Router& DigitalTwinsApi::router() const { return state_->router; }
const HttpMetrics& DigitalTwinsApi::metrics() const { return state_->ctx.metrics; }

Result<HttpResponse> DigitalTwinsApi::Dispatch(const HttpRequest& request, RouteMatch& match) {
  // The dashboard's assets are public and not API routes (static_handlers.h).
  if (auto asset = internal::ServeStatic(state_->ctx.services.web_root, request)) return std::move(*asset);
  DOPPEL_ASSIGN_OR_RETURN(match, state_->router.Match(request.method, request.RawPath()));
  const RouteSpec& spec = SpecOf(*match.route);
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.RawQuery()));
  ApiContext& ctx = state_->ctx;
  if (spec.scope == Scope::kPublic) {
    // A token is optional here; a valid one shows more (/healthz details).
    if (auto caller = internal::Authenticate(ctx, request, query); caller.ok()) match.auth = std::move(*caller);
  } else {
    DOPPEL_ASSIGN_OR_RETURN(match.auth, internal::Authenticate(ctx, request, query));
    if (match.auth.authenticated && !ctx.rate_limiter.Admit(match.auth.principal.subject, ctx.clock.Now())) {
      return Status::ResourceExhausted("'" + match.auth.principal.subject + "' is over its limit of " +
                                       fmt::format("{:g}", ctx.options.requests_per_second_per_caller) +
                                       " requests per second; retry later", "TooManyRequests");
    }
    switch (spec.scope) {
      case Scope::kServer:
        DOPPEL_RETURN_IF_ERROR(internal::Authorize(ctx, match.auth, spec.action, {}));
        break;
      case Scope::kTwin:
        DOPPEL_RETURN_IF_ERROR(internal::Authorize(ctx, match.auth, spec.action, {.twin_id = match.params.Get("id")}));
        if (spec.action == auth::Action::kRead) internal::PrepareFilter(ctx, match.auth);  // its relationships' ends
        break;
      case Scope::kFiltered:
        internal::PrepareFilter(ctx, match.auth);
        break;
      case Scope::kPublic:
      case Scope::kAuthenticated:
        break;
    }
  }
  if (spec.adt) DOPPEL_RETURN_IF_ERROR(CheckApiVersion(query));
  return match.route->handler(request, match);
}

HttpResponse DigitalTwinsApi::Handle(const HttpRequest& request) {
  auto start = std::chrono::steady_clock::now();
  RouteMatch match;
  HttpResponse response;
  try {
    Result<HttpResponse> result = Dispatch(request, match);
    if (result.ok()) {
      response = std::move(result).value();
    } else {
      response = HttpResponse::Error(result.status());
      if (result.status().code() == StatusCode::kMethodNotAllowed) {
        std::string allow;
        for (const auto& m : state_->router.AllowedMethods(request.RawPath())) allow += (allow.empty() ? "" : ", ") + m;
        response.SetHeader("Allow", allow);
      } else if (result.status().code() == StatusCode::kUnauthenticated) {
        response.SetHeader("WWW-Authenticate", "Bearer realm=\"doppel\"");
      } else if (result.status().code() == StatusCode::kResourceExhausted) {
        response.SetHeader("Retry-After", std::to_string(state_->ctx.rate_limiter.RetryAfterSeconds()));
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("{} {} failed with an exception: {}", request.method, request.target, e.what());
    response = HttpResponse::Error(Status::Internal(std::string("internal error: ") + e.what()));
  }
  if (response.status >= 500) {
    spdlog::warn("{} {} → {}: {}", request.method, request.target, response.status, response.body);
  }
  std::string_view route = match.route != nullptr ? std::string_view(match.route->pattern) : "unmatched";
  const char* audit_action = match.route != nullptr ? SpecOf(*match.route).audit : nullptr;
  internal::AuditRequest(state_->ctx, request, match, audit_action, response);
  double seconds = Seconds(std::chrono::steady_clock::now() - start);
  state_->ctx.metrics.Record(MethodLabel(request.method), route, response.status, seconds);
  spdlog::debug("{} {} → {} in {:.3f} ms", request.method, request.target, response.status, seconds * 1e3);
  return response;
}

}  // namespace doppel::server
