#include "maintenance/work_order_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "base/record_journal.h"
#include "maintenance/internal/enterprise_records.h"
#include "maintenance/internal/record_table.h"
#include "maintenance/internal/text.h"
#include "maintenance/internal/work_order_codec.h"

namespace doppel::maintenance {
namespace {

constexpr std::size_t kMaxTitleChars = 200;
constexpr std::size_t kMaxReasonChars = 4000;
constexpr std::size_t kMaxNameChars = 200;  // twin ids, keys, rules, people, external ids
constexpr std::size_t kMaxEvidenceBytes = 64 * 1024;
constexpr std::size_t kMaxHistory = 100;
constexpr std::size_t kMaxSummaryChars = 500;
constexpr std::string_view kSequenceKey = "#sequence";

bool IsOpen(WorkOrderStatus s) {
  return s == WorkOrderStatus::kOpen || s == WorkOrderStatus::kInProgress;
}

bool MayMove(WorkOrderStatus from, WorkOrderStatus to) {
  switch (from) {
    case WorkOrderStatus::kOpen:
      return to == WorkOrderStatus::kInProgress || to == WorkOrderStatus::kCancelled;
    case WorkOrderStatus::kInProgress:
      return to == WorkOrderStatus::kDone || to == WorkOrderStatus::kCancelled;
    case WorkOrderStatus::kDone:
    case WorkOrderStatus::kCancelled:
      return false;
  }
  return false;
}

Status CheckText(std::string_view field, std::string_view text, std::size_t max_chars,
                 bool required) {
  if (required && text.empty())
    return Status::InvalidArgument(fmt::format("{} is required", field));
  if (!internal::IsValidUtf8(text))
    return Status::InvalidArgument(fmt::format("{} is not valid UTF-8", field));
  if (internal::CountCharacters(text) > max_chars) {
    return Status::InvalidArgument(
        fmt::format("{} is longer than {} characters", field, max_chars));
  }
  return Status::Ok();
}

Status Validate(const CreateWorkOrder& r) {
  DOPPEL_RETURN_IF_ERROR(CheckText("twinId", r.twin_id, kMaxNameChars, true));
  DOPPEL_RETURN_IF_ERROR(CheckText("title", r.title, kMaxTitleChars, true));
  DOPPEL_RETURN_IF_ERROR(CheckText("reason", r.reason, kMaxReasonChars, false));
  DOPPEL_RETURN_IF_ERROR(CheckText("dedupKey", r.dedup_key, kMaxNameChars, false));
  DOPPEL_RETURN_IF_ERROR(CheckText("rule", r.rule, kMaxNameChars, false));
  DOPPEL_RETURN_IF_ERROR(CheckText("createdBy", r.created_by, kMaxNameChars, false));
  DOPPEL_RETURN_IF_ERROR(CheckText("assignee", r.assignee, kMaxNameChars, false));
  if (const std::size_t bytes = ToJson(r.evidence).size(); bytes > kMaxEvidenceBytes) {
    return Status::InvalidArgument(
        fmt::format("evidence is larger than 64 KiB serialised ({} bytes)", bytes));
  }
  return Status::Ok();
}

Status Validate(const UpdateWorkOrder& u) {
  if (u.assignee) DOPPEL_RETURN_IF_ERROR(CheckText("assignee", *u.assignee, kMaxNameChars, false));
  if (u.external_id)
    DOPPEL_RETURN_IF_ERROR(CheckText("externalId", *u.external_id, kMaxNameChars, false));
  DOPPEL_RETURN_IF_ERROR(CheckText("comment", u.comment, kMaxReasonChars, false));
  return CheckText("by", u.by, kMaxNameChars, false);
}

// At most `max_chars` characters of `text`, cut at a character boundary, with "…" if cut.
std::string Shorten(std::string_view text, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && chars++ == max_chars) {
      return fmt::format("{}…", text.substr(0, i));
    }
  }
  return std::string(text);
}

// What a repeat's history event says about the evidence that came with it.
std::string EvidenceSummary(const CreateWorkOrder& r) {
  if (r.evidence.is_object()) {
    const json::value* summary = r.evidence.get_object().if_contains("summary");
    if (summary != nullptr && summary->is_string())
      return Shorten(summary->get_string(), kMaxSummaryChars);
  }
  if (!r.reason.empty()) return Shorten(r.reason, kMaxSummaryChars);
  return r.evidence.is_null() ? std::string() : Shorten(ToJson(r.evidence), kMaxSummaryChars);
}

std::string TimeOrNone(const std::optional<TimePoint>& t) { return t ? FormatRfc3339(*t) : "none"; }

void AddEvent(WorkOrder& order, WorkOrderEvent event) {
  order.history.push_back(std::move(event));
  // Keep "created" (who opened it and why) and the newest of the rest.
  if (order.history.size() > kMaxHistory) order.history.erase(order.history.begin() + 1);
}

json::object Keyed(json::object record, std::string_view key) {
  record["key"] = key;
  return record;
}

json::object Tombstone(std::string_view key) {
  return json::object{{"key", key}, {"deleted", true}};
}

// The number in "WO-00000042", or 0.
uint64_t SequenceOf(std::string_view id) {
  if (!id.starts_with("WO-")) return 0;
  uint64_t n = 0;
  for (char c : id.substr(3)) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

std::set<std::string> Allowed(const std::vector<std::string>& twins, const TwinPredicate& visible) {
  std::set<std::string> allowed;
  for (const std::string& twin : twins) {
    if (visible(twin)) allowed.insert(twin);
  }
  return allowed;
}

}  // namespace

struct WorkOrderService::Impl {
  Impl(WorkOrderServiceOptions o, const Clock& c) : options(std::move(o)), clock(c) {}

  // Immutable after construction.
  const WorkOrderServiceOptions options;
  const Clock& clock;

  // Serialises calls of the exporter so that messages leave in the order of the changes.
  // Taken without mu held; held while the exporter runs, so an exporter must not create or
  // update work orders itself.
  std::mutex export_mu;

  // Guards everything below. The exporter and callers' predicates are never called under it.
  mutable std::mutex mu;
  std::unique_ptr<RecordJournal> orders_journal;  // null: memory only
  std::unique_ptr<RecordJournal> history_journal;
  std::unique_ptr<RecordJournal> production_journal;
  std::map<std::string, WorkOrder, std::less<>> orders;  // "WO-" + 8 digits: sorted by creation
  std::map<std::string, std::string, std::less<>> open_by_dedup_key;
  uint64_t last_sequence = 0;
  std::size_t closed = 0;  // done or cancelled orders held
  internal::RecordTable<MaintenanceRecord> history;
  internal::RecordTable<ProductionOrder> production;
  Exporter exporter;
  std::deque<json::object> pending_exports;

  // ---- loading -------------------------------------------------------------------------------

  Status Load() {
    if (options.dir.empty()) return Status::Ok();
    DOPPEL_ASSIGN_OR_RETURN(orders_journal, RecordJournal::Open(options.dir, "work-orders.jsonl"));
    DOPPEL_ASSIGN_OR_RETURN(history_journal,
                            RecordJournal::Open(options.dir, "maintenance-history.jsonl"));
    DOPPEL_ASSIGN_OR_RETURN(production_journal,
                            RecordJournal::Open(options.dir, "production-orders.jsonl"));
    DOPPEL_RETURN_IF_ERROR(LoadOrders());
    DOPPEL_RETURN_IF_ERROR(
        LoadRecords(*history_journal, history, internal::MaintenanceRecordFromJson));
    DOPPEL_RETURN_IF_ERROR(
        LoadRecords(*production_journal, production, internal::ProductionOrderFromJson));
    std::lock_guard lock(mu);
    ForgetClosedBeyondLimitLocked();  // the limit may have shrunk since the last run
    ForgetRecordsBeyondLimitLocked();
    // Rewrite every file: drops tombstones and a torn last line (which the next append would
    // otherwise extend into a second bad line).
    DOPPEL_RETURN_IF_ERROR(CompactOrdersLocked());
    DOPPEL_RETURN_IF_ERROR(CompactRecordsLocked(*history_journal, history));
    return CompactRecordsLocked(*production_journal, production);
  }

  Status LoadOrders() {
    DOPPEL_ASSIGN_OR_RETURN(std::vector<json::object> records, orders_journal->ReadAll());
    for (const json::object& record : records) {
      const json::value* key = record.if_contains("key");
      if (key->as_string() == kSequenceKey) {
        if (const json::value* last = record.if_contains("lastSequence");
            last != nullptr && last->is_int64()) {
          last_sequence = std::max(last_sequence,
                                   static_cast<uint64_t>(std::max<int64_t>(0, last->as_int64())));
        }
        continue;
      }
      last_sequence =
          std::max(last_sequence, SequenceOf(key->as_string()));  // tombstones count too
      if (record.contains("deleted")) continue;
      auto order = internal::WorkOrderFromJson(record);
      if (!order.ok()) {
        spdlog::warn("work orders: skipping a stored record: {}", order.status().ToString());
        continue;
      }
      IndexLocked(*order);
      orders[order->id] = std::move(*order);
    }
    return Status::Ok();
  }

  template <typename Record>
  Status LoadRecords(RecordJournal& journal, internal::RecordTable<Record>& table,
                     Result<Record> (*decode)(json::object)) {
    DOPPEL_ASSIGN_OR_RETURN(std::vector<json::object> records, journal.ReadAll());
    for (json::object& record : records) {
      if (record.contains("deleted")) continue;
      auto decoded = decode(std::move(record));
      if (!decoded.ok()) {
        spdlog::warn("work orders: skipping a stored record in {}: {}", journal.path(),
                     decoded.status().ToString());
        continue;
      }
      table.Put(std::move(*decoded));
    }
    return Status::Ok();
  }

  // ---- work orders -----------------------------------------------------------------------------

  void IndexLocked(const WorkOrder& order) {
    if (IsOpen(order.status)) {
      if (!order.dedup_key.empty()) open_by_dedup_key[order.dedup_key] = order.id;
    } else {
      ++closed;
    }
  }

  // Makes `order` durable, then current. Nothing changes when the journal refuses it.
  Status StoreLocked(WorkOrder order, bool export_it, std::string_view event) {
    if (orders_journal != nullptr) {
      DOPPEL_RETURN_IF_ERROR(
          orders_journal->Append(Keyed(WorkOrderJson(order), order.id), options.sync));
    }
    auto it = orders.find(order.id);
    if (it != orders.end()) {
      if (IsOpen(it->second.status) && !IsOpen(order.status)) {
        open_by_dedup_key.erase(order.dedup_key);
        ++closed;
      }
    } else {
      IndexLocked(order);
    }
    if (export_it && exporter) {
      pending_exports.push_back(
          json::object{{"event", event}, {"workOrder", WorkOrderJson(order)}});
    }
    orders[order.id] = std::move(order);
    ForgetClosedBeyondLimitLocked();
    CompactOrdersIfDueLocked();
    return Status::Ok();
  }

  void ForgetClosedBeyondLimitLocked() {
    while (closed > options.max_closed) {
      auto oldest = orders.end();
      for (auto it = orders.begin(); it != orders.end(); ++it) {
        if (!IsOpen(it->second.status) &&
            (oldest == orders.end() || it->second.updated < oldest->second.updated)) {
          oldest = it;
        }
      }
      if (orders_journal != nullptr) AppendOrLog(*orders_journal, Tombstone(oldest->first), false);
      orders.erase(oldest);
      --closed;
    }
  }

  // A failed store wastes its id: ids only need to increase.
  std::string NextIdLocked() { return fmt::format("WO-{:08d}", ++last_sequence); }

  Result<WorkOrder> CreateLocked(const CreateWorkOrder& r) {
    const TimePoint now = clock.Now();
    if (!r.dedup_key.empty()) {
      if (auto open = open_by_dedup_key.find(r.dedup_key); open != open_by_dedup_key.end()) {
        WorkOrder repeat = orders.at(open->second);
        repeat.updated = now;
        AddEvent(
            repeat,
            {.time = now, .event = "repeated", .by = CreatorOf(r), .detail = EvidenceSummary(r)});
        DOPPEL_RETURN_IF_ERROR(StoreLocked(repeat, false, ""));
        return repeat;
      }
    }
    WorkOrder order{.id = NextIdLocked(),
                    .twin_id = r.twin_id,
                    .title = r.title,
                    .reason = r.reason,
                    .priority = r.priority,
                    .due = r.due,
                    .dedup_key = r.dedup_key,
                    .rule = r.rule,
                    .created_by = CreatorOf(r),
                    .assignee = r.assignee,
                    .evidence = r.evidence,
                    .created = now,
                    .updated = now};
    AddEvent(order, {.time = now, .event = "created", .by = order.created_by, .detail = r.reason});
    DOPPEL_RETURN_IF_ERROR(StoreLocked(order, true, "workOrder.created"));
    return order;
  }

  static std::string CreatorOf(const CreateWorkOrder& r) {
    if (!r.created_by.empty()) return r.created_by;
    return r.rule.empty() ? std::string() : fmt::format("rule {}", r.rule);
  }

  Result<WorkOrder> UpdateLocked(std::string_view id, const UpdateWorkOrder& u) {
    auto it = orders.find(id);
    if (it == orders.end()) {
      return Status::NotFound(fmt::format("there is no work order '{}'", id), "WorkOrderNotFound");
    }
    WorkOrder order = it->second;
    std::vector<std::string> details;
    bool exported = false;
    const bool moved = u.status && *u.status != order.status;
    if (moved) {
      if (!MayMove(order.status, *u.status)) {
        return Status::Conflict(
            fmt::format("cannot move work order {} from {} to {}", order.id,
                        WorkOrderStatusName(order.status), WorkOrderStatusName(*u.status)),
            "InvalidTransition");
      }
      order.status = *u.status;
      exported = true;
    }
    if (u.priority && *u.priority != order.priority) {
      details.push_back(fmt::format("priority: {} → {}", PriorityName(order.priority),
                                    PriorityName(*u.priority)));
      order.priority = *u.priority;
      exported = true;
    }
    if (u.due && *u.due != order.due) {
      details.push_back(fmt::format("due: {} → {}", TimeOrNone(order.due), TimeOrNone(*u.due)));
      order.due = *u.due;
      exported = true;
    }
    if (u.assignee && *u.assignee != order.assignee) {
      details.push_back(fmt::format("assignee: '{}' → '{}'", order.assignee, *u.assignee));
      order.assignee = *u.assignee;
      exported = true;
    }
    if (u.external_id && *u.external_id != order.external_id) {
      details.push_back(fmt::format("externalId: '{}' → '{}'", order.external_id, *u.external_id));
      order.external_id = *u.external_id;
    }
    if (!u.comment.empty()) details.push_back(u.comment);
    if (!moved && details.empty()) return order;  // nothing to record
    const TimePoint now = clock.Now();
    order.updated = now;
    std::string event = moved ? std::string(WorkOrderStatusName(order.status))
                        : details.size() == 1 && !u.comment.empty() ? "commented"
                                                                    : "updated";
    AddEvent(order, {.time = now,
                     .event = std::move(event),
                     .by = u.by,
                     .detail = fmt::format("{}", fmt::join(details, "; "))});
    DOPPEL_RETURN_IF_ERROR(StoreLocked(order, exported, "workOrder.updated"));
    return order;
  }

  void FlushExports() {
    std::lock_guard export_lock(export_mu);
    std::deque<json::object> batch;
    Exporter call;
    {
      std::lock_guard lock(mu);
      batch.swap(pending_exports);
      call = exporter;
    }
    if (!call) return;
    for (const json::object& message : batch) call(message);
  }

  // ---- imports
  // -----------------------------------------------------------------------------------

  template <typename Record>
  Result<ImportResult> StoreImportLocked(std::vector<Record> records, RecordJournal* journal,
                                         internal::RecordTable<Record>& table,
                                         json::object (*encode)(const Record&)) {
    ImportResult result{.imported = records.size()};
    if (journal != nullptr) {
      for (std::size_t i = 0; i < records.size(); ++i) {
        // One sync for the whole import, after its last row.
        const bool sync = options.sync && i + 1 == records.size();
        DOPPEL_RETURN_IF_ERROR(journal->Append(Keyed(encode(records[i]), records[i].id), sync));
      }
    }
    for (Record& record : records) result.replaced += table.Put(std::move(record)) ? 1 : 0;
    ForgetRecordsBeyondLimitLocked();
    if (journal != nullptr && journal->lines() > 2 * table.size() + 1024) {
      if (Status s = CompactRecordsLocked(*journal, table); !s.ok())
        spdlog::error("work orders: {}", s.ToString());
    }
    return result;
  }

  // Drops the records with the earliest start, of either kind, beyond max_records.
  void ForgetRecordsBeyondLimitLocked() {
    while (history.size() + production.size() > options.max_records) {
      const bool from_history =
          production.empty() ||
          (!history.empty() && history.Earliest().start <= production.Earliest().start);
      std::string id = from_history ? history.Earliest().id : production.Earliest().id;
      RecordJournal* journal = from_history ? history_journal.get() : production_journal.get();
      if (journal != nullptr) AppendOrLog(*journal, Tombstone(id), false);
      from_history ? history.Erase(id) : production.Erase(id);
    }
  }

  // ---- compaction
  // ---------------------------------------------------------------------------------

  static void AppendOrLog(RecordJournal& journal, const json::object& record, bool sync) {
    if (Status s = journal.Append(record, sync); !s.ok())
      spdlog::error("work orders: {}", s.ToString());
  }

  void CompactOrdersIfDueLocked() {
    if (orders_journal == nullptr || orders_journal->lines() <= 4 * orders.size() + 1024) return;
    if (Status s = CompactOrdersLocked(); !s.ok())
      spdlog::error("work orders: compaction failed: {}", s.ToString());
  }

  Status CompactOrdersLocked() {
    if (orders_journal == nullptr) return Status::Ok();
    // The sequence outlives the orders: retention may have dropped the newest id.
    std::vector<json::object> records = {
        json::object{{"key", kSequenceKey}, {"lastSequence", static_cast<int64_t>(last_sequence)}}};
    for (const auto& [id, order] : orders) records.push_back(Keyed(WorkOrderJson(order), id));
    return orders_journal->Rewrite(records);
  }

  template <typename Record>
  Status CompactRecordsLocked(RecordJournal& journal, const internal::RecordTable<Record>& table) {
    std::vector<json::object> records;
    records.reserve(table.size());
    for (const auto& [id, record] : table.by_id())
      records.push_back(Keyed(EncodeRecord(record), id));
    return journal.Rewrite(records);
  }

  static json::object EncodeRecord(const MaintenanceRecord& r) { return MaintenanceRecordJson(r); }
  static json::object EncodeRecord(const ProductionOrder& r) { return ProductionOrderJson(r); }

  // ---- reads
  // ------------------------------------------------------------------------------------------

  bool Matches(const WorkOrder& order, const WorkOrderFilter& f,
               const std::set<std::string>* allowed) const {
    return (!f.status || order.status == *f.status) && (!f.open_only || IsOpen(order.status)) &&
           (f.twin_id.empty() || order.twin_id == f.twin_id) &&
           (!f.min_priority || order.priority >= *f.min_priority) &&
           (f.rule.empty() || order.rule == f.rule) &&
           (allowed == nullptr || allowed->contains(order.twin_id));
  }

  std::vector<std::string> OrderTwins() const {
    std::lock_guard lock(mu);
    std::set<std::string> twins;
    for (const auto& [id, order] : orders) twins.insert(order.twin_id);
    return {twins.begin(), twins.end()};
  }
};

// ---- the public face
// ---------------------------------------------------------------------------------

WorkOrderService::WorkOrderService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WorkOrderService::~WorkOrderService() = default;

Result<std::unique_ptr<WorkOrderService>> WorkOrderService::Open(WorkOrderServiceOptions options,
                                                                 const Clock& clock) {
  auto impl = std::make_unique<Impl>(std::move(options), clock);
  DOPPEL_RETURN_IF_ERROR(impl->Load());
  return std::unique_ptr<WorkOrderService>(new WorkOrderService(std::move(impl)));
}

void WorkOrderService::SetExporter(Exporter exporter) {
  std::lock_guard lock(impl_->mu);
  impl_->exporter = std::move(exporter);
}

Result<WorkOrder> WorkOrderService::Create(const CreateWorkOrder& request) {
  DOPPEL_RETURN_IF_ERROR(Validate(request));
  Result<WorkOrder> created = [&] {
    std::lock_guard lock(impl_->mu);
    return impl_->CreateLocked(request);
  }();
  impl_->FlushExports();
  return created;
}

Result<WorkOrder> WorkOrderService::Update(std::string_view id, const UpdateWorkOrder& update) {
  DOPPEL_RETURN_IF_ERROR(Validate(update));
  Result<WorkOrder> updated = [&] {
    std::lock_guard lock(impl_->mu);
    return impl_->UpdateLocked(id, update);
  }();
  impl_->FlushExports();
  return updated;
}

Result<WorkOrder> WorkOrderService::Get(std::string_view id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->orders.find(id);
  if (it == impl_->orders.end()) {
    return Status::NotFound(fmt::format("there is no work order '{}'", id), "WorkOrderNotFound");
  }
  return it->second;
}

std::vector<WorkOrder> WorkOrderService::List(const WorkOrderFilter& filter) const {
  // The caller's predicate runs outside the lock, once per twin.
  std::optional<std::set<std::string>> allowed;
  if (filter.visible) allowed = Allowed(impl_->OrderTwins(), filter.visible);
  std::vector<WorkOrder> out;
  std::lock_guard lock(impl_->mu);
  for (auto it = impl_->orders.rbegin(); it != impl_->orders.rend() && out.size() < filter.limit;
       ++it) {
    if (impl_->Matches(it->second, filter, allowed ? &*allowed : nullptr))
      out.push_back(it->second);
  }
  return out;
}

Result<ImportResult> WorkOrderService::ImportMaintenanceHistory(std::string_view body,
                                                                std::string_view content_type,
                                                                const TwinPredicate& twin_exists) {
  const internal::ImportLimits limits{.max_rows = impl_->options.max_import_rows,
                                      .twin_exists = &twin_exists};
  DOPPEL_ASSIGN_OR_RETURN(std::vector<MaintenanceRecord> records,
                          internal::ParseMaintenanceImport(body, content_type, limits));
  std::lock_guard lock(impl_->mu);
  return impl_->StoreImportLocked(std::move(records), impl_->history_journal.get(), impl_->history,
                                  MaintenanceRecordJson);
}

Result<ImportResult> WorkOrderService::ImportProductionOrders(std::string_view body,
                                                              std::string_view content_type,
                                                              const TwinPredicate& twin_exists) {
  const internal::ImportLimits limits{.max_rows = impl_->options.max_import_rows,
                                      .twin_exists = &twin_exists};
  DOPPEL_ASSIGN_OR_RETURN(std::vector<ProductionOrder> records,
                          internal::ParseProductionImport(body, content_type, limits));
  std::lock_guard lock(impl_->mu);
  return impl_->StoreImportLocked(std::move(records), impl_->production_journal.get(),
                                  impl_->production, ProductionOrderJson);
}

std::vector<MaintenanceRecord> WorkOrderService::MaintenanceHistory(
    std::string_view twin_id, std::size_t limit, const TwinPredicate& visible) const {
  std::optional<std::set<std::string>> allowed;
  if (visible) {
    std::vector<std::string> twins = [&] {
      std::lock_guard lock(impl_->mu);
      return impl_->history.Twins();
    }();
    allowed = Allowed(twins, visible);
  }
  std::lock_guard lock(impl_->mu);
  return impl_->history.Latest(twin_id, limit, allowed ? &*allowed : nullptr);
}

std::vector<ProductionOrder> WorkOrderService::ProductionOrders(
    std::string_view twin_id, std::size_t limit, const TwinPredicate& visible) const {
  std::optional<std::set<std::string>> allowed;
  if (visible) {
    std::vector<std::string> twins = [&] {
      std::lock_guard lock(impl_->mu);
      return impl_->production.Twins();
    }();
    allowed = Allowed(twins, visible);
  }
  std::lock_guard lock(impl_->mu);
  return impl_->production.Latest(twin_id, limit, allowed ? &*allowed : nullptr);
}

void WorkOrderService::RenderMetrics(std::string& out) const {
  std::size_t counts[4] = {};
  std::size_t records = 0, production = 0;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [id, order] : impl_->orders) ++counts[static_cast<std::size_t>(order.status)];
    records = impl_->history.size();
    production = impl_->production.size();
  }
  out +=
      "# HELP doppel_work_orders Work orders held, by status (done and cancelled: those "
      "retained).\n"
      "# TYPE doppel_work_orders gauge\n";
  for (std::size_t s = 0; s < 4; ++s) {
    out += fmt::format("doppel_work_orders{{status=\"{}\"}} {}\n",
                       WorkOrderStatusName(static_cast<WorkOrderStatus>(s)), counts[s]);
  }
  out += fmt::format(
      "# HELP doppel_maintenance_records Imported maintenance records held.\n"
      "# TYPE doppel_maintenance_records gauge\n"
      "doppel_maintenance_records {}\n"
      "# HELP doppel_production_orders Imported production orders held.\n"
      "# TYPE doppel_production_orders gauge\n"
      "doppel_production_orders {}\n",
      records, production);
}

}  // namespace doppel::maintenance
