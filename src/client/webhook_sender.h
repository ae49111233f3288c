// Webhooks out of Doppel (docs/webhooks.md): a rule's webhook action, the CMMS export of work
// orders. Each delivery is a JSON POST, signed, retried with exponential backoff, and kept on
// disk until it is delivered or given up, so a restart does not lose one.
//
//   auto sender = WebhookSender::Open({.dir = data_dir + "/webhooks"}, clock);
//   (*sender)->Start();
//   auto id = (*sender)->Enqueue({.url = "https://cmms.example/hooks/doppel",
//                                 .secret = "s3cret", .event = "workOrder.created",
//                                 .body = {{"workOrder", ...}}});
//
// The request: POST <url>, Content-Type: application/json, body = the JSON object, headers
//   X-Doppel-Event: <event>
//   X-Doppel-Delivery: <delivery id>           (the same on every retry: receivers de-duplicate)
//   X-Doppel-Timestamp: <unix seconds>
//   X-Doppel-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>  (when a secret)
// Success: any 2xx. Retried: connection errors, timeouts, 408, 429 (honouring Retry-After up
// to max_backoff), 5xx — after initial_backoff, doubling up to max_backoff, with ±20 % jitter,
// until max_attempts; then the delivery is "failed". Other 4xx: "failed" at once (retrying
// cannot help). http:// and https:// URLs (client/http_client.h); other schemes are refused at
// Enqueue.
//
// Thread-safety: every public method may be called from any thread; one worker thread
// delivers, in enqueue order per URL (a delivery waiting for its retry holds back the later
// ones to the same URL, so a receiver never sees them overtake each other).
//
// Persistence: <dir>/journal.jsonl (base/record_journal.h), one line per change of a delivery.
// A pending delivery's line carries its body and secret, so that a restart resumes it; a
// finished one's does not, and compaction (at Open, and as the file grows) drops the older
// lines. The file is 0600. The secret and the body appear nowhere else: not in DeliveryJson,
// not in errors.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::client {

struct WebhookRequest {
  std::string url;
  std::string secret = {};  // "" = unsigned
  std::string event;        // "workOrder.created", "rule.fired", ...
  json::object body = {};
};

enum class DeliveryState : uint8_t { kPending, kDelivered, kFailed };
std::string_view DeliveryStateName(DeliveryState state);  // "pending", "delivered", "failed"

struct Delivery {
  std::string id;  // 32 hex digits
  std::string url;
  std::string event;
  DeliveryState state = DeliveryState::kPending;
  int attempts = 0;
  std::optional<int> last_status = {};  // the receiver's HTTP status
  std::string last_error = {};
  TimePoint created{};
  std::optional<TimePoint> next_attempt = {};
  std::optional<TimePoint> finished = {};
};
// {"deliveryId", "url", "event", "state", "attempts", "lastStatus"?, "lastError"?,
//  "createdTime", "nextAttemptTime"?, "finishedTime"?}   (never the secret or the body)
json::object DeliveryJson(const Delivery& delivery);

// hex(HMAC-SHA256(secret, "<timestamp>.<body>")) — what a receiver recomputes to verify.
std::string SignWebhook(std::string_view secret, int64_t unix_seconds, std::string_view body);

struct WebhookSenderOptions {
  std::string dir = {};  // "" = memory only (pending deliveries are lost on restart)
  int max_attempts = 8;
  std::chrono::milliseconds initial_backoff{1'000};
  std::chrono::milliseconds max_backoff{300'000};
  std::chrono::milliseconds request_timeout{10'000};
  std::size_t max_pending = 10'000;  // beyond: ResourceExhausted at Enqueue
  std::size_t max_kept = 10'000;     // finished deliveries remembered for Get/List
  bool sync = true;
};

class WebhookSender {
 public:
  static Result<std::unique_ptr<WebhookSender>> Open(WebhookSenderOptions options,
                                                     const Clock& clock = SystemClock::Instance());
  ~WebhookSender();  // Stop()
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  void Start();  // the delivery worker
  // Idempotent; pending deliveries stay on disk for the next start. Waits for an attempt in
  // flight (at most request_timeout). Enqueue answers Unavailable afterwards.
  void Stop();
  // Wakes the worker to look at the clock again: after a manual clock (tests, simulation) has
  // moved. A real clock needs no poking.
  void Poke();

  // Persists and queues; returns the delivery id. InvalidArgument for a URL that is not
  // http(s) or has no host, or an empty event; ResourceExhausted when max_pending are waiting;
  // Unavailable after Stop, or when the journal cannot be written (nothing is queued then).
  Result<std::string> Enqueue(const WebhookRequest& request);
  Result<Delivery> Get(std::string_view id) const;       // NotFound "DeliveryNotFound"
  std::vector<Delivery> List(std::size_t limit) const;  // newest first
  // Called after each delivery reaches a final state (delivered or failed), on the worker.
  void OnFinished(std::function<void(const Delivery&)> callback);  // before Start

  void RenderMetrics(std::string& out) const;  // doppel_webhook_deliveries_total{state=...}

 private:
  struct Impl;
  explicit WebhookSender(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace doppel::client
