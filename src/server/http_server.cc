// The only file that sees Boost.Beast and Asio (they compile slowly; everything else talks in
// HttpRequest/HttpResponse).
//
// Shape: one io_context run by N worker threads; an acceptor on its own strand; one Session per
// connection on its own strand, so a session's handlers never run concurrently. A session reads
// a request's header first (so an oversized Content-Length is refused before any body byte is
// read and "Expect: 100-continue" can be answered), then the body, calls the handler inline on
// its strand and writes the answer — in one piece, or chunk by chunk when the answer has a body
// producer (HttpResponse::stream; see WriteStreamed).
#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace doppel::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;

// After answering an error we close the connection; closing with unread request bytes in the
// kernel makes TCP send RST, which can destroy our response before the client reads it. So we
// half-close and discard what the client still sends, up to this much or this long.
constexpr std::size_t kLingerBytes = 8u << 20;
constexpr auto kLingerTime = std::chrono::seconds(2);

HttpRequest ToPlain(BeastRequest&& req) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  for (const auto& field : req) out.AddHeader(field.name_string(), std::string(field.value()));
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

class Session;

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
  bool Register(const std::shared_ptr<Session>& session);
  void Unregister(Session* session);
  bool stopping() const { return stopping_.load(); }
  const HttpServerOptions& options() const { return options_; }
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  void Accept();

  const HttpServerOptions options_;
  const HttpHandler handler_;
  // Declared before ioc_ so that sessions destroyed with the io_context can still unregister.
  std::mutex mu_;  // guards sessions_
  std::condition_variable drained_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool stopped_ = false;
  uint16_t port_ = 0;
  std::string address_;

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerCore& server) : stream_(std::move(socket)), server_(server) {}
  ~Session() { server_.Unregister(this); }

  void Start() {
    if (!server_.Register(shared_from_this())) return Close();
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    ReadHeader();
  }

  // Called (on this session's strand) when the server stops: an idle connection is closed now;
  // one with a request in flight closes after answering it.
  void OnServerStop() {
    if (!in_request_) Close();
  }

  void ForceClose() { Close(); }
  auto executor() { return stream_.get_executor(); }

 private:
  void ReadHeader() {
    in_request_ = false;
    if (server_.stopping()) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options().max_header_bytes));
    // No body limit while reading the header: OnHeader checks Content-Length itself, so the
    // 413 can name the declared size, then sets the limit for chunked bodies.
    parser_->body_limit(boost::none);
    stream_.expires_after(server_.options().read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
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
                               [self = shared_from_this()](beast::error_code wec, std::size_t) {
                                 if (wec) return self->Close();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(server_.options().read_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->OnBody(ec);
    });
  }

  void OnBody(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    BeastRequest req = parser_->release();
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    HttpResponse res = server_.Handle(ToPlain(std::move(req)));
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
    stream_.expires_after(server_.options().read_timeout);
    http::async_write(stream_, res_, [self = shared_from_this(), close, linger](beast::error_code ec, std::size_t) {
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
    stream_.expires_after(server_.options().read_timeout);
    http::async_write_header(stream_, *stream_sr_, [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
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
    stream_.expires_after(server_.options().read_timeout);
    if (chunk_.empty()) {
      return asio::async_write(stream_, http::make_chunk_last(),
                               [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
                                 self->EndStream(ec || close);
                               });
    }
    asio::async_write(stream_, http::make_chunk(asio::buffer(chunk_)),
                      [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
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

  // Half-closes and discards what the peer still sends (see kLingerBytes), then closes.
  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(kLingerTime);
    buffer_.consume(buffer_.size());
    DiscardSome();
  }

  void DiscardSome() {
    stream_.async_read_some(buffer_.prepare(64 * 1024), [self = shared_from_this()](beast::error_code ec,
                                                                                   std::size_t n) {
      self->lingered_ += n;
      if (ec || self->lingered_ > kLingerBytes) return self->Close();
      self->DiscardSome();
    });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  ServerCore& server_;
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
  std::size_t lingered_ = 0;
};

HttpResponse ServerCore::Handle(const HttpRequest& request) const {
  try {
    return handler_(request);
  } catch (const std::exception& e) {
    spdlog::error("unhandled exception answering {} {}: {}", request.method, request.target, e.what());
    return HttpResponse::Error(Status::Internal(std::string("internal error: ") + e.what()));
  }
}

bool ServerCore::Register(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  sessions_.emplace(session.get(), session);
  return true;
}

void ServerCore::Unregister(Session* session) {
  std::lock_guard lock(mu_);
  sessions_.erase(session);
  if (sessions_.empty()) drained_.notify_all();
}

Status ServerCore::Start() {
  if (started_) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(ListenAddress where, ParseListenAddress(options_.listen));
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
  address_ = local.address().is_v6() ? "[" + local.address().to_string() + "]:" + std::to_string(port_)
                                     : local.address().to_string() + ":" + std::to_string(port_);
  started_ = true;
  asio::post(acceptor_.get_executor(), [this] { Accept(); });
  // Handlers block (a write waits for its fsync), so by default run more workers than cores:
  // reads keep flowing while writes wait on the disk.
  int n = options_.threads > 0
              ? options_.threads
              : std::max(4, static_cast<int>(std::thread::hardware_concurrency()));
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
    std::make_shared<Session>(std::move(socket), *this)->Start();
    Accept();
  });
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
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(mu_);
      for (auto& [raw, weak] : sessions_) {
        if (auto session = weak.lock()) live.push_back(std::move(session));
      }
    }
    for (auto& session : live) asio::post(session->executor(), [session, action] { action(*session); });
  };
  each_session([](Session& s) { s.OnServerStop(); });
  {
    std::unique_lock lock(mu_);
    if (!drained_.wait_for(lock, options_.drain_timeout, [this] { return sessions_.empty(); })) {
      spdlog::warn("{} connection(s) still busy after the drain timeout; closing them", sessions_.size());
    }
  }
  each_session([](Session& s) { s.ForceClose(); });
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
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace doppel::server
