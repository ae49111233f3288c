#include "model/value_validation.h"

#include <gtest/gtest.h>

#include <limits>

#include "test_util.h"

namespace doppel::model {
namespace {

using testing::Json;

SchemaPtr Primitive(PrimitiveType t) {
  auto s = std::make_shared<Schema>();
  s->primitive = t;
  return s;
}

bool Valid(PrimitiveType t, std::string_view value) {
  return ValidateValue(*Primitive(t), Json(value), "p").ok();
}

TEST(ValidateValue, BooleanAndNumbers) {
  EXPECT_TRUE(Valid(PrimitiveType::kBoolean, "true"));
  EXPECT_FALSE(Valid(PrimitiveType::kBoolean, "1"));
  EXPECT_TRUE(Valid(PrimitiveType::kDouble, "1.5"));
  EXPECT_TRUE(Valid(PrimitiveType::kDouble, "3"));
  EXPECT_FALSE(Valid(PrimitiveType::kDouble, "\"1.5\""));
  EXPECT_TRUE(Valid(PrimitiveType::kFloat, "1e38"));
  EXPECT_FALSE(Valid(PrimitiveType::kFloat, "1e39"));
}

// Regression: 1e400 parsed to infinity, was stored, and read back as null.
// ParseJson itself now refuses such literals (tests/base/json_test.cc); values built in code can
// still hold infinity, so validation keeps refusing it too.
TEST(ValidateValue, DoubleOutOfRangeIsRejected) {
  const double kInfinity = std::numeric_limits<double>::infinity();
  auto valid = [](double d) {
    return ValidateValue(*Primitive(PrimitiveType::kDouble), json::value(d), "p").ok();
  };
  EXPECT_TRUE(Valid(PrimitiveType::kDouble, "1.7e308"));
  EXPECT_FALSE(valid(kInfinity));
  EXPECT_FALSE(valid(-kInfinity));
  Status st =
      ValidateValue(*Primitive(PrimitiveType::kDouble), json::value(kInfinity), "rotorSpeedLimit");
  EXPECT_NE(st.message().find("rotorSpeedLimit"), std::string::npos) << st.message();
}

TEST(ValidateValue, IntegerRanges) {
  EXPECT_TRUE(Valid(PrimitiveType::kInteger, "2147483647"));
  EXPECT_TRUE(Valid(PrimitiveType::kInteger, "-2147483648"));
  EXPECT_FALSE(Valid(PrimitiveType::kInteger, "2147483648"));
  EXPECT_FALSE(Valid(PrimitiveType::kInteger, "1.5"));
  EXPECT_TRUE(Valid(PrimitiveType::kLong, "9223372036854775807"));
  EXPECT_FALSE(Valid(PrimitiveType::kLong, "9223372036854775808"));
  EXPECT_TRUE(Valid(PrimitiveType::kUnsignedLong, "18446744073709551615"));
  EXPECT_FALSE(Valid(PrimitiveType::kUnsignedInteger, "-1"));
  EXPECT_FALSE(Valid(PrimitiveType::kByte, "128"));
  EXPECT_TRUE(Valid(PrimitiveType::kUnsignedByte, "255"));
}

TEST(ValidateValue, TemporalStrings) {
  EXPECT_TRUE(Valid(PrimitiveType::kDate, R"("2024-02-29")"));
  EXPECT_FALSE(Valid(PrimitiveType::kDate, R"("2023-02-29")"));
  EXPECT_FALSE(Valid(PrimitiveType::kDate, R"("2023-2-1")"));
  EXPECT_TRUE(Valid(PrimitiveType::kDateTime, R"("2024-05-01T12:30:00Z")"));
  EXPECT_TRUE(Valid(PrimitiveType::kDateTime, R"("2024-05-01T12:30:00.25+02:00")"));
  EXPECT_FALSE(Valid(PrimitiveType::kDateTime, R"("2024-05-01")"));
  EXPECT_TRUE(Valid(PrimitiveType::kTime, R"("12:30:00")"));
  EXPECT_TRUE(Valid(PrimitiveType::kTime, R"("23:59:59.5Z")"));
  EXPECT_FALSE(Valid(PrimitiveType::kTime, R"("24:00:00")"));
  EXPECT_TRUE(Valid(PrimitiveType::kDuration, R"("PT1H30M")"));
  EXPECT_TRUE(Valid(PrimitiveType::kDuration, R"("P1Y2M3DT4H5M6.5S")"));
  EXPECT_TRUE(Valid(PrimitiveType::kDuration, R"("P2W")"));
  EXPECT_FALSE(Valid(PrimitiveType::kDuration, R"("P")"));
  EXPECT_FALSE(Valid(PrimitiveType::kDuration, R"("PT")"));
  EXPECT_FALSE(Valid(PrimitiveType::kDuration, R"("1H")"));
  EXPECT_FALSE(Valid(PrimitiveType::kDuration, R"("PT1M1H")"));
}

TEST(ValidateValue, OtherStrings) {
  EXPECT_TRUE(Valid(PrimitiveType::kString, R"("x")"));
  EXPECT_FALSE(Valid(PrimitiveType::kString, "1"));
  EXPECT_TRUE(Valid(PrimitiveType::kUuid, R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_FALSE(Valid(PrimitiveType::kUuid, R"("123e4567")"));
  EXPECT_TRUE(Valid(PrimitiveType::kBytes, R"("aGVsbG8=")"));
  EXPECT_FALSE(Valid(PrimitiveType::kBytes, R"("a=bc")"));
}

TEST(ValidateValue, EnumByValue) {
  Schema e;
  e.kind = Schema::Kind::kEnum;
  e.enum_values = {{"Idle", json::value("idle")}, {"Running", json::value("running")}};
  EXPECT_TRUE(ValidateValue(e, Json(R"("idle")"), "mode").ok());
  Status st = ValidateValue(e, Json(R"("Idle")"), "mode");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error_code(), "ValidationFailed");
  EXPECT_EQ(st.message(),
            R"(property 'mode': value "Idle" is not one of the enum values ["idle", "running"])");
}

TEST(ValidateValue, ObjectsRejectUnknownFieldsAndCheckNested) {
  Schema o;
  o.kind = Schema::Kind::kObject;
  o.fields = {{"speed", Primitive(PrimitiveType::kInteger)},
              {"name", Primitive(PrimitiveType::kString)}};
  EXPECT_TRUE(ValidateValue(o, Json(R"({"speed": 3})"), "cfg").ok());
  Status unknown = ValidateValue(o, Json(R"({"speed": 3, "colour": "red"})"), "cfg");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("'cfg.colour'"), std::string::npos) << unknown.message();
  Status nested = ValidateValue(o, Json(R"({"speed": "fast"})"), "cfg");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.message().find("'cfg.speed'"), std::string::npos);
  EXPECT_FALSE(ValidateValue(o, Json("[]"), "cfg").ok());
}

TEST(ValidateValue, ArraysAndMaps) {
  Schema a;
  a.kind = Schema::Kind::kArray;
  a.element = Primitive(PrimitiveType::kLong);
  EXPECT_TRUE(ValidateValue(a, Json("[1, 2, 3]"), "xs").ok());
  Status bad = ValidateValue(a, Json(R"([1, "2"])"), "xs");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("'xs[1]'"), std::string::npos);

  Schema m;
  m.kind = Schema::Kind::kMap;
  m.map_value = Primitive(PrimitiveType::kBoolean);
  EXPECT_TRUE(ValidateValue(m, Json(R"({"a": true, "b": false})"), "flags").ok());
  EXPECT_FALSE(ValidateValue(m, Json(R"({"a": 1})"), "flags").ok());
  EXPECT_FALSE(ValidateValue(m, Json("true"), "flags").ok());
}

TEST(ValidateValue, Geospatial) {
  EXPECT_TRUE(Valid(PrimitiveType::kGeospatial, R"({"type": "Point", "coordinates": [1, 2]})"));
  EXPECT_FALSE(Valid(PrimitiveType::kGeospatial, R"({"type": "Point"})"));
}

}  // namespace
}  // namespace doppel::model
