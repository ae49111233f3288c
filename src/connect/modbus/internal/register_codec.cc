#include "connect/modbus/internal/register_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace doppel::connect::modbus::internal {
namespace {

uint16_t Swap16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

// The 32-bit value in (r0, r1) read in address order, per word order (docs/modbus.md).
uint32_t Join32(uint16_t r0, uint16_t r1, WordOrder order) {
  switch (order) {
    case WordOrder::kBig: return (uint32_t{r0} << 16) | r1;
    case WordOrder::kSwapped: return (uint32_t{r1} << 16) | r0;
    case WordOrder::kLittle: return (uint32_t{Swap16(r1)} << 16) | Swap16(r0);
  }
  return 0;
}

std::vector<uint16_t> Split32(uint32_t v, WordOrder order) {
  const auto high = static_cast<uint16_t>(v >> 16), low = static_cast<uint16_t>(v);
  switch (order) {
    case WordOrder::kBig: return {high, low};
    case WordOrder::kSwapped: return {low, high};
    case WordOrder::kLittle: return {Swap16(low), Swap16(high)};
  }
  return {};
}

double RawValue(std::span<const uint16_t> r, const RegisterFormat& format) {
  switch (format.type) {
    case DataType::kBool: return r[0] != 0 ? 1 : 0;
    case DataType::kInt16: return static_cast<int16_t>(r[0]);
    case DataType::kUint16: return r[0];
    case DataType::kInt32: return static_cast<int32_t>(Join32(r[0], r[1], format.word_order));
    case DataType::kUint32: return Join32(r[0], r[1], format.word_order);
    case DataType::kFloat32: return std::bit_cast<float>(Join32(r[0], r[1], format.word_order));
  }
  return 0;
}

// [min, max] of an integer type's raw value.
std::pair<double, double> RawRange(DataType type) {
  switch (type) {
    case DataType::kInt16: return {-32768.0, 32767.0};
    case DataType::kUint16: return {0.0, 65535.0};
    case DataType::kInt32: return {-2147483648.0, 2147483647.0};
    case DataType::kUint32: return {0.0, 4294967295.0};
    default: return {0.0, 1.0};
  }
}

}  // namespace

int RegisterCount(DataType type) {
  switch (type) {
    case DataType::kBool: return 0;
    case DataType::kInt32:
    case DataType::kUint32:
    case DataType::kFloat32: return 2;
    default: return 1;
  }
}

tsdb::Value DecodeRegisters(std::span<const uint16_t> registers, const RegisterFormat& format) {
  if (format.bit) return ((registers[0] >> *format.bit) & 1) != 0;
  if (format.type == DataType::kBool) return registers[0] != 0;
  const double raw = RawValue(registers, format);
  if (format.scale == 1 && format.offset == 0) return raw;
  // Snap to 15 significant digits: 2507 * 0.1 is 250.70000000000002 in binary, and a setpoint
  // written as 250.7 must read back as 250.7 for the desired value's acknowledgement.
  return std::strtod(fmt::format("{:.15g}", raw * format.scale + format.offset).c_str(), nullptr);
}

Result<std::vector<uint16_t>> EncodeRegisters(const json::value& value, const RegisterFormat& format,
                                              std::string_view what) {
  if (!value.is_number()) {
    return Status::InvalidArgument(fmt::format("{}: expected a number, got {}", what, JsonTypeName(value)));
  }
  const double raw = (value.to_number<double>() - format.offset) / format.scale;
  if (format.type == DataType::kFloat32) {
    if (!std::isfinite(raw) || std::abs(raw) > 3.4028234663852886e38) {
      return Status::InvalidArgument(fmt::format("{}: {} does not fit a float32", what, raw));
    }
    return Split32(std::bit_cast<uint32_t>(static_cast<float>(raw)), format.word_order);
  }
  const double rounded = std::round(raw);
  const auto [min, max] = RawRange(format.type);
  if (!std::isfinite(rounded) || rounded < min || rounded > max) {
    return Status::InvalidArgument(fmt::format("{}: raw value {} is outside {}'s range {} to {}", what, rounded,
                                               DataTypeName(format.type), min, max));
  }
  if (RegisterCount(format.type) == 1) {
    return std::vector<uint16_t>{static_cast<uint16_t>(static_cast<int32_t>(rounded))};
  }
  return Split32(static_cast<uint32_t>(static_cast<int64_t>(rounded)), format.word_order);
}

int PointWidth(const PointMapping& point) { return std::max(1, RegisterCount(point.format.type)); }

std::vector<ReadBlock> PlanReads(const std::vector<PointMapping>& points, int max_gap) {
  std::vector<std::size_t> order(points.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(points[a].table, points[a].address) < std::pair(points[b].table, points[b].address);
  });
  std::vector<ReadBlock> blocks;
  for (std::size_t i : order) {
    const PointMapping& p = points[i];
    const int limit = p.table == Table::kCoil || p.table == Table::kDiscrete ? 2000 : 125;
    const int end = p.address + PointWidth(p);
    if (!blocks.empty()) {
      ReadBlock& last = blocks.back();
      const int last_end = last.address + last.count;
      if (last.table == p.table && p.address <= last_end + max_gap && end - last.address <= limit) {
        last.count = std::max(last_end, end) - last.address;
        last.points.push_back(i);
        continue;
      }
    }
    blocks.push_back({.table = p.table, .address = p.address, .count = end - p.address, .points = {i}});
  }
  return blocks;
}

std::string_view TableName(Table table) {
  switch (table) {
    case Table::kCoil: return "coil";
    case Table::kDiscrete: return "discrete";
    case Table::kInput: return "input";
    case Table::kHolding: return "holding";
  }
  return "?";
}

std::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kBool: return "bool";
    case DataType::kInt16: return "int16";
    case DataType::kUint16: return "uint16";
    case DataType::kInt32: return "int32";
    case DataType::kUint32: return "uint32";
    case DataType::kFloat32: return "float32";
  }
  return "?";
}

std::string_view WordOrderName(WordOrder order) {
  switch (order) {
    case WordOrder::kBig: return "big";
    case WordOrder::kSwapped: return "swapped";
    case WordOrder::kLittle: return "little";
  }
  return "?";
}

}  // namespace doppel::connect::modbus::internal
