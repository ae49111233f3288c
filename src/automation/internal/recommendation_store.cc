#include "automation/internal/recommendation_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace doppel::automation::internal {
namespace {

std::string StringOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<TimePoint> TimeOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  auto t = ParseRfc3339(v->get_string());
  return t.ok() ? std::optional<TimePoint>(*t) : std::nullopt;
}

std::optional<Recommendation> RecommendationFromJson(const json::object& o) {
  Recommendation r{.id = StringOf(o, "recommendationId"), .rule = StringOf(o, "rule"), .twin_id = StringOf(o, "twinId")};
  if (r.id.empty()) return std::nullopt;
  if (const json::value* a = o.if_contains("actions"); a != nullptr && a->is_array()) r.actions = a->get_array();
  if (const json::value* e = o.if_contains("evidence")) r.evidence = *e;
  r.status = StringOf(o, "status");
  r.created = TimeOf(o, "createdTime").value_or(TimePoint{});
  r.expires = TimeOf(o, "expiresTime").value_or(r.created);
  r.decided_by = StringOf(o, "decidedBy");
  r.decided = TimeOf(o, "decidedTime");
  r.comment = StringOf(o, "comment");
  if (const json::value* a = o.if_contains("results"); a != nullptr && a->is_array()) r.results = a->get_array();
  return r;
}

bool Decided(const Recommendation& r) { return r.status != "pending" && r.status != "approved"; }

Status NotFound(std::string_view id) {
  return Status::NotFound(fmt::format("there is no recommendation '{}'", id), "RecommendationNotFound");
}

}  // namespace

json::object RecommendationJson(const Recommendation& r) {
  json::object o{{"recommendationId", r.id},       {"rule", r.rule},
                 {"twinId", r.twin_id},             {"actions", r.actions},
                 {"evidence", r.evidence},          {"status", r.status},
                 {"createdTime", FormatRfc3339(r.created)}, {"expiresTime", FormatRfc3339(r.expires)},
                 {"results", r.results}};
  if (!r.decided_by.empty()) o["decidedBy"] = r.decided_by;
  if (r.decided) o["decidedTime"] = FormatRfc3339(*r.decided);
  if (!r.comment.empty()) o["comment"] = r.comment;
  return o;
}

Result<std::unique_ptr<RecommendationStore>> RecommendationStore::Open(const std::string& dir, std::size_t max_decided,
                                                                       bool sync) {
  std::unique_ptr<RecordJournal> journal;
  if (!dir.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(journal, RecordJournal::Open(dir, "recommendations.jsonl"));
  }
  std::unique_ptr<RecommendationStore> store(new RecommendationStore(std::move(journal), max_decided, sync));
  if (store->journal_ == nullptr) return store;
  DOPPEL_ASSIGN_OR_RETURN(std::vector<json::object> records, store->journal_->ReadAll());
  for (const json::object& record : records) {
    std::optional<Recommendation> r = RecommendationFromJson(record);
    if (r) store->by_id_[r->id] = std::move(*r);
  }
  std::lock_guard lock(store->mu_);
  store->TrimLocked();
  std::vector<json::object> kept;
  for (const auto& [id, r] : store->by_id_) {
    json::object line = RecommendationJson(r);
    line["key"] = id;
    kept.push_back(std::move(line));
  }
  DOPPEL_RETURN_IF_ERROR(store->journal_->Rewrite(kept));
  return store;
}

Status RecommendationStore::PersistLocked(const Recommendation& r) {
  if (journal_ == nullptr) return Status::Ok();
  json::object line = RecommendationJson(r);
  line["key"] = r.id;
  DOPPEL_RETURN_IF_ERROR(journal_->Append(line, sync_));
  if (journal_->lines() <= 4 * by_id_.size() + 1'000) return Status::Ok();
  std::vector<json::object> kept;
  for (const auto& [id, rec] : by_id_) {
    json::object copy = RecommendationJson(rec);
    copy["key"] = id;
    kept.push_back(std::move(copy));
  }
  return journal_->Rewrite(kept);
}

void RecommendationStore::TrimLocked() {
  std::vector<const Recommendation*> decided;
  for (const auto& [id, r] : by_id_) {
    if (Decided(r)) decided.push_back(&r);
  }
  if (decided.size() <= max_decided_) return;
  std::sort(decided.begin(), decided.end(), [](const Recommendation* a, const Recommendation* b) {
    return a->decided.value_or(a->created) < b->decided.value_or(b->created);
  });
  std::vector<std::string> drop;
  for (std::size_t i = 0; i + max_decided_ < decided.size(); ++i) drop.push_back(decided[i]->id);
  for (const std::string& id : drop) by_id_.erase(id);
}

Status RecommendationStore::Add(const Recommendation& r) {
  std::lock_guard lock(mu_);
  by_id_[r.id] = r;
  return PersistLocked(r);
}

Result<Recommendation> RecommendationStore::Get(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return NotFound(id);
  return it->second;
}

std::vector<Recommendation> RecommendationStore::List(const RecommendationFilter& filter) const {
  std::vector<Recommendation> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, r] : by_id_) {
      if (!filter.status.empty() && r.status != filter.status) continue;
      if (!filter.twin_id.empty() && r.twin_id != filter.twin_id) continue;
      if (!filter.rule.empty() && r.rule != filter.rule) continue;
      out.push_back(r);
    }
  }
  std::sort(out.begin(), out.end(), [](const Recommendation& a, const Recommendation& b) {
    return a.created != b.created ? a.created > b.created : a.id > b.id;
  });
  if (out.size() > filter.limit) out.resize(filter.limit);
  return out;
}

Result<Recommendation> RecommendationStore::Decide(std::string_view id, std::string_view status, std::string_view by,
                                                   std::string_view comment, TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return NotFound(id);
  Recommendation& r = it->second;
  if (r.status == "pending" && r.expires <= now) {
    // Past its expiry but not yet swept by the worker's tick: it expired all the same.
    Recommendation expired = r;
    expired.status = "expired";
    expired.decided = now;
    if (PersistLocked(expired).ok()) r = std::move(expired);
    return Status::Conflict(fmt::format("recommendation '{}' has expired: only a pending one can be decided", id),
                            "NotPending");
  }
  if (r.status != "pending") {
    return Status::Conflict(fmt::format("recommendation '{}' is {}: only a pending one can be decided", id, r.status),
                            "NotPending");
  }
  // Changed on a copy: a decision that cannot be made durable leaves the recommendation pending.
  Recommendation decided = r;
  decided.status = std::string(status);
  decided.decided_by = std::string(by);
  decided.decided = now;
  decided.comment = std::string(comment);
  // The decision must be durable before an approved action runs: a crash after the device
  // moved must not leave the recommendation pending (approvable a second time).
  DOPPEL_RETURN_IF_ERROR(PersistLocked(decided));
  r = std::move(decided);
  Recommendation out = r;
  TrimLocked();
  return out;
}

Result<Recommendation> RecommendationStore::Finish(std::string_view id, bool succeeded, json::array results) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return NotFound(id);
  it->second.status = succeeded ? "executed" : "failed";
  it->second.results = std::move(results);
  Status persisted = PersistLocked(it->second);
  if (!persisted.ok()) spdlog::error("automation: recommendation {} not persisted: {}", id, persisted.ToString());
  return it->second;
}

std::vector<Recommendation> RecommendationStore::ExpireDue(TimePoint now) {
  std::vector<Recommendation> expired;
  std::lock_guard lock(mu_);
  for (auto& [id, r] : by_id_) {
    if (r.status != "pending" || r.expires > now) continue;
    r.status = "expired";
    r.decided = now;
    Status persisted = PersistLocked(r);
    if (!persisted.ok()) spdlog::error("automation: recommendation {} not persisted: {}", id, persisted.ToString());
    expired.push_back(r);
  }
  if (!expired.empty()) TrimLocked();
  return expired;
}

std::size_t RecommendationStore::CountWithStatus(std::string_view status) const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(
      std::count_if(by_id_.begin(), by_id_.end(), [&](const auto& e) { return e.second.status == status; }));
}

}  // namespace doppel::automation::internal
