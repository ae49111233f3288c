// The JSON faces of work orders and enterprise records: the API's bodies, the export messages
// and the journal lines are all these objects.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "maintenance/internal/work_order_codec.h"
#include "maintenance/work_order_service.h"

namespace doppel::maintenance {
namespace {

constexpr std::array<std::string_view, 4> kPriorityNames = {"low", "medium", "high", "urgent"};
constexpr std::array<std::string_view, 4> kStatusNames = {"open", "inProgress", "done",
                                                          "cancelled"};

template <typename Enum, std::size_t N>
Result<Enum> ParseName(const std::array<std::string_view, N>& names, std::string_view what,
                       std::string_view name) {
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    return Status::InvalidArgument(
        fmt::format("{} must be one of {}, got '{}'", what, fmt::join(names, ", "), name));
  }
  return static_cast<Enum>(it - names.begin());
}

std::string StringMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<TimePoint> TimeMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  auto t = ParseRfc3339(v->get_string());
  return t.ok() ? std::optional<TimePoint>(*t) : std::nullopt;
}

void SetIfNotEmpty(json::object& o, std::string_view name, const std::string& value) {
  if (!value.empty()) o[name] = value;
}

std::vector<WorkOrderEvent> HistoryFromJson(const json::value* history) {
  std::vector<WorkOrderEvent> events;
  if (history == nullptr || !history->is_array()) return events;
  for (const json::value& e : history->get_array()) {
    if (!e.is_object()) continue;
    const json::object& o = e.get_object();
    events.push_back({.time = TimeMember(o, "time").value_or(TimePoint{}),
                      .event = StringMember(o, "event"),
                      .by = StringMember(o, "by"),
                      .detail = StringMember(o, "detail")});
  }
  return events;
}

}  // namespace

std::string_view PriorityName(Priority priority) {
  return kPriorityNames[static_cast<std::size_t>(priority)];
}

Result<Priority> ParsePriority(std::string_view name) {
  return ParseName<Priority>(kPriorityNames, "priority", name);
}

std::string_view WorkOrderStatusName(WorkOrderStatus status) {
  return kStatusNames[static_cast<std::size_t>(status)];
}

Result<WorkOrderStatus> ParseWorkOrderStatus(std::string_view name) {
  return ParseName<WorkOrderStatus>(kStatusNames, "status", name);
}

json::object WorkOrderJson(const WorkOrder& order) {
  json::object o{{"workOrderId", order.id},
                 {"twinId", order.twin_id},
                 {"title", order.title},
                 {"reason", order.reason},
                 {"priority", PriorityName(order.priority)},
                 {"status", WorkOrderStatusName(order.status)}};
  if (order.due) o["dueTime"] = FormatRfc3339(*order.due);
  SetIfNotEmpty(o, "dedupKey", order.dedup_key);
  SetIfNotEmpty(o, "rule", order.rule);
  o["createdBy"] = order.created_by;
  SetIfNotEmpty(o, "assignee", order.assignee);
  SetIfNotEmpty(o, "externalId", order.external_id);
  o["evidence"] = order.evidence;
  o["createdTime"] = FormatRfc3339(order.created);
  o["updatedTime"] = FormatRfc3339(order.updated);
  json::array history;
  history.reserve(order.history.size());
  for (const WorkOrderEvent& e : order.history) {
    history.push_back(json::object{
        {"time", FormatRfc3339(e.time)}, {"event", e.event}, {"by", e.by}, {"detail", e.detail}});
  }
  o["history"] = std::move(history);
  return o;
}

json::object MaintenanceRecordJson(const MaintenanceRecord& record) {
  json::object o{
      {"recordId", record.id}, {"twinId", record.twin_id}, {"start", FormatRfc3339(record.start)}};
  if (record.end) o["end"] = FormatRfc3339(*record.end);
  o["kind"] = record.kind;
  o["description"] = record.description;
  o["failureMode"] = record.failure_mode;
  return o;
}

json::object ProductionOrderJson(const ProductionOrder& order) {
  return json::object{{"orderId", order.id},
                      {"twinId", order.twin_id},
                      {"product", order.product},
                      {"quantity", order.quantity},
                      {"start", FormatRfc3339(order.start)},
                      {"end", FormatRfc3339(order.end)},
                      {"status", order.status}};
}

namespace internal {

Result<WorkOrder> WorkOrderFromJson(const json::object& record) {
  WorkOrder order;
  order.id = StringMember(record, "workOrderId");
  if (order.id.empty()) return Status::InvalidArgument("not a work order record");
  DOPPEL_ASSIGN_OR_RETURN(order.priority, ParsePriority(StringMember(record, "priority")));
  DOPPEL_ASSIGN_OR_RETURN(order.status, ParseWorkOrderStatus(StringMember(record, "status")));
  order.twin_id = StringMember(record, "twinId");
  order.title = StringMember(record, "title");
  order.reason = StringMember(record, "reason");
  order.due = TimeMember(record, "dueTime");
  order.dedup_key = StringMember(record, "dedupKey");
  order.rule = StringMember(record, "rule");
  order.created_by = StringMember(record, "createdBy");
  order.assignee = StringMember(record, "assignee");
  order.external_id = StringMember(record, "externalId");
  if (const json::value* evidence = record.if_contains("evidence")) order.evidence = *evidence;
  order.created = TimeMember(record, "createdTime").value_or(TimePoint{});
  order.updated = TimeMember(record, "updatedTime").value_or(order.created);
  order.history = HistoryFromJson(record.if_contains("history"));
  return order;
}

}  // namespace internal
}  // namespace doppel::maintenance
