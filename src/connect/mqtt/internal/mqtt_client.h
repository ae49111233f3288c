// Doppel's MQTT 5.0 client (internal to connect/mqtt), over Boost.Asio with optional TLS. Built
// for one job libmosquitto cannot do: acknowledge a whole batch of QoS 1 messages only after
// the batch was made durable. It reads whatever PUBLISH packets one socket read brings (often
// hundreds), hands them to OnBatch in one call, and writes their PUBACKs — all in one write —
// only when OnBatch has returned. docs/mqtt.md, "Guarantees".
//
//   MqttClient client(options, handlers);
//   DOPPEL_RETURN_IF_ERROR(client.Start());   // its own thread; connects and reconnects itself
//   client.Publish("cmd/x", "{...}", 5s);     // QoS 1, waits for the broker's PUBACK
//   client.Stop();                            // finishes the batch in hand, DISCONNECT, joins
//
// Connection: CONNECT with Clean Start and a Session Expiry Interval for a persistent session,
// Receive Maximum (how many QoS 1 messages the broker keeps in flight towards us, i.e. the
// largest batch), Maximum Packet Size and Topic Alias Maximum; one SUBSCRIBE with every filter
// after each CONNACK; PINGREQ when nothing was sent for half the keep alive, and the connection
// is dropped when nothing arrived for 1.5 keep alives. A refused CONNACK, a lost connection or
// a malformed packet (DISCONNECT with its reason code, then close) calls OnError and the client
// reconnects after a backoff that doubles from reconnect_min to reconnect_max (reset by a
// successful CONNACK).
//
// Threads: every handler runs on the client's own thread, one at a time; a slow OnBatch slows
// reading (backpressure: the broker queues). Start/Stop from one controlling thread; Publish
// from any thread but the client's own, while the client is started (not concurrently with
// Stop). The options and handlers are copied; the client owns them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "connect/mqtt/internal/mqtt_codec.h"
#include "connect/mqtt/mqtt_connector.h"

namespace doppel::connect::mqtt::internal {

struct MqttClientOptions {
  std::string name;  // for log lines
  std::string host;
  int port = 1883;
  std::optional<TlsConfig> tls;  // set: TLS with the broker verified against tls->ca_file
  ConnectOptions connect;        // client id, credentials, keep alive, session, limits
  std::vector<SubscribeRequest> subscriptions;
  std::chrono::seconds reconnect_min{1};
  std::chrono::seconds reconnect_max{30};
  // The largest packet accepted from the broker (also announced in CONNECT); a larger one is
  // "packet too large": DISCONNECT and reconnect.
  std::size_t max_packet_size = std::size_t{1} << 21;
};

// One received PUBLISH. `payload` is valid only during the OnBatch call.
struct InboundMessage {
  std::string topic;
  std::string_view payload;
  uint8_t qos = 0;
};

struct MqttClientHandlers {
  // The messages of one read, in arrival order; their PUBACKs leave after it returns.
  std::function<void(std::span<const InboundMessage>)> on_batch;
  // CONNACK success (session_present: the broker still had our session).
  std::function<void(bool session_present)> on_connected;
  // Every filter of the SUBSCRIBE granted (QoS ≥ requested is not required: a lower grant is
  // logged).
  std::function<void()> on_subscribed;
  // Why the connection could not be made, was refused or was lost, or a filter was refused;
  // e.g. "refused: bad user name or password", "tls handshake: certificate verify failed".
  std::function<void(const std::string& error)> on_error;
};

class MqttClient {
 public:
  MqttClient(MqttClientOptions options, MqttClientHandlers handlers);
  ~MqttClient();  // Stop()
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Prepares TLS (Internal naming the file that cannot be used) and starts the client's thread,
  // which connects in the background: an unreachable broker is not an error here.
  Status Start();
  // Idempotent. The batch in hand finishes and is acknowledged, then DISCONNECT (normal: the
  // broker keeps the session) and the thread ends. Waits at most a few seconds for the socket.
  void Stop();

  bool connected() const { return connected_.load(); }

  // Publishes at QoS 1 and waits for the broker's PUBACK. Errors: Unavailable when not
  // connected, when the connection drops before the PUBACK (the message may or may not have
  // reached the broker: retry) or after `timeout`; Internal for a PUBACK with an error reason.
  Status Publish(std::string topic, std::string payload, std::chrono::milliseconds timeout);

 private:
  class Session;
  const MqttClientOptions options_;
  const MqttClientHandlers handlers_;
  std::unique_ptr<Session> session_;  // the Asio side; created by Start
  std::thread thread_;
  std::atomic<bool> connected_{false};
};

}  // namespace doppel::connect::mqtt::internal
