// The OPC UA binary codec, UA TCP framing and service decoding, on byte vectors.
#include <gtest/gtest.h>

#include <string>

#include "connect/opcua/internal/ua_codec.h"
#include "connect/opcua/internal/ua_messages.h"
#include "connect/opcua/internal/ua_transport.h"
#include "connect/opcua/opcua_client.h"

namespace doppel::connect::opcua::internal {
namespace {

const Limits kLimits{.max_array_length = 1000, .max_string_bytes = 4096};

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

NodeId Id(std::string_view text) { return NodeId::Parse(text).value(); }

std::string EncodeNodeId(const NodeId& id) {
  Encoder e;
  e.NodeId(id);
  return e.Take();
}

Variant RoundTrip(const Variant& v) {
  Encoder e;
  e.Variant(v);
  Decoder d(e.bytes(), kLimits);
  Variant out = d.Variant();
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d.remaining(), 0u);
  return out;
}

// A response's type id and ResponseHeader (request handle 7).
void BeginResponseBytes(Encoder& e, uint32_t type, uint32_t service_result = 0) {
  e.NodeId(Ns0(type));
  e.DateTime(0);
  e.UInt32(7);
  e.UInt32(service_result);
  e.Byte(0);    // diagnostic info: empty
  e.Int32(-1);  // string table
  e.NullExtensionObject();
}

TEST(OpcUaNodeIdTest, ParsesAndPrintsEveryForm) {
  for (const char* text : {"i=85", "ns=1;i=1000", "ns=2;s=Machine.Temperature", "ns=3;g=72962b91-fa75-4ae6-8d28-b404dc7daf63",
                           "ns=1;b=AQID"}) {
    auto id = NodeId::Parse(text);
    ASSERT_TRUE(id.ok()) << text << ": " << id.status().ToString();
    EXPECT_EQ(id->ToString(), text);
  }
  EXPECT_EQ(Id("ns=0;i=85"), Id("i=85"));
  EXPECT_EQ(Id("ns=1;s=a;b").identifier, (std::variant<uint32_t, std::string>(std::string("a;b"))));
  for (const char* bad : {"", "85", "i=", "i=x", "ns=70000;i=1", "ns=1", "x=1", "ns=1;s=", "g=1234", "b=@@@@", "i=99999999999"}) {
    EXPECT_FALSE(NodeId::Parse(bad).ok()) << bad;
  }
}

TEST(OpcUaCodecTest, NodeIdUsesTheShortestEncoding) {
  EXPECT_EQ(EncodeNodeId(Id("i=85")), Bytes({0x00, 0x55}));
  EXPECT_EQ(EncodeNodeId(Id("ns=1;i=1000")), Bytes({0x01, 0x01, 0xe8, 0x03}));
  EXPECT_EQ(EncodeNodeId(Id("ns=300;i=70000")), Bytes({0x02, 0x2c, 0x01, 0x70, 0x11, 0x01, 0x00}));
  EXPECT_EQ(EncodeNodeId(Id("ns=1;s=Temp")), Bytes({0x03, 0x01, 0x00, 4, 0, 0, 0, 'T', 'e', 'm', 'p'}));
  // Part 6, 5.1.3: the GUID's first three fields little-endian.
  EXPECT_EQ(EncodeNodeId(Id("g=72962B91-FA75-4AE6-8D28-B404DC7DAF63")),
            Bytes({0x04, 0, 0, 0x91, 0x2b, 0x96, 0x72, 0x75, 0xfa, 0xe6, 0x4a, 0x8d, 0x28, 0xb4, 0x04, 0xdc, 0x7d,
                   0xaf, 0x63}));
  EXPECT_EQ(EncodeNodeId(Id("ns=1;b=AQID")), Bytes({0x05, 0x01, 0x00, 3, 0, 0, 0, 1, 2, 3}));
  for (const char* text : {"i=85", "ns=1;i=1000", "ns=300;i=70000", "ns=1;s=Temp", "g=72962b91-fa75-4ae6-8d28-b404dc7daf63",
                           "ns=1;b=AQID"}) {
    const std::string bytes = EncodeNodeId(Id(text));
    Decoder d(bytes, kLimits);
    EXPECT_EQ(d.NodeId(), Id(text)) << text;
    EXPECT_TRUE(d.ok() && d.remaining() == 0) << text;
  }
}

TEST(OpcUaCodecTest, ExpandedNodeIdSkipsUriAndServerIndex) {
  Encoder e;
  e.Byte(0x03 | 0x80 | 0x40);
  e.UInt16(2);
  e.String("x");
  e.String("urn:other");
  e.UInt32(5);
  Decoder d(e.bytes(), kLimits);
  EXPECT_EQ(d.ExpandedNodeId(), Id("ns=2;s=x"));
  EXPECT_TRUE(d.ok());
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(OpcUaCodecTest, ScalarVariantsRoundTrip) {
  EXPECT_EQ(RoundTrip(Variant::Double(-2.5)).AsNumber(), -2.5);
  EXPECT_EQ(RoundTrip(Variant::Boolean(true)).AsNumber(), 1.0);
  EXPECT_EQ(std::get<std::string>(RoundTrip(Variant::String("héllo")).values.at(0)), "héllo");
  const std::pair<Variant::Type, double> numbers[] = {
      {Variant::Type::kSByte, -7},      {Variant::Type::kByte, 200},        {Variant::Type::kInt16, -30000},
      {Variant::Type::kUInt16, 60000},  {Variant::Type::kInt32, -2e9},      {Variant::Type::kUInt32, 4e9},
      {Variant::Type::kInt64, -9e15},   {Variant::Type::kUInt64, 1.8e19},   {Variant::Type::kFloat, 0.5},
  };
  for (const auto& [type, value] : numbers) {
    Variant out = RoundTrip(Variant{.type = type, .values = {value}});
    EXPECT_EQ(out.type, type);
    EXPECT_EQ(out.AsNumber(), value) << static_cast<int>(type);
  }
  const int64_t when = 1'700'000'000'123'456'700;  // ns, a multiple of 100
  Variant time = RoundTrip(Variant{.type = Variant::Type::kDateTime, .values = {when}});
  EXPECT_EQ(time.type, Variant::Type::kDateTime);
  EXPECT_EQ(std::get<int64_t>(time.values.at(0)), when);
  Variant text = RoundTrip(Variant{.type = Variant::Type::kLocalizedText, .values = {std::string("Pump")}});
  EXPECT_EQ(std::get<std::string>(text.values.at(0)), "Pump");
  Variant node = RoundTrip(Variant{.type = Variant::Type::kNodeId, .values = {std::string("ns=4;s=n")}});
  EXPECT_EQ(std::get<std::string>(node.values.at(0)), "ns=4;s=n");
  EXPECT_EQ(RoundTrip(Variant{}).type, Variant::Type::kNull);
}

TEST(OpcUaCodecTest, ArrayVariantsRoundTrip) {
  Variant v{.type = Variant::Type::kDouble, .is_array = true, .values = {1.0, 2.0, 3.5}};
  Variant out = RoundTrip(v);
  EXPECT_TRUE(out.is_array);
  ASSERT_EQ(out.values.size(), 3u);
  EXPECT_EQ(std::get<double>(out.values[2]), 3.5);
  EXPECT_FALSE(out.AsNumber().has_value());  // an array is not a number
  Variant strings{.type = Variant::Type::kString, .is_array = true, .values = {std::string("a"), std::string("")}};
  EXPECT_EQ(RoundTrip(strings).values, strings.values);
}

TEST(OpcUaCodecTest, MultiDimensionalArraysAreFlattened) {
  Encoder e;
  e.Byte(static_cast<uint8_t>(BuiltinType::kInt32) | 0x80 | 0x40);
  e.Int32(4);
  for (int i = 0; i < 4; ++i) e.Int32(i);
  e.Int32(2);  // dimensions [2, 2]
  e.Int32(2);
  e.Int32(2);
  Decoder d(e.bytes(), kLimits);
  Variant v = d.Variant();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(v.values.size(), 4u);
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(OpcUaCodecTest, DataValueRoundTripsWithStatusAndTimestamps) {
  DataValue v{.value = Variant::Double(7), .status = 0x808C0000, .source_time_ns = 1'000'000'000'000'000'000,
              .server_time_ns = 1'000'000'000'000'000'100};
  Encoder e;
  e.DataValue(v);
  Decoder d(e.bytes(), kLimits);
  DataValue out = d.DataValue();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(out.value.AsNumber(), 7.0);
  EXPECT_EQ(out.status, 0x808C0000u);
  EXPECT_FALSE(out.good());
  EXPECT_EQ(StatusCodeName(out.status), "BadSensorFailure");
  EXPECT_EQ(out.source_time_ns, v.source_time_ns);
  EXPECT_EQ(out.server_time_ns, v.server_time_ns);

  // Every proper prefix is truncated: an error, never a value.
  for (std::size_t n = 0; n < e.size(); ++n) {
    Decoder cut(std::string_view(e.bytes()).substr(0, n), kLimits);
    cut.DataValue();
    EXPECT_FALSE(cut.ok()) << n;
  }
}

TEST(OpcUaCodecTest, DataValueWithPicosecondsAndNoValue) {
  Encoder e;
  e.Byte(0x04 | 0x10 | 0x08 | 0x20);
  e.DateTime(TicksFromUnixNanos(0));
  e.UInt16(5);
  e.DateTime(TicksFromUnixNanos(100));
  e.UInt16(6);
  Decoder d(e.bytes(), kLimits);
  DataValue v = d.DataValue();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(v.value.type, Variant::Type::kNull);
  EXPECT_EQ(v.source_time_ns, 0);
  EXPECT_EQ(v.server_time_ns, 100);
  EXPECT_EQ(d.remaining(), 0u);
}

TEST(OpcUaCodecTest, StatusCodeNames) {
  EXPECT_EQ(StatusCodeName(0), "Good");
  EXPECT_EQ(StatusCodeName(0x80340000), "BadNodeIdUnknown");
  EXPECT_EQ(StatusCodeName(0x80340400), "BadNodeIdUnknown");  // info bits ignored
  EXPECT_EQ(StatusCodeName(0x8FFF0000), "0x8FFF0000");
}

TEST(OpcUaCodecTest, OversizedLengthsAreRefusedBeforeAllocating) {
  Encoder array;
  array.Byte(static_cast<uint8_t>(BuiltinType::kDouble) | 0x80);
  array.Int32(2'147'483'647);
  Decoder d1(array.bytes(), kLimits);
  d1.Variant();
  ASSERT_FALSE(d1.ok());
  EXPECT_NE(d1.status().message().find("2147483647 elements exceeds 1000"), std::string::npos) << d1.status().message();

  Encoder within_limit;  // under the limit, but longer than the bytes that follow
  within_limit.Byte(static_cast<uint8_t>(BuiltinType::kDouble) | 0x80);
  within_limit.Int32(900);
  within_limit.Double(1);
  Decoder d2(within_limit.bytes(), kLimits);
  d2.Variant();
  EXPECT_FALSE(d2.ok());

  Encoder string;
  string.Int32(5000);
  string.Append(std::string(5000, 'x'));
  Decoder d3(string.bytes(), kLimits);
  d3.String();
  ASSERT_FALSE(d3.ok());
  EXPECT_NE(d3.status().message().find("exceeds 4096"), std::string::npos);

  Encoder negative;
  negative.Int32(-2);
  Decoder d4(negative.bytes(), kLimits);
  d4.String();
  EXPECT_FALSE(d4.ok());
}

TEST(OpcUaCodecTest, UnknownTypesAreErrors) {
  const std::string type_26 = Bytes({26, 0, 0, 0, 0});  // the Decoder borrows its input
  Decoder variant(type_26, kLimits);
  variant.Variant();
  ASSERT_FALSE(variant.ok());
  EXPECT_NE(variant.status().message().find("unknown built-in type id 26"), std::string::npos);
  const std::string encoding_7 = Bytes({0x07, 0, 0});
  Decoder node(encoding_7, kLimits);
  node.NodeId();
  EXPECT_FALSE(node.ok());
  const std::string body_encoding_5 = Bytes({0x00, 0x00, 0x05});
  Decoder ext(body_encoding_5, kLimits);
  ext.ExtensionObject();
  EXPECT_FALSE(ext.ok());
}

TEST(OpcUaCodecTest, DeepNestingIsRefused) {
  std::string nested;
  for (int i = 0; i < 100; ++i) nested.push_back(static_cast<char>(BuiltinType::kVariant));
  nested.push_back(0);
  Decoder d(nested, kLimits);
  d.Variant();
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("deeper"), std::string::npos);

  std::string diagnostics(100, '\x40');
  Decoder d2(diagnostics, kLimits);
  d2.SkipDiagnosticInfo();
  EXPECT_FALSE(d2.ok());
}

TEST(OpcUaCodecTest, ExtensionObjectBodiesAreSkippedByLength) {
  Encoder e;
  e.ExtensionObject(12345, "opaque body");
  e.UInt32(99);
  Decoder d(e.bytes(), kLimits);
  ExtensionObjectHeader h = d.ExtensionObject();
  EXPECT_EQ(h.type_id, Ns0(12345));
  EXPECT_EQ(h.body, "opaque body");
  EXPECT_EQ(d.UInt32(), 99u);
  EXPECT_TRUE(d.ok());
}

TEST(OpcUaCodecTest, DateTimeEpochs) {
  EXPECT_EQ(TicksFromUnixNanos(0), 116'444'736'000'000'000);
  EXPECT_EQ(UnixNanosFromTicks(116'444'736'000'000'000), 0);
  EXPECT_EQ(UnixNanosFromTicks(std::numeric_limits<int64_t>::max()), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(UnixNanosFromTicks(std::numeric_limits<int64_t>::min()), std::numeric_limits<int64_t>::min());  // found by fuzzing
}

TEST(OpcUaTransportTest, ParsesEndpointUrls) {
  auto a = ParseEndpointUrl("opc.tcp://plc.local:4841/UA/Server");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "plc.local");
  EXPECT_EQ(a->port, 4841);
  EXPECT_EQ(a->path, "/UA/Server");
  auto b = ParseEndpointUrl("opc.tcp://[::1]:4840");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(ParseEndpointUrl("opc.tcp://host")->port, 4840);
  for (const char* bad : {"http://x:1", "opc.tcp://", "opc.tcp://h:0", "opc.tcp://h:99999", "opc.tcp://h:x", "opc.tcp://[::1"}) {
    EXPECT_FALSE(ParseEndpointUrl(bad).ok()) << bad;
  }
}

TEST(OpcUaTransportTest, HelloAndAcknowledge) {
  const std::string hello = EncodeHello("opc.tcp://h:1", {});
  auto header = ParseChunkHeader(hello, 1 << 16);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->type, "HEL");
  EXPECT_EQ(header->size, hello.size());

  Encoder ack;
  ack.UInt32(0);
  ack.UInt32(8192);
  ack.UInt32(65535);
  ack.UInt32(1 << 20);
  ack.UInt32(10);
  auto server = DecodeAcknowledge(ack.bytes());
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(server->receive_buffer_size, 8192u);
  EXPECT_EQ(server->max_chunk_count, 10u);

  Encoder tiny;
  for (uint32_t v : {0u, 100u, 100u, 0u, 0u}) tiny.UInt32(v);
  EXPECT_FALSE(DecodeAcknowledge(tiny.bytes()).ok());
  EXPECT_FALSE(DecodeAcknowledge("\x01\x02").ok());
}

TEST(OpcUaTransportTest, ErrorMessagesCarryTheServersReason) {
  Encoder err;
  err.UInt32(0x80830000);
  err.String("no such endpoint");
  Status s = DecodeErrorMessage(err.bytes());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "server error BadTcpEndpointUrlInvalid: no such endpoint");
}

TEST(OpcUaTransportTest, ChunkHeadersAreChecked) {
  EXPECT_FALSE(ParseChunkHeader("MSGF", 1000).ok());
  EXPECT_FALSE(ParseChunkHeader(Bytes({'X', 'Y', 'Z', 'F', 8, 0, 0, 0}), 1000).ok());
  EXPECT_FALSE(ParseChunkHeader(Bytes({'M', 'S', 'G', 'Q', 8, 0, 0, 0}), 1000).ok());
  EXPECT_FALSE(ParseChunkHeader(Bytes({'M', 'S', 'G', 'F', 4, 0, 0, 0}), 1000).ok());
  EXPECT_FALSE(ParseChunkHeader(Bytes({'M', 'S', 'G', 'F', 0xff, 0xff, 0xff, 0x7f}), 1000).ok());
  EXPECT_TRUE(ParseChunkHeader(Bytes({'M', 'S', 'G', 'C', 100, 0, 0, 0}), 1000).ok());
}

// Splits the encoded chunks of one message apart.
std::vector<std::string> SplitChunks(std::string_view bytes) {
  std::vector<std::string> chunks;
  while (!bytes.empty()) {
    auto h = ParseChunkHeader(bytes, 1 << 20);
    EXPECT_TRUE(h.ok());
    if (!h.ok()) break;
    chunks.emplace_back(bytes.substr(0, h->size));
    bytes.remove_prefix(h->size);
  }
  return chunks;
}

TEST(OpcUaTransportTest, MessagesAreChunkedAndReassembled) {
  std::string body(20'000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7);
  uint32_t sequence = 41;
  const std::string wire = EncodeSecureMessage("MSG", 5, 9, 77, body, 8192, sequence);
  EXPECT_EQ(sequence, 44u);  // three chunks
  const auto chunks = SplitChunks(wire);
  ASSERT_EQ(chunks.size(), 3u);
  MessageAssembler assembler(8, 1 << 20);
  std::optional<AssembledMessage> done;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_LE(chunks[i].size(), 8192u);
    auto c = ParseSecureChunk(chunks[i], 4096);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->channel_id, 5u);
    EXPECT_EQ(c->token_id, 9u);
    EXPECT_EQ(c->request_id, 77u);
    EXPECT_EQ(c->chunk_type, i + 1 < chunks.size() ? 'C' : 'F');
    auto m = assembler.Add(*c);
    ASSERT_TRUE(m.ok());
    if (i + 1 < chunks.size()) EXPECT_FALSE(m->has_value());
    else done = std::move(*m);
  }
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->body, body);
  EXPECT_EQ(done->type, "MSG");
  EXPECT_EQ(done->request_id, 77u);

  // The same chunks against tighter limits.
  MessageAssembler few_chunks(2, 1 << 20);
  Status failed;
  for (const auto& chunk : chunks) {
    auto m = few_chunks.Add(ParseSecureChunk(chunk, 4096).value());
    if (!m.ok()) failed = m.status();
  }
  EXPECT_NE(failed.message().find("more than 2 chunks"), std::string::npos) << failed.ToString();
  MessageAssembler small(8, 10'000);
  failed = Status();
  for (const auto& chunk : chunks) {
    auto m = small.Add(ParseSecureChunk(chunk, 4096).value());
    if (!m.ok()) failed = m.status();
  }
  EXPECT_NE(failed.message().find("more than 10000 bytes"), std::string::npos) << failed.ToString();
}

TEST(OpcUaTransportTest, SequenceNumbersMustRise) {
  uint32_t sequence = 10;
  const std::string first = EncodeSecureMessage("MSG", 1, 1, 1, "a", 8192, sequence);
  sequence = 20;
  const std::string jump = EncodeSecureMessage("MSG", 1, 1, 2, "b", 8192, sequence);
  MessageAssembler assembler(8, 1 << 20);
  EXPECT_TRUE(assembler.Add(ParseSecureChunk(first, 4096).value()).ok());
  EXPECT_FALSE(assembler.Add(ParseSecureChunk(jump, 4096).value()).ok());
}

TEST(OpcUaTransportTest, AbortChunksEndTheRequestWithTheReason) {
  Encoder reason;
  reason.UInt32(0x80800000);
  reason.String("too large");
  Encoder chunk;
  chunk.Append("MSGA");
  chunk.UInt32(0);
  chunk.UInt32(1);  // channel
  chunk.UInt32(1);  // token
  chunk.UInt32(3);  // sequence
  chunk.UInt32(8);  // request
  chunk.Append(reason.bytes());
  std::string bytes = chunk.Take();
  bytes[4] = static_cast<char>(bytes.size());
  auto c = ParseSecureChunk(bytes, 4096);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  MessageAssembler assembler(8, 1 << 20);
  auto m = assembler.Add(*c);
  ASSERT_TRUE(m.ok() && m->has_value());
  EXPECT_EQ((*m)->request_id, 8u);
  EXPECT_EQ((*m)->abort.message(), "server error BadTcpMessageTooLarge: too large");
}

TEST(OpcUaTransportTest, OpenSecureChannelChunkNamesPolicyNone) {
  uint32_t sequence = 0;
  const std::string opn = EncodeSecureMessage("OPN", 0, 0, 1, "body", 8192, sequence);
  auto c = ParseSecureChunk(opn, 4096);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->body, "body");
  EXPECT_EQ(c->sequence_number, 1u);
  EXPECT_NE(opn.find(kSecurityPolicyNoneUri), std::string::npos);
}

TEST(OpcUaMessagesTest, OpenSecureChannelResponse) {
  Encoder e;
  BeginResponseBytes(e, type_id::kOpenSecureChannelResponse);
  e.UInt32(0);
  e.UInt32(42);     // channel
  e.UInt32(3);      // token
  e.DateTime(0);
  e.UInt32(600'000);
  e.ByteString("");
  auto token = DecodeOpenSecureChannel(e.bytes(), kLimits);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->channel_id, 42u);
  EXPECT_EQ(token->token_id, 3u);
  EXPECT_EQ(token->revised_lifetime_ms, 600'000u);
}

TEST(OpcUaMessagesTest, ServiceFaultsAndBadResultsNameTheStatus) {
  Encoder fault;
  BeginResponseBytes(fault, type_id::kServiceFault, 0x80250000);
  Status s = DecodeRead(fault.bytes(), kLimits).status();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "Read: BadSessionIdInvalid");
  Encoder denied;
  BeginResponseBytes(denied, type_id::kActivateSessionResponse, 0x80210000);
  EXPECT_EQ(DecodeActivateSession(denied.bytes(), kLimits).code(), StatusCode::kPermissionDenied);
  Encoder wrong;
  BeginResponseBytes(wrong, type_id::kWriteResponse);
  wrong.Int32(0);
  wrong.Int32(0);
  EXPECT_EQ(DecodeRead(wrong.bytes(), kLimits).status().code(), StatusCode::kInvalidArgument);
}

TEST(OpcUaMessagesTest, ReadResponseAndItsLimits) {
  Encoder e;
  BeginResponseBytes(e, type_id::kReadResponse);
  e.Int32(2);
  e.DataValue({.value = Variant::Double(1.5)});
  e.DataValue({.value = {}, .status = 0x80340000});
  e.Int32(-1);
  auto values = DecodeRead(e.bytes(), kLimits);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  ASSERT_EQ(values->size(), 2u);
  EXPECT_EQ((*values)[0].value.AsNumber(), 1.5);
  EXPECT_EQ((*values)[1].status, 0x80340000u);

  Encoder huge;
  BeginResponseBytes(huge, type_id::kReadResponse);
  huge.Int32(2'147'483'647);
  Status s = DecodeRead(huge.bytes(), kLimits).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("Read: DataValue[]: array of 2147483647 elements exceeds 1000"), std::string::npos)
      << s.message();
  for (std::size_t n = 0; n < e.size(); ++n) {
    EXPECT_FALSE(DecodeRead(std::string_view(e.bytes()).substr(0, n), kLimits).ok()) << n;
  }
}

TEST(OpcUaMessagesTest, PublishResponseWithDataAndStatusChanges) {
  Encoder changes;
  changes.Int32(2);
  changes.UInt32(10);
  changes.DataValue({.value = Variant::Double(3)});
  changes.UInt32(11);
  changes.DataValue({.value = Variant::Boolean(false)});
  changes.Int32(-1);
  Encoder status_change;
  status_change.UInt32(0x80280000);
  status_change.Byte(0);
  Encoder e;
  BeginResponseBytes(e, type_id::kPublishResponse);
  e.UInt32(5);   // subscription
  e.Int32(1);    // available sequence numbers
  e.UInt32(17);
  e.Boolean(false);
  e.UInt32(17);  // sequence number
  e.DateTime(0);
  e.Int32(3);
  e.ExtensionObject(type_id::kDataChangeNotification, changes.bytes());
  e.ExtensionObject(type_id::kStatusChangeNotification, status_change.bytes());
  e.ExtensionObject(916, "events are skipped");
  e.Int32(0);   // results
  e.Int32(-1);  // diagnostics
  auto p = DecodePublish(e.bytes(), kLimits);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->subscription_id, 5u);
  EXPECT_EQ(p->sequence_number, 17u);
  EXPECT_TRUE(p->has_notifications);
  ASSERT_EQ(p->data_changes.size(), 2u);
  EXPECT_EQ(p->data_changes[0].client_handle, 10u);
  EXPECT_EQ(p->data_changes[0].value.value.AsNumber(), 3.0);
  EXPECT_EQ(p->data_changes[1].client_handle, 11u);
  EXPECT_EQ(p->status_changes, std::vector<uint32_t>{0x80280000});
  EXPECT_TRUE(DecodeAnyResponse(e.bytes(), kLimits).ok());

  // A data change body that lies about its length is an error of the whole message.
  Encoder lying;
  BeginResponseBytes(lying, type_id::kPublishResponse);
  lying.UInt32(5);
  lying.Int32(0);
  lying.Boolean(false);
  lying.UInt32(18);
  lying.DateTime(0);
  lying.Int32(1);
  lying.ExtensionObject(type_id::kDataChangeNotification, std::string_view(changes.bytes()).substr(0, 9));
  lying.Int32(0);
  lying.Int32(-1);
  EXPECT_EQ(DecodePublish(lying.bytes(), kLimits).status().code(), StatusCode::kInvalidArgument);
}

TEST(OpcUaMessagesTest, CreateSessionKeepsTheNoneEndpointsTokenPolicies) {
  auto endpoint = [](Encoder& e, uint32_t mode, std::string_view policy, std::string_view token_policy) {
    e.String("opc.tcp://h:1");
    e.String("urn:s");
    e.String("urn:p");
    e.LocalizedText("server");
    e.UInt32(0);
    e.Int32(-1);
    e.Int32(-1);
    e.Int32(0);
    e.Int32(-1);  // certificate
    e.UInt32(mode);
    e.String(policy);
    e.Int32(1);
    e.String(token_policy);
    e.UInt32(0);  // anonymous
    e.Int32(-1);
    e.Int32(-1);
    e.Int32(-1);
    e.String("http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary");
    e.Byte(0);
  };
  Encoder e;
  BeginResponseBytes(e, type_id::kCreateSessionResponse);
  e.NodeId(Id("ns=1;i=9"));
  e.NodeId(Id("ns=1;b=AQID"));
  e.Double(30'000);
  e.ByteString("nonce");
  e.Int32(-1);
  e.Int32(2);
  endpoint(e, 3, "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256", "secure-anon");
  endpoint(e, 1, kSecurityPolicyNoneUri, "0");
  e.Int32(0);
  e.Int32(-1);
  e.Int32(-1);
  e.UInt32(0);
  auto session = DecodeCreateSession(e.bytes(), kLimits);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_EQ(session->authentication_token, Id("ns=1;b=AQID"));
  EXPECT_EQ(session->revised_timeout_ms, 30'000);
  ASSERT_EQ(session->token_policies.size(), 1u);
  EXPECT_EQ(session->token_policies[0].policy_id, "0");
}

TEST(OpcUaMessagesTest, RequestsStartWithTheirTypeAndHeader) {
  Encoder e;
  const NodeId node = Id("ns=1;s=x");
  const uint32_t attribute = kAttributeValue;
  EncodeRead(e, {.request_handle = 9}, std::span(&node, 1), std::span(&attribute, 1));
  Decoder d(e.bytes(), kLimits);
  EXPECT_EQ(d.NodeId(), Ns0(type_id::kReadRequest));
  EXPECT_EQ(d.NodeId(), NodeId{});  // no session yet
  d.DateTime();
  EXPECT_EQ(d.UInt32(), 9u);
  EXPECT_TRUE(d.ok());
}

}  // namespace
}  // namespace doppel::connect::opcua::internal
