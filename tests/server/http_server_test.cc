// The transport over real loopback sockets, with a plain POSIX client so that the test sees
// exactly the bytes on the wire.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <optional>
#include <stdexcept>
#include <string>

namespace doppel::server {
namespace {

// One client connection. Reads fail the test instead of hanging (10 s socket timeout).
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }

  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads one response (status line, headers, Content-Length body); nullopt on EOF/timeout.
  std::optional<std::string> ReadResponse() {
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    std::string head = buffer_.substr(0, header_end + 4);
    std::size_t length = 0;
    if (auto p = Lower(head).find("content-length:"); p != std::string::npos) {
      length = std::stoul(head.substr(p + 15));
    }
    while (buffer_.size() < head.size() + length) {
      if (!Fill()) return std::nullopt;
    }
    std::string response = buffer_.substr(0, head.size() + length);
    buffer_.erase(0, head.size() + length);
    return response;
  }

  // Reads one response with a chunked body: the head and the decoded body; nullopt on EOF or
  // timeout before the last chunk.
  std::optional<std::pair<std::string, std::string>> ReadChunkedResponse() {
    std::size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    std::string head = buffer_.substr(0, header_end + 4);
    buffer_.erase(0, head.size());
    std::string body;
    while (true) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos) {
        if (!Fill()) return std::nullopt;
      }
      const std::size_t size = std::stoul(buffer_.substr(0, eol), nullptr, 16);
      while (buffer_.size() < eol + 2 + size + 2) {
        if (!Fill()) return std::nullopt;
      }
      body += buffer_.substr(eol + 2, size);
      buffer_.erase(0, eol + 2 + size + 2);
      if (size == 0) return std::make_pair(head, body);
    }
  }

  // True once the server has closed the connection (after any buffered bytes).
  bool ServerClosed() {
    char c;
    return buffer_.empty() && recv(fd_, &c, 1, 0) == 0;
  }

 private:
  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  bool Fill() {
    char chunk[4096];
    ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    options.threads = 2;
    server_ = std::make_unique<HttpServer>(options, [this](const HttpRequest& req) {
      ++calls_;
      if (req.target == "/throw") throw std::runtime_error("handler blew up");
      if (req.target.rfind("/stream", 0) == 0) return Streamed(req.target == "/stream-fail");
      HttpResponse r = HttpResponse::Text(200, req.method + " " + req.target + " " + req.body, "text/plain");
      r.SetHeader("X-Seen-If-Match", std::string(req.Header("if-match")));
      return r;
    });
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }
  // 2000 pieces "piece <i>\n"; with `fail`, an error after the third.
  static HttpResponse Streamed(bool fail) {
    auto next = std::make_shared<int>(0);
    return HttpResponse::Stream(200, "text/plain", [next, fail](std::string& chunk) {
      chunk.clear();
      if (fail && *next == 3) return Status::Internal("store went away");
      if (*next < 2000) chunk = "piece " + std::to_string((*next)++) + "\n";
      return Status::Ok();
    });
  }
  static std::string ExpectedStream() {
    std::string out;
    for (int i = 0; i < 2000; ++i) out += "piece " + std::to_string(i) + "\n";
    return out;
  }

  std::unique_ptr<HttpServer> server_;
  std::atomic<int> calls_{0};
};

TEST_F(HttpServerTest, StreamsBodyProducerAsChunksAndKeepsConnection) {
  Start();
  Client c(server_->port());
  c.Send("GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
  auto r = c.ReadChunkedResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r->first;
  EXPECT_NE(r->first.find("Transfer-Encoding: chunked"), std::string::npos) << r->first;
  EXPECT_EQ(r->first.find("Content-Length"), std::string::npos) << r->first;
  EXPECT_EQ(r->second, ExpectedStream());
  // The connection carries on after the last chunk.
  c.Send("GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
  auto after = c.ReadResponse();
  ASSERT_TRUE(after);
  EXPECT_NE(after->find("GET /after"), std::string::npos);
}

TEST_F(HttpServerTest, FailingBodyProducerTruncatesAndCloses) {
  Start();
  Client c(server_->port());
  c.Send("GET /stream-fail HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_FALSE(c.ReadChunkedResponse());  // no last chunk: the client can tell it is incomplete
  EXPECT_TRUE(c.ServerClosed());
}

TEST_F(HttpServerTest, Http10PeerGetsStreamedBodyCollected) {
  Start();
  Client c(server_->port());
  c.Send("GET /stream HTTP/1.0\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r->substr(0, 200);
  EXPECT_EQ(r->substr(r->find("\r\n\r\n") + 4), ExpectedStream());
}

TEST_F(HttpServerTest, ListensOnChosenPortAndAnswers) {
  Start();
  ASSERT_NE(server_->port(), 0);
  EXPECT_EQ(server_->address(), "127.0.0.1:" + std::to_string(server_->port()));
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send("PUT /digitaltwins/x?a=1 HTTP/1.1\r\nHost: h\r\nIf-Match: W/\"e\"\r\nContent-Length: 5\r\n\r\nhello");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *r;
  EXPECT_NE(r->find("X-Seen-If-Match: W/\"e\""), std::string::npos) << *r;
  EXPECT_NE(r->find("\r\n\r\nPUT /digitaltwins/x?a=1 hello"), std::string::npos) << *r;
}

TEST_F(HttpServerTest, KeepsConnectionAliveAcrossRequests) {
  Start();
  Client c(server_->port());
  c.Send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  auto first = c.ReadResponse();
  c.Send("GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
  auto second = c.ReadResponse();
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->find("GET /a"), std::string::npos);
  EXPECT_NE(second->find("GET /b"), std::string::npos);
  EXPECT_EQ(calls_, 2);
}

TEST_F(HttpServerTest, ClosesWhenClientAsks) {
  Start();
  Client c(server_->port());
  c.Send("GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("Connection: close"), std::string::npos) << *r;
  EXPECT_TRUE(c.ServerClosed());
}

TEST_F(HttpServerTest, RefusesOversizedBodyFromContentLengthWith413) {
  Start({.max_body_bytes = 100});
  Client c(server_->port());
  c.Send("POST /models HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 413", 0), 0u) << *r;
  EXPECT_NE(r->find("x-ms-error-code: PayloadTooLarge"), std::string::npos) << *r;
  EXPECT_NE(r->find("request body of 1000 bytes exceeds the limit of 100 bytes"), std::string::npos) << *r;
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, RefusesOversizedChunkedBodyWith413) {
  Start({.max_body_bytes = 10});
  Client c(server_->port());
  c.Send("POST /models HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 413", 0), 0u) << *r;
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, MalformedRequestGets400) {
  Start();
  Client c(server_->port());
  c.Send("THIS IS NOT HTTP\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 400", 0), 0u) << *r;
  EXPECT_NE(r->find("malformed HTTP request"), std::string::npos) << *r;
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, OversizedHeadersGet431) {
  Start({.max_header_bytes = 512});
  Client c(server_->port());
  c.Send("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 431", 0), 0u) << *r;
}

TEST_F(HttpServerTest, AnswersExpectContinueBeforeTheBody) {
  Start();
  Client c(server_->port());
  c.Send("POST /query HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  auto interim = c.ReadResponse();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->rfind("HTTP/1.1 100 Continue", 0), 0u) << *interim;
  c.Send("abc");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("POST /query abc"), std::string::npos) << *r;
}

TEST_F(HttpServerTest, HandlerExceptionBecomes500AndConnectionSurvives) {
  Start();
  Client c(server_->port());
  c.Send("GET /throw HTTP/1.1\r\nHost: h\r\n\r\n");
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 500", 0), 0u) << *r;
  EXPECT_NE(r->find("handler blew up"), std::string::npos);
  c.Send("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
  auto again = c.ReadResponse();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(HttpServerTest, StopClosesIdleConnectionsRefusesNewOnesAndIsIdempotent) {
  Start();
  uint16_t port = server_->port();
  Client idle(port);
  idle.Send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(idle.ReadResponse());
  server_->Stop();
  EXPECT_TRUE(idle.ServerClosed());
  // New connections are refused. (In theory another process could have taken the freed
  // ephemeral port, or the kernel self-connect; neither would answer as this server does.)
  Client late(port);
  if (late.connected()) {
    late.Send("GET /late HTTP/1.1\r\nHost: h\r\n\r\n");
    auto r = late.ReadResponse();
    EXPECT_TRUE(!r || r->find("GET /late") == 0) << *r;  // nothing, or our own bytes echoed
  }
  EXPECT_EQ(calls_, 1);
  server_->Stop();
}

TEST(HttpServerDrain, StopFinishesTheRequestInFlightThenClosesIt) {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  HttpServer server({.listen = "127.0.0.1:0", .threads = 2}, [&](const HttpRequest&) {
    entered.set_value();
    released.wait();
    return HttpResponse::Text(200, "done", "text/plain");
  });
  ASSERT_TRUE(server.Start().ok());
  uint16_t port = server.port();
  Client busy(port);
  busy.Send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
  entered.get_future().wait();  // the request is now in the handler

  std::thread stopper([&] { server.Stop(); });
  // Stop has begun once new connections are refused; the request in flight is still held.
  for (int i = 0; i < 1'000'000 && Client(port).connected(); ++i) std::this_thread::yield();
  release.set_value();
  auto r = busy.ReadResponse();
  stopper.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 200", 0), 0u) << *r;
  EXPECT_NE(r->find("Connection: close"), std::string::npos) << *r;
  EXPECT_NE(r->find("\r\n\r\ndone"), std::string::npos);
  EXPECT_TRUE(busy.ServerClosed());
}

TEST_F(HttpServerTest, SecondServerOnSamePortIsUnavailable) {
  Start();
  HttpServer other({.listen = "127.0.0.1:" + std::to_string(server_->port())},
                   [](const HttpRequest&) { return HttpResponse::NoContent(); });
  Status s = other.Start();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
}

TEST(ParseListenAddress, AcceptsHostPortForms) {
  auto a = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  auto c = ParseListenAddress(":9000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "");
  EXPECT_EQ(c->port, 9000);
}

TEST(ParseListenAddress, RejectsBadForms) {
  for (std::string_view bad : {"8080", "host:", "host:70000", "host:80x", "::1:80", "[::1]80", ""}) {
    auto r = ParseListenAddress(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace doppel::server
