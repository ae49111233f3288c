// The OPC UA connector's config parser (docs/opcua.md, "Configuration") and the JSON ↔ Variant
// conversions shared with the command transport.
#include <gtest/gtest.h>

#include <string>

#include "base/json.h"
#include "connect/opcua/opcua_connector.h"

namespace doppel::connect::opcua {
namespace {

json::value Json(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kExample = R"({
  "type": "opcua", "name": "press-1", "endpoint": "opc.tcp://127.0.0.1:4840/doppel",
  "user": "operator", "password": "secret", "publishingIntervalMs": 250, "requestTimeoutMs": 2000,
  "nodes": [
    {"node": "ns=1;s=Temperature", "twin": "cnc1", "telemetry": "spindleTemperature", "samplingIntervalMs": 100, "deadband": 0.1},
    {"browsePath": "Machine/1:Setpoint", "twin": "cnc1", "property": "targetSpeed", "write": true, "queueSize": 1},
    {"node": "ns=1;s=Spectrum", "twin": "cnc1", "telemetry": "vibration", "index": 3}
  ],
  "commands": [
    {"twin": "cnc1", "command": "reset", "method": {"object": "ns=1;s=Machine", "method": "ns=1;s=Reset", "inputs": ["String"]}},
    {"twin": "cnc1", "command": "setSpeed", "write": {"node": "ns=1;s=Setpoint"}}
  ]})";

// The error of parsing `kExample` with `edit` applied to its JSON object.
std::string ErrorOf(const std::function<void(json::object&)>& edit) {
  json::value config = Json(kExample);
  edit(config.get_object());
  Result<OpcUaConnectorConfig> parsed = ParseOpcUaConnectorConfig(config);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? "" : parsed.status().message();
}

json::object& NodeAt(json::object& config, std::size_t i) { return config["nodes"].as_array()[i].as_object(); }

TEST(OpcUaConfigTest, ParsesEveryKey) {
  Result<OpcUaConnectorConfig> config = ParseOpcUaConnectorConfig(Json(kExample));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->name, "press-1");
  EXPECT_EQ(config->endpoint, "opc.tcp://127.0.0.1:4840/doppel");
  EXPECT_EQ(config->user, "operator");
  EXPECT_EQ(config->password, "secret");
  EXPECT_EQ(config->publishing_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(config->request_timeout, std::chrono::milliseconds(2000));
  ASSERT_EQ(config->nodes.size(), 3u);
  const OpcUaNodeMapping& temperature = config->nodes[0];
  EXPECT_EQ(temperature.node, "ns=1;s=Temperature");
  EXPECT_EQ(temperature.twin, "cnc1");
  EXPECT_EQ(temperature.telemetry, "spindleTemperature");
  EXPECT_EQ(temperature.sampling_interval, std::chrono::milliseconds(100));
  EXPECT_DOUBLE_EQ(temperature.deadband, 0.1);
  EXPECT_FALSE(temperature.write);
  const OpcUaNodeMapping& setpoint = config->nodes[1];
  EXPECT_EQ(setpoint.browse_path, "Machine/1:Setpoint");
  EXPECT_EQ(setpoint.property, "targetSpeed");
  EXPECT_TRUE(setpoint.write);
  EXPECT_EQ(setpoint.queue_size, 1u);
  EXPECT_LT(setpoint.sampling_interval.count(), 0) << "unset: the publishing interval";
  EXPECT_EQ(config->nodes[2].index, 3u);
  ASSERT_EQ(config->commands.size(), 2u);
  EXPECT_EQ(config->commands[0].object, "ns=1;s=Machine");
  EXPECT_EQ(config->commands[0].method, "ns=1;s=Reset");
  ASSERT_EQ(config->commands[0].inputs.size(), 1u);
  EXPECT_EQ(config->commands[0].inputs[0], Variant::Type::kString);
  EXPECT_EQ(config->commands[1].write_node, "ns=1;s=Setpoint");
}

TEST(OpcUaConfigTest, DefaultsOfAMinimalConfig) {
  Result<OpcUaConnectorConfig> config = ParseOpcUaConnectorConfig(Json(R"({"type": "opcua", "name": "m",
      "endpoint": "opc.tcp://h:4840", "nodes": [{"node": "i=2258", "twin": "t", "telemetry": "x"}]})"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->publishing_interval, std::chrono::milliseconds(100));
  EXPECT_EQ(config->request_timeout, std::chrono::milliseconds(10'000));
  EXPECT_TRUE(config->user.empty());
  EXPECT_EQ(config->nodes[0].queue_size, 10u);
  EXPECT_EQ(config->nodes[0].deadband, 0);
  EXPECT_FALSE(config->nodes[0].index.has_value());
  EXPECT_TRUE(config->commands.empty());
}

TEST(OpcUaConfigTest, RecognisesOpcUaObjects) {
  EXPECT_TRUE(IsOpcUaConnectorObject(Json(R"({"type": "opcua"})")));
  EXPECT_FALSE(IsOpcUaConnectorObject(Json(R"({"type": "mqtt"})")));
  EXPECT_FALSE(IsOpcUaConnectorObject(Json(R"({"broker": "mqtt://h"})")));
  EXPECT_FALSE(IsOpcUaConnectorObject(Json("[]")));
}

TEST(OpcUaConfigTest, RefusesUnknownKeysNamingThem) {
  EXPECT_EQ(ErrorOf([](json::object& c) { c["publishInterval"] = 5; }).find("opcua connector 'press-1': publishInterval: unknown key"), 0u);
  EXPECT_NE(ErrorOf([](json::object& c) { NodeAt(c, 0)["telemtry"] = "x"; }).find("nodes[0].telemtry: unknown key"),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { c["commands"].as_array()[0].as_object()["method"].as_object()["args"] = 1; })
                .find("commands[0].method.args: unknown key"),
            std::string::npos);
}

TEST(OpcUaConfigTest, RefusesWrongTypesAndRanges) {
  EXPECT_NE(ErrorOf([](json::object& c) { c["endpoint"] = 4840; }).find("endpoint: expected a string"), std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { c["endpoint"] = "tcp://h:1"; }).find("endpoint: expected opc.tcp://"),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { c["publishingIntervalMs"] = 1; }).find("publishingIntervalMs: must be between"),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { NodeAt(c, 0)["queueSize"] = 1.5; }).find("nodes[0].queueSize: expected an integer"),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { NodeAt(c, 0)["deadband"] = -1; }).find("nodes[0].deadband"), std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { NodeAt(c, 1)["write"] = "yes"; }).find("nodes[1].write: expected true or false"),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { c["type"] = "mqtt"; }).find("type: expected \"opcua\""), std::string::npos);
}

TEST(OpcUaConfigTest, RefusesBadNodeIds) {
  std::string error = ErrorOf([](json::object& c) { NodeAt(c, 0)["node"] = "ns=1;x=Temperature"; });
  EXPECT_NE(error.find("nodes[0].node"), std::string::npos) << error;
  error = ErrorOf([](json::object& c) { c["commands"].as_array()[0].as_object()["method"].as_object()["method"] = "Reset"; });
  EXPECT_NE(error.find("commands[0].method.method"), std::string::npos) << error;
}

TEST(OpcUaConfigTest, RefusesAmbiguousMappings) {
  EXPECT_NE(ErrorOf([](json::object& c) { NodeAt(c, 0)["property"] = "p"; })
                .find("exactly one of \"telemetry\" and \"property\""),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { NodeAt(c, 0)["browsePath"] = "Machine/Temperature"; })
                .find("exactly one of \"node\" and \"browsePath\""),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { NodeAt(c, 0)["write"] = true; }).find("only a \"property\" node can be written"),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { NodeAt(c, 2)["telemetry"] = "spindleTemperature"; }).find("mapped twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { c["commands"].as_array()[1].as_object()["command"] = "reset"; })
                .find("command 'reset' of twin 'cnc1' is mapped twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { c["commands"].as_array()[1].as_object().erase("write"); })
                .find("exactly one of \"method\" and \"write\""),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { NodeAt(c, 1)["browsePath"] = "/Machine"; }).find("nodes[1].browsePath"),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) {
              c["commands"].as_array()[0].as_object()["method"].as_object()["inputs"] = json::array{"Text"};
            }).find("commands[0].method.inputs[0]"),
            std::string::npos);
}

TEST(OpcUaConfigTest, RefusesAConfigWithNothingToDo) {
  EXPECT_NE(ErrorOf([](json::object& c) {
              c.erase("nodes");
              c.erase("commands");
            }).find("at least one node or command"),
            std::string::npos);
  EXPECT_NE(ErrorOf([](json::object& c) { c.erase("user"); }).find("password: given without a \"user\""), std::string::npos);
}

TEST(OpcUaConfigTest, ValidatesConfigsBuiltInCode) {
  OpcUaConnectorConfig config{.name = "m", .endpoint = "opc.tcp://h:1", .nodes = {{.node = "ns=1;s=A", .twin = "t"}}};
  EXPECT_FALSE(ValidateOpcUaConnectorConfig(config).ok()) << "neither telemetry nor property";
  config.nodes[0].telemetry = "a";
  EXPECT_TRUE(ValidateOpcUaConnectorConfig(config).ok());
}

TEST(OpcUaVariantJsonTest, ConvertsByTheJsonTypeWithoutAHint) {
  Result<Variant> number = VariantFromJson(json::value(42.5));
  ASSERT_TRUE(number.ok());
  EXPECT_EQ(number->type, Variant::Type::kDouble);
  EXPECT_EQ(number->AsNumber(), 42.5);
  Result<Variant> text = VariantFromJson(json::value("go"));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->type, Variant::Type::kString);
  EXPECT_EQ(std::get<std::string>(text->values.at(0)), "go");
  Result<Variant> flag = VariantFromJson(json::value(true));
  ASSERT_TRUE(flag.ok());
  EXPECT_EQ(flag->type, Variant::Type::kBoolean);
  EXPECT_FALSE(VariantFromJson(json::value(nullptr)).ok());
  EXPECT_FALSE(VariantFromJson(json::object{}).ok());
}

TEST(OpcUaVariantJsonTest, ConvertsToTheNodesTypeAndChecksRanges) {
  Result<Variant> count = VariantFromJson(json::value(7), Variant::Type::kUInt32);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->type, Variant::Type::kUInt32);
  EXPECT_EQ(count->AsNumber(), 7.0);
  EXPECT_NE(VariantFromJson(json::value(-1), Variant::Type::kUInt32).status().message().find("does not fit UInt32"),
            std::string::npos);
  EXPECT_FALSE(VariantFromJson(json::value(1.5), Variant::Type::kInt16).ok());
  EXPECT_FALSE(VariantFromJson(json::value(70000), Variant::Type::kUInt16).ok());
  EXPECT_NE(VariantFromJson(json::value("7"), Variant::Type::kDouble).status().message().find("expected a number for Double"),
            std::string::npos);
  EXPECT_FALSE(VariantFromJson(json::value(1), Variant::Type::kBoolean).ok());
}

TEST(OpcUaVariantJsonTest, ArraysRoundTrip) {
  Result<Variant> array = VariantFromJson(Json("[1, 2.5, 3]"), Variant::Type::kDouble);
  ASSERT_TRUE(array.ok());
  EXPECT_TRUE(array->is_array);
  EXPECT_EQ(array->values.size(), 3u);
  EXPECT_EQ(ToJson(VariantToJson(*array)), "[1,2.5,3]");
  EXPECT_FALSE(VariantFromJson(Json(R"([1, "a"])")).ok()) << "mixed element types";
}

TEST(OpcUaVariantJsonTest, ScalarsToJson) {
  EXPECT_EQ(ToJson(VariantToJson(Variant::Double(2.5))), "2.5");
  EXPECT_EQ(ToJson(VariantToJson(Variant::Boolean(true))), "true");
  EXPECT_EQ(ToJson(VariantToJson(Variant::String("Running"))), "\"Running\"");
  EXPECT_EQ(ToJson(VariantToJson(Variant{})), "null");
  Variant time{.type = Variant::Type::kDateTime, .values = {int64_t{1'700'000'000'000'000'000}}};
  EXPECT_EQ(ToJson(VariantToJson(time)), "\"2023-11-14T22:13:20.0000000Z\"");
}

TEST(OpcUaVariantJsonTest, TypeNamesRoundTrip) {
  for (Variant::Type type : {Variant::Type::kBoolean, Variant::Type::kInt32, Variant::Type::kUInt32, Variant::Type::kDouble,
                             Variant::Type::kString, Variant::Type::kDateTime}) {
    EXPECT_EQ(VariantTypeFromName(VariantTypeName(type)), type);
  }
  EXPECT_FALSE(VariantTypeFromName("Text").has_value());
}

}  // namespace
}  // namespace doppel::connect::opcua
