// AlertService: alerts in memory (by id, and the open ones by dedup key), every change written
// to the record journal before it is answered or announced. The JSON shapes are in
// internal/alert_record.cc.
#include "alerts/alert_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <map>
#include <random>
#include <thread>

#include "alerts/internal/alert_record.h"
#include "base/record_journal.h"

namespace doppel::alerts {
namespace {

using internal::ValidateText;

constexpr std::size_t kSeverityCount = 5;

std::string RandomHex() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   static_cast<uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()))};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

Status NoSuchAlert(std::string_view id) {
  return Status::NotFound(fmt::format("there is no alert with id '{}'", id), "AlertNotFound");
}

bool IsOpen(const Alert& alert) { return alert.state != AlertState::kCleared; }

void Record(Alert& alert, TimePoint time, std::string event, std::string_view by, std::string_view detail) {
  alert.history.push_back({time, std::move(event), std::string(by), std::string(detail)});
  if (alert.history.size() > internal::kMaxHistory) {
    alert.history.erase(alert.history.begin(),
                        alert.history.begin() + static_cast<std::ptrdiff_t>(alert.history.size() - internal::kMaxHistory));
  }
}

bool Matches(const Alert& alert, const AlertFilter& filter) {
  if (filter.state && alert.state != *filter.state) return false;
  if (filter.open_only && !IsOpen(alert)) return false;
  if (filter.min_severity && alert.severity < *filter.min_severity) return false;
  if (!filter.twin_id.empty() && alert.twin_id != filter.twin_id) return false;
  if (!filter.rule.empty() && alert.rule != filter.rule) return false;
  if (filter.since && alert.last_raised < *filter.since) return false;
  return !filter.where || filter.where(alert);
}

}  // namespace

struct AlertService::Impl {
  Impl(AlertServiceOptions o, const Clock& c) : options(std::move(o)), clock(c) {}

  // Immutable after construction.
  const AlertServiceOptions options;
  const Clock& clock;

  mutable std::mutex mu;
  std::map<std::string, Alert, std::less<>> alerts;                 // by id; guarded by mu
  std::map<std::string, std::string, std::less<>> open_by_key;      // dedup key → id; guarded by mu
  std::unique_ptr<RecordJournal> journal;                           // null: memory only; guarded by mu
  std::size_t closed = 0;                                           // cleared alerts held; guarded by mu
  uint64_t raised_total = 0;                                        // guarded by mu

  // Held while listeners run, taken before mu is released: two changes of one alert reach the
  // listeners in the order they were made, and the listeners run outside mu.
  std::mutex notify_mu;
  std::vector<Listener> listeners;  // guarded by notify_mu

  Status Load();
  // Writes `alert` to the journal, then makes it the stored version (so a failed write
  // changes nothing), keeping the key index and the closed count in step.
  Status CommitLocked(Alert alert);
  void CompactIfDueLocked();
  Status CompactLocked();
  // Answers `alert` after announcing it: hands the lock over to notify_mu first.
  Alert Announce(std::unique_lock<std::mutex>& lock, Alert alert);
  Result<Alert> ClearLocked(std::unique_lock<std::mutex>& lock, Alert alert, std::string_view by,
                            std::string_view reason);
  Result<Alert> FindLocked(std::string_view id) const;
};

AlertService::AlertService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AlertService::~AlertService() = default;

Result<std::unique_ptr<AlertService>> AlertService::Open(AlertServiceOptions options, const Clock& clock) {
  auto impl = std::make_unique<Impl>(std::move(options), clock);
  DOPPEL_RETURN_IF_ERROR(impl->Load());
  return std::unique_ptr<AlertService>(new AlertService(std::move(impl)));
}

// ---- persistence -------------------------------------------------------------------------------

Status AlertService::Impl::Load() {
  if (options.dir.empty()) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(journal, RecordJournal::Open(options.dir));
  DOPPEL_ASSIGN_OR_RETURN(std::vector<json::object> records, journal->ReadAll());
  std::size_t skipped = 0;
  for (const json::object& record : records) {
    Result<Alert> alert = internal::AlertFromRecord(record);
    if (!alert.ok()) {
      ++skipped;
      continue;
    }
    if (IsOpen(*alert)) {
      // Two open alerts with one key cannot be written by this service; if a hand-edited file
      // has them, the newest raise is the one repeats go to.
      auto [it, inserted] = open_by_key.emplace(alert->dedup_key, alert->id);
      if (!inserted && alerts.at(it->second).last_raised < alert->last_raised) it->second = alert->id;
    } else {
      ++closed;
    }
    alerts[alert->id] = std::move(*alert);
  }
  if (skipped > 0) spdlog::warn("alerts: {} unreadable records in {} skipped", skipped, journal->path());
  std::lock_guard lock(mu);
  // Also rewrites a torn last line away, so the next append starts on a line of its own.
  return CompactLocked();
}

Status AlertService::Impl::CommitLocked(Alert alert) {
  if (journal != nullptr) DOPPEL_RETURN_IF_ERROR(journal->Append(internal::AlertRecord(alert), options.sync));
  auto it = alerts.find(alert.id);
  const bool was_open = it != alerts.end() && IsOpen(it->second);
  if (IsOpen(alert)) {
    open_by_key[alert.dedup_key] = alert.id;
  } else if (was_open || it == alerts.end()) {
    if (auto key = open_by_key.find(alert.dedup_key); key != open_by_key.end() && key->second == alert.id) {
      open_by_key.erase(key);
    }
    ++closed;
  }
  if (it == alerts.end()) {
    alerts.emplace(alert.id, std::move(alert));
  } else {
    it->second = std::move(alert);
  }
  CompactIfDueLocked();
  return Status::Ok();
}

void AlertService::Impl::CompactIfDueLocked() {
  // Cleared alerts past the bound are dropped at compaction: let them pile up by half the
  // bound (at least 64) so that a steady stream of clears compacts now and then, not each time.
  const bool too_many_closed = closed > options.max_closed + std::max<std::size_t>(options.max_closed / 2, 64);
  const bool journal_long = journal != nullptr && journal->lines() > 4 * alerts.size() + 1024;
  if (!too_many_closed && !journal_long) return;
  if (Status s = CompactLocked(); !s.ok()) spdlog::error("alerts: compaction failed: {}", s.ToString());
}

Status AlertService::Impl::CompactLocked() {
  if (closed > options.max_closed) {
    // Oldest first: by when they were cleared, then by id for a stable order.
    std::vector<std::pair<TimePoint, std::string>> cleared;
    for (const auto& [id, alert] : alerts) {
      if (!IsOpen(alert)) cleared.emplace_back(alert.cleared.value_or(alert.last_raised), id);
    }
    std::sort(cleared.begin(), cleared.end());
    const std::size_t excess = closed - options.max_closed;
    for (std::size_t i = 0; i < excess && i < cleared.size(); ++i) alerts.erase(cleared[i].second);
    closed -= std::min(excess, cleared.size());
  }
  if (journal == nullptr) return Status::Ok();
  std::vector<json::object> records;
  records.reserve(alerts.size());
  for (const auto& [id, alert] : alerts) records.push_back(internal::AlertRecord(alert));
  return journal->Rewrite(records);
}

// ---- changes -----------------------------------------------------------------------------------

Alert AlertService::Impl::Announce(std::unique_lock<std::mutex>& lock, Alert alert) {
  std::lock_guard notify(notify_mu);
  lock.unlock();
  for (const Listener& listener : listeners) listener(alert);
  return alert;
}

Result<Alert> AlertService::Impl::FindLocked(std::string_view id) const {
  auto it = alerts.find(id);
  if (it == alerts.end()) return NoSuchAlert(id);
  return it->second;
}

Result<Alert> AlertService::Raise(const RaiseRequest& request) {
  DOPPEL_RETURN_IF_ERROR(internal::ValidateRaise(request));
  Impl& s = *impl_;
  std::unique_lock lock(s.mu);
  const TimePoint now = s.clock.Now();
  auto open = request.dedup_key.empty() ? s.open_by_key.end() : s.open_by_key.find(request.dedup_key);
  if (open != s.open_by_key.end()) {
    Alert alert = s.alerts.at(open->second);
    ++alert.count;
    alert.last_raised = now;
    std::string detail;
    if (request.severity > alert.severity) {
      detail = fmt::format("severity {} → {}", SeverityName(alert.severity), SeverityName(request.severity));
      alert.severity = request.severity;
    }
    // A repeat without evidence (a person re-raising) keeps what the last one showed.
    if (!request.evidence.is_null()) alert.evidence = request.evidence;
    Record(alert, now, "repeated", request.raised_by, detail);
    DOPPEL_RETURN_IF_ERROR(s.CommitLocked(alert));
    return s.Announce(lock, std::move(alert));
  }
  if (s.alerts.size() - s.closed >= s.options.max_open) {
    return Status::ResourceExhausted(
        fmt::format("{} alerts are open, the most this server keeps; clear some first", s.options.max_open),
        "TooManyOpenAlerts");
  }
  Alert alert{.id = RandomHex(),
              .dedup_key = request.dedup_key,
              .twin_id = request.twin_id,
              .rule = request.rule,
              .severity = request.severity,
              .title = request.title,
              .message = request.message,
              .raised = now,
              .last_raised = now,
              .evidence = request.evidence};
  // No key: the alert's own id, which no other raise can name, so it is never de-duplicated.
  if (alert.dedup_key.empty()) alert.dedup_key = alert.id;
  Record(alert, now, "raised", request.raised_by, "");
  DOPPEL_RETURN_IF_ERROR(s.CommitLocked(alert));
  ++s.raised_total;
  return s.Announce(lock, std::move(alert));
}

Result<Alert> AlertService::Acknowledge(std::string_view id, std::string_view by, std::string_view comment) {
  DOPPEL_RETURN_IF_ERROR(ValidateText("comment", comment, /*required=*/false));
  Impl& s = *impl_;
  std::unique_lock lock(s.mu);
  DOPPEL_ASSIGN_OR_RETURN(Alert alert, s.FindLocked(id));
  if (alert.state == AlertState::kCleared) {
    return Status::Conflict(fmt::format("alert '{}' is cleared; it can no longer be acknowledged", id), "AlertCleared");
  }
  if (alert.state == AlertState::kAcknowledged) return alert;
  const TimePoint now = s.clock.Now();
  alert.state = AlertState::kAcknowledged;
  alert.acknowledged = now;
  alert.acknowledged_by = by;
  Record(alert, now, "acknowledged", by, comment);
  if (!comment.empty()) alert.comments.push_back({now, std::string(by), std::string(comment)});
  DOPPEL_RETURN_IF_ERROR(s.CommitLocked(alert));
  return s.Announce(lock, std::move(alert));
}

Result<Alert> AlertService::Impl::ClearLocked(std::unique_lock<std::mutex>& lock, Alert alert, std::string_view by,
                                              std::string_view reason) {
  if (alert.state == AlertState::kCleared) return alert;
  const TimePoint now = clock.Now();
  alert.state = AlertState::kCleared;
  alert.cleared = now;
  alert.cleared_by = by;
  Record(alert, now, "cleared", by, reason);
  DOPPEL_RETURN_IF_ERROR(CommitLocked(alert));
  return Announce(lock, std::move(alert));
}

Result<Alert> AlertService::Clear(std::string_view id, std::string_view by, std::string_view reason) {
  DOPPEL_RETURN_IF_ERROR(ValidateText("reason", reason, /*required=*/false));
  std::unique_lock lock(impl_->mu);
  DOPPEL_ASSIGN_OR_RETURN(Alert alert, impl_->FindLocked(id));
  return impl_->ClearLocked(lock, std::move(alert), by, reason);
}

Result<std::optional<Alert>> AlertService::ClearByKey(std::string_view dedup_key, std::string_view by,
                                                      std::string_view reason) {
  DOPPEL_RETURN_IF_ERROR(ValidateText("reason", reason, /*required=*/false));
  std::unique_lock lock(impl_->mu);
  auto open = impl_->open_by_key.find(dedup_key);
  if (open == impl_->open_by_key.end()) return std::optional<Alert>();
  DOPPEL_ASSIGN_OR_RETURN(Alert cleared, impl_->ClearLocked(lock, impl_->alerts.at(open->second), by, reason));
  return std::optional<Alert>(std::move(cleared));
}

Result<Alert> AlertService::Comment(std::string_view id, std::string_view author, std::string_view text) {
  DOPPEL_RETURN_IF_ERROR(ValidateText("text", text, /*required=*/true));
  Impl& s = *impl_;
  std::unique_lock lock(s.mu);
  DOPPEL_ASSIGN_OR_RETURN(Alert alert, s.FindLocked(id));
  if (alert.comments.size() >= internal::kMaxComments) {
    return Status::ResourceExhausted(
        fmt::format("alert '{}' already has {} comments, the most one alert keeps", id, internal::kMaxComments));
  }
  std::size_t kept = text.size();
  for (const AlertComment& c : alert.comments) kept += c.text.size();
  if (kept > internal::kMaxCommentBytes) {
    return Status::ResourceExhausted(fmt::format(
        "alert '{}' already keeps {} KiB of comments, the most one alert keeps is {} KiB", id,
        (kept - text.size()) >> 10, internal::kMaxCommentBytes >> 10));
  }
  const TimePoint now = s.clock.Now();
  alert.comments.push_back({now, std::string(author), std::string(text)});
  Record(alert, now, "commented", author, text);
  DOPPEL_RETURN_IF_ERROR(s.CommitLocked(alert));
  return s.Announce(lock, std::move(alert));
}

// ---- reads -------------------------------------------------------------------------------------

Result<Alert> AlertService::Get(std::string_view id) const {
  std::lock_guard lock(impl_->mu);
  return impl_->FindLocked(id);
}

std::vector<Alert> AlertService::List(const AlertFilter& filter) const {
  // Pick (time, id) first and copy only the page: the store may hold tens of thousands.
  std::vector<std::pair<TimePoint, const Alert*>> found;
  std::vector<Alert> out;
  std::lock_guard lock(impl_->mu);
  for (const auto& [id, alert] : impl_->alerts) {
    if (Matches(alert, filter)) found.emplace_back(alert.last_raised, &alert);
  }
  const std::size_t n = std::min(filter.limit, found.size());
  std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(n), found.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second->id > b.second->id;
                    });
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(*found[i].second);
  return out;
}

std::optional<Alert> AlertService::FindOpen(std::string_view dedup_key) const {
  std::lock_guard lock(impl_->mu);
  auto open = impl_->open_by_key.find(dedup_key);
  if (open == impl_->open_by_key.end()) return std::nullopt;
  return impl_->alerts.at(open->second);
}

void AlertService::Subscribe(Listener listener) {
  std::lock_guard lock(impl_->notify_mu);
  impl_->listeners.push_back(std::move(listener));
}

void AlertService::RenderMetrics(std::string& out) const {
  std::array<uint64_t, kSeverityCount> open{};
  uint64_t raised = 0;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [key, id] : impl_->open_by_key) ++open[static_cast<std::size_t>(impl_->alerts.at(id).severity)];
    raised = impl_->raised_total;
  }
  out += "# HELP doppel_alerts_open Alerts raised or acknowledged and not yet cleared, by severity.\n"
         "# TYPE doppel_alerts_open gauge\n";
  for (std::size_t i = 0; i < kSeverityCount; ++i) {
    out += fmt::format("doppel_alerts_open{{severity=\"{}\"}} {}\n", SeverityName(static_cast<Severity>(i)), open[i]);
  }
  out += "# HELP doppel_alerts_raised_total New alerts raised since the server started (repeats not counted).\n"
         "# TYPE doppel_alerts_raised_total counter\n";
  out += fmt::format("doppel_alerts_raised_total {}\n", raised);
}

}  // namespace doppel::alerts
