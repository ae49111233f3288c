// One CommandTransport over several (docs/commands.md, "Several connectors"): each twin's
// commands and desired values go to the transport of the connector that serves the twin — an
// OPC UA or Modbus connector for the twins its mapping names, MQTT (topic templates work for
// any twin) for the rest.
//
//   RoutingCommandTransport routes;
//   routes.Add(opcua.get(), [&](std::string_view twin) { return opcua->Serves(twin); });
//   routes.SetFallback(mqtt.get());
//   CommandService::Open(options, graph, events, &routes, clock);
//
// Routes are tried in the order they were added; the first that serves the twin takes it.
// A twin no route serves and no fallback takes is refused: Unavailable "no connector carries
// commands for twin 'x'".
//
// Thread-safety: set up (Add, SetFallback) before the CommandService is opened; then every
// method may be called from any thread.
#pragma once

#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "command/command_service.h"

namespace doppel::command {

class RoutingCommandTransport final : public CommandTransport {
 public:
  using Serves = std::function<bool(std::string_view twin_id)>;
  void Add(CommandTransport* transport, Serves serves);
  void SetFallback(CommandTransport* transport);
  bool empty() const { return routes_.empty() && fallback_ == nullptr; }

  Status SendCommand(const CommandRequest& request) override;
  Status SendDesired(const DesiredUpdate& update) override;
  // Every transport's responses reach `handler` (correlation ids are unique across them).
  void SetResponseHandler(std::function<void(const CommandResponse&)> handler) override;

 private:
  CommandTransport* For(std::string_view twin_id) const;

  std::vector<std::pair<CommandTransport*, Serves>> routes_;
  CommandTransport* fallback_ = nullptr;
};

}  // namespace doppel::command
