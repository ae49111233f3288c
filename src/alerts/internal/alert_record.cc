// The alert's JSON shapes: the names of severities and states, AlertJson (the API's and the
// stream's form) and the journal record built on it.
#include "alerts/internal/alert_record.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace doppel::alerts {
namespace {

constexpr std::array<std::string_view, 5> kSeverityNames = {"info", "warning", "minor", "major", "critical"};
constexpr std::array<std::string_view, 3> kStateNames = {"raised", "acknowledged", "cleared"};

template <std::size_t N>
Result<std::size_t> IndexOf(const std::array<std::string_view, N>& names, std::string_view name,
                            std::string_view what) {
  auto it = std::find(names.begin(), names.end(), name);
  if (it != names.end()) return static_cast<std::size_t>(it - names.begin());
  std::string choices;
  for (std::string_view n : names) choices += fmt::format("{}{}", choices.empty() ? "" : ", ", n);
  return Status::InvalidArgument(fmt::format("unknown {} '{}' (one of: {})", what, name, choices));
}

}  // namespace

std::string_view SeverityName(Severity severity) { return kSeverityNames[static_cast<std::size_t>(severity)]; }

Result<Severity> ParseSeverity(std::string_view name) {
  DOPPEL_ASSIGN_OR_RETURN(std::size_t i, IndexOf(kSeverityNames, name, "severity"));
  return static_cast<Severity>(i);
}

std::string_view AlertStateName(AlertState state) { return kStateNames[static_cast<std::size_t>(state)]; }

Result<AlertState> ParseAlertState(std::string_view name) {
  DOPPEL_ASSIGN_OR_RETURN(std::size_t i, IndexOf(kStateNames, name, "alert state"));
  return static_cast<AlertState>(i);
}

json::object AlertJson(const Alert& alert) {
  json::object o{{"alertId", alert.id},
                 {"dedupKey", alert.dedup_key},
                 {"twinId", alert.twin_id}};
  if (!alert.rule.empty()) o["rule"] = alert.rule;
  o["severity"] = SeverityName(alert.severity);
  o["title"] = alert.title;
  o["message"] = alert.message;
  o["state"] = AlertStateName(alert.state);
  o["raisedTime"] = FormatRfc3339(alert.raised);
  o["lastRaisedTime"] = FormatRfc3339(alert.last_raised);
  o["count"] = alert.count;
  if (alert.acknowledged) {
    o["acknowledgedTime"] = FormatRfc3339(*alert.acknowledged);
    o["acknowledgedBy"] = alert.acknowledged_by;
  }
  if (alert.cleared) {
    o["clearedTime"] = FormatRfc3339(*alert.cleared);
    o["clearedBy"] = alert.cleared_by;
  }
  o["evidence"] = alert.evidence;
  json::array& comments = o["comments"].emplace_array();
  for (const AlertComment& c : alert.comments) {
    comments.push_back(json::object{{"time", FormatRfc3339(c.time)}, {"author", c.author}, {"text", c.text}});
  }
  json::array& history = o["history"].emplace_array();
  for (const AlertEvent& e : alert.history) {
    history.push_back(
        json::object{{"time", FormatRfc3339(e.time)}, {"event", e.event}, {"by", e.by}, {"detail", e.detail}});
  }
  return o;
}

namespace internal {
namespace {

std::string StringOf(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<TimePoint> TimeOf(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  auto t = ParseRfc3339(v->as_string());
  return t.ok() ? std::optional<TimePoint>(*t) : std::nullopt;
}

const json::array& ArrayOf(const json::object& o, std::string_view name) {
  static const json::array kEmpty;
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_array() ? v->as_array() : kEmpty;
}

Status TooLong(std::string_view field, std::size_t limit, std::string_view unit) {
  return Status::InvalidArgument(fmt::format("'{}' is too long: at most {} {}", field, limit, unit));
}

}  // namespace

std::size_t CharCount(std::string_view text) {
  // Every code point has exactly one byte that is not a continuation byte (10xxxxxx).
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Status ValidateText(std::string_view field, std::string_view text, bool required) {
  const bool blank = std::all_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  if (required && blank) return Status::InvalidArgument(fmt::format("'{}' is required and must not be blank", field));
  if (CharCount(text) > kMaxTextChars) return TooLong(field, kMaxTextChars, "characters");
  return Status::Ok();
}

Status ValidateRaise(const RaiseRequest& request) {
  DOPPEL_RETURN_IF_ERROR(ValidateText("title", request.title, /*required=*/true));
  if (CharCount(request.title) > kMaxTitleChars) return TooLong("title", kMaxTitleChars, "characters");
  DOPPEL_RETURN_IF_ERROR(ValidateText("message", request.message, /*required=*/false));
  for (auto [field, value] : {std::pair<std::string_view, std::string_view>{"twinId", request.twin_id},
                              {"dedupKey", request.dedup_key},
                              {"rule", request.rule},
                              {"raisedBy", request.raised_by}}) {
    if (value.size() > kMaxKeyBytes) return TooLong(field, kMaxKeyBytes, "bytes");
  }
  if (!request.evidence.is_null() && ToJson(request.evidence).size() > kMaxEvidenceBytes) {
    return Status::InvalidArgument(
        fmt::format("'evidence' is too large: at most {} KiB serialised", kMaxEvidenceBytes >> 10));
  }
  return Status::Ok();
}

json::object AlertRecord(const Alert& alert) {
  json::object record = AlertJson(alert);
  record["key"] = alert.id;
  return record;
}

Result<Alert> AlertFromRecord(const json::object& record) {
  Alert alert;
  alert.id = StringOf(record, "alertId");
  auto severity = ParseSeverity(StringOf(record, "severity"));
  auto state = ParseAlertState(StringOf(record, "state"));
  auto raised = TimeOf(record, "raisedTime");
  if (alert.id.empty() || !severity.ok() || !state.ok() || !raised) {
    return Status::InvalidArgument("not an alert record");
  }
  alert.dedup_key = StringOf(record, "dedupKey");
  alert.twin_id = StringOf(record, "twinId");
  alert.rule = StringOf(record, "rule");
  alert.severity = *severity;
  alert.title = StringOf(record, "title");
  alert.message = StringOf(record, "message");
  alert.state = *state;
  alert.raised = *raised;
  alert.last_raised = TimeOf(record, "lastRaisedTime").value_or(alert.raised);
  if (const json::value* count = record.if_contains("count"); count != nullptr && count->is_uint64()) {
    alert.count = std::max<uint64_t>(1, count->as_uint64());
  } else if (count != nullptr && count->is_int64()) {
    alert.count = static_cast<uint64_t>(std::max<int64_t>(1, count->as_int64()));
  }
  alert.acknowledged = TimeOf(record, "acknowledgedTime");
  alert.acknowledged_by = StringOf(record, "acknowledgedBy");
  alert.cleared = TimeOf(record, "clearedTime");
  alert.cleared_by = StringOf(record, "clearedBy");
  if (const json::value* evidence = record.if_contains("evidence")) alert.evidence = *evidence;
  for (const json::value& c : ArrayOf(record, "comments")) {
    if (!c.is_object()) continue;
    const json::object& o = c.as_object();
    alert.comments.push_back({TimeOf(o, "time").value_or(TimePoint{}), StringOf(o, "author"), StringOf(o, "text")});
  }
  for (const json::value& e : ArrayOf(record, "history")) {
    if (!e.is_object()) continue;
    const json::object& o = e.as_object();
    alert.history.push_back(
        {TimeOf(o, "time").value_or(TimePoint{}), StringOf(o, "event"), StringOf(o, "by"), StringOf(o, "detail")});
  }
  return alert;
}

}  // namespace internal
}  // namespace doppel::alerts
