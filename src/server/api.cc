#include "server/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "server/internal/api_common.h"
#include "server/internal/handlers.h"

namespace doppel::server {
namespace {

using internal::ApiContext;
using internal::Handler;

struct RouteSpec {
  const char* method;
  const char* pattern;
  Handler handler;
  bool adt;  // part of the ADT contract: api-version is checked
};

Result<HttpResponse> Healthz(ApiContext& ctx, const HttpRequest&, const RouteMatch&);
Result<HttpResponse> Metrics(ApiContext& ctx, const HttpRequest&, const RouteMatch&);
Result<HttpResponse> OpenApi(ApiContext& ctx, const HttpRequest&, const RouteMatch&);

// The one route table. Every entry is documented in openapi.json (a test holds them equal).
constexpr RouteSpec kRoutes[] = {
    {"POST", "/models", internal::AddModels, true},
    {"GET", "/models", internal::ListModels, true},
    {"GET", "/models/{id}", internal::GetModel, true},
    {"PATCH", "/models/{id}", internal::PatchModel, true},
    {"DELETE", "/models/{id}", internal::DeleteModel, true},
    {"PUT", "/digitaltwins/{id}", internal::PutTwin, true},
    {"GET", "/digitaltwins/{id}", internal::GetTwin, true},
    {"PATCH", "/digitaltwins/{id}", internal::PatchTwin, true},
    {"DELETE", "/digitaltwins/{id}", internal::DeleteTwin, true},
    {"GET", "/digitaltwins/{id}/components/{componentPath}", internal::GetComponent, true},
    {"PATCH", "/digitaltwins/{id}/components/{componentPath}", internal::PatchComponent, true},
    {"PUT", "/digitaltwins/{id}/relationships/{relationshipId}", internal::PutRelationship, true},
    {"GET", "/digitaltwins/{id}/relationships/{relationshipId}", internal::GetRelationship, true},
    {"PATCH", "/digitaltwins/{id}/relationships/{relationshipId}", internal::PatchRelationship, true},
    {"DELETE", "/digitaltwins/{id}/relationships/{relationshipId}", internal::DeleteRelationship, true},
    {"GET", "/digitaltwins/{id}/relationships", internal::ListRelationships, true},
    {"GET", "/digitaltwins/{id}/incomingrelationships", internal::ListIncomingRelationships, true},
    {"POST", "/query", internal::Query, true},
    {"GET", "/healthz", Healthz, false},
    {"GET", "/metrics", Metrics, false},
    {"GET", "/openapi.json", OpenApi, false},
};

bool IsAdtRoute(std::string_view pattern) {
  return std::any_of(std::begin(kRoutes), std::end(kRoutes),
                     [&](const RouteSpec& r) { return r.pattern == pattern && r.adt; });
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

Result<HttpResponse> Healthz(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  json::object body;
  body["status"] = "ok";
  body["version"] = "0.1.0";
  body["uptimeSeconds"] = Seconds(ctx.clock.Now() - ctx.started);
  body["models"] = ctx.graph.model_count();
  body["twins"] = ctx.graph.twin_count();
  body["relationships"] = ctx.graph.Read([](const twin::GraphState& s) { return s.relationship_count(); });
  body["eventSequence"] = ctx.graph.last_event_seq();
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
  return HttpResponse::Text(200, std::move(out), "text/plain; version=0.0.4; charset=utf-8");
}

Result<HttpResponse> OpenApi(ApiContext&, const HttpRequest&, const RouteMatch&) {
  return HttpResponse::Text(200, std::string(OpenApiDocument()), "application/json; charset=utf-8");
}

}  // namespace

struct DigitalTwinsApi::State {
  State(twin::TwinGraph& graph, const Clock& clock, ApiOptions options)
      : ctx{graph, clock, options, clock.Now(), {}} {}
  ApiContext ctx;
  Router router;
};

DigitalTwinsApi::DigitalTwinsApi(twin::TwinGraph& graph, const Clock& clock, ApiOptions options)
    : state_(std::make_unique<State>(graph, clock, options)) {
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

Result<HttpResponse> DigitalTwinsApi::Dispatch(const HttpRequest& request, std::string_view& route) {
  DOPPEL_ASSIGN_OR_RETURN(RouteMatch match, state_->router.Match(request.method, request.RawPath()));
  route = match.route->pattern;
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryParams::Parse(request.RawQuery()));
  if (IsAdtRoute(route)) DOPPEL_RETURN_IF_ERROR(CheckApiVersion(query));
  return match.route->handler(request, match);
}

HttpResponse DigitalTwinsApi::Handle(const HttpRequest& request) {
  auto start = std::chrono::steady_clock::now();
  std::string_view route = "unmatched";
  HttpResponse response;
  try {
    Result<HttpResponse> result = Dispatch(request, route);
    if (result.ok()) {
      response = std::move(result).value();
    } else {
      response = HttpResponse::Error(result.status());
      if (result.status().code() == StatusCode::kMethodNotAllowed) {
        std::string allow;
        for (const auto& m : state_->router.AllowedMethods(request.RawPath())) allow += (allow.empty() ? "" : ", ") + m;
        response.SetHeader("Allow", allow);
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("{} {} failed with an exception: {}", request.method, request.target, e.what());
    response = HttpResponse::Error(Status::Internal(std::string("internal error: ") + e.what()));
  }
  if (response.status >= 500) {
    spdlog::warn("{} {} → {}: {}", request.method, request.target, response.status, response.body);
  }
  double seconds = Seconds(std::chrono::steady_clock::now() - start);
  state_->ctx.metrics.Record(MethodLabel(request.method), route, response.status, seconds);
  spdlog::debug("{} {} → {} in {:.3f} ms", request.method, request.target, response.status, seconds * 1e3);
  return response;
}

}  // namespace doppel::server
