// /analytics and a twin's analytics (docs/analytics.md). Thin: analytics::AnalyticsService does
// the work. A twin's anomaly scores are made from its signals: a detector reading a value the
// caller's clearances hide is left out of what the caller sees.
#include "server/internal/analytics_handlers.h"

#include <fmt/format.h>

#include "analytics/analytics_service.h"
#include "server/internal/access.h"

namespace doppel::server::internal {
namespace {

constexpr std::size_t kDefaultAnomalies = 100;
constexpr std::size_t kMaxAnomalies = 10'000;
constexpr int64_t kDefaultKpiWindowNs = int64_t{8} * 3600 * 1'000'000'000;

Result<analytics::AnalyticsService*> AnalyticsOf(const ApiContext& ctx) {
  if (ctx.services.analytics == nullptr) return Status::Unavailable("analytics is not enabled on this server");
  return ctx.services.analytics;
}

HttpResponse Put(const std::pair<bool, json::object>& put) { return HttpResponse::Json(put.first ? 201 : 200, put.second); }

int64_t Nanos(TimePoint t) { return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count(); }

// An RFC 3339 query parameter as ns since the epoch, or `fallback` when absent.
Result<int64_t> TimeParam(const QueryParams& query, std::string_view name, int64_t fallback) {
  const std::string* text = query.Find(name);
  if (text == nullptr || text->empty()) return fallback;
  auto t = ParseRfc3339(*text);
  if (!t.ok()) {
    return Status::InvalidArgument(
        fmt::format("'{}' must be an RFC 3339 time such as 2026-01-31T08:00:00Z, got '{}'", name, *text));
  }
  return Nanos(*t);
}

std::string ModelOf(const ApiContext& ctx, std::string_view twin_id) {
  return ctx.graph.Read([&](const twin::GraphState& g) {
    const twin::Twin* t = g.FindTwin(twin_id);
    return t == nullptr ? std::string() : t->model_id;
  });
}

// True when the caller's clearances hide one of the signals (a JSON array of paths).
bool HidesAny(const twin::FieldMask& mask, std::string_view model_id, const json::value* signals) {
  if (!mask || signals == nullptr || !signals->is_array()) return false;
  for (const json::value& s : signals->get_array()) {
    if (s.is_string() && !mask.Hides(model_id, s.get_string()).empty()) return true;
  }
  return false;
}

}  // namespace

// ---- detectors ----

Result<HttpResponse> ListAnalyticsDetectors(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  return HttpResponse::Json(200, json::object{{"value", service->Detectors()}});
}

Result<HttpResponse> GetAnalyticsDetector(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::object detector, service->FindDetector(match.params.Get("name")));
  return HttpResponse::Json(200, detector);
}

Result<HttpResponse> PutAnalyticsDetector(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseBody(ctx, request, "a detector object"));
  DOPPEL_ASSIGN_OR_RETURN(auto put, service->PutDetector(match.params.Get("name"), body));
  return Put(put);
}

Result<HttpResponse> DeleteAnalyticsDetector(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_RETURN_IF_ERROR(service->DeleteDetector(match.params.Get("name")));
  return HttpResponse::NoContent();
}

// GET /analytics/anomalies?twin=&since=&limit= : newest first, only twins the caller may read.
Result<HttpResponse> ListAnomalies(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(int64_t since, TimeParam(query, "since", std::numeric_limits<int64_t>::min()));
  DOPPEL_ASSIGN_OR_RETURN(std::size_t limit, LimitParam(query, kDefaultAnomalies, kMaxAnomalies));
  const std::string* twin = query.Find("twin");
  const std::string twin_id = twin == nullptr ? std::string() : *twin;
  const bool filtered = static_cast<bool>(match.auth.visible) || static_cast<bool>(match.auth.masked);
  // Filtered callers: ask for more and drop what they may not see (events of hidden twins).
  json::array events = service->Anomalies(twin_id, since, filtered ? kMaxAnomalies : limit);
  json::array out;
  for (json::value& e : events) {
    if (out.size() >= limit) break;
    if (filtered) {
      const std::string id(e.at("twinId").as_string());
      const std::string model = ModelOf(ctx, id);
      if (!Visible(match.auth, id, model)) continue;
      const json::value* signal = e.at("evidence").as_object().if_contains("signal");
      if (signal != nullptr && signal->is_string() && !match.auth.masked.Hides(model, signal->get_string()).empty()) {
        continue;
      }
    }
    out.push_back(std::move(e));
  }
  return HttpResponse::Json(200, json::object{{"value", std::move(out)}});
}

// ---- RUL ----

Result<HttpResponse> ListRulModels(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  return HttpResponse::Json(200, json::object{{"value", service->RulModels()}});
}

Result<HttpResponse> GetRulModel(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::object model, service->FindRulModel(match.params.Get("name")));
  return HttpResponse::Json(200, model);
}

Result<HttpResponse> PutRulModel(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseBody(ctx, request, "a RUL model object"));
  DOPPEL_ASSIGN_OR_RETURN(auto put, service->PutRulModel(match.params.Get("name"), body));
  return Put(put);
}

Result<HttpResponse> DeleteRulModel(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_RETURN_IF_ERROR(service->DeleteRulModel(match.params.Get("name")));
  return HttpResponse::NoContent();
}

Result<HttpResponse> TrainRulModel(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::object model, service->Train(match.params.Get("name")));
  return HttpResponse::Json(202, model);
}

// ---- KPI definitions ----

Result<HttpResponse> ListKpiDefinitions(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  return HttpResponse::Json(200, json::object{{"value", service->KpiDefinitions()}});
}

Result<HttpResponse> GetKpiDefinition(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::object kpi, service->FindKpi(match.params.Get("name")));
  return HttpResponse::Json(200, kpi);
}

Result<HttpResponse> PutKpiDefinition(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseBody(ctx, request, "a KPI definition object"));
  DOPPEL_ASSIGN_OR_RETURN(auto put, service->PutKpi(match.params.Get("name"), body));
  return Put(put);
}

Result<HttpResponse> DeleteKpiDefinition(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_RETURN_IF_ERROR(service->DeleteKpi(match.params.Get("name")));
  return HttpResponse::NoContent();
}

// ---- one twin ----

// GET /digitaltwins/{id}/analytics: as of every reading stored before the request (the
// service is flushed first, so a client that just wrote sees its readings' effect).
Result<HttpResponse> GetTwinAnalytics(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  const std::string_view twin_id = match.params.Get("id");
  service->Flush();
  DOPPEL_ASSIGN_OR_RETURN(json::object out, service->TwinAnalytics(twin_id));
  if (match.auth.masked) {
    if (json::value* anomaly = out.if_contains("anomaly"); anomaly != nullptr && anomaly->is_object()) {
      const std::string model = ModelOf(ctx, twin_id);
      std::vector<std::string> hidden;
      for (const auto& [name, entry] : anomaly->get_object()) {
        if (entry.is_object() && HidesAny(match.auth.masked, model, entry.get_object().if_contains("signals"))) {
          hidden.emplace_back(name);
        }
      }
      for (const auto& name : hidden) anomaly->get_object().erase(name);
    }
  }
  return HttpResponse::Json(200, out);
}

// GET /digitaltwins/{id}/kpis?from=&to= (RFC 3339; default: the last 8 hours).
Result<HttpResponse> GetTwinKpis(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(analytics::AnalyticsService * service, AnalyticsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  const int64_t now = Nanos(ctx.clock.Now());
  DOPPEL_ASSIGN_OR_RETURN(int64_t to, TimeParam(query, "to", now));
  DOPPEL_ASSIGN_OR_RETURN(int64_t from, TimeParam(query, "from", to - kDefaultKpiWindowNs));
  DOPPEL_ASSIGN_OR_RETURN(json::object kpis, service->TwinKpis(match.params.Get("id"), from, to));
  return HttpResponse::Json(200, kpis);
}

}  // namespace doppel::server::internal
