// /rules, /automation (the safety envelope and the action log), /recommendations and a twin's
// envelope (docs/automation.md). Thin: automation::AutomationService does the work.
// Registered in api.cc.
#pragma once

#include "server/internal/api_common.h"

namespace doppel::server::internal {

Result<HttpResponse> ListRules(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetRule(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> PutRule(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> DeleteRule(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListRuleInstances(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetEnvelope(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> PutEnvelope(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetTwinEnvelope(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListAutomationActions(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ListRecommendations(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetRecommendation(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ApproveRecommendation(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> RejectRecommendation(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

}  // namespace doppel::server::internal
