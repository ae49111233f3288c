// HttpClient over https against a minimal in-process TLS server (Beast + OpenSSL), with a
// throwaway CA: verification by CA file and by name, the insecure escape hatch, client
// certificates, and clear errors for bad TLS files.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <string>
#include <thread>

#include "client/http_client.h"
#include "support/test_ca.h"

namespace doppel::client {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Serves one connection at a time on 127.0.0.1 from its own thread, answering every request
// with 200 "tls ok <target>" (and the client certificate's CN under mutual TLS).
class TinyTlsServer {
 public:
  TinyTlsServer(const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file = "")
      : ctx_(ssl::context::tls_server), acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    ctx_.use_certificate_chain_file(cert_file);
    ctx_.use_private_key_file(key_file, ssl::context::pem);
    if (!client_ca_file.empty()) {
      ctx_.load_verify_file(client_ca_file);
      ctx_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    thread_ = std::thread([this] { Serve(); });
  }

  ~TinyTlsServer() {
    stop_ = true;
    beast::error_code ec;
    tcp::socket wake(ioc_);
    wake.connect(acceptor_.local_endpoint(), ec);  // unblocks accept
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url(std::string_view host = "localhost") const {
    return "https://" + std::string(host) + ":" + std::to_string(port());
  }

 private:
  void Serve() {
    while (!stop_) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (stop_ || ec) return;
      timeval tv{10, 0};  // a stuck client must not hang the test
      setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      beast::ssl_stream<tcp::socket> stream(std::move(socket), ctx_);
      stream.handshake(ssl::stream_base::server, ec);
      if (!ec) Answer(stream);
    }
  }

  void Answer(beast::ssl_stream<tcp::socket>& stream) {
    beast::flat_buffer buffer;
    while (true) {
      beast::error_code ec;
      http::request<http::string_body> req;
      http::read(stream, buffer, req, ec);
      if (ec) return;
      http::response<http::string_body> res(http::status::ok, req.version());
      res.body() = "tls ok " + std::string(req.target()) + PeerName(stream);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec || !req.keep_alive()) return;
    }
  }

  static std::string PeerName(beast::ssl_stream<tcp::socket>& stream) {
    X509* cert = SSL_get0_peer_certificate(stream.native_handle());
    if (cert == nullptr) return "";
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return std::string(" for ") + cn;
  }

  asio::io_context ioc_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class HttpsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = testing::TestCa::Create();
    ASSERT_TRUE(ca.ok()) << ca.status().ToString();
    ca_ = std::move(*ca);
  }

  std::unique_ptr<testing::TestCa> ca_;
};

TEST(HttpsBaseUrlTest, ParsesHttpsWithItsDefaultPort) {
  auto url = ParseBaseUrl("https://twins.example/api/");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->ToString(), "https://twins.example:443/api");
  auto plain = ParseBaseUrl("http://twins.example");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(ParseBaseUrl("ftp://twins.example").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HttpsClientTest, TalksToAServerItsCaFileVouchesFor) {
  TinyTlsServer server(ca_->server_cert_file(), ca_->server_key_file());
  for (std::string host : {"localhost", "127.0.0.1"}) {  // a DNS name and an IP SAN
    auto http = HttpClient::Create(server.url(host), {.ca_file = ca_->ca_cert_file()});
    ASSERT_TRUE(http.ok()) << http.status().ToString();
    for (std::string target : {"/healthz", "/again"}) {  // the second reuses the connection
      auto r = (*http)->Get(target);
      ASSERT_TRUE(r.ok()) << host << ": " << r.status().ToString();
      EXPECT_EQ(r->status, 200);
      EXPECT_EQ(r->body, "tls ok " + target);
    }
  }
}

TEST_F(HttpsClientTest, RefusesAServerAnotherCaSigned) {
  TinyTlsServer server(ca_->server_cert_file(), ca_->server_key_file());
  auto other = testing::TestCa::Create("Some Other CA");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto http = HttpClient::Create(server.url(), {.ca_file = (*other)->ca_cert_file()});
  ASSERT_TRUE(http.ok()) << http.status().ToString();
  auto r = (*http)->Get("/healthz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("TLS handshake with " + server.url()), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos) << r.status().message();

  // Insecure skips exactly that check.
  auto insecure = HttpClient::Create(server.url(), {.ca_file = (*other)->ca_cert_file(), .insecure = true});
  ASSERT_TRUE(insecure.ok());
  auto ok = (*insecure)->Get("/healthz");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpsClientTest, RefusesACertificateForAnotherName) {
  auto elsewhere = ca_->Issue("elsewhere", {.common_name = "elsewhere.example", .alt_names = {"elsewhere.example"}});
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().ToString();
  TinyTlsServer server(elsewhere->cert_file, elsewhere->key_file);
  auto http = HttpClient::Create(server.url(), {.ca_file = ca_->ca_cert_file()});
  ASSERT_TRUE(http.ok());
  auto r = (*http)->Get("/healthz");
  ASSERT_FALSE(r.ok()) << "accepted a certificate for elsewhere.example from localhost";
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos) << r.status().message();
}

TEST_F(HttpsClientTest, PresentsItsClientCertificateWhenAsked) {
  TinyTlsServer server(ca_->server_cert_file(), ca_->server_key_file(), ca_->ca_cert_file());
  auto http = HttpClient::Create(server.url(), {.ca_file = ca_->ca_cert_file(),
                                                .cert_file = ca_->client_cert_file(),
                                                .key_file = ca_->client_key_file()});
  ASSERT_TRUE(http.ok()) << http.status().ToString();
  auto r = (*http)->Get("/me");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "tls ok /me for doppel-test-client");
  http->reset();  // the server serves one connection at a time

  auto anonymous = HttpClient::Create(server.url(), {.ca_file = ca_->ca_cert_file()});
  ASSERT_TRUE(anonymous.ok());
  auto refused = (*anonymous)->Get("/me");
  ASSERT_FALSE(refused.ok()) << "the server requires a client certificate";
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().message().find("timed out"), std::string::npos) << refused.status().message();
}

TEST_F(HttpsClientTest, BadTlsFilesAreNamedAtCreate) {
  auto missing = HttpClient::Create("https://localhost:1", {.ca_file = ca_->dir() + "/absent.pem"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("ca_file '" + ca_->dir() + "/absent.pem'"), std::string::npos)
      << missing.status().message();

  auto wrong_key = HttpClient::Create("https://localhost:1", {.ca_file = ca_->ca_cert_file(),
                                                              .cert_file = ca_->client_cert_file(),
                                                              .key_file = ca_->server_key_file()});
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_EQ(wrong_key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_key.status().message().find("key_file"), std::string::npos) << wrong_key.status().message();

  // Plain http ignores the TLS options, as before.
  EXPECT_TRUE(HttpClient::Create("http://localhost:1", {.ca_file = ca_->dir() + "/absent.pem"}).ok());
}

}  // namespace
}  // namespace doppel::client
