// The MQTT connector: Doppel as an MQTT client of a real broker (Mosquitto), turning messages on
// configured topics into readings (history, through ingest::Ingestor) and property updates
// (the twin graph). docs/mqtt.md is the user's guide; this header is the contract.
//
//   auto config = ParseMqttConnectorConfig(json).value();   // strict, errors name the key
//   MqttConnector connector(config, ingestor, graph);
//   DOPPEL_RETURN_IF_ERROR(connector.Start());              // non-blocking; reconnects itself
//   ...
//   connector.Stop();                                       // finish the batch in hand, disconnect
//
// Delivery: the connector is an MQTT 5.0 client of its own (internal/mqtt_client.h) that
// subscribes with the configured QoS (default 1) in a persistent session (Clean Start false, a
// Session Expiry Interval, a stable clientId), so the broker queues messages while Doppel is
// away. Messages are processed in batches on the client's thread — whatever one socket read
// brought, up to receiveMaximum unacknowledged messages: each message is decoded and checked
// on its own, property patches are applied (TwinGraph::PatchTwin, synced) per message, then the
// readings of every accepted message go to history in ONE durable write
// (Ingestor::WriteEach), and only then do the batch's PUBACKs leave. A crash before that
// leaves the whole batch unacknowledged and the broker sends it again; a slow store slows
// intake and the broker queues (backpressure). A message that fails (even with a store error)
// is acknowledged all the same. docs/mqtt.md, "Guarantees".
//
// Bad messages are counted per reason (MqttRejectReason), logged rate-limited with a sample,
// and never stop the loop.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "ingest/ingestor.h"
#include "twin/twin_graph.h"

namespace doppel::connect::mqtt {

namespace internal {
class MqttClient;
struct InboundMessage;
}  // namespace internal

// ---- configuration -------------------------------------------------------------------------

enum class PayloadForm {
  kJson,       // one flat JSON object: each member a reading (ADT telemetry shape)
  kValue,      // a bare value (number, true/false or text); the topic's {path} names it
  kJsonArray,  // a batch: a JSON array of kJson objects, each with its own timestamp
};

enum class MappingTarget {
  kTelemetry,   // readings into history only
  kProperties,  // a twin property patch, plus a history reading per scalar property
};

enum class TimestampFormat { kRfc3339, kEpochS, kEpochMs, kEpochUs, kEpochNs };

// Where a message's time comes from. Without a TimestampSpec (or when the field is absent from
// a message) readings get the arrival time (the connector's Clock).
struct TimestampSpec {
  std::string field;  // member name in the JSON payload, e.g. "ts"
  TimestampFormat format = TimestampFormat::kRfc3339;
};

// How one incoming name (a JSON member, or the {path} segment of a kValue topic) becomes a
// reading: value' = convert(value * scale + offset). Numbers only when any of them is set.
struct FieldMapping {
  std::string path;     // telemetry/property name, or "<component>/<name>"
  double scale = 1.0;   // default 1
  double offset = 0.0;  // default 0
  std::string convert;  // "" or "<fromUnit>-><toUnit>", e.g. "degreeFahrenheit->degreeCelsius"
};

struct TopicMapping {
  // MQTT topic filter with placeholders as whole levels: {twinId} (required), {component},
  // {path}; '+' and '#' as in MQTT. Subscribed with placeholders turned into '+'.
  std::string topic;
  PayloadForm payload = PayloadForm::kJson;
  MappingTarget target = MappingTarget::kTelemetry;
  std::optional<TimestampSpec> timestamp;
  std::map<std::string, FieldMapping, std::less<>> fields;  // incoming name → mapping
  // Members not in `fields`: false (default) = kept under their own name; true = dropped.
  bool ignore_unmapped = false;
};

struct TlsConfig {
  std::string ca_file;    // CA certificate(s) to verify the broker with
  std::string cert_file;  // client certificate (with key_file), "" = none
  std::string key_file;
  bool insecure = false;  // skip the broker host name check; for tests only
};

struct MqttConnectorConfig {
  std::string name;    // label in metrics and logs, unique per server
  std::string broker;  // "mqtt://host:port" (default port 1883) or "mqtts://host:port" (8883)
  std::string host;    // parsed from broker
  int port = 1883;
  std::string client_id;  // stable: the broker keys the persistent session on it
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<TlsConfig> tls;  // required by mqtts:// (at least "ca")
  int keep_alive_seconds = 30;
  // false (default): a persistent session, the broker queues QoS 1 messages while Doppel is
  // away. true drops them (and the subscriptions) at every disconnect.
  bool clean_session = false;
  // How long the broker keeps the persistent session (and queues for it) after a disconnect,
  // in seconds (MQTT 5 Session Expiry Interval). Default 4294967295 = never expires, as an MQTT
  // 3.1.1 persistent session. Ignored (0) with clean_session.
  uint32_t session_expiry_seconds = 0xFFFFFFFF;
  // How many QoS 1 messages the broker may send before our PUBACKs (MQTT 5 Receive Maximum):
  // the largest batch one durable write covers. Default 1024; 1..65535. Higher is more
  // throughput per sync and more messages redelivered after a crash.
  int receive_maximum = 1024;
  int qos = 1;  // subscription QoS, 0 or 1 (0: no queueing, no redelivery)
  int reconnect_min_seconds = 1;   // backoff doubles from min to max between attempts
  int reconnect_max_seconds = 30;
  // Messages larger than this are refused ("too_large") before decoding. Default 1 MiB. The
  // connector announces a Maximum Packet Size of MaxMqttPacketBytes(max_payload_bytes): larger
  // packets the broker drops without sending them (its log says so).
  std::size_t max_payload_bytes = std::size_t{1} << 20;
  std::vector<TopicMapping> mappings;  // first matching mapping wins; at least one
};

// Twice the payload limit plus 64 KiB for topic and properties, within MQTT's 256 MiB: a
// payload somewhat over the limit still arrives and is counted as too_large.
std::size_t MaxMqttPacketBytes(std::size_t max_payload_bytes);

// Parses one connector object (shape in docs/mqtt.md). Strict: unknown keys, wrong types and
// out-of-range values are refused (InvalidArgument) with the key's path named, e.g.
// "mqtt connector 'site-broker': mappings[1].timestamp.format: expected one of rfc3339,
// epoch_s, epoch_ms, epoch_us, epoch_ns, got \"iso\"". An optional "type": "mqtt" is accepted
// so the object can sit in a list of connectors of several kinds.
Result<MqttConnectorConfig> ParseMqttConnectorConfig(const json::value& config);
// A JSON array of connector objects; also refuses duplicate names and duplicate clientIds.
Result<std::vector<MqttConnectorConfig>> ParseMqttConnectorConfigs(const json::value& configs);
// The checks ParseMqttConnectorConfig makes, for a config built in code (MqttConnector::Start
// runs it).
Status ValidateMqttConnectorConfig(const MqttConnectorConfig& config);

// ---- status --------------------------------------------------------------------------------

// Why a message was refused. Label values for doppel_mqtt_rejected_total{reason=...}.
enum class MqttRejectReason : uint8_t {
  kUnmatchedTopic = 0,  // no mapping's pattern matches the topic
  kInvalidTopic,        // a {twinId}/{component}/{path} level is not acceptable (injection)
  kTooLarge,            // payload over max_payload_bytes
  kMalformedPayload,    // not the mapping's payload form (invalid JSON, null member, ...)
  kBadTimestamp,        // the timestamp member is of the wrong type or out of range
  kUnknownTwin,         // no twin with that id
  kUnknownPath,         // the twin's model has no such telemetry/property
  kWrongType,           // a value does not fit the schema
  kUnstorable,          // the schema is not a scalar history keeps
  kStoreError,          // the store or journal failed (I/O); the message is lost, see docs
  kCount_,              // number of reasons; not a reason
};
inline constexpr std::size_t kMqttRejectReasonCount = static_cast<std::size_t>(MqttRejectReason::kCount_);
// "unmatched_topic", "invalid_topic", "too_large", "malformed_payload", "bad_timestamp",
// "unknown_twin", "unknown_path", "wrong_type", "unstorable", "store_error".
std::string_view MqttRejectReasonName(MqttRejectReason reason);

struct MqttConnectorStats {
  bool connected = false;
  bool subscribed = false;  // connected and every subscription acknowledged (SUBACK)
  uint64_t connects = 0;    // successful CONNACKs
  uint64_t reconnects = 0;  // connects after the first
  uint64_t messages_received = 0;
  uint64_t messages_accepted = 0;   // fully applied
  uint64_t readings_accepted = 0;   // readings written to history
  uint64_t properties_patched = 0;  // twin property patches applied
  std::array<uint64_t, kMqttRejectReasonCount> rejected{};
  std::string last_connection_error;  // "" when none yet

  uint64_t rejected_for(MqttRejectReason reason) const { return rejected[static_cast<std::size_t>(reason)]; }
};

// ---- the connector -------------------------------------------------------------------------

// Thread-safety: Start and Stop from one controlling thread; stats, RenderMetrics and
// HealthJson from any thread. The ingestor, graph and clock must outlive the connector.
class MqttConnector {
 public:
  MqttConnector(MqttConnectorConfig config, ingest::Ingestor& ingestor, twin::TwinGraph& graph,
                const Clock& clock = SystemClock::Instance());
  ~MqttConnector();  // Stop()
  MqttConnector(const MqttConnector&) = delete;
  MqttConnector& operator=(const MqttConnector&) = delete;

  // Validates the config, creates the client and starts its network thread, which connects
  // (and reconnects, with backoff) in the background: an unreachable broker is not an error.
  // Errors: InvalidArgument (config), Internal (a TLS file that cannot be used, named),
  // Conflict if already started.
  Status Start();
  // Graceful and idempotent: the batch being processed finishes and is acknowledged, then the
  // client disconnects and its thread ends. Messages the broker has not had a PUBACK for stay
  // queued there (persistent session) and arrive after the next Start.
  void Stop();

  MqttConnectorStats stats() const;
  // Prometheus lines (with HELP/TYPE) for this connector alone; with several connectors use
  // RenderMqttMetrics so each family is announced once.
  void RenderMetrics(std::string& out) const;
  // {"name", "broker", "connected", "subscribed", "connects", "reconnects", "messagesReceived",
  //  "messagesAccepted", "readingsAccepted", "propertiesPatched", "rejected": {reason: n},
  //  "lastConnectionError"} for a health/status endpoint.
  json::object HealthJson() const;
  const MqttConnectorConfig& config() const { return config_; }

  // Processes one message as if it had arrived from the broker (a batch of one). For tests
  // and replay tools; safe to call concurrently with the network thread.
  void HandleMessage(std::string_view topic, std::string_view payload);

 private:
  class Processor;
  // One batch from the client: each message checked alone, one durable write for all.
  void HandleBatch(std::span<const internal::InboundMessage> messages);
  // Everything up to the history write (size, topic, payload, model, property patch), or
  // nullopt after counting the rejection.
  struct Prepared;
  std::optional<Prepared> Prepare(const internal::InboundMessage& message);
  void OnConnected(bool session_present);
  void OnConnectionError(const std::string& error);
  void Reject(MqttRejectReason reason, std::string_view topic, std::string_view payload,
              std::string_view why);
  void SetConnectionError(std::string error);

  // Immutable after construction (processor_ included).
  const MqttConnectorConfig config_;
  ingest::Ingestor& ingestor_;
  twin::TwinGraph& graph_;
  const Clock& clock_;
  std::unique_ptr<Processor> processor_;  // null if the config is invalid

  // Owned by the controlling thread (Start/Stop); its handlers run on the client's thread.
  std::unique_ptr<internal::MqttClient> client_;

  std::atomic<bool> connected_{false};
  std::atomic<bool> subscribed_{false};  // every filter granted since the last connect
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> messages_received_{0};
  std::atomic<uint64_t> messages_accepted_{0};
  std::atomic<uint64_t> readings_accepted_{0};
  std::atomic<uint64_t> properties_patched_{0};
  std::array<std::atomic<uint64_t>, kMqttRejectReasonCount> rejected_{};
  mutable std::mutex error_mu_;
  std::string last_connection_error_;  // guarded by error_mu_
};

// Appends the doppel_mqtt_* families for all `connectors`, each family announced once:
//   doppel_mqtt_connected{connector="site-broker"} 1                        (gauge)
//   doppel_mqtt_reconnects_total{connector="site-broker"} 0
//   doppel_mqtt_messages_total{connector="site-broker"} 1200
//   doppel_mqtt_accepted_messages_total{connector="site-broker"} 1190
//   doppel_mqtt_readings_total{connector="site-broker"} 4760
//   doppel_mqtt_rejected_total{connector="site-broker",reason="unknown_twin"} 10
void RenderMqttMetrics(std::span<const MqttConnector* const> connectors, std::string& out);

}  // namespace doppel::connect::mqtt
