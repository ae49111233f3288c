// analytics_handlers.cc — /analytics (detectors, anomaly events, RUL models and training, KPI
// definitions) and a twin's analytics and KPIs (docs/analytics.md). Registered in api.cc.
#pragma once

#include "server/internal/api_common.h"

namespace doppel::server::internal {

Result<HttpResponse> ListAnalyticsDetectors(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetAnalyticsDetector(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> PutAnalyticsDetector(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> DeleteAnalyticsDetector(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListAnomalies(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListRulModels(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetRulModel(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> PutRulModel(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> DeleteRulModel(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> TrainRulModel(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListKpiDefinitions(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetKpiDefinition(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> PutKpiDefinition(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> DeleteKpiDefinition(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetTwinAnalytics(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetTwinKpis(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

}  // namespace doppel::server::internal
