#include "command/mqtt_command_transport.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "connect/mqtt/internal/mqtt_client.h"

namespace doppel::command {
namespace {

using internal::TopicTemplate;
using internal::TopicValues;

constexpr std::size_t kMaxLearnedTwins = 1'000'000;

Result<TopicTemplate> CompileKey(std::string_view key, const json::value& value,
                                 std::initializer_list<std::string_view> required) {
  if (!value.is_string()) return Status::InvalidArgument(fmt::format("commands.{}: must be a string", key));
  auto compiled = TopicTemplate::Compile(value.as_string());
  if (!compiled.ok()) return Status::InvalidArgument(fmt::format("commands.{}: {}", key, compiled.status().message()));
  for (std::string_view name : required) {
    if (!compiled->Has(name)) {
      return Status::InvalidArgument(fmt::format("commands.{}: the topic must hold {{{}}}", key, name));
    }
  }
  return compiled;
}

Status CheckTopics(const MqttCommandTopics& t) {
  DOPPEL_RETURN_IF_ERROR(CompileKey("request", json::value(t.request), {"twinId", "commandName"}).status());
  DOPPEL_RETURN_IF_ERROR(CompileKey("response", json::value(t.response), {}).status());
  if (!t.desired.empty()) DOPPEL_RETURN_IF_ERROR(CompileKey("desired", json::value(t.desired), {"twinId"}).status());
  for (const std::string& learn : t.learn) {
    DOPPEL_RETURN_IF_ERROR(CompileKey("learn", json::value(learn), {"twinId"}).status());
  }
  return Status::Ok();
}

}  // namespace

Result<MqttCommandTopics> ParseMqttCommandTopics(const json::value& commands) {
  if (!commands.is_object()) return Status::InvalidArgument("commands: must be an object");
  MqttCommandTopics topics;
  for (const auto& [key, value] : commands.as_object()) {
    if (key == "request" || key == "response" || key == "desired") {
      if (!value.is_string()) return Status::InvalidArgument(fmt::format("commands.{}: must be a string", key));
      std::string& target = key == "request" ? topics.request : key == "response" ? topics.response : topics.desired;
      target = std::string(value.as_string());
    } else if (key == "learn") {
      if (!value.is_array()) return Status::InvalidArgument("commands.learn: must be an array of topics");
      for (const json::value& topic : value.as_array()) {
        if (!topic.is_string()) return Status::InvalidArgument("commands.learn: must be an array of topics");
        topics.learn.emplace_back(topic.as_string());
      }
    } else if (key == "values") {
      if (!value.is_object()) return Status::InvalidArgument("commands.values: must be an object of strings");
      for (const auto& [name, v] : value.as_object()) {
        if (!v.is_string()) return Status::InvalidArgument(fmt::format("commands.values.{}: must be a string", name));
        topics.values[std::string(name)] = std::string(v.as_string());
      }
    } else {
      return Status::InvalidArgument(
          fmt::format("commands.{}: unknown key (known: request, response, desired, learn, values)", key));
    }
  }
  if (topics.request.empty()) return Status::InvalidArgument("commands.request: required");
  if (topics.response.empty()) return Status::InvalidArgument("commands.response: required");
  DOPPEL_RETURN_IF_ERROR(CheckTopics(topics));
  return topics;
}

Result<SplitConnectors> SplitCommandConfigs(const json::value& connectors) {
  SplitConnectors split{.connectors = connectors};
  if (!connectors.is_array()) return split;  // the connector parser says what is wrong
  json::array& list = split.connectors.as_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) continue;
    json::object& connector = list[i].as_object();
    const json::value* commands = connector.if_contains("commands");
    if (commands == nullptr) continue;
    auto topics = ParseMqttCommandTopics(*commands);
    if (!topics.ok()) return Status::InvalidArgument(fmt::format("[{}].{}", i, topics.status().message()));
    split.commands.emplace_back(i, std::move(*topics));
    connector.erase("commands");
  }
  return split;
}

MqttCommandTransport::MqttCommandTransport(MqttCommandTransportConfig config) : config_(std::move(config)) {}

Result<std::unique_ptr<MqttCommandTransport>> MqttCommandTransport::Create(MqttCommandTransportConfig config) {
  DOPPEL_RETURN_IF_ERROR(CheckTopics(config.topics));
  std::unique_ptr<MqttCommandTransport> t(new MqttCommandTransport(std::move(config)));
  const MqttCommandTopics& topics = t->config_.topics;
  t->request_ = TopicTemplate::Compile(topics.request).value();
  t->response_ = TopicTemplate::Compile(topics.response).value();
  if (!topics.desired.empty()) t->desired_ = TopicTemplate::Compile(topics.desired).value();
  for (const std::string& learn : topics.learn) t->learn_.push_back(TopicTemplate::Compile(learn).value());
  return t;
}

MqttCommandTransport::~MqttCommandTransport() { Stop(); }

void MqttCommandTransport::SetResponseHandler(std::function<void(const CommandResponse&)> handler) {
  handler_ = std::move(handler);
}

Status MqttCommandTransport::Start() {
  if (client_ != nullptr) return Status::Conflict("the command transport is already started");
  const connect::mqtt::MqttConnectorConfig& c = config_.connection;
  connect::mqtt::internal::MqttClientOptions o;
  o.name = c.name + "-commands";
  o.host = c.host;
  o.port = c.port;
  o.tls = c.tls;
  o.connect.client_id = c.client_id + "-commands";
  o.connect.username = c.username;
  o.connect.password = c.password;
  o.connect.keep_alive_seconds = static_cast<uint16_t>(c.keep_alive_seconds);
  // A clean session: a response to an invocation of an earlier run finds nothing to complete.
  o.connect.clean_start = true;
  o.connect.session_expiry_seconds = 0;
  o.max_packet_size = connect::mqtt::MaxMqttPacketBytes(c.max_payload_bytes);
  o.connect.maximum_packet_size = static_cast<uint32_t>(o.max_packet_size);
  o.subscriptions.push_back({response_.Subscription(), 1});
  for (const TopicTemplate& learn : learn_) o.subscriptions.push_back({learn.Subscription(), 0});
  o.reconnect_min = std::chrono::seconds(c.reconnect_min_seconds);
  o.reconnect_max = std::chrono::seconds(c.reconnect_max_seconds);
  connect::mqtt::internal::MqttClientHandlers handlers;
  handlers.on_batch = [this](std::span<const connect::mqtt::internal::InboundMessage> batch) {
    for (const auto& message : batch) OnMessage(message);
  };
  handlers.on_connected = [this](bool) { subscribed_ = false; };
  handlers.on_subscribed = [this] { subscribed_ = true; };
  handlers.on_error = [this, name = o.name](const std::string& error) {
    subscribed_ = false;
    spdlog::warn("mqtt {}: {}", name, error);
  };
  client_ = std::make_unique<connect::mqtt::internal::MqttClient>(std::move(o), std::move(handlers));
  return client_->Start();
}

void MqttCommandTransport::Stop() {
  if (client_ != nullptr) client_->Stop();
}

bool MqttCommandTransport::connected() const { return client_ != nullptr && client_->connected(); }

void MqttCommandTransport::RenderMetrics(std::string& out) const {
  std::size_t learned = 0;
  {
    std::lock_guard lock(mu_);
    learned = learned_.size();
  }
  out += "# HELP doppel_command_transport_connected Whether the command transport is connected to its broker.\n"
         "# TYPE doppel_command_transport_connected gauge\n";
  out += fmt::format("doppel_command_transport_connected {}\n", connected() ? 1 : 0);
  out += "# HELP doppel_command_transport_subscribed Whether its response and learn subscriptions are granted.\n"
         "# TYPE doppel_command_transport_subscribed gauge\n";
  out += fmt::format("doppel_command_transport_subscribed {}\n", subscribed_.load() ? 1 : 0);
  out += "# HELP doppel_command_transport_learned_twins Twins whose topic values were learned from their messages.\n"
         "# TYPE doppel_command_transport_learned_twins gauge\n";
  out += fmt::format("doppel_command_transport_learned_twins {}\n", learned);
}

void MqttCommandTransport::OnMessage(const connect::mqtt::internal::InboundMessage& message) {
  if (response_.Match(message.topic)) {
    auto parsed = ParseJson(message.payload, JsonLimits{.max_bytes = 1u << 20, .max_depth = 64});
    if (!parsed.ok() || !parsed->is_object()) {
      spdlog::warn("commands: a response on {} is not a JSON object; ignored", message.topic);
      return;
    }
    const json::object& o = parsed->as_object();
    const json::value* correlation = o.if_contains("correlationId");
    const json::value* status = o.if_contains("status");
    if (correlation == nullptr || !correlation->is_string() || status == nullptr || !status->is_int64()) {
      spdlog::warn("commands: a response on {} lacks correlationId or status; ignored", message.topic);
      return;
    }
    const json::value* payload = o.if_contains("payload");
    if (handler_) {
      handler_({.correlation_id = std::string(correlation->as_string()),
                .status = static_cast<int>(status->as_int64()),
                .payload = payload == nullptr ? json::value(nullptr) : *payload});
    }
    return;
  }
  for (const TopicTemplate& learn : learn_) {
    std::optional<TopicValues> values = learn.Match(message.topic);
    if (!values) continue;
    auto twin = values->find("twinId");
    if (twin == values->end()) continue;
    std::string twin_id = twin->second;
    values->erase(twin);
    std::lock_guard lock(mu_);
    if (learned_.size() >= kMaxLearnedTwins && !learned_.contains(twin_id)) return;
    learned_[twin_id] = std::move(*values);
    return;
  }
}

TopicValues MqttCommandTransport::ValuesFor(const std::string& twin_id) const {
  TopicValues values(config_.topics.values.begin(), config_.topics.values.end());
  {
    std::lock_guard lock(mu_);
    if (auto it = learned_.find(twin_id); it != learned_.end()) {
      for (const auto& [k, v] : it->second) values[k] = v;
    }
  }
  values["twinId"] = twin_id;
  return values;
}

Status MqttCommandTransport::Publish(Result<std::string> topic, std::string payload) {
  if (!topic.ok()) return Status::Unavailable(fmt::format("cannot address the device: {}", topic.status().message()));
  if (client_ == nullptr) return Status::Unavailable("the command transport is not started");
  return client_->Publish(std::move(*topic), std::move(payload), config_.publish_timeout);
}

Status MqttCommandTransport::SendCommand(const CommandRequest& request) {
  TopicValues values = ValuesFor(request.twin_id);
  if (request_.Has("component")) {
    values["component"] = request.component;
    values["commandName"] = request.command;
  } else {
    // IoT Plug and Play's convention for a component's command without a component level.
    values["commandName"] = request.component.empty() ? request.command : request.component + "*" + request.command;
  }
  json::object message{{"correlationId", request.correlation_id}, {"payload", request.payload}};
  return Publish(request_.Fill(values), ToJson(message));
}

Status MqttCommandTransport::SendDesired(const DesiredUpdate& update) {
  if (!desired_) return Status::Unavailable("no desired topic is configured (commands.desired)");
  json::object message = update.properties;
  message["$version"] = update.version;
  return Publish(desired_->Fill(ValuesFor(update.twin_id)), ToJson(message));
}

}  // namespace doppel::command
