// The OPC UA connector: Doppel as an OPC UA client of a machine's server (opcua_client.h),
// turning monitored items into readings (history, through ingest::Ingestor) and twin property
// updates (the twin graph). docs/opcua.md is the user's guide; this header is the contract.
//
//   auto config = ParseOpcUaConnectorConfig(json).value();   // strict, errors name the key
//   OpcUaConnector connector(config, ingestor, graph);
//   DOPPEL_RETURN_IF_ERROR(connector.Start());               // non-blocking; reconnects itself
//   ...
//   connector.Stop();
//
// Mapping: each configured node is a monitored item of one subscription. A "telemetry" node's
// values become readings of that twin's telemetry; a "property" node's values patch the twin's
// property (TwinGraph::PatchTwin) and are also kept in history, as the MQTT connector does with
// property messages. The reading's time is the value's source timestamp (else the server's, else
// the arrival time). Readings of one notification batch go to history in one durable write
// (Ingestor::WriteEach, one group per value, so one refused value does not lose the others).
//
// Quality: history has no quality column, so a value whose StatusCode is not Good (Bad or
// Uncertain) is NOT stored and NOT applied to the twin: it is counted (badQuality in the
// health JSON, doppel_opcua_bad_quality_total) and the twin keeps its last good value. The
// last status per node is visible in the health JSON ("nodes": [{"node", "status"}]), so an
// operator sees which sensor went bad and since when values stopped.
//
// Store and forward: with a buffer directory (config.buffer_dir; the serve config puts it in
// <dataDir>/connectors/<name>), readings whose history write failed with a store error
// (IsRetryableStoreError) go to a StoreForward buffer on disk instead of being lost; while it
// holds anything, newer readings queue behind it, and each later notification batch replays it
// first, oldest first (ForwardingWriter), so history receives readings in the order they came.
// Replay happens only when a notification arrives: a server whose values stop changing leaves
// the buffer waiting. Twin property patches are not buffered (the twin graph is not the store).
//
// Commands and setpoints go the other way through command::OpcUaCommandTransport
// (src/command/opcua_command_transport.h), which uses this config's "commands" and the nodes
// with "write": true.
//
// Threads: Start and Stop from one controlling thread; stats and HealthJson from any thread.
// The ingestor, graph and clock must outlive the connector.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "connect/opcua/opcua_client.h"
#include "connect/store_forward.h"
#include "ingest/ingestor.h"
#include "twin/twin_graph.h"

namespace doppel::connect::opcua {

// ---- configuration -------------------------------------------------------------------------

// One OPC UA variable ↔ one twin telemetry or property.
struct OpcUaNodeMapping {
  // Exactly one of node / browse_path. "ns=1;s=Temperature"; or a browse path from the Objects
  // folder, "/"-separated browse names with or without their namespace prefix
  // ("Machine/Temperature", "1:Machine/1:Temperature"), resolved by Browse at each connect.
  std::string node = {};
  std::string browse_path = {};
  std::string twin;
  std::string telemetry = {};  // exactly one of telemetry / property
  std::string property = {};
  // Properties only: a desired value of this property is written to the node (setpoints).
  bool write = false;
  // Arrays: the element kept (0-based); without it an array value is refused (counted).
  std::optional<uint32_t> index = {};
  std::chrono::milliseconds sampling_interval{-1};  // < 0 = the connector's publishing interval
  uint32_t queue_size = 10;                         // default 10, 1..10,000
  double deadband = 0;                              // absolute; 0 = every change

  // "telemetry" or "property" path, for logs and errors.
  const std::string& path() const { return telemetry.empty() ? property : telemetry; }
};

// A twin command carried out on the server: a Method call, or a write of the payload to a node.
struct OpcUaCommandMapping {
  std::string twin;
  std::string command;  // DTDL command name ("<component>*<name>" is not supported yet)
  std::string object = {};  // method: the object it is called on, and the method's NodeId
  std::string method = {};
  // Method input argument types, in order ("String", "Double", "Int32", "UInt32", "Boolean",
  // ...): the payload (one value, or an array of values, or null for none) is converted to
  // them. Empty = by the JSON type (string → String, number → Double, bool → Boolean).
  std::vector<Variant::Type> inputs = {};
  std::string write_node = {};  // write: the node the payload is written to
};

struct OpcUaConnectorConfig {
  std::string name;      // label in metrics and logs, unique per server
  std::string endpoint;  // opc.tcp://host:port/path
  std::string user = {};  // "" = anonymous
  std::string password = {};
  std::chrono::milliseconds publishing_interval{100};  // default 100 ms, 10 ms .. 1 h
  std::chrono::milliseconds request_timeout{10'000};   // default 10 s
  std::vector<OpcUaNodeMapping> nodes;                 // at least one node or command
  std::vector<OpcUaCommandMapping> commands = {};
  // Where the store-and-forward buffer lives; "" = none (a store error then loses the batch,
  // counted as rejected). Not part of the JSON: the registry sets it from the data directory.
  std::string buffer_dir = {};
  uint64_t buffer_max_bytes = uint64_t{64} << 20;  // 64 MiB
};

// Parses one connector object with "type": "opcua" (shape in docs/opcua.md). Strict: unknown
// keys, wrong types, bad NodeIds and out-of-range values are refused (InvalidArgument) with the
// key's path named, e.g. "opcua connector 'press-1': nodes[1].node: ...".
Result<OpcUaConnectorConfig> ParseOpcUaConnectorConfig(const json::value& config);
// The checks the parser makes, for a config built in code (OpcUaConnector::Start runs it).
Status ValidateOpcUaConnectorConfig(const OpcUaConnectorConfig& config);
// Whether a connector object of the serve config is an OPC UA one ("type": "opcua").
bool IsOpcUaConnectorObject(const json::value& config);

// ---- values between JSON and OPC UA ----------------------------------------------------------

// A JSON value as a Variant of `type` (kNull = by the JSON type). Arrays of scalars become
// arrays. InvalidArgument when it does not fit ("expected a number for Int32, got a string").
Result<Variant> VariantFromJson(const json::value& value, Variant::Type type = Variant::Type::kNull);
// A Variant as JSON: numbers, booleans, strings; arrays as arrays; DateTime as RFC 3339.
json::value VariantToJson(const Variant& value);
// "Double", "Int32", ... (the names of the OPC UA built-in types); nullopt for an unknown name.
std::optional<Variant::Type> VariantTypeFromName(std::string_view name);
std::string_view VariantTypeName(Variant::Type type);

// ---- shared with the command transport and `doppel opcua discover` --------------------------

// The node of a mapping: `node` parsed, else `browse_path` resolved by Browse from the Objects
// folder (each segment a browse name, with or without its "ns:" prefix). NotFound names the
// segment that has no match; the client's errors pass through.
Result<NodeId> ResolveNode(OpcUaClient& client, std::string_view node, std::string_view browse_path);
// Whether a browse name ("1:Machine") is a path segment ("Machine" or "1:Machine").
bool BrowseNameMatches(std::string_view browse_name, std::string_view segment);

// Runs `attempt` until it succeeds or `wait` answers true (stop requested); `wait` sleeps the
// backoff delay (0.5 s doubling to 30 s). Each failure goes to `on_failure` first.
// Returns whether it succeeded.
bool RetryWithBackoff(const std::function<Status()>& attempt,
                      const std::function<void(const Status&, std::chrono::milliseconds)>& on_failure,
                      const std::function<bool(std::chrono::milliseconds)>& wait);

// ---- status --------------------------------------------------------------------------------

struct OpcUaConnectorStats {
  bool connected = false;
  bool subscribed = false;            // the subscription exists (since the last connect)
  uint64_t connects = 0;              // the client's
  uint64_t reconnects = 0;
  uint64_t notifications = 0;         // monitored values received
  uint64_t readings_accepted = 0;     // written to history
  uint64_t properties_patched = 0;
  uint64_t bad_quality = 0;           // values skipped for a Bad/Uncertain StatusCode
  uint64_t rejected = 0;              // values refused by ingest/twin (type, unknown twin, ...)
  std::string last_error;             // "" when none yet
  StoreForwardStats buffer = {};      // zeros without a buffer
};

// ---- the connector -------------------------------------------------------------------------

class OpcUaConnector {
 public:
  OpcUaConnector(OpcUaConnectorConfig config, ingest::Ingestor& ingestor, twin::TwinGraph& graph,
                 const Clock& clock = SystemClock::Instance());
  ~OpcUaConnector();  // Stop()
  OpcUaConnector(const OpcUaConnector&) = delete;
  OpcUaConnector& operator=(const OpcUaConnector&) = delete;

  // Validates the config and starts a thread that connects, resolves browse paths and
  // subscribes, retrying with backoff (0.5 s doubling to 30 s) until it succeeds: an
  // unreachable server is not an error. After that the client reconnects by itself and
  // re-creates the subscription. Opens the buffer first (OpenBuffer).
  // Errors: InvalidArgument (config), Internal (buffer), Conflict if started.
  Status Start();
  // Opens the store-and-forward buffer in config().buffer_dir, finding what a previous run left
  // (no-op without a directory or when open). Start calls it; call it yourself only to use
  // HandleValues without Start. Controlling thread, not while the client runs. Errors: Internal.
  Status OpenBuffer();
  // Idempotent: ends the setup thread and disconnects; no handler runs after it returns.
  void Stop();

  OpcUaConnectorStats stats() const;
  // {"name", "type": "opcua", "endpoint", "connected", "subscribed", "connects", "reconnects",
  //  "notifications", "readingsAccepted", "propertiesPatched", "badQuality", "rejected",
  //  "lastError", "nodes": [{"node", "twin", "path", "status"}],
  //  "buffer": {"batches", "readings", "bytes", "replayedReadings", "droppedReadings"}}.
  json::object HealthJson() const;
  // doppel_opcua_* families for this connector alone (see RenderOpcUaMetrics).
  void RenderMetrics(std::string& out) const;
  const OpcUaConnectorConfig& config() const { return config_; }

  // Processes a batch of monitored values as if the subscription had delivered it (`item`
  // indexes config().nodes). For tests and replay; not concurrently with a running client.
  void HandleValues(std::span<const MonitoredValue> values);
  // Replaces Ingestor::WriteEach as the history write (tests: a store that fails on demand).
  // Before Start / HandleValues; `sink` must outlive the connector.
  void SetHistorySinkForTesting(ForwardingWriter::Sink sink) { history_ = std::move(sink); }

 private:
  void Run();  // the setup thread
  Status Setup();
  Result<std::vector<NodeId>> ResolveNodes();
  void WriteReadings(const std::vector<ingest::Reading>& readings);
  // Remembers a node's StatusCode and logs when it turns bad or good again.
  void NoteStatus(std::size_t item, uint32_t status);
  void Reject(const OpcUaNodeMapping& node, std::string_view why);
  static const std::string& NodeText(const OpcUaNodeMapping& node);
  void SetError(std::string error);
  bool WaitStop(std::chrono::milliseconds delay);  // true = stopping

  // Immutable after construction.
  const OpcUaConnectorConfig config_;
  ingest::Ingestor& ingestor_;
  twin::TwinGraph& graph_;
  const Clock& clock_;

  // The history write (Ingestor::WriteEach unless a test replaced it), the buffer and the writer
  // that uses both. Set up by the constructor and OpenBuffer (controlling thread, before the
  // client runs), then used by the handler only; buffer_'s stats() are safe from any thread.
  ForwardingWriter::Sink history_;
  std::unique_ptr<StoreForward> buffer_;  // null without a buffer directory
  std::unique_ptr<ForwardingWriter> writer_;
  std::atomic<uint64_t> store_errors_{0};  // writes that failed for the store (for log sampling)

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  // Created by Start, destroyed by Stop (controlling thread), read under mu_ by stats().
  std::unique_ptr<OpcUaClient> client_;
  OpcUaClient::Counters final_counters_;  // guarded by mu_; the last client's, after Stop
  bool stopping_ = false;                 // guarded by mu_
  std::thread thread_;                    // the setup thread

  std::atomic<bool> subscribed_{false};
  std::atomic<uint64_t> notifications_{0};
  std::atomic<uint64_t> readings_accepted_{0};
  std::atomic<uint64_t> properties_patched_{0};
  std::atomic<uint64_t> bad_quality_{0};
  std::atomic<uint64_t> rejected_{0};
  mutable std::mutex status_mu_;
  std::string last_error_;             // guarded by status_mu_
  std::vector<uint32_t> node_status_;  // guarded by status_mu_; last StatusCode per node
};

// Appends the doppel_opcua_* families for all `connectors`, each announced once:
//   doppel_opcua_connected{connector="press-1"} 1                    (gauge)
//   doppel_opcua_reconnects_total{connector="press-1"} 0
//   doppel_opcua_notifications_total{connector="press-1"} 1200
//   doppel_opcua_readings_total{connector="press-1"} 1100
//   doppel_opcua_bad_quality_total{connector="press-1"} 12
//   doppel_opcua_rejected_total{connector="press-1"} 0
//   doppel_opcua_buffered_readings{connector="press-1"} 0             (gauge)
//   doppel_opcua_dropped_readings_total{connector="press-1"} 0
void RenderOpcUaMetrics(std::span<const OpcUaConnector* const> connectors, std::string& out);

}  // namespace doppel::connect::opcua
