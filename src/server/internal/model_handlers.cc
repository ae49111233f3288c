#include <vector>

#include "server/internal/handlers.h"

namespace doppel::server::internal {
namespace {

std::string ModelKey(const json::value& model) {
  const json::value* id = model.is_object() ? model.get_object().if_contains("id") : nullptr;
  return id != nullptr && id->is_string() ? std::string(id->get_string()) : std::string();
}

}  // namespace

Result<HttpResponse> AddModels(ApiContext& ctx, const HttpRequest& request, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseBody(ctx, request, "a JSON array of DTDL models"));
  if (!body.is_array()) {
    return Status::InvalidArgument("POST /models takes a JSON array of DTDL interfaces, got " +
                                       std::string(JsonTypeName(body)),
                                   "InvalidArgument");
  }
  json::array& models = body.get_array();
  if (models.empty()) return Status::InvalidArgument("the array of models is empty", "InvalidArgument");
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (!models[i].is_object()) {
      return Status::InvalidArgument("models[" + std::to_string(i) + "] must be a JSON object, got " +
                                         std::string(JsonTypeName(models[i])),
                                     "InvalidArgument");
    }
  }
  std::vector<json::value> documents(std::make_move_iterator(models.begin()), std::make_move_iterator(models.end()));
  DOPPEL_ASSIGN_OR_RETURN(json::array added, ctx.graph.AddModels(documents));
  return HttpResponse::Json(201, added);
}

Result<HttpResponse> ListModels(ApiContext& ctx, const HttpRequest& request, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  twin::ModelListOptions options;
  options.dependencies_for = query.All("dependenciesFor");
  DOPPEL_ASSIGN_OR_RETURN(options.include_model_definition, BoolParam(query, "includeModelDefinition", false));
  DOPPEL_ASSIGN_OR_RETURN(json::array models, ctx.graph.ListModels(options));
  return Paged(ctx, request, std::move(models), ModelKey);
}

Result<HttpResponse> GetModel(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(bool include, BoolParam(query, "includeModelDefinition", false));
  DOPPEL_ASSIGN_OR_RETURN(json::object model, ctx.graph.GetModel(match.params.Get("id"), include));
  return HttpResponse::Json(200, model);
}

Result<HttpResponse> PatchModel(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::value patch, ParsePatchBody(ctx, request));
  DOPPEL_RETURN_IF_ERROR(ctx.graph.PatchModel(match.params.Get("id"), patch));
  return HttpResponse::NoContent();
}

Result<HttpResponse> DeleteModel(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_RETURN_IF_ERROR(ctx.graph.DeleteModel(match.params.Get("id")));
  return HttpResponse::NoContent();
}

}  // namespace doppel::server::internal
