// HttpServer with HttpServerOptions::tls: HTTPS and wss:// over real loopback sockets, with a
// throwaway CA (tests/support/test_ca.h) and Beast/OpenSSL clients configured per test.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "server/http_server.h"
#include "support/test_ca.h"

namespace doppel::server {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// How a test client presents itself. Every client verifies the server against `ca_file` and
// checks the name "localhost" (SNI too), as a browser or curl would.
struct ClientTls {
  std::string ca_file = {};
  std::string cert_file = {};  // mutual TLS: the client certificate and its key
  std::string key_file = {};
  int max_version = 0;  // e.g. TLS1_1_VERSION for a client that speaks nothing newer
};

// The outcome of one HTTPS exchange: the response, or the first error (handshake or I/O).
struct Exchange {
  std::optional<http::response<http::string_body>> response;
  beast::error_code error;
};

ssl::context ClientContext(const ClientTls& tls) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.load_verify_file(tls.ca_file);
  if (!tls.cert_file.empty()) {
    ctx.use_certificate_chain_file(tls.cert_file);
    ctx.use_private_key_file(tls.key_file, ssl::context::pem);
  }
  if (tls.max_version != 0) {
    // OpenSSL 3 allows TLS < 1.2 only at security level 0: an old client, faithfully.
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx.native_handle(), tls.max_version);
    SSL_CTX_set_cipher_list(ctx.native_handle(), "DEFAULT:@SECLEVEL=0");
  }
  return ctx;
}

// A connected TLS stream to 127.0.0.1:port whose operations give up after 10 s.
class TlsClient {
 public:
  TlsClient(uint16_t port, const ClientTls& tls) : ctx_(ClientContext(tls)), stream_(ioc_, ctx_) {
    SSL_set_tlsext_host_name(stream_.native_handle(), "localhost");
    stream_.set_verify_callback(ssl::host_name_verification("localhost"));
    beast::get_lowest_layer(stream_).expires_after(10s);
    beast::get_lowest_layer(stream_).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  beast::error_code Handshake() {
    beast::error_code ec;
    stream_.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    Run();
    return ec;
  }

  // GET `target` on this connection (after Handshake).
  Exchange Get(std::string target) {
    Exchange out;
    http::request<http::string_body> req(http::verb::get, target, 11);
    req.set(http::field::host, "localhost");
    http::async_write(stream_, req, [&](beast::error_code e, std::size_t) { out.error = e; });
    Run();
    if (out.error) return out;
    http::response<http::string_body> res;
    http::async_read(stream_, buffer_, res, [&](beast::error_code e, std::size_t) { out.error = e; });
    Run();
    if (!out.error) out.response = std::move(res);
    return out;
  }

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  asio::io_context& ioc() { return ioc_; }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  ssl::context ctx_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

// Handshake + one GET on a fresh connection.
Exchange HttpsGet(uint16_t port, const ClientTls& tls, std::string target = "/hello") {
  TlsClient client(port, tls);
  if (beast::error_code ec = client.Handshake()) return {std::nullopt, ec};
  return client.Get(std::move(target));
}

// A wss:// client; every operation gives up after 10 s.
class WssClient {
 public:
  WssClient(uint16_t port, const ClientTls& tls) : ctx_(ClientContext(tls)), ws_(ioc_, ctx_), port_(port) {}

  // TCP connect, TLS handshake (verifying "localhost"), WebSocket upgrade of /ws.
  beast::error_code Connect() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).expires_after(10s);
    bool done = false;
    beast::get_lowest_layer(ws_).async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_),
                                               [&](beast::error_code e) { ec = e, done = true; });
    RunUntil(done);
    if (ec) return ec;
    SSL_set_tlsext_host_name(ws_.next_layer().native_handle(), "localhost");
    ws_.next_layer().set_verify_callback(ssl::host_name_verification("localhost"));
    done = false;
    ws_.next_layer().async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e, done = true; });
    RunUntil(done);
    if (ec) return ec;
    beast::get_lowest_layer(ws_).expires_never();  // the websocket stream's own timers from here
    websocket::stream_base::timeout timeout = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeout.handshake_timeout = 10s;
    timeout.idle_timeout = 10s;
    ws_.set_option(timeout);
    done = false;
    ws_.async_handshake(upgrade_, "localhost", "/ws", [&](beast::error_code e) { ec = e, done = true; });
    RunUntil(done);
    ws_.text(true);
    return ec;
  }

  beast::error_code Write(std::string_view text) {
    beast::error_code ec;
    bool done = false;
    ws_.async_write(asio::buffer(text), [&](beast::error_code e, std::size_t) { ec = e, done = true; });
    RunUntil(done);
    return ec;
  }

  // The next message, or the error that ended the connection (websocket::error::closed after
  // a close frame, see close_reason()).
  std::pair<std::string, beast::error_code> Read() {
    beast::error_code ec;
    beast::flat_buffer buffer;
    bool done = false;
    ws_.async_read(buffer, [&](beast::error_code e, std::size_t) { ec = e, done = true; });
    RunUntil(done);
    return {beast::buffers_to_string(buffer.data()), ec};
  }

  unsigned upgrade_status() const { return upgrade_.result_int(); }
  websocket::close_reason close_reason() const { return ws_.reason(); }

 private:
  // Until the operation's handler ran: run() would also wait out the websocket's idle timer.
  void RunUntil(const bool& done) {
    ioc_.restart();
    while (!done && ioc_.run_one() > 0) {
    }
  }

  asio::io_context ioc_;
  ssl::context ctx_;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
  websocket::response_type upgrade_;
  uint16_t port_;
};

// Echoes every message back as "echo: <text>".
class EchoHandler : public WebSocketHandler {
 public:
  explicit EchoHandler(std::function<void()> wake) : wake_(std::move(wake)) {}
  void OnMessage(std::string_view text) override {
    {
      std::lock_guard lock(mu_);
      pending_.push_back("echo: " + std::string(text));
    }
    wake_();
  }
  void Take(WebSocketOutbox& out) override {
    std::lock_guard lock(mu_);
    for (auto& frame : pending_) out.frames.push_back(std::move(frame));
    pending_.clear();
  }
  void OnClose() override {}

 private:
  std::function<void()> wake_;
  std::mutex mu_;
  std::deque<std::string> pending_;  // guarded by mu_
};

// The request fields the handler saw last, for assertions.
struct Seen {
  std::mutex mu;
  std::string remote_address;
  std::string tls_client_subject;
};

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = testing::TestCa::Create();
    ASSERT_TRUE(ca.ok()) << ca.status().ToString();
    ca_ = std::move(*ca);
    auto other = testing::TestCa::Create("Some Other CA");
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    other_ca_ = std::move(*other);
  }

  HttpServerOptions Options() const {
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 2;
    options.tls = TlsOptions{.cert_file = ca_->server_cert_file(), .key_file = ca_->server_key_file()};
    return options;
  }

  void StartServer(HttpServerOptions options) {
    server_ = std::make_unique<HttpServer>(std::move(options), [this](const HttpRequest& req) {
      std::lock_guard lock(seen_.mu);
      seen_.remote_address = req.remote_address;
      seen_.tls_client_subject = req.tls_client_subject;
      return HttpResponse::Text(200, "hello over " + req.target, "text/plain");
    });
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  ClientTls Trusting() const { return {.ca_file = ca_->ca_cert_file()}; }

  // The failure counter is bumped on the server's thread, after the client may already have
  // seen the alert: wait for it rather than race it.
  bool HandshakeFailuresReach(uint64_t n) const {
    for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
      if (server_->tls_handshake_failures() >= n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  std::unique_ptr<testing::TestCa> ca_;
  std::unique_ptr<testing::TestCa> other_ca_;
  Seen seen_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsServerTest, AnswersHttpsForAClientTrustingTheCa) {
  StartServer(Options());
  TlsClient client(server_->port(), Trusting());
  ASSERT_FALSE(client.Handshake());
  for (std::string target : {"/one", "/two"}) {  // keep-alive: both on one connection
    Exchange got = client.Get(target);
    ASSERT_TRUE(got.response) << got.error.message();
    EXPECT_EQ(got.response->result_int(), 200u);
    EXPECT_EQ(got.response->body(), "hello over " + target);
  }
  std::lock_guard lock(seen_.mu);
  EXPECT_EQ(seen_.remote_address.rfind("127.0.0.1:", 0), 0u) << seen_.remote_address;
  EXPECT_EQ(seen_.tls_client_subject, "");  // no client certificates asked for
  EXPECT_EQ(server_->tls_handshake_failures(), 0u);
}

TEST_F(TlsServerTest, ClientTrustingAnotherCaFailsVerification) {
  StartServer(Options());
  Exchange got = HttpsGet(server_->port(), {.ca_file = other_ca_->ca_cert_file()});
  EXPECT_FALSE(got.response);
  EXPECT_EQ(got.error.category(), asio::error::get_ssl_category()) << got.error.message();
  EXPECT_NE(got.error.message().find("certificate verify failed"), std::string::npos) << got.error.message();
  EXPECT_TRUE(HandshakeFailuresReach(1));
}

TEST_F(TlsServerTest, RefusesTls11) {
  StartServer(Options());
  ClientTls old = Trusting();
  old.max_version = TLS1_1_VERSION;
  Exchange got = HttpsGet(server_->port(), old);
  EXPECT_FALSE(got.response);
  EXPECT_TRUE(got.error);
  // The server saw the hello and refused it (not a client unable to even say hello).
  EXPECT_TRUE(HandshakeFailuresReach(1));
  ClientTls tls12 = Trusting();
  tls12.max_version = TLS1_2_VERSION;
  Exchange modern = HttpsGet(server_->port(), tls12);
  ASSERT_TRUE(modern.response) << modern.error.message();
  EXPECT_EQ(modern.response->result_int(), 200u);
}

TEST_F(TlsServerTest, PlainHttpToTheTlsPortIsHungUpOnAndTheServerKeepsServing) {
  StartServer(Options());
  asio::io_context ioc;
  beast::tcp_stream plain(ioc);
  plain.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  std::string request = "GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n";
  asio::write(plain.socket(), asio::buffer(request));
  std::string received;
  beast::error_code ec;
  plain.expires_after(10s);
  asio::async_read(plain, asio::dynamic_buffer(received), [&](beast::error_code e, std::size_t) { ec = e; });
  ioc.run();
  EXPECT_NE(ec, beast::error::timeout) << "the server kept the connection open";
  EXPECT_EQ(received.find("HTTP/"), std::string::npos) << received;
  EXPECT_TRUE(HandshakeFailuresReach(1));

  Exchange got = HttpsGet(server_->port(), Trusting());
  ASSERT_TRUE(got.response) << got.error.message();
  EXPECT_EQ(got.response->body(), "hello over /hello");
}

Result<std::unique_ptr<WebSocketHandler>> OpenEcho(const HttpRequest&, std::function<void()> wake) {
  return std::unique_ptr<WebSocketHandler>(std::make_unique<EchoHandler>(std::move(wake)));
}

TEST_F(TlsServerTest, WebSocketUpgradesOverTlsAndStopClosesWithGoingAway) {
  HttpServerOptions options = Options();
  options.websocket.open = OpenEcho;
  StartServer(std::move(options));

  WssClient ws(server_->port(), Trusting());
  ASSERT_FALSE(ws.Connect());
  EXPECT_EQ(ws.upgrade_status(), 101u);
  ASSERT_FALSE(ws.Write("ping over tls"));
  auto [echo, ec] = ws.Read();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(echo, "echo: ping over tls");

  std::thread stopper([&] { server_->Stop(); });
  auto [rest, end] = ws.Read();
  stopper.join();
  EXPECT_EQ(end, websocket::error::closed) << end.message();
  EXPECT_EQ(ws.close_reason().code, websocket::close_code::going_away);
}

TEST_F(TlsServerTest, WebSocketOverTlsClosesAClientThatIgnoresPings) {
  HttpServerOptions options = Options();
  options.websocket.idle_timeout = 100ms;
  options.websocket.open = OpenEcho;
  StartServer(std::move(options));
  WssClient ws(server_->port(), Trusting());
  ASSERT_FALSE(ws.Connect());
  // Not reading means not answering the server's ping: it gives up after the idle timeout. A
  // read long after that finds the connection gone (not a read that waits out its deadline).
  std::this_thread::sleep_for(1500ms);
  auto [text, ec] = ws.Read();
  EXPECT_TRUE(ec);
  EXPECT_NE(ec, beast::error::timeout) << "the server kept a silent client";
}

TEST_F(TlsServerTest, MutualTlsRefusesClientsWithoutATrustedCertificate) {
  HttpServerOptions options = Options();
  options.tls->client_ca_file = ca_->ca_cert_file();
  StartServer(std::move(options));

  Exchange anonymous = HttpsGet(server_->port(), Trusting());
  EXPECT_FALSE(anonymous.response) << "served a client without a certificate";
  testing::TestCa& other = *other_ca_;
  auto stranger = other.Issue("stranger", {.common_name = "stranger", .server_auth = false, .client_auth = true});
  ASSERT_TRUE(stranger.ok()) << stranger.status().ToString();
  Exchange foreign = HttpsGet(server_->port(), {.ca_file = ca_->ca_cert_file(),
                                                .cert_file = stranger->cert_file,
                                                .key_file = stranger->key_file});
  EXPECT_FALSE(foreign.response) << "served a client whose certificate another CA issued";
  EXPECT_TRUE(HandshakeFailuresReach(2));
}

TEST_F(TlsServerTest, MutualTlsPassesTheClientSubjectToTheHandler) {
  HttpServerOptions options = Options();
  options.tls->client_ca_file = ca_->ca_cert_file();
  StartServer(std::move(options));
  Exchange got = HttpsGet(server_->port(), {.ca_file = ca_->ca_cert_file(),
                                            .cert_file = ca_->client_cert_file(),
                                            .key_file = ca_->client_key_file()});
  ASSERT_TRUE(got.response) << got.error.message();
  EXPECT_EQ(got.response->result_int(), 200u);
  std::lock_guard lock(seen_.mu);
  EXPECT_EQ(seen_.tls_client_subject, testing::TestCa::kClientSubject);
}

class TlsStartTest : public TlsServerTest {
 protected:
  // Start's error for `options`; the server must not be listening afterwards.
  Status StartError(HttpServerOptions options) {
    HttpServer server(std::move(options), [](const HttpRequest&) { return HttpResponse::NoContent(); });
    Status s = server.Start();
    EXPECT_EQ(server.port(), 0) << "listening despite " << s.ToString();
    return s;
  }

  std::string WriteFile(std::string_view name, std::string_view content) {
    std::string path = ca_->dir() + "/" + std::string(name);
    std::ofstream(path) << content;
    return path;
  }
};

TEST_F(TlsStartTest, MissingCertificateFileIsNamed) {
  HttpServerOptions options = Options();
  options.tls->cert_file = ca_->dir() + "/nope.pem";
  Status s = StartError(options);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tls.cert_file"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("nope.pem"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No such file"), std::string::npos) << s.message();
}

TEST_F(TlsStartTest, GarbageFilesGiveOpenSslsReason) {
  HttpServerOptions bad_cert = Options();
  bad_cert.tls->cert_file = WriteFile("junk-cert.pem", "this is not a certificate\n");
  Status s = StartError(bad_cert);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("junk-cert.pem"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("no start line"), std::string::npos) << s.message();

  HttpServerOptions bad_key = Options();
  bad_key.tls->key_file = WriteFile("junk-key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  s = StartError(bad_key);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tls.key_file '" + bad_key.tls->key_file + "'"), std::string::npos) << s.message();

  HttpServerOptions bad_ca = Options();
  bad_ca.tls->client_ca_file = WriteFile("junk-ca.pem", "nothing here\n");
  s = StartError(bad_ca);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tls.client_ca_file"), std::string::npos) << s.message();
}

TEST_F(TlsStartTest, KeyOfAnotherCertificateIsRefused) {
  HttpServerOptions options = Options();
  options.tls->key_file = ca_->client_key_file();
  Status s = StartError(options);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("does not match the certificate"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("client-key.pem"), std::string::npos) << s.message();
}

TEST_F(TlsStartTest, EmptyCertificateOptionIsRequired) {
  HttpServerOptions options = Options();
  options.tls->cert_file.clear();
  Status s = StartError(options);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tls.cert_file is required"), std::string::npos) << s.message();
}

// The plain listener fills remote_address too (the audit log needs "from where" either way).
TEST(PlainServerPeerTest, RequestsCarryTheRemoteAddress) {
  std::string seen;
  std::mutex mu;
  HttpServer server({.listen = "127.0.0.1:0", .threads = 1}, [&](const HttpRequest& req) {
    std::lock_guard lock(mu);
    seen = req.remote_address + "|" + req.tls_client_subject;
    return HttpResponse::NoContent();
  });
  ASSERT_TRUE(server.Start().ok());
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
  const uint16_t local_port = stream.socket().local_endpoint().port();
  http::request<http::empty_body> req(http::verb::get, "/x", 11);
  req.set(http::field::host, "localhost");
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  EXPECT_EQ(res.result_int(), 204u);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, "127.0.0.1:" + std::to_string(local_port) + "|");
}

}  // namespace
}  // namespace doppel::server
