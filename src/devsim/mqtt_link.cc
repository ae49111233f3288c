#include "devsim/mqtt_link.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace doppel::devsim {
namespace {

constexpr auto kMaxBackoff = std::chrono::milliseconds(8000);
constexpr auto kDrainTimeout = std::chrono::seconds(2);
constexpr auto kFirstConnectWait = std::chrono::seconds(5);
// The loop never blocks in the socket longer than this, so a stop request is seen promptly.
constexpr int kMaxWaitMs = 100;

void InitLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::vector<std::string> SplitTopic(std::string_view topic) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto slash = topic.find('/', start);
    parts.emplace_back(topic.substr(start, slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

json::object Response(const json::value& correlation_id, const CommandResult& result) {
  return {{"correlationId", correlation_id}, {"status", result.status}, {"payload", result.payload}};
}

}  // namespace

Result<BrokerAddress> ParseBrokerUrl(std::string_view url) {
  if (url.starts_with("mqtts://") || url.starts_with("ssl://")) {
    return Status::InvalidArgument("TLS brokers are not supported yet: " + std::string(url));
  }
  if (url.starts_with("mqtt://")) url.remove_prefix(7);
  if (url.starts_with("tcp://")) url.remove_prefix(6);
  while (url.ends_with("/")) url.remove_suffix(1);
  BrokerAddress address;
  const auto colon = url.rfind(':');
  if (colon != std::string_view::npos) {
    const std::string_view port = url.substr(colon + 1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), address.port);
    if (ec != std::errc() || end != port.data() + port.size() || address.port <= 0 ||
        address.port > 65535) {
      return Status::InvalidArgument("bad broker port in " + std::string(url));
    }
    url = url.substr(0, colon);
  }
  if (url.empty()) return Status::InvalidArgument("broker URL has no host");
  address.host = std::string(url);
  return address;
}

Result<std::unique_ptr<FleetLink>> FleetLink::Create(Fleet& fleet, LinkOptions options,
                                                     const Clock& clock) {
  if (!(options.rate_hz > 0.0 && options.rate_hz <= 1000.0)) {
    return Status::InvalidArgument("rate must be in (0, 1000] Hz");
  }
  if (!(options.speed > 0.0)) return Status::InvalidArgument("speed must be positive");
  if (options.telemetry_qos < 0 || options.telemetry_qos > 1) {
    return Status::InvalidArgument("telemetry QoS must be 0 or 1");
  }
  if (options.client_id.empty()) options.client_id = "doppel-devsim-" + std::to_string(getpid());
  InitLibrary();
  // A clean session: the simulator re-subscribes on every connect and wants no stale backlog
  // of commands from a previous run.
  struct ::mosquitto* mosq = mosquitto_new(options.client_id.c_str(), true, nullptr);
  if (mosq == nullptr) return Status::Internal("mosquitto_new failed");
  // A device answers a command at once: without this, Nagle's algorithm holds the small
  // response back until the broker's delayed ACK (~40 ms per hop, bench/RESULTS.md).
  mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
  auto link = std::unique_ptr<FleetLink>(new FleetLink(fleet, std::move(options), clock, mosq));
  mosquitto_user_data_set(mosq, link.get());
  mosquitto_connect_callback_set(mosq, &FleetLink::ConnectTrampoline);
  mosquitto_disconnect_callback_set(mosq, &FleetLink::DisconnectTrampoline);
  mosquitto_message_callback_set(mosq, &FleetLink::MessageTrampoline);
  mosquitto_publish_callback_set(mosq, &FleetLink::PublishTrampoline);
  return link;
}

FleetLink::FleetLink(Fleet& fleet, LinkOptions options, const Clock& clock, struct ::mosquitto* mosq)
    : fleet_(fleet), options_(std::move(options)), clock_(clock), mosq_(mosq) {}

FleetLink::~FleetLink() { mosquitto_destroy(mosq_); }

Status FleetLink::Run(const std::atomic<bool>& stop) {
  const auto period = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(1.0 / options_.rate_hz));
  const uint64_t max_ticks =
      options_.duration_s > 0.0 ? static_cast<uint64_t>(std::ceil(options_.duration_s * options_.rate_hz)) : 0;
  next_connect_attempt_ = clock_.Now();
  // Give the first connection a moment before ticking, so a run's first messages are not
  // dropped merely because the CONNACK was still on its way.
  const TimePoint first_connect_deadline = clock_.Now() + kFirstConnectWait;
  while (!connected_ && !stop.load() && clock_.Now() < first_connect_deadline) Service(kMaxWaitMs);
  TimePoint next_tick = clock_.Now();
  while (!stop.load() && (max_ticks == 0 || stats_.ticks < max_ticks)) {
    const TimePoint now = clock_.Now();
    if (now >= next_tick) {
      Tick();
      next_tick += period;
      if (now - next_tick > std::chrono::seconds(1)) {
        // Too slow for the rate: skip ahead rather than publish a burst of stale ticks.
        ++stats_.late_ticks;
        next_tick = now + period;
      }
      continue;
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - now);
    Service(static_cast<int>(std::clamp<int64_t>(wait.count(), 0, kMaxWaitMs)));
  }
  Drain();
  return Status::Ok();
}

// Connects when due, then lets libmosquitto read and write for up to `wait_ms` (running the
// callbacks on this thread); notices a lost connection and schedules the reconnect.
void FleetLink::Service(int wait_ms) {
  const TimePoint now = clock_.Now();
  if (!socket_open_ && now >= next_connect_attempt_) TryConnect(now);
  if (!socket_open_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    return;
  }
  const int rc = mosquitto_loop(mosq_, wait_ms, 1);
  if (rc != MOSQ_ERR_SUCCESS) {
    if (connected_) spdlog::warn("devsim: connection to the broker lost: {}", mosquitto_strerror(rc));
    connected_ = false;
    socket_open_ = false;
    next_connect_attempt_ = clock_.Now() + connect_backoff_;
  }
}

void FleetLink::TryConnect(TimePoint now) {
  const int rc = mosquitto_connect(mosq_, options_.broker.host.c_str(), options_.broker.port,
                                   options_.keepalive_s);
  if (rc == MOSQ_ERR_SUCCESS) {
    socket_open_ = true;
    return;
  }
  spdlog::warn("devsim: cannot connect to {}:{}: {} (retrying in {} ms)", options_.broker.host,
               options_.broker.port, mosquitto_strerror(rc), connect_backoff_.count());
  next_connect_attempt_ = now + connect_backoff_;
  connect_backoff_ = std::min(connect_backoff_ * 2, kMaxBackoff);
}

void FleetLink::Tick() {
  ++stats_.ticks;
  fleet_.Step(std::chrono::duration<double>(options_.speed / options_.rate_hz));
  for (const TwinMessage& message : fleet_.Telemetry()) {
    Publish(message, "telemetry", options_.telemetry_qos);
  }
  PublishReported();
}

void FleetLink::PublishReported() {
  for (const TwinMessage& message : fleet_.TakeReported()) Publish(message, "properties", 1);
}

void FleetLink::Publish(const TwinMessage& message, std::string_view kind, int qos) {
  PublishRaw("doppel/" + message.site + "/" + message.twin_id + "/" + std::string(kind),
             ToJson(message.body), qos);
}

void FleetLink::PublishRaw(const std::string& topic, const std::string& payload, int qos) {
  if (!connected_) {
    ++stats_.dropped;
    return;
  }
  int mid = 0;
  const int rc = mosquitto_publish(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), qos, false);
  if (rc != MOSQ_ERR_SUCCESS) {
    ++stats_.dropped;
    return;
  }
  ++stats_.published;
  if (qos > 0) unacked_qos1_.insert(mid);
}

// Gives QoS 1 messages in flight a bounded chance to be acknowledged before disconnecting, so a
// --duration run's last property changes reach the broker.
void FleetLink::Drain() {
  const TimePoint deadline = clock_.Now() + kDrainTimeout;
  while (connected_ && !unacked_qos1_.empty() && clock_.Now() < deadline) {
    if (mosquitto_loop(mosq_, 50, 1) != MOSQ_ERR_SUCCESS) break;
  }
  if (socket_open_) {
    mosquitto_disconnect(mosq_);
    mosquitto_loop(mosq_, 10, 1);
  }
  connected_ = false;
  socket_open_ = false;
}

void FleetLink::OnConnect(int rc) {
  if (rc != 0) {
    spdlog::warn("devsim: broker refused the connection: {}", mosquitto_connack_string(rc));
    return;
  }
  connected_ = true;
  connect_backoff_ = std::chrono::milliseconds(1000);
  ++stats_.connects;
  unacked_qos1_.clear();
  spdlog::info("devsim: connected to {}:{}", options_.broker.host, options_.broker.port);
  for (const std::string& site : fleet_.Sites()) {
    for (const char* suffix : {"/+/desired", "/+/commands/+"}) {
      const std::string filter = "doppel/" + site + suffix;
      const int sub_rc = mosquitto_subscribe(mosq_, nullptr, filter.c_str(), 1);
      if (sub_rc != MOSQ_ERR_SUCCESS) {
        spdlog::warn("devsim: cannot subscribe to {}: {}", filter, mosquitto_strerror(sub_rc));
      }
    }
  }
  // Subscribers may have missed changes while we were away: report everything again.
  fleet_.ForgetReported();
  PublishReported();
}

void FleetLink::OnDisconnect(int rc) {
  if (rc != 0 && connected_) spdlog::warn("devsim: disconnected from the broker ({})", mosquitto_strerror(rc));
  connected_ = false;
}

void FleetLink::OnMessage(const struct ::mosquitto_message& message) {
  const std::vector<std::string> parts = SplitTopic(message.topic);
  const std::string_view payload(static_cast<const char*>(message.payload),
                                 static_cast<std::size_t>(message.payloadlen));
  if (parts.size() == 4 && parts[0] == "doppel" && parts[3] == "desired") {
    OnDesired(parts[2], payload);
  } else if (parts.size() == 5 && parts[0] == "doppel" && parts[3] == "commands") {
    OnCommand(message.topic, parts[2], parts[4], payload);
  }
}

void FleetLink::OnDesired(const std::string& twin_id, std::string_view payload) {
  auto document = ParseJson(payload, JsonLimits{.max_bytes = 1u << 20, .max_depth = 32});
  Status status = document.ok() ? fleet_.ApplyDesired(twin_id, *document) : document.status();
  if (!status.ok()) {
    ++stats_.desired_rejected;
    spdlog::warn("devsim: desired properties for {} rejected: {}", twin_id, status.ToString());
    return;
  }
  ++stats_.desired_applied;
  spdlog::info("devsim: {} applied desired {}", twin_id, payload);
  PublishReported();
}

void FleetLink::OnCommand(const std::string& topic, const std::string& twin_id,
                          const std::string& name, std::string_view payload) {
  ++stats_.commands_handled;
  auto document = ParseJson(payload, JsonLimits{.max_bytes = 1u << 20, .max_depth = 32});
  json::value correlation_id = nullptr;
  CommandResult result;
  if (!document.ok() || !document->is_object()) {
    result = Answer(400, "a command message must be a JSON object {\"correlationId\", \"payload\"}");
  } else {
    const json::object& request = document->as_object();
    if (const auto* id = request.if_contains("correlationId")) correlation_id = *id;
    const json::value* argument = request.if_contains("payload");
    result = fleet_.HandleCommand(twin_id, name, argument ? *argument : json::value(nullptr));
  }
  spdlog::info("devsim: command {} on {} → {}", name, twin_id, result.status);
  PublishRaw(topic + "/response", ToJson(Response(correlation_id, result)), 1);
  PublishReported();
}

void FleetLink::ConnectTrampoline(struct ::mosquitto*, void* self, int rc) {
  static_cast<FleetLink*>(self)->OnConnect(rc);
}
void FleetLink::DisconnectTrampoline(struct ::mosquitto*, void* self, int rc) {
  static_cast<FleetLink*>(self)->OnDisconnect(rc);
}
void FleetLink::MessageTrampoline(struct ::mosquitto*, void* self, const struct ::mosquitto_message* m) {
  static_cast<FleetLink*>(self)->OnMessage(*m);
}
void FleetLink::PublishTrampoline(struct ::mosquitto*, void* self, int mid) {
  // For QoS 1 this is the PUBACK; QoS 0 messages were never in the set.
  static_cast<FleetLink*>(self)->unacked_qos1_.erase(mid);
}

}  // namespace doppel::devsim
