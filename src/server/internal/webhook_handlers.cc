#include "server/internal/webhook_handlers.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "client/webhook_sender.h"

namespace doppel::server::internal {
namespace {

constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

Result<client::WebhookSender*> WebhooksOf(const ApiContext& ctx) {
  if (ctx.services.webhooks == nullptr)
    return Status::Unavailable("webhooks are not enabled on this server");
  return ctx.services.webhooks;
}

// The `limit` query parameter: a positive integer, at most kMaxLimit (larger ones are cut).
Result<std::size_t> LimitOf(const HttpRequest& request) {
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  return LimitParam(query, kDefaultLimit, kMaxLimit);
}

}  // namespace

Result<HttpResponse> ListWebhookDeliveries(ApiContext& ctx, const HttpRequest& request,
                                           const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(client::WebhookSender * webhooks, WebhooksOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(std::size_t limit, LimitOf(request));
  json::array value;
  for (const client::Delivery& delivery : webhooks->List(limit))
    value.push_back(client::DeliveryJson(delivery));
  return HttpResponse::Json(200, json::object{{"value", std::move(value)}});
}

Result<HttpResponse> GetWebhookDelivery(ApiContext& ctx, const HttpRequest&,
                                        const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(client::WebhookSender * webhooks, WebhooksOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(client::Delivery delivery, webhooks->Get(match.params.Get("deliveryId")));
  return HttpResponse::Json(200, client::DeliveryJson(delivery));
}

}  // namespace doppel::server::internal
