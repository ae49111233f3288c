// maintenance_handlers.cc — /workorders, /maintenance/history and /production/orders
// (docs/work-orders.md). Thin: maintenance::WorkOrderService does the work. Registered in
// api.cc.
#pragma once

#include "server/internal/api_common.h"

namespace doppel::server::internal {

Result<HttpResponse> PostWorkOrder(ApiContext& ctx, const HttpRequest& request,
                                   const RouteMatch& match);
Result<HttpResponse> ListWorkOrders(ApiContext& ctx, const HttpRequest& request,
                                    const RouteMatch& match);
Result<HttpResponse> GetWorkOrder(ApiContext& ctx, const HttpRequest& request,
                                  const RouteMatch& match);
Result<HttpResponse> PatchWorkOrder(ApiContext& ctx, const HttpRequest& request,
                                    const RouteMatch& match);
Result<HttpResponse> ImportMaintenanceHistory(ApiContext& ctx, const HttpRequest& request,
                                              const RouteMatch& match);
Result<HttpResponse> ListMaintenanceHistory(ApiContext& ctx, const HttpRequest& request,
                                            const RouteMatch& match);
Result<HttpResponse> ImportProductionOrders(ApiContext& ctx, const HttpRequest& request,
                                            const RouteMatch& match);
Result<HttpResponse> ListProductionOrders(ApiContext& ctx, const HttpRequest& request,
                                          const RouteMatch& match);

}  // namespace doppel::server::internal
