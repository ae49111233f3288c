#include "command/routing_command_transport.h"

#include <fmt/format.h>

namespace doppel::command {

void RoutingCommandTransport::Add(CommandTransport* transport, Serves serves) {
  routes_.emplace_back(transport, std::move(serves));
}

void RoutingCommandTransport::SetFallback(CommandTransport* transport) { fallback_ = transport; }

CommandTransport* RoutingCommandTransport::For(std::string_view twin_id) const {
  for (const auto& [transport, serves] : routes_) {
    if (serves(twin_id)) return transport;
  }
  return fallback_;
}

Status RoutingCommandTransport::SendCommand(const CommandRequest& request) {
  CommandTransport* transport = For(request.twin_id);
  if (transport == nullptr) {
    return Status::Unavailable(fmt::format("no connector carries commands for twin '{}'", request.twin_id));
  }
  return transport->SendCommand(request);
}

Status RoutingCommandTransport::SendDesired(const DesiredUpdate& update) {
  CommandTransport* transport = For(update.twin_id);
  if (transport == nullptr) {
    return Status::Unavailable(fmt::format("no connector carries desired values for twin '{}'", update.twin_id));
  }
  return transport->SendDesired(update);
}

void RoutingCommandTransport::SetResponseHandler(std::function<void(const CommandResponse&)> handler) {
  for (const auto& [transport, serves] : routes_) transport->SetResponseHandler(handler);
  if (fallback_ != nullptr) fallback_->SetResponseHandler(std::move(handler));
}

}  // namespace doppel::command
