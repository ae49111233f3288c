// The retry policy of webhook deliveries (client/webhook_sender.h), kept apart from the sender's
// threads and I/O so that it can be checked exactly: which answers are retried, how long to
// wait before the next attempt, and what a Retry-After header asks for.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "base/clock.h"

namespace doppel::client::internal {

// What one attempt's outcome means for the delivery.
enum class AttemptVerdict : uint8_t { kDelivered, kRetry, kFail };

// `status` = the receiver's HTTP status, nullopt when no answer came (connection error,
// timeout). 2xx delivered; none, 408, 429 and 5xx retried; anything else failed at once.
AttemptVerdict Judge(std::optional<int> status);

// The wait before attempt `attempts_done + 1`: initial × 2^(attempts_done − 1), at most `max`,
// times `jitter` (a factor in [0.8, 1.2]: ±20 %), then raised to `retry_after` when the receiver
// asked for longer, and finally capped at `max` again.
std::chrono::milliseconds RetryDelay(int attempts_done, std::chrono::milliseconds initial,
                                     std::chrono::milliseconds max, double jitter,
                                     std::optional<std::chrono::milliseconds> retry_after = {});

// A Retry-After header (RFC 9110 §10.2.3): delay-seconds ("120") or an HTTP-date
// ("Wed, 26 Nov 2026 10:15:00 GMT", taken relative to `now`). nullopt when unreadable; a date in
// the past is 0.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, TimePoint now);

}  // namespace doppel::client::internal
