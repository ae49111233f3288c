#include "client/http_client.h"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cctype>

namespace doppel::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
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
         ec == asio::error::connection_aborted;
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::string BaseUrl::ToString() const {
  return fmt::format("http://{}:{}{}", host, port, path_prefix);
}

Result<BaseUrl> ParseBaseUrl(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return Status::InvalidArgument(
        fmt::format("invalid URL '{}': {}", url, parsed.error().message()));
  }
  if (parsed->scheme() != "http") {
    return Status::InvalidArgument(
        fmt::format("unsupported URL '{}': only http:// is supported", url));
  }
  if (parsed->host().empty())
    return Status::InvalidArgument(fmt::format("URL '{}' names no host", url));
  BaseUrl base;
  base.host = std::string(parsed->encoded_host_address());
  // Bracketed IPv6 literals resolve without their brackets.
  if (base.host.size() > 2 && base.host.front() == '[')
    base.host = base.host.substr(1, base.host.size() - 2);
  base.port = parsed->has_port() ? std::string(parsed->port()) : "80";
  base.path_prefix = std::string(parsed->encoded_path());
  while (!base.path_prefix.empty() && base.path_prefix.back() == '/') base.path_prefix.pop_back();
  return base;
}

std::string EncodePathSegment(std::string_view segment) {
  return PercentEncode(segment, "!$&'()*+,;=:@");
}

std::string EncodeQueryValue(std::string_view value) { return PercentEncode(value, ""); }

// One TCP connection and its read buffer. Synchronous calls are built from Beast's async
// operations driven by a private io_context, because only the async operations honour
// tcp_stream's deadlines.
struct HttpClient::Connection {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool open = false;

  void RunToCompletion() {
    ioc.restart();
    ioc.run();
  }

  void Close() {
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    open = false;
  }
};

HttpClient::HttpClient(BaseUrl base_url, HttpClientOptions options)
    : base_url_(std::move(base_url)),
      options_(options),
      connection_(std::make_unique<Connection>()) {}

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view base_url,
                                                       HttpClientOptions options) {
  DOPPEL_ASSIGN_OR_RETURN(BaseUrl parsed, ParseBaseUrl(base_url));
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(parsed), options));
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

Result<HttpResponse> HttpClient::Send(std::string_view method, std::string_view target,
                                      std::string_view body, const HttpHeaders& headers) {
  auto req = BuildRequest(base_url_, method, target, body, headers);
  Connection& c = *connection_;
  for (int attempt = 0;; ++attempt) {
    bool reused = c.open;
    if (!c.open) {
      DOPPEL_RETURN_IF_ERROR(Connect(c.ioc, c.stream, base_url_, options_.connect_timeout));
      c.open = true;
    }
    error_code write_ec, read_ec;
    c.stream.expires_after(options_.request_timeout);
    http::async_write(c.stream, req, [&](const error_code& e, std::size_t) { write_ec = e; });
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
      http::async_read(c.stream, c.buffer, parser,
                       [&](const error_code& e, std::size_t) { read_ec = e; });
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
