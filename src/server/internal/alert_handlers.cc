// Alerts through the API (docs/alerts.md). The caller's name (its principal's subject) goes
// into the alert's history; who may see and change which alert follows its twin.
#include "server/internal/alert_handlers.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <span>

#include "alerts/alert_service.h"
#include "server/internal/access.h"

namespace doppel::server::internal {
namespace {

constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

Result<alerts::AlertService*> AlertsOf(const ApiContext& ctx) {
  if (ctx.services.alerts == nullptr) return Status::Unavailable("alerts are not enabled on this server");
  return ctx.services.alerts;
}

// The same answer as for an id that was never issued: a hidden alert must not be told apart.
Status NoSuchAlert(std::string_view id) {
  return Status::NotFound(fmt::format("there is no alert with id '{}'", id), "AlertNotFound");
}

std::string_view ModelIn(const twin::GraphState& graph, std::string_view twin_id) {
  const twin::Twin* twin = graph.FindTwin(twin_id);
  return twin == nullptr ? std::string_view() : std::string_view(twin->model_id);
}

// Whether the caller may see alerts about `twin_id`. An alert about no twin is server-wide:
// only callers who see every twin see it.
bool SeesTwin(const RequestAuth& caller, const twin::GraphState& graph, std::string_view twin_id) {
  if (!caller.visible) return true;
  return !twin_id.empty() && Visible(caller, twin_id, ModelIn(graph, twin_id));
}

// ---- request bodies ----

Status OnlyMembers(const json::object& body, std::span<const std::string_view> known, std::string_view what) {
  for (const auto& [key, value] : body) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string names;
    for (std::string_view k : known) names += fmt::format("{}{}", names.empty() ? "" : ", ", k);
    return Status::InvalidArgument(fmt::format("unknown member '{}' in {} (known: {})", std::string_view(key), what, names));
  }
  return Status::Ok();
}

// The string member `name`, "" when absent; InvalidArgument when it is not a string.
Result<std::string> StringMember(const json::object& body, std::string_view name) {
  const json::value* v = body.if_contains(name);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) {
    return Status::InvalidArgument(fmt::format("'{}' must be a string, got {}", name, JsonTypeName(*v)));
  }
  return std::string(v->as_string());
}

// The one text member of an acknowledge/clear/comment body; the body itself may be empty.
Result<std::string> TextOf(const ApiContext& ctx, const HttpRequest& request, std::string_view name,
                           std::string_view what) {
  if (request.body.empty()) return std::string();
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, what));
  const std::array<std::string_view, 1> known = {name};
  DOPPEL_RETURN_IF_ERROR(OnlyMembers(body.as_object(), known, what));
  return StringMember(body.as_object(), name);
}

Result<alerts::RaiseRequest> RaiseRequestOf(const json::object& body, std::string_view caller) {
  static constexpr std::array<std::string_view, 6> kKnown = {"twinId", "severity", "title", "message", "dedupKey",
                                                              "evidence"};
  DOPPEL_RETURN_IF_ERROR(OnlyMembers(body, kKnown, "an alert"));
  alerts::RaiseRequest raise{.raised_by = std::string(caller)};
  DOPPEL_ASSIGN_OR_RETURN(raise.twin_id, StringMember(body, "twinId"));
  if (raise.twin_id.empty()) return Status::InvalidArgument("'twinId' is required: the twin the alert is about");
  DOPPEL_ASSIGN_OR_RETURN(std::string severity, StringMember(body, "severity"));
  if (severity.empty()) {
    return Status::InvalidArgument("'severity' is required: one of info, warning, minor, major, critical");
  }
  DOPPEL_ASSIGN_OR_RETURN(raise.severity, alerts::ParseSeverity(severity));
  DOPPEL_ASSIGN_OR_RETURN(raise.title, StringMember(body, "title"));
  DOPPEL_ASSIGN_OR_RETURN(raise.message, StringMember(body, "message"));
  DOPPEL_ASSIGN_OR_RETURN(raise.dedup_key, StringMember(body, "dedupKey"));
  if (const json::value* evidence = body.if_contains("evidence")) raise.evidence = *evidence;
  return raise;
}

// ---- query parameters ----

Result<alerts::AlertFilter> FilterOf(const QueryParams& query) {
  alerts::AlertFilter filter{.limit = kDefaultLimit};
  if (const std::string* state = query.Find("state"); state != nullptr && !state->empty()) {
    if (*state == "open") {
      filter.open_only = true;
    } else {
      auto parsed = alerts::ParseAlertState(*state);
      if (!parsed.ok()) {
        return Status::InvalidArgument(
            fmt::format("'state' must be raised, acknowledged, cleared or open, got '{}'", *state));
      }
      filter.state = *parsed;
    }
  }
  if (const std::string* severity = query.Find("severity"); severity != nullptr && !severity->empty()) {
    DOPPEL_ASSIGN_OR_RETURN(filter.min_severity, alerts::ParseSeverity(*severity));
  }
  if (const std::string* twin = query.Find("twinId")) filter.twin_id = *twin;
  if (const std::string* rule = query.Find("rule")) filter.rule = *rule;
  if (const std::string* since = query.Find("since"); since != nullptr && !since->empty()) {
    auto t = ParseRfc3339(*since);
    if (!t.ok()) {
      return Status::InvalidArgument(
          fmt::format("'since' must be an RFC 3339 time such as 2026-01-31T08:00:00Z, got '{}'", *since));
    }
    filter.since = *t;
  }
  DOPPEL_ASSIGN_OR_RETURN(filter.limit, LimitParam(query, kDefaultLimit, kMaxLimit));
  return filter;
}

// ---- the addressed alert ----

struct Addressed {
  alerts::AlertService* service = nullptr;
  alerts::Alert alert;
  std::string model;  // its twin's model ("" when the twin is gone)
};

// The alert named by {alertId}, when the caller may see it.
Result<Addressed> VisibleAlert(const ApiContext& ctx, const RouteMatch& match) {
  Addressed found;
  DOPPEL_ASSIGN_OR_RETURN(found.service, AlertsOf(ctx));
  const std::string_view id = match.params.Get("alertId");
  DOPPEL_ASSIGN_OR_RETURN(found.alert, found.service->Get(id));
  const bool visible = ctx.graph.Read([&](const twin::GraphState& graph) {
    found.model = ModelIn(graph, found.alert.twin_id);
    return SeesTwin(match.auth, graph, found.alert.twin_id);
  });
  if (!visible) return NoSuchAlert(id);
  return found;
}

// The same, when the caller may also change it: writeProperties on its twin.
Result<Addressed> WritableAlert(const ApiContext& ctx, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(Addressed found, VisibleAlert(ctx, match));
  DOPPEL_RETURN_IF_ERROR(Authorize(ctx, match.auth, auth::Action::kWriteProperties,
                                   {.twin_id = found.alert.twin_id, .model_id = found.model}));
  return found;
}

// Evidence is free-form and may quote classified values: a caller whose clearances hide any
// value of the twin's model gets the alert without it.
json::object AlertJsonFor(const RequestAuth& caller, const alerts::Alert& alert, std::string_view model) {
  json::object o = alerts::AlertJson(alert);
  const twin::FieldMask& mask = caller.masked;
  if (mask && (!mask.hides_any || mask.hides_any(model))) o["evidence"] = nullptr;
  return o;
}

HttpResponse AlertResponse(int status, const RouteMatch& match, const alerts::Alert& alert, std::string_view model) {
  return HttpResponse::Json(status, AlertJsonFor(match.auth, alert, model));
}

}  // namespace

Result<HttpResponse> ListAlerts(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(alerts::AlertService * service, AlertsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(alerts::AlertFilter filter, FilterOf(query));
  json::array value;
  if (!match.auth.visible && !match.auth.masked) {
    for (const alerts::Alert& alert : service->List(filter)) value.push_back(alerts::AlertJson(alert));
    return HttpResponse::Json(200, json::object{{"value", std::move(value)}});
  }
  // Visibility is judged inside List, before the limit, so a page is full when it can be.
  // Under the graph's read lock: graph then alerts is the order every writer takes them in.
  ctx.graph.Read([&](const twin::GraphState& graph) {
    if (match.auth.visible) {
      filter.where = [&](const alerts::Alert& alert) { return SeesTwin(match.auth, graph, alert.twin_id); };
    }
    for (const alerts::Alert& alert : service->List(filter)) {
      value.push_back(AlertJsonFor(match.auth, alert, ModelIn(graph, alert.twin_id)));
    }
    return 0;
  });
  return HttpResponse::Json(200, json::object{{"value", std::move(value)}});
}

Result<HttpResponse> RaiseAlert(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(alerts::AlertService * service, AlertsOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "an alert"));
  DOPPEL_ASSIGN_OR_RETURN(alerts::RaiseRequest raise, RaiseRequestOf(body.as_object(), match.auth.principal.subject));
  std::optional<std::string> model = ctx.graph.Read([&](const twin::GraphState& graph) -> std::optional<std::string> {
    if (graph.FindTwin(raise.twin_id) == nullptr || !SeesTwin(match.auth, graph, raise.twin_id)) return std::nullopt;
    return std::string(ModelIn(graph, raise.twin_id));
  });
  if (!model) {
    return Status::NotFound(fmt::format("no digital twin '{}'", raise.twin_id), "DigitalTwinNotFound");
  }
  DOPPEL_RETURN_IF_ERROR(Authorize(ctx, match.auth, auth::Action::kWriteProperties,
                                   {.twin_id = raise.twin_id, .model_id = *model}));
  // A key names one twin's alert: repeating it must not touch another twin's (which the caller
  // may not even see).
  if (!raise.dedup_key.empty()) {
    if (std::optional<alerts::Alert> open = service->FindOpen(raise.dedup_key); open && open->twin_id != raise.twin_id) {
      return Status::Conflict(fmt::format("dedupKey '{}' is in use by an open alert of another twin", raise.dedup_key),
                              "AlertKeyInUse");
    }
  }
  DOPPEL_ASSIGN_OR_RETURN(alerts::Alert alert, service->Raise(raise));
  // A repeat of an open alert created nothing: 200 with the alert it counted against.
  const bool repeated = alert.count > 1;
  HttpResponse response = AlertResponse(repeated ? 200 : 201, match, alert, *model);
  response.SetHeader("Location", fmt::format("/alerts/{}", alert.id));
  return response;
}

Result<HttpResponse> GetAlert(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(Addressed found, VisibleAlert(ctx, match));
  return AlertResponse(200, match, found.alert, found.model);
}

Result<HttpResponse> AcknowledgeAlert(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(Addressed found, WritableAlert(ctx, match));
  DOPPEL_ASSIGN_OR_RETURN(std::string comment, TextOf(ctx, request, "comment", "an acknowledgement"));
  DOPPEL_ASSIGN_OR_RETURN(alerts::Alert alert,
                          found.service->Acknowledge(found.alert.id, match.auth.principal.subject, comment));
  return AlertResponse(200, match, alert, found.model);
}

Result<HttpResponse> ClearAlert(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(Addressed found, WritableAlert(ctx, match));
  DOPPEL_ASSIGN_OR_RETURN(std::string reason, TextOf(ctx, request, "reason", "a clear"));
  DOPPEL_ASSIGN_OR_RETURN(alerts::Alert alert,
                          found.service->Clear(found.alert.id, match.auth.principal.subject, reason));
  return AlertResponse(200, match, alert, found.model);
}

Result<HttpResponse> CommentOnAlert(ApiContext& ctx, const HttpRequest& request, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(Addressed found, WritableAlert(ctx, match));
  DOPPEL_ASSIGN_OR_RETURN(std::string text, TextOf(ctx, request, "text", "a comment"));
  DOPPEL_ASSIGN_OR_RETURN(alerts::Alert alert,
                          found.service->Comment(found.alert.id, match.auth.principal.subject, text));
  return AlertResponse(201, match, alert, found.model);
}

}  // namespace doppel::server::internal
