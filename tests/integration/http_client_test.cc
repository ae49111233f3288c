// The HTTP client on its own: URL handling and transport failures, without a Doppel server.
#include "client/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "client/api_client.h"
#include "server_process.h"

namespace doppel::client {
namespace {

TEST(BaseUrlTest, ParsesHostPortAndPrefix) {
  auto url = ParseBaseUrl("http://127.0.0.1:8080/twins-api/");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "8080");
  EXPECT_EQ(url->path_prefix, "/twins-api");
  EXPECT_EQ(url->ToString(), "http://127.0.0.1:8080/twins-api");
}

TEST(BaseUrlTest, DefaultsThePortAndUnbracketsIpv6) {
  auto plain = ParseBaseUrl("http://localhost");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, "80");
  auto v6 = ParseBaseUrl("http://[::1]:9000");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "9000");
}

TEST(BaseUrlTest, RejectsWhatItCannotSpeak) {
  EXPECT_EQ(ParseBaseUrl("ftp://example.com").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseBaseUrl("127.0.0.1:8080").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseBaseUrl("not a url").status().code(), StatusCode::kInvalidArgument);
}

TEST(EncodingTest, PathSegmentsKeepTwinIdsIntact) {
  EXPECT_EQ(EncodePathSegment("pump-1"), "pump-1");
  EXPECT_EQ(EncodePathSegment("dtmi:com:x;1"), "dtmi:com:x;1");
  EXPECT_EQ(EncodePathSegment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
  EXPECT_EQ(EncodeQueryValue("a=b&c"), "a%3Db%26c");
}

TEST(HttpClientTest, UnreachableServerNamesTheUrl) {
  // A port nobody listens on: bind one, note it, close it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto http = HttpClient::Create(url);
  ASSERT_TRUE(http.ok());
  auto r = (*http)->Get("/healthz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find(url), std::string::npos) << r.status().message();
}

TEST(HttpClientTest, SilentServerTimesOut) {
  // Accepts connections (the kernel does, via the backlog) but never answers.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  HttpClientOptions options;
  options.request_timeout = std::chrono::milliseconds(200);
  auto http =
      HttpClient::Create("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), options);
  ASSERT_TRUE(http.ok());
  auto r = (*http)->Get("/healthz");
  close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
}

// A kept-alive connection the server has since closed (idle timeout) is replaced without the
// caller noticing.
TEST(HttpClientTest, ReconnectsAfterTheServerClosesAnIdleConnection) {
  testing::TempDir dir;
  testing::WriteFile(dir.Sub("doppel.json"), R"({"readTimeoutMs": 100})");
  auto server =
      testing::ServerProcess::Start(dir.Sub("data"), {"--config", dir.Sub("doppel.json")});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = HttpClient::Create((*server)->url());
  ASSERT_TRUE(http.ok());
  for (int i = 0; i < 3; ++i) {
    auto r = (*http)->Get("/healthz");
    ASSERT_TRUE(r.ok()) << "request " << i << ": " << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // past the idle timeout
  }
}

TEST(StatusFromResponseTest, CarriesTheServersCodeAndMessage) {
  HttpResponse r;
  r.status = 404;
  r.body = R"({"error": {"code": "DigitalTwinNotFound", "message": "no twin x"}})";
  Status s = StatusFromResponse(r);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.error_code(), "DigitalTwinNotFound");
  EXPECT_EQ(s.message(), "no twin x");

  r.status = 409;
  r.body = R"({"error": {"code": "ModelAlreadyExists", "message": "m"}})";
  EXPECT_EQ(StatusFromResponse(r).code(), StatusCode::kAlreadyExists);

  r.status = 502;
  r.body = "Bad Gateway";
  r.headers = {{"X-Ms-Error-Code", "Upstream"}};
  s = StatusFromResponse(r);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.error_code(), "Upstream");
  EXPECT_EQ(s.message(), "HTTP 502: Bad Gateway");
}

}  // namespace
}  // namespace doppel::client
