// WebhookSender against a real HTTP receiver on the loopback interface: retries with one
// delivery id, signatures, giving up, 4xx, Retry-After, the backoff schedule, order per URL,
// a restart that resumes a pending delivery from disk, and what Enqueue refuses.
#include "client/webhook_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/json.h"
#include "client/webhook_receiver.h"
#include "tsdb/temp_dir.h"

namespace doppel::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Reply;
using testing::WebhookReceiver;
using namespace std::chrono_literals;

constexpr const char* kSecret = "s3cret-for-tests";

// A manual clock that the worker thread may read while the test moves it.
class SteppedClock final : public Clock {
 public:
  TimePoint Now() const override { return TimePoint(std::chrono::nanoseconds(ns_.load())); }
  void Advance(std::chrono::nanoseconds d) { ns_ += d.count(); }

 private:
  std::atomic<int64_t> ns_{std::chrono::nanoseconds(std::chrono::seconds(1'800'000'000)).count()};
};

// Waits (bounded, on the wall clock) until `done` holds; false if it never did.
template <typename Done>
bool Eventually(Done done) {
  for (int i = 0; i < 4000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

WebhookSenderOptions FastOptions(const std::string& dir = "") {
  return {.dir = dir,
          .max_attempts = 8,
          .initial_backoff = 10ms,
          .max_backoff = 40ms,
          .request_timeout = 5'000ms,
          .sync = false};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class WebhookSenderTest : public ::testing::Test {
 protected:
  std::unique_ptr<WebhookSender> OpenSender(const WebhookSenderOptions& options,
                                            const Clock& clock = SystemClock::Instance()) {
    auto sender = WebhookSender::Open(options, clock);
    EXPECT_TRUE(sender.ok()) << sender.status().ToString();
    return sender.ok() ? std::move(*sender) : nullptr;
  }
  static WebhookRequest Request(const std::string& url) {
    return {.url = url,
            .secret = kSecret,
            .event = "workOrder.created",
            .body = {{"workOrder", {{"workOrderId", "wo-1"}, {"title", "Inspect main bearing"}}}}};
  }
  static DeliveryState StateOf(const WebhookSender& sender, const std::string& id) {
    auto d = sender.Get(id);
    return d.ok() ? d->state : DeliveryState::kPending;
  }
  static int AttemptsOf(const WebhookSender& sender, const std::string& id) {
    auto d = sender.Get(id);
    return d.ok() ? d->attempts : -1;
  }

  tsdb::testing::TempDir dir_;
};

TEST_F(WebhookSenderTest, DeliveredAfterRetriesWithOneDeliveryIdAndAValidSignatureOnEveryAttempt) {
  WebhookReceiver receiver({{.status = 500}, {.status = 503}, {.hang_up = true}, {.status = 204}});
  auto sender = OpenSender(FastOptions(dir_.path()));
  std::vector<Delivery> finished;
  std::mutex finished_mu;
  sender->OnFinished([&](const Delivery& d) {
    std::lock_guard lock(finished_mu);
    finished.push_back(d);
  });
  sender->Start();
  auto id = sender->Enqueue(Request(receiver.Url("/hooks/doppel?tenant=plant7")));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->size(), 32u);
  ASSERT_TRUE(Eventually([&] { return StateOf(*sender, *id) != DeliveryState::kPending; }));

  Delivery d = sender->Get(*id).value();
  EXPECT_EQ(d.state, DeliveryState::kDelivered);
  EXPECT_EQ(d.attempts, 4);
  EXPECT_EQ(d.last_status, 204);
  EXPECT_EQ(d.last_error, "");
  EXPECT_TRUE(d.finished.has_value());
  EXPECT_FALSE(d.next_attempt.has_value());

  const std::string body = ToJson(Request("").body);
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 4u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hooks/doppel?tenant=plant7");
    EXPECT_EQ(r.Header("content-type"), "application/json");
    EXPECT_EQ(r.Header("x-doppel-event"), "workOrder.created");
    EXPECT_EQ(r.Header("x-doppel-delivery"), *id);  // receivers de-duplicate on it
    EXPECT_EQ(r.body, body);
    // What a receiver does to verify: recompute over "<timestamp>.<body>" with the shared secret.
    const int64_t ts = std::stoll(r.Header("x-doppel-timestamp"));
    EXPECT_EQ(r.Header("x-doppel-signature"), "sha256=" + SignWebhook(kSecret, ts, r.body));
    EXPECT_NE(r.Header("x-doppel-signature"),
              "sha256=" + SignWebhook("another secret", ts, r.body));
  }
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard lock(finished_mu);
    return !finished.empty();
  }));
  std::lock_guard lock(finished_mu);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].id, *id);
  EXPECT_EQ(finished[0].state, DeliveryState::kDelivered);
}

TEST_F(WebhookSenderTest, GivesUpAfterMaxAttempts) {
  WebhookReceiver receiver({{.status = 502}});
  WebhookSenderOptions options = FastOptions();
  options.max_attempts = 3;
  auto sender = OpenSender(options);
  sender->Start();
  auto id = sender->Enqueue(Request(receiver.Url()));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(Eventually([&] { return StateOf(*sender, *id) != DeliveryState::kPending; }));
  Delivery d = sender->Get(*id).value();
  EXPECT_EQ(d.state, DeliveryState::kFailed);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.last_status, 502);
  EXPECT_THAT(d.last_error, HasSubstr("HTTP 502"));
  EXPECT_THAT(d.last_error, HasSubstr("gave up after 3 attempts"));
  EXPECT_EQ(receiver.count(), 3u);
  std::string metrics;
  sender->RenderMetrics(metrics);
  EXPECT_THAT(metrics, HasSubstr("doppel_webhook_deliveries_total{state=\"failed\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("doppel_webhook_deliveries_total{state=\"delivered\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("doppel_webhook_attempts_total 3\n"));
  EXPECT_THAT(metrics, HasSubstr("doppel_webhook_pending 0\n"));
}

TEST_F(WebhookSenderTest, AClientErrorFailsAtOnceButTimeoutAndTooManyRequestsAreRetried) {
  WebhookReceiver refusing({{.status = 400}});
  auto sender = OpenSender(FastOptions());
  sender->Start();
  auto id = sender->Enqueue(Request(refusing.Url()));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(Eventually([&] { return StateOf(*sender, *id) != DeliveryState::kPending; }));
  Delivery d = sender->Get(*id).value();
  EXPECT_EQ(d.state, DeliveryState::kFailed);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_status, 400);
  EXPECT_THAT(d.last_error, HasSubstr("not retried"));
  EXPECT_EQ(refusing.count(), 1u);

  WebhookReceiver busy(
      {{.status = 408}, {.status = 429, .extra_headers = "Retry-After: 0\r\n"}, {.status = 200}});
  auto retried = sender->Enqueue(Request(busy.Url()));
  ASSERT_TRUE(retried.ok());
  ASSERT_TRUE(Eventually([&] { return StateOf(*sender, *retried) != DeliveryState::kPending; }));
  EXPECT_EQ(sender->Get(*retried)->state, DeliveryState::kDelivered);
  EXPECT_EQ(sender->Get(*retried)->attempts, 3);
}

TEST_F(WebhookSenderTest, AnUnreachableReceiverIsRetriedThenFailedWithTheReason) {
  int port = 0;
  {
    WebhookReceiver gone({});  // listens, then goes away: nobody listens on its port any more
    port = std::stoi(gone.Url("").substr(std::string("http://127.0.0.1:").size()));
  }
  WebhookSenderOptions options = FastOptions();
  options.max_attempts = 2;
  auto sender = OpenSender(options);
  sender->Start();
  auto id = sender->Enqueue(Request(fmt::format("http://127.0.0.1:{}/hook", port)));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(Eventually([&] { return StateOf(*sender, *id) != DeliveryState::kPending; }));
  Delivery d = sender->Get(*id).value();
  EXPECT_EQ(d.state, DeliveryState::kFailed);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_FALSE(d.last_status.has_value());
  EXPECT_THAT(d.last_error, HasSubstr("could not reach"));
}

// The schedule, read off next_attempt with a clock only the test moves.
TEST_F(WebhookSenderTest, RetryAfterIsHonouredUpToMaxBackoffAndBackoffDoublesWithJitter) {
  WebhookReceiver receiver({{.status = 429, .extra_headers = "Retry-After: 2\r\n"},
                            {.status = 503, .extra_headers = "Retry-After: 3600\r\n"},
                            {.status = 500},
                            {.status = 500},
                            {.status = 200}});
  SteppedClock clock;
  WebhookSenderOptions options = FastOptions();
  options.initial_backoff = 1'000ms;
  options.max_backoff = 3'000ms;
  auto sender = OpenSender(options, clock);
  sender->Start();
  const TimePoint t0 = clock.Now();
  auto id = sender->Enqueue(Request(receiver.Url()));
  ASSERT_TRUE(id.ok());

  // 1: 429 with Retry-After 2 s, longer than the 1 s ± 20 % backoff: exactly 2 s.
  ASSERT_TRUE(Eventually([&] { return AttemptsOf(*sender, *id) == 1; }));
  EXPECT_EQ(sender->Get(*id)->next_attempt, t0 + 2s);
  EXPECT_EQ(std::stoll(receiver.requests()[0].Header("x-doppel-timestamp")), 1'800'000'000);
  EXPECT_EQ(receiver.count(), 1u);  // nothing happens before the clock gets there
  clock.Advance(2s);
  sender->Poke();

  // 2: Retry-After an hour, capped at max_backoff.
  ASSERT_TRUE(Eventually([&] { return AttemptsOf(*sender, *id) == 2; }));
  EXPECT_EQ(sender->Get(*id)->next_attempt, t0 + 2s + 3s);
  EXPECT_EQ(std::stoll(receiver.requests()[1].Header("x-doppel-timestamp")), 1'800'000'002);
  clock.Advance(3s);
  sender->Poke();

  // 3 and 4: plain backoff, 1 s · 2² = 4 s capped at 3 s, then − 20 % .. + 0 % of jitter.
  for (int attempt = 3; attempt <= 4; ++attempt) {
    ASSERT_TRUE(Eventually([&] { return AttemptsOf(*sender, *id) == attempt; }));
    const auto wait = *sender->Get(*id)->next_attempt - clock.Now();
    EXPECT_GE(wait, 2'400ms) << "attempt " << attempt;
    EXPECT_LE(wait, 3'000ms) << "attempt " << attempt;
    clock.Advance(wait);
    sender->Poke();
  }
  ASSERT_TRUE(Eventually([&] { return StateOf(*sender, *id) == DeliveryState::kDelivered; }));
  EXPECT_EQ(receiver.count(), 5u);
}

TEST_F(WebhookSenderTest, TheFirstBackoffsAreInitialThenDoubleWithinTwentyPercent) {
  WebhookReceiver receiver({{.status = 500}});
  SteppedClock clock;
  WebhookSenderOptions options = FastOptions();
  options.initial_backoff = 1'000ms;
  options.max_backoff = 60'000ms;
  auto sender = OpenSender(options, clock);
  sender->Start();
  auto id = sender->Enqueue(Request(receiver.Url()));
  ASSERT_TRUE(id.ok());
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(Eventually([&] { return AttemptsOf(*sender, *id) == attempt; }));
    const auto wait = *sender->Get(*id)->next_attempt - clock.Now();
    const auto nominal = std::chrono::milliseconds(1000 << (attempt - 1));
    EXPECT_GE(wait, nominal * 8 / 10) << "attempt " << attempt;
    EXPECT_LE(wait, nominal * 12 / 10) << "attempt " << attempt;
    clock.Advance(wait);
    sender->Poke();
  }
}

TEST_F(WebhookSenderTest, DeliveriesToOneUrlArriveInEnqueueOrderEvenWhenTheFirstIsRetried) {
  WebhookReceiver receiver({{.status = 500}, {.status = 200}});
  auto sender = OpenSender(FastOptions());
  auto first = sender->Enqueue(Request(receiver.Url()));
  WebhookRequest second_request = Request(receiver.Url());
  second_request.event = "workOrder.updated";
  auto second = sender->Enqueue(second_request);
  ASSERT_TRUE(first.ok() && second.ok());
  sender->Start();  // both are waiting already
  ASSERT_TRUE(Eventually([&] { return StateOf(*sender, *second) == DeliveryState::kDelivered; }));
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].Header("x-doppel-delivery"), *first);
  EXPECT_EQ(requests[1].Header("x-doppel-delivery"), *first);
  EXPECT_EQ(requests[2].Header("x-doppel-delivery"), *second);
  // Newest first, bounded by the limit.
  const auto listed = sender->List(10);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, *second);
  EXPECT_EQ(listed[1].id, *first);
  EXPECT_EQ(sender->List(1).size(), 1u);
}

TEST_F(WebhookSenderTest, ARestartResumesAPendingDeliveryFromDiskAndForgetsItsSecretOnceDone) {
  WebhookReceiver receiver({{.status = 503}});
  const std::string journal = dir_.path() + "/journal.jsonl";
  std::string id;
  {
    WebhookSenderOptions options = FastOptions(dir_.path());
    options.max_attempts = 1000;
    auto sender = OpenSender(options);
    sender->Start();
    auto enqueued = sender->Enqueue(Request(receiver.Url()));
    ASSERT_TRUE(enqueued.ok());
    id = *enqueued;
    ASSERT_TRUE(Eventually([&] { return AttemptsOf(*sender, id) >= 2; }));
    sender->Stop();
  }
  // Pending on disk, with what it takes to send it again.
  EXPECT_THAT(ReadFile(journal), HasSubstr(kSecret));
  EXPECT_THAT(ReadFile(journal), HasSubstr("Inspect main bearing"));

  receiver.SetScript({{.status = 200}});
  const std::size_t before = receiver.count();
  {
    auto sender = OpenSender(FastOptions(dir_.path()));
    Delivery resumed = sender->Get(id).value();
    EXPECT_EQ(resumed.state, DeliveryState::kPending);
    EXPECT_GE(resumed.attempts, 2);
    const int attempts_before = resumed.attempts;
    sender->Start();
    ASSERT_TRUE(Eventually([&] { return StateOf(*sender, id) == DeliveryState::kDelivered; }));
    EXPECT_EQ(sender->Get(id)->attempts, attempts_before + 1);
  }
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), before + 1);
  const auto& last = requests.back();
  EXPECT_EQ(last.Header("x-doppel-delivery"), id);
  EXPECT_EQ(last.body, requests.front().body);  // the same bytes after the restart
  EXPECT_EQ(
      last.Header("x-doppel-signature"),
      "sha256=" + SignWebhook(kSecret, std::stoll(last.Header("x-doppel-timestamp")), last.body));

  // Reopened once more: delivered is remembered, and compaction has dropped the secret and body.
  auto sender = OpenSender(FastOptions(dir_.path()));
  EXPECT_EQ(sender->Get(id)->state, DeliveryState::kDelivered);
  EXPECT_THAT(ReadFile(journal), Not(HasSubstr(kSecret)));
  EXPECT_THAT(ReadFile(journal), Not(HasSubstr("Inspect main bearing")));
}

TEST_F(WebhookSenderTest, DeliveryJsonNeverShowsTheSecretOrTheBody) {
  auto sender = OpenSender(FastOptions(dir_.path()));  // not started: stays pending
  auto id = sender->Enqueue(Request("https://cmms.example/hooks/doppel"));
  ASSERT_TRUE(id.ok());
  const json::object doc = DeliveryJson(sender->Get(*id).value());
  const std::string text = ToJson(doc);
  EXPECT_THAT(text, Not(HasSubstr(kSecret)));
  EXPECT_THAT(text, Not(HasSubstr("Inspect main bearing")));
  EXPECT_EQ(doc.at("deliveryId").as_string(), *id);
  EXPECT_EQ(doc.at("url"), "https://cmms.example/hooks/doppel");
  EXPECT_EQ(doc.at("event"), "workOrder.created");
  EXPECT_EQ(doc.at("state"), "pending");
  EXPECT_EQ(doc.at("attempts"), 0);
  EXPECT_TRUE(doc.contains("createdTime"));
  EXPECT_TRUE(doc.contains("nextAttemptTime"));
  EXPECT_FALSE(doc.contains("lastStatus"));
  EXPECT_FALSE(doc.contains("finishedTime"));
}

TEST_F(WebhookSenderTest, EnqueueRefusesUrlsThatAreNotHttpAndEventsWithoutAName) {
  auto sender = OpenSender(FastOptions());
  for (const char* url : {"ftp://cmms.example/hook", "file:///etc/passwd", "mailto:ops@example.com",
                          "http://", "cmms.example/hook", ""}) {
    auto id = sender->Enqueue(Request(url));
    ASSERT_FALSE(id.ok()) << url;
    EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument) << url;
  }
  WebhookRequest nameless = Request("http://127.0.0.1:9/hook");
  nameless.event = "";
  EXPECT_EQ(sender->Enqueue(nameless).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(sender->List(10).empty());
}

TEST_F(WebhookSenderTest, BeyondMaxPendingEnqueueIsResourceExhausted) {
  WebhookSenderOptions options = FastOptions();
  options.max_pending = 2;
  auto sender = OpenSender(options);  // not started: nothing leaves the queue
  EXPECT_TRUE(sender->Enqueue(Request("http://127.0.0.1:9/a")).ok());
  EXPECT_TRUE(sender->Enqueue(Request("http://127.0.0.1:9/b")).ok());
  auto third = sender->Enqueue(Request("http://127.0.0.1:9/c"));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(sender->List(10).size(), 2u);
}

TEST_F(WebhookSenderTest, UnknownDeliveriesAreNotFoundAndAStoppedSenderTakesNoMore) {
  auto sender = OpenSender(FastOptions());
  auto missing = sender->Get("0123456789abcdef0123456789abcdef");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().error_code(), "DeliveryNotFound");
  sender->Start();
  sender->Stop();
  sender->Stop();  // idempotent
  EXPECT_EQ(sender->Enqueue(Request("http://127.0.0.1:9/a")).status().code(),
            StatusCode::kUnavailable);
}

TEST(SignWebhookTest, IsHexHmacSha256OfTimestampDotBody) {
  // Computed independently (Python's hmac module).
  EXPECT_EQ(SignWebhook("s3cret", 1'700'000'000, R"({"a":1})"),
            "1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940");
  EXPECT_EQ(SignWebhook("Jefe", 1, "what do ya want for nothing?"),
            "a9049465ce89cfb8e9aac62333abda66f80e3403f51f57f6bae3c3a4485eca38");
  EXPECT_EQ(DeliveryStateName(DeliveryState::kFailed), "failed");
}

}  // namespace
}  // namespace doppel::client
