// /rules, /automation, /recommendations and a twin's envelope (docs/automation.md). Thin:
// automation::AutomationService does the work. What lists twins' data — the action log,
// recommendations, a rule's instances — shows only twins the caller may read, and hides the
// evidence values its clearances do not cover.
#include "server/internal/automation_handlers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "automation/automation_service.h"
#include "server/internal/access.h"

namespace doppel::server::internal {
namespace {

constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 10'000;
constexpr std::string_view kStatuses[] = {"pending", "approved", "rejected", "expired", "executed", "failed"};

Result<automation::AutomationService*> AutomationOf(const ApiContext& ctx) {
  if (ctx.services.automation == nullptr) return Status::Unavailable("automation is not enabled on this server");
  return ctx.services.automation;
}

std::string Param(const QueryParams& query, std::string_view name) {
  const std::string* v = query.Find(name);
  return v == nullptr ? std::string() : *v;
}

std::string ModelOf(const ApiContext& ctx, std::string_view twin_id) {
  return ctx.graph.Read([&](const twin::GraphState& g) {
    const twin::Twin* t = g.FindTwin(twin_id);
    return t == nullptr ? std::string() : t->model_id;
  });
}

bool Filtered(const RequestAuth& auth) { return static_cast<bool>(auth.visible) || static_cast<bool>(auth.masked); }

// The signal an evidence name reads: "vibrationRms" → itself, "avg(hasMainBearing>rul, 1h)"
// → "hasMainBearing>rul", "nacelle.temperature" → "nacelle/temperature".
std::string SignalOfEvidence(std::string_view name) {
  if (std::size_t open = name.find('('); open != std::string_view::npos) {
    name = name.substr(open + 1);
    name = name.substr(0, std::min(name.find(','), name.find(')')));
  }
  std::string out(name);
  std::replace(out.begin(), out.end(), '.', '/');
  return out;
}

// Evidence values the caller's clearances hide become null. A related twin's signal
// ("rel>x") is hidden from any masked caller: its model is not this twin's.
void MaskEvidence(json::value& evidence, const twin::FieldMask& mask, std::string_view model_id) {
  json::value* signals = evidence.is_object() ? evidence.get_object().if_contains("signals") : nullptr;
  if (!mask || signals == nullptr || !signals->is_object()) return;
  for (auto& [name, value] : signals->get_object()) {
    const std::string signal = SignalOfEvidence(name);
    if (signal.find('>') != std::string::npos || !mask.Hides(model_id, signal).empty()) value = nullptr;
  }
}

// Keeps the items (objects with "twinId" and "evidence") the caller may see, up to `limit`.
json::array VisibleItems(const ApiContext& ctx, const RequestAuth& auth, json::array items, std::size_t limit) {
  json::array out;
  for (json::value& item : items) {
    if (out.size() >= limit) break;
    if (Filtered(auth)) {
      const std::string id(item.at("twinId").as_string());
      const std::string model = ModelOf(ctx, id);
      if (!Visible(auth, id, model)) continue;
      if (json::value* evidence = item.get_object().if_contains("evidence")) MaskEvidence(*evidence, auth.masked, model);
    }
    out.push_back(std::move(item));
  }
  return out;
}

// {"comment"} or no body.
Result<std::string> CommentOf(const ApiContext& ctx, const HttpRequest& request) {
  if (request.body.empty()) return std::string();
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "a decision ({\"comment\": \"...\"})"));
  const json::value* comment = body.get_object().if_contains("comment");
  if (comment == nullptr) return std::string();
  if (!comment->is_string()) return Status::InvalidArgument("'comment' must be a string");
  if (comment->get_string().size() > 4'000) return Status::InvalidArgument("'comment' is longer than 4000 characters");
  return std::string(comment->get_string());
}

HttpResponse Put(const std::pair<bool, json::object>& put) { return HttpResponse::Json(put.first ? 201 : 200, put.second); }

}  // namespace

// ---- rules ----

Result<HttpResponse> ListRules(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  return HttpResponse::Json(200, json::object{{"value", service->ListRules()}});
}

Result<HttpResponse> GetRule(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::object rule, service->GetRule(match.params.Get("name")));
  return HttpResponse::Json(200, rule);
}

Result<HttpResponse> PutRule(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "a rule"));
  DOPPEL_ASSIGN_OR_RETURN(auto put, service->PutRule(match.params.Get("name"), body));
  return Put(put);
}

Result<HttpResponse> DeleteRule(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  DOPPEL_RETURN_IF_ERROR(service->DeleteRule(match.params.Get("name")));
  return HttpResponse::NoContent();
}

// GET /rules/{name}/instances?limit= : the twins in the rule's scope the caller may see.
Result<HttpResponse> ListRuleInstances(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(std::size_t limit, LimitParam(query, kDefaultLimit, kMaxLimit));
  DOPPEL_ASSIGN_OR_RETURN(json::array instances,
                          service->RuleInstances(match.params.Get("name"), Filtered(match.auth) ? kMaxLimit : limit));
  return HttpResponse::Json(200, json::object{{"value", VisibleItems(ctx, match.auth, std::move(instances), limit)}});
}

// ---- the envelope ----

Result<HttpResponse> GetEnvelope(ApiContext& ctx, const HttpRequest&, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  return HttpResponse::Json(200, service->GetEnvelope());
}

Result<HttpResponse> PutEnvelope(ApiContext& ctx, const HttpRequest& request, const RouteMatch&) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "a safety envelope"));
  DOPPEL_RETURN_IF_ERROR(service->PutEnvelope(body));
  return HttpResponse::Json(200, service->GetEnvelope());
}

Result<HttpResponse> GetTwinEnvelope(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::object bounds, service->TwinEnvelope(match.params.Get("id")));
  return HttpResponse::Json(200, bounds);
}

// ---- the action log ----

// GET /automation/actions?rule=&twinId=&limit= : newest first, only twins the caller may read.
Result<HttpResponse> ListAutomationActions(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(std::size_t limit, LimitParam(query, kDefaultLimit, kMaxLimit));
  json::array actions = service->ListActions({.rule = Param(query, "rule"),
                                              .twin_id = Param(query, "twinId"),
                                              .limit = Filtered(match.auth) ? kMaxLimit : limit});
  return HttpResponse::Json(200, json::object{{"value", VisibleItems(ctx, match.auth, std::move(actions), limit)}});
}

// ---- recommendations ----

Result<HttpResponse> ListRecommendations(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(std::size_t limit, LimitParam(query, kDefaultLimit, kMaxLimit));
  const std::string status = Param(query, "status");
  if (!status.empty() && std::find(std::begin(kStatuses), std::end(kStatuses), status) == std::end(kStatuses)) {
    return Status::InvalidArgument(fmt::format(
        "'status' must be pending, approved, rejected, expired, executed or failed, got '{}'", status));
  }
  json::array items = service->ListRecommendations({.status = status,
                                                    .twin_id = Param(query, "twinId"),
                                                    .rule = Param(query, "rule"),
                                                    .limit = Filtered(match.auth) ? kMaxLimit : limit});
  return HttpResponse::Json(200, json::object{{"value", VisibleItems(ctx, match.auth, std::move(items), limit)}});
}

// A recommendation about a twin the caller may not read does not exist for it.
Result<HttpResponse> GetRecommendation(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  const std::string_view id = match.params.Get("recommendationId");
  DOPPEL_ASSIGN_OR_RETURN(json::object r, service->GetRecommendation(id));
  json::array one = VisibleItems(ctx, match.auth, json::array{r}, 1);
  if (one.empty()) {
    return Status::NotFound(fmt::format("there is no recommendation '{}'", id), "RecommendationNotFound");
  }
  return HttpResponse::Json(200, one[0]);
}

Result<HttpResponse> ApproveRecommendation(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(std::string comment, CommentOf(ctx, request));
  DOPPEL_ASSIGN_OR_RETURN(json::object r, service->Approve(match.params.Get("recommendationId"),
                                                           match.auth.principal.subject, comment));
  return HttpResponse::Json(200, r);
}

Result<HttpResponse> RejectRecommendation(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(automation::AutomationService * service, AutomationOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(std::string comment, CommentOf(ctx, request));
  DOPPEL_ASSIGN_OR_RETURN(json::object r, service->Reject(match.params.Get("recommendationId"),
                                                          match.auth.principal.subject, comment));
  return HttpResponse::Json(200, r);
}

}  // namespace doppel::server::internal
