// The MQTT command transport: publishes command requests and desired properties to a broker
// and routes the devices' responses back to the CommandService (docs/commands.md).
//
// It is configured by a "commands" block inside a connector object of the serve config
// (docs/mqtt.md) and uses that connector's broker, credentials and TLS, with a connection of
// its own (client id "<clientId>-commands", clean session: responses to invocations of an
// earlier run are useless, those are "unknown" after a restart):
//
//   "commands": {
//     "request":  "doppel/{site}/{twinId}/commands/{commandName}",
//     "response": "doppel/+/{twinId}/commands/{commandName}/response",
//     "desired":  "doppel/{site}/{twinId}/desired",
//     "learn":    ["doppel/{site}/{twinId}/properties", "doppel/{site}/{twinId}/telemetry"],
//     "values":   {"site": "kestrel-ridge"}
//   }
//
// Placeholders of "request" and "desired": {twinId}, {commandName} (for a component's command
// "<component>*<name>" unless the topic has {component}), {component}, and any other name,
// whose value comes from the twin's last message on a "learn" topic (where the device itself
// publishes, so Doppel answers on the same site), else from "values". A request whose topic
// cannot be filled fails ("not delivered: no value for {site}"). "response" is subscribed with
// every placeholder as '+'; responses are matched by correlation id only.
//
// Messages: request {"correlationId", "payload"}; response {"correlationId", "status",
// "payload"}; desired {"<property>": value, "<component>": {...}, "$version": n}. QoS 1.
//
// Threads: SendCommand/SendDesired from any thread but the client's; the response handler runs
// on the client's thread. Start/Stop from one controlling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "command/command_service.h"
#include "command/internal/topic_template.h"
#include "connect/mqtt/mqtt_connector.h"

namespace doppel::connect::mqtt::internal {
class MqttClient;
struct InboundMessage;
}  // namespace doppel::connect::mqtt::internal

namespace doppel::command {

struct MqttCommandTopics {
  std::string request;               // required
  std::string response;              // required
  std::string desired = {};          // "" = desired properties are not sent (ackCode 503)
  std::vector<std::string> learn = {};
  std::map<std::string, std::string, std::less<>> values = {};
};

struct MqttCommandTransportConfig {
  connect::mqtt::MqttConnectorConfig connection;  // broker, credentials, TLS of the connector
  MqttCommandTopics topics;
  // How long a publish waits for the broker's PUBACK before the send fails. Default 5 s.
  std::chrono::milliseconds publish_timeout{5000};
};

// Parses a connector's "commands" object (shape above). Strict: unknown keys, wrong types and
// bad topics are refused naming the key ("commands.request: ..."); "request" must hold
// {twinId} and {commandName}, "desired" {twinId}, each "learn" topic {twinId}.
Result<MqttCommandTopics> ParseMqttCommandTopics(const json::value& commands);
// Splits a serve config's "connectors" array: a copy without the "commands" members (for
// connect::mqtt::ParseMqttConnectorConfigs, which knows nothing of them) and, for each
// connector that had one, its index and parsed topics. Errors name the connector's index.
struct SplitConnectors {
  json::value connectors;
  std::vector<std::pair<std::size_t, MqttCommandTopics>> commands = {};  // connector index → topics
};
Result<SplitConnectors> SplitCommandConfigs(const json::value& connectors);

class MqttCommandTransport final : public CommandTransport {
 public:
  // InvalidArgument for a bad topic (checked again, for configs built in code).
  static Result<std::unique_ptr<MqttCommandTransport>> Create(MqttCommandTransportConfig config);
  ~MqttCommandTransport() override;  // Stop()

  // Starts the client's thread, which connects (and reconnects) in the background.
  Status Start();
  void Stop();
  bool connected() const;
  // doppel_command_transport_connected, _subscribed (every filter granted since the last
  // connect) and _learned_twins (twins whose topic values were learned), gauges.
  void RenderMetrics(std::string& out) const;

  Status SendCommand(const CommandRequest& request) override;
  Status SendDesired(const DesiredUpdate& update) override;
  void SetResponseHandler(std::function<void(const CommandResponse&)> handler) override;

 private:
  explicit MqttCommandTransport(MqttCommandTransportConfig config);
  void OnMessage(const connect::mqtt::internal::InboundMessage& message);
  // The values of a twin's topic: fixed ones, overridden by learned ones, then {twinId}.
  internal::TopicValues ValuesFor(const std::string& twin_id) const;
  Status Publish(Result<std::string> topic, std::string payload);

  // Immutable after Create.
  const MqttCommandTransportConfig config_;
  internal::TopicTemplate request_, response_;
  std::optional<internal::TopicTemplate> desired_;
  std::vector<internal::TopicTemplate> learn_;
  std::function<void(const CommandResponse&)> handler_;  // set before Start

  std::unique_ptr<connect::mqtt::internal::MqttClient> client_;
  std::atomic<bool> subscribed_{false};
  mutable std::mutex mu_;
  // Guarded by mu_: per twin, placeholder values learned from its own messages (at most
  // kMaxLearnedTwins twins; past that, new twins are not learned and use "values").
  std::unordered_map<std::string, internal::TopicValues> learned_;
};

}  // namespace doppel::command
