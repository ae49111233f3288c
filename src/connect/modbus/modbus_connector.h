// The Modbus TCP connector: Doppel as a Modbus TCP client (libmodbus) of one device — a PLC, a
// drive, a gateway — polling its registers and coils into twin telemetry and properties, and
// writing setpoints and commands back. docs/modbus.md is the user's guide; this header is the
// contract.
//
//   auto config = ParseModbusConnectorConfig(json).value();   // strict, errors name the member
//   ModbusConnector connector(config, ingestor, graph);
//   DOPPEL_RETURN_IF_ERROR(connector.Start());                // non-blocking; reconnects itself
//   ...
//   connector.Stop();
//
// Polling: every pollIntervalMs the connector's thread reads each table's points in as few
// requests as it can (neighbouring addresses share a request), decodes them (data type, word
// order, scale and offset, bit) and writes ONE batch of readings, all stamped with the poll's
// start time, through Ingestor::WriteEach (a group per point, so one bad mapping never keeps the
// others out). Property points also patch the twin when their value changed since the last
// poll (so a device's setpoint read back acknowledges a desired value, docs/commands.md).
//
// Store and forward: with a buffer directory, readings whose write failed with a store error
// (IsRetryableStoreError) go to a StoreForward buffer on disk, and every later poll first
// replays that buffer, oldest first; while it is not empty new readings queue behind it, so
// history gets them in order (ForwardingWriter). Without a directory they are counted as errors
// and lost. A slow store slows the polling thread: polls are skipped, not queued, since a
// poll's value is worth most when fresh.
//
// Writes (setpoints and commands) run on the connector's thread between polls, on the same
// connection, so they never race a poll; WriteSetpoint/RunCommand wait for them.
//
// Thread-safety: Start and Stop from one controlling thread; WriteSetpoint, RunCommand, stats
// and HealthJson from any thread. The ingestor, graph and clock must outlive the connector.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
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
#include "connect/store_forward.h"
#include "ingest/ingestor.h"
#include "twin/twin_graph.h"

namespace doppel::connect::modbus {

namespace internal {
class ModbusLink;
struct ReadBlock;
}  // namespace internal

// ---- configuration -------------------------------------------------------------------------

enum class Table { kCoil, kDiscrete, kInput, kHolding };  // "coil", "discrete", "input", "holding"
enum class DataType { kBool, kInt16, kUint16, kInt32, kUint32, kFloat32 };
// How a 32-bit value lies in two registers; the bytes A (most significant) .. D of the value as
// they come on the wire: big "ABCD" (high word first, the Modbus convention), swapped "CDAB"
// (low word first, common on PLCs), little "DCBA" (every byte reversed).
enum class WordOrder { kBig, kSwapped, kLittle };

// How a point's raw table entries become a number: value = raw * scale + offset (and back,
// raw = (value - offset) / scale, for writes). With `bit`, one bit (0 = least significant) of
// a 16-bit register as a boolean, and scale/offset do not apply.
struct RegisterFormat {
  DataType type = DataType::kUint16;  // kBool for coils and discrete inputs
  WordOrder word_order = WordOrder::kBig;
  double scale = 1.0;
  double offset = 0.0;
  std::optional<int> bit = {};
};

struct PointMapping {
  std::string twin;
  std::string path;       // telemetry or property name ("<component>/<name>" inside one)
  bool property = false;  // true: also patch the twin property when the value changes
  Table table = Table::kHolding;
  int address = 0;  // 0-based protocol address
  RegisterFormat format = {};
};

// A writable twin property backed by holding register(s).
struct SetpointMapping {
  std::string twin;
  std::string property;  // "<property>" or "<component>/<property>"
  int address = 0;
  RegisterFormat format = {};  // no bit
};

// A command of the twin's model carried out as a write of a coil or holding register(s).
struct CommandMapping {
  std::string twin;
  std::string command;  // "<command>" or "<component>/<command>"
  Table table = Table::kCoil;  // kCoil or kHolding
  int address = 0;
  RegisterFormat format = {};  // for kHolding
  // The value written; null = taken from the invocation's request payload (a number, or a
  // boolean for a coil).
  json::value value = nullptr;
};

struct ModbusConnectorConfig {
  // Label in health, metrics and logs, unique per server; also the buffer's directory name, so
  // letters, digits, '.', '_' and '-' only (not starting with '.'), at most 64.
  std::string name;
  std::string host;
  int port = 502;
  int unit_id = 1;  // the Modbus unit (slave) id, 0..247 (255 for some gateways)
  std::chrono::milliseconds timeout{1000};        // per request (modbus_set_response_timeout)
  std::chrono::milliseconds poll_interval{1000};  // between poll starts
  std::chrono::milliseconds reconnect_min{500};   // backoff doubles from min to max
  std::chrono::milliseconds reconnect_max{30'000};
  // Where the store-and-forward buffer lives; "" = no buffer. Not part of the JSON: the
  // server sets it to <dataDir>/connectors/<name>.
  std::string buffer_dir = {};
  uint64_t buffer_max_bytes = uint64_t{64} << 20;  // "bufferMaxBytes", default 64 MiB
  std::vector<PointMapping> points;
  std::vector<SetpointMapping> setpoints;
  std::vector<CommandMapping> commands;
};

// Parses one connector object (docs/modbus.md), with "type": "modbus" required. Strict:
// unknown keys, wrong types and out-of-range values are refused (InvalidArgument) naming the
// entry and member, e.g. "modbus connector 'press-1': points[2].wordOrder: expected one of big,
// little, swapped, got \"abcd\"".
Result<ModbusConnectorConfig> ParseModbusConnectorConfig(const json::value& config);
// The checks the parser makes, for a config built in code (Start runs it).
Status ValidateModbusConnectorConfig(const ModbusConnectorConfig& config);
// Whether a member of the serve config's "connectors" list is a Modbus one ("type": "modbus").
bool IsModbusConnectorObject(const json::value& config);

// ---- status --------------------------------------------------------------------------------

struct ModbusConnectorStats {
  bool connected = false;
  uint64_t connects = 0;
  uint64_t polls = 0;          // complete poll cycles
  uint64_t readings = 0;       // readings written to history (replays included)
  uint64_t properties_patched = 0;
  uint64_t writes = 0;         // setpoint and command writes that succeeded
  uint64_t errors = 0;         // failed requests, connects, writes and refused readings
  std::string last_error = {};  // "" when none yet
  StoreForwardStats buffer = {};  // zeros without a buffer
};

// ---- the connector -------------------------------------------------------------------------

class ModbusConnector {
 public:
  ModbusConnector(ModbusConnectorConfig config, ingest::Ingestor& ingestor, twin::TwinGraph& graph,
                  const Clock& clock = SystemClock::Instance());
  ~ModbusConnector();  // Stop()
  ModbusConnector(const ModbusConnector&) = delete;
  ModbusConnector& operator=(const ModbusConnector&) = delete;

  // Validates the config, opens the buffer and starts the polling thread, which connects (and
  // reconnects, with backoff) in the background: an unreachable device is not an error.
  // Errors: InvalidArgument (config), Internal (buffer), Conflict if already started.
  Status Start();
  // Idempotent: the poll in progress finishes, queued writes fail with Unavailable, the
  // connection closes and the thread ends.
  void Stop();

  // Writes `value` (JSON number, or boolean for a bit) to the holding register(s) of the
  // setpoint (twin, property), inverse-scaled, and waits for the device's answer.
  // Errors: NotFound (no such setpoint on this connector), InvalidArgument (value not a
  // number or out of the register's range), Unavailable (not connected, stopped, or the request
  // failed: timeout, Modbus exception — the message says which).
  Status WriteSetpoint(std::string_view twin, std::string_view property, const json::value& value);
  // Carries out the command (twin, command) with `payload` when the mapping has no value.
  // Errors as WriteSetpoint.
  Status RunCommand(std::string_view twin, std::string_view command, const json::value& payload);
  bool HasSetpoint(std::string_view twin, std::string_view property) const;
  bool HasCommand(std::string_view twin, std::string_view command) const;

  ModbusConnectorStats stats() const;
  // {"name", "type": "modbus", "host", "port", "unitId", "connected", "connects", "polls",
  //  "readings", "propertiesPatched", "writes", "errors", "lastError",
  //  "buffer": {"batches", "readings", "bytes", "replayedReadings", "droppedReadings"}}
  json::object HealthJson() const;
  // Prometheus lines (doppel_modbus_*{connector="..."}) for this connector; with several use
  // RenderModbusMetrics so each family is announced once.
  void RenderMetrics(std::string& out) const;
  const ModbusConnectorConfig& config() const { return config_; }

 private:
  // A write waiting for the connector's thread.
  struct PendingWrite {
    Table table = Table::kHolding;
    int address = 0;
    std::vector<uint16_t> registers = {};  // kHolding
    bool bit = false;                 // kCoil
    // A setpoint's property point ("<twin>\n<path>"): re-reported after the write, so the
    // desired value is acknowledged even when the device already held it.
    std::string report_key = {};
    std::optional<Status> result = {};  // set by the thread
  };
  void Run();
  bool EnsureConnected();
  void PollOnce();
  void Deliver(std::vector<ingest::Reading> readings);
  void PatchProperties(const std::vector<ingest::Reading>& readings);
  void ExecuteWrites();
  Status Enqueue(PendingWrite& write);
  void Fail(std::string error);
  void Disconnect();

  // Immutable after construction.
  const ModbusConnectorConfig config_;
  ingest::Ingestor& ingestor_;
  twin::TwinGraph& graph_;
  const Clock& clock_;
  std::vector<internal::ReadBlock> blocks_;  // the poll plan

  // Owned by the polling thread while it runs.
  std::unique_ptr<internal::ModbusLink> link_;
  std::unique_ptr<StoreForward> buffer_;  // null without a buffer directory
  std::unique_ptr<ForwardingWriter> writer_;
  std::map<std::string, tsdb::Value> last_property_;  // "<twin>\n<path>" → last patched value
  std::chrono::milliseconds backoff_{0};

  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable wake_;     // a write queued, or Stop
  std::condition_variable written_;  // a write done
  bool running_ = false;                // guarded by mu_
  std::deque<PendingWrite*> writes_;    // guarded by mu_
  std::string last_error_;              // guarded by mu_

  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> connects_{0}, polls_{0}, readings_{0}, patched_{0}, writes_done_{0}, errors_{0};
};

// Appends the doppel_modbus_* families for all `connectors`, each announced once:
//   doppel_modbus_connected{connector="press-1"} 1
//   doppel_modbus_polls_total, doppel_modbus_readings_total, doppel_modbus_errors_total,
//   doppel_modbus_buffered_readings, doppel_modbus_dropped_readings_total
void RenderModbusMetrics(std::span<const ModbusConnector* const> connectors, std::string& out);

}  // namespace doppel::connect::modbus
