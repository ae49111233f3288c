// Payload decoding: the three forms, field mappings (rename, scale, offset, unit conversion),
// timestamp formats, and the exact reason of each refusal.
#include "connect/mqtt/internal/payload_decoder.h"

#include <gtest/gtest.h>

#include <cmath>

namespace doppel::connect::mqtt::internal {
namespace {

using tsdb::Value;

constexpr tsdb::TimeNs kArrival = 1'700'000'000'000'000'000;

TopicBindings Twin(std::string twin, std::string path = "", std::string component = "") {
  return TopicBindings{std::move(twin), std::move(component), std::move(path)};
}

// Built member by member: designated initializers that skip members trip -Wextra on GCC 12.
TopicMapping Map(std::string topic, PayloadForm form = PayloadForm::kJson,
                 MappingTarget target = MappingTarget::kTelemetry) {
  TopicMapping m;
  m.topic = std::move(topic);
  m.payload = form;
  m.target = target;
  return m;
}

TimestampSpec Ts(std::string field, TimestampFormat format = TimestampFormat::kRfc3339) {
  TimestampSpec t;
  t.field = std::move(field);
  t.format = format;
  return t;
}

FieldMapping Field(std::string path, double scale = 1, double offset = 0, std::string convert = "") {
  FieldMapping f;
  f.path = std::move(path);
  f.scale = scale;
  f.offset = offset;
  f.convert = std::move(convert);
  return f;
}

DecodedMessage Decode(const TopicMapping& m, const TopicBindings& b, std::string_view payload) {
  Result<DecodedMessage> d = DecodePayload(m, b, payload, kArrival);
  EXPECT_TRUE(d.ok()) << payload << ": " << d.status().ToString();
  return d.ok() ? std::move(d).value() : DecodedMessage{};
}

// "reason: message" of a refusal.
std::string Refusal(const TopicMapping& m, const TopicBindings& b, std::string_view payload) {
  Result<DecodedMessage> d = DecodePayload(m, b, payload, kArrival);
  if (d.ok()) return "<accepted>";
  return d.status().error_code() + ": " + d.status().message();
}

TEST(PayloadDecoderTest, JsonObjectBecomesOneReadingPerMember) {
  TopicMapping m = Map("t/{twinId}");
  DecodedMessage d = Decode(m, Twin("p1"), R"({"temperature": 21.5, "rpm": 1480, "running": true, "mode": "auto"})");
  ASSERT_EQ(d.readings.size(), 4u);
  EXPECT_EQ(d.readings[0].twin_id, "p1");
  EXPECT_EQ(d.readings[0].path, "temperature");
  EXPECT_EQ(d.readings[0].value, Value(21.5));
  EXPECT_EQ(d.readings[0].time, kArrival);
  EXPECT_EQ(d.readings[1].value, Value(int64_t{1480}));
  EXPECT_EQ(d.readings[2].value, Value(true));
  EXPECT_EQ(d.readings[3].value, Value(std::string("auto")));
  EXPECT_TRUE(d.property_patch.empty());
}

TEST(PayloadDecoderTest, ComponentPrefixesPaths) {
  TopicMapping m = Map("t/{twinId}/{component}");
  DecodedMessage d = Decode(m, Twin("p1", "", "nacelle"), R"({"temperature": 40})");
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].path, "nacelle/temperature");
}

TEST(PayloadDecoderTest, TimestampFormats) {
  TopicMapping m = Map("t/{twinId}");
  m.timestamp = Ts("ts");
  DecodedMessage d = Decode(m, Twin("p1"), R"({"ts": "2026-11-25T10:00:00.5Z", "x": 1})");
  ASSERT_EQ(d.readings.size(), 1u);  // the timestamp member is not a reading
  EXPECT_EQ(d.readings[0].time, 1'795'600'800'500'000'000);

  const std::pair<TimestampFormat, std::string> cases[] = {
      {TimestampFormat::kEpochS, "1795600800.5"},
      {TimestampFormat::kEpochMs, "1795600800500"},
      {TimestampFormat::kEpochUs, "1795600800500000"},
      {TimestampFormat::kEpochNs, "1795600800500000000"},
  };
  for (const auto& [format, ts] : cases) {
    m.timestamp->format = format;
    DecodedMessage e = Decode(m, Twin("p1"), R"({"x": 1, "ts": )" + ts + "}");
    ASSERT_EQ(e.readings.size(), 1u);
    EXPECT_EQ(e.readings[0].time, 1'795'600'800'500'000'000) << ts;
  }
  // Absent: the arrival time.
  EXPECT_EQ(Decode(m, Twin("p1"), R"({"x": 1})").readings[0].time, kArrival);
}

TEST(PayloadDecoderTest, BadTimestamps) {
  TopicMapping m = Map("t/{twinId}");
  m.timestamp = Ts("ts");
  EXPECT_EQ(Refusal(m, Twin("p1"), R"({"ts": 5, "x": 1})"),
            "bad_timestamp: timestamp must be an RFC 3339 string, got number");
  EXPECT_EQ(Refusal(m, Twin("p1"), R"({"ts": "yesterday", "x": 1})").substr(0, 25), "bad_timestamp: timestamp:");
  m.timestamp->format = TimestampFormat::kEpochMs;
  EXPECT_EQ(Refusal(m, Twin("p1"), R"({"ts": "1700000000000", "x": 1})"),
            "bad_timestamp: timestamp must be a number (epoch), got string");
  m.timestamp->format = TimestampFormat::kEpochS;
  EXPECT_EQ(Refusal(m, Twin("p1"), R"({"ts": 99999999999, "x": 1})"), "bad_timestamp: timestamp is out of range");
  EXPECT_EQ(Refusal(m, Twin("p1"), R"({"ts": 1e300, "x": 1})"), "bad_timestamp: timestamp is out of range");
}

TEST(PayloadDecoderTest, MalformedJson) {
  TopicMapping m = Map("t/{twinId}");
  EXPECT_EQ(Refusal(m, Twin("p1"), "{\"x\": ").substr(0, 32), "malformed_payload: invalid JSON ");
  EXPECT_EQ(Refusal(m, Twin("p1"), "[1, 2]"), "malformed_payload: expected a JSON object, got array");
  EXPECT_EQ(Refusal(m, Twin("p1"), "{}"), "malformed_payload: the message holds no values to record");
  EXPECT_EQ(Refusal(m, Twin("p1"), R"({"x": null})"), "malformed_payload: member 'x' is null");
  EXPECT_EQ(Refusal(m, Twin("p1"), R"({"x": {"y": 1}})"),
            "malformed_payload: member 'x' is an object: history keeps numbers, booleans and strings");
  EXPECT_EQ(Refusal(m, Twin("p1"), R"({"x": 18446744073709551615})"),
            "malformed_payload: member 'x' is an integer past the int64 range");
  EXPECT_EQ(Refusal(m, Twin("p1"), "\xff\xfe"), Refusal(m, Twin("p1"), "\xff\xfe"));  // stable, no crash
  EXPECT_EQ(Refusal(m, Twin("p1"), "\xff\xfe").substr(0, 18), "malformed_payload:");
  // Deep nesting is refused by the parser's limit, not by the stack.
  EXPECT_EQ(Refusal(m, Twin("p1"), std::string(10000, '[')).substr(0, 18), "malformed_payload:");
}

TEST(PayloadDecoderTest, FieldsRenameScaleAndConvert) {
  TopicMapping m = Map("legacy/{twinId}");
  m.fields = {{"ws", Field("windSpeed", 0.1)},
              {"tF", Field("temperature", 1, 0, "degreeFahrenheit->degreeCelsius")},
              {"p", Field("nacelle/power", 2, 1, "kilowatt->watt")}};
  DecodedMessage d = Decode(m, Twin("t1"), R"({"ws": 123, "tF": 212, "p": 4.5, "extra": "kept"})");
  ASSERT_EQ(d.readings.size(), 4u);
  EXPECT_EQ(d.readings[3].path, "extra");  // document order
  std::map<std::string, Value> by_path;
  for (const auto& r : d.readings) by_path[r.path] = r.value;
  EXPECT_DOUBLE_EQ(std::get<double>(by_path["windSpeed"]), 12.3);
  EXPECT_DOUBLE_EQ(std::get<double>(by_path["temperature"]), 100.0);
  EXPECT_DOUBLE_EQ(std::get<double>(by_path["nacelle/power"]), 10000.0);  // (4.5*2+1) kW → W
  EXPECT_EQ(by_path["extra"], Value(std::string("kept")));

  m.ignore_unmapped = true;
  EXPECT_EQ(Decode(m, Twin("t1"), R"({"ws": 10, "extra": "dropped"})").readings.size(), 1u);
  EXPECT_EQ(Refusal(m, Twin("t1"), R"({"extra": "dropped"})"),
            "malformed_payload: the message holds no values to record");
  EXPECT_EQ(Refusal(m, Twin("t1"), R"({"ws": "fast"})"),
            "wrong_type: field 'ws' is scaled or converted and must be a number, got string");
}

TEST(PayloadDecoderTest, ValueForm) {
  TopicMapping m = Map("plant/{twinId}/{path}", PayloadForm::kValue);
  m.fields = {{"tF", Field("temperature", 1, 0, "degreeFahrenheit->degreeCelsius")}};
  DecodedMessage d = Decode(m, Twin("p1", "rpm"), " 1480\n");
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].path, "rpm");
  EXPECT_EQ(d.readings[0].value, Value(int64_t{1480}));
  EXPECT_EQ(Decode(m, Twin("p1", "tF"), "32").readings[0].value, Value(0.0));
  EXPECT_EQ(Decode(m, Twin("p1", "tF"), "32").readings[0].path, "temperature");
  EXPECT_EQ(Refusal(m, Twin("p1", "tF"), "warm"),
            "wrong_type: field 'tF' is scaled or converted and must be a number, got string");
  EXPECT_EQ(Refusal(m, Twin("p1", "x"), ""), "malformed_payload: the payload is empty");
  EXPECT_EQ(Refusal(m, Twin("p1", "x"), "a\xff"), "malformed_payload: the payload is not valid UTF-8 text");
}

TEST(PayloadDecoderTest, BareValues) {
  EXPECT_EQ(ParseBareValue("true").value(), Value(true));
  EXPECT_EQ(ParseBareValue("false").value(), Value(false));
  EXPECT_EQ(ParseBareValue("-17").value(), Value(int64_t{-17}));
  EXPECT_EQ(ParseBareValue("2.5").value(), Value(2.5));
  EXPECT_EQ(ParseBareValue("1e3").value(), Value(1000.0));
  EXPECT_EQ(ParseBareValue("9223372036854775808").value(), Value(9223372036854775808.0));
  EXPECT_EQ(ParseBareValue("0x10").value(), Value(std::string("0x10")));
  EXPECT_EQ(ParseBareValue("1.2.3").value(), Value(std::string("1.2.3")));
  EXPECT_EQ(ParseBareValue("running").value(), Value(std::string("running")));
  EXPECT_EQ(ParseBareValue("True").value(), Value(std::string("True")));
}

// Found by mqtt_mapping_fuzz: Boost.JSON reads "1e400" as infinity, which became a reading.
TEST(PayloadDecoderTest, BareNumbersPastTheDoubleRangeAreRefused) {
  for (const char* text : {"1e400", "-1e400", " 2E+999 "}) {
    auto v = ParseBareValue(text);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_EQ(v.status().error_code(), "malformed_payload");
    EXPECT_EQ(v.status().message(), "the number is out of the range of a double");
  }
  EXPECT_EQ(ParseBareValue("1.7976931348623157e308").value(), Value(1.7976931348623157e308));
}

TEST(PayloadDecoderTest, BatchForm) {
  TopicMapping m = Map("legacy/{twinId}/batch", PayloadForm::kJsonArray);
  m.timestamp = Ts("ts", TimestampFormat::kEpochS);
  DecodedMessage d = Decode(m, Twin("p1"), R"([{"ts": 10, "a": 1, "b": 2}, {"ts": 11, "a": 3}])");
  ASSERT_EQ(d.readings.size(), 3u);
  EXPECT_EQ(d.readings[0].time, 10'000'000'000);
  EXPECT_EQ(d.readings[2].time, 11'000'000'000);
  EXPECT_EQ(d.readings[2].value, Value(int64_t{3}));
  EXPECT_EQ(Refusal(m, Twin("p1"), R"({"a": 1})"), "malformed_payload: expected a JSON array, got object");
  EXPECT_EQ(Refusal(m, Twin("p1"), R"([{"a": 1}, 5])"), "malformed_payload: element 1 is number, expected an object");
  EXPECT_EQ(Refusal(m, Twin("p1"), R"([{"a": 1}, {"ts": "x", "a": 2}])"),
            "bad_timestamp: element 1: timestamp must be a number (epoch), got string");
  EXPECT_EQ(Refusal(m, Twin("p1"), "[]"), "malformed_payload: the message holds no values to record");
}

TEST(PayloadDecoderTest, PropertiesBecomeAPatchAndScalarReadings) {
  TopicMapping m = Map("t/{twinId}/properties", PayloadForm::kJson, MappingTarget::kProperties);
  m.timestamp = Ts("ts");
  DecodedMessage d = Decode(
      m, Twin("t1"),
      R"({"ts": "2026-11-25T10:00:00Z", "state": "running", "location": {"lat": 1}, "a~b": 2, "nacelle/cms": true})");
  EXPECT_EQ(ToJson(d.property_patch),
            R"([{"op":"add","path":"/state","value":"running"},{"op":"add","path":"/location","value":{"lat":1}},)"
            R"({"op":"add","path":"/a~0b","value":2},{"op":"add","path":"/nacelle/cms","value":true}])");
  EXPECT_EQ(d.property_paths, (std::vector<std::string>{"state", "location", "a~b", "nacelle/cms"}));
  ASSERT_EQ(d.readings.size(), 3u);  // the object goes only into the twin
  EXPECT_EQ(d.readings[0].time, 1'795'600'800'000'000'000);
}

TEST(PayloadDecoderTest, Conversions) {
  ASSERT_TRUE(FindConversion("kelvin->degreeCelsius").has_value());
  EXPECT_DOUBLE_EQ(FindConversion("kelvin->degreeCelsius")->offset, -273.15);
  EXPECT_NEAR(300 * FindConversion("revolutionPerMinute->radianPerSecond")->scale, 10 * M_PI, 1e-9);
  EXPECT_FALSE(FindConversion("degreeCelsius->kilowatt").has_value());
  for (const std::string& spec : KnownConversions()) EXPECT_TRUE(FindConversion(spec).has_value()) << spec;
}

}  // namespace
}  // namespace doppel::connect::mqtt::internal
