// The MQTT 5.0 codec against hand-made bytes: what we send is what the spec's examples show,
// what the broker sends decodes, and every malformed shape is an error with the right DISCONNECT
// reason, never a read past the end.
#include "connect/mqtt/internal/mqtt_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace doppel::connect::mqtt::internal {
namespace {

using namespace std::string_literals;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

// The one frame in `packet`, which must be complete; its body points into `packet`.
Frame FrameOf(const std::string& packet, std::size_t max = 1 << 20) {
  auto frame = FrameReader(max).Next(packet);
  EXPECT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_TRUE(frame->has_value());
  EXPECT_EQ((*frame)->size, packet.size());
  return **frame;
}

// A PUBLISH from the broker: topic, packet id (QoS 1), properties, payload.
std::string PublishPacket(int flags, const std::string& topic, int packet_id, const std::string& properties,
                          const std::string& payload) {
  std::string body = Bytes({static_cast<int>(topic.size()) >> 8, static_cast<int>(topic.size()) & 0xFF}) + topic;
  if (packet_id >= 0) body += Bytes({packet_id >> 8, packet_id & 0xFF});
  AppendVariableByteInteger(body, static_cast<uint32_t>(properties.size()));
  body += properties + payload;
  std::string packet(1, static_cast<char>(0x30 | flags));
  AppendVariableByteInteger(packet, static_cast<uint32_t>(body.size()));
  return packet + body;
}

uint8_t ReasonOf(const Status& s) { return DisconnectReasonOf(s); }

Publish WithAlias(std::string_view topic, uint16_t alias) {
  Publish p;
  p.topic = topic;
  p.topic_alias = alias;
  return p;
}

TEST(MqttCodecTest, VariableByteIntegersAtEveryBoundary) {
  for (uint32_t v : {0u, 127u, 128u, 16'383u, 16'384u, 2'097'151u, 2'097'152u, kMaxVariableByteInteger}) {
    std::string packet(1, '\x30');
    AppendVariableByteInteger(packet, v);
    const std::size_t header = packet.size();
    EXPECT_EQ(header - 1, v < 128 ? 1u : v < 16'384 ? 2u : v < 2'097'152 ? 3u : 4u) << v;
    // The header alone: the reader knows the length and asks for the rest.
    auto frame = FrameReader(SIZE_MAX).Next(packet);
    ASSERT_TRUE(frame.ok()) << v;
    EXPECT_EQ(frame->has_value(), v == 0) << v;  // only an empty body is complete
  }
}

TEST(MqttCodecTest, FramesArriveInPiecesAndBackToBack) {
  const std::string a = EncodePingreq(), b = EncodeDisconnect(kReasonProtocolError);
  const std::string stream = a + b;
  const FrameReader reader(1024);
  EXPECT_FALSE(reader.Next("").value().has_value());
  EXPECT_FALSE(reader.Next(stream.substr(0, 1)).value().has_value());
  Frame first = reader.Next(stream).value().value();
  EXPECT_EQ(first.type, PacketType::kPingreq);
  EXPECT_EQ(first.size, 2u);
  Frame second = reader.Next(std::string_view(stream).substr(first.size)).value().value();
  EXPECT_EQ(second.type, PacketType::kDisconnect);
  EXPECT_EQ(second.body, Bytes({0x82}));
}

TEST(MqttCodecTest, RefusesABadRemainingLengthAndOversizePackets) {
  auto five = FrameReader(SIZE_MAX).Next(Bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
  EXPECT_EQ(ReasonOf(five.status()), kReasonMalformedPacket);
  EXPECT_EQ(five.status().message(), "malformed packet: remaining length is longer than 4 bytes");
  auto type0 = FrameReader(SIZE_MAX).Next(Bytes({0x00, 0x00}));
  EXPECT_FALSE(type0.ok());
  // Refused as soon as the length is known, before the body is buffered.
  std::string big(1, '\x30');
  AppendVariableByteInteger(big, 2000);
  auto oversize = FrameReader(1000).Next(big);
  EXPECT_EQ(ReasonOf(oversize.status()), kReasonPacketTooLarge);
  EXPECT_EQ(oversize.status().message(), "packet of 2003 bytes is over the maximum of 1000");
}

TEST(MqttCodecTest, ConnectCarriesTheSessionAndLimits) {
  ConnectOptions o{.client_id = "doppel",
                   .username = "u",
                   .password = "p",
                   .keep_alive_seconds = 30,
                   .clean_start = false,
                   .session_expiry_seconds = 0xFFFFFFFF,
                   .receive_maximum = 1024,
                   .maximum_packet_size = 70000,
                   .topic_alias_maximum = 64};
  const std::string expected_body =
      Bytes({0, 4}) + "MQTT" + Bytes({5, 0xC0, 0, 30}) +
      Bytes({16, 0x11, 0xFF, 0xFF, 0xFF, 0xFF, 0x21, 0x04, 0x00, 0x27, 0x00, 0x01, 0x11, 0x70, 0x22, 0, 64}) +
      Bytes({0, 6}) + "doppel" + Bytes({0, 1}) + "u" + Bytes({0, 1}) + "p";
  const std::string connect = EncodeConnect(o);
  Frame f = FrameOf(connect);
  EXPECT_EQ(f.type, PacketType::kConnect);
  EXPECT_EQ(f.body, expected_body);

  ConnectOptions clean;
  clean.client_id = "c";
  clean.keep_alive_seconds = 5;
  clean.clean_start = true;
  clean.receive_maximum = 10;
  const std::string clean_connect = EncodeConnect(clean);
  EXPECT_EQ(FrameOf(clean_connect).body,
            Bytes({0, 4}) + "MQTT" + Bytes({5, 0x02, 0, 5, 3, 0x21, 0, 10, 0, 1}) + "c");
}

TEST(MqttCodecTest, ConnackReasonsAndProperties) {
  Connack ok = DecodeConnack(0, Bytes({1, 0, 10, 0x13, 0, 60, 0x21, 0, 20, 0x1F, 0, 1, 'x'})).value();
  EXPECT_TRUE(ok.session_present);
  EXPECT_EQ(ok.reason_code, 0);
  EXPECT_EQ(ok.server_keep_alive, 60);
  EXPECT_EQ(ok.receive_maximum, 20);
  EXPECT_EQ(ok.reason_string, "x");

  Connack refused = DecodeConnack(0, Bytes({0, 0x86, 0})).value();
  EXPECT_EQ(ReasonCodeText(refused.reason_code), "bad user name or password");
  EXPECT_EQ(ReasonCodeText(0x87), "not authorized");
  EXPECT_EQ(ReasonCodeText(0xEE), "reason code 0xEE");

  EXPECT_FALSE(DecodeConnack(1, Bytes({0, 0, 0})).ok());                  // reserved fixed-header flags
  EXPECT_FALSE(DecodeConnack(0, Bytes({2, 0, 0})).ok());                  // reserved acknowledge flags
  EXPECT_FALSE(DecodeConnack(0, Bytes({1, 0x87, 0})).ok());               // session present on a refusal
  EXPECT_FALSE(DecodeConnack(0, Bytes({0})).ok());                        // truncated
  EXPECT_FALSE(DecodeConnack(0, Bytes({0, 0, 5, 0x13, 0})).ok());         // property block past the end
  EXPECT_FALSE(DecodeConnack(0, Bytes({0, 0, 3, 0x13, 0})).ok());         // property value past the block
  EXPECT_FALSE(DecodeConnack(0, Bytes({0, 0, 2, 0x7F, 0})).ok());         // unknown property
  EXPECT_FALSE(DecodeConnack(0, Bytes({0, 0, 3, 0x21, 0, 0})).ok());      // receive maximum 0
  EXPECT_FALSE(DecodeConnack(0, Bytes({0, 0, 3, 0x23, 0, 1})).ok());      // topic alias: not a CONNACK property
  EXPECT_FALSE(DecodeConnack(0, Bytes({0, 0, 0, 9})).ok());               // trailing bytes
}

TEST(MqttCodecTest, SubscribeAndSuback) {
  const SubscribeRequest filters[] = {{"a/+", 1}, {"b/#", 0}};
  const std::string subscribe = EncodeSubscribe(7, filters);
  Frame f = FrameOf(subscribe);
  EXPECT_EQ(f.type, PacketType::kSubscribe);
  EXPECT_EQ(f.flags, 2);  // §3.8.1: reserved bits 0010
  EXPECT_EQ(f.body, Bytes({0, 7, 0, 0, 3}) + "a/+" + Bytes({1, 0, 3}) + "b/#" + Bytes({0}));

  Suback s = DecodeSuback(0, Bytes({0, 7, 0, 1, 0x87})).value();
  EXPECT_EQ(s.packet_id, 7);
  EXPECT_EQ(s.reason_codes, (std::vector<uint8_t>{1, 0x87}));
  EXPECT_FALSE(DecodeSuback(0, Bytes({0, 7, 0})).ok());  // no reason codes
  EXPECT_FALSE(DecodeSuback(0, Bytes({0, 7})).ok());     // no property length
  EXPECT_FALSE(DecodeSuback(2, Bytes({0, 7, 0, 1})).ok());
}

TEST(MqttCodecTest, PublishRoundTripsAtQos0And1) {
  const std::string publish1 = EncodePublish("t/1", "payload", 1, 42);
  Frame f1 = FrameOf(publish1);
  EXPECT_EQ(f1.type, PacketType::kPublish);
  Publish p1 = DecodePublish(f1.flags, f1.body).value();
  EXPECT_EQ(p1.topic, "t/1");
  EXPECT_EQ(p1.payload, "payload");
  EXPECT_EQ(p1.qos, 1);
  EXPECT_EQ(p1.packet_id, 42);
  EXPECT_FALSE(p1.retain);

  const std::string publish0 = EncodePublish("t", "", 0, 0);
  Frame f0 = FrameOf(publish0);
  Publish p0 = DecodePublish(f0.flags, f0.body).value();
  EXPECT_EQ(p0.qos, 0);
  EXPECT_EQ(p0.packet_id, 0);
  EXPECT_EQ(p0.payload, "");

  const std::string big(100'000, 'x');
  const std::string publish_big = EncodePublish("t", big, 1, 1);
  Frame fb = FrameOf(publish_big);
  EXPECT_EQ(DecodePublish(fb.flags, fb.body).value().payload, big);
}

TEST(MqttCodecTest, PublishSkipsEveryPropertyKind) {
  const std::string properties = Bytes({0x01, 1}) +                          // payload format (byte)
                                 Bytes({0x02, 0, 0, 0, 9}) +                 // message expiry (u32)
                                 Bytes({0x03, 0, 2}) + "js" +                // content type (string)
                                 Bytes({0x08, 0, 1}) + "r" +                 // response topic
                                 Bytes({0x09, 0, 3, 0, 0xFF, 1}) +           // correlation data (binary)
                                 Bytes({0x0B, 0x80, 0x01}) +                 // subscription id (varint 128)
                                 Bytes({0x26, 0, 1}) + "k" + Bytes({0, 1}) + "v" +  // user property
                                 Bytes({0x23, 0, 5});                        // topic alias 5
  const std::string packet = PublishPacket(0x02, "site/t", 9, properties, "{}");
  Frame f = FrameOf(packet);
  Publish p = DecodePublish(f.flags, f.body).value();
  EXPECT_EQ(p.topic, "site/t");
  EXPECT_EQ(p.topic_alias, 5);
  EXPECT_EQ(p.payload, "{}");
}

TEST(MqttCodecTest, RefusesMalformedPublishes) {
  struct Case {
    std::string name;
    int flags;
    std::string body;
    uint8_t reason;
  };
  const auto body = [](const std::string& packet) { return std::string(FrameOf(packet).body); };
  const std::vector<Case> cases = {
      {"qos 3", 0x06, body(PublishPacket(0x06, "t", 1, "", "")), kReasonMalformedPacket},
      {"qos 2", 0x04, body(PublishPacket(0x04, "t", 1, "", "")), kReasonProtocolError},
      {"dup at qos 0", 0x08, body(PublishPacket(0x08, "t", -1, "", "")), kReasonMalformedPacket},
      {"packet id 0", 0x02, body(PublishPacket(0x02, "t", 0, "", "")), kReasonProtocolError},
      {"truncated topic", 0x00, Bytes({0, 9}) + "abc", kReasonMalformedPacket},
      {"no packet id", 0x02, Bytes({0, 1}) + "t", kReasonMalformedPacket},
      {"no property length", 0x00, Bytes({0, 1}) + "t", kReasonMalformedPacket},
      {"property length past the end", 0x00, Bytes({0, 1}) + "t" + Bytes({10, 0x01}), kReasonMalformedPacket},
      {"truncated property value", 0x00, Bytes({0, 1}) + "t" + Bytes({2, 0x02, 0}), kReasonMalformedPacket},
      {"truncated string property", 0x00, Bytes({0, 1}) + "t" + Bytes({3, 0x03, 0, 5}), kReasonMalformedPacket},
      {"5-byte property length", 0x00, Bytes({0, 1}) + "t" + Bytes({0x80, 0x80, 0x80, 0x80, 0x01}),
       kReasonMalformedPacket},
      {"unknown property", 0x00, body(PublishPacket(0, "t", -1, Bytes({0x7E, 0}), "")), kReasonMalformedPacket},
      {"CONNACK-only property", 0x00, body(PublishPacket(0, "t", -1, Bytes({0x21, 0, 1}), "")), kReasonProtocolError},
      {"topic alias 0", 0x00, body(PublishPacket(0, "t", -1, Bytes({0x23, 0, 0}), "")), kReasonTopicAliasInvalid},
      {"topic alias twice", 0x00, body(PublishPacket(0, "t", -1, Bytes({0x23, 0, 1, 0x23, 0, 2}), "")),
       kReasonProtocolError},
      {"no topic and no alias", 0x00, body(PublishPacket(0, "", -1, "", "x")), kReasonProtocolError},
      {"wildcard topic", 0x00, body(PublishPacket(0, "a/+", -1, "", "")), kReasonProtocolError},
      {"NUL in topic", 0x00, body(PublishPacket(0, "a\0b"s, -1, "", "")), kReasonMalformedPacket},
      {"invalid UTF-8 topic", 0x00, body(PublishPacket(0, "\xC3\x28", -1, "", "")), kReasonMalformedPacket},
      {"overlong UTF-8 topic", 0x00, body(PublishPacket(0, "\xC0\xAF", -1, "", "")), kReasonMalformedPacket},
      {"surrogate in topic", 0x00, body(PublishPacket(0, "\xED\xA0\x80", -1, "", "")), kReasonMalformedPacket},
  };
  for (const Case& c : cases) {
    auto p = DecodePublish(static_cast<uint8_t>(c.flags), c.body);
    ASSERT_FALSE(p.ok()) << c.name;
    EXPECT_EQ(ReasonOf(p.status()), c.reason) << c.name << ": " << p.status().message();
  }
}

TEST(MqttCodecTest, TopicAliasesAreSetUsedAndChecked) {
  TopicAliases aliases(4);
  const Publish set = WithAlias("site/a", 2);
  EXPECT_EQ(aliases.Resolve(set).value(), "site/a");
  const Publish use = WithAlias("", 2);
  EXPECT_EQ(aliases.Resolve(use).value(), "site/a");
  const Publish reset = WithAlias("site/b", 2);
  EXPECT_EQ(aliases.Resolve(reset).value(), "site/b");
  EXPECT_EQ(aliases.Resolve(use).value(), "site/b");
  const Publish plain = WithAlias("x", 0);
  EXPECT_EQ(aliases.Resolve(plain).value(), "x");

  auto unknown = aliases.Resolve(WithAlias("", 3));
  EXPECT_EQ(ReasonOf(unknown.status()), kReasonTopicAliasInvalid);
  EXPECT_EQ(unknown.status().message(), "topic alias 3 was never set");
  auto over = aliases.Resolve(WithAlias("t", 5));
  EXPECT_EQ(ReasonOf(over.status()), kReasonTopicAliasInvalid);
  TopicAliases none(0);
  EXPECT_FALSE(none.Resolve(WithAlias("t", 1)).ok());
}

TEST(MqttCodecTest, AcksPingsAndDisconnects) {
  std::string acks;
  AppendPuback(acks, 0x1234);
  AppendPuback(acks, 1);
  EXPECT_EQ(acks, Bytes({0x40, 2, 0x12, 0x34, 0x40, 2, 0, 1}));
  Puback a = DecodePuback(0, Bytes({0x12, 0x34})).value();
  EXPECT_EQ(a.packet_id, 0x1234);
  EXPECT_EQ(a.reason_code, 0);
  EXPECT_EQ(DecodePuback(0, Bytes({0, 1, 0x87})).value().reason_code, 0x87);
  EXPECT_EQ(DecodePuback(0, Bytes({0, 1, 0x10, 0})).value().reason_code, 0x10);
  EXPECT_FALSE(DecodePuback(0, Bytes({0})).ok());
  EXPECT_FALSE(DecodePuback(0, Bytes({0, 1, 0, 4, 0x1F, 0, 1})).ok());  // truncated reason string
  EXPECT_FALSE(DecodePuback(1, Bytes({0, 1})).ok());

  EXPECT_EQ(EncodePingreq(), Bytes({0xC0, 0}));
  EXPECT_TRUE(DecodePingresp(0, "").ok());
  EXPECT_FALSE(DecodePingresp(0, "x").ok());
  EXPECT_FALSE(DecodePingresp(3, "").ok());

  EXPECT_EQ(EncodeDisconnect(), Bytes({0xE0, 0}));
  EXPECT_EQ(EncodeDisconnect(kReasonMalformedPacket), Bytes({0xE0, 1, 0x81}));
  EXPECT_EQ(DecodeDisconnect(0, "").value().reason_code, 0);
  Disconnect d = DecodeDisconnect(0, Bytes({0x8B, 5, 0x1F, 0, 2}) + "by").value();
  EXPECT_EQ(d.reason_code, 0x8B);
  EXPECT_EQ(d.reason_string, "by");
  EXPECT_FALSE(DecodeDisconnect(0, Bytes({0x8B, 5, 0x1F, 0, 2}) + "bye").ok());  // a byte after the properties
  EXPECT_FALSE(DecodeDisconnect(0, Bytes({0x8B, 5, 0x1F, 0, 9})).ok());
}

}  // namespace
}  // namespace doppel::connect::mqtt::internal
