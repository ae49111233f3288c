#include "app/connector_registry.h"

#include "base/file_io.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace doppel::app {
namespace {

namespace fs = std::filesystem;
using connect::mqtt::MqttConnector;
using connect::mqtt::MqttConnectorConfig;



Status WithPrefix(const Status& status, const std::string& prefix) {
  return Status(status.code(), "", prefix + status.message());
}

// The definition with its "name" filled in from the path; InvalidArgument when it names
// another connector or is not an object.
Result<json::value> NamedDefinition(std::string_view name, const json::value& config) {
  if (!config.is_object()) return Status::InvalidArgument("expected a connector object (docs/mqtt.md)");
  json::object definition = config.get_object();
  if (const json::value* given = definition.if_contains("name")) {
    if (!given->is_string() || given->get_string() != name) {
      return Status::InvalidArgument("the body's \"name\" must equal the connector name in the path, '" +
                                     std::string(name) + "'");
    }
  }
  definition["name"] = name;
  return json::value(std::move(definition));
}

}  // namespace

ConnectorRegistry::ConnectorRegistry(std::string data_dir, ingest::Ingestor& ingestor, twin::TwinGraph& graph,
                                     const Clock& clock)
    : data_dir_(std::move(data_dir)), ingestor_(ingestor), graph_(graph), clock_(clock) {}

ConnectorRegistry::~ConnectorRegistry() { StopAll(); }

Result<std::unique_ptr<ConnectorRegistry>> ConnectorRegistry::Open(std::vector<MqttConnectorConfig> from_config,
                                                                   std::string data_dir, ingest::Ingestor& ingestor,
                                                                   twin::TwinGraph& graph, const Clock& clock) {
  std::unique_ptr<ConnectorRegistry> registry(new ConnectorRegistry(std::move(data_dir), ingestor, graph, clock));
  for (MqttConnectorConfig& config : from_config) {
    DOPPEL_RETURN_IF_ERROR(registry->CheckUnique(config, nullptr));
    registry->entries_.push_back({registry->Make(std::move(config)), true, nullptr});
  }
  if (registry->data_dir_.empty()) return registry;
  const std::string path = registry->FilePath();
  std::error_code ec;
  if (!fs::exists(path, ec)) return registry;
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return Status::Unavailable("cannot read " + path);
  const std::string prefix = path + " (API-defined MQTT connectors): ";
  Result<json::value> parsed = ParseJson(text.str());
  if (!parsed.ok()) return WithPrefix(parsed.status(), prefix);
  if (!parsed->is_array()) return Status::InvalidArgument(prefix + "expected a JSON array of connector objects");
  for (const json::value& definition : parsed->get_array()) {
    Result<MqttConnectorConfig> config = connect::mqtt::ParseMqttConnectorConfig(definition);
    if (!config.ok()) return WithPrefix(config.status(), prefix);
    if (Status unique = registry->CheckUnique(*config, nullptr); !unique.ok()) return WithPrefix(unique, prefix);
    registry->entries_.push_back({registry->Make(std::move(*config)), false, definition});
  }
  return registry;
}

Status ConnectorRegistry::AddOpcUa(std::vector<connect::opcua::OpcUaConnectorConfig> configs) {
  std::lock_guard lock(mu_);
  for (connect::opcua::OpcUaConnectorConfig& config : configs) {
    if (std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.connector->config().name == config.name; }) !=
            entries_.end() ||
        std::find_if(opcua_.begin(), opcua_.end(), [&](const auto& c) { return c->config().name == config.name; }) !=
            opcua_.end() ||
        // Also a Modbus one: the name is the buffer's directory.
        std::any_of(modbus_.begin(), modbus_.end(), [&](const auto& c) { return c->config().name == config.name; })) {
      return Status::Conflict("a connector named '" + config.name + "' already exists");
    }
    if (!data_dir_.empty()) config.buffer_dir = (fs::path(data_dir_) / "connectors" / config.name).string();
    opcua_.push_back(std::make_unique<connect::opcua::OpcUaConnector>(std::move(config), ingestor_, graph_, clock_));
  }
  return Status::Ok();
}

Status ConnectorRegistry::AddModbus(std::vector<connect::modbus::ModbusConnectorConfig> configs) {
  std::lock_guard lock(mu_);
  for (connect::modbus::ModbusConnectorConfig& config : configs) {
    const auto named = [&](const auto& c) { return c->config().name == config.name; };
    if (std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return named(e.connector); }) ||
        std::any_of(opcua_.begin(), opcua_.end(), named) || std::any_of(modbus_.begin(), modbus_.end(), named)) {
      return Status::Conflict("a connector named '" + config.name + "' already exists");
    }
    if (!data_dir_.empty()) config.buffer_dir = (fs::path(data_dir_) / "connectors" / config.name).string();
    modbus_.push_back(std::make_unique<connect::modbus::ModbusConnector>(std::move(config), ingestor_, graph_, clock_));
  }
  return Status::Ok();
}

void ConnectorRegistry::ForEachModbusConnector(const std::function<bool(connect::modbus::ModbusConnector&)>& visit) {
  std::lock_guard lock(mu_);
  for (auto& connector : modbus_) {
    if (visit(*connector)) return;
  }
}

Status ConnectorRegistry::StartAll() {
  std::lock_guard lock(mu_);
  for (auto& connector : opcua_) {
    if (Status started = connector->Start(); !started.ok()) {
      for (auto& c : opcua_) c->Stop();
      return WithPrefix(started, "cannot start OPC UA connector '" + connector->config().name + "': ");
    }
    spdlog::info("OPC UA connector '{}' started ({})", connector->config().name, connector->config().endpoint);
  }
  for (auto& connector : modbus_) {
    if (Status started = connector->Start(); !started.ok()) {
      for (auto& c : modbus_) c->Stop();
      for (auto& c : opcua_) c->Stop();
      return WithPrefix(started, "cannot start Modbus connector '" + connector->config().name + "': ");
    }
    spdlog::info("Modbus connector '{}' started ({}:{})", connector->config().name, connector->config().host,
                 connector->config().port);
  }
  for (Entry& entry : entries_) {
    const MqttConnectorConfig& config = entry.connector->config();
    if (Status started = entry.connector->Start(); !started.ok()) {
      for (Entry& e : entries_) e.connector->Stop();
      for (auto& c : opcua_) c->Stop();
      for (auto& c : modbus_) c->Stop();
      return WithPrefix(started, "cannot start MQTT connector '" + config.name + "': ");
    }
    spdlog::info("MQTT connector '{}' started ({}, from {})", config.name, config.broker,
                 entry.from_config ? "the config file" : "the API");
  }
  return Status::Ok();
}

void ConnectorRegistry::StopAll() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  for (Entry& entry : entries_) entry.connector->Stop();
  for (auto& connector : opcua_) connector->Stop();
  for (auto& connector : modbus_) connector->Stop();
}

Result<std::pair<bool, json::object>> ConnectorRegistry::Put(std::string_view name, const json::value& config) {
  if (connect::opcua::IsOpcUaConnectorObject(config)) {
    return Status::InvalidArgument("OPC UA connectors are defined in the config file (docs/opcua.md)");
  }
  if (connect::modbus::IsModbusConnectorObject(config)) {
    return Status::InvalidArgument("Modbus connectors are defined in the config file (docs/modbus.md)");
  }
  DOPPEL_ASSIGN_OR_RETURN(json::value definition, NamedDefinition(name, config));
  DOPPEL_ASSIGN_OR_RETURN(MqttConnectorConfig parsed, connect::mqtt::ParseMqttConnectorConfig(definition));
  std::lock_guard lock(mu_);
  if (stopped_) return Status::Unavailable("the server is stopping; connectors cannot be changed now");
  Entry* existing = Find(name);
  if (existing != nullptr && existing->from_config) {
    return Status::Conflict("connector '" + std::string(name) + "' comes from the config file; change it there");
  }
  DOPPEL_RETURN_IF_ERROR(CheckUnique(parsed, existing));
  std::unique_ptr<MqttConnector> connector = Make(std::move(parsed));
  // Stop first: the replacement may use the same clientId, and a broker allows one session.
  if (existing != nullptr) existing->connector->Stop();
  auto restore_previous = [&] {
    if (existing == nullptr) return;
    if (Status restarted = existing->connector->Start(); !restarted.ok()) {
      spdlog::warn("MQTT connector '{}': the previous definition did not start again: {}", name, restarted.ToString());
    }
  };
  if (Status started = connector->Start(); !started.ok()) {
    restore_previous();
    return WithPrefix(started, "cannot start MQTT connector '" + std::string(name) + "': ");
  }
  if (Status persisted = Persist(name, &definition); !persisted.ok()) {
    connector->Stop();
    restore_previous();
    return persisted;
  }
  const bool created = existing == nullptr;
  if (created) {
    entries_.push_back({std::move(connector), false, std::move(definition)});
    existing = &entries_.back();
  } else {
    existing->connector = std::move(connector);
    existing->definition = std::move(definition);
  }
  spdlog::info("MQTT connector '{}' {} through the API ({})", name, created ? "created" : "replaced",
               existing->connector->config().broker);
  json::object health = existing->connector->HealthJson();
  health["source"] = "api";
  return std::pair<bool, json::object>(created, std::move(health));
}

Status ConnectorRegistry::Delete(std::string_view name) {
  std::lock_guard lock(mu_);
  Entry* entry = Find(name);
  if (entry == nullptr) return Status::NotFound("connector '" + std::string(name) + "' not found");
  if (entry->from_config) {
    return Status::Conflict("connector '" + std::string(name) + "' comes from the config file; change it there");
  }
  DOPPEL_RETURN_IF_ERROR(Persist(name, nullptr));
  entry->connector->Stop();
  entries_.erase(entries_.begin() + (entry - entries_.data()));
  spdlog::info("MQTT connector '{}' deleted through the API", name);
  return Status::Ok();
}

json::array ConnectorRegistry::Health() const {
  std::lock_guard lock(mu_);
  json::array all;
  for (const Entry& entry : entries_) {
    json::object health = entry.connector->HealthJson();
    health["source"] = entry.from_config ? "config" : "api";
    all.push_back(std::move(health));
  }
  for (const auto& connector : opcua_) {
    json::object health = connector->HealthJson();
    health["source"] = "config";
    all.push_back(std::move(health));
  }
  for (const auto& connector : modbus_) {
    json::object health = connector->HealthJson();
    health["source"] = "config";
    all.push_back(std::move(health));
  }
  return all;
}

void ConnectorRegistry::RenderMetrics(std::string& out) const {
  std::lock_guard lock(mu_);
  std::vector<const MqttConnector*> all;
  for (const Entry& entry : entries_) all.push_back(entry.connector.get());
  if (!all.empty()) connect::mqtt::RenderMqttMetrics(all, out);
  std::vector<const connect::opcua::OpcUaConnector*> opcua;
  for (const auto& connector : opcua_) opcua.push_back(connector.get());
  if (!opcua.empty()) connect::opcua::RenderOpcUaMetrics(opcua, out);
  std::vector<const connect::modbus::ModbusConnector*> modbus;
  for (const auto& connector : modbus_) modbus.push_back(connector.get());
  if (!modbus.empty()) connect::modbus::RenderModbusMetrics(modbus, out);
}

void ConnectorRegistry::AddTo(server::ApiServices& services) {
  services.connectors = [this] { return Health(); };
  services.put_connector = [this](std::string_view name, const json::value& config) { return Put(name, config); };
  services.delete_connector = [this](std::string_view name) { return Delete(name); };
  services.metrics.push_back([this](std::string& out) { RenderMetrics(out); });
}

std::unique_ptr<MqttConnector> ConnectorRegistry::Make(MqttConnectorConfig config) const {
  return std::make_unique<MqttConnector>(std::move(config), ingestor_, graph_, clock_);
}

Status ConnectorRegistry::CheckUnique(const MqttConnectorConfig& config, const Entry* replacing) const {
  for (const auto& modbus : modbus_) {
    if (modbus->config().name == config.name) {
      return Status::Conflict("a connector named '" + config.name + "' already exists (a Modbus one, from the config file)");
    }
  }
  for (const auto& opcua : opcua_) {
    if (opcua->config().name == config.name) {
      return Status::Conflict("a connector named '" + config.name + "' already exists (an OPC UA one, from the config file)");
    }
  }
  for (const Entry& entry : entries_) {
    if (&entry == replacing) continue;
    const MqttConnectorConfig& other = entry.connector->config();
    const char* source = entry.from_config ? "the config file" : "the API";
    if (other.name == config.name) {
      return Status::Conflict("a connector named '" + config.name + "' already exists (from " + source + ")");
    }
    if (other.client_id == config.client_id) {
      return Status::Conflict("clientId '" + config.client_id + "' is already used by connector '" + other.name +
                              "' (from " + std::string(source) + "); each connector needs its own");
    }
  }
  return Status::Ok();
}

ConnectorRegistry::Entry* ConnectorRegistry::Find(std::string_view name) {
  for (Entry& entry : entries_) {
    if (entry.connector->config().name == name) return &entry;
  }
  return nullptr;
}

Status ConnectorRegistry::Persist(std::string_view changed, const json::value* definition) const {
  if (data_dir_.empty()) return Status::Ok();
  json::array all;
  bool seen = false;
  for (const Entry& entry : entries_) {
    if (entry.from_config) continue;
    if (entry.connector->config().name != changed) {
      all.push_back(entry.definition);
    } else if (definition != nullptr) {
      all.push_back(*definition);
      seen = true;
    } else {
      seen = true;  // removed
    }
  }
  if (!seen && definition != nullptr) all.push_back(*definition);
  return WriteFileAtomically(FilePath(), ToJson(json::value(std::move(all))) + "\n");
}

std::string ConnectorRegistry::FilePath() const { return (fs::path(data_dir_) / kConnectorsFile).string(); }

}  // namespace doppel::app
