// The action log (automation_service.h, "The action log"): one JSON record per action
// automation took or proposed, the newest `max_records` kept, in memory and in
// <dir>/actions.jsonl. Internal to src/automation.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "automation/automation_service.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/record_journal.h"
#include "base/status.h"

namespace doppel::automation::internal {

// 32 random hex digits (action, recommendation ids).
std::string RandomId();

class ActionLog {
 public:
  // `dir` "" = memory only. Unavailable/Internal when the journal cannot be read or written.
  static Result<std::unique_ptr<ActionLog>> Open(const std::string& dir, std::size_t max_records, bool sync);

  // Gives the record an "actionId", keeps it and persists it (a write error is logged: the
  // action has happened whether or not its record reached the disk). Returns the record.
  json::object Append(json::object record);
  // Newest first.
  json::array List(const ActionFilter& filter) const;
  // Per rule, the time of its newest record (each rule's "lastFired" after a restart).
  std::map<std::string, std::string, std::less<>> LastTimes() const;
  std::size_t size() const;
  // Records appended since Open, by "outcome" (for /metrics).
  std::map<std::string, uint64_t> outcome_counts() const;

 private:
  ActionLog(std::unique_ptr<RecordJournal> journal, std::size_t max_records, bool sync)
      : journal_(std::move(journal)), max_records_(max_records), sync_(sync) {}

  mutable std::mutex mu_;
  std::unique_ptr<RecordJournal> journal_;  // null = memory only
  const std::size_t max_records_;
  const bool sync_;
  std::deque<json::object> records_;  // oldest first
  std::map<std::string, uint64_t> outcome_counts_;
};

}  // namespace doppel::automation::internal
