#include "client/http_client.h"

#include <fmt/format.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <fstream>
#include <optional>

namespace doppel::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using boost::system::error_code;

// Responses bigger than this are refused rather than buffered: a query page or a model
// listing is megabytes at most, so 1 GiB only stops a runaway peer from eating memory.
constexpr std::uint64_t kMaxResponseBytes = 1ull << 30;

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string PercentEncode(std::string_view s, std::string_view also_allowed) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || also_allowed.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// The server closed a kept-alive connection between our requests: the request never
// reached it, so sending it again on a fresh connection is safe.
bool IsStaleConnectionError(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

// OpenSSL's queued reasons, joined (the queue is emptied).
std::string OpenSslReasons() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Status TlsFileError(std::string_view option, const std::string& path, std::string_view reason) {
  return Status::InvalidArgument(fmt::format("{} '{}': {}", option, path, reason));
}

// Readable first, so a missing file says so plainly rather than through OpenSSL's error stack.
Status CheckReadable(std::string_view option, const std::string& path) {
  if (!std::ifstream(path)) return TlsFileError(option, path, "cannot read the file");
  return Status::Ok();
}

// The client side of HttpClientOptions' TLS settings.
Result<std::unique_ptr<ssl::context>> MakeTlsContext(const HttpClientOptions& options) {
  ERR_clear_error();
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (options.insecure) {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    if (options.ca_file.empty()) {
      if (SSL_CTX_set_default_verify_paths(native) != 1) {
        return Status::InvalidArgument("cannot load the system's trusted CAs: " + OpenSslReasons());
      }
    } else {
      DOPPEL_RETURN_IF_ERROR(CheckReadable("ca_file", options.ca_file));
      if (SSL_CTX_load_verify_locations(native, options.ca_file.c_str(), nullptr) != 1) {
        return TlsFileError("ca_file", options.ca_file, OpenSslReasons());
      }
    }
  }
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    DOPPEL_RETURN_IF_ERROR(CheckReadable("cert_file", options.cert_file));
    if (SSL_CTX_use_certificate_chain_file(native, options.cert_file.c_str()) != 1) {
      return TlsFileError("cert_file", options.cert_file, OpenSslReasons());
    }
    DOPPEL_RETURN_IF_ERROR(CheckReadable("key_file", options.key_file));
    if (SSL_CTX_use_PrivateKey_file(native, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(native) != 1) {
      return TlsFileError("key_file", options.key_file, OpenSslReasons());
    }
  }
  return ctx;
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::string BaseUrl::ToString() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}{}", tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "",
                     port, path_prefix);
}

Result<BaseUrl> ParseBaseUrl(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return Status::InvalidArgument(
        fmt::format("invalid URL '{}': {}", url, parsed.error().message()));
  }
  if (parsed->scheme() != "http" && parsed->scheme() != "https") {
    return Status::InvalidArgument(
        fmt::format("unsupported URL '{}': only http:// and https:// are supported", url));
  }
  if (parsed->host().empty())
    return Status::InvalidArgument(fmt::format("URL '{}' names no host", url));
  BaseUrl base;
  base.tls = parsed->scheme() == "https";
  base.host = std::string(parsed->encoded_host_address());
  // Bracketed IPv6 literals resolve without their brackets.
  if (base.host.size() > 2 && base.host.front() == '[')
    base.host = base.host.substr(1, base.host.size() - 2);
  base.port = parsed->has_port() ? std::string(parsed->port()) : base.tls ? "443" : "80";
  base.path_prefix = std::string(parsed->encoded_path());
  while (!base.path_prefix.empty() && base.path_prefix.back() == '/') base.path_prefix.pop_back();
  return base;
}

std::string EncodePathSegment(std::string_view segment) {
  return PercentEncode(segment, "!$&'()*+,;=:@");
}

std::string EncodeQueryValue(std::string_view value) { return PercentEncode(value, ""); }

// One TCP connection (inside a TLS stream for https) and its read buffer. Synchronous calls
// are built from Beast's async operations driven by a private io_context, because only the
// async operations honour tcp_stream's deadlines. A TLS stream cannot be reused once closed,
// so each connection gets a fresh one over the long-lived context.
struct HttpClient::Connection {
  asio::io_context ioc;
  std::unique_ptr<ssl::context> tls_context;  // https only
  beast::tcp_stream plain{ioc};               // http only
  std::optional<TlsStream> tls;               // https only, while connected
  beast::flat_buffer buffer;
  bool open = false;

  beast::tcp_stream& tcp_stream() { return tls ? beast::get_lowest_layer(*tls) : plain; }

  void RunToCompletion() {
    ioc.restart();
    ioc.run();
  }

  // Runs `op` on whichever stream this connection speaks through.
  template <class Op>
  void WithStream(Op&& op) {
    if (tls) {
      op(*tls);
    } else {
      op(plain);
    }
  }

  // No TLS close_notify: every response we read is self-delimiting, so the server loses
  // nothing, and waiting for its answer would only slow the close.
  void Close() {
    error_code ignored;
    tcp_stream().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_stream().close();
    tls.reset();
    buffer.clear();
    open = false;
  }
};

HttpClient::HttpClient(BaseUrl base_url, HttpClientOptions options, std::unique_ptr<Connection> connection)
    : base_url_(std::move(base_url)), options_(std::move(options)), connection_(std::move(connection)) {}

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view base_url,
                                                       HttpClientOptions options) {
  DOPPEL_ASSIGN_OR_RETURN(BaseUrl parsed, ParseBaseUrl(base_url));
  auto connection = std::make_unique<Connection>();
  if (parsed.tls) {
    DOPPEL_ASSIGN_OR_RETURN(connection->tls_context, MakeTlsContext(options));
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(parsed), std::move(options), std::move(connection)));
}

void HttpClient::Close() {
  if (connection_->open) connection_->Close();
}

namespace {

Status Unreachable(const BaseUrl& url, const error_code& ec) {
  std::string reason = ec == beast::error::timeout ? "timed out" : ec.message();
  return Status::Unavailable(fmt::format("could not reach {}: {}", url.ToString(), reason));
}

Status Connect(asio::io_context& ioc, beast::tcp_stream& stream, const BaseUrl& url,
               std::chrono::milliseconds timeout) {
  tcp::resolver resolver(ioc);
  error_code ec;
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) return Unreachable(url, ec);
  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](const error_code& e, const tcp::endpoint&) { ec = e; });
  ioc.restart();
  ioc.run();
  if (ec) return Unreachable(url, ec);
  stream.socket().set_option(tcp::no_delay(true), ec);
  return Status::Ok();
}

// The TLS handshake on a connected stream, within `timeout`: SNI (for a DNS name; RFC 6066
// forbids IP literals there) and, unless the context verifies nothing, the certificate's name
// checked against the URL's host.
Status Handshake(asio::io_context& ioc, TlsStream& stream, const BaseUrl& url, bool verify_name,
                 std::chrono::milliseconds timeout) {
  error_code ec;
  asio::ip::make_address(url.host, ec);
  const bool is_ip = !ec;
  if (!is_ip) SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
  if (verify_name) stream.set_verify_callback(ssl::host_name_verification(url.host));
  ec = {};
  beast::get_lowest_layer(stream).expires_after(timeout);
  stream.async_handshake(ssl::stream_base::client, [&](const error_code& e) { ec = e; });
  ioc.restart();
  ioc.run();
  if (!ec) return Status::Ok();
  std::string reason = ec == beast::error::timeout ? "timed out" : ec.message();
  return Status::Unavailable(fmt::format("TLS handshake with {} failed: {}", url.ToString(), reason));
}

http::request<http::string_body> BuildRequest(const BaseUrl& url, std::string_view method,
                                              std::string_view target, std::string_view body,
                                              const HttpHeaders& headers) {
  http::request<http::string_body> req;
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(url.path_prefix + std::string(target));
  req.version(11);
  req.set(http::field::host, url.host + ":" + url.port);
  req.set(http::field::user_agent, "doppel-client");
  req.keep_alive(true);
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    req.set(name, value);
    if (beast::iequals(name, "content-type")) has_content_type = true;
  }
  if (!body.empty() && !has_content_type) req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  // Methods that may carry a body always state its length, even zero, so the server never
  // has to guess where the request ends.
  if (!body.empty() || verb == http::verb::put || verb == http::verb::post ||
      verb == http::verb::patch) {
    req.content_length(body.size());
  }
  return req;
}

HttpResponse ToResponse(http::response<http::string_body>&& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(res.body());
  return out;
}

}  // namespace

Status HttpClient::Open(Connection& c) {
  if (c.tls_context) {
    c.tls.emplace(c.ioc, *c.tls_context);
  }
  Status connected = Connect(c.ioc, c.tcp_stream(), base_url_, options_.connect_timeout);
  if (connected.ok() && c.tls) {
    connected = Handshake(c.ioc, *c.tls, base_url_, !options_.insecure, options_.connect_timeout);
  }
  if (!connected.ok()) {
    c.Close();
    return connected;
  }
  c.open = true;
  return Status::Ok();
}

Result<HttpResponse> HttpClient::Send(std::string_view method, std::string_view target,
                                      std::string_view body, const HttpHeaders& headers) {
  auto req = BuildRequest(base_url_, method, target, body, headers);
  Connection& c = *connection_;
  for (int attempt = 0;; ++attempt) {
    bool reused = c.open;
    if (!c.open) {
      DOPPEL_RETURN_IF_ERROR(Open(c));
    }
    error_code write_ec, read_ec;
    c.tcp_stream().expires_after(options_.request_timeout);
    c.WithStream([&](auto& stream) {
      http::async_write(stream, req, [&](const error_code& e, std::size_t) { write_ec = e; });
    });
    c.RunToCompletion();
    if (write_ec && reused && attempt == 0 && IsStaleConnectionError(write_ec)) {
      c.Close();
      continue;
    }
    // Read even after a failed write: a server refusing an oversized body answers (413) and
    // closes before taking it all, and that answer is what the caller needs to see.
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBytes);
    if (write_ec == beast::error::timeout) {
      read_ec = write_ec;
    } else {
      c.WithStream([&](auto& stream) {
        http::async_read(stream, c.buffer, parser, [&](const error_code& e, std::size_t) { read_ec = e; });
      });
      c.RunToCompletion();
    }
    if (read_ec) {
      bool nothing_received = !parser.got_some();
      c.Close();
      if (reused && attempt == 0 && nothing_received && !write_ec &&
          IsStaleConnectionError(read_ec))
        continue;
      return Unreachable(base_url_, write_ec ? write_ec : read_ec);
    }
    auto res = parser.release();
    if (!res.keep_alive() || write_ec) c.Close();
    return ToResponse(std::move(res));
  }
}

}  // namespace doppel::client
