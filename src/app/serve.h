// `doppel serve`: open the store, restore the twin graph, serve the HTTP API until SIGINT or
// SIGTERM, then stop gracefully (finish requests in flight, close the store).
//
//   ServeOptions options;                        // defaults below
//   options.data_dir = "/var/lib/doppel";
//   return Serve(options);                       // blocks; returns the process exit code
//
// Once listening, Serve prints exactly one line to stdout, and flushes it:
//   doppel listening on http://127.0.0.1:8080        (https:// when "tls" is configured)
// with the port actually bound (so listen = "127.0.0.1:0" lets the OS choose). Scripts and the
// integration tests wait for that line. Logs (spdlog) go to stderr.
#pragma once

#include <chrono>
#include <optional>
#include <cstddef>
#include <string>
#include <vector>

#include "auth/classification.h"
#include "auth/jwt.h"
#include "auth/policy.h"
#include "base/json.h"
#include "base/status.h"
#include "command/mqtt_command_transport.h"
#include "connect/mqtt/mqtt_connector.h"
#include "connect/modbus/modbus_connector.h"
#include "connect/opcua/opcua_connector.h"
#include "server/http_server.h"
#include "tsdb/series_store.h"

namespace doppel::app {

// Where work orders are exported (docs/work-orders.md, docs/webhooks.md).
struct CmmsWebhook {
  std::string url;     // http:// or https://
  std::string secret;  // "" = unsigned
};

struct ServeOptions {
  // "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 = any free port.
  std::string listen = "127.0.0.1:8080";
  // The store's directory, created if missing. Empty = no persistence (an in-memory journal;
  // everything is lost at exit — for experiments and tests only, and logged as a warning).
  std::string data_dir;
  // Largest request body. Default 32 MiB (a large DTDL ontology batch fits); larger → 413.
  std::size_t max_body_bytes = 32u << 20;
  // HTTP worker threads. 0 = max(4, hardware threads) (see server::HttpServerOptions).
  int threads = 0;
  // fsync every write before acknowledging it. Default true (acknowledged writes survive
  // kill -9 and power loss); false is faster and for bulk loads and benchmarks only.
  bool sync = true;
  // Idle/slow connection timeout. Default 30 s.
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);
  // spdlog level: trace, debug, info, warn, error, critical, off. Default info.
  std::string log_level = "info";
  // History retention (tsdb::RetentionRule): how long raw points are kept, per series, per
  // model or by default. Empty = keep everything. Applied at start and every
  // retention_interval (whole chunks: a point goes at most one chunk span later than due).
  std::vector<tsdb::RetentionRule> retention;
  std::chrono::seconds retention_interval{600};
  // MQTT connectors (docs/mqtt.md), started after the API is listening, stopped first.
  std::vector<connect::mqtt::MqttConnectorConfig> connectors;
  // OPC UA connectors (docs/opcua.md): the "connectors" entries with "type": "opcua".
  std::vector<connect::opcua::OpcUaConnectorConfig> opcua_connectors;
  // Modbus TCP connectors (docs/modbus.md): the "connectors" entries with "type": "modbus".
  std::vector<connect::modbus::ModbusConnectorConfig> modbus_connectors;
  // Commands and desired properties to devices (docs/commands.md): from a connector's
  // "commands" block, over that connector's broker. At most one (the config refuses more).
  std::optional<command::MqttCommandTransportConfig> command_transport;
  // Security (docs/security.md): JWT verification and custom roles. API keys live in
  // <dataDir>/auth/api-keys.json (`doppel apikey`, /auth/apikeys); the audit log in
  // <dataDir>/audit. With neither keys nor a JWT configuration the server runs in dev mode
  // (anonymous admin) and refuses to start unless it listens on loopback only.
  std::optional<auth::JwtConfig> jwt;
  auth::PolicyConfig policy;
  // Data classification ("classification": {"classes", "fields"}, docs/security.md): values
  // masked for callers without clearance, and each class's history retention (on top of
  // `retention`, more specific than its model-wide rules). None = nothing classified.
  std::optional<auth::ClassificationConfig> classification;
  // Simulation bindings from the config file ("simulation": {"bindings": {name: binding}},
  // docs/simulation.md): read-only through the API.
  json::object simulation_bindings;
  // Analytics definitions from the config file ("analytics": {"detectors", "rul", "kpis"},
  // docs/analytics.md): read-only through the API.
  json::object analytics;
  // Work orders exported to a CMMS/ERP ("maintenance": {"cmmsWebhook": {"url", "secret"}},
  // docs/work-orders.md): each create and status change is POSTed there, signed and retried.
  // None = no export.
  std::optional<CmmsWebhook> cmms_webhook;
  // Requests per second per authenticated caller, and the burst ("rateLimit":
  // {"requestsPerSecond", "burst"}); 0 = unlimited (server::ApiOptions).
  double requests_per_second_per_caller = 0;
  double request_burst_per_caller = 0;
  // HTTPS and WSS on the listener ("tls": {"certFile", "keyFile", "clientCaFile"}); relative
  // paths are resolved against the config file's directory. None = plain HTTP.
  std::optional<server::TlsOptions> tls;
};

// Reads a JSON config file: {"listen", "dataDir", "maxBodyBytes", "threads", "sync",
// "readTimeoutMs", "logLevel", "retention", "retentionIntervalSeconds", "connectors", "auth",
// "classification", "simulation", "analytics", "maintenance", "rateLimit", "tls"} — every
// key optional,
// defaults as in ServeOptions. "retention" is a list of rules, e.g.
//   [{"keep": "400d"}, {"model": "dtmi:com:example:Pump;1", "keep": "30d"},
//    {"twin": "pump-7", "path": "vibration", "keep": "7d"}]
// (durations as history's: "90s", "12h", "30d"; docs/operations.md). "connectors" is a list of
// MQTT connector objects (docs/mqtt.md); "auth" is {"jwt": {...}, "roles": {...}}
// (docs/security.md). A relative
// dataDir is resolved against the config file's directory. Errors (InvalidArgument) name the
// file and the key: unknown keys, wrong types, and negative or zero sizes are refused rather
// than ignored, so a typo cannot silently fall back to a default.
Result<ServeOptions> LoadServeConfig(const std::string& path);

// Applies the JSON config object `config` on top of `options` (what LoadServeConfig does after
// reading the file; `base_dir` resolves a relative dataDir, "" = leave it relative).
Status ApplyServeConfig(const json::value& config, const std::string& base_dir, ServeOptions& options);

// Runs the server (see the top of this file). Returns 0 after a clean shutdown on
// SIGINT/SIGTERM, 1 if it could not start (the reason is logged).
int Serve(const ServeOptions& options);

}  // namespace doppel::app
