#include <optional>

#include "command/command_service.h"
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

namespace {

// A PATCH through the API is Doppel's own write: its writable properties become desired values
// sent to the device (docs/commands.md). The scope tells the command service that the graph
// events of this thread are not device reports.
Result<json::object> PatchAsDesired(ApiContext& ctx, const RouteMatch& match, std::string_view component,
                                    const json::value& patch, const twin::Preconditions& pre) {
  const std::string_view id = match.params.Get("id");
  if (ctx.services.commands == nullptr) {
    return component.empty() ? ctx.graph.PatchTwin(id, patch, pre) : ctx.graph.PatchComponent(id, component, patch, pre);
  }
  Result<json::object> doc = [&] {
    command::CommandService::DesiredWrite scope;
    return component.empty() ? ctx.graph.PatchTwin(id, patch, pre) : ctx.graph.PatchComponent(id, component, patch, pre);
  }();
  // Writing the twin needs writeProperties (the route's check); sending the value on to the
  // device, like a command, needs invokeCommands too (docs/security.md).
  if (doc.ok()) {
    ctx.services.commands->OnPatched(id, component, patch,
                                     Authorize(ctx, match.auth, auth::Action::kInvokeCommands, {.twin_id = id}));
  }
  return doc;
}

}  // namespace

Result<HttpResponse> GetTwin(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::object twin, ctx.graph.GetTwin(match.params.Get("id")));
  // Desired vs reported of writable properties, in $metadata as ADT shows them.
  if (ctx.services.commands != nullptr) ctx.services.commands->AddDesiredMetadata(match.params.Get("id"), twin);
  twin::MaskTwinDocument(twin, match.auth.masked);
  return JsonWithEtag(twin);
}

Result<HttpResponse> PatchTwin(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::value patch, ParsePatchBody(ctx, request));
  DOPPEL_ASSIGN_OR_RETURN(json::object twin,
                          PatchAsDesired(ctx, match, "", patch, PreconditionsOf(request)));
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
  DOPPEL_ASSIGN_OR_RETURN(json::object doc, PatchAsDesired(ctx, match, match.params.Get("componentPath"), patch,
                                                           PreconditionsOf(request)));
  std::string etag = EtagOf(doc);
  return NoContentWithEtag(etag.empty() ? TwinEtag(ctx.graph, id) : etag);
}

}  // namespace doppel::server::internal
