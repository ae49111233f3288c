#include "server/internal/access.h"
#include "server/internal/handlers.h"
#include "twin/field_mask.h"

namespace doppel::server::internal {
namespace {

// A component document carries no $etag of its own: its ETag is its twin's.
std::string TwinEtag(const twin::TwinGraph& graph, std::string_view id) {
  return graph.Read([&](const twin::GraphState& state) {
    const twin::Twin* t = state.FindTwin(id);
    return t == nullptr ? std::string() : EtagOf(t->doc);
  });
}

// The twin's model, or "" for an unknown twin.
std::string TwinModel(const twin::TwinGraph& graph, std::string_view id) {
  return graph.Read([&](const twin::GraphState& state) {
    const twin::Twin* t = state.FindTwin(id);
    return t == nullptr ? std::string() : t->model_id;
  });
}

HttpResponse NoContentWithEtag(std::string etag) {
  HttpResponse res = HttpResponse::NoContent();
  if (!etag.empty()) res.SetHeader("ETag", std::move(etag));
  return res;
}

}  // namespace

Result<HttpResponse> PutTwin(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "a digital twin"));
  // Writing needs no clearance, but the answer is a read: the stored twin, masked like a GET.
  const twin::FieldMask mask = FieldMaskFor(ctx, match.auth);
  DOPPEL_ASSIGN_OR_RETURN(json::object twin,
                          ctx.graph.PutTwin(match.params.Get("id"), body, PreconditionsOf(request)));
  twin::MaskTwinDocument(twin, mask);
  return JsonWithEtag(twin);
}

Result<HttpResponse> GetTwin(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::object twin, ctx.graph.GetTwin(match.params.Get("id")));
  twin::MaskTwinDocument(twin, match.auth.masked);
  return JsonWithEtag(twin);
}

Result<HttpResponse> PatchTwin(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::value patch, ParsePatchBody(ctx, request));
  DOPPEL_ASSIGN_OR_RETURN(json::object twin,
                          ctx.graph.PatchTwin(match.params.Get("id"), patch, PreconditionsOf(request)));
  return NoContentWithEtag(EtagOf(twin));
}

Result<HttpResponse> DeleteTwin(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_RETURN_IF_ERROR(ctx.graph.DeleteTwin(match.params.Get("id"), PreconditionsOf(request)));
  return HttpResponse::NoContent();
}

Result<HttpResponse> GetComponent(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  std::string_view id = match.params.Get("id");
  std::string_view name = match.params.Get("componentPath");
  DOPPEL_ASSIGN_OR_RETURN(json::object component, ctx.graph.GetComponent(id, name));
  if (match.auth.masked)
    twin::MaskComponentDocument(component, TwinModel(ctx.graph, id), name, match.auth.masked);
  HttpResponse res = HttpResponse::Json(200, component);
  std::string etag = EtagOf(component);
  if (etag.empty()) etag = TwinEtag(ctx.graph, id);
  if (!etag.empty()) res.SetHeader("ETag", etag);
  return res;
}

Result<HttpResponse> PatchComponent(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  std::string_view id = match.params.Get("id");
  DOPPEL_ASSIGN_OR_RETURN(json::value patch, ParsePatchBody(ctx, request));
  DOPPEL_ASSIGN_OR_RETURN(json::object doc, ctx.graph.PatchComponent(id, match.params.Get("componentPath"), patch,
                                                                     PreconditionsOf(request)));
  std::string etag = EtagOf(doc);
  return NoContentWithEtag(etag.empty() ? TwinEtag(ctx.graph, id) : etag);
}

}  // namespace doppel::server::internal
