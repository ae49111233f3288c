#include "command/opcua_command_transport.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace doppel::command {
namespace {

using connect::opcua::NodeId;
using connect::opcua::OpcUaClient;
using connect::opcua::OpcUaClientOptions;
using connect::opcua::OpcUaCommandMapping;
using connect::opcua::OpcUaConnectorConfig;
using connect::opcua::OpcUaNodeMapping;
using connect::opcua::Variant;

// A command's name as the mapping spells it: "<component>/<command>" inside a component.
std::string CommandName(const CommandRequest& request) {
  return request.component.empty() ? request.command : fmt::format("{}/{}", request.component, request.command);
}

json::value ErrorPayload(std::string_view message) { return json::object{{"error", message}}; }

// The method's output arguments as a response payload: none → null, one → it, more → array.
json::value OutputsJson(const std::vector<Variant>& outputs) {
  if (outputs.empty()) return nullptr;
  if (outputs.size() == 1) return connect::opcua::VariantToJson(outputs.front());
  json::array all;
  for (const Variant& output : outputs) all.push_back(connect::opcua::VariantToJson(output));
  return all;
}

}  // namespace

Result<std::unique_ptr<OpcUaCommandTransport>> OpcUaCommandTransport::Create(OpcUaConnectorConfig config) {
  DOPPEL_RETURN_IF_ERROR(connect::opcua::ValidateOpcUaConnectorConfig(config));
  return std::unique_ptr<OpcUaCommandTransport>(new OpcUaCommandTransport(std::move(config)));
}

OpcUaCommandTransport::OpcUaCommandTransport(OpcUaConnectorConfig config)
    : config_(std::move(config)),
      client_(std::make_unique<OpcUaClient>(OpcUaClientOptions{.endpoint = config_.endpoint,
                                                               .user = config_.user,
                                                               .password = config_.password,
                                                               .application_name = "Doppel commands",
                                                               .request_timeout = config_.request_timeout})) {}

OpcUaCommandTransport::~OpcUaCommandTransport() { Stop(); }

Status OpcUaCommandTransport::Start() {
  std::lock_guard lock(mu_);
  if (started_) return Status::Conflict(fmt::format("the OPC UA command transport of '{}' is already started", config_.name));
  started_ = true;
  stopping_ = false;
  connect_thread_ = std::thread([this] {
    connect::opcua::RetryWithBackoff(
        [this] { return client_->Connect(); },
        [this](const Status& failed, std::chrono::milliseconds delay) {
          spdlog::warn("opcua command transport '{}': {} (retrying in {} ms)", config_.name, failed.message(),
                       delay.count());
        },
        [this](std::chrono::milliseconds delay) {
          std::unique_lock wait_lock(mu_);
          return cv_.wait_for(wait_lock, delay, [this] { return stopping_; });
        });
  });
  worker_ = std::thread([this] { Work(); });
  return Status::Ok();
}

void OpcUaCommandTransport::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  client_->Disconnect();  // ends a Connect or Call in progress
  if (connect_thread_.joinable()) connect_thread_.join();
  if (worker_.joinable()) worker_.join();
  client_->Disconnect();  // the connect thread may have connected meanwhile
}

bool OpcUaCommandTransport::connected() const { return client_->connected(); }

bool OpcUaCommandTransport::Serves(std::string_view twin_id) const {
  for (const OpcUaCommandMapping& command : config_.commands) {
    if (command.twin == twin_id) return true;
  }
  for (const OpcUaNodeMapping& node : config_.nodes) {
    if (node.write && node.twin == twin_id) return true;
  }
  return false;
}

void OpcUaCommandTransport::SetResponseHandler(std::function<void(const CommandResponse&)> handler) {
  handler_ = std::move(handler);
}

Status OpcUaCommandTransport::SendCommand(const CommandRequest& request) {
  if (FindCommand(request) == nullptr) {
    return Status::Unavailable(fmt::format("OPC UA connector '{}' maps no command '{}' of twin '{}'", config_.name,
                                           CommandName(request), request.twin_id));
  }
  if (!client_->connected()) {
    return Status::Unavailable(fmt::format("OPC UA connector '{}' is not connected to {}", config_.name, config_.endpoint));
  }
  {
    std::lock_guard lock(mu_);
    if (!started_ || stopping_) return Status::Unavailable("the OPC UA command transport is not running");
    queue_.push_back(request);
  }
  cv_.notify_all();
  return Status::Ok();
}

void OpcUaCommandTransport::Work() {
  while (true) {
    CommandRequest request;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      request = std::move(queue_.front());
      queue_.pop_front();
      if (stopping_) {
        lock.unlock();
        if (handler_) handler_({request.correlation_id, 503, ErrorPayload("the server is stopping")});
        continue;
      }
    }
    const OpcUaCommandMapping* mapping = FindCommand(request);  // found when queued; config is immutable
    CommandResponse response = Execute(request, *mapping);
    (response.status == 200 ? succeeded_ : failed_).fetch_add(1, std::memory_order_relaxed);
    if (handler_) handler_(response);
  }
}

CommandResponse OpcUaCommandTransport::Execute(const CommandRequest& request, const OpcUaCommandMapping& mapping) {
  CommandResponse response{.correlation_id = request.correlation_id};
  if (!mapping.write_node.empty()) {
    Result<NodeId> node = NodeId::Parse(mapping.write_node);
    Status written = node.ok() ? WriteJson(*node, request.payload) : node.status();
    response.status = written.ok() ? 200 : (written.code() == StatusCode::kInvalidArgument ? 400 : 500);
    response.payload = written.ok() ? json::value(nullptr) : ErrorPayload(written.message());
    return response;
  }
  Result<json::value> outputs = Call(mapping, request.payload);
  if (outputs.ok()) {
    response.status = 200;
    response.payload = std::move(outputs).value();
  } else {
    response.status = outputs.status().code() == StatusCode::kInvalidArgument ? 400 : 500;
    response.payload = ErrorPayload(outputs.status().message());
  }
  return response;
}

Result<json::value> OpcUaCommandTransport::Call(const OpcUaCommandMapping& mapping, const json::value& payload) {
  // The payload is the argument list: null = none, an array = one argument per element, any
  // other value = the only argument.
  std::vector<json::value> arguments;
  if (payload.is_array()) {
    arguments.assign(payload.get_array().begin(), payload.get_array().end());
  } else if (!payload.is_null()) {
    arguments.push_back(payload);
  }
  if (!mapping.inputs.empty() && arguments.size() != mapping.inputs.size()) {
    return Status::InvalidArgument(
        fmt::format("the method takes {} argument(s), the payload has {}", mapping.inputs.size(), arguments.size()));
  }
  std::vector<Variant> inputs;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const Variant::Type type = mapping.inputs.empty() ? Variant::Type::kNull : mapping.inputs[i];
    Result<Variant> input = connect::opcua::VariantFromJson(arguments[i], type);
    if (!input.ok()) return Status::InvalidArgument(fmt::format("argument {}: {}", i, input.status().message()));
    inputs.push_back(std::move(input).value());
  }
  DOPPEL_ASSIGN_OR_RETURN(NodeId object, NodeId::Parse(mapping.object));
  DOPPEL_ASSIGN_OR_RETURN(NodeId method, NodeId::Parse(mapping.method));
  Result<std::vector<Variant>> outputs = client_->Call(object, method, inputs);
  if (!outputs.ok()) return Status::Internal(outputs.status().message());
  return OutputsJson(*outputs);
}

Status OpcUaCommandTransport::WriteJson(const NodeId& node, const json::value& value) {
  // The node's current value says which DataType it takes: a server refuses a Double for a
  // UInt32 node (BadTypeMismatch), and JSON numbers carry no type.
  const NodeId nodes[] = {node};
  DOPPEL_ASSIGN_OR_RETURN(std::vector<connect::opcua::DataValue> current, client_->Read(nodes));
  Variant::Type type = Variant::Type::kNull;
  if (!current.empty() && current.front().value.type != Variant::Type::kNull &&
      current.front().value.type != Variant::Type::kOther) {
    type = current.front().value.type;
  }
  DOPPEL_ASSIGN_OR_RETURN(Variant converted, connect::opcua::VariantFromJson(value, type));
  return client_->Write(node, converted);
}

Status OpcUaCommandTransport::SendDesired(const DesiredUpdate& update) {
  if (!client_->connected()) {
    return Status::Unavailable(fmt::format("OPC UA connector '{}' is not connected to {}", config_.name, config_.endpoint));
  }
  std::size_t written = 0;
  for (const auto& [key, value] : update.properties) {
    if (FindWritable(update.twin_id, key) == nullptr && value.is_object()) {
      for (const auto& [inner, inner_value] : value.get_object()) {
        const std::string path = fmt::format("{}/{}", std::string_view(key), std::string_view(inner));
        if (FindWritable(update.twin_id, path) == nullptr) continue;
        DOPPEL_RETURN_IF_ERROR(WriteDesired(update.twin_id, path, inner_value));
        ++written;
      }
      continue;
    }
    if (FindWritable(update.twin_id, key) == nullptr) continue;
    DOPPEL_RETURN_IF_ERROR(WriteDesired(update.twin_id, key, value));
    ++written;
  }
  if (written == 0) {
    return Status::Unavailable(fmt::format("OPC UA connector '{}' maps none of the desired properties of twin '{}' to a "
                                           "writable node",
                                           config_.name, update.twin_id));
  }
  return Status::Ok();
}

Status OpcUaCommandTransport::WriteDesired(std::string_view twin, std::string_view path, const json::value& value) {
  const OpcUaNodeMapping* mapping = FindWritable(twin, path);
  DOPPEL_ASSIGN_OR_RETURN(NodeId node, connect::opcua::ResolveNode(*client_, mapping->node, mapping->browse_path));
  if (Status written = WriteJson(node, value); !written.ok()) {
    return Status(written.code(), "",
                  fmt::format("writing {}/{} to {}: {}", twin, path, node.ToString(), written.message()));
  }
  return Status::Ok();
}

const OpcUaCommandMapping* OpcUaCommandTransport::FindCommand(const CommandRequest& request) const {
  const std::string name = CommandName(request);
  for (const OpcUaCommandMapping& command : config_.commands) {
    if (command.twin == request.twin_id && command.command == name) return &command;
  }
  return nullptr;
}

const OpcUaNodeMapping* OpcUaCommandTransport::FindWritable(std::string_view twin, std::string_view path) const {
  for (const OpcUaNodeMapping& node : config_.nodes) {
    if (node.write && node.twin == twin && node.property == path) return &node;
  }
  return nullptr;
}

void OpcUaCommandTransport::RenderMetrics(std::string& out) const {
  out += fmt::format(
      "# HELP doppel_opcua_command_transport_connected 1 while the OPC UA command session is up\n"
      "# TYPE doppel_opcua_command_transport_connected gauge\n"
      "doppel_opcua_command_transport_connected{{connector=\"{0}\"}} {1}\n"
      "# HELP doppel_opcua_commands_total Commands carried out on the OPC UA server, by outcome\n"
      "# TYPE doppel_opcua_commands_total counter\n"
      "doppel_opcua_commands_total{{connector=\"{0}\",outcome=\"ok\"}} {2}\n"
      "doppel_opcua_commands_total{{connector=\"{0}\",outcome=\"failed\"}} {3}\n",
      config_.name, connected() ? 1 : 0, succeeded_.load(), failed_.load());
}

}  // namespace doppel::command
