// The OPC UA client against a scripted server on loopback: what node-opcua will not do on
// request — a refused Hello, a short channel token lifetime (renewal), malformed and hostile
// answers (the client errs and drops the connection, never crashes or over-allocates).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

#include "connect/opcua/internal/ua_codec.h"
#include "connect/opcua/internal/ua_messages.h"
#include "connect/opcua/internal/ua_transport.h"
#include "connect/opcua/opcua_client.h"

namespace doppel::connect::opcua {
namespace {

using namespace internal;  // NOLINT
using namespace std::chrono_literals;

const Limits kLimits{};

struct FakeRequest {
  std::string message_type;  // "OPN", "MSG", "CLO"
  uint32_t token_id = 0;
  uint32_t request_id = 0;
  uint32_t type_id = 0;
  std::string body;  // the whole encoded request
};

// One accepted connection, driven by a test's script on the server's thread.
class FakeConnection {
 public:
  explicit FakeConnection(int fd) : fd_(fd) {}
  ~FakeConnection() { close(fd_); }

  // The next chunk, or "" when the client closed or nothing came within 20 s.
  std::string ReadChunk() {
    while (true) {
      if (buffer_.size() >= 8) {
        const uint32_t size = static_cast<uint8_t>(buffer_[4]) | static_cast<uint8_t>(buffer_[5]) << 8 |
                              static_cast<uint8_t>(buffer_[6]) << 16 | static_cast<uint32_t>(static_cast<uint8_t>(buffer_[7])) << 24;
        if (buffer_.size() >= size) {
          std::string chunk = buffer_.substr(0, size);
          buffer_.erase(0, size);
          return chunk;
        }
      }
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, 20'000) <= 0) return {};
      char buf[8192];
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) return {};
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  FakeRequest ReadRequest() {
    FakeRequest r;
    const std::string chunk = ReadChunk();
    if (chunk.empty()) return r;
    auto c = ParseSecureChunk(chunk, 1 << 16);
    if (!c.ok()) return r;
    r.message_type = std::string(c->type);
    r.token_id = c->token_id;
    r.request_id = c->request_id;
    r.body = std::string(c->body);
    Decoder d(r.body, kLimits);
    const NodeId type = d.NodeId();
    if (const uint32_t* n = std::get_if<uint32_t>(&type.identifier)) r.type_id = *n;
    return r;
  }

  void Send(std::string_view bytes) { ASSERT_EQ(write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size())); }

  void Respond(std::string_view type, uint32_t request_id, std::string_view body) {
    Send(EncodeSecureMessage(type, /*channel_id=*/7, token_id_, request_id, body, 1 << 16, sequence_));
  }

  // Hello/Acknowledge, OpenSecureChannel (token 1, `lifetime_ms`), CreateSession and
  // ActivateSession. False when the client sent something else.
  bool Handshake(uint32_t lifetime_ms = 3'600'000) {
    if (ReadChunk().substr(0, 3) != "HEL") return false;
    Encoder ack;
    for (uint32_t v : {0u, 65536u, 65536u, 0u, 0u}) ack.UInt32(v);
    SendRaw("ACK", ack.bytes());
    FakeRequest open = ReadRequest();
    if (open.type_id != type_id::kOpenSecureChannelRequest) return false;
    Respond("OPN", open.request_id, OpenResponse(1, lifetime_ms));
    FakeRequest create = ReadRequest();
    if (create.type_id != type_id::kCreateSessionRequest) return false;
    Encoder session = Response(type_id::kCreateSessionResponse);
    session.NodeId(NodeId{.namespace_index = 1, .identifier = 100u});
    session.NodeId(NodeId{.namespace_index = 1, .identifier = 200u});
    session.Double(60'000);
    for (int i = 0; i < 2; ++i) session.Int32(-1);  // nonce, certificate
    session.Int32(-1);                              // endpoints: none listed
    session.Int32(-1);
    for (int i = 0; i < 2; ++i) session.Int32(-1);  // signature
    session.UInt32(0);
    Respond("MSG", create.request_id, session.bytes());
    FakeRequest activate = ReadRequest();
    if (activate.type_id != type_id::kActivateSessionRequest) return false;
    Encoder activated = Response(type_id::kActivateSessionResponse);
    for (int i = 0; i < 3; ++i) activated.Int32(-1);
    Respond("MSG", activate.request_id, activated.bytes());
    return true;
  }

  static Encoder Response(uint32_t type, uint32_t service_result = 0) {
    Encoder e;
    e.NodeId(Ns0(type));
    e.DateTime(0);
    e.UInt32(0);
    e.UInt32(service_result);
    e.Byte(0);
    e.Int32(-1);
    e.NullExtensionObject();
    return e;
  }

  std::string OpenResponse(uint32_t token, uint32_t lifetime_ms) {
    token_id_ = token;
    Encoder e = Response(type_id::kOpenSecureChannelResponse);
    e.UInt32(0);
    e.UInt32(7);
    e.UInt32(token);
    e.DateTime(0);
    e.UInt32(lifetime_ms);
    e.Int32(-1);
    return e.Take();
  }

  void SendRaw(std::string_view type, std::string_view body) {
    Encoder e;
    e.Append(type);
    e.Append("F");
    e.UInt32(static_cast<uint32_t>(8 + body.size()));
    e.Append(body);
    Send(e.bytes());
  }

 private:
  int fd_;
  std::string buffer_;
  uint32_t token_id_ = 0;
  uint32_t sequence_ = 0;
};

// Listens on a loopback port; runs `script` on the first connection it accepts.
class FakeServer {
 public:
  explicit FakeServer(std::function<void(FakeConnection&)> script) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listener_, 4);
    socklen_t len = sizeof(addr);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, script = std::move(script)] {
      pollfd p{.fd = listener_, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, 20'000) <= 0) return;
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      FakeConnection connection(fd);
      script(connection);
    });
  }
  ~FakeServer() {
    thread_.join();
    close(listener_);
  }
  std::string url() const { return "opc.tcp://127.0.0.1:" + std::to_string(port_) + "/fake"; }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
};

OpcUaClientOptions Options(const FakeServer& server) {
  return {.endpoint = server.url(), .request_timeout = 5'000ms, .reconnect_min = 60'000ms, .reconnect_max = 60'000ms};
}

bool WaitUntil(const std::function<bool()>& condition) {
  for (int i = 0; i < 300; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return condition();
}

TEST(OpcUaFakeServerTest, ARefusedHelloCarriesTheServersReason) {
  FakeServer server([](FakeConnection& c) {
    c.ReadChunk();
    Encoder err;
    err.UInt32(0x80830000);
    err.String("no endpoint /fake here");
    c.SendRaw("ERR", err.bytes());
    c.ReadChunk();  // until the client closes
  });
  OpcUaClient client(Options(server));
  Status s = client.Connect();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "server error BadTcpEndpointUrlInvalid: no endpoint /fake here");
}

TEST(OpcUaFakeServerTest, RenewsTheChannelTokenAndUsesTheNewOne) {
  std::atomic<bool> renewed{false};
  FakeServer server([&](FakeConnection& c) {
    ASSERT_TRUE(c.Handshake(/*lifetime_ms=*/1'000));
    // Answers Reads with the token id they came with, until the client closes.
    for (FakeRequest r = c.ReadRequest(); !r.message_type.empty() && r.message_type != "CLO"; r = c.ReadRequest()) {
      if (r.type_id == type_id::kOpenSecureChannelRequest) {
        Decoder d(r.body, kLimits);
        d.NodeId();
        d.NodeId();
        d.DateTime();
        d.UInt32();
        d.UInt32();
        d.StringView();
        d.UInt32();
        d.ExtensionObject();
        d.UInt32();                 // protocol version
        EXPECT_EQ(d.UInt32(), 1u);  // request type: renew
        c.Respond("OPN", r.request_id, c.OpenResponse(2, 1'000'000));
        renewed = true;
      } else if (r.type_id == type_id::kReadRequest) {
        Encoder response = FakeConnection::Response(type_id::kReadResponse);
        response.Int32(1);
        response.DataValue({.value = Variant::Double(r.token_id)});
        response.Int32(-1);
        c.Respond("MSG", r.request_id, response.bytes());
      } else if (r.type_id == type_id::kCloseSessionRequest) {
        c.Respond("MSG", r.request_id, FakeConnection::Response(type_id::kCloseSessionResponse).bytes());
      }
    }
  });
  OpcUaClient client(Options(server));
  ASSERT_TRUE(client.Connect().ok());
  const NodeId node = NodeId::Parse("ns=1;s=x").value();
  // The token is renewed at 75 % of its 1 s lifetime; requests then carry the new token.
  EXPECT_TRUE(WaitUntil([&] {
    auto values = client.Read(std::span(&node, 1));
    return values.ok() && (*values)[0].value.AsNumber() == 2.0;
  }));
  EXPECT_TRUE(renewed.load());
  EXPECT_TRUE(client.connected());
  client.Disconnect();
}

TEST(OpcUaFakeServerTest, AHugeArrayIsAnErrorAndDropsTheConnection) {
  FakeServer server([](FakeConnection& c) {
    ASSERT_TRUE(c.Handshake());
    FakeRequest read = c.ReadRequest();
    Encoder response = FakeConnection::Response(type_id::kReadResponse);
    response.Int32(2'147'483'647);
    response.Double(1);
    c.Respond("MSG", read.request_id, response.bytes());
    c.ReadChunk();  // until the client closes
  });
  OpcUaClient client(Options(server));
  ASSERT_TRUE(client.Connect().ok());
  const NodeId node = NodeId::Parse("ns=1;s=x").value();
  auto values = client.Read(std::span(&node, 1));
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(values.status().message().find("array of 2147483647 elements exceeds 1000000"), std::string::npos)
      << values.status().message();
  EXPECT_TRUE(WaitUntil([&] { return !client.connected(); }));
  EXPECT_EQ(client.counters().protocol_errors, 1u);
  EXPECT_EQ(client.Read(std::span(&node, 1)).status().code(), StatusCode::kUnavailable);
}

TEST(OpcUaFakeServerTest, AMalformedChunkDropsTheConnection) {
  FakeServer server([](FakeConnection& c) {
    ASSERT_TRUE(c.Handshake());
    c.Send(std::string("XYZF\x10\x00\x00\x00garbage!", 16));
    c.ReadChunk();
  });
  OpcUaClient client(Options(server));
  ASSERT_TRUE(client.Connect().ok());
  EXPECT_TRUE(WaitUntil([&] { return !client.connected(); }));
  EXPECT_EQ(client.counters().protocol_errors, 1u);
}

TEST(OpcUaFakeServerTest, AnOversizedChunkIsRefusedBeforeReadingIt) {
  FakeServer server([](FakeConnection& c) {
    ASSERT_TRUE(c.Handshake());
    c.Send(std::string("MSGF\xff\xff\xff\x7f", 8));
    c.ReadChunk();
  });
  OpcUaClient client(Options(server));
  ASSERT_TRUE(client.Connect().ok());
  EXPECT_TRUE(WaitUntil([&] { return !client.connected(); }));
  EXPECT_EQ(client.counters().protocol_errors, 1u);
}

}  // namespace
}  // namespace doppel::connect::opcua
