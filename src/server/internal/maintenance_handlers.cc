// Work orders and the enterprise records (docs/work-orders.md). Orders and records follow their
// twin: a caller sees only those of twins it may read (an order of a hidden twin is answered
// as an unknown one, as alerts are), and needs writeProperties on the twin to open or change
// an order. Imports are server-wide (admin).
#include "server/internal/maintenance_handlers.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "maintenance/work_order_service.h"
#include "server/internal/access.h"
#include "twin/field_mask.h"

namespace doppel::server::internal {
namespace {

namespace mt = maintenance;

constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

Result<mt::WorkOrderService*> WorkOrdersOf(const ApiContext& ctx) {
  if (ctx.services.work_orders == nullptr) {
    return Status::Unavailable("work orders are not enabled on this server");
  }
  return ctx.services.work_orders;
}

// The twin's model, or nullopt when there is no such twin.
std::optional<std::string> ModelOfTwin(const ApiContext& ctx, std::string_view twin_id) {
  return ctx.graph.Read([&](const twin::GraphState& g) -> std::optional<std::string> {
    const twin::Twin* t = g.FindTwin(twin_id);
    return t == nullptr ? std::nullopt : std::optional<std::string>(t->model_id);
  });
}

// The model of a twin that exists and that the caller may see, else nullopt.
std::optional<std::string> VisibleTwinModel(const ApiContext& ctx, const RouteMatch& match,
                                            std::string_view twin_id) {
  std::optional<std::string> model = ModelOfTwin(ctx, twin_id);
  if (model && !Visible(match.auth, twin_id, *model)) return std::nullopt;
  return model;
}

Status NoSuchOrder(std::string_view id) {
  return Status::NotFound(fmt::format("there is no work order '{}'", id), "WorkOrderNotFound");
}

// The caller's read filter as a predicate over twin ids, or null when it sees every twin.
mt::TwinPredicate VisibleTo(const ApiContext& ctx, const RouteMatch& match) {
  if (!match.auth.visible) return nullptr;
  return [&ctx, &match](std::string_view twin_id) {
    return Visible(match.auth, twin_id, ModelOfTwin(ctx, twin_id).value_or(""));
  };
}

// The order as a caller sees it: evidence signals its clearances hide are masked.
json::object OrderFor(const ApiContext& ctx, const RouteMatch& match, const mt::WorkOrder& order) {
  json::object o = mt::WorkOrderJson(order);
  if (!match.auth.masked || !order.evidence.is_object()) return o;
  json::value* signals = o["evidence"].as_object().if_contains("signals");
  if (signals == nullptr || !signals->is_object()) return o;
  const std::string model = ModelOfTwin(ctx, order.twin_id).value_or("");
  for (auto& [name, value] : signals->as_object()) {
    std::string_view hidden = match.auth.masked.Hides(model, name);
    if (!hidden.empty()) value = twin::MaskedMetadata(hidden);
  }
  return o;
}

// ---- request members ---------------------------------------------------------------------------

Status CheckMembers(const json::object& body, std::initializer_list<std::string_view> known) {
  for (const auto& member : body) {
    if (std::find(known.begin(), known.end(), member.key()) == known.end()) {
      return Status::InvalidArgument(fmt::format("unknown member '{}' (expected {})",
                                                 std::string_view(member.key()),
                                                 fmt::join(known, ", ")));
    }
  }
  return Status::Ok();
}

Result<std::optional<std::string>> StringMember(const json::object& body, std::string_view name) {
  const json::value* v = body.if_contains(name);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string())
    return Status::InvalidArgument(
        fmt::format("{} must be a string, got {}", name, JsonTypeName(*v)));
  return std::optional<std::string>(std::string(v->get_string()));
}

// An RFC 3339 string, or null (→ nullopt inside).
Result<std::optional<TimePoint>> TimeMember(const json::value& v, std::string_view name) {
  if (v.is_null()) return std::optional<TimePoint>();
  if (v.is_string()) {
    if (auto t = ParseRfc3339(v.get_string()); t.ok()) return std::optional<TimePoint>(*t);
  }
  return Status::InvalidArgument(
      fmt::format("{} must be an RFC 3339 time such as 2026-12-01T08:00:00Z, or null", name));
}

Result<mt::CreateWorkOrder> CreateRequest(const json::object& body) {
  DOPPEL_RETURN_IF_ERROR(CheckMembers(
      body, {"twinId", "title", "reason", "priority", "dueTime", "assignee", "evidence"}));
  mt::CreateWorkOrder create;
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> twin_id, StringMember(body, "twinId"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> title, StringMember(body, "title"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> reason, StringMember(body, "reason"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> priority, StringMember(body, "priority"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> assignee, StringMember(body, "assignee"));
  create.twin_id = twin_id.value_or("");
  create.title = title.value_or("");
  create.reason = reason.value_or("");
  create.assignee = assignee.value_or("");
  if (priority) {
    DOPPEL_ASSIGN_OR_RETURN(create.priority, mt::ParsePriority(*priority));
  }
  if (const json::value* due = body.if_contains("dueTime")) {
    DOPPEL_ASSIGN_OR_RETURN(create.due, TimeMember(*due, "dueTime"));
  }
  if (const json::value* evidence = body.if_contains("evidence")) create.evidence = *evidence;
  if (create.twin_id.empty()) return Status::InvalidArgument("twinId is required");
  return create;
}

Result<mt::UpdateWorkOrder> UpdateRequest(const json::object& body) {
  DOPPEL_RETURN_IF_ERROR(
      CheckMembers(body, {"status", "priority", "dueTime", "assignee", "externalId", "comment"}));
  mt::UpdateWorkOrder update;
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> status, StringMember(body, "status"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> priority, StringMember(body, "priority"));
  DOPPEL_ASSIGN_OR_RETURN(update.assignee, StringMember(body, "assignee"));
  DOPPEL_ASSIGN_OR_RETURN(update.external_id, StringMember(body, "externalId"));
  DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> comment, StringMember(body, "comment"));
  if (status) {
    DOPPEL_ASSIGN_OR_RETURN(update.status, mt::ParseWorkOrderStatus(*status));
  }
  if (priority) {
    DOPPEL_ASSIGN_OR_RETURN(update.priority, mt::ParsePriority(*priority));
  }
  if (const json::value* due = body.if_contains("dueTime")) {
    DOPPEL_ASSIGN_OR_RETURN(update.due, TimeMember(*due, "dueTime"));
  }
  update.comment = comment.value_or("");
  return update;
}

Result<mt::WorkOrderFilter> FilterOf(const QueryParams& query) {
  mt::WorkOrderFilter filter;
  if (const std::string* status = query.Find("status")) {
    DOPPEL_ASSIGN_OR_RETURN(filter.status, mt::ParseWorkOrderStatus(*status));
  }
  DOPPEL_ASSIGN_OR_RETURN(filter.open_only, BoolParam(query, "open", false));
  if (const std::string* twin_id = query.Find("twinId")) filter.twin_id = *twin_id;
  if (const std::string* priority = query.Find("priority")) {
    DOPPEL_ASSIGN_OR_RETURN(filter.min_priority, mt::ParsePriority(*priority));
  }
  if (const std::string* rule = query.Find("rule")) filter.rule = *rule;
  DOPPEL_ASSIGN_OR_RETURN(filter.limit, LimitParam(query, kDefaultLimit, kMaxLimit));
  return filter;
}

// The order named by the path, when the caller may see its twin: the same 404 as for an id
// never issued otherwise. An order whose twin was deleted is visible only to callers who see
// every twin.
Result<mt::WorkOrder> VisibleOrder(ApiContext& ctx, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(mt::WorkOrderService * service, WorkOrdersOf(ctx));
  const std::string_view id = match.params.Get("workOrderId");
  Result<mt::WorkOrder> order = service->Get(id);
  if (!order.ok()) return order.status();
  if (match.auth.visible && !VisibleTwinModel(ctx, match, order->twin_id)) return NoSuchOrder(id);
  return order;
}

using ImportFn = Result<mt::ImportResult> (mt::WorkOrderService::*)(std::string_view,
                                                                    std::string_view,
                                                                    const mt::TwinPredicate&);

Result<HttpResponse> Import(ApiContext& ctx, const HttpRequest& request, ImportFn import) {
  DOPPEL_ASSIGN_OR_RETURN(mt::WorkOrderService * service, WorkOrdersOf(ctx));
  if (request.body.empty()) {
    return Status::InvalidArgument(
        "request body is empty; expected a JSON array or CSV with a header row");
  }
  const mt::TwinPredicate exists = [&ctx](std::string_view twin_id) {
    return ModelOfTwin(ctx, twin_id).has_value();
  };
  DOPPEL_ASSIGN_OR_RETURN(mt::ImportResult result,
                          (service->*import)(request.body, request.Header("content-type"), exists));
  return HttpResponse::Json(
      200, json::object{{"imported", result.imported}, {"replaced", result.replaced}});
}

template <typename Record>
Result<HttpResponse> ListRecords(ApiContext& ctx, const HttpRequest& request,
                                 const RouteMatch& match,
                                 std::vector<Record> (mt::WorkOrderService::*list)(
                                     std::string_view, std::size_t, const mt::TwinPredicate&) const,
                                 json::object (*to_json)(const Record&)) {
  DOPPEL_ASSIGN_OR_RETURN(mt::WorkOrderService * service, WorkOrdersOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(std::size_t limit, LimitParam(query, kDefaultLimit, kMaxLimit));
  const std::string* twin_id = query.Find("twinId");
  json::array value;
  for (const Record& record :
       (service->*list)(twin_id ? *twin_id : "", limit, VisibleTo(ctx, match))) {
    value.push_back(to_json(record));
  }
  return HttpResponse::Json(200, json::object{{"value", std::move(value)}});
}

}  // namespace

Result<HttpResponse> PostWorkOrder(ApiContext& ctx, const HttpRequest& request,
                                   const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(mt::WorkOrderService * service, WorkOrdersOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "a work order"));
  DOPPEL_ASSIGN_OR_RETURN(mt::CreateWorkOrder create, CreateRequest(body.as_object()));
  const std::optional<std::string> model = VisibleTwinModel(ctx, match, create.twin_id);
  if (!model)
    return Status::NotFound(fmt::format("no digital twin '{}'", create.twin_id),
                            "DigitalTwinNotFound");
  DOPPEL_RETURN_IF_ERROR(Authorize(ctx, match.auth, auth::Action::kWriteProperties,
                                   {.twin_id = create.twin_id, .model_id = *model}));
  create.created_by = match.auth.principal.subject;
  DOPPEL_ASSIGN_OR_RETURN(mt::WorkOrder order, service->Create(create));
  HttpResponse res = HttpResponse::Json(201, OrderFor(ctx, match, order));
  res.SetHeader("Location", fmt::format("/workorders/{}", PercentEncode(order.id)));
  return res;
}

Result<HttpResponse> ListWorkOrders(ApiContext& ctx, const HttpRequest& request,
                                    const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(mt::WorkOrderService * service, WorkOrdersOf(ctx));
  DOPPEL_ASSIGN_OR_RETURN(QueryParams query, QueryOf(request));
  DOPPEL_ASSIGN_OR_RETURN(mt::WorkOrderFilter filter, FilterOf(query));
  filter.visible = VisibleTo(ctx, match);
  json::array value;
  for (const mt::WorkOrder& order : service->List(filter))
    value.push_back(OrderFor(ctx, match, order));
  return HttpResponse::Json(200, json::object{{"value", std::move(value)}});
}

Result<HttpResponse> GetWorkOrder(ApiContext& ctx, const HttpRequest&, const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(mt::WorkOrder order, VisibleOrder(ctx, match));
  return HttpResponse::Json(200, OrderFor(ctx, match, order));
}

Result<HttpResponse> PatchWorkOrder(ApiContext& ctx, const HttpRequest& request,
                                    const RouteMatch& match) {
  DOPPEL_ASSIGN_OR_RETURN(mt::WorkOrder order, VisibleOrder(ctx, match));
  const std::string model = ModelOfTwin(ctx, order.twin_id).value_or("");
  DOPPEL_RETURN_IF_ERROR(Authorize(ctx, match.auth, auth::Action::kWriteProperties,
                                   {.twin_id = order.twin_id, .model_id = model}));
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseObjectBody(ctx, request, "a work order change"));
  DOPPEL_ASSIGN_OR_RETURN(mt::UpdateWorkOrder update, UpdateRequest(body.as_object()));
  update.by = match.auth.principal.subject;
  DOPPEL_ASSIGN_OR_RETURN(order, ctx.services.work_orders->Update(order.id, update));
  return HttpResponse::Json(200, OrderFor(ctx, match, order));
}

Result<HttpResponse> ImportMaintenanceHistory(ApiContext& ctx, const HttpRequest& request,
                                              const RouteMatch&) {
  return Import(ctx, request, &mt::WorkOrderService::ImportMaintenanceHistory);
}

Result<HttpResponse> ListMaintenanceHistory(ApiContext& ctx, const HttpRequest& request,
                                            const RouteMatch& match) {
  return ListRecords<mt::MaintenanceRecord>(
      ctx, request, match, &mt::WorkOrderService::MaintenanceHistory, mt::MaintenanceRecordJson);
}

Result<HttpResponse> ImportProductionOrders(ApiContext& ctx, const HttpRequest& request,
                                            const RouteMatch&) {
  return Import(ctx, request, &mt::WorkOrderService::ImportProductionOrders);
}

Result<HttpResponse> ListProductionOrders(ApiContext& ctx, const HttpRequest& request,
                                          const RouteMatch& match) {
  return ListRecords<mt::ProductionOrder>(
      ctx, request, match, &mt::WorkOrderService::ProductionOrders, mt::ProductionOrderJson);
}

}  // namespace doppel::server::internal
