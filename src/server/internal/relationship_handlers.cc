#include <fmt/format.h>

#include "query/query.h"
#include "server/internal/access.h"
#include "server/internal/handlers.h"

namespace doppel::server::internal {
namespace {

std::string StringMember(const json::value& v, std::string_view name) {
  const json::value* m = v.is_object() ? v.get_object().if_contains(name) : nullptr;
  return m != nullptr && m->is_string() ? std::string(m->get_string()) : std::string();
}

std::string RelationshipKey(const json::value& rel) { return StringMember(rel, "$relationshipId"); }

// Incoming relationships are unique per (source id, relationship id). Joined with NUL, which
// no id can contain (ids arrive in URL paths, where PercentDecode refuses %00).
std::string IncomingKey(const json::value& rel) {
  return StringMember(rel, "$sourceId") + std::string(1, '\0') + StringMember(rel, "$relationshipId");
}

// Drops relationships whose other end (`end_member`: "$targetId" or "$sourceId") the caller
// may not read: a list must not reveal an invisible twin's id.
void KeepVisible(const RequestAuth& caller, std::string_view end_member, json::array& rels) {
  if (!caller.visible) return;
  json::array kept;
  for (json::value& rel : rels) {
    const json::value* end = rel.as_object().if_contains(end_member);
    if (end != nullptr && end->is_string() && Visible(caller, end->get_string())) kept.push_back(std::move(rel));
  }
  rels = std::move(kept);
}

}  // namespace

Result<HttpResponse> PutRelationship(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "a relationship"));
  DOPPEL_ASSIGN_OR_RETURN(json::object rel,
                          ctx.graph.PutRelationship(match.params.Get("id"), match.params.Get("relationshipId"),
                                                    body, PreconditionsOf(request)));
  return JsonWithEtag(rel);
}

Result<HttpResponse> GetRelationship(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::object rel,
                          ctx.graph.GetRelationship(match.params.Get("id"), match.params.Get("relationshipId")));
  return JsonWithEtag(rel);
}

Result<HttpResponse> PatchRelationship(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::value patch, ParsePatchBody(ctx, request));
  DOPPEL_ASSIGN_OR_RETURN(json::object rel,
                          ctx.graph.PatchRelationship(match.params.Get("id"), match.params.Get("relationshipId"),
                                                      patch, PreconditionsOf(request)));
  HttpResponse res = HttpResponse::NoContent();
  if (std::string etag = EtagOf(rel); !etag.empty()) res.SetHeader("ETag", etag);
  return res;
}

Result<HttpResponse> DeleteRelationship(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_RETURN_IF_ERROR(ctx.graph.DeleteRelationship(match.params.Get("id"), match.params.Get("relationshipId"),
                                                      PreconditionsOf(request)));
  return HttpResponse::NoContent();
}

Result<HttpResponse> ListRelationships(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  const std::string* name = query.Find("relationshipName");
  DOPPEL_ASSIGN_OR_RETURN(json::array rels,
                          ctx.graph.ListRelationships(match.params.Get("id"), name ? *name : std::string()));
  KeepVisible(match.auth, "$targetId", rels);
  return Paged(ctx, request, std::move(rels), RelationshipKey);
}

Result<HttpResponse> ListIncomingRelationships(ApiContext& ctx, const HttpRequest& request,
                                               const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::array rels, ctx.graph.ListIncomingRelationships(match.params.Get("id")));
  KeepVisible(match.auth, "$sourceId", rels);
  return Paged(ctx, request, std::move(rels), IncomingKey);
}

Result<HttpResponse> Query(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "the query specification"));
  const json::object& spec = body.get_object();
  query::QueryOptions options;
  options.visible = match.auth.visible;
  options.masked = match.auth.masked;
  DOPPEL_ASSIGN_OR_RETURN(options.page_size, PageSize(ctx, request));
  std::string text;
  for (std::string_view field : {"query", "continuationToken"}) {
    const json::value* v = spec.if_contains(field);
    if (v == nullptr || v->is_null()) continue;
    if (!v->is_string()) {
      return Status::InvalidArgument(fmt::format("'{}' must be a string, got {}", field, JsonTypeName(*v)),
                                     "BadRequest");
    }
    (field == "query" ? text : options.continuation_token) = std::string(v->get_string());
  }
  if (text.empty() && options.continuation_token.empty()) {
    return Status::InvalidArgument("the query specification needs a 'query' or a 'continuationToken'",
                                   "BadRequest");
  }
  DOPPEL_ASSIGN_OR_RETURN(query::QueryPage page, query::Execute(ctx.graph, text, options));
  json::object result;
  result["value"] = std::move(page.value);
  result["continuationToken"] =
      page.continuation_token.empty() ? json::value(nullptr) : json::value(page.continuation_token);
  return HttpResponse::Json(200, result);
}

}  // namespace doppel::server::internal
