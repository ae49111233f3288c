#include "command/modbus_command_transport.h"

#include <algorithm>
#include <optional>
#include <utility>

#include <fmt/format.h>

namespace doppel::command {

ModbusCommandTransport::ModbusCommandTransport(ForEachConnector for_each, CommandTransport* fallback)
    : for_each_(std::move(for_each)), fallback_(fallback) {}

bool ModbusCommandTransport::Serves(std::string_view twin_id) const {
  bool serves = false;
  for_each_([&](connect::modbus::ModbusConnector& connector) {
    const connect::modbus::ModbusConnectorConfig& config = connector.config();
    serves = std::any_of(config.setpoints.begin(), config.setpoints.end(), [&](const auto& s) { return s.twin == twin_id; }) ||
             std::any_of(config.commands.begin(), config.commands.end(), [&](const auto& c) { return c.twin == twin_id; });
    return serves;
  });
  return serves;
}

void ModbusCommandTransport::SetResponseHandler(std::function<void(const CommandResponse&)> handler) {
  if (fallback_ != nullptr) fallback_->SetResponseHandler(handler);
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

Status ModbusCommandTransport::SendCommand(const CommandRequest& request) {
  const std::string name = request.component.empty() ? request.command
                                                      : fmt::format("{}/{}", request.component, request.command);
  std::optional<Status> written;
  for_each_([&](connect::modbus::ModbusConnector& connector) {
    if (!connector.HasCommand(request.twin_id, name)) return false;
    written = connector.RunCommand(request.twin_id, name, request.payload);
    return true;
  });
  if (!written) {
    if (fallback_ != nullptr) return fallback_->SendCommand(request);
    return Status::Unavailable(fmt::format("no Modbus connector maps command '{}' of twin '{}'", name, request.twin_id));
  }
  // Not connected: not delivered, the invocation fails at once. Anything else reached the
  // device (or timed out on the way), so it is delivered with the device's verdict.
  if (!written->ok() && written->message().find("is not connected") != std::string_view::npos) return *written;
  CommandResponse response{.correlation_id = request.correlation_id, .status = written->ok() ? 200 : 500};
  if (!written->ok()) response.payload = json::object{{"error", written->message()}};
  std::function<void(const CommandResponse&)> handler;
  {
    std::lock_guard lock(mu_);
    handler = handler_;
  }
  if (handler) handler(response);
  return Status::Ok();
}

std::optional<Status> ModbusCommandTransport::WriteSetpoint(const std::string& twin, const std::string& property,
                                                            const json::value& value) {
  std::optional<Status> written;
  for_each_([&](connect::modbus::ModbusConnector& connector) {
    if (!connector.HasSetpoint(twin, property)) return false;
    written = connector.WriteSetpoint(twin, property, value);
    return true;
  });
  return written;
}

Status ModbusCommandTransport::SendDesired(const DesiredUpdate& update) {
  DesiredUpdate rest{.twin_id = update.twin_id, .version = update.version};
  Status first_error = Status::Ok();
  auto record = [&](const Status& s) {
    if (!s.ok() && first_error.ok()) first_error = s;
  };
  for (const auto& [key, value] : update.properties) {
    const std::string property(key);
    if (auto written = WriteSetpoint(update.twin_id, property, value)) {
      record(*written);
      continue;
    }
    // A component's properties: {"<component>": {"<property>": value}}.
    if (const json::object* component = value.if_object()) {
      json::object unmapped;
      for (const auto& [inner, inner_value] : *component) {
        auto written = WriteSetpoint(update.twin_id, fmt::format("{}/{}", property, std::string_view(inner)), inner_value);
        if (written) {
          record(*written);
        } else {
          unmapped[inner] = inner_value;
        }
      }
      if (!unmapped.empty()) rest.properties[key] = std::move(unmapped);
      continue;
    }
    rest.properties[key] = value;
  }
  if (!rest.properties.empty()) {
    if (fallback_ != nullptr) {
      record(fallback_->SendDesired(rest));
    } else {
      record(Status::Unavailable(fmt::format("no Modbus setpoint for {} of twin '{}'", ToJson(rest.properties), update.twin_id)));
    }
  }
  return first_error;
}

}  // namespace doppel::command
