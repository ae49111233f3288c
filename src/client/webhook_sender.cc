#include "client/webhook_sender.h"

#include <fmt/format.h>
#include <boost/url/parse.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "base/record_journal.h"
#include "client/http_client.h"
#include "client/internal/webhook_policy.h"

namespace doppel::client {
namespace {

using internal::AttemptVerdict;

constexpr std::string_view kStateNames[] = {"pending", "delivered", "failed"};
// The worker re-reads the clock at least this often while it waits, so a clock that jumps (or
// a manual clock nobody pokes) strands nothing for long.
constexpr std::chrono::seconds kMaxWait{1};
// Keep-alive connections kept to distinct receivers; beyond, the cache starts afresh.
constexpr std::size_t kMaxClients = 32;
constexpr std::string_view kUserAgent = "doppel-webhook/0.1";

std::string Hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

std::string RandomId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // The CSPRNG has never failed on Linux; ids only need to be unique, not secret.
    thread_local std::mt19937_64 rng{std::random_device{}()};
    for (unsigned char& b : bytes) b = static_cast<unsigned char>(rng());
  }
  return Hex(bytes, sizeof bytes);
}

// A delivery URL split into what HttpClient takes: the origin it connects to and the request
// target ("/path?query") it sends.
struct Endpoint {
  std::string origin;
  std::string target;
};

Result<Endpoint> SplitUrl(std::string_view url) {
  DOPPEL_ASSIGN_OR_RETURN(BaseUrl base, ParseBaseUrl(url));
  auto parsed = boost::urls::parse_uri(url);  // cannot fail: ParseBaseUrl parsed it
  Endpoint endpoint;
  endpoint.target = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query())
    endpoint.target += fmt::format("?{}", std::string_view(parsed->encoded_query()));
  base.path_prefix.clear();
  endpoint.origin = base.ToString();
  return endpoint;
}

int64_t UnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// ---- journal records -------------------------------------------------------------------------

std::string StringMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<TimePoint> TimeMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  auto t = ParseRfc3339(v->as_string());
  return t.ok() ? std::optional<TimePoint>(*t) : std::nullopt;
}

std::optional<int64_t> IntMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return std::nullopt;
}

std::optional<Delivery> DeliveryFromRecord(const json::object& o) {
  Delivery d;
  d.id = StringMember(o, "deliveryId");
  d.url = StringMember(o, "url");
  d.event = StringMember(o, "event");
  const std::string state = StringMember(o, "state");
  auto it = std::find(std::begin(kStateNames), std::end(kStateNames), state);
  if (d.id.empty() || it == std::end(kStateNames)) return std::nullopt;
  d.state = static_cast<DeliveryState>(it - std::begin(kStateNames));
  d.attempts = static_cast<int>(IntMember(o, "attempts").value_or(0));
  if (auto status = IntMember(o, "lastStatus")) d.last_status = static_cast<int>(*status);
  d.last_error = StringMember(o, "lastError");
  d.created = TimeMember(o, "createdTime").value_or(TimePoint{});
  d.next_attempt = TimeMember(o, "nextAttemptTime");
  d.finished = TimeMember(o, "finishedTime");
  return d;
}

// What one attempt came to.
struct AttemptOutcome {
  std::optional<int> status = {};  // nullopt: no answer
  std::string error = {};
  std::optional<std::chrono::milliseconds> retry_after = {};
};

}  // namespace

std::string_view DeliveryStateName(DeliveryState state) {
  return kStateNames[static_cast<int>(state)];
}

json::object DeliveryJson(const Delivery& d) {
  json::object o{{"deliveryId", d.id},     {"url", d.url},
                 {"event", d.event},       {"state", DeliveryStateName(d.state)},
                 {"attempts", d.attempts}, {"createdTime", FormatRfc3339(d.created)}};
  if (d.last_status) o["lastStatus"] = *d.last_status;
  if (!d.last_error.empty()) o["lastError"] = d.last_error;
  if (d.next_attempt) o["nextAttemptTime"] = FormatRfc3339(*d.next_attempt);
  if (d.finished) o["finishedTime"] = FormatRfc3339(*d.finished);
  return o;
}

std::string SignWebhook(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  const std::string message = fmt::format("{}.{}", unix_seconds, body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &size);
  return Hex(mac, size);
}

// ---- the sender ------------------------------------------------------------------------------

struct WebhookSender::Impl {
  // A delivery with what only the sender may see.
  struct Entry {
    Delivery delivery;
    std::string secret = {};  // cleared once finished
    std::string body =
        {};  // the serialised JSON, sent byte for byte on every attempt; cleared once finished
    uint64_t seq = 0;  // enqueue order
  };

  Impl(WebhookSenderOptions o, const Clock& c) : options(std::move(o)), clock(c) {}

  Status Load();
  Result<std::string> Enqueue(const WebhookRequest& request);
  void Run();
  // The pending delivery to attempt next: per URL only the oldest is eligible; among those the
  // one due first. nullptr when nothing is pending. mu held.
  Entry* NextLocked();
  AttemptOutcome Attempt(const Entry& entry);  // without mu: the HTTP request
  // Records `outcome` on `entry`; true when the delivery reached a final state. mu held.
  bool ApplyLocked(Entry& entry, const AttemptOutcome& outcome);
  void FinishLocked(Entry& entry, DeliveryState state);
  void PersistLocked(const Entry& entry, bool sync);
  json::object RecordOf(const Entry& entry) const;
  Status CompactLocked();

  // Immutable after construction.
  const WebhookSenderOptions options;
  const Clock& clock;

  mutable std::mutex mu;
  std::condition_variable wake;
  // Guarded by mu.
  std::function<void(const Delivery&)> on_finished;
  std::map<std::string, Entry, std::less<>> deliveries;  // by id
  std::map<uint64_t, std::string> pending;               // seq → id, in enqueue order
  std::deque<std::string> finished;                      // ids in the order they finished
  uint64_t next_seq = 1;
  std::unique_ptr<RecordJournal> journal;  // null = memory only
  uint64_t delivered_total = 0, failed_total = 0, attempts_total = 0, journal_errors = 0;
  bool changed = false;  // something for the worker to look at (Enqueue, Poke)
  bool stopping = false;
  std::thread worker;

  // The worker's own.
  std::mt19937_64 rng{std::random_device{}()};
  std::map<std::string, std::unique_ptr<HttpClient>, std::less<>> clients;  // by origin
};

Status WebhookSender::Impl::Load() {
  if (options.dir.empty()) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(journal, RecordJournal::Open(options.dir));
  DOPPEL_ASSIGN_OR_RETURN(std::vector<json::object> records, journal->ReadAll());
  std::vector<std::pair<TimePoint, std::string>> done;
  std::lock_guard lock(mu);
  for (const json::object& record : records) {
    std::optional<Delivery> d = DeliveryFromRecord(record);
    if (!d) continue;
    Entry entry{.delivery = std::move(*d),
                .seq = static_cast<uint64_t>(IntMember(record, "seq").value_or(0))};
    next_seq = std::max(next_seq, entry.seq + 1);
    const std::string id = entry.delivery.id;
    if (entry.delivery.state == DeliveryState::kPending) {
      const json::value* body = record.if_contains("body");
      if (body == nullptr || !body->is_string()) {
        entry.delivery.last_error = "the journal kept no body for it: it cannot be resumed";
        entry.delivery.state = DeliveryState::kFailed;
        entry.delivery.finished = clock.Now();
        entry.delivery.next_attempt.reset();
      } else {
        entry.body = std::string(body->as_string());
        entry.secret = StringMember(record, "secret");
        if (!entry.delivery.next_attempt) entry.delivery.next_attempt = clock.Now();
        pending[entry.seq] = id;
      }
    }
    if (entry.delivery.state != DeliveryState::kPending)
      done.emplace_back(entry.delivery.finished.value_or(TimePoint{}), id);
    deliveries[id] = std::move(entry);
  }
  std::sort(done.begin(), done.end());
  for (auto& [time, id] : done) finished.push_back(std::move(id));
  while (finished.size() > options.max_kept) {
    deliveries.erase(finished.front());
    finished.pop_front();
  }
  // Rewriting drops the older lines of finished deliveries, and with them their secrets.
  return CompactLocked();
}

Result<std::string> WebhookSender::Impl::Enqueue(const WebhookRequest& request) {
  DOPPEL_RETURN_IF_ERROR(SplitUrl(request.url).status());
  if (request.event.empty())
    return Status::InvalidArgument("a webhook needs an event name (\"workOrder.created\", ...)");
  Entry entry{.delivery = {.id = RandomId(),
                           .url = request.url,
                           .event = request.event,
                           .created = clock.Now()},
              .secret = request.secret,
              .body = doppel::ToJson(request.body)};
  entry.delivery.next_attempt = entry.delivery.created;
  const std::string id = entry.delivery.id;
  {
    std::lock_guard lock(mu);
    if (stopping) return Status::Unavailable("the webhook sender is stopped");
    if (pending.size() >= options.max_pending) {
      return Status::ResourceExhausted(fmt::format(
          "{} webhook deliveries are already waiting (the most allowed); try again later",
          pending.size()));
    }
    entry.seq = next_seq++;
    if (journal != nullptr) {
      // On disk before the caller hears "queued": that is the promise a restart keeps.
      DOPPEL_RETURN_IF_ERROR(journal->Append(RecordOf(entry), options.sync));
    }
    pending[entry.seq] = id;
    deliveries[id] = std::move(entry);
    changed = true;
  }
  wake.notify_all();
  return id;
}

WebhookSender::Impl::Entry* WebhookSender::Impl::NextLocked() {
  Entry* next = nullptr;
  std::set<std::string_view> seen_urls;
  for (const auto& [seq, id] : pending) {
    Entry& entry = deliveries.at(id);
    if (!seen_urls.insert(entry.delivery.url).second) continue;  // an older one to this URL waits
    if (next == nullptr || *entry.delivery.next_attempt < *next->delivery.next_attempt)
      next = &entry;
  }
  return next;
}

void WebhookSender::Impl::Run() {
  std::unique_lock lock(mu);
  while (!stopping) {
    Entry* next = NextLocked();
    const TimePoint now = clock.Now();
    if (next == nullptr || *next->delivery.next_attempt > now) {
      std::chrono::nanoseconds wait = kMaxWait;
      if (next != nullptr)
        wait = std::min<std::chrono::nanoseconds>(*next->delivery.next_attempt - now, kMaxWait);
      changed = false;
      wake.wait_for(lock, wait, [&] { return stopping || changed; });
      continue;
    }
    // The entry stays put while unlocked: only this thread removes pending deliveries.
    Entry& entry = *next;
    lock.unlock();
    const AttemptOutcome outcome = Attempt(entry);
    lock.lock();
    if (!ApplyLocked(entry, outcome)) continue;
    const Delivery done = entry.delivery;
    std::function<void(const Delivery&)> callback = on_finished;
    if (finished.size() > options.max_kept) {
      deliveries.erase(finished.front());
      finished.pop_front();
    }
    lock.unlock();
    if (callback) callback(done);
    lock.lock();
  }
}

AttemptOutcome WebhookSender::Impl::Attempt(const Entry& entry) {
  // Read under no lock: only this thread writes an entry's url, secret and body after Enqueue.
  auto endpoint = SplitUrl(entry.delivery.url);
  if (!endpoint.ok()) return {.error = endpoint.status().message()};
  auto it = clients.find(endpoint->origin);
  if (it == clients.end()) {
    if (clients.size() >= kMaxClients) clients.clear();
    HttpClientOptions http_options{.connect_timeout = std::min<std::chrono::milliseconds>(
                                       options.request_timeout, std::chrono::seconds(5)),
                                   .request_timeout = options.request_timeout};
    auto created = HttpClient::Create(endpoint->origin, http_options);
    if (!created.ok()) return {.error = created.status().message()};
    it = clients.emplace(endpoint->origin, std::move(*created)).first;
  }
  const int64_t timestamp = UnixSeconds(clock.Now());
  HttpHeaders headers{{"Content-Type", "application/json"},
                      {"User-Agent", std::string(kUserAgent)},
                      {"X-Doppel-Event", entry.delivery.event},
                      {"X-Doppel-Delivery", entry.delivery.id},
                      {"X-Doppel-Timestamp", std::to_string(timestamp)}};
  if (!entry.secret.empty()) {
    headers.emplace_back(
        "X-Doppel-Signature",
        fmt::format("sha256={}", SignWebhook(entry.secret, timestamp, entry.body)));
  }
  auto response = it->second->Post(endpoint->target, entry.body, headers);
  if (!response.ok()) {
    clients.erase(it);  // a fresh connection next time
    return {.error = response.status().message()};
  }
  AttemptOutcome outcome{.status = response->status};
  if (internal::Judge(response->status) != AttemptVerdict::kDelivered) {
    // The receiver's body is not quoted: it may echo ours.
    outcome.error = fmt::format("the receiver answered HTTP {}", response->status);
    if (auto retry_after = response->Header("Retry-After")) {
      outcome.retry_after = internal::ParseRetryAfter(*retry_after, clock.Now());
      outcome.error += fmt::format(" (Retry-After: {})", *retry_after);
    }
  }
  return outcome;
}

bool WebhookSender::Impl::ApplyLocked(Entry& entry, const AttemptOutcome& outcome) {
  Delivery& d = entry.delivery;
  ++d.attempts;
  ++attempts_total;
  d.last_status = outcome.status;
  d.last_error = outcome.error;
  switch (internal::Judge(outcome.status)) {
    case AttemptVerdict::kDelivered:
      FinishLocked(entry, DeliveryState::kDelivered);
      return true;
    case AttemptVerdict::kFail:
      d.last_error += "; not retried: another attempt would get the same answer";
      FinishLocked(entry, DeliveryState::kFailed);
      return true;
    case AttemptVerdict::kRetry:
      break;
  }
  if (d.attempts >= options.max_attempts) {
    d.last_error += fmt::format("; gave up after {} attempts", d.attempts);
    FinishLocked(entry, DeliveryState::kFailed);
    return true;
  }
  const double jitter = std::uniform_real_distribution<double>(0.8, 1.2)(rng);
  d.next_attempt =
      clock.Now() + internal::RetryDelay(d.attempts, options.initial_backoff, options.max_backoff,
                                         jitter, outcome.retry_after);
  PersistLocked(entry, false);
  return false;
}

void WebhookSender::Impl::FinishLocked(Entry& entry, DeliveryState state) {
  Delivery& d = entry.delivery;
  d.state = state;
  d.finished = clock.Now();
  d.next_attempt.reset();
  if (state == DeliveryState::kDelivered) d.last_error.clear();
  state == DeliveryState::kDelivered ? ++delivered_total : ++failed_total;
  entry.secret.clear();
  entry.body.clear();
  pending.erase(entry.seq);
  finished.push_back(d.id);
  PersistLocked(entry, false);
}

json::object WebhookSender::Impl::RecordOf(const Entry& entry) const {
  json::object record = DeliveryJson(entry.delivery);
  record["key"] = entry.delivery.id;
  record["seq"] = entry.seq;
  if (entry.delivery.state == DeliveryState::kPending) {
    record["body"] = entry.body;
    if (!entry.secret.empty()) record["secret"] = entry.secret;
  }
  return record;
}

void WebhookSender::Impl::PersistLocked(const Entry& entry, bool sync) {
  if (journal == nullptr) return;
  // A lost line costs at most a repeated delivery after a crash (receivers de-duplicate by
  // delivery id); count it rather than stop delivering.
  if (!journal->Append(RecordOf(entry), sync).ok()) ++journal_errors;
  if (journal->lines() > 4 * deliveries.size() + 1024 && !CompactLocked().ok()) ++journal_errors;
}

Status WebhookSender::Impl::CompactLocked() {
  if (journal == nullptr) return Status::Ok();
  std::vector<const Entry*> kept;
  kept.reserve(deliveries.size());
  for (const auto& [id, entry] : deliveries) kept.push_back(&entry);
  std::sort(kept.begin(), kept.end(),
            [](const Entry* a, const Entry* b) { return a->seq < b->seq; });
  std::vector<json::object> records;
  records.reserve(kept.size());
  for (const Entry* entry : kept) records.push_back(RecordOf(*entry));
  return journal->Rewrite(records);
}

// ---- the public face ---------------------------------------------------------------------------

WebhookSender::WebhookSender(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<WebhookSender>> WebhookSender::Open(WebhookSenderOptions options,
                                                           const Clock& clock) {
  if (options.max_attempts < 1)
    return Status::InvalidArgument("webhooks: max_attempts must be at least 1");
  if (options.initial_backoff.count() < 0 || options.max_backoff < options.initial_backoff) {
    return Status::InvalidArgument(
        "webhooks: backoffs must satisfy 0 <= initial_backoff <= max_backoff");
  }
  auto impl = std::make_unique<Impl>(std::move(options), clock);
  DOPPEL_RETURN_IF_ERROR(impl->Load());
  return std::unique_ptr<WebhookSender>(new WebhookSender(std::move(impl)));
}

WebhookSender::~WebhookSender() { Stop(); }

void WebhookSender::Start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->worker.joinable() || impl_->stopping) return;
  impl_->worker = std::thread([impl = impl_.get()] { impl->Run(); });
}

void WebhookSender::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

void WebhookSender::Poke() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->changed = true;
  }
  impl_->wake.notify_all();
}

Result<std::string> WebhookSender::Enqueue(const WebhookRequest& request) {
  return impl_->Enqueue(request);
}

Result<Delivery> WebhookSender::Get(std::string_view id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->deliveries.find(id);
  if (it == impl_->deliveries.end()) {
    return Status::NotFound(fmt::format("there is no webhook delivery with id '{}'", id),
                            "DeliveryNotFound");
  }
  return it->second.delivery;
}

std::vector<Delivery> WebhookSender::List(std::size_t limit) const {
  std::vector<std::pair<uint64_t, Delivery>> all;
  {
    std::lock_guard lock(impl_->mu);
    all.reserve(impl_->deliveries.size());
    for (const auto& [id, entry] : impl_->deliveries) all.emplace_back(entry.seq, entry.delivery);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<Delivery> out;
  for (std::size_t i = 0; i < all.size() && i < limit; ++i) out.push_back(std::move(all[i].second));
  return out;
}

void WebhookSender::OnFinished(std::function<void(const Delivery&)> callback) {
  std::lock_guard lock(impl_->mu);
  impl_->on_finished = std::move(callback);
}

void WebhookSender::RenderMetrics(std::string& out) const {
  std::lock_guard lock(impl_->mu);
  out +=
      "# HELP doppel_webhook_deliveries_total Webhook deliveries finished, by state.\n"
      "# TYPE doppel_webhook_deliveries_total counter\n";
  out += fmt::format("doppel_webhook_deliveries_total{{state=\"delivered\"}} {}\n",
                     impl_->delivered_total);
  out +=
      fmt::format("doppel_webhook_deliveries_total{{state=\"failed\"}} {}\n", impl_->failed_total);
  out +=
      "# HELP doppel_webhook_attempts_total Webhook delivery attempts (HTTP requests tried).\n"
      "# TYPE doppel_webhook_attempts_total counter\n";
  out += fmt::format("doppel_webhook_attempts_total {}\n", impl_->attempts_total);
  out +=
      "# HELP doppel_webhook_pending Webhook deliveries waiting for an attempt.\n"
      "# TYPE doppel_webhook_pending gauge\n";
  out += fmt::format("doppel_webhook_pending {}\n", impl_->pending.size());
  out +=
      "# HELP doppel_webhook_journal_errors_total Failed writes of the webhook journal.\n"
      "# TYPE doppel_webhook_journal_errors_total counter\n";
  out += fmt::format("doppel_webhook_journal_errors_total {}\n", impl_->journal_errors);
}

}  // namespace doppel::client
