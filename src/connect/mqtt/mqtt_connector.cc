#include "connect/mqtt/mqtt_connector.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <utility>

#include "connect/mqtt/internal/log_sample.h"
#include "connect/mqtt/internal/payload_decoder.h"
#include "connect/mqtt/internal/topic_pattern.h"

namespace doppel::connect::mqtt {
namespace {

using internal::DecodedMessage;
using internal::TopicBindings;
using internal::TopicPattern;

constexpr std::string_view kReasonNames[] = {"unmatched_topic", "invalid_topic", "too_large",  "malformed_payload",
                                             "bad_timestamp",   "unknown_twin",  "unknown_path", "wrong_type",
                                             "unstorable",      "store_error"};
static_assert(std::size(kReasonNames) == kMqttRejectReasonCount);

Status Rejection(MqttRejectReason reason, std::string message) {
  return Status(StatusCode::kInvalidArgument, std::string(MqttRejectReasonName(reason)), std::move(message));
}

// The reason a Status carries in its error code (see payload_decoder.h), else `fallback`.
MqttRejectReason ReasonOf(const Status& status, MqttRejectReason fallback) {
  const std::string code = status.error_code();
  for (std::size_t r = 0; r < kMqttRejectReasonCount; ++r) {
    if (code == kReasonNames[r]) return static_cast<MqttRejectReason>(r);
  }
  return fallback;
}

bool Storable(const model::Schema& schema) {
  using model::PrimitiveType;
  if (schema.kind != model::Schema::Kind::kPrimitive && schema.kind != model::Schema::Kind::kEnum) return false;
  switch (schema.primitive) {
    case PrimitiveType::kDouble: case PrimitiveType::kFloat: case PrimitiveType::kDecimal:
    case PrimitiveType::kInteger: case PrimitiveType::kLong: case PrimitiveType::kShort:
    case PrimitiveType::kByte: case PrimitiveType::kUnsignedByte: case PrimitiveType::kUnsignedShort:
    case PrimitiveType::kUnsignedInteger: case PrimitiveType::kUnsignedLong: case PrimitiveType::kBoolean:
    case PrimitiveType::kString:
      return true;
    default:
      return false;
  }
}

// The telemetry or property `path` ("name" or "component/name") names in the twin's model.
const model::Content* ResolvePath(const twin::GraphState& state, const model::Interface& root, std::string_view path) {
  const model::Interface* scope = &root;
  if (std::size_t slash = path.find('/'); slash != std::string_view::npos) {
    const model::Content* component = root.Find(path.substr(0, slash));
    if (component == nullptr || component->kind != model::ContentKind::kComponent) return nullptr;
    const model::ModelEntry* inner = state.models().Find(component->component_interface);
    scope = inner == nullptr ? nullptr : inner->interface.get();
    path = path.substr(slash + 1);
  }
  const model::Content* content = scope == nullptr ? nullptr : scope->Find(path);
  if (content == nullptr || content->schema == nullptr) return nullptr;
  return content;
}

// Checks the message's paths against the twin's model before anything is written, so the
// rejection names the exact reason (the Ingestor and the graph report theirs as text).
// For properties, drops from `message.readings` the properties history cannot keep (objects,
// dates): they still go into the twin.
Status CheckAgainstModel(const twin::TwinGraph& graph, const std::string& twin_id, MappingTarget target,
                         DecodedMessage& message) {
  return graph.Read([&](const twin::GraphState& state) -> Status {
    const twin::Twin* twin = state.FindTwin(twin_id);
    if (twin == nullptr) return Rejection(MqttRejectReason::kUnknownTwin, "twin '" + twin_id + "' not found");
    const model::ModelEntry* entry = state.models().Find(twin->model_id);
    if (entry == nullptr || entry->interface == nullptr) {
      return Rejection(MqttRejectReason::kUnknownPath, "twin '" + twin_id + "' has no loaded model");
    }
    if (target == MappingTarget::kProperties) {
      std::set<std::string, std::less<>> unstorable;
      for (const std::string& path : message.property_paths) {
        const model::Content* content = ResolvePath(state, *entry->interface, path);
        if (content == nullptr || content->kind != model::ContentKind::kProperty) {
          return Rejection(MqttRejectReason::kUnknownPath,
                           "twin '" + twin_id + "' (model '" + twin->model_id + "') has no property '" + path + "'");
        }
        if (!Storable(*content->schema)) unstorable.insert(path);
      }
      std::erase_if(message.readings, [&](const ingest::Reading& r) { return unstorable.contains(r.path); });
      return Status::Ok();
    }
    for (const ingest::Reading& r : message.readings) {
      const model::Content* content = ResolvePath(state, *entry->interface, r.path);
      if (content == nullptr ||
          (content->kind != model::ContentKind::kTelemetry && content->kind != model::ContentKind::kProperty)) {
        return Rejection(MqttRejectReason::kUnknownPath, "twin '" + twin_id + "' (model '" + twin->model_id +
                                                             "') has no telemetry or property '" + r.path + "'");
      }
      if (!Storable(*content->schema)) {
        return Rejection(MqttRejectReason::kUnstorable,
                         "'" + twin_id + "'/'" + r.path + "' has a schema history cannot keep");
      }
    }
    return Status::Ok();
  });
}

// After CheckAgainstModel: the twin and paths exist, so an InvalidArgument is the value.
MqttRejectReason ReasonOfWrite(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound: return MqttRejectReason::kUnknownTwin;  // deleted meanwhile
    case StatusCode::kInvalidArgument: return MqttRejectReason::kWrongType;
    default: return MqttRejectReason::kStoreError;
  }
}

void InitLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

// Protocol, credentials, TLS and backoff. Errors: Internal naming the setting (e.g. a TLS file
// that cannot be read).
Status ConfigureClient(struct mosquitto* mosq, const MqttConnectorConfig& config) {
  const auto check = [&](std::string_view what, int rc) {
    if (rc == MOSQ_ERR_SUCCESS) return Status::Ok();
    return Status::Internal("mqtt connector '" + config.name + "': " + std::string(what) + ": " +
                            mosquitto_strerror(rc));
  };
  DOPPEL_RETURN_IF_ERROR(
      check("protocol version", mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311)));
  if (config.username) {
    DOPPEL_RETURN_IF_ERROR(check("username", mosquitto_username_pw_set(mosq, config.username->c_str(),
                                                                       config.password ? config.password->c_str()
                                                                                       : nullptr)));
  }
  if (config.tls) {
    const TlsConfig& tls = *config.tls;
    DOPPEL_RETURN_IF_ERROR(check("tls files", mosquitto_tls_set(mosq, tls.ca_file.c_str(), nullptr,
                                                                tls.cert_file.empty() ? nullptr : tls.cert_file.c_str(),
                                                                tls.key_file.empty() ? nullptr : tls.key_file.c_str(),
                                                                nullptr)));
    DOPPEL_RETURN_IF_ERROR(check("tls", mosquitto_tls_insecure_set(mosq, tls.insecure)));
  }
  return check("reconnect delay", mosquitto_reconnect_delay_set(mosq, static_cast<unsigned>(config.reconnect_min_seconds),
                                                                static_cast<unsigned>(config.reconnect_max_seconds),
                                                                true));
}

}  // namespace

std::string_view MqttRejectReasonName(MqttRejectReason reason) {
  const auto i = static_cast<std::size_t>(reason);
  return i < kMqttRejectReasonCount ? kReasonNames[i] : "unknown";
}

// The compiled mappings: which mapping a topic belongs to and what it binds.
class MqttConnector::Processor {
 public:
  explicit Processor(const MqttConnectorConfig& config) {
    for (const TopicMapping& mapping : config.mappings) {
      patterns_.emplace_back(TopicPattern::Compile(mapping.topic).value(), &mapping);  // validated
      if (std::find(subscriptions_.begin(), subscriptions_.end(), patterns_.back().first.subscription()) ==
          subscriptions_.end()) {
        subscriptions_.push_back(patterns_.back().first.subscription());
      }
    }
  }

  // The first mapping whose pattern matches, with its bindings, or the rejection.
  Result<std::pair<const TopicMapping*, TopicBindings>> Match(std::string_view topic) const {
    for (const auto& [pattern, mapping] : patterns_) {
      std::optional<Result<TopicBindings>> match = pattern.Match(topic);
      if (!match) continue;
      if (!match->ok()) return Rejection(MqttRejectReason::kInvalidTopic, match->status().message());
      return std::pair(mapping, std::move(**match));
    }
    return Rejection(MqttRejectReason::kUnmatchedTopic, "no mapping matches the topic");
  }

  const std::vector<std::string>& subscriptions() const { return subscriptions_; }

 private:
  std::vector<std::pair<TopicPattern, const TopicMapping*>> patterns_;
  std::vector<std::string> subscriptions_;  // distinct, in mapping order
};

MqttConnector::MqttConnector(MqttConnectorConfig config, ingest::Ingestor& ingestor, twin::TwinGraph& graph,
                             const Clock& clock)
    : config_(std::move(config)), ingestor_(ingestor), graph_(graph), clock_(clock) {
  // An invalid config leaves no processor: Start reports why, HandleMessage matches nothing.
  if (ValidateMqttConnectorConfig(config_).ok()) processor_ = std::make_unique<Processor>(config_);
}

MqttConnector::~MqttConnector() { Stop(); }

Status MqttConnector::Start() {
  if (mosq_ != nullptr) return Status::Conflict("mqtt connector '" + config_.name + "' is already started");
  DOPPEL_RETURN_IF_ERROR(ValidateMqttConnectorConfig(config_));
  InitLibrary();
  mosq_ = mosquitto_new(config_.client_id.c_str(), config_.clean_session, this);
  if (mosq_ == nullptr) return Status::Internal("mqtt connector '" + config_.name + "': cannot create the client");
  if (Status s = ConfigureClient(mosq_, config_); !s.ok()) {
    mosquitto_destroy(mosq_);
    mosq_ = nullptr;
    return s;
  }
  mosquitto_connect_callback_set(mosq_, &MqttConnector::OnConnect);
  mosquitto_disconnect_callback_set(mosq_, &MqttConnector::OnDisconnect);
  mosquitto_message_callback_set(mosq_, &MqttConnector::OnMessage);
  mosquitto_subscribe_callback_set(mosq_, &MqttConnector::OnSubscribe);
  {
    std::lock_guard lock(start_mu_);
    stopping_ = false;
    loop_started_ = false;
  }
  spdlog::info("mqtt connector '{}': connecting to {} as '{}' ({} mapping(s))", config_.name, config_.broker,
               config_.client_id, config_.mappings.size());
  // A broker that is down now is not an error: we keep retrying in the background.
  // The network thread is also what makes the PUBACK leave after on_message returns (it is only
  // queued before): never drive this client with mosquitto_loop by hand (docs/mqtt.md).
  int rc = mosquitto_connect_async(mosq_, config_.host.c_str(), config_.port, config_.keep_alive_seconds);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(mosq_);
  if (rc == MOSQ_ERR_SUCCESS) {
    std::lock_guard lock(start_mu_);
    loop_started_ = true;
    return Status::Ok();
  }
  SetConnectionError(std::string("connect: ") + mosquitto_strerror(rc));
  spdlog::warn("mqtt connector '{}': cannot connect to {} yet ({}); retrying in the background", config_.name,
               config_.broker, mosquitto_strerror(rc));
  starter_ = std::thread([this] { RetryFirstConnect(); });
  return Status::Ok();
}

void MqttConnector::RetryFirstConnect() {
  std::chrono::seconds delay(config_.reconnect_min_seconds);
  while (true) {
    std::unique_lock lock(start_mu_);
    if (start_cv_.wait_for(lock, delay, [&] { return stopping_; })) return;
    int rc = mosquitto_connect_async(mosq_, config_.host.c_str(), config_.port, config_.keep_alive_seconds);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(mosq_);
    if (rc == MOSQ_ERR_SUCCESS) {
      loop_started_ = true;
      return;
    }
    lock.unlock();
    SetConnectionError(std::string("connect: ") + mosquitto_strerror(rc));
    delay = std::min(delay * 2, std::chrono::seconds(config_.reconnect_max_seconds));
  }
}

void MqttConnector::Stop() {
  if (mosq_ == nullptr) return;
  {
    std::lock_guard lock(start_mu_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  if (starter_.joinable()) starter_.join();
  // DISCONNECT, then wait for the network thread: it finishes the message in hand first. The
  // broker keeps everything it has no PUBACK for in the persistent session.
  mosquitto_disconnect(mosq_);
  if (loop_started_) mosquitto_loop_stop(mosq_, false);
  mosquitto_destroy(mosq_);
  mosq_ = nullptr;
  connected_ = false;
  spdlog::info("mqtt connector '{}': stopped", config_.name);
}

void MqttConnector::OnConnect(struct mosquitto* mosq, void* self, int rc) {
  auto* c = static_cast<MqttConnector*>(self);
  if (rc != 0) {
    c->SetConnectionError(std::string("refused: ") + mosquitto_connack_string(rc));
    spdlog::warn("mqtt connector '{}': {} refused the connection: {}", c->config_.name, c->config_.broker,
                 mosquitto_connack_string(rc));
    return;
  }
  c->pending_subscriptions_ = static_cast<int>(c->processor_->subscriptions().size());
  c->connected_ = true;
  const uint64_t n = c->connects_.fetch_add(1) + 1;
  spdlog::info("mqtt connector '{}': {} to {}", c->config_.name, n == 1 ? "connected" : "reconnected",
               c->config_.broker);
  // Subscribing again on every connect is harmless for a persistent session and necessary
  // when the broker lost it (clean session, broker without persistence).
  for (const std::string& filter : c->processor_->subscriptions()) {
    int sub_rc = mosquitto_subscribe(mosq, nullptr, filter.c_str(), c->config_.qos);
    if (sub_rc != MOSQ_ERR_SUCCESS) {
      spdlog::error("mqtt connector '{}': cannot subscribe to '{}': {}", c->config_.name, filter,
                    mosquitto_strerror(sub_rc));
    }
  }
}

void MqttConnector::OnSubscribe(struct mosquitto*, void* self, int, int qos_count, const int* granted_qos) {
  auto* c = static_cast<MqttConnector*>(self);
  for (int i = 0; i < qos_count; ++i) {
    if (granted_qos[i] > 2) {  // 0x80: the broker refused the filter (e.g. an ACL)
      spdlog::error("mqtt connector '{}': the broker refused a subscription", c->config_.name);
    } else if (granted_qos[i] < c->config_.qos) {
      spdlog::warn("mqtt connector '{}': the broker granted QoS {} only; messages may be lost while away",
                   c->config_.name, granted_qos[i]);
    }
  }
  c->pending_subscriptions_.fetch_sub(1);
}

void MqttConnector::OnDisconnect(struct mosquitto*, void* self, int rc) {
  auto* c = static_cast<MqttConnector*>(self);
  c->connected_ = false;
  // 0 = we asked for it (Stop); a refused CONNACK was reported by OnConnect with its reason.
  if (rc != 0 && rc != MOSQ_ERR_CONN_REFUSED) {
    c->SetConnectionError(std::string("connection lost: ") + mosquitto_strerror(rc));
    spdlog::warn("mqtt connector '{}': lost the connection to {} ({}); reconnecting", c->config_.name,
                 c->config_.broker, mosquitto_strerror(rc));
  }
}

void MqttConnector::OnMessage(struct mosquitto*, void* self, const struct mosquitto_message* message) {
  auto* c = static_cast<MqttConnector*>(self);
  std::string_view payload;
  if (message->payload != nullptr && message->payloadlen > 0) {
    payload = std::string_view(static_cast<const char*>(message->payload), static_cast<std::size_t>(message->payloadlen));
  }
  c->HandleMessage(message->topic == nullptr ? "" : message->topic, payload);
}

void MqttConnector::HandleMessage(std::string_view topic, std::string_view payload) {
  messages_received_.fetch_add(1, std::memory_order_relaxed);
  if (payload.size() > config_.max_payload_bytes) {
    return Reject(MqttRejectReason::kTooLarge, topic, payload,
                  "payload of " + std::to_string(payload.size()) + " bytes is over the limit of " +
                      std::to_string(config_.max_payload_bytes));
  }
  if (processor_ == nullptr) {
    return Reject(MqttRejectReason::kUnmatchedTopic, topic, payload, "the connector's config is invalid");
  }
  auto match = processor_->Match(topic);
  if (!match.ok()) return Reject(ReasonOf(match.status(), MqttRejectReason::kInvalidTopic), topic, payload, match.status().message());
  const auto& [mapping, bindings] = *match;
  const tsdb::TimeNs arrival = clock_.Now().time_since_epoch().count();
  Result<DecodedMessage> decoded = internal::DecodePayload(*mapping, bindings, payload, arrival);
  if (!decoded.ok()) {
    return Reject(ReasonOf(decoded.status(), MqttRejectReason::kMalformedPayload), topic, payload,
                  decoded.status().message());
  }
  if (Status s = CheckAgainstModel(graph_, bindings.twin_id, mapping->target, *decoded); !s.ok()) {
    return Reject(ReasonOf(s, MqttRejectReason::kUnknownPath), topic, payload, s.message());
  }
  // Properties: the twin first (validated as a whole), then their history.
  if (!decoded->property_patch.empty()) {
    Result<json::object> patched = graph_.PatchTwin(bindings.twin_id, decoded->property_patch, {});
    if (!patched.ok()) return Reject(ReasonOfWrite(patched.status()), topic, payload, patched.status().message());
    properties_patched_.fetch_add(1, std::memory_order_relaxed);
  }
  if (!decoded->readings.empty()) {
    // Durable when it returns OK (see the PUBACK note in docs/mqtt.md).
    if (Status s = ingestor_.Write(decoded->readings); !s.ok()) {
      return Reject(ReasonOfWrite(s), topic, payload, s.message());
    }
    readings_accepted_.fetch_add(decoded->readings.size(), std::memory_order_relaxed);
  }
  messages_accepted_.fetch_add(1, std::memory_order_relaxed);
}

void MqttConnector::Reject(MqttRejectReason reason, std::string_view topic, std::string_view payload,
                           std::string_view why) {
  const uint64_t n = rejected_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed) + 1;
  // The first of each reason, then every 1000th: a misconfigured device publishing garbage at
  // a high rate must not drown the log.
  if (n != 1 && n % 1000 != 0) return;
  spdlog::warn("mqtt connector '{}': rejected a message ({}, {} so far): {}; topic '{}', payload '{}'", config_.name,
               MqttRejectReasonName(reason), n, internal::LogSample(why, 300), internal::LogSample(topic),
               internal::LogSample(payload));
}

void MqttConnector::SetConnectionError(std::string error) {
  std::lock_guard lock(error_mu_);
  last_connection_error_ = std::move(error);
}

MqttConnectorStats MqttConnector::stats() const {
  MqttConnectorStats s;
  s.connected = connected_.load();
  s.subscribed = s.connected && pending_subscriptions_.load() <= 0;
  s.connects = connects_.load();
  s.reconnects = s.connects > 0 ? s.connects - 1 : 0;
  s.messages_received = messages_received_.load();
  s.messages_accepted = messages_accepted_.load();
  s.readings_accepted = readings_accepted_.load();
  s.properties_patched = properties_patched_.load();
  for (std::size_t r = 0; r < kMqttRejectReasonCount; ++r) s.rejected[r] = rejected_[r].load();
  std::lock_guard lock(error_mu_);
  s.last_connection_error = last_connection_error_;
  return s;
}

json::object MqttConnector::HealthJson() const {
  const MqttConnectorStats s = stats();
  json::object rejected;
  for (std::size_t r = 0; r < kMqttRejectReasonCount; ++r) rejected[kReasonNames[r]] = s.rejected[r];
  return json::object{{"name", config_.name},
                      {"broker", config_.broker},
                      {"connected", s.connected},
                      {"subscribed", s.subscribed},
                      {"connects", s.connects},
                      {"reconnects", s.reconnects},
                      {"messagesReceived", s.messages_received},
                      {"messagesAccepted", s.messages_accepted},
                      {"readingsAccepted", s.readings_accepted},
                      {"propertiesPatched", s.properties_patched},
                      {"rejected", std::move(rejected)},
                      {"lastConnectionError", s.last_connection_error}};
}

void MqttConnector::RenderMetrics(std::string& out) const {
  const MqttConnector* self = this;
  RenderMqttMetrics(std::span<const MqttConnector* const>(&self, 1), out);
}

void RenderMqttMetrics(std::span<const MqttConnector* const> connectors, std::string& out) {
  std::vector<MqttConnectorStats> stats;
  for (const MqttConnector* c : connectors) stats.push_back(c->stats());
  // Connector names are restricted to [A-Za-z0-9_.-] by the config: no label escaping needed.
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    out += "# HELP " + std::string(name) + " " + std::string(help) + "\n# TYPE " + std::string(name) + " " +
           std::string(type) + "\n";
    for (std::size_t i = 0; i < connectors.size(); ++i) {
      out += std::string(name) + "{connector=\"" + connectors[i]->config().name + "\"} " +
             std::to_string(value(stats[i])) + "\n";
    }
  };
  family("doppel_mqtt_connected", "gauge", "1 while the connector is connected to its broker.",
         [](const MqttConnectorStats& s) { return s.connected ? 1 : 0; });
  family("doppel_mqtt_reconnects_total", "counter", "Connections re-established after the first.",
         [](const MqttConnectorStats& s) { return s.reconnects; });
  family("doppel_mqtt_messages_total", "counter", "MQTT messages received.",
         [](const MqttConnectorStats& s) { return s.messages_received; });
  family("doppel_mqtt_accepted_messages_total", "counter", "MQTT messages fully applied.",
         [](const MqttConnectorStats& s) { return s.messages_accepted; });
  family("doppel_mqtt_readings_total", "counter", "Readings written to history from MQTT.",
         [](const MqttConnectorStats& s) { return s.readings_accepted; });
  out += "# HELP doppel_mqtt_rejected_total MQTT messages refused, by reason.\n"
         "# TYPE doppel_mqtt_rejected_total counter\n";
  for (std::size_t i = 0; i < connectors.size(); ++i) {
    for (std::size_t r = 0; r < kMqttRejectReasonCount; ++r) {
      out += "doppel_mqtt_rejected_total{connector=\"" + connectors[i]->config().name + "\",reason=\"" +
             std::string(kReasonNames[r]) + "\"} " + std::to_string(stats[i].rejected[r]) + "\n";
    }
  }
}

}  // namespace doppel::connect::mqtt
