// The OPC UA client: one connection (UA TCP + secure channel + session) at a time.
//
// Threads. Connect() establishes the first connection on the caller's thread, then starts the
// client's own I/O thread, the only reader of the socket: it re-assembles chunks, hands each
// response to the waiting caller (by request id), runs the Publish loop and renews the channel
// token. Requests are written by the calling thread (UaSocket::Send serialises writers, and
// send_mu_ ties each sequence number to its write order). When the connection drops, the I/O
// thread fails every waiting request with Unavailable and re-establishes the connection itself
// — channel, session, then every subscription — with a backoff from reconnect_min to
// reconnect_max; meanwhile connected() is false and requests answer Unavailable at once.
// While the I/O thread (re-)establishes, it talks synchronously: it writes a request and reads
// until its answer arrives, as Connect() does before the thread exists.
#include "connect/opcua/opcua_client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "connect/opcua/internal/ua_codec.h"
#include "connect/opcua/internal/ua_messages.h"
#include "connect/opcua/internal/ua_transport.h"

namespace doppel::connect::opcua {
namespace {

using namespace internal;  // NOLINT: the codec is this file's vocabulary
using Clock = std::chrono::steady_clock;

constexpr uint32_t kRequestedChannelLifetimeMs = 3'600'000;
constexpr int kPublishRequestsInFlight = 3;
constexpr int kMaxBrowseNext = 10'000;
constexpr uint8_t kAccessLevelCurrentWrite = 0x02;
constexpr auto kPollInterval = std::chrono::milliseconds(200);

int64_t NowTicks() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return TicksFromUnixNanos(ns.count());
}

std::string RandomNonce() {
  std::random_device rd;
  std::string nonce(32, '\0');
  for (char& c : nonce) c = static_cast<char>(rd() & 0xff);
  return nonce;
}

// A StatusCode result of one operation as an error.
Status OperationError(std::string_view what, uint32_t status) {
  const std::string text = fmt::format("{}: {}", what, StatusCodeName(status));
  switch (status & 0xffff0000u) {
    case 0x80340000:  // BadNodeIdUnknown
    case 0x80750000:  // BadMethodInvalid
      return Status::NotFound(text);
    case 0x803B0000:  // BadNotWritable
    case 0x801F0000:  // BadUserAccessDenied
      return Status::PermissionDenied(text);
    default:
      return Status::InvalidArgument(text);
  }
}

bool IsProtocolError(const Status& s) { return s.code() == StatusCode::kInvalidArgument; }

}  // namespace

struct OpcUaClient::Impl {
  struct Pending {
    bool done = false;
    Result<std::string> body = Status::Unavailable("no answer yet");
  };
  struct Subscription {
    SubscriptionOptions options;
    std::vector<MonitoredItemRequest> items;
    DataHandler on_data;
    uint32_t first_client_handle = 0;
    uint32_t server_id = 0;  // guarded by mu_
  };

  explicit Impl(OpcUaClientOptions o)
      : options(std::move(o)),
        limits{.max_array_length = options.max_array_length, .max_string_bytes = options.max_string_bytes},
        assembler(options.max_chunk_count, options.max_message_bytes) {}

  // --- Configuration (immutable after construction) -------------------------------------------
  const OpcUaClientOptions options;
  const Limits limits;

  // --- Guarded by mu ----------------------------------------------------------------------------
  mutable std::mutex mu;
  std::condition_variable cv;
  bool connected = false;
  bool stopping = false;
  bool closing = false;  // Disconnect() is closing the session: Publish faults are expected
  NodeId auth_token;
  uint32_t channel_id = 0;
  uint32_t token_id = 0;
  std::map<uint32_t, std::shared_ptr<Pending>> pending;  // by request id
  std::set<uint32_t> publish_requests;                   // request ids of Publish in flight
  int publish_target = kPublishRequestsInFlight;
  std::vector<Acknowledgement> acks;
  std::vector<std::shared_ptr<Subscription>> subscriptions;
  uint32_t next_client_handle = 1;
  Counters counters;

  // --- The connection ---------------------------------------------------------------------------
  UaSocket socket;
  std::mutex send_mu;          // sequence numbers in write order
  uint32_t sequence_number = 0;  // guarded by send_mu
  uint32_t send_chunk_size = 8192;
  uint32_t receive_chunk_size = 1u << 16;
  std::atomic<uint32_t> next_request_id{1};
  std::atomic<Clock::time_point> last_send{Clock::time_point()};
  Clock::duration keep_alive_after = std::chrono::seconds(20);  // a third of the session timeout
  std::thread io_thread;
  std::atomic<std::thread::id> io_thread_id{};

  // --- I/O thread (or the synchronous phase) only -------------------------------------------------
  MessageAssembler assembler;
  Clock::time_point renew_at = Clock::time_point::max();
  uint32_t renew_request_id = 0;

  // Anyone talking synchronously: no reader thread, or it is us.
  bool Synchronous() const {
    return !io_thread.joinable() || std::this_thread::get_id() == io_thread_id.load();
  }

  RequestHeader Header(uint32_t request_id, std::chrono::milliseconds timeout) {
    std::lock_guard lock(mu);
    return RequestHeader{.authentication_token = auth_token,
                         .request_handle = request_id,
                         .timeout_hint_ms = static_cast<uint32_t>(timeout.count()),
                         .timestamp_ticks = NowTicks()};
  }

  Status SendMessage(std::string_view type, uint32_t request_id, std::string_view body) {
    uint32_t channel, token;
    {
      std::lock_guard lock(mu);
      channel = channel_id;
      token = token_id;
    }
    std::lock_guard lock(send_mu);
    last_send.store(Clock::now());
    std::string bytes = EncodeSecureMessage(type, channel, token, request_id, body, send_chunk_size, sequence_number);
    return socket.Send(bytes);
  }

  // Sends a request built by `encode` and answers the response body.
  template <typename EncodeFn>
  Result<std::string> Request(EncodeFn encode, std::string_view type = "MSG") {
    const uint32_t id = next_request_id.fetch_add(1);
    Encoder e;
    encode(e, Header(id, options.request_timeout));
    if (Synchronous()) {
      DOPPEL_RETURN_IF_ERROR(SendMessage(type, id, e.bytes()));
      return ReadUntilAnswer(id);
    }
    auto waiter = std::make_shared<Pending>();
    {
      std::lock_guard lock(mu);
      if (!connected) return Status::Unavailable(fmt::format("OPC UA server {} not connected", options.endpoint));
      pending[id] = waiter;
    }
    if (Status s = SendMessage(type, id, e.bytes()); !s.ok()) {
      std::lock_guard lock(mu);
      pending.erase(id);
      return s;
    }
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, options.request_timeout, [&] { return waiter->done; })) {
      pending.erase(id);
      return Status::Unavailable(fmt::format("OPC UA request timed out after {} ms", options.request_timeout.count()));
    }
    return std::move(waiter->body);
  }

  // Synchronous phase: reads messages until the answer to `request_id`.
  Result<std::string> ReadUntilAnswer(uint32_t request_id) {
    const auto deadline = Clock::now() + options.request_timeout;
    while (Clock::now() < deadline) {
      DOPPEL_ASSIGN_OR_RETURN(std::optional<AssembledMessage> m, ReadMessage(deadline));
      if (!m) continue;
      if (m->request_id == request_id) {
        if (!m->abort.ok()) return m->abort;
        return std::move(m->body);
      }
      DOPPEL_RETURN_IF_ERROR(Dispatch(std::move(*m)));
    }
    return Status::Unavailable(fmt::format("OPC UA request timed out after {} ms", options.request_timeout.count()));
  }

  // One message, or nullopt when none completed before `deadline`.
  Result<std::optional<AssembledMessage>> ReadMessage(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> chunk,
                            socket.ReadChunk(std::max(left, std::chrono::milliseconds(0)), receive_chunk_size));
    if (!chunk) return std::optional<AssembledMessage>();
    if (chunk->compare(0, 3, "ERR") == 0) return DecodeErrorMessage(std::string_view(*chunk).substr(kChunkHeaderBytes));
    DOPPEL_ASSIGN_OR_RETURN(const SecureChunk c, ParseSecureChunk(*chunk, options.max_string_bytes));
    uint32_t ours = 0;
    {
      std::lock_guard lock(mu);
      ours = channel_id;
    }
    if (ours != 0 && c.channel_id != ours) {
      return Status::InvalidArgument(fmt::format("chunk for secure channel {}, ours is {}", c.channel_id, ours));
    }
    return assembler.Add(c);
  }

  // --- Establishing a connection (synchronous) ---------------------------------------------------

  Status Establish() {
    DOPPEL_ASSIGN_OR_RETURN(const EndpointAddress address, ParseEndpointUrl(options.endpoint));
    assembler.Reset();
    {
      std::lock_guard lock(mu);
      channel_id = 0;
      token_id = 0;
      auth_token = NodeId{};
      publish_requests.clear();
      acks.clear();
      publish_target = kPublishRequestsInFlight;
    }
    {
      std::lock_guard lock(send_mu);
      sequence_number = 0;
    }
    DOPPEL_RETURN_IF_ERROR(socket.Connect(address, options.request_timeout));
    DOPPEL_RETURN_IF_ERROR(HelloAcknowledge());
    DOPPEL_RETURN_IF_ERROR(OpenChannel());
    return OpenSession();
  }

  Status HelloAcknowledge() {
    const TransportLimits ours{.receive_buffer_size = 1u << 16, .send_buffer_size = 1u << 16,
                               .max_message_size = options.max_message_bytes, .max_chunk_count = options.max_chunk_count};
    DOPPEL_RETURN_IF_ERROR(socket.Send(EncodeHello(options.endpoint, ours)));
    DOPPEL_ASSIGN_OR_RETURN(std::optional<std::string> chunk, socket.ReadChunk(options.request_timeout, ours.receive_buffer_size));
    if (!chunk) return Status::Unavailable("OPC UA server sent no Acknowledge");
    const std::string_view body = std::string_view(*chunk).substr(kChunkHeaderBytes);
    if (chunk->compare(0, 3, "ERR") == 0) return DecodeErrorMessage(body);
    if (chunk->compare(0, 3, "ACK") != 0) return Status::InvalidArgument("OPC UA server answered Hello with no ACK");
    DOPPEL_ASSIGN_OR_RETURN(const TransportLimits server, DecodeAcknowledge(body));
    send_chunk_size = std::min(ours.send_buffer_size, server.receive_buffer_size);
    receive_chunk_size = std::min(ours.receive_buffer_size, server.send_buffer_size);
    return Status::Ok();
  }

  Status OpenChannel() {
    DOPPEL_ASSIGN_OR_RETURN(const std::string body, Request([](Encoder& e, const RequestHeader& h) {
      EncodeOpenSecureChannel(e, h, /*renew=*/false, kRequestedChannelLifetimeMs);
    }, "OPN"));
    return ApplyToken(body);
  }

  Status ApplyToken(std::string_view body) {
    DOPPEL_ASSIGN_OR_RETURN(const ChannelToken token, DecodeOpenSecureChannel(body, limits));
    {
      std::lock_guard lock(mu);
      channel_id = token.channel_id;
      token_id = token.token_id;
    }
    // Renew at 75 % of the lifetime, as Part 4 (5.5.2) recommends.
    renew_at = Clock::now() + std::chrono::milliseconds(uint64_t{token.revised_lifetime_ms} * 3 / 4);
    return Status::Ok();
  }

  Result<std::string> ChoosePolicy(const SessionInfo& session) {
    const bool anonymous = options.user.empty();
    for (const UserTokenPolicy& p : session.token_policies) {
      if (anonymous && p.token_type == 0) return p.policy_id;
      if (!anonymous && p.token_type == 1 &&
          (p.security_policy_uri.empty() || p.security_policy_uri == kSecurityPolicyNoneUri)) {
        return p.policy_id;
      }
    }
    if (session.token_policies.empty()) return std::string(anonymous ? "anonymous" : "username");
    return Status::PermissionDenied(anonymous
        ? "the OPC UA server allows no anonymous sessions on SecurityPolicy None"
        : "the OPC UA server takes no clear-text user name token on SecurityPolicy None (Basic256Sha256 is not supported yet)");
  }

  Status OpenSession() {
    CreateSessionParams params{.application_name = options.application_name, .endpoint_url = options.endpoint,
                               .session_name = fmt::format("{} session", options.application_name),
                               .timeout_ms = 60'000, .client_nonce = RandomNonce()};
    DOPPEL_ASSIGN_OR_RETURN(const std::string created, Request([&](Encoder& e, const RequestHeader& h) {
      EncodeCreateSession(e, h, params);
    }));
    DOPPEL_ASSIGN_OR_RETURN(const SessionInfo session, DecodeCreateSession(created, limits));
    const double timeout_ms = std::clamp(session.revised_timeout_ms, 3'000.0, 3'600'000.0);  // also NaN-safe below
    keep_alive_after = std::chrono::milliseconds(static_cast<int64_t>(std::isnan(timeout_ms) ? 60'000 : timeout_ms) / 3);
    {
      std::lock_guard lock(mu);
      auth_token = session.authentication_token;
    }
    DOPPEL_ASSIGN_OR_RETURN(std::string policy_id, ChoosePolicy(session));
    const Identity identity{.policy_id = std::move(policy_id), .user = options.user, .password = options.password};
    DOPPEL_ASSIGN_OR_RETURN(const std::string activated, Request([&](Encoder& e, const RequestHeader& h) {
      EncodeActivateSession(e, h, identity);
    }));
    return DecodeActivateSession(activated, limits);
  }

  // --- Subscriptions ------------------------------------------------------------------------------

  // Creates `sub` on the server (after Subscribe, or again after a reconnect).
  Status CreateOnServer(Subscription& sub) {
    DOPPEL_ASSIGN_OR_RETURN(const std::string created, Request([&](Encoder& e, const RequestHeader& h) {
      EncodeCreateSubscription(e, h, sub.options);
    }));
    DOPPEL_ASSIGN_OR_RETURN(const SubscriptionInfo info, Checked(DecodeCreateSubscription(created, limits)));
    {
      std::lock_guard lock(mu);
      sub.server_id = info.subscription_id;
    }
    std::vector<MonitoredItemSpec> specs;
    for (std::size_t i = 0; i < sub.items.size(); ++i) {
      specs.push_back({.request = sub.items[i], .client_handle = sub.first_client_handle + static_cast<uint32_t>(i)});
    }
    DOPPEL_ASSIGN_OR_RETURN(const std::string items, Request([&](Encoder& e, const RequestHeader& h) {
      EncodeCreateMonitoredItems(e, h, info.subscription_id, specs);
    }));
    DOPPEL_ASSIGN_OR_RETURN(const std::vector<MonitoredItemResult> results, Checked(DecodeCreateMonitoredItems(items, limits)));
    if (results.size() != specs.size()) {
      return Status::InvalidArgument(fmt::format("CreateMonitoredItems: {} results for {} items", results.size(), specs.size()));
    }
    std::string refused;
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i].status & kBadStatusMask) {
        refused += fmt::format("{}{} ({})", refused.empty() ? "" : ", ", sub.items[i].node.ToString(),
                               StatusCodeName(results[i].status));
      }
    }
    if (!refused.empty()) return Status::InvalidArgument(fmt::format("monitored items refused: {}", refused));
    return Status::Ok();
  }

  // Best effort: a half-created subscription is removed again.
  void DeleteOnServer(const Subscription& sub) {
    uint32_t id = 0;
    {
      std::lock_guard lock(mu);
      id = sub.server_id;
    }
    if (id == 0) return;
    auto deleted = Request([&](Encoder& e, const RequestHeader& h) { EncodeDeleteSubscriptions(e, h, id); });
    Status s = deleted.ok() ? DecodeDeleteSubscriptions(*deleted, limits) : deleted.status();
    if (!s.ok()) spdlog::debug("opcua {}: DeleteSubscriptions: {}", options.endpoint, s.message());
  }

  // Keeps kPublishRequestsInFlight Publish requests at the server while subscriptions exist.
  void TopUpPublish() {
    while (true) {
      std::vector<Acknowledgement> to_ack;
      const uint32_t id = next_request_id.fetch_add(1);
      {
        std::lock_guard lock(mu);
        if (!connected || stopping || closing || subscriptions.empty() ||
            static_cast<int>(publish_requests.size()) >= publish_target) {
          return;
        }
        publish_requests.insert(id);
        to_ack.swap(acks);
      }
      Encoder e;
      // No timeout hint: the server holds a Publish until it has notifications or a keep-alive.
      RequestHeader h = Header(id, std::chrono::milliseconds(0));
      EncodePublish(e, h, to_ack);
      if (!SendMessage("MSG", id, e.bytes()).ok()) return;  // the reader sees the broken connection
    }
  }

  void OnPublish(uint32_t request_id, std::string_view body) {
    {
      std::lock_guard lock(mu);
      publish_requests.erase(request_id);
    }
    auto result = DecodePublish(body, limits);
    {
      std::lock_guard lock(mu);
      if (closing) return;
    }
    if (!result.ok()) {
      if (IsProtocolError(result.status())) {
        Fail(result.status());
        return;
      }
      const std::string& why = result.status().message();
      spdlog::debug("opcua {}: {}", options.endpoint, why);
      if (why.find(StatusCodeName(kBadTooManyPublishRequests)) != std::string::npos) {
        std::lock_guard lock(mu);  // the server holds fewer than we sent
        publish_target = std::max(1, static_cast<int>(publish_requests.size()));
      } else if (why.find(StatusCodeName(kBadNoSubscription)) == std::string::npos) {
        Fail(result.status());  // e.g. BadSessionIdInvalid: start again with a new session
      }
      return;
    }
    Deliver(*result);
    TopUpPublish();
  }

  void Deliver(const PublishResult& p) {
    std::shared_ptr<Subscription> sub;
    {
      std::lock_guard lock(mu);
      // Acknowledge every data message, even of a subscription we no longer know, so the
      // server can drop it from its retransmission queue.
      if (p.has_notifications) acks.push_back({p.subscription_id, p.sequence_number});
      for (const auto& s : subscriptions) {
        if (s->server_id == p.subscription_id) sub = s;
      }
    }
    for (uint32_t status : p.status_changes) {
      spdlog::warn("opcua {}: subscription {} status changed to {}", options.endpoint, p.subscription_id,
                   StatusCodeName(status));
    }
    if (!sub || p.data_changes.empty()) return;
    std::vector<MonitoredValue> values;
    values.reserve(p.data_changes.size());
    for (const ItemNotification& n : p.data_changes) {
      const uint32_t index = n.client_handle - sub->first_client_handle;
      if (n.client_handle < sub->first_client_handle || index >= sub->items.size()) continue;
      values.push_back({.item = index, .value = n.value});
    }
    {
      std::lock_guard lock(mu);
      counters.notifications += values.size();
    }
    if (!values.empty() && sub->on_data) sub->on_data(values);
  }

  // --- The I/O thread --------------------------------------------------------------------------------

  // A message that is not the answer a synchronous caller waits for.
  Status Dispatch(AssembledMessage m) {
    if (m.type == "OPN") {
      if (!m.abort.ok()) return m.abort;
      return ApplyToken(m.body);  // the answer to a renewal
    }
    bool is_publish = false;
    {
      std::lock_guard lock(mu);
      is_publish = publish_requests.count(m.request_id) > 0;
      if (!is_publish) {
        auto it = pending.find(m.request_id);
        if (it == pending.end()) return Status::Ok();  // its caller gave up (timeout)
        it->second->done = true;
        if (m.abort.ok()) {
          it->second->body = std::move(m.body);
        } else {
          it->second->body = m.abort;
        }
        pending.erase(it);
        cv.notify_all();
        return Status::Ok();
      }
    }
    if (!m.abort.ok()) {
      std::lock_guard lock(mu);
      publish_requests.erase(m.request_id);
      return Status::Ok();
    }
    OnPublish(m.request_id, m.body);
    return Status::Ok();
  }

  // Reads the server's state when nothing else was sent for a third of the session timeout, so
  // that an idle session does not expire. Its answer is ignored (no caller waits for it).
  Status KeepSessionAlive() {
    const uint32_t id = next_request_id.fetch_add(1);
    const NodeId server_state = Ns0(2259);  // Server.ServerStatus.State
    const uint32_t attribute = kAttributeValue;
    Encoder e;
    EncodeRead(e, Header(id, options.request_timeout), std::span(&server_state, 1), std::span(&attribute, 1));
    return SendMessage("MSG", id, e.bytes());
  }

  Status RenewToken() {
    const uint32_t id = next_request_id.fetch_add(1);
    Encoder e;
    EncodeOpenSecureChannel(e, Header(id, options.request_timeout), /*renew=*/true, kRequestedChannelLifetimeMs);
    renew_request_id = id;
    renew_at = Clock::now() + options.request_timeout;  // try again if no answer came
    return SendMessage("OPN", id, e.bytes());
  }

  // Reads and dispatches until the connection fails or the client stops.
  Status ReadLoop() {
    while (true) {
      {
        std::lock_guard lock(mu);
        if (stopping) return Status::Ok();
      }
      if (Clock::now() >= renew_at) DOPPEL_RETURN_IF_ERROR(RenewToken());
      if (Clock::now() - last_send.load() >= keep_alive_after) DOPPEL_RETURN_IF_ERROR(KeepSessionAlive());
      const auto deadline = std::min(Clock::now() + kPollInterval, renew_at);
      DOPPEL_ASSIGN_OR_RETURN(std::optional<AssembledMessage> m, ReadMessage(deadline));
      if (m) DOPPEL_RETURN_IF_ERROR(Dispatch(std::move(*m)));
      Status failure = TakeFailure();
      if (!failure.ok()) return failure;
    }
  }

  // A malformed answer to a caller's request: the connection is dropped as for any other.
  template <typename T>
  Result<T> Checked(Result<T> decoded) {
    if (!decoded.ok() && IsProtocolError(decoded.status())) Fail(decoded.status());
    return decoded;
  }
  Status Checked(Status decoded) {
    if (IsProtocolError(decoded)) Fail(decoded);
    return decoded;
  }

  // A protocol error found while handling a message (a malformed Publish): drops the connection.
  void Fail(Status s) {
    std::lock_guard lock(mu);
    if (failure_.ok()) failure_ = std::move(s);
  }
  Status TakeFailure() {
    std::lock_guard lock(mu);
    Status s = std::move(failure_);
    failure_ = Status::Ok();
    return s;
  }
  Status failure_;  // guarded by mu

  // Marks the connection lost and fails every waiting request.
  void Drop(const Status& why) {
    {
      std::lock_guard lock(mu);
      const bool was_connected = connected;
      connected = false;
      for (auto& [id, waiter] : pending) {
        waiter->done = true;
        waiter->body = Status::Unavailable(fmt::format("OPC UA connection lost: {}", why.message()));
      }
      pending.clear();
      publish_requests.clear();
      if (IsProtocolError(why)) ++counters.protocol_errors;
      cv.notify_all();
      if (was_connected && !stopping) spdlog::warn("opcua {}: connection lost: {}", options.endpoint, why.message());
    }
    socket.Close();
  }

  // Re-creates the channel, the session and every subscription; false when stopping.
  bool Reconnect() {
    auto backoff = options.reconnect_min;
    while (true) {
      {
        std::unique_lock lock(mu);
        if (cv.wait_for(lock, backoff, [&] { return stopping; })) return false;
      }
      Status s = Establish();
      if (s.ok()) s = RecreateSubscriptions();
      {
        std::lock_guard lock(mu);
        if (stopping) return false;  // Disconnect() came while we were connecting
      }
      if (s.ok()) {
        std::lock_guard lock(mu);
        connected = true;
        ++counters.connects;
        ++counters.reconnects;
        spdlog::info("opcua {}: reconnected", options.endpoint);
        return true;
      }
      Drop(s);
      spdlog::debug("opcua {}: reconnect failed: {}", options.endpoint, s.message());
      backoff = std::min(backoff * 2, options.reconnect_max);
    }
  }

  Status RecreateSubscriptions() {
    std::vector<std::shared_ptr<Subscription>> subs;
    {
      std::lock_guard lock(mu);
      subs = subscriptions;
    }
    for (const auto& sub : subs) DOPPEL_RETURN_IF_ERROR(CreateOnServer(*sub));
    return Status::Ok();
  }

  void Run() {
    io_thread_id.store(std::this_thread::get_id());
    while (true) {
      TopUpPublish();
      Status s = ReadLoop();
      {
        std::lock_guard lock(mu);
        if (stopping) return;
      }
      Drop(s);
      if (!Reconnect()) return;
    }
  }

  Status DescribeVariables(std::vector<ReferenceDescription>& references);

  // Best-effort goodbye: CloseSession, then CloseSecureChannel (no answer expected).
  void Goodbye() {
    {
      std::lock_guard lock(mu);
      if (!connected) return;
    }
    auto closed = Request([](Encoder& e, const RequestHeader& h) { EncodeCloseSession(e, h); });
    if (!closed.ok()) spdlog::debug("opcua {}: CloseSession: {}", options.endpoint, closed.status().message());
    const uint32_t id = next_request_id.fetch_add(1);
    Encoder e;
    EncodeCloseSecureChannel(e, Header(id, options.request_timeout));
    (void)SendMessage("CLO", id, e.bytes());
  }
};

// ---------------------------------------------------------------------------------------------------

OpcUaClient::OpcUaClient(OpcUaClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

OpcUaClient::~OpcUaClient() { Disconnect(); }

Status OpcUaClient::Connect() {
  if (impl_->io_thread.joinable()) return Status::Ok();
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = false;
    impl_->closing = false;
  }
  Status s = impl_->Establish();
  if (!s.ok()) {
    impl_->socket.Close();
    return s;
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->connected = true;
    ++impl_->counters.connects;
  }
  impl_->io_thread = std::thread([impl = impl_.get()] { impl->Run(); });
  return Status::Ok();
}

void OpcUaClient::Disconnect() {
  if (!impl_->io_thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->closing = true;
  }
  impl_->Goodbye();
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    impl_->connected = false;
    impl_->cv.notify_all();
  }
  impl_->socket.Shutdown();
  impl_->io_thread.join();
  impl_->io_thread_id.store(std::thread::id());
  impl_->Drop(Status::Unavailable("disconnected"));
  // CloseSession deleted them on the server; a later Connect() starts without subscriptions.
  std::lock_guard lock(impl_->mu);
  impl_->subscriptions.clear();
}

bool OpcUaClient::connected() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connected;
}

OpcUaClient::Counters OpcUaClient::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

Result<std::vector<DataValue>> OpcUaClient::Read(std::span<const NodeId> nodes) {
  const std::vector<uint32_t> attributes(nodes.size(), kAttributeValue);
  DOPPEL_ASSIGN_OR_RETURN(const std::string body, impl_->Request([&](Encoder& e, const RequestHeader& h) {
    EncodeRead(e, h, nodes, attributes);
  }));
  DOPPEL_ASSIGN_OR_RETURN(std::vector<DataValue> values, impl_->Checked(DecodeRead(body, impl_->limits)));
  if (values.size() != nodes.size()) {
    return Status::InvalidArgument(fmt::format("Read: {} results for {} nodes", values.size(), nodes.size()));
  }
  return values;
}

Status OpcUaClient::Write(const NodeId& node, const Variant& value) {
  DOPPEL_ASSIGN_OR_RETURN(const std::string body, impl_->Request([&](Encoder& e, const RequestHeader& h) {
    EncodeWrite(e, h, node, value);
  }));
  DOPPEL_ASSIGN_OR_RETURN(const std::vector<uint32_t> results, impl_->Checked(DecodeWrite(body, impl_->limits)));
  if (results.size() != 1) return Status::InvalidArgument(fmt::format("Write: {} results for 1 node", results.size()));
  if (results[0] & kBadStatusMask) return OperationError(fmt::format("Write {}", node.ToString()), results[0]);
  return Status::Ok();
}

Result<std::vector<ReferenceDescription>> OpcUaClient::Browse(const NodeId& node) {
  DOPPEL_ASSIGN_OR_RETURN(std::string body, impl_->Request([&](Encoder& e, const RequestHeader& h) {
    EncodeBrowse(e, h, node);
  }));
  std::vector<ReferenceDescription> references;
  bool next = false;
  for (int round = 0; round < kMaxBrowseNext; ++round) {
    DOPPEL_ASSIGN_OR_RETURN(std::vector<BrowseResult> results, impl_->Checked(DecodeBrowse(body, impl_->limits, next)));
    if (results.size() != 1) return Status::InvalidArgument(fmt::format("Browse: {} results for 1 node", results.size()));
    BrowseResult& r = results[0];
    if (r.status & kBadStatusMask) return OperationError(fmt::format("Browse {}", node.ToString()), r.status);
    std::move(r.references.begin(), r.references.end(), std::back_inserter(references));
    if (references.size() > impl_->options.max_array_length) {
      return Status::PayloadTooLarge(fmt::format("Browse {}: more than {} references", node.ToString(),
                                                 impl_->options.max_array_length));
    }
    if (r.continuation_point.empty()) break;
    DOPPEL_ASSIGN_OR_RETURN(body, impl_->Request([&](Encoder& e, const RequestHeader& h) {
      EncodeBrowseNext(e, h, r.continuation_point);
    }));
    next = true;
  }
  DOPPEL_RETURN_IF_ERROR(impl_->DescribeVariables(references));
  return references;
}

// Fills DataType and writability of the variables among `references` with one Read.
Status OpcUaClient::Impl::DescribeVariables(std::vector<ReferenceDescription>& references) {
  std::vector<NodeId> nodes;
  std::vector<uint32_t> attributes;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < references.size(); ++i) {
    if (references[i].node_class != ReferenceDescription::NodeClass::kVariable) continue;
    nodes.insert(nodes.end(), {references[i].node, references[i].node});
    attributes.insert(attributes.end(), {kAttributeDataType, kAttributeAccessLevel});
    which.push_back(i);
  }
  if (nodes.empty()) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(const std::string body, Request([&](Encoder& e, const RequestHeader& h) {
    EncodeRead(e, h, nodes, attributes);
  }));
  DOPPEL_ASSIGN_OR_RETURN(const std::vector<DataValue> values, Checked(DecodeRead(body, limits)));
  if (values.size() != nodes.size()) {
    return Status::InvalidArgument(fmt::format("Read: {} results for {} attributes", values.size(), nodes.size()));
  }
  for (std::size_t k = 0; k < which.size(); ++k) {
    ReferenceDescription& r = references[which[k]];
    const DataValue& type = values[2 * k];
    if (type.good() && !type.value.values.empty()) {
      if (const auto* text = std::get_if<std::string>(&type.value.values[0])) {
        auto id = NodeId::Parse(*text);
        if (id.ok()) r.data_type = *id;
      }
    }
    const auto level = values[2 * k + 1].value.AsNumber();
    r.writable = values[2 * k + 1].good() && level && (static_cast<uint32_t>(*level) & kAccessLevelCurrentWrite);
  }
  return Status::Ok();
}

Result<std::vector<Variant>> OpcUaClient::Call(const NodeId& object, const NodeId& method,
                                               std::span<const Variant> inputs) {
  DOPPEL_ASSIGN_OR_RETURN(const std::string body, impl_->Request([&](Encoder& e, const RequestHeader& h) {
    EncodeCall(e, h, object, method, inputs);
  }));
  DOPPEL_ASSIGN_OR_RETURN(std::vector<CallResult> results, impl_->Checked(DecodeCall(body, impl_->limits)));
  if (results.size() != 1) return Status::InvalidArgument(fmt::format("Call: {} results for 1 method", results.size()));
  if (results[0].status & kBadStatusMask) {
    std::string detail;
    for (std::size_t i = 0; i < results[0].input_argument_results.size(); ++i) {
      const uint32_t s = results[0].input_argument_results[i];
      if (s & kBadStatusMask) detail += fmt::format("; input {}: {}", i, StatusCodeName(s));
    }
    return OperationError(fmt::format("Call {}{}", method.ToString(), detail), results[0].status);
  }
  return std::move(results[0].outputs);
}

Result<uint32_t> OpcUaClient::Subscribe(const SubscriptionOptions& options, std::vector<MonitoredItemRequest> items,
                                        DataHandler on_data) {
  if (items.empty()) return Status::InvalidArgument("Subscribe: no monitored items");
  if (!connected()) return Status::Unavailable(fmt::format("OPC UA server {} not connected", impl_->options.endpoint));
  auto sub = std::make_shared<Impl::Subscription>();
  sub->options = options;
  sub->items = std::move(items);
  sub->on_data = std::move(on_data);
  {
    std::lock_guard lock(impl_->mu);
    sub->first_client_handle = impl_->next_client_handle;
    impl_->next_client_handle += static_cast<uint32_t>(sub->items.size());
  }
  if (Status s = impl_->CreateOnServer(*sub); !s.ok()) {
    impl_->DeleteOnServer(*sub);  // the items the server did accept would go on publishing
    return s;
  }
  uint32_t id = 0;
  {
    std::lock_guard lock(impl_->mu);
    impl_->subscriptions.push_back(sub);
    id = sub->server_id;
  }
  impl_->TopUpPublish();
  return id;
}

}  // namespace doppel::connect::opcua
