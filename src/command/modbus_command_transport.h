// The Modbus command transport: carries commands and desired properties to devices through the
// server's Modbus connectors (docs/modbus.md, "Setpoints and commands"):
//
// - a desired property (a PATCH of a writable twin property) whose (twin, property) has a
//   connector "setpoints" entry is written to that holding register, inverse-scaled;
// - a command whose (twin, command) has a connector "commands" entry writes its coil or
//   register; the response handler gets status 200 when the device acknowledged the write and
//   500 (payload {"error": "..."}) when it answered with an exception or timed out.
//
// Anything no Modbus connector maps goes to `fallback` when given; without one it fails
// (Unavailable, naming what is unmapped). In the server it is a route of the
// RoutingCommandTransport for the twins it Serves:
//
//   ModbusCommandTransport modbus([&](const auto& visit) { registry.ForEachModbusConnector(visit); });
//   routes.Add(&modbus, [&](std::string_view twin) { return modbus.Serves(twin); });
//
// The write is synchronous (the connector's thread does it between polls, and SendCommand
// waits): the response reaches the handler before SendCommand returns, which CommandService
// allows. A desired value is acknowledged (ackCode 200) when a "property" point of a connector
// reads the same value back from the device.
//
// Threads: any. The connectors reached through `for_each` and the fallback must outlive it.
#pragma once

#include <functional>
#include <mutex>

#include "command/command_service.h"
#include "connect/modbus/modbus_connector.h"

namespace doppel::command {

class ModbusCommandTransport final : public CommandTransport {
 public:
  // Calls `visit` with each Modbus connector of the server, while keeping it alive, until
  // `visit` returns true.
  using ConnectorVisitor = std::function<bool(connect::modbus::ModbusConnector&)>;
  using ForEachConnector = std::function<void(const ConnectorVisitor& visit)>;

  explicit ModbusCommandTransport(ForEachConnector for_each, CommandTransport* fallback = nullptr);

  // Whether some connector maps a setpoint or command of `twin_id` (for
  // RoutingCommandTransport::Add).
  bool Serves(std::string_view twin_id) const;

  Status SendCommand(const CommandRequest& request) override;
  Status SendDesired(const DesiredUpdate& update) override;
  void SetResponseHandler(std::function<void(const CommandResponse&)> handler) override;

 private:
  // The status of (twin, property)'s setpoint write, or nullopt when no connector maps it.
  std::optional<Status> WriteSetpoint(const std::string& twin, const std::string& property, const json::value& value);

  const ForEachConnector for_each_;
  CommandTransport* const fallback_;
  std::mutex mu_;
  std::function<void(const CommandResponse&)> handler_;  // guarded by mu_
};

}  // namespace doppel::command
