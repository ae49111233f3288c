// /alerts: what needs a person's attention (docs/alerts.md). Thin: alerts::AlertService does the
// work. Every route is Scope::kFiltered: a caller sees only alerts of twins it may read (an
// alert it may not see answers 404 exactly as an unknown one), and changing an alert — raising,
// acknowledging, clearing, commenting — needs writeProperties on the alert's twin.
#pragma once

#include "server/internal/api_common.h"

namespace doppel::server::internal {

Result<HttpResponse> ListAlerts(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> RaiseAlert(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> GetAlert(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> AcknowledgeAlert(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> ClearAlert(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);
Result<HttpResponse> CommentOnAlert(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match);

}  // namespace doppel::server::internal
