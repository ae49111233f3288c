// POST /digitaltwins/{id}/erase: the right to erasure (docs/security.md, "Erasing a twin").
// The route needs the admin action on the twin, and the API writes the audit record
// ("twin.erase", naming the twin) from the route table, as for every change.
#include "server/internal/handlers.h"

namespace doppel::server::internal {

Result<HttpResponse> EraseTwin(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  if (!ctx.services.erase_twin) return Status::Unavailable("erasure is not enabled on this server");
  DOPPEL_ASSIGN_OR_RETURN(json::object erased, ctx.services.erase_twin(match.params.Get("id")));
  return HttpResponse::Json(200, erased);
}

}  // namespace doppel::server::internal
