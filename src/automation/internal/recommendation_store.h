// Recommendations (automation_service.h): device actions waiting for an operator, and what
// became of them — kept in memory and in <dir>/recommendations.jsonl. Internal to
// src/automation.
//
//   pending ──approve──▶ approved ──▶ executed | failed
//      ├──reject──▶ rejected
//      └──ttl─────▶ expired
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "automation/automation_service.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/record_journal.h"
#include "base/status.h"

namespace doppel::automation::internal {

struct Recommendation {
  std::string id;
  std::string rule;
  std::string twin_id;
  json::array actions = {};  // the device actions: {"type", "property", "value"} | {"type", "command", "payload"}
  json::value evidence = nullptr;
  std::string status = "pending";
  TimePoint created{};
  TimePoint expires{};
  std::string decided_by = {};
  std::optional<TimePoint> decided = {};
  std::string comment = {};
  json::array results = {};  // action records of the approved run
};
json::object RecommendationJson(const Recommendation& r);

class RecommendationStore {
 public:
  // `dir` "" = memory only. Decided recommendations beyond `max_decided` are forgotten, oldest
  // first; pending ones never are.
  static Result<std::unique_ptr<RecommendationStore>> Open(const std::string& dir, std::size_t max_decided, bool sync);

  Status Add(const Recommendation& r);
  // NotFound "RecommendationNotFound".
  Result<Recommendation> Get(std::string_view id) const;
  // Newest first.
  std::vector<Recommendation> List(const RecommendationFilter& filter) const;
  // pending → `status` ("approved", "rejected", "expired") by `by` at `now`: Conflict
  // "NotPending" from any other state. Returns the decided recommendation.
  Result<Recommendation> Decide(std::string_view id, std::string_view status, std::string_view by,
                                std::string_view comment, TimePoint now);
  // approved → executed | failed, with the actions' records.
  Result<Recommendation> Finish(std::string_view id, bool succeeded, json::array results);
  // Expires every pending recommendation whose time is up; returns them.
  std::vector<Recommendation> ExpireDue(TimePoint now);
  std::size_t CountWithStatus(std::string_view status) const;

 private:
  RecommendationStore(std::unique_ptr<RecordJournal> journal, std::size_t max_decided, bool sync)
      : journal_(std::move(journal)), max_decided_(max_decided), sync_(sync) {}
  Status PersistLocked(const Recommendation& r);
  void TrimLocked();

  mutable std::mutex mu_;
  std::unique_ptr<RecordJournal> journal_;  // null = memory only
  const std::size_t max_decided_;
  const bool sync_;
  std::map<std::string, Recommendation, std::less<>> by_id_;
};

}  // namespace doppel::automation::internal
