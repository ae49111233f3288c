// Alerts (docs/alerts.md): what needs a person's attention — raised by rules or by people,
// de-duplicated, acknowledged, commented on, cleared, and kept with their history.
//
//   raised ──acknowledge──▶ acknowledged ──clear──▶ cleared
//      └─────────────────────clear────────────────────▶ cleared
//
// De-duplication: an alert has a `dedup_key` (a rule's alerts use "<rule>/<twin>"). Raising
// with the key of an alert that is not cleared does not make a new one: the open alert's
// `count` grows, `last_raised` moves, its severity rises if the new one is higher (never
// falls), its evidence becomes the newest (when the repeat carries any), and its history records
// the repeat. Raising after the alert was cleared opens a new alert (a new id).
//
//   auto alerts = AlertService::Open({.dir = data_dir + "/alerts"}, clock);
//   auto a = (*alerts)->Raise({.twin_id = "kr-wtg-03", .dedup_key = "bearing/kr-wtg-03",
//                              .severity = Severity::kMajor, .title = "Main bearing wear",
//                              .rule = "bearing", .evidence = {...}});
//   (*alerts)->Acknowledge(a->id, "operator@plant", "looking at it");
//   (*alerts)->ClearByKey("bearing/kr-wtg-03", "rule bearing", "condition cleared");
//
// Every change is announced to the listeners (the /ws stream pushes it to subscribers of the
// twin, and of all alerts). Persistence: <dir>/journal.jsonl (base/record_journal.h), synced
// on every change — an acknowledged alert change survives kill -9. Retained: every open alert
// and the newest `max_closed` cleared ones.
//
// Thread-safety: every public method may be called from any thread. Listeners are called
// after the change is durable, outside the service's lock, on the changing thread, one change at
// a time and in the order the changes were made; they must not block or call back into the
// service.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::alerts {

enum class Severity : uint8_t { kInfo, kWarning, kMinor, kMajor, kCritical };  // ordered
std::string_view SeverityName(Severity severity);  // "info" … "critical"
Result<Severity> ParseSeverity(std::string_view name);  // InvalidArgument naming the choices

enum class AlertState : uint8_t { kRaised, kAcknowledged, kCleared };
std::string_view AlertStateName(AlertState state);  // "raised", "acknowledged", "cleared"
Result<AlertState> ParseAlertState(std::string_view name);

struct AlertComment {
  TimePoint time{};
  std::string author = {};
  std::string text = {};
};

// One entry of an alert's history: "raised", "repeated", "acknowledged", "commented", "cleared".
struct AlertEvent {
  TimePoint time{};
  std::string event = {};
  std::string by = {};      // who (a caller's name, or "rule <name>")
  std::string detail = {};  // a comment, a reason
};

struct Alert {
  std::string id = {};  // 32 hex digits
  std::string dedup_key = {};
  std::string twin_id = {};  // the asset ("" = not about one twin)
  std::string rule = {};  // the rule that raised it ("" = raised by a person)
  Severity severity = Severity::kWarning;
  std::string title = {};
  std::string message = {};
  AlertState state = AlertState::kRaised;
  TimePoint raised{};
  TimePoint last_raised{};
  uint64_t count = 1;  // raises while open (de-duplicated repeats + 1)
  std::optional<TimePoint> acknowledged = {};
  std::string acknowledged_by = {};
  std::optional<TimePoint> cleared = {};
  std::string cleared_by = {};
  json::value evidence = nullptr;  // what made it: rule evidence, scores, a history link
  std::vector<AlertComment> comments = {};
  std::vector<AlertEvent> history = {};  // at most 100 entries kept (the newest)
};
// {"alertId", "dedupKey", "twinId", "rule"?, "severity", "title", "message", "state",
//  "raisedTime", "lastRaisedTime", "count", "acknowledgedTime"?, "acknowledgedBy"?,
//  "clearedTime"?, "clearedBy"?, "evidence", "comments": [{"time","author","text"}],
//  "history": [{"time","event","by","detail"}]}
json::object AlertJson(const Alert& alert);

struct RaiseRequest {
  std::string twin_id = {};
  std::string dedup_key = {};  // "" = a fresh key (never de-duplicated)
  Severity severity = Severity::kWarning;
  std::string title = {};  // required, ≤ 200 characters
  std::string message = {};  // ≤ 4,000 characters
  std::string rule = {};
  std::string raised_by = {};  // for the history ("rule <name>" or a caller)
  json::value evidence = nullptr;  // ≤ 64 KiB serialised
};

struct AlertFilter {
  std::optional<AlertState> state = {};
  bool open_only = false;  // raised or acknowledged
  std::optional<Severity> min_severity = {};
  std::string twin_id = {};
  std::string rule = {};
  std::optional<TimePoint> since = {};  // last_raised ≥ since
  // And this holds (null = every alert): the API's "alerts of twins the caller may see". It
  // runs under the service's lock, before `limit` is applied: it must not raise or change
  // alerts, nor take a lock held by code that does (callers may hold the twin graph's read lock
  // around List — the lock order is graph, then alerts).
  std::function<bool(const Alert& alert)> where = {};
  std::size_t limit = 100;
};

struct AlertServiceOptions {
  std::string dir = {};  // "" = memory only
  std::size_t max_closed = 10'000;
  std::size_t max_open = 100'000;  // beyond: ResourceExhausted on Raise of a new alert
  bool sync = true;                // fsync each change (tests turn it off)
};

class AlertService {
 public:
  // Loads the journal. Unavailable/Internal when it cannot be read or written.
  static Result<std::unique_ptr<AlertService>> Open(AlertServiceOptions options,
                                                    const Clock& clock = SystemClock::Instance());
  ~AlertService();
  AlertService(const AlertService&) = delete;
  AlertService& operator=(const AlertService&) = delete;

  // A new alert, or the open one with the same dedup key updated (see the file comment).
  // InvalidArgument naming the field (empty or long title, evidence too large, ...);
  // ResourceExhausted "TooManyOpenAlerts" for a new alert past max_open; Unavailable when the
  // journal cannot be written (nothing changed then).
  Result<Alert> Raise(const RaiseRequest& request);
  // NotFound "AlertNotFound"; Conflict "AlertCleared" when already cleared. Acknowledging an
  // acknowledged alert is a no-op that answers it (idempotent). `comment` may be "".
  Result<Alert> Acknowledge(std::string_view id, std::string_view by, std::string_view comment);
  // NotFound "AlertNotFound"; clearing a cleared alert answers it unchanged.
  Result<Alert> Clear(std::string_view id, std::string_view by, std::string_view reason);
  // Clears the open alert with this key, if any (rules clear their alerts this way);
  // returns it, or nullopt when none is open.
  Result<std::optional<Alert>> ClearByKey(std::string_view dedup_key, std::string_view by,
                                          std::string_view reason);
  // NotFound "AlertNotFound"; InvalidArgument for an empty or over-long (4,000) text;
  // ResourceExhausted past 1,000 comments on one alert. Cleared alerts take comments too.
  Result<Alert> Comment(std::string_view id, std::string_view author, std::string_view text);

  Result<Alert> Get(std::string_view id) const;
  // Newest last_raised first, at most filter.limit.
  std::vector<Alert> List(const AlertFilter& filter) const;
  // The open alert with this key, if any.
  std::optional<Alert> FindOpen(std::string_view dedup_key) const;

  using Listener = std::function<void(const Alert& alert)>;
  void Subscribe(Listener listener);  // set up before use; not removable

  void RenderMetrics(std::string& out) const;  // doppel_alerts_open{severity=...}, raised total

 private:
  struct Impl;
  AlertService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace doppel::alerts
