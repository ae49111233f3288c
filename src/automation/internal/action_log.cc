#include "automation/internal/action_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>
#include <thread>

#include "base/file_io.h"

namespace doppel::automation::internal {
namespace {

std::string_view StringOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

}  // namespace

std::string RandomId() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   static_cast<uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()))};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

Result<std::unique_ptr<ActionLog>> ActionLog::Open(const std::string& dir, std::size_t max_records, bool sync) {
  std::unique_ptr<RecordJournal> journal;
  if (!dir.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(journal, RecordJournal::Open(dir, "actions.jsonl"));
  }
  std::unique_ptr<ActionLog> log(new ActionLog(std::move(journal), std::max<std::size_t>(max_records, 1), sync));
  if (log->journal_ == nullptr) return log;
  DOPPEL_ASSIGN_OR_RETURN(std::vector<json::object> records, log->journal_->ReadAll());
  // Records are appended in time order with fresh keys: the file's order is the log's.
  const std::size_t skip = records.size() > log->max_records_ ? records.size() - log->max_records_ : 0;
  for (std::size_t i = skip; i < records.size(); ++i) {
    records[i].erase("key");
    log->records_.push_back(std::move(records[i]));
  }
  // A torn last line (a crash mid-append) would swallow the next record appended after it:
  // rewriting drops it.
  Result<std::string> text = ReadFile(log->journal_->path());
  const bool torn = text.ok() && !text->empty() && text->back() != '\n';
  if (skip > 0 || torn) {
    std::vector<json::object> kept;
    for (const json::object& r : log->records_) {
      json::object line = r;
      line["key"] = StringOf(r, "actionId");
      kept.push_back(std::move(line));
    }
    DOPPEL_RETURN_IF_ERROR(log->journal_->Rewrite(kept));
  }
  return log;
}

json::object ActionLog::Append(json::object record) {
  record["actionId"] = RandomId();
  std::lock_guard lock(mu_);
  records_.push_back(record);
  ++outcome_counts_[std::string(StringOf(record, "outcome"))];
  if (records_.size() > max_records_) records_.pop_front();
  if (journal_ == nullptr) return record;
  json::object line = record;
  line["key"] = record.at("actionId");
  Status written = journal_->Append(line, sync_);
  // Past twice what is kept, rewrite with what is kept: the file stays bounded.
  if (written.ok() && journal_->lines() > 2 * max_records_ + 1'000) {
    std::vector<json::object> kept;
    for (const json::object& r : records_) {
      json::object copy = r;
      copy["key"] = r.at("actionId");
      kept.push_back(std::move(copy));
    }
    written = journal_->Rewrite(kept);
  }
  if (!written.ok()) spdlog::error("automation: the action log could not be written: {}", written.ToString());
  return record;
}

json::array ActionLog::List(const ActionFilter& filter) const {
  json::array out;
  std::lock_guard lock(mu_);
  for (auto it = records_.rbegin(); it != records_.rend() && out.size() < filter.limit; ++it) {
    if (!filter.rule.empty() && StringOf(*it, "rule") != filter.rule) continue;
    if (!filter.twin_id.empty() && StringOf(*it, "twinId") != filter.twin_id) continue;
    out.push_back(*it);
  }
  return out;
}

std::map<std::string, std::string, std::less<>> ActionLog::LastTimes() const {
  std::map<std::string, std::string, std::less<>> last;
  std::lock_guard lock(mu_);
  for (const json::object& r : records_) last[std::string(StringOf(r, "rule"))] = std::string(StringOf(r, "time"));
  return last;
}

std::map<std::string, uint64_t> ActionLog::outcome_counts() const {
  std::lock_guard lock(mu_);
  return outcome_counts_;
}

std::size_t ActionLog::size() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

}  // namespace doppel::automation::internal
