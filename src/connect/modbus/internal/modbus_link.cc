#include "connect/modbus/internal/modbus_link.h"

#include <modbus.h>

#include <cerrno>

#include <fmt/format.h>

#include "connect/modbus/internal/register_codec.h"

namespace doppel::connect::modbus::internal {

Result<std::unique_ptr<ModbusLink>> ModbusLink::Connect(const std::string& host, int port, int unit_id,
                                                        std::chrono::milliseconds timeout) {
  modbus_t* ctx = modbus_new_tcp(host.c_str(), port);
  if (ctx == nullptr) return Status::Unavailable(fmt::format("cannot create a Modbus context for {}", host));
  std::unique_ptr<ModbusLink> link(new ModbusLink(ctx));
  const auto ms = timeout.count();
  modbus_set_response_timeout(ctx, static_cast<uint32_t>(ms / 1000), static_cast<uint32_t>(ms % 1000) * 1000);
  if (modbus_set_slave(ctx, unit_id) != 0) {
    return Status::InvalidArgument(fmt::format("unit id {}: {}", unit_id, modbus_strerror(errno)));
  }
  if (modbus_connect(ctx) != 0) {
    return Status::Unavailable(fmt::format("cannot connect to {}:{}: {}", host, port, modbus_strerror(errno)));
  }
  return link;
}

ModbusLink::~ModbusLink() {
  modbus_close(ctx_);
  modbus_free(ctx_);
}

// A Modbus exception (errno from MODBUS_ENOBASE up) is the device refusing one request; any
// other error (timeout, reset, EOF) leaves the stream in an unknown state, so the link is
// dropped and connected again.
Status ModbusLink::Error(std::string_view what, int address) {
  const int error = errno;
  if (error < MODBUS_ENOBASE) broken_ = true;
  return Status::Unavailable(fmt::format("{} at {}: {}", what, address, modbus_strerror(error)));
}

Result<std::vector<uint16_t>> ModbusLink::Read(Table table, int address, int count) {
  std::vector<uint16_t> words(static_cast<std::size_t>(count));
  int n = -1;
  if (table == Table::kCoil || table == Table::kDiscrete) {
    std::vector<uint8_t> bits(static_cast<std::size_t>(count));
    n = table == Table::kCoil ? modbus_read_bits(ctx_, address, count, bits.data())
                              : modbus_read_input_bits(ctx_, address, count, bits.data());
    for (int i = 0; i < n; ++i) words[static_cast<std::size_t>(i)] = bits[static_cast<std::size_t>(i)];
  } else {
    n = table == Table::kInput ? modbus_read_input_registers(ctx_, address, count, words.data())
                               : modbus_read_registers(ctx_, address, count, words.data());
  }
  if (n < 0) return Error(fmt::format("reading {} {} entries", count, TableName(table)), address);
  if (n != count) {
    broken_ = true;
    return Status::Unavailable(fmt::format("reading {} {} entries at {}: {} came back", count, TableName(table), address, n));
  }
  return words;
}

Status ModbusLink::WriteRegisters(int address, std::span<const uint16_t> registers) {
  const int count = static_cast<int>(registers.size());
  const int n = count == 1 ? modbus_write_register(ctx_, address, registers[0])
                           : modbus_write_registers(ctx_, address, count, registers.data());
  if (n != (count == 1 ? 1 : count)) return Error("writing holding registers", address);
  return Status::Ok();
}

Status ModbusLink::WriteCoil(int address, bool value) {
  if (modbus_write_bit(ctx_, address, value ? 1 : 0) != 1) return Error("writing coil", address);
  return Status::Ok();
}

}  // namespace doppel::connect::modbus::internal
