// Connects a Fleet to an MQTT broker (libmosquitto): publishes telemetry and reported
// properties every tick, obeys desired properties and commands, reconnects when the broker goes
// away. The wire contract (topics and payloads) is in docs/devsim.md:
//
//   doppel/{site}/{twinId}/telemetry                  → {"ts": "...Z", "<name>": v, "<component>/<name>": v}
//   doppel/{site}/{twinId}/properties                 → {"<property>": v}          (QoS 1)
//   doppel/{site}/{twinId}/desired                    ← {"<property>": v}
//   doppel/{site}/{twinId}/commands/{name}            ← {"correlationId": "...", "payload": ...}
//   doppel/{site}/{twinId}/commands/{name}/response   → {"correlationId", "status", "payload"} (QoS 1)
//
//   auto link = FleetLink::Create(fleet, options, SystemClock::Instance());
//   Status s = (*link)->Run(stop_flag);   // blocks until stop_flag or options.duration_s
//
// Threading: everything, including libmosquitto's callbacks, runs on the thread that calls Run,
// so the fleet has a single writer. `fleet` and `clock` must outlive the link.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "base/clock.h"
#include "base/status.h"
#include "devsim/fleet.h"

struct mosquitto;
struct mosquitto_message;

namespace doppel::devsim {

struct BrokerAddress {
  std::string host = "127.0.0.1";
  int port = 1883;
};

// "mqtt://host:port", "mqtt://host" (port 1883), "host:port" or "host". TLS (mqtts://) is not
// supported: InvalidArgument.
Result<BrokerAddress> ParseBrokerUrl(std::string_view url);

struct LinkOptions {
  BrokerAddress broker;
  // MQTT client id. Default (empty): "doppel-devsim-<pid>", unique per process.
  std::string client_id;
  // QoS of telemetry: 0 (default) is what sensors usually send and keeps load tests cheap; 1
  // makes the broker acknowledge every message. Properties and responses are always QoS 1.
  int telemetry_qos = 0;
  // Ticks per real second. Each tick steps the fleet and publishes one telemetry message per twin.
  double rate_hz = 1.0;
  // Simulated seconds per real second (default 1: real time). Telemetry is stamped with the
  // simulated time, which runs ahead of the wall clock when speed > 1.
  double speed = 1.0;
  // Real seconds to run before stopping by itself; 0 = until asked to stop.
  double duration_s = 0.0;
  int keepalive_s = 30;
};

struct LinkStats {
  uint64_t ticks = 0;
  uint64_t published = 0;         // messages handed to the broker connection
  uint64_t dropped = 0;           // messages refused while disconnected
  uint64_t commands_handled = 0;  // command messages answered (any status)
  uint64_t desired_applied = 0;
  uint64_t desired_rejected = 0;
  uint64_t connects = 0;          // successful (re)connections
  uint64_t late_ticks = 0;        // ticks skipped because the loop fell more than 1 s behind
};

class FleetLink {
 public:
  // InvalidArgument for a rate, speed or QoS out of range; Internal if libmosquitto cannot
  // create a client. Does not connect yet (Run does, and keeps trying).
  static Result<std::unique_ptr<FleetLink>> Create(Fleet& fleet, LinkOptions options,
                                                   const Clock& clock);
  ~FleetLink();
  FleetLink(const FleetLink&) = delete;
  FleetLink& operator=(const FleetLink&) = delete;

  // Waits up to 5 s for the first connection, then ticks at options.rate_hz until `stop`
  // becomes true or duration_s has passed (counted from the first tick), reconnecting
  // (1 s, doubling to 8 s) whenever the broker is unreachable; then waits up to 2 s for QoS 1
  // acknowledgements and disconnects. Returns OK on a requested or timed stop.
  Status Run(const std::atomic<bool>& stop);

  const LinkStats& stats() const { return stats_; }
  bool connected() const { return connected_; }

 private:
  FleetLink(Fleet& fleet, LinkOptions options, const Clock& clock, struct ::mosquitto* mosq);

  void Tick();
  void Service(int wait_ms);
  void TryConnect(TimePoint now);
  void Drain();
  void Publish(const TwinMessage& message, std::string_view kind, int qos);
  void PublishRaw(const std::string& topic, const std::string& payload, int qos);
  void PublishReported();
  void OnConnect(int rc);
  void OnDisconnect(int rc);
  void OnMessage(const struct ::mosquitto_message& message);
  void OnDesired(const std::string& twin_id, std::string_view payload);
  void OnCommand(const std::string& topic, const std::string& twin_id, const std::string& name,
                 std::string_view payload);

  static void ConnectTrampoline(struct ::mosquitto*, void* self, int rc);
  static void DisconnectTrampoline(struct ::mosquitto*, void* self, int rc);
  static void MessageTrampoline(struct ::mosquitto*, void* self, const struct ::mosquitto_message* m);
  static void PublishTrampoline(struct ::mosquitto*, void* self, int mid);

  Fleet& fleet_;
  const LinkOptions options_;
  const Clock& clock_;
  struct ::mosquitto* mosq_;
  bool connected_ = false;
  bool socket_open_ = false;  // a connect call succeeded; the CONNACK may still be pending
  TimePoint next_connect_attempt_{};
  std::chrono::milliseconds connect_backoff_{1000};
  std::unordered_set<int> unacked_qos1_;  // message ids of QoS 1 publishes awaiting PUBACK
  LinkStats stats_;
};

}  // namespace doppel::devsim
