// The server's MQTT connectors from both sources (docs/mqtt.md, "Managing connectors through
// the API"): those of the config file ("connectors": [...], read-only at run time) and those
// defined through the API (PUT/DELETE /connectors/{name}), which persist in
// <dataDir>/connectors.json and are started again at the next start.
//
//   auto registry = ConnectorRegistry::Open(options.connectors, options.data_dir, ingestor, graph,
//                                           clock).value();   // refuses a corrupt file
//   registry->AddTo(services);                                 // GET/PUT/DELETE, /metrics
//   DOPPEL_RETURN_IF_ERROR(registry->StartAll());              // config file's first, then the API's
//   ...
//   registry->StopAll();
//
// Names and clientIds are unique across both sources. connectors.json holds the objects as
// they were PUT (passwords included; the file is mode 0600); the health JSON the API answers
// never contains a password.
//
// Thread-safety: every method may be called from any thread; one mutex guards the connectors,
// so a PUT/DELETE (which stops and starts connectors under it) briefly delays GET /connectors,
// /healthz and /metrics. The ingestor, graph and clock must outlive the registry.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "connect/mqtt/mqtt_connector.h"
#include "connect/modbus/modbus_connector.h"
#include "connect/opcua/opcua_connector.h"
#include "ingest/ingestor.h"
#include "server/api.h"
#include "twin/twin_graph.h"

namespace doppel::app {

// The file API-defined connectors persist in, inside the data directory.
inline constexpr std::string_view kConnectorsFile = "connectors.json";

class ConnectorRegistry {
 public:
  // Creates (does not start) the config file's connectors and, with a data directory, those of
  // <data_dir>/connectors.json. `data_dir` "" = API-defined connectors live in memory only.
  // Errors: InvalidArgument naming the file when it is not a JSON array of valid connector
  // objects, or when its names or clientIds clash with the config file's; Unavailable when it
  // cannot be read.
  static Result<std::unique_ptr<ConnectorRegistry>> Open(std::vector<connect::mqtt::MqttConnectorConfig> from_config,
                                                         std::string data_dir, ingest::Ingestor& ingestor,
                                                         twin::TwinGraph& graph,
                                                         const Clock& clock = SystemClock::Instance());
  ~ConnectorRegistry();  // StopAll()
  ConnectorRegistry(const ConnectorRegistry&) = delete;
  ConnectorRegistry& operator=(const ConnectorRegistry&) = delete;

  // Adds the config file's OPC UA connectors (docs/opcua.md), created, not started; call before
  // StartAll. Conflict when a name is taken. OPC UA connectors come from the config file only.
  Status AddOpcUa(std::vector<connect::opcua::OpcUaConnectorConfig> configs);
  // Adds the config file's Modbus connectors (docs/modbus.md), created, not started; call
  // before StartAll. With a data directory each gets a store-and-forward buffer in
  // <data_dir>/connectors/<name>. Conflict when a name is taken. Config file only, as OPC UA.
  Status AddModbus(std::vector<connect::modbus::ModbusConnectorConfig> configs);
  // Calls `visit` with each Modbus connector, under the registry's lock, until it returns true
  // (the Modbus command transport's way to them; a visit may block for a device write).
  void ForEachModbusConnector(const std::function<bool(connect::modbus::ModbusConnector&)>& visit);

  // Starts every connector (config file's first), or none: on a failure the started ones are
  // stopped and the error names the connector.
  Status StartAll();
  // Stops every connector (idempotent); from then on Put answers Unavailable ("the server is
  // stopping"), so a request racing the shutdown cannot start a connector again.
  void StopAll();

  // Creates or replaces the API-defined connector `name` from one connector object (the shape
  // of an entry of the config file's "connectors"; its "name", if present, must equal `name`),
  // persists it and starts it (a running one of that name is stopped first). Answers whether it
  // was created (false = replaced) and its health JSON. Errors: InvalidArgument (the parser's
  // message), Conflict (a config-file connector of that name, or a name/clientId clash),
  // Internal/Unavailable (file or start failure; the previous connector then keeps running).
  Result<std::pair<bool, json::object>> Put(std::string_view name, const json::value& config);
  // Stops and removes the API-defined connector `name`. NotFound, Conflict (config file's).
  Status Delete(std::string_view name);

  // Every connector's health (MqttConnector::HealthJson plus "source": "config" | "api").
  json::array Health() const;
  void RenderMetrics(std::string& out) const;
  // Sets services.connectors, put_connector, delete_connector and a metrics family; the
  // registry must outlive the API.
  void AddTo(server::ApiServices& services);

 private:
  struct Entry {
    std::unique_ptr<connect::mqtt::MqttConnector> connector;
    bool from_config = false;
    json::value definition;  // the object as PUT (API-defined connectors only)
  };

  ConnectorRegistry(std::string data_dir, ingest::Ingestor& ingestor, twin::TwinGraph& graph, const Clock& clock);
  std::unique_ptr<connect::mqtt::MqttConnector> Make(connect::mqtt::MqttConnectorConfig config) const;
  // Conflict when `config`'s name or clientId is taken by another connector than `replacing`.
  Status CheckUnique(const connect::mqtt::MqttConnectorConfig& config, const Entry* replacing) const;
  Entry* Find(std::string_view name);
  // Rewrites connectors.json with the API-defined entries, `changed` (name, definition or
  // null = removed) applied; no-op without a data directory.
  Status Persist(std::string_view changed, const json::value* definition) const;
  std::string FilePath() const;

  const std::string data_dir_;
  ingest::Ingestor& ingestor_;
  twin::TwinGraph& graph_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // guarded by mu_; config file's first, then in creation order
  bool stopped_ = false;        // guarded by mu_; StopAll was called
  std::vector<std::unique_ptr<connect::opcua::OpcUaConnector>> opcua_;  // guarded by mu_
  std::vector<std::unique_ptr<connect::modbus::ModbusConnector>> modbus_;  // guarded by mu_
};

}  // namespace doppel::app
