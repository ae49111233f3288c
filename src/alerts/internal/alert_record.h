// An alert as a journal record and back, and the limits every alert's text obeys. Internal to
// src/alerts: the record is AlertJson plus the journal's "key" (the alert id), so the file
// reads like the API's answers.
#pragma once

#include <cstddef>
#include <string_view>

#include "alerts/alert_service.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::alerts::internal {

inline constexpr std::size_t kMaxTitleChars = 200;
inline constexpr std::size_t kMaxTextChars = 4'000;      // message, comment, reason
inline constexpr std::size_t kMaxEvidenceBytes = 64u << 10;
inline constexpr std::size_t kMaxKeyBytes = 1'024;        // dedup key, twin id, rule name
inline constexpr std::size_t kMaxHistory = 100;
inline constexpr std::size_t kMaxComments = 1'000;
// Comment text kept per alert: every change journals the whole alert, so its size bounds what
// each later change writes.
inline constexpr std::size_t kMaxCommentBytes = 256u << 10;

// Characters (Unicode code points) of UTF-8 text.
std::size_t CharCount(std::string_view text);

// InvalidArgument naming the field when a request breaks a limit above.
Status ValidateRaise(const RaiseRequest& request);
// `field` ("comment", "reason") at most kMaxTextChars characters; `required` = non-blank.
Status ValidateText(std::string_view field, std::string_view text, bool required);

json::object AlertRecord(const Alert& alert);
// InvalidArgument for a record that is not an alert (then the journal line is skipped).
Result<Alert> AlertFromRecord(const json::object& record);

}  // namespace doppel::alerts::internal
