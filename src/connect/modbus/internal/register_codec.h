// Register decoding and encoding for the Modbus connector: raw table entries ↔ values, per
// RegisterFormat (data type, word order, scale/offset, bit), and the poll plan that groups
// points into as few read requests as the protocol allows.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "connect/modbus/modbus_connector.h"
#include "tsdb/types.h"

namespace doppel::connect::modbus::internal {

// Registers a value of `type` takes: 2 for 32-bit types, else 1 (0 for kBool: a bit).
int RegisterCount(DataType type);

// The value of `registers` (RegisterCount(format.type) of them, as libmodbus returns them:
// host-order 16-bit words in address order): a bool for `bit`, else raw * scale + offset as a
// double.
tsdb::Value DecodeRegisters(std::span<const uint16_t> registers, const RegisterFormat& format);

// The registers that hold `value` (a JSON number; writes are whole registers, so `bit` is
// ignored): raw = (value - offset) / scale, rounded to the nearest integer for integer types. InvalidArgument when not a number or out of the type's
// range, naming `what`.
Result<std::vector<uint16_t>> EncodeRegisters(const json::value& value, const RegisterFormat& format,
                                              std::string_view what);

// One read request of the poll plan: `count` entries of `table` from `address`, and the points
// (indexes into the config's points) it feeds.
struct ReadBlock {
  Table table = Table::kHolding;
  int address = 0;
  int count = 0;
  std::vector<std::size_t> points;
};
// Groups points by table into requests of at most 125 registers / 2000 bits, joining
// neighbours up to `max_gap` unused entries apart (reading a few unused registers is cheaper
// than another round trip, but a gap may hold addresses the device refuses).
std::vector<ReadBlock> PlanReads(const std::vector<PointMapping>& points, int max_gap = 8);

// Entries a point occupies in its table (bits: 1).
int PointWidth(const PointMapping& point);

std::string_view TableName(Table table);
std::string_view DataTypeName(DataType type);
std::string_view WordOrderName(WordOrder order);

}  // namespace doppel::connect::modbus::internal
