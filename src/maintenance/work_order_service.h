// Maintenance work orders and the enterprise context they live in (docs/work-orders.md).
//
// A work order asks for work on an asset (a twin): created by a rule (with the evidence that
// made it — signals, anomaly scores, RUL and its uncertainty, a link to the history window) or
// by a person, with a priority and a due date (a rule derives it from the predicted failure
// time: the RUL's lower bound), and a lifecycle:
//
//   open ──start──▶ inProgress ──complete──▶ done
//     │                 │
//     └──cancel─────────┴──cancel──▶ cancelled          (done and cancelled are final)
//
// De-duplication: a work order may carry a `dedup_key` (a rule's are "<rule>/<twin>"); creating
// one while an open or in-progress order has that key answers the existing order (and adds the
// new evidence to its history) instead of a duplicate.
//
// Export: every create, and every update that changes the status, priority, due date or
// assignee, is handed to the `exporter` (the CMMS/ERP webhook, wired by app/serve.cc to
// client/webhook_sender.h) as {"event": "workOrder.created" | "workOrder.updated",
// "workOrder": WorkOrderJson}, in the order the changes were made. An order's `external_id`
// can be set back by the CMMS through Update; that (and a comment) alone exports nothing, so
// the CMMS's own answer does not echo back to it. A repeat (de-duplication) exports nothing.
//
// Enterprise context (imported from CSV or JSON; see ImportMaintenanceHistory and
// ImportProductionOrders): past maintenance of an asset (when, what, failure or planned) and
// production orders (what was to be made where, when, how many), linked to twins by id, so
// analytics and KPIs — and people — can use them.
//
// Persistence: <dir>/work-orders.jsonl, <dir>/maintenance-history.jsonl and
// <dir>/production-orders.jsonl (base/record_journal.h), synced on every change (unless
// options.sync is false). The id sequence survives restarts, even when retention has dropped
// every order. An import is appended row by row and synced once: a crash mid-import may keep
// part of it, and importing the same file again (same ids) completes it.
//
// Retention: done and cancelled orders beyond `max_closed` are forgotten, least recently
// updated first; imported records beyond `max_records` (both kinds together), earliest start
// first. Open and in-progress orders are never dropped.
//
// Thread-safety: every public method may be called from any thread. The exporter is called
// after the change is durable, outside the lock, and must not block (queue and return).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::maintenance {

enum class Priority : uint8_t { kLow, kMedium, kHigh, kUrgent };  // ordered
std::string_view PriorityName(Priority priority);  // "low", "medium", "high", "urgent"
Result<Priority> ParsePriority(std::string_view name);

enum class WorkOrderStatus : uint8_t { kOpen, kInProgress, kDone, kCancelled };
std::string_view WorkOrderStatusName(WorkOrderStatus status);  // "open", "inProgress", "done", "cancelled"
Result<WorkOrderStatus> ParseWorkOrderStatus(std::string_view name);

// Answers whether a twin passes a test: exists (imports), or may be seen by the caller (lists).
// Called outside the service's lock, once per distinct twin, so it may read the twin graph.
using TwinPredicate = std::function<bool(std::string_view twin_id)>;

struct WorkOrderEvent {
  TimePoint time{};
  std::string event;  // "created", "repeated", "inProgress", "done", "cancelled", "updated", "commented"
  std::string by = {};
  std::string detail = {};
};

struct WorkOrder {
  std::string id;  // "WO-" + 8 digits, increasing
  std::string twin_id;
  std::string title;
  std::string reason = {};
  Priority priority = Priority::kMedium;
  WorkOrderStatus status = WorkOrderStatus::kOpen;
  std::optional<TimePoint> due = {};
  std::string dedup_key = {};
  std::string rule = {};        // the rule that opened it ("" = a person)
  std::string created_by = {};  // "rule <name>" or a caller
  std::string assignee = {};
  std::string external_id = {};  // the CMMS's id, once it answered
  // {"signals": {...}, "scores": {...}, "rul": {"value", "low", "high", "unit"},
  //  "history": "/timeseries/query?..."} — whatever the creator attached.
  json::value evidence = nullptr;
  TimePoint created{};
  TimePoint updated{};
  std::vector<WorkOrderEvent> history = {};  // at most 100 kept: "created" and the newest 99
};
// {"workOrderId", "twinId", "title", "reason", "priority", "status", "dueTime"?, "dedupKey"?,
//  "rule"?, "createdBy", "assignee"?, "externalId"?, "evidence", "createdTime", "updatedTime",
//  "history": [{"time", "event", "by", "detail"}]}
json::object WorkOrderJson(const WorkOrder& order);

struct CreateWorkOrder {
  std::string twin_id;  // required
  std::string title;    // required, ≤ 200 characters
  std::string reason = {};  // ≤ 4,000
  Priority priority = Priority::kMedium;
  std::optional<TimePoint> due = {};
  std::string dedup_key = {};
  std::string rule = {};
  std::string created_by = {};
  std::string assignee = {};
  json::value evidence = nullptr;  // ≤ 64 KiB serialised
};

// A change by a person or the CMMS: only the fields given change. A status change must follow
// the lifecycle (Conflict "InvalidTransition" naming from and to).
struct UpdateWorkOrder {
  std::optional<WorkOrderStatus> status = {};
  std::optional<Priority> priority = {};
  std::optional<std::optional<TimePoint>> due = {};  // set, or clear with nullopt inside
  std::optional<std::string> assignee = {};
  std::optional<std::string> external_id = {};
  std::string comment = {};  // recorded in the history when not ""
  std::string by = {};
};

struct WorkOrderFilter {
  std::optional<WorkOrderStatus> status = {};
  bool open_only = false;  // open or inProgress
  std::string twin_id = {};
  std::optional<Priority> min_priority = {};
  std::string rule = {};
  std::size_t limit = 100;
  TwinPredicate visible = nullptr;  // null = every twin; else only orders of twins it accepts
};

// One past maintenance action on an asset (imported from a CMMS or a spreadsheet).
struct MaintenanceRecord {
  std::string id;       // the source's id (required; re-importing the same id replaces it)
  std::string twin_id;  // required
  TimePoint start{};
  std::optional<TimePoint> end = {};
  std::string kind;  // "corrective" (after a failure), "preventive", "predictive", "inspection"
  std::string description = {};
  std::string failure_mode = {};  // "" when not a failure
};
// {"recordId", "twinId", "start", "end"?, "kind", "description", "failureMode"}
json::object MaintenanceRecordJson(const MaintenanceRecord& record);

// A production order: what a line or machine was to make, and when.
struct ProductionOrder {
  std::string id;       // required; re-importing the same id replaces it
  std::string twin_id;  // the line or machine, required
  std::string product = {};
  double quantity = 0;  // planned units, ≥ 0
  TimePoint start{};
  TimePoint end{};  // > start
  std::string status = {};  // the source's status, free text ("released", "completed", ...)
};
// {"orderId", "twinId", "product", "quantity", "start", "end", "status"}
json::object ProductionOrderJson(const ProductionOrder& order);

// The result of an import: how many records were stored; nothing is stored when any row is
// bad (the error names the row and column: "row 14: start: not an RFC 3339 time").
struct ImportResult {
  std::size_t imported = 0;
  std::size_t replaced = 0;  // of those, how many replaced an earlier import of the same id
};

struct WorkOrderServiceOptions {
  std::string dir = {};  // "" = memory only
  std::size_t max_closed = 10'000;     // done/cancelled orders kept
  std::size_t max_records = 1'000'000;  // maintenance records + production orders kept
  std::size_t max_import_rows = 100'000;  // per import call (PayloadTooLarge beyond)
  bool sync = true;
};

class WorkOrderService {
 public:
  using Exporter = std::function<void(const json::object& message)>;
  static Result<std::unique_ptr<WorkOrderService>> Open(WorkOrderServiceOptions options,
                                                        const Clock& clock = SystemClock::Instance());
  ~WorkOrderService();
  WorkOrderService(const WorkOrderService&) = delete;
  WorkOrderService& operator=(const WorkOrderService&) = delete;

  // Before use; null = no export. Calls are serialised and in order of the changes; the
  // exporter may read the service but must not create or update work orders itself.
  void SetExporter(Exporter exporter);

  // A new order, or the open one with the same dedup key (see the file comment): that one
  // keeps its evidence and records a "repeated" event whose detail summarises the new
  // evidence (its "summary" member, else the reason, else the evidence's JSON, shortened).
  // The twin's existence is the caller's check. InvalidArgument naming the field;
  // Unavailable when the journal cannot be written (nothing changes then).
  Result<WorkOrder> Create(const CreateWorkOrder& request);
  // NotFound "WorkOrderNotFound"; Conflict "InvalidTransition" ("cannot move work order
  // WO-00000001 from done to open"); InvalidArgument naming a field that is too long. Setting
  // the status it already has is no change.
  Result<WorkOrder> Update(std::string_view id, const UpdateWorkOrder& update);
  Result<WorkOrder> Get(std::string_view id) const;
  std::vector<WorkOrder> List(const WorkOrderFilter& filter) const;  // newest first

  // Imports `body`: a JSON array of objects with the JSON member names above, or CSV with a
  // header row naming those members (any order; unknown columns are an error). `content_type`
  // "application/json" or "text/csv" (a "; charset=utf-8" is ignored). All or nothing: a bad
  // row is an InvalidArgument naming the row and column (internal/enterprise_records.h), more
  // than max_import_rows rows PayloadTooLarge. With `twin_exists`, a row naming a twin it
  // rejects is an error too ("row 3: twinId: there is no digital twin with id 'x'").
  Result<ImportResult> ImportMaintenanceHistory(std::string_view body, std::string_view content_type,
                                                const TwinPredicate& twin_exists = nullptr);
  Result<ImportResult> ImportProductionOrders(std::string_view body, std::string_view content_type,
                                              const TwinPredicate& twin_exists = nullptr);
  // The `limit` latest by start, listed oldest first; "" = all twins; `visible` (when given)
  // keeps only the twins it accepts.
  std::vector<MaintenanceRecord> MaintenanceHistory(std::string_view twin_id, std::size_t limit,
                                                    const TwinPredicate& visible = nullptr) const;
  std::vector<ProductionOrder> ProductionOrders(std::string_view twin_id, std::size_t limit,
                                                const TwinPredicate& visible = nullptr) const;

  void RenderMetrics(std::string& out) const;  // doppel_work_orders{status=...}

 private:
  struct Impl;
  explicit WorkOrderService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace doppel::maintenance
