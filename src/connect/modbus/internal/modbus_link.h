// ModbusLink: one libmodbus TCP connection (modbus_t), owned by one thread. It turns libmodbus'
// int-and-errno results into Status, so nothing of libmodbus leaks past the connector.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "connect/modbus/modbus_connector.h"

struct _modbus;

namespace doppel::connect::modbus::internal {

class ModbusLink {
 public:
  // Connects to host:port with the unit id and per-request timeout. Unavailable with
  // libmodbus' reason when the device cannot be reached.
  static Result<std::unique_ptr<ModbusLink>> Connect(const std::string& host, int port, int unit_id,
                                                     std::chrono::milliseconds timeout);
  ~ModbusLink();
  ModbusLink(const ModbusLink&) = delete;
  ModbusLink& operator=(const ModbusLink&) = delete;

  // Reads `count` entries of `table` from `address`; registers as host-order words, bits as 0/1
  // words. Errors: Unavailable naming the request and libmodbus' reason; broken() tells
  // whether the connection is gone (a timeout or a socket error) rather than the device
  // answering with a Modbus exception.
  Result<std::vector<uint16_t>> Read(Table table, int address, int count);
  Status WriteRegisters(int address, std::span<const uint16_t> registers);
  Status WriteCoil(int address, bool value);
  bool broken() const { return broken_; }

 private:
  explicit ModbusLink(_modbus* ctx) : ctx_(ctx) {}
  Status Error(std::string_view what, int address);

  _modbus* ctx_;
  bool broken_ = false;
};

}  // namespace doppel::connect::modbus::internal
