// /webhooks/deliveries: what the server has sent to webhook receivers (docs/webhooks.md) — for
// an operator finding out why a CMMS never saw a work order. Thin: client::WebhookSender does
// the work. Both routes are Scope::kServer with Action::kAdmin: a delivery's URL names the
// outside systems the server talks to. Neither ever shows a delivery's body or secret.
#pragma once

#include "server/internal/api_common.h"

namespace doppel::server::internal {

// GET /webhooks/deliveries?limit=N → {"value": [DeliveryJson...]}, newest first; limit
// 1..1000, default 100.
Result<HttpResponse> ListWebhookDeliveries(ApiContext& ctx, const HttpRequest& request,
                                           const RouteMatch& match);
// GET /webhooks/deliveries/{deliveryId} → DeliveryJson; 404 "DeliveryNotFound".
Result<HttpResponse> GetWebhookDelivery(ApiContext& ctx, const HttpRequest& request,
                                        const RouteMatch& match);

}  // namespace doppel::server::internal
