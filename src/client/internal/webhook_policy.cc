#include "client/internal/webhook_policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <string>

namespace doppel::client::internal {

AttemptVerdict Judge(std::optional<int> status) {
  if (!status) return AttemptVerdict::kRetry;
  if (*status >= 200 && *status < 300) return AttemptVerdict::kDelivered;
  // 408 and 429 say "not now"; 5xx says the receiver (or a proxy before it) is unwell. Every
  // other answer would come back the same however often it is asked.
  if (*status == 408 || *status == 429 || (*status >= 500 && *status < 600))
    return AttemptVerdict::kRetry;
  return AttemptVerdict::kFail;
}

std::chrono::milliseconds RetryDelay(int attempts_done, std::chrono::milliseconds initial,
                                     std::chrono::milliseconds max, double jitter,
                                     std::optional<std::chrono::milliseconds> retry_after) {
  using std::chrono::milliseconds;
  // Double in floating point: 2^60 would overflow the count long before max stops it otherwise.
  const int doublings = std::clamp(attempts_done - 1, 0, 62);
  const double base = std::min(static_cast<double>(initial.count()) * std::ldexp(1.0, doublings),
                               static_cast<double>(max.count()));
  milliseconds delay(static_cast<int64_t>(std::llround(base * std::clamp(jitter, 0.8, 1.2))));
  if (retry_after && *retry_after > delay) delay = *retry_after;
  return std::clamp(delay, milliseconds(0), max);
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, TimePoint now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
    // Anything past a day is as good as "never" here: max_backoff caps it anyway.
    return std::chrono::milliseconds(std::min<int64_t>(seconds, 86'400) * 1000);
  }
  // IMF-fixdate, the only HTTP-date form senders may generate.
  std::tm tm{};
  const std::string text(value);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const TimePoint at(std::chrono::seconds(::timegm(&tm)));
  if (at <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
}

}  // namespace doppel::client::internal
