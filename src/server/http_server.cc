// The only file that sees Boost.Beast and Asio (they compile slowly; everything else talks in
// HttpRequest/HttpResponse).
//
// Shape: one io_context run by N worker threads; an acceptor on its own strand; one Session per
// connection on its own strand, so a session's handlers never run concurrently. A session reads
// a request's header first (so an oversized Content-Length is refused before any body byte is
// read and "Expect: 100-continue" can be answered), then the body, calls the handler inline on
// its strand and writes the answer — in one piece, or chunk by chunk when the answer has a body
// producer (HttpResponse::stream; see WriteStreamed).
//
// A GET of the WebSocket path with "Upgrade: websocket" hands its socket to a WsSession: a read
// loop (client messages → WebSocketHandler::OnMessage) and a write loop (Take → frames) on the
// connection's strand. The write loop sleeps when Take gives nothing and is woken through a
// WakeRelay, which the handler may call from any thread (publishers) at any time, even after
// the connection is gone.
//
// TLS: Session and WsSession are templates over the byte stream — beast::tcp_stream for plain
// HTTP, beast::ssl_stream<beast::tcp_stream> for HTTPS — so both listeners run the same
// protocol code; a TLS session only adds the handshake before its first read. Deadlines are
// always set on the lowest layer (the TCP stream), which bounds TLS records too.
#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <charconv>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "server/internal/tls_context.h"

namespace doppel::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// After answering an error we close the connection; closing with unread request bytes in the
// kernel makes TCP send RST, which can destroy our response before the client reads it. So we
// half-close and discard what the client still sends, up to this much or this long.
constexpr std::size_t kLingerBytes = 8u << 20;
constexpr auto kLingerTime = std::chrono::seconds(2);
// How long a WebSocket close handshake may take before the socket is simply closed.
constexpr auto kCloseHandshakeTime = std::chrono::seconds(2);

// Who is on the other end of a connection, as the handler sees it (HttpRequest's fields).
struct Peer {
  std::string address;      // "ip:port"
  std::string tls_subject;  // the verified client certificate's subject, mutual TLS only
};

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const auto& address = endpoint.address();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

// The request without its body (the WebSocket upgrade has none worth keeping).
HttpRequest HeadToPlain(const BeastRequest& req, const Peer& peer) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  for (const auto& field : req) out.AddHeader(field.name_string(), std::string(field.value()));
  out.remote_address = peer.address;
  out.tls_client_subject = peer.tls_subject;
  return out;
}

HttpRequest ToPlain(BeastRequest&& req, const Peer& peer) {
  HttpRequest out = HeadToPlain(req, peer);
  out.body = std::move(req.body());
  return out;
}

BeastResponse ToBeast(HttpResponse&& res, unsigned version, bool keep_alive) {
  BeastResponse out;
  out.version(version);
  out.result(static_cast<unsigned>(res.status));
  out.set(http::field::server, "doppel");
  for (auto& [name, value] : res.headers) out.insert(name, value);
  out.body() = std::move(res.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

}  // namespace

int WorkerThreads(int threads) {
  return threads > 0 ? threads : std::max(4, static_cast<int>(std::thread::hardware_concurrency()));
}

Result<ListenAddress> ParseListenAddress(std::string_view listen) {
  ListenAddress out;
  std::string_view port_text;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return Status::InvalidArgument("listen address '" + std::string(listen) +
                                     "': expected [ipv6]:port");
    }
    out.host = std::string(listen.substr(1, close - 1));
    port_text = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("listen address '" + std::string(listen) +
                                     "': expected host:port (e.g. 127.0.0.1:8080)");
    }
    out.host = std::string(listen.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return Status::InvalidArgument("listen address '" + std::string(listen) +
                                     "': write IPv6 hosts in brackets, e.g. [::1]:8080");
    }
    port_text = listen.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Status::InvalidArgument("listen address '" + std::string(listen) + "': port '" +
                                   std::string(port_text) + "' is not a number from 0 to 65535");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

// What ServerCore tracks to drain on Stop: an HTTP session or a WebSocket one.
class Connection {
 public:
  virtual ~Connection() = default;
  // On the connection's strand: finish what is in flight, then close.
  virtual void OnServerStop() = 0;
  // On the connection's strand: close now.
  virtual void ForceClose() = 0;
  virtual asio::any_io_executor executor() = 0;
};

// The server proper; HttpServer::Impl is this under the name the header declares.
class ServerCore {
 public:
  ServerCore(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)), handler_(std::move(handler)), acceptor_(asio::make_strand(ioc_)) {}

  Status Start();
  void Stop();
  uint16_t port() const { return port_; }
  std::string address() const { return address_; }

  // Session bookkeeping, for draining on Stop. Register returns false once stopping.
  bool Register(const std::shared_ptr<Connection>& session);
  void Unregister(Connection* session);
  bool stopping() const { return stopping_.load(); }
  const HttpServerOptions& options() const { return options_; }
  HttpResponse Handle(const HttpRequest& request) const;
  void CountHandshakeFailure() { tls_handshake_failures_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t tls_handshake_failures() const { return tls_handshake_failures_.load(std::memory_order_relaxed); }

 private:
  void Accept();
  Status SetUpTls();
  void StartSession(tcp::socket socket);

  const HttpServerOptions options_;
  const HttpHandler handler_;
  // Declared before ioc_ so that sessions destroyed with the io_context can still unregister.
  std::mutex mu_;  // guards sessions_
  std::condition_variable drained_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> sessions_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool stopped_ = false;
  uint16_t port_ = 0;
  std::string address_;
  std::atomic<uint64_t> tls_handshake_failures_{0};

  // Set by Start when options_.tls is; outlives the io_context and so every session using it.
  std::optional<asio::ssl::context> tls_context_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
};

// One HTTP connection over `Stream` (PlainStream or TlsStream).
template <class Stream>
class Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  // `stream_args` construct the stream: the accepted socket, then the TLS context for TLS.
  template <class... StreamArgs>
  Session(ServerCore& server, std::string remote_address, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...), server_(server), executor_(stream_.get_executor()) {
    peer_.address = std::move(remote_address);
  }
  ~Session() override { server_.Unregister(this); }

  void Start() {
    if (!server_.Register(this->shared_from_this())) return Close();
    beast::error_code ec;
    Lowest().socket().set_option(tcp::no_delay(true), ec);
    if constexpr (kIsTls<Stream>) {
      Handshake();
    } else {
      ReadHeader();
    }
  }

  // Called (on this session's strand) when the server stops: an idle connection is closed now;
  // one with a request in flight closes after answering it.
  void OnServerStop() override {
    if (!in_request_) Close();
  }

  void ForceClose() override { Close(); }
  asio::any_io_executor executor() override { return executor_; }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // TLS only: the handshake has read_timeout like any other read. A client that fails it
  // (plain HTTP, TLS 1.1, an untrusted or missing client certificate) is hung up on: there is
  // no channel to send it a readable answer.
  void Handshake() {
    Lowest().expires_after(server_.options().read_timeout);
    stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
      self->OnHandshake(ec);
    });
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      server_.CountHandshakeFailure();
      spdlog::debug("TLS handshake with {} failed: {}", peer_.address, ec.message());
      return Close();
    }
    if constexpr (kIsTls<Stream>) peer_.tls_subject = internal::PeerCertificateSubject(stream_.native_handle());
    ReadHeader();
  }

  void ReadHeader() {
    in_request_ = false;
    if (server_.stopping()) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options().max_header_bytes));
    // No body limit while reading the header: OnHeader checks Content-Length itself, so the
    // 413 can name the declared size, then sets the limit for chunked bodies.
    parser_->body_limit(boost::none);
    Lowest().expires_after(server_.options().read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    in_request_ = true;
    const std::size_t limit = server_.options().max_body_bytes;
    if (auto length = parser_->content_length(); length && *length > limit) {
      return WriteError(Status::PayloadTooLarge(
          "request body of " + std::to_string(*length) + " bytes exceeds the limit of " + std::to_string(limit) +
              " bytes (max_body_bytes); split the upload or raise the limit",
          "PayloadTooLarge"));
    }
    parser_->body_limit(limit);
    const auto& req = parser_->get();
    if (EqualsIgnoreCase(req[http::field::expect], "100-continue")) {
      continue_.emplace(http::status::continue_, req.version());
      return http::async_write(stream_, *continue_,
                               [self = this->shared_from_this()](beast::error_code wec, std::size_t) {
                                 if (wec) return self->Close();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  void ReadBody() {
    Lowest().expires_after(server_.options().read_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->OnBody(ec);
    });
  }

  void OnBody(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    BeastRequest req = parser_->release();
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    if (IsWebSocketPath(req)) return OnWebSocketRequest(std::move(req));
    HttpResponse res = server_.Handle(ToPlain(std::move(req), peer_));
    Write(std::move(res), version, keep_alive);
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      std::string message = "request body exceeds the limit of " +
                            std::to_string(server_.options().max_body_bytes) +
                            " bytes (max_body_bytes); split the upload or raise the limit";
      return WriteError(Status::PayloadTooLarge(message, "PayloadTooLarge"));
    }
    if (ec == http::error::header_limit) {
      HttpResponse res = HttpResponse::Error(Status::InvalidArgument(
          "request headers exceed the limit of " + std::to_string(server_.options().max_header_bytes) +
              " bytes", "RequestHeaderFieldsTooLarge"));
      res.status = 431;
      res.close_connection = true;
      return Write(std::move(res), 11, false);
    }
    bool http_error = ec.category() == http::make_error_code(http::error::bad_target).category();
    if (http_error && ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return WriteError(Status::InvalidArgument("malformed HTTP request: " + ec.message()));
    }
    // end of stream, timeout, reset, or aborted by Stop: nothing to answer.
    Close();
  }

  void WriteError(const Status& status) {
    HttpResponse res = HttpResponse::Error(status);
    res.close_connection = true;
    Write(std::move(res), 11, false);
  }

  void Write(HttpResponse&& res, unsigned version, bool keep_alive) {
    // An error answered before the request was fully read leaves client bytes unread: linger.
    // An ordinary close (client asked, or we are stopping) has nothing left to drain.
    bool linger = res.close_connection;
    bool close = linger || !keep_alive || server_.stopping();
    if (res.stream && version >= 11 && !linger) return WriteStreamed(std::move(res), version, close);
    if (res.stream) {
      // HTTP/1.0 has no chunked encoding: collect the body (the producer bounds its size).
      if (Status s = res.CollectStream(); !s.ok()) res = HttpResponse::Error(s);
    }
    res_ = ToBeast(std::move(res), version, !close);
    Lowest().expires_after(server_.options().read_timeout);
    http::async_write(stream_, res_, [self = this->shared_from_this(), close, linger](beast::error_code ec, std::size_t) {
      if (ec || (close && !linger)) return self->Close();
      if (linger) return self->Linger();
      self->ReadHeader();
    });
  }

  // Streams a response whose body comes from HttpResponse::stream: the header (with
  // Transfer-Encoding: chunked), then one HTTP chunk per produced piece, then the last chunk.
  // One piece is in flight at a time, so memory stays at one piece however large the body.
  void WriteStreamed(HttpResponse&& res, unsigned version, bool close) {
    stream_res_.emplace();
    stream_res_->version(version);
    stream_res_->result(static_cast<unsigned>(res.status));
    stream_res_->set(http::field::server, "doppel");
    for (auto& [name, value] : res.headers) stream_res_->insert(name, value);
    stream_res_->keep_alive(!close);
    stream_res_->chunked(true);
    producer_ = std::move(res.stream);
    stream_sr_.emplace(*stream_res_);
    Lowest().expires_after(server_.options().read_timeout);
    http::async_write_header(stream_, *stream_sr_, [self = this->shared_from_this(), close](beast::error_code ec, std::size_t) {
      if (ec) return self->EndStream(true);
      self->WriteNextChunk(close);
    });
  }

  void WriteNextChunk(bool close) {
    chunk_.clear();
    Status produced = Status::Internal("the body producer threw");
    try {
      produced = producer_(chunk_);
    } catch (const std::exception& e) {
      produced = Status::Internal(std::string("the body producer threw: ") + e.what());
    }
    if (!produced.ok()) {
      // The status line is long gone: all we can do is not finish the body.
      spdlog::warn("streamed response aborted: {}", produced.ToString());
      return EndStream(true);
    }
    Lowest().expires_after(server_.options().read_timeout);
    if (chunk_.empty()) {
      return asio::async_write(stream_, http::make_chunk_last(),
                               [self = this->shared_from_this(), close](beast::error_code ec, std::size_t) {
                                 self->EndStream(ec || close);
                               });
    }
    asio::async_write(stream_, http::make_chunk(asio::buffer(chunk_)),
                      [self = this->shared_from_this(), close](beast::error_code ec, std::size_t) {
                        if (ec) return self->EndStream(true);
                        self->WriteNextChunk(close);
                      });
  }

  void EndStream(bool close) {
    producer_ = nullptr;  // releases what the producer holds before the next request
    stream_sr_.reset();
    stream_res_.reset();
    chunk_ = std::string();
    if (close) return Close();
    ReadHeader();
  }

  // Half-closes and discards what the peer still sends (see kLingerBytes), then closes. Under
  // TLS the discarded bytes are read raw from the TCP stream: nothing in them matters.
  void Linger() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    Lowest().expires_after(kLingerTime);
    buffer_.consume(buffer_.size());
    DiscardSome();
  }

  void DiscardSome() {
    Lowest().async_read_some(buffer_.prepare(64 * 1024), [self = this->shared_from_this()](beast::error_code ec,
                                                                                          std::size_t n) {
      self->lingered_ += n;
      if (ec || self->lingered_ > kLingerBytes) return self->Close();
      self->DiscardSome();
    });
  }

  bool IsWebSocketPath(const BeastRequest& req) const {
    const WebSocketEndpoint& endpoint = server_.options().websocket;
    if (!endpoint.open || req.method() != http::verb::get) return false;
    std::string_view target = req.target();
    return target.substr(0, target.find('?')) == endpoint.path;
  }

  // Upgrades (the socket moves to a WsSession; this session ends) or answers why not.
  void OnWebSocketRequest(BeastRequest&& req);

  // A TLS connection is closed without a close_notify: every response is self-delimiting
  // (Content-Length or chunked), so a client can tell a truncated one anyway, and waiting for
  // the peer's close_notify would hold connections open for clients that never send one.
  void Close() {
    if (upgraded_) return;  // the socket belongs to a WsSession now
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().socket().close(ec);
  }

  Stream stream_;
  ServerCore& server_;
  Peer peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  BeastResponse res_;
  // A streamed response in flight (WriteStreamed): its header, serializer, producer and the
  // piece being written.
  std::optional<http::response<http::empty_body>> stream_res_;
  std::optional<http::response_serializer<http::empty_body>> stream_sr_;
  HttpResponse::BodyProducer producer_;
  std::string chunk_;
  bool in_request_ = false;
  bool upgraded_ = false;
  std::size_t lingered_ = 0;
  const asio::any_io_executor executor_;
};

// Carries a handler's wake-up to its WsSession: created before the session (the handler is
// opened first), attached once it exists, and harmless after it is gone.
class WakeRelay {
 public:
  void Attach(std::function<void()> wake) {
    std::lock_guard lock(mu_);
    wake_ = std::move(wake);
  }
  void Detach() { Attach(nullptr); }
  void Fire() {
    std::lock_guard lock(mu_);
    if (wake_) wake_();
  }

 private:
  std::mutex mu_;
  std::function<void()> wake_;  // guarded by mu_
};

// One WebSocket connection over `Stream` (PlainStream or TlsStream), taken over from the
// Session that read its upgrade request.
template <class Stream>
class WsSession : public Connection, public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Stream&& stream, ServerCore& server, std::unique_ptr<WebSocketHandler> handler,
            std::shared_ptr<WakeRelay> relay)
      : ws_(std::move(stream)), server_(server), handler_(std::move(handler)), relay_(std::move(relay)),
        executor_(ws_.get_executor()), close_timer_(executor_) {}

  ~WsSession() override {
    relay_->Detach();
    End();
    server_.Unregister(this);
  }

  void Start(BeastRequest&& req) {
    if (!server_.Register(this->shared_from_this())) return ForceClose();
    std::weak_ptr<WsSession<Stream>> weak = this->shared_from_this();
    relay_->Attach([weak] {
      if (auto self = weak.lock()) asio::post(self->executor_, [self] { self->Pump(); });
    });
    const WebSocketEndpoint& endpoint = server_.options().websocket;
    // The websocket stream runs its own timers (handshake, idle ping); the TCP stream's
    // deadline is used only for writes (see Pump).
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = std::chrono::seconds(10);
    timeout.idle_timeout = endpoint.idle_timeout;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "doppel"); }));
    ws_.read_message_max(endpoint.max_message_bytes);
    ws_.text(true);
    request_ = std::move(req);
    ws_.async_accept(request_, [self = this->shared_from_this()](beast::error_code ec) {
      self->request_ = {};
      if (ec) return self->Fail();
      self->accepted_ = true;
      self->Read();
      self->Pump();
    });
  }

  void OnServerStop() override {
    // Mid-handshake there is no WebSocket to close politely yet.
    if (!accepted_) return ForceClose();
    CloseWith(websocket::close_code::going_away, "server stopping");
  }

  void ForceClose() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
    End();
  }

  asio::any_io_executor executor() override { return executor_; }

 private:
  void Read() {
    ws_.async_read(read_buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->Fail();
      if (!self->ended_) {
        self->handler_->OnMessage(beast::buffers_to_string(self->read_buffer_.data()));
      }
      self->read_buffer_.consume(self->read_buffer_.size());
      self->Pump();
      self->Read();
    });
  }

  // The write loop: one frame in flight at a time; when the outbox is empty, ask the handler
  // for more; when it has none, sleep until the relay fires.
  void Pump() {
    if (writing_ || closing_ || ended_) return;
    if (next_frame_ >= outbox_.frames.size()) {
      outbox_.frames.clear();
      next_frame_ = 0;
      handler_->Take(outbox_);
    }
    if (next_frame_ < outbox_.frames.size()) {
      writing_ = true;
      // A reader that stalls its socket for write_timeout loses the connection: the deadline
      // covers this frame only and is lifted when it is written.
      beast::get_lowest_layer(ws_).expires_after(server_.options().websocket.write_timeout);
      ws_.async_write(asio::buffer(outbox_.frames[next_frame_]),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->writing_ = false;
                        if (ec) return self->Fail();
                        beast::get_lowest_layer(self->ws_).expires_never();
                        ++self->next_frame_;
                        self->Pump();
                      });
      return;
    }
    if (outbox_.close) CloseWith(outbox_.close_code, outbox_.close_reason);
  }

  void CloseWith(uint16_t code, std::string reason) {
    if (closing_ || ended_) return;
    if (!accepted_) return ForceClose();
    closing_ = true;
    // Bound the close handshake (and any write it waits behind) for peers that never answer.
    // An own timer: the TCP stream's deadline would not cover the read already pending.
    close_timer_.expires_after(kCloseHandshakeTime);
    close_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->ForceClose();
    });
    websocket::close_reason why(static_cast<websocket::close_code>(code), reason);
    ws_.async_close(why, [self = this->shared_from_this()](beast::error_code) {
      self->close_timer_.cancel();
      self->ForceClose();
    });
  }

  // A read or write failed: the peer closed, went away or timed out.
  void Fail() { ForceClose(); }

  void End() {
    if (ended_) return;
    ended_ = true;
    handler_->OnClose();
  }

  websocket::stream<Stream> ws_;
  ServerCore& server_;
  std::unique_ptr<WebSocketHandler> handler_;
  std::shared_ptr<WakeRelay> relay_;
  const asio::any_io_executor executor_;
  asio::steady_timer close_timer_;
  BeastRequest request_;  // the upgrade request, until accepted
  beast::flat_buffer read_buffer_;
  WebSocketOutbox outbox_;
  std::size_t next_frame_ = 0;
  bool accepted_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool ended_ = false;
};

template <class Stream>
void Session<Stream>::OnWebSocketRequest(BeastRequest&& req) {
  if (!websocket::is_upgrade(req)) {
    HttpResponse res = HttpResponse::Error(Status::InvalidArgument(
        std::string(req.target().substr(0, req.target().find('?'))) +
            " is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)",
        "UpgradeRequired"));
    res.status = 426;
    res.SetHeader("Upgrade", "websocket");
    return Write(std::move(res), req.version(), req.keep_alive());
  }
  auto relay = std::make_shared<WakeRelay>();
  HttpRequest plain = HeadToPlain(req, peer_);
  Result<std::unique_ptr<WebSocketHandler>> handler = Status::Internal("the WebSocket endpoint threw");
  try {
    handler = server_.options().websocket.open(plain, [relay] { relay->Fire(); });
  } catch (const std::exception& e) {
    handler = Status::Internal(std::string("the WebSocket endpoint threw: ") + e.what());
  }
  if (!handler.ok()) {
    HttpResponse res = HttpResponse::Error(handler.status());
    return Write(std::move(res), req.version(), req.keep_alive());
  }
  upgraded_ = true;
  auto ws = std::make_shared<WsSession<Stream>>(std::move(stream_), server_, std::move(*handler), std::move(relay));
  ws->Start(std::move(req));
}

HttpResponse ServerCore::Handle(const HttpRequest& request) const {
  try {
    return handler_(request);
  } catch (const std::exception& e) {
    spdlog::error("unhandled exception answering {} {}: {}", request.method, request.target, e.what());
    return HttpResponse::Error(Status::Internal(std::string("internal error: ") + e.what()));
  }
}

bool ServerCore::Register(const std::shared_ptr<Connection>& session) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  sessions_.emplace(session.get(), session);
  return true;
}

void ServerCore::Unregister(Connection* session) {
  std::lock_guard lock(mu_);
  sessions_.erase(session);
  if (sessions_.empty()) drained_.notify_all();
}

Status ServerCore::SetUpTls() {
  if (!options_.tls) return Status::Ok();
  tls_context_.emplace(asio::ssl::context::tls_server);
  Status configured = internal::ConfigureServerTls(tls_context_->native_handle(), *options_.tls);
  if (!configured.ok()) tls_context_.reset();
  return configured;
}

Status ServerCore::Start() {
  if (started_) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(ListenAddress where, ParseListenAddress(options_.listen));
  // Certificates before the socket: a bad file must not leave a port bound.
  DOPPEL_RETURN_IF_ERROR(SetUpTls());
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto results = resolver.resolve(where.host.empty() ? "0.0.0.0" : where.host, std::to_string(where.port),
                                  tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return Status::InvalidArgument("cannot resolve listen host '" + where.host + "': " + ec.message());
  }
  tcp::endpoint endpoint = results.begin()->endpoint();
  auto fail = [&](std::string_view what) {
    return Status::Unavailable("cannot " + std::string(what) + " " + options_.listen + ": " + ec.message());
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("configure");
  acceptor_.bind(endpoint, ec);
  if (ec) return fail("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  tcp::endpoint local = acceptor_.local_endpoint(ec);
  port_ = local.port();
  address_ = FormatEndpoint(local);
  started_ = true;
  asio::post(acceptor_.get_executor(), [this] { Accept(); });
  // Handlers block (a write waits for its fsync), so by default run more workers than cores:
  // reads keep flowing while writes wait on the disk.
  int n = WorkerThreads(options_.threads);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
  return Status::Ok();
}

void ServerCore::Accept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Typically EMFILE: back off briefly rather than spin.
      spdlog::warn("accept failed: {}", ec.message());
      auto timer = std::make_shared<asio::steady_timer>(acceptor_.get_executor(), std::chrono::milliseconds(50));
      return timer->async_wait([this, timer](beast::error_code) { Accept(); });
    }
    StartSession(std::move(socket));
    Accept();
  });
}

void ServerCore::StartSession(tcp::socket socket) {
  beast::error_code ec;
  tcp::endpoint remote = socket.remote_endpoint(ec);
  std::string remote_address = ec ? std::string() : FormatEndpoint(remote);
  if (tls_context_) {
    std::make_shared<Session<TlsStream>>(*this, std::move(remote_address), std::move(socket), *tls_context_)->Start();
  } else {
    std::make_shared<Session<PlainStream>>(*this, std::move(remote_address), std::move(socket))->Start();
  }
}

void ServerCore::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_ = true;
  // Close the listening socket before anything else, and wait until it is closed, so that no
  // connection is accepted (not even into the kernel's backlog) from here on.
  std::promise<void> closed;
  asio::post(acceptor_.get_executor(), [this, &closed] {
    beast::error_code ec;
    acceptor_.close(ec);
    closed.set_value();
  });
  closed.get_future().wait();
  auto each_session = [this](auto action) {
    // Collect under the lock, post outside it: dropping the last reference to a session runs
    // its destructor, which takes mu_ to unregister.
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard lock(mu_);
      for (auto& [raw, weak] : sessions_) {
        if (auto session = weak.lock()) live.push_back(std::move(session));
      }
    }
    for (auto& session : live) asio::post(session->executor(), [session, action] { action(*session); });
  };
  each_session([](Connection& s) { s.OnServerStop(); });
  {
    std::unique_lock lock(mu_);
    if (!drained_.wait_for(lock, options_.drain_timeout, [this] { return sessions_.empty(); })) {
      spdlog::warn("{} connection(s) still busy after the drain timeout; closing them", sessions_.size());
    }
  }
  each_session([](Connection& s) { s.ForceClose(); });
  {
    // Give forced closes a moment to unwind before the io_context stops.
    std::unique_lock lock(mu_);
    drained_.wait_for(lock, std::chrono::seconds(1), [this] { return sessions_.empty(); });
  }
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

class HttpServer::Impl : public ServerCore {
 public:
  using ServerCore::ServerCore;
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() { return impl_->Start(); }
uint16_t HttpServer::port() const { return impl_->port(); }
std::string HttpServer::address() const { return impl_->address(); }
uint64_t HttpServer::tls_handshake_failures() const { return impl_->tls_handshake_failures(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace doppel::server
