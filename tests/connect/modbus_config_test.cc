// ParseModbusConnectorConfig: the documented shape, defaults, and errors that name the entry
// and member.
#include <gtest/gtest.h>

#include "connect/modbus/modbus_connector.h"

namespace doppel::connect::modbus {
namespace {

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kFull = R"({
  "type": "modbus", "name": "press-1", "host": "127.0.0.1", "port": 1502, "unitId": 7,
  "timeoutMs": 250, "pollIntervalMs": 500, "bufferMaxBytes": 4096,
  "points": [
    {"twin": "press-1", "telemetry": "spindleSpeed", "table": "input", "address": 1, "type": "float32",
     "wordOrder": "swapped", "scale": 2, "offset": -1},
    {"twin": "press-1", "telemetry": "doorOpen", "table": "holding", "address": 5, "bit": 4},
    {"twin": "press-1", "property": "running", "table": "coil", "address": 0, "bit": null}
  ],
  "setpoints": [{"twin": "press-1", "property": "targetSpeed", "address": 10, "type": "uint16", "scale": 0.1}],
  "commands": [{"twin": "press-1", "command": "reset", "table": "coil", "address": 3, "value": true},
               {"twin": "press-1", "command": "setMode", "table": "holding", "address": 20, "type": "int16"}]
})";

TEST(ModbusConfigTest, ParsesTheDocumentedShape) {
  auto parsed = ParseModbusConnectorConfig(J(kFull));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ModbusConnectorConfig& c = *parsed;
  EXPECT_EQ(c.name, "press-1");
  EXPECT_EQ(c.port, 1502);
  EXPECT_EQ(c.unit_id, 7);
  EXPECT_EQ(c.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(c.poll_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(c.buffer_max_bytes, 4096u);
  ASSERT_EQ(c.points.size(), 3u);
  EXPECT_EQ(c.points[0].table, Table::kInput);
  EXPECT_EQ(c.points[0].format.type, DataType::kFloat32);
  EXPECT_EQ(c.points[0].format.word_order, WordOrder::kSwapped);
  EXPECT_EQ(c.points[0].format.scale, 2);
  EXPECT_EQ(c.points[0].format.offset, -1);
  EXPECT_FALSE(c.points[0].property);
  EXPECT_EQ(c.points[1].format.type, DataType::kUint16);  // the default for registers
  EXPECT_EQ(c.points[1].format.bit, 4);
  EXPECT_EQ(c.points[2].format.type, DataType::kBool);  // the default for coils
  EXPECT_TRUE(c.points[2].property);
  EXPECT_EQ(c.points[2].path, "running");
  ASSERT_EQ(c.setpoints.size(), 1u);
  EXPECT_EQ(c.setpoints[0].format.scale, 0.1);
  ASSERT_EQ(c.commands.size(), 2u);
  EXPECT_EQ(c.commands[0].value, json::value(true));
  EXPECT_TRUE(c.commands[1].value.is_null());  // from the invocation's payload
}

TEST(ModbusConfigTest, Defaults) {
  auto parsed = ParseModbusConnectorConfig(
      J(R"({"type": "modbus", "name": "m", "host": "plc", "points": [{"twin": "t", "telemetry": "x", "address": 0}]})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->port, 502);
  EXPECT_EQ(parsed->unit_id, 1);
  EXPECT_EQ(parsed->timeout, std::chrono::milliseconds(1000));
  EXPECT_EQ(parsed->poll_interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(parsed->points[0].table, Table::kHolding);
  EXPECT_EQ(parsed->points[0].format.type, DataType::kUint16);
}

// Replaces `member` of entry `list[index]` (or of the top object when list is "") in kFull and
// returns the parser's error message.
std::string ErrorWith(std::string_view list, int index, std::string_view member, json::value value) {
  json::value config = J(kFull);
  json::object* target = &config.as_object();
  if (!list.empty()) target = &target->at(list).as_array().at(static_cast<std::size_t>(index)).as_object();
  if (value.is_null() && member != "bit") {
    target->erase(member);
  } else {
    (*target)[member] = std::move(value);
  }
  auto parsed = ParseModbusConnectorConfig(config);
  EXPECT_FALSE(parsed.ok());
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(ModbusConfigTest, ErrorsNameTheEntryAndMember) {
  EXPECT_EQ(ErrorWith("points", 0, "wordOrder", "abcd"),
            "modbus connector 'press-1': points[0].wordOrder: expected one of big, swapped, little, got \"abcd\"");
  EXPECT_EQ(ErrorWith("points", 1, "address", 70000),
            "modbus connector 'press-1': points[1].address: expected an integer from 0 to 65535, got 70000");
  EXPECT_EQ(ErrorWith("points", 1, "bit", 16),
            "modbus connector 'press-1': points[1].bit: expected an integer from 0 to 15, got 16");
  EXPECT_EQ(ErrorWith("points", 0, "tabel", "input"),
            "modbus connector 'press-1': points[0].tabel: unknown member (known: twin, telemetry, property, table, "
            "address, type, wordOrder, scale, offset, bit)");
  EXPECT_EQ(ErrorWith("setpoints", 0, "scale", 0), "modbus connector 'press-1': setpoints[0].scale: must not be 0");
  EXPECT_EQ(ErrorWith("commands", 0, "value", 1),
            "modbus connector 'press-1': commands[0].value: a coil takes true or false, got number");
  EXPECT_EQ(ErrorWith("", 0, "host", nullptr), "modbus connector 'press-1': host: is required");
  EXPECT_EQ(ErrorWith("", 0, "unitId", 300),
            "modbus connector 'press-1': unitId: expected an integer from 0 to 255, got 300");
  EXPECT_EQ(ErrorWith("", 0, "type", "opcua"), "modbus connector 'press-1': type: expected \"modbus\", got \"opcua\"");
}

TEST(ModbusConfigTest, RefusesMismatchedTypesAndTables) {
  EXPECT_NE(ErrorWith("points", 2, "type", "uint16").find("points[2].type: coils and discrete inputs are \"bool\""),
            std::string::npos);
  EXPECT_NE(ErrorWith("points", 1, "type", "bool").find("points[1].type: \"bool\" is for coils"), std::string::npos);
  EXPECT_NE(ErrorWith("points", 1, "wordOrder", "big").find("points[1].wordOrder: applies to 32-bit types only"),
            std::string::npos);
  EXPECT_NE(ErrorWith("points", 0, "bit", 2).find("points[0].bit: applies to a 16-bit register"), std::string::npos);
  EXPECT_NE(ErrorWith("setpoints", 0, "table", "coil").find("setpoints[0].table: must be holding here"),
            std::string::npos);
  EXPECT_NE(ErrorWith("points", 0, "property", "p").find("points[0].telemetry: exactly one of telemetry and property"),
            std::string::npos);
  EXPECT_NE(ErrorWith("commands", 1, "value", 70000).find("commands[1].value"), std::string::npos);
}

TEST(ModbusConfigTest, RefusesDuplicateSetpointsAndAnEmptyConnector) {
  json::value config = J(kFull);
  auto& setpoints = config.as_object()["setpoints"].as_array();
  setpoints.push_back(setpoints[0]);
  auto parsed = ParseModbusConnectorConfig(config);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("setpoints[1]: a second setpoint"), std::string::npos);
  parsed = ParseModbusConnectorConfig(J(R"({"type": "modbus", "name": "m", "host": "plc"})"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("at least one point"), std::string::npos);
}

}  // namespace
}  // namespace doppel::connect::modbus
