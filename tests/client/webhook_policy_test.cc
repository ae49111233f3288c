// The webhook retry policy, exactly: which answers are retried, the backoff schedule with its
// jitter and cap, and Retry-After in both of its forms.
#include "client/internal/webhook_policy.h"

#include <gtest/gtest.h>

namespace doppel::client::internal {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

TEST(WebhookPolicyTest, TwoHundredsDeliverTransientFailuresRetryOtherAnswersFail) {
  for (int status : {200, 201, 202, 204, 299})
    EXPECT_EQ(Judge(status), AttemptVerdict::kDelivered) << status;
  for (int status : {408, 429, 500, 502, 503, 504, 599})
    EXPECT_EQ(Judge(status), AttemptVerdict::kRetry) << status;
  EXPECT_EQ(Judge(std::nullopt), AttemptVerdict::kRetry);  // no answer at all
  for (int status : {100, 301, 304, 400, 401, 403, 404, 409, 410, 413, 422, 600}) {
    EXPECT_EQ(Judge(status), AttemptVerdict::kFail) << status;
  }
}

TEST(WebhookPolicyTest, BackoffStartsAtInitialDoublesAndStopsAtMax) {
  const milliseconds initial = 1'000ms, max = 300'000ms;
  EXPECT_EQ(RetryDelay(1, initial, max, 1.0), 1'000ms);
  EXPECT_EQ(RetryDelay(2, initial, max, 1.0), 2'000ms);
  EXPECT_EQ(RetryDelay(3, initial, max, 1.0), 4'000ms);
  EXPECT_EQ(RetryDelay(9, initial, max, 1.0), 256'000ms);
  EXPECT_EQ(RetryDelay(10, initial, max, 1.0), 300'000ms);
  EXPECT_EQ(RetryDelay(1'000, initial, max, 1.0),
            300'000ms);  // no overflow however long it goes on
}

TEST(WebhookPolicyTest, JitterIsPlusMinusTwentyPercentAndNeverPastMax) {
  EXPECT_EQ(RetryDelay(2, 1'000ms, 60'000ms, 0.8), 1'600ms);
  EXPECT_EQ(RetryDelay(2, 1'000ms, 60'000ms, 1.2), 2'400ms);
  EXPECT_EQ(RetryDelay(2, 1'000ms, 60'000ms, 5.0), 2'400ms);  // a factor outside is clamped
  EXPECT_EQ(RetryDelay(2, 1'000ms, 60'000ms, 0.0), 1'600ms);
  EXPECT_EQ(RetryDelay(20, 1'000ms, 60'000ms, 1.2), 60'000ms);
  EXPECT_EQ(RetryDelay(20, 1'000ms, 60'000ms, 0.8), 48'000ms);
}

TEST(WebhookPolicyTest, RetryAfterLengthensTheWaitUpToMaxButNeverShortensIt) {
  EXPECT_EQ(RetryDelay(1, 1'000ms, 60'000ms, 1.0, 30'000ms), 30'000ms);
  EXPECT_EQ(RetryDelay(1, 1'000ms, 60'000ms, 1.0, 3'600'000ms), 60'000ms);
  EXPECT_EQ(RetryDelay(3, 1'000ms, 60'000ms, 1.0, 0ms), 4'000ms);
}

TEST(WebhookPolicyTest, RetryAfterReadsSecondsAndHttpDates) {
  const TimePoint now(std::chrono::seconds(1'795'601'600));  // 2026-11-25T10:13:20Z
  EXPECT_EQ(ParseRetryAfter("120", now), 120'000ms);
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), 0ms);
  EXPECT_EQ(ParseRetryAfter("999999999", now), 86'400'000ms);
  EXPECT_EQ(ParseRetryAfter("Wed, 25 Nov 2026 10:15:00 GMT", now), 100'000ms);
  EXPECT_EQ(ParseRetryAfter("Wed, 25 Nov 2026 10:00:00 GMT", now), 0ms);  // already past
  for (const char* bad : {"", "soon", "-5", "12abc", "1.5", "Wed, 25 Nov 2026 10:15:00 CET"}) {
    EXPECT_FALSE(ParseRetryAfter(bad, now).has_value()) << bad;
  }
}

}  // namespace
}  // namespace doppel::client::internal
