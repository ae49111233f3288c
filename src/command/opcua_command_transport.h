// The OPC UA command transport: carries a twin's commands and desired properties to an OPC UA
// server, as one OPC UA connector's config maps them (docs/opcua.md, "Commands and setpoints").
//
//   - SendCommand: the command's mapping in "commands" is a Method call (the payload becomes the
//     input arguments) or a write of the payload to a node. The call runs on the transport's
//     worker thread; its outcome reaches the response handler with status 200 and the output
//     arguments (none: null, one: that value, several: an array) on Good, 500 and
//     {"error": "<StatusCode name and detail>"} otherwise, 400 when the payload does not fit
//     the arguments.
//   - SendDesired: each desired property of the twin that a "nodes" entry maps with
//     "write": true is written to its node (converted to the node's current DataType), in the
//     caller's thread. The connector's subscription to that node then reports the value and
//     acknowledges it (docs/commands.md, desired properties).
//
// It has its own session (the connector's is for data), connected in the background with
// backoff: a send while it is not connected fails with Unavailable.
//
//   auto transport = OpcUaCommandTransport::Create(config).value();
//   routes.Add(transport.get(), [t = transport.get()](std::string_view twin) { return t->Serves(twin); });
//   transport->Start();  ...  transport->Stop();
//
// Threads: Send* and Serves from any thread; the response handler runs on the worker thread.
// Start/Stop from one controlling thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/json.h"
#include "base/status.h"
#include "command/command_service.h"
#include "connect/opcua/opcua_client.h"
#include "connect/opcua/opcua_connector.h"

namespace doppel::command {

class OpcUaCommandTransport final : public CommandTransport {
 public:
  // InvalidArgument for an invalid config (ValidateOpcUaConnectorConfig).
  static Result<std::unique_ptr<OpcUaCommandTransport>> Create(connect::opcua::OpcUaConnectorConfig config);
  ~OpcUaCommandTransport() override;  // Stop()

  // Starts the threads: one connects (and keeps retrying until it has), one carries out calls.
  Status Start();
  // Idempotent. Commands still queued get a 503 response ("the server is stopping").
  void Stop();
  bool connected() const;
  // Whether the config maps a command or a writable property of this twin.
  bool Serves(std::string_view twin_id) const;
  // doppel_opcua_command_transport_connected{connector=...} (gauge),
  // doppel_opcua_commands_total{connector=...,outcome="ok"|"failed"}.
  void RenderMetrics(std::string& out) const;

  Status SendCommand(const CommandRequest& request) override;
  Status SendDesired(const DesiredUpdate& update) override;
  void SetResponseHandler(std::function<void(const CommandResponse&)> handler) override;

 private:
  explicit OpcUaCommandTransport(connect::opcua::OpcUaConnectorConfig config);
  void Work();  // the worker thread
  CommandResponse Execute(const CommandRequest& request, const connect::opcua::OpcUaCommandMapping& mapping);
  Result<json::value> Call(const connect::opcua::OpcUaCommandMapping& mapping, const json::value& payload);
  // Writes `value`, converted to the node's current DataType.
  Status WriteJson(const connect::opcua::NodeId& node, const json::value& value);
  const connect::opcua::OpcUaCommandMapping* FindCommand(const CommandRequest& request) const;
  const connect::opcua::OpcUaNodeMapping* FindWritable(std::string_view twin, std::string_view path) const;
  Status WriteDesired(std::string_view twin, std::string_view path, const json::value& value);

  // Immutable after Create.
  const connect::opcua::OpcUaConnectorConfig config_;
  std::unique_ptr<connect::opcua::OpcUaClient> client_;
  std::function<void(const CommandResponse&)> handler_;  // set before Start

  std::thread connect_thread_;
  std::thread worker_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;                 // guarded by mu_
  bool stopping_ = false;                // guarded by mu_
  std::deque<CommandRequest> queue_;     // guarded by mu_
  std::atomic<uint64_t> succeeded_{0};
  std::atomic<uint64_t> failed_{0};
};

}  // namespace doppel::command
