#include "connect/mqtt/mqtt_connector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <utility>

#include "connect/mqtt/internal/log_sample.h"
#include "connect/mqtt/internal/mqtt_client.h"
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
        const model::Content* content = state.models().FindValue(*entry->interface, path);
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
      const model::Content* content = state.models().FindValue(*entry->interface, r.path);
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

// Aliases the broker may use towards us: a few per topic of a small fleet; they save the
// broker re-sending long topics, and us nothing, so the table stays small.
constexpr uint16_t kTopicAliasMaximum = 64;

internal::MqttClientOptions ClientOptions(const MqttConnectorConfig& config,
                                          const std::vector<std::string>& subscriptions) {
  internal::MqttClientOptions o;
  o.name = config.name;
  o.host = config.host;
  o.port = config.port;
  o.tls = config.tls;
  o.connect.client_id = config.client_id;
  o.connect.username = config.username;
  o.connect.password = config.password;
  o.connect.keep_alive_seconds = static_cast<uint16_t>(config.keep_alive_seconds);
  o.connect.clean_start = config.clean_session;
  o.connect.session_expiry_seconds = config.clean_session ? 0 : config.session_expiry_seconds;
  o.connect.receive_maximum = static_cast<uint16_t>(config.receive_maximum);
  o.max_packet_size = MaxMqttPacketBytes(config.max_payload_bytes);
  o.connect.maximum_packet_size = static_cast<uint32_t>(o.max_packet_size);
  o.connect.topic_alias_maximum = kTopicAliasMaximum;
  for (const std::string& filter : subscriptions) {
    o.subscriptions.push_back({filter, static_cast<uint8_t>(config.qos)});
  }
  o.reconnect_min = std::chrono::seconds(config.reconnect_min_seconds);
  o.reconnect_max = std::chrono::seconds(config.reconnect_max_seconds);
  return o;
}

}  // namespace

std::size_t MaxMqttPacketBytes(std::size_t max_payload_bytes) {
  constexpr std::size_t kMqttLimit = internal::kMaxVariableByteInteger + 5;  // fixed header
  if (max_payload_bytes >= kMqttLimit / 2) return kMqttLimit;
  return std::min(kMqttLimit, 2 * max_payload_bytes + 64 * 1024);
}

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
  if (client_ != nullptr) return Status::Conflict("mqtt connector '" + config_.name + "' is already started");
  DOPPEL_RETURN_IF_ERROR(ValidateMqttConnectorConfig(config_));
  internal::MqttClientHandlers handlers{
      .on_batch = [this](std::span<const internal::InboundMessage> batch) { HandleBatch(batch); },
      .on_connected = [this](bool session_present) { OnConnected(session_present); },
      .on_subscribed = [this] { subscribed_ = true; },
      .on_error = [this](const std::string& error) { OnConnectionError(error); },
  };
  client_ = std::make_unique<internal::MqttClient>(ClientOptions(config_, processor_->subscriptions()),
                                                   std::move(handlers));
  if (Status s = client_->Start(); !s.ok()) {
    client_.reset();
    return s;
  }
  // A broker that is down now is not an error: the client keeps retrying in the background.
  spdlog::info("mqtt connector '{}': connecting to {} as '{}' ({} mapping(s))", config_.name, config_.broker,
               config_.client_id, config_.mappings.size());
  return Status::Ok();
}

void MqttConnector::Stop() {
  if (client_ == nullptr) return;
  // The client finishes the batch in hand (and sends its PUBACKs) before DISCONNECT. The
  // broker keeps everything it has no PUBACK for in the persistent session.
  client_->Stop();
  client_.reset();
  connected_ = false;
  subscribed_ = false;
  spdlog::info("mqtt connector '{}': stopped", config_.name);
}

void MqttConnector::OnConnected(bool session_present) {
  subscribed_ = false;
  connected_ = true;
  const uint64_t n = connects_.fetch_add(1) + 1;
  spdlog::info("mqtt connector '{}': {} to {}{}", config_.name, n == 1 ? "connected" : "reconnected", config_.broker,
               session_present ? " (session resumed)" : "");
}

void MqttConnector::OnConnectionError(const std::string& error) {
  // Called on the client's thread, which Stop joins before resetting client_.
  connected_ = client_->connected();
  if (!connected_) subscribed_ = false;
  SetConnectionError(error);
  spdlog::warn("mqtt connector '{}': {}: {}{}", config_.name, config_.broker, error,
               connected_ ? "" : "; reconnecting");
}

struct MqttConnector::Prepared {
  std::size_t index;  // in the batch
  DecodedMessage decoded;
};

void MqttConnector::HandleMessage(std::string_view topic, std::string_view payload) {
  const internal::InboundMessage message{std::string(topic), payload, 1};
  HandleBatch(std::span(&message, 1));
}

void MqttConnector::HandleBatch(std::span<const internal::InboundMessage> messages) {
  std::vector<Prepared> prepared;
  prepared.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    std::optional<Prepared> p = Prepare(messages[i]);
    if (p) {
      p->index = i;
      prepared.push_back(std::move(*p));
    }
  }
  // One durable write for the readings of every message that passed (see the header).
  std::vector<std::span<const ingest::Reading>> groups;
  groups.reserve(prepared.size());
  for (const Prepared& p : prepared) groups.emplace_back(p.decoded.readings);
  const std::vector<Status> written = ingestor_.WriteEach(groups);
  for (std::size_t k = 0; k < prepared.size(); ++k) {
    const internal::InboundMessage& m = messages[prepared[k].index];
    if (!written[k].ok()) {
      Reject(ReasonOfWrite(written[k]), m.topic, m.payload, written[k].message());
      continue;
    }
    readings_accepted_.fetch_add(groups[k].size(), std::memory_order_relaxed);
    messages_accepted_.fetch_add(1, std::memory_order_relaxed);
  }
  // Counted once the batch is settled, so received = accepted + rejected whenever it is read.
  messages_received_.fetch_add(messages.size(), std::memory_order_relaxed);
}

std::optional<MqttConnector::Prepared> MqttConnector::Prepare(const internal::InboundMessage& message) {
  const std::string_view topic = message.topic, payload = message.payload;
  if (payload.size() > config_.max_payload_bytes) {
    Reject(MqttRejectReason::kTooLarge, topic, payload,
           "payload of " + std::to_string(payload.size()) + " bytes is over the limit of " +
               std::to_string(config_.max_payload_bytes));
    return std::nullopt;
  }
  if (processor_ == nullptr) {
    Reject(MqttRejectReason::kUnmatchedTopic, topic, payload, "the connector's config is invalid");
    return std::nullopt;
  }
  auto match = processor_->Match(topic);
  if (!match.ok()) {
    Reject(ReasonOf(match.status(), MqttRejectReason::kInvalidTopic), topic, payload, match.status().message());
    return std::nullopt;
  }
  const auto& [mapping, bindings] = *match;
  const tsdb::TimeNs arrival = clock_.Now().time_since_epoch().count();
  Result<DecodedMessage> decoded = internal::DecodePayload(*mapping, bindings, payload, arrival);
  if (!decoded.ok()) {
    Reject(ReasonOf(decoded.status(), MqttRejectReason::kMalformedPayload), topic, payload, decoded.status().message());
    return std::nullopt;
  }
  if (Status s = CheckAgainstModel(graph_, bindings.twin_id, mapping->target, *decoded); !s.ok()) {
    Reject(ReasonOf(s, MqttRejectReason::kUnknownPath), topic, payload, s.message());
    return std::nullopt;
  }
  // Properties: the twin first (validated as a whole, synced), then their history with the
  // batch.
  if (!decoded->property_patch.empty()) {
    Result<json::object> patched = graph_.PatchTwin(bindings.twin_id, decoded->property_patch, {});
    if (!patched.ok()) {
      Reject(ReasonOfWrite(patched.status()), topic, payload, patched.status().message());
      return std::nullopt;
    }
    properties_patched_.fetch_add(1, std::memory_order_relaxed);
  }
  return Prepared{0, std::move(decoded).value()};
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
  s.subscribed = s.connected && subscribed_.load();
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
