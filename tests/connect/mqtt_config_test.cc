// ParseMqttConnectorConfig: the documented shape is read completely, and every mistake is
// refused with a message naming the connector and the key.
#include <gtest/gtest.h>

#include "base/json.h"
#include "connect/mqtt/mqtt_connector.h"

namespace doppel::connect::mqtt {
namespace {

json::value Parse(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kFull = R"({
  "type": "mqtt",
  "name": "site-broker",
  "broker": "mqtts://broker.example:8884",
  "clientId": "doppel-1",
  "username": "doppel", "password": "secret",
  "tls": {"ca": "/etc/ca.pem", "cert": "/etc/c.pem", "key": "/etc/k.pem", "insecure": true},
  "keepAliveSeconds": 45, "cleanSession": true, "qos": 0,
  "reconnect": {"minSeconds": 2, "maxSeconds": 60},
  "maxPayloadBytes": 4096,
  "mappings": [
    {"topic": "doppel/+/{twinId}/telemetry", "payload": "json", "timestamp": {"field": "ts", "format": "epoch_ms"}},
    {"topic": "doppel/+/{twinId}/properties", "target": "properties"},
    {"topic": "plant/{twinId}/{component}/{path}", "payload": "value"},
    {"topic": "legacy/{twinId}/batch", "payload": "json-array", "timestamp": {"field": "t"}},
    {"topic": "legacy/{twinId}", "ignoreUnmapped": true,
     "fields": {"ws": {"path": "windSpeed", "scale": 0.1, "offset": 1},
                "tF": {"path": "temperature", "convert": "degreeFahrenheit->degreeCelsius"}}}
  ]
})";

TEST(MqttConfigTest, ReadsEveryKey) {
  Result<MqttConnectorConfig> parsed = ParseMqttConnectorConfig(Parse(kFull));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const MqttConnectorConfig& c = *parsed;
  EXPECT_EQ(c.name, "site-broker");
  EXPECT_EQ(c.host, "broker.example");
  EXPECT_EQ(c.port, 8884);
  EXPECT_EQ(c.client_id, "doppel-1");
  EXPECT_EQ(c.username, "doppel");
  EXPECT_EQ(c.password, "secret");
  ASSERT_TRUE(c.tls.has_value());
  EXPECT_EQ(c.tls->ca_file, "/etc/ca.pem");
  EXPECT_EQ(c.tls->cert_file, "/etc/c.pem");
  EXPECT_EQ(c.tls->key_file, "/etc/k.pem");
  EXPECT_TRUE(c.tls->insecure);
  EXPECT_EQ(c.keep_alive_seconds, 45);
  EXPECT_TRUE(c.clean_session);
  EXPECT_EQ(c.qos, 0);
  EXPECT_EQ(c.reconnect_min_seconds, 2);
  EXPECT_EQ(c.reconnect_max_seconds, 60);
  EXPECT_EQ(c.max_payload_bytes, 4096u);
  ASSERT_EQ(c.mappings.size(), 5u);
  EXPECT_EQ(c.mappings[0].payload, PayloadForm::kJson);
  ASSERT_TRUE(c.mappings[0].timestamp.has_value());
  EXPECT_EQ(c.mappings[0].timestamp->field, "ts");
  EXPECT_EQ(c.mappings[0].timestamp->format, TimestampFormat::kEpochMs);
  EXPECT_EQ(c.mappings[1].target, MappingTarget::kProperties);
  EXPECT_EQ(c.mappings[2].payload, PayloadForm::kValue);
  EXPECT_EQ(c.mappings[3].payload, PayloadForm::kJsonArray);
  EXPECT_EQ(c.mappings[3].timestamp->format, TimestampFormat::kRfc3339);
  EXPECT_TRUE(c.mappings[4].ignore_unmapped);
  ASSERT_EQ(c.mappings[4].fields.size(), 2u);
  EXPECT_EQ(c.mappings[4].fields.at("ws").path, "windSpeed");
  EXPECT_DOUBLE_EQ(c.mappings[4].fields.at("ws").scale, 0.1);
  EXPECT_DOUBLE_EQ(c.mappings[4].fields.at("ws").offset, 1);
  EXPECT_EQ(c.mappings[4].fields.at("tF").convert, "degreeFahrenheit->degreeCelsius");
  EXPECT_TRUE(ValidateMqttConnectorConfig(c).ok());
}

TEST(MqttConfigTest, DefaultsAreDurable) {
  Result<MqttConnectorConfig> parsed = ParseMqttConnectorConfig(Parse(
      R"({"name": "b", "broker": "mqtt://127.0.0.1", "clientId": "d", "mappings": [{"topic": "t/{twinId}"}]})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->port, 1883);
  EXPECT_FALSE(parsed->clean_session);  // persistent session: the broker queues while we are away
  EXPECT_EQ(parsed->qos, 1);
  EXPECT_EQ(parsed->keep_alive_seconds, 30);
  EXPECT_EQ(parsed->reconnect_min_seconds, 1);
  EXPECT_EQ(parsed->reconnect_max_seconds, 30);
  EXPECT_EQ(parsed->max_payload_bytes, std::size_t{1} << 20);
  EXPECT_EQ(parsed->session_expiry_seconds, 0xFFFFFFFFu);  // the session never expires, as MQTT 3.1.1's
  EXPECT_EQ(parsed->receive_maximum, 1024);
  EXPECT_FALSE(parsed->tls.has_value());
  EXPECT_EQ(parsed->mappings[0].payload, PayloadForm::kJson);
  EXPECT_EQ(parsed->mappings[0].target, MappingTarget::kTelemetry);
  EXPECT_FALSE(parsed->mappings[0].ignore_unmapped);
}

TEST(MqttConfigTest, ReadsTheMqtt5SessionKeys) {
  Result<MqttConnectorConfig> parsed = ParseMqttConnectorConfig(
      Parse(R"({"name": "b", "broker": "mqtt://127.0.0.1", "clientId": "d", "sessionExpirySeconds": 86400,
                "receiveMaximum": 64, "mappings": [{"topic": "t/{twinId}"}]})"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->session_expiry_seconds, 86400u);
  EXPECT_EQ(parsed->receive_maximum, 64);
  // The packet limit the connector announces: room for a payload twice the limit, within MQTT's.
  EXPECT_EQ(MaxMqttPacketBytes(1 << 20), (std::size_t{2} << 20) + 65536);
  EXPECT_EQ(MaxMqttPacketBytes(std::size_t{256} << 20), 268'435'460u);
}

TEST(MqttConfigTest, ReadsIpv6BrokerAndDefaultTlsPort) {
  auto v6 = ParseMqttConnectorConfig(Parse(
      R"({"name": "b", "broker": "mqtt://[::1]:1999", "clientId": "d", "mappings": [{"topic": "{twinId}"}]})"));
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 1999);
  auto tls = ParseMqttConnectorConfig(Parse(
      R"({"name": "b", "broker": "mqtts://h", "clientId": "d", "tls": {"ca": "ca.pem"}, "mappings": [{"topic": "{twinId}"}]})"));
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  EXPECT_EQ(tls->port, 8883);
}

struct Refusal {
  std::string patch;  // members merged over a valid base object
  std::string message;
};

class MqttConfigRefusalTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(MqttConfigRefusalTest, RefusesWithExactMessage) {
  const json::value base = Parse(R"({"name": "site", "broker": "mqtt://127.0.0.1:1883", "clientId": "doppel-1",
                                     "mappings": [{"topic": "doppel/+/{twinId}/telemetry"}]})");
  json::object config = base.as_object();
  const json::value patch = Parse(GetParam().patch);
  for (const auto& member : patch.as_object()) {
    if (member.value().is_null()) {
      config.erase(member.key());
    } else {
      config[member.key()] = member.value();
    }
  }
  Result<MqttConnectorConfig> parsed = ParseMqttConnectorConfig(config);
  ASSERT_FALSE(parsed.ok()) << GetParam().patch;
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Refusals, MqttConfigRefusalTest,
    ::testing::Values(
        Refusal{R"({"name": null})", "mqtt connector: name: is required"},
        Refusal{R"({"name": "a b"})", "mqtt connector: name: expected 1..64 letters, digits, '-', '_' or '.'"},
        Refusal{R"({"bogus": 1})", "mqtt connector 'site': bogus: unknown key"},
        Refusal{R"({"clientId": 7})", "mqtt connector 'site': clientId: expected a string, got number"},
        Refusal{R"({"broker": "tcp://h:1"})",
                "mqtt connector 'site': broker: expected mqtt://host:port or mqtts://host:port, got \"tcp://h:1\""},
        Refusal{R"({"broker": "mqtt://h:70000"})",
                "mqtt connector 'site': broker: the port must be 1..65535, got \"70000\""},
        Refusal{R"({"broker": "mqtts://h"})", "mqtt connector 'site': tls: an mqtts:// broker needs \"tls\": {\"ca\": file}"},
        Refusal{R"({"tls": {"ca": "x", "insecure": "yes"}})",
                "mqtt connector 'site': tls.insecure: expected a boolean, got string"},
        Refusal{R"({"tls": {"ca": "x", "cert": "c"}, "broker": "mqtts://h"})",
                "mqtt connector 'site': tls.key: \"cert\" and \"key\" go together"},
        Refusal{R"({"password": "p"})", "mqtt connector 'site': password: needs a \"username\""},
        Refusal{R"({"qos": 2})", "mqtt connector 'site': qos: expected an integer from 0 to 1, got 2"},
        Refusal{R"({"keepAliveSeconds": 1.5})",
                "mqtt connector 'site': keepAliveSeconds: expected an integer from 5 to 65535, got 1.5"},
        Refusal{R"({"cleanSession": "false"})", "mqtt connector 'site': cleanSession: expected a boolean, got string"},
        Refusal{R"({"receiveMaximum": 0})",
                "mqtt connector 'site': receiveMaximum: expected an integer from 1 to 65535, got 0"},
        Refusal{R"({"sessionExpirySeconds": -1})",
                "mqtt connector 'site': sessionExpirySeconds: expected an integer from 0 to 4294967295, got -1"},
        Refusal{R"({"reconnect": {"minSeconds": 10, "maxSeconds": 5}})",
                "mqtt connector 'site': reconnect.maxSeconds: must not be less than minSeconds"},
        Refusal{R"({"reconnect": {"min": 1}})", "mqtt connector 'site': reconnect.min: unknown key"},
        Refusal{R"({"maxPayloadBytes": 0})",
                "mqtt connector 'site': maxPayloadBytes: expected an integer from 1 to 268435456, got 0"},
        Refusal{R"({"mappings": []})", "mqtt connector 'site': mappings: needs at least one mapping"},
        Refusal{R"({"mappings": null})", "mqtt connector 'site': mappings: is required"},
        Refusal{R"({"mappings": [{"topic": "a/{twinid}"}]})",
                "mqtt connector 'site': mappings[0].topic: unknown placeholder '{twinid}' (known: {twinId}, "
                "{component}, {path}, each a whole level)"},
        Refusal{R"({"mappings": [{"topic": "a/+"}]})",
                "mqtt connector 'site': mappings[0].topic: the topic pattern has no {twinId} level"},
        Refusal{R"({"mappings": [{"topic": "a/#/{twinId}"}]})",
                "mqtt connector 'site': mappings[0].topic: '#' must be the last level"},
        Refusal{R"({"mappings": [{"topic": "a/{twinId}", "payload": "xml"}]})",
                "mqtt connector 'site': mappings[0].payload: expected one of json, value, json-array, got \"xml\""},
        Refusal{R"({"mappings": [{"topic": "a/{twinId}", "payload": "value"}]})",
                "mqtt connector 'site': mappings[0].topic: a \"value\" payload needs a {path} level naming the "
                "telemetry or property"},
        Refusal{R"({"mappings": [{"topic": "a/{twinId}", "timestamp": {"field": "ts", "format": "iso"}}]})",
                "mqtt connector 'site': mappings[0].timestamp.format: expected one of rfc3339, epoch_s, epoch_ms, "
                "epoch_us, epoch_ns, got \"iso\""},
        Refusal{R"({"mappings": [{"topic": "a/{twinId}", "fields": {"x": {"path": "a/b/c"}}}]})",
                "mqtt connector 'site': mappings[0].fields.x.path: path name is not a DTDL name (letters, digits "
                "and '_', starting with a letter)"},
        Refusal{R"({"mappings": [{"topic": "a/{twinId}", "fields": {"x": {"path": "y", "convert": "furlong->m"}}}]})",
                "mqtt connector 'site': mappings[0].fields.x.convert: unknown conversion \"furlong->m\" (known: "
                "degreeFahrenheit->degreeCelsius, degreeCelsius->degreeFahrenheit, kelvin->degreeCelsius, "
                "degreeCelsius->kelvin, kilometrePerHour->metrePerSecond, metrePerSecond->kilometrePerHour, "
                "milePerHour->metrePerSecond, knot->metrePerSecond, watt->kilowatt, kilowatt->watt, "
                "kilowatt->megawatt, megawatt->kilowatt, pascal->bar, bar->pascal, kilopascal->bar, bar->kilopascal, "
                "poundPerSquareInch->kilopascal, revolutionPerMinute->radianPerSecond, "
                "radianPerSecond->revolutionPerMinute)"},
        Refusal{R"({"mappings": [{"topic": "a/{twinId}", "fields": {"x": {"path": "y", "scale": 0}}}]})",
                "mqtt connector 'site': mappings[0].fields.x.scale: must be a non-zero finite number"},
        Refusal{R"({"mappings": [{"topic": "a/{twinId}", "target": "properties", "payload": "json-array"}]})",
                "mqtt connector 'site': mappings[0].target: \"properties\" takes \"json\" or \"value\" payloads, "
                "not \"json-array\""},
        Refusal{R"({"mappings": [{"topic": "a/{twinId}", "ignoreUnmapped": 1}]})",
                "mqtt connector 'site': mappings[0].ignoreUnmapped: expected a boolean, got number"},
        Refusal{R"({"mappings": [{"topic": "a/{twinId}", "qos": 1}]})",
                "mqtt connector 'site': mappings[0].qos: unknown key"},
        Refusal{R"({"type": "opcua"})", "mqtt connector 'site': type: expected \"mqtt\", got \"opcua\""}));

TEST(MqttConfigTest, RefusesNonObjects) {
  EXPECT_EQ(ParseMqttConnectorConfig(json::value(3)).status().message(), "mqtt connector: expected an object, got number");
  EXPECT_EQ(ParseMqttConnectorConfigs(json::object{}).status().message(), "mqtt connectors: expected an array, got object");
}

TEST(MqttConfigTest, ListRefusesDuplicateNamesAndClientIds) {
  auto dup_name = ParseMqttConnectorConfigs(Parse(R"([
    {"name": "a", "broker": "mqtt://h", "clientId": "x", "mappings": [{"topic": "{twinId}"}]},
    {"name": "a", "broker": "mqtt://h", "clientId": "y", "mappings": [{"topic": "{twinId}"}]}])"));
  EXPECT_EQ(dup_name.status().message(), "mqtt connectors: the name 'a' is used twice");
  auto dup_id = ParseMqttConnectorConfigs(Parse(R"([
    {"name": "a", "broker": "mqtt://h", "clientId": "x", "mappings": [{"topic": "{twinId}"}]},
    {"name": "b", "broker": "mqtt://h", "clientId": "x", "mappings": [{"topic": "{twinId}"}]}])"));
  EXPECT_EQ(dup_id.status().message(),
            "mqtt connector 'b': clientId: 'x' is already used by another connector on this broker");
  auto ok = ParseMqttConnectorConfigs(Parse(R"([
    {"name": "a", "broker": "mqtt://h", "clientId": "x", "mappings": [{"topic": "{twinId}"}]},
    {"name": "b", "broker": "mqtt://other", "clientId": "x", "mappings": [{"topic": "{twinId}"}]}])"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->size(), 2u);
}

TEST(MqttConfigTest, ValidateCatchesHandBuiltMistakes) {
  MqttConnectorConfig config;
  config.name = "x";
  config.host = "127.0.0.1";
  config.client_id = "c";
  EXPECT_EQ(ValidateMqttConnectorConfig(config).message(), "mqtt connector 'x': mappings: needs at least one mapping");
  config.mappings.emplace_back();
  config.mappings[0].topic = "a/{path}/{twinId}";
  EXPECT_EQ(ValidateMqttConnectorConfig(config).message(),
            "mqtt connector 'x': mappings[0].topic: {path} is only for \"value\" payloads (a JSON payload names its "
            "members)");
  config.mappings[0].payload = PayloadForm::kValue;
  EXPECT_TRUE(ValidateMqttConnectorConfig(config).ok());
  config.qos = 2;
  EXPECT_EQ(ValidateMqttConnectorConfig(config).message(), "mqtt connector 'x': qos: must be 0 or 1");
}

}  // namespace
}  // namespace doppel::connect::mqtt
