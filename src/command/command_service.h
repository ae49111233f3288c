// CommandService: the way back from a twin to its device (docs/commands.md). Two things travel
// it:
//
// - Command invocations — a DTDL Command of the twin's model (or of one of its components),
//   validated against the model, given an invocation id and a correlation id, persisted, handed
//   to a CommandTransport (MQTT in production, a fake in tests), and completed when the
//   device's response with that correlation id arrives, or timed out:
//
//     pending ──send ok──▶ delivered ──response 2xx──▶ succeeded
//        │                     │      ──response other─▶ failed
//        └──send failed──▶ failed     ──deadline──────▶ timedOut
//     (pending or delivered when the server stopped or crashed ──restart──▶ unknown)
//
// - Desired properties — a PATCH of a writable property through the twin API (inside a
//   DesiredWrite scope, see below) commits the value to the twin as before AND sends it to the
//   device with a per-twin desired version. The device's own report of the property (a
//   property message the MQTT connector applies to the twin) acknowledges it: ackCode 200 when
//   the reported value equals the desired one, 202 while waiting, 408 when no matching report
//   came within the desired timeout, 503 when the desired value could not be sent, 403 when
//   the writer was not allowed to send it (OnPatched's may_send). The twin's
//   property shows the last value written — the desired value right after the PATCH, the
//   reported one once the device reports — and DesiredMetadata() carries both, for
//   `$metadata.<property>` of GET /digitaltwins/{id}.
//
//   auto service = CommandService::Open(options, graph, events, &transport, clock);
//   (*service)->Start();                                   // worker: timeouts
//   auto inv = (*service)->Invoke({.twin_id = "kr-wtg-01", .command = "stop", .payload = "wind"});
//   auto done = (*service)->Await(inv->id);                // until succeeded/failed/timedOut
//   (*service)->Stop();
//
// Persistence: <dir>/journal.jsonl, one JSON line per change of an invocation or desired
// state (the last line per key wins), compacted at Open and whenever it grows past four times
// what it retains. Invocation records are synced before a request leaves (so every command that
// may have reached a device is on disk; the sync happens under the service's lock, so
// invocations are serialised on it — commands are rare); desired-state records and status
// changes after the first are written without a sync.
// Retained: the newest `max_invocations` invocations, every desired state of an existing twin.
//
// Threads: every public method may be called from any thread. The transport's response
// handler may be called from the transport's thread. The graph, event bus, transport and clock
// must outlive the service.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/record_journal.h"
#include "base/status.h"
#include "twin/events.h"
#include "twin/twin_graph.h"

namespace doppel::command {

enum class InvocationStatus : uint8_t { kPending, kDelivered, kSucceeded, kFailed, kTimedOut, kUnknown };
// "pending", "delivered", "succeeded", "failed", "timedOut", "unknown".
std::string_view InvocationStatusName(InvocationStatus status);
bool IsTerminal(InvocationStatus status);  // succeeded, failed, timedOut, unknown

struct Invocation {
  std::string id;              // invocation id, 32 hex digits
  std::string correlation_id;  // sent to the device and echoed in its response
  std::string twin_id;
  std::string component;  // "" = the twin's own command
  std::string command;
  json::value request = nullptr;  // the request payload (null when none)
  std::string caller;             // who invoked it ("" = unknown)
  InvocationStatus status = InvocationStatus::kPending;
  TimePoint created{};
  TimePoint deadline{};
  std::optional<TimePoint> delivered = {};
  std::optional<TimePoint> completed = {};
  std::optional<int> response_status = {};  // the device's status code
  json::value response = nullptr;           // the device's response payload
  std::string error = {};                   // why it failed without a response, or timed out
};
// {"invocationId", "correlationId", "twinId", "component"?, "command", "request", "caller"?,
//  "status", "createdTime", "deadline", "deliveredTime"?, "completedTime"?, "responseStatus"?,
//  "response", "error"?}
json::object InvocationJson(const Invocation& invocation);
Result<Invocation> InvocationFromJson(const json::value& value);

// What a transport sends to the device, and what comes back.
struct CommandRequest {
  std::string twin_id;
  std::string component = {};  // "" = the twin's own command
  std::string command;
  std::string correlation_id;
  json::value payload = nullptr;
};
struct CommandResponse {
  std::string correlation_id;
  int status = 0;
  json::value payload = nullptr;
};
struct DesiredUpdate {
  std::string twin_id;
  // The desired values: {"<property>": value, "<component>": {"<property>": value}}.
  json::object properties = {};
  uint64_t version = 0;  // per twin, increasing
};

// Carries requests and desired values to devices and responses back. Send* return once the
// message is handed over (MQTT: the broker's PUBACK): Unavailable when it could not be.
class CommandTransport {
 public:
  virtual ~CommandTransport() = default;
  virtual Status SendCommand(const CommandRequest& request) = 0;
  virtual Status SendDesired(const DesiredUpdate& update) = 0;
  // Where responses go; set once by CommandService::Open, before any Send. Called from any
  // thread; the handler does not block.
  virtual void SetResponseHandler(std::function<void(const CommandResponse&)> handler) = 0;
};

struct CommandServiceOptions {
  std::string dir = {};  // "" = memory only
  // Timeout of an invocation that asks for none. Default 30 s, as ADT's and IoT Hub's.
  std::chrono::milliseconds default_timeout{30'000};
  // Bounds of a requested timeout (longer ones are refused): an invocation holds an HTTP worker
  // while a caller waits for it. Default 1 ms .. 5 min.
  std::chrono::milliseconds max_timeout{300'000};
  // How long a desired value waits for the device's matching report before ackCode 408.
  std::chrono::milliseconds desired_timeout{30'000};
  // Invocations kept (newest first); older ones are forgotten at compaction. Default 10,000.
  std::size_t max_invocations = 10'000;
  // How often the worker looks for overdue invocations (wall time). Default 100 ms.
  std::chrono::milliseconds tick{100};
  bool sync = true;  // fsync invocation records before sending (tests turn it off)
};

struct InvokeRequest {
  std::string twin_id;
  std::string component = {};  // "" = the twin's own command
  std::string command;
  json::value payload = nullptr;  // null = no request payload
  std::optional<std::chrono::milliseconds> timeout = {};
  std::string caller = {};
};

// Per twin and writable property: what Doppel asked for and what the device said.
struct DesiredState {
  json::value desired_value = nullptr;
  uint64_t desired_version = 0;
  TimePoint desired_time{};
  json::value reported_value = nullptr;  // null until reported
  std::optional<TimePoint> reported_time = {};
  // 200 reported == desired, 202 waiting, 408 no report in time, 503 not sent, 403 not allowed
  int ack_code = 202;
  uint64_t ack_version = 0;  // the desired version the device last matched (0 = none)
  std::string ack_description = {};
};

class CommandService {
 public:
  // Loads <dir>/journal.jsonl (invocations left pending/delivered become "unknown"), compacts
  // it, subscribes to `events` (device reports). `transport` may be null: Invoke then answers
  // Unavailable, desired values are tracked with ackCode 503. Errors: Unavailable/Internal
  // (the directory or journal cannot be read or written).
  static Result<std::unique_ptr<CommandService>> Open(CommandServiceOptions options, twin::TwinGraph& graph,
                                                      twin::EventBus& events, CommandTransport* transport,
                                                      const Clock& clock = SystemClock::Instance());
  ~CommandService();  // Stop(), unsubscribes
  CommandService(const CommandService&) = delete;
  CommandService& operator=(const CommandService&) = delete;

  void Start();  // the worker that times out invocations and desired values
  void Stop();   // idempotent; wakes every Await

  // Validates (NotFound "DigitalTwinNotFound" / "ComponentNotFound" / "CommandNotFound";
  // InvalidArgument "ValidationFailed" naming the request field, or a timeout out of bounds),
  // persists the invocation as pending, sends it and returns it — delivered, or failed when the
  // transport could not take it (the error says why). Unavailable when there is no transport.
  Result<Invocation> Invoke(const InvokeRequest& request);
  // Blocks until the invocation is terminal (or the service stops); returns it. The deadline is
  // enforced by the worker (Start) or ExpireDue. NotFound "InvocationNotFound".
  Result<Invocation> Await(std::string_view invocation_id);
  // NotFound "InvocationNotFound" when no invocation of that id belongs to `twin_id`.
  Result<Invocation> Find(std::string_view twin_id, std::string_view invocation_id) const;
  // The twin's invocations, newest first, at most `limit`.
  std::vector<Invocation> List(std::string_view twin_id, std::size_t limit) const;

  // Marks invocations and desired values past their deadline (the worker calls it; tests with
  // a ManualClock call it directly).
  void ExpireDue();

  // Desired properties. A DesiredWrite is a scope on the calling thread: graph updates that
  // thread publishes while it is open are Doppel's own writes, not device reports.
  class DesiredWrite {
   public:
    DesiredWrite();
    ~DesiredWrite();
    DesiredWrite(const DesiredWrite&) = delete;
    DesiredWrite& operator=(const DesiredWrite&) = delete;
  };
  // After a committed JSON Patch of the twin (paths relative to `component` when not ""):
  // the writable properties it touched get a new desired version with their values from the
  // twin as it is now, and are sent. A patch touching none is ignored. Transport failures
  // are recorded (ackCode 503), not returned: the twin's write stands. `may_send` not OK (the
  // caller may write the twin but not invokeCommands on it): nothing is sent, ackCode 403.
  void OnPatched(std::string_view twin_id, std::string_view component, const json::value& patch,
                 const Status& may_send = Status::Ok());
  // The twin's tracked writable properties, by "<property>" or "<component>/<property>".
  std::map<std::string, DesiredState> DesiredStates(std::string_view twin_id) const;
  // Merges DesiredStates into the twin document's $metadata (component properties into the
  // component's $metadata), the shape GET /digitaltwins/{id} answers:
  //   "$metadata": {"rotorSpeedLimit": {"lastUpdateTime", "desiredValue", "desiredVersion",
  //     "desiredTime", "reportedValue"?, "reportedTime"?, "ackCode", "ackVersion",
  //     "ackDescription"}}
  void AddDesiredMetadata(std::string_view twin_id, json::object& twin_doc) const;

  // Counters for /metrics (doppel_command_*).
  void RenderMetrics(std::string& out) const;

 private:
  CommandService(CommandServiceOptions options, twin::TwinGraph& graph, twin::EventBus& events,
                 CommandTransport* transport, const Clock& clock);
  Status Load();
  void OnResponse(const CommandResponse& response);
  void OnGraphEvent(const twin::GraphEvent& event);
  // Writes the record of `invocation` (lines_ grows; compaction when due). mu_ held.
  void PersistLocked(const Invocation& invocation, bool sync);
  void PersistDesiredLocked(const std::string& key, const DesiredState& state);
  void CompactIfDueLocked();
  Status CompactLocked();
  void CompleteLocked(Invocation& invocation, InvocationStatus status);
  void Run();  // worker

  // Immutable after construction.
  const CommandServiceOptions options_;
  twin::TwinGraph& graph_;
  twin::EventBus& events_;
  CommandTransport* const transport_;
  const Clock& clock_;
  twin::EventBus::SubscriptionId subscription_ = 0;

  mutable std::mutex mu_;
  std::condition_variable changed_;  // an invocation completed, or Stop
  // Guarded by mu_.
  std::map<std::string, Invocation, std::less<>> invocations_;  // by id
  std::map<std::string, std::string, std::less<>> by_correlation_;  // open ones only
  std::map<std::string, DesiredState, std::less<>> desired_;  // "<twin>\n<path>" → state
  std::map<std::string, uint64_t, std::less<>> desired_versions_;  // twin → last version
  std::unique_ptr<RecordJournal> journal_;  // null = memory only
  uint64_t counts_[6] = {};  // completed invocations by status
  uint64_t invoked_ = 0;
  uint64_t desired_sent_ = 0;
  uint64_t desired_send_failed_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace doppel::command
