// Register decoding/encoding (word orders, scaling, bits) and the poll plan.
#include "connect/modbus/internal/register_codec.h"

#include <gtest/gtest.h>

#include <bit>
#include <vector>

namespace doppel::connect::modbus::internal {
namespace {

double AsDouble(const tsdb::Value& v) { return std::get<double>(v); }

RegisterFormat Format(DataType type, WordOrder order = WordOrder::kBig, double scale = 1, double offset = 0) {
  return {.type = type, .word_order = order, .scale = scale, .offset = offset};
}

// 0x11223344 laid out on the wire as bytes A=0x11 B=0x22 C=0x33 D=0x44.
TEST(ModbusCodecTest, WordOrdersOfA32BitValue) {
  const std::vector<uint16_t> abcd{0x1122, 0x3344}, cdab{0x3344, 0x1122}, dcba{0x4433, 0x2211};
  EXPECT_EQ(AsDouble(DecodeRegisters(abcd, Format(DataType::kUint32, WordOrder::kBig))), 0x11223344);
  EXPECT_EQ(AsDouble(DecodeRegisters(cdab, Format(DataType::kUint32, WordOrder::kSwapped))), 0x11223344);
  EXPECT_EQ(AsDouble(DecodeRegisters(dcba, Format(DataType::kUint32, WordOrder::kLittle))), 0x11223344);
  // The same registers read with the wrong order give another number.
  EXPECT_EQ(AsDouble(DecodeRegisters(abcd, Format(DataType::kUint32, WordOrder::kSwapped))), 0x33441122);
}

TEST(ModbusCodecTest, Float32InEveryWordOrder) {
  const uint32_t bits = std::bit_cast<uint32_t>(1502.25f);
  const auto high = static_cast<uint16_t>(bits >> 16), low = static_cast<uint16_t>(bits);
  const auto swap = [](uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); };
  EXPECT_EQ(AsDouble(DecodeRegisters(std::vector<uint16_t>{high, low}, Format(DataType::kFloat32))), 1502.25);
  EXPECT_EQ(AsDouble(DecodeRegisters(std::vector<uint16_t>{low, high}, Format(DataType::kFloat32, WordOrder::kSwapped))),
            1502.25);
  EXPECT_EQ(AsDouble(DecodeRegisters(std::vector<uint16_t>{swap(low), swap(high)},
                                     Format(DataType::kFloat32, WordOrder::kLittle))),
            1502.25);
}

TEST(ModbusCodecTest, SignedTypesAreTwosComplement) {
  EXPECT_EQ(AsDouble(DecodeRegisters(std::vector<uint16_t>{0xFFFE}, Format(DataType::kInt16))), -2);
  EXPECT_EQ(AsDouble(DecodeRegisters(std::vector<uint16_t>{0xFFFE}, Format(DataType::kUint16))), 65534);
  EXPECT_EQ(AsDouble(DecodeRegisters(std::vector<uint16_t>{0xFFFF, 0xFFFD}, Format(DataType::kInt32))), -3);
  EXPECT_EQ(AsDouble(DecodeRegisters(std::vector<uint16_t>{0xFFFD, 0xFFFF}, Format(DataType::kInt32, WordOrder::kSwapped))), -3);
}

TEST(ModbusCodecTest, ScaleAndOffsetApplyToTheRawValue) {
  // A temperature in tenths of a degree with a -40 offset: raw 655 → 25.5.
  EXPECT_DOUBLE_EQ(AsDouble(DecodeRegisters(std::vector<uint16_t>{655}, Format(DataType::kUint16, WordOrder::kBig, 0.1, -40))),
                   25.5);
  // A setpoint written as 250.7 (raw 2507) reads back as 250.7, not 250.70000000000002.
  EXPECT_EQ(AsDouble(DecodeRegisters(std::vector<uint16_t>{2507}, Format(DataType::kUint16, WordOrder::kBig, 0.1))), 250.7);
}

TEST(ModbusCodecTest, ABitOfARegisterIsABoolean) {
  RegisterFormat format = Format(DataType::kUint16, WordOrder::kBig, 10, 5);  // scale ignored with bit
  format.bit = 3;
  EXPECT_EQ(DecodeRegisters(std::vector<uint16_t>{0b1000}, format), tsdb::Value(true));
  EXPECT_EQ(DecodeRegisters(std::vector<uint16_t>{0b0111}, format), tsdb::Value(false));
  format.bit = 15;
  EXPECT_EQ(DecodeRegisters(std::vector<uint16_t>{0x8000}, format), tsdb::Value(true));
  EXPECT_EQ(DecodeRegisters(std::vector<uint16_t>{1}, Format(DataType::kBool)), tsdb::Value(true));
}

TEST(ModbusCodecTest, EncodeInvertsScalingAndRoundTrips) {
  const RegisterFormat speed = Format(DataType::kUint16, WordOrder::kBig, 0.1);
  EXPECT_EQ(EncodeRegisters(json::value(1234.5), speed, "x").value(), (std::vector<uint16_t>{12345}));
  const RegisterFormat wide = Format(DataType::kInt32, WordOrder::kSwapped, 0.01, 100);
  auto registers = EncodeRegisters(json::value(-250.25), wide, "x").value();
  EXPECT_DOUBLE_EQ(AsDouble(DecodeRegisters(registers, wide)), -250.25);
  const RegisterFormat real = Format(DataType::kFloat32, WordOrder::kLittle);
  registers = EncodeRegisters(json::value(0.5), real, "x").value();
  EXPECT_EQ(AsDouble(DecodeRegisters(registers, real)), 0.5);
}

TEST(ModbusCodecTest, EncodeRefusesValuesOutsideTheType) {
  auto too_big = EncodeRegisters(json::value(6553.6), Format(DataType::kUint16, WordOrder::kBig, 0.1), "setpoint 'speed'");
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_big.status().message().find("setpoint 'speed'"), std::string::npos);
  EXPECT_FALSE(EncodeRegisters(json::value(-1), Format(DataType::kUint32), "x").ok());
  EXPECT_FALSE(EncodeRegisters(json::value("12"), Format(DataType::kInt16), "x").ok());
  EXPECT_TRUE(EncodeRegisters(json::value(-32768), Format(DataType::kInt16), "x").ok());
}

TEST(ModbusCodecTest, PlanJoinsNeighboursPerTable) {
  std::vector<PointMapping> points{
      {.twin = "a", .path = "p0", .table = Table::kInput, .address = 0, .format = Format(DataType::kUint16)},
      {.twin = "a", .path = "p1", .table = Table::kInput, .address = 1, .format = Format(DataType::kFloat32)},
      {.twin = "a", .path = "c", .table = Table::kCoil, .address = 3, .format = Format(DataType::kBool)},
      {.twin = "a", .path = "far", .table = Table::kInput, .address = 500, .format = Format(DataType::kUint16)},
      {.twin = "a", .path = "h", .table = Table::kHolding, .address = 10, .format = Format(DataType::kInt32)},
  };
  std::vector<ReadBlock> plan = PlanReads(points);
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].table, Table::kCoil);
  EXPECT_EQ(plan[1].table, Table::kInput);
  EXPECT_EQ(plan[1].address, 0);
  EXPECT_EQ(plan[1].count, 3);  // uint16 at 0, float32 at 1..2
  EXPECT_EQ(plan[1].points, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(plan[2].address, 500);
  EXPECT_EQ(plan[3].table, Table::kHolding);
  EXPECT_EQ(plan[3].count, 2);
}

TEST(ModbusCodecTest, PlanSplitsAtTheProtocolLimit) {
  std::vector<PointMapping> points;
  for (int a = 0; a < 130; ++a) {
    points.push_back({.twin = "a", .path = "p", .table = Table::kHolding, .address = a, .format = Format(DataType::kUint16)});
  }
  std::vector<ReadBlock> plan = PlanReads(points);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].count, 125);
  EXPECT_EQ(plan[1].address, 125);
  EXPECT_EQ(plan[1].count, 5);
}

}  // namespace
}  // namespace doppel::connect::modbus::internal
