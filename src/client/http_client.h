// A small synchronous HTTP/1.1 client: what the CLI and the integration tests use to talk to
// a Doppel server (or anything else speaking HTTP), over plain TCP or TLS ("https://").
//
// One HttpClient holds one keep-alive connection to one base URL and reuses it across
// requests; it reconnects transparently when the server has closed an idle connection.
// Every request has a deadline, so a hung server turns into an Unavailable status, never a
// hung caller. Boost.Beast does the work underneath and stays out of this header.
//
//   DOPPEL_ASSIGN_OR_RETURN(auto http, HttpClient::Create("http://127.0.0.1:8080"));
//   DOPPEL_ASSIGN_OR_RETURN(HttpResponse r, http->Get("/healthz"));
//   if (r.status == 200) ...
//
// HTTPS verifies the server the way a browser does: its certificate must chain to a trusted CA
// (the system's, or HttpClientOptions::ca_file) and name the URL's host (DNS name or IP
// address); the host name also goes out as SNI. TLS 1.2 is the minimum.
//
//   auto http = HttpClient::Create("https://twins.plant7.example:8443",
//                                  {.ca_file = "/etc/doppel/ca.pem"});
//
// Thread-safety: an HttpClient is used by one thread at a time; give each thread its own.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace doppel::client {

// Header fields in order; names compare case-insensitively when looked up.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  // The value of the first header named `name` (case-insensitive), if present.
  std::optional<std::string> Header(std::string_view name) const;
};

// "http[s]://host:port[/prefix]" taken apart.
struct BaseUrl {
  std::string host;
  std::string port;         // "80" ("443" for https) when the URL names none
  std::string path_prefix;  // "" or "/prefix" without a trailing slash
  bool tls = false;         // https

  std::string ToString() const;  // "http://host:port/prefix" (or https://)
};

// Errors: InvalidArgument naming the URL when it is not an http or https URL with a host.
Result<BaseUrl> ParseBaseUrl(std::string_view url);

// Percent-encodes one path segment (a twin id may hold ':', ' ', '/', ...). Unreserved
// characters (RFC 3986) pass through.
std::string EncodePathSegment(std::string_view segment);
// Percent-encodes a query parameter value.
std::string EncodeQueryValue(std::string_view value);

struct HttpClientOptions {
  // Time allowed to establish a TCP connection. Default 5 s: loopback answers in
  // microseconds, so anything slower means nobody is listening properly.
  std::chrono::milliseconds connect_timeout{5000};
  // Time allowed for writing one request and reading its whole response. Default 60 s:
  // generous enough for a RealEstateCore-sized model upload on a loaded machine.
  std::chrono::milliseconds request_timeout{60000};

  // https only. PEM bundle of the CAs trusted to sign the server's certificate. Default "":
  // the system's trust store (/etc/ssl/certs), right for a publicly issued certificate; a
  // private deployment CA needs its file here.
  std::string ca_file = {};
  // https only: a client certificate chain and its key (PEM), for a server that requires
  // mutual TLS. Default "": none sent.
  std::string cert_file = {};
  std::string key_file = {};
  // https only: skip verifying the server's certificate and name. Encrypts but authenticates
  // nothing (anyone on the path can impersonate the server): for tests and first-contact
  // debugging only. Default false.
  bool insecure = false;
};

class HttpClient {
 public:
  // Parses `base_url`; connects lazily on the first request. For https, also loads the TLS
  // files in `options`. Errors: InvalidArgument for a bad URL, or a TLS file that cannot be
  // read or parsed (naming the option and the file).
  static Result<std::unique_ptr<HttpClient>> Create(std::string_view base_url,
                                                    HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `method` (GET, PUT, POST, PATCH, DELETE, or any other token) to `target` (a path
  // with optional query, appended to the base URL's prefix). A body is sent with
  // Content-Length and, unless `headers` says otherwise, Content-Type application/json.
  // Any HTTP status is a successful Result; errors are only transport failures:
  // Unavailable "could not reach http://host:port: ..." or a timeout; for https also a failed
  // handshake ("TLS handshake with https://host:port failed: certificate verify failed").
  Result<HttpResponse> Send(std::string_view method, std::string_view target,
                            std::string_view body = {}, const HttpHeaders& headers = {});

  Result<HttpResponse> Get(std::string_view target, const HttpHeaders& headers = {}) {
    return Send("GET", target, {}, headers);
  }
  Result<HttpResponse> Put(std::string_view target, std::string_view body,
                           const HttpHeaders& headers = {}) {
    return Send("PUT", target, body, headers);
  }
  Result<HttpResponse> Post(std::string_view target, std::string_view body,
                            const HttpHeaders& headers = {}) {
    return Send("POST", target, body, headers);
  }
  Result<HttpResponse> Patch(std::string_view target, std::string_view body,
                             const HttpHeaders& headers = {}) {
    return Send("PATCH", target, body, headers);
  }
  Result<HttpResponse> Delete(std::string_view target, const HttpHeaders& headers = {}) {
    return Send("DELETE", target, {}, headers);
  }

  // Closes the kept-alive connection (the next request opens a new one).
  void Close();

  const BaseUrl& base_url() const { return base_url_; }

 private:
  struct Connection;  // Beast stream, TLS context and buffers, defined in the .cc
  HttpClient(BaseUrl base_url, HttpClientOptions options, std::unique_ptr<Connection> connection);
  // Connects (and for https, handshakes) `connection`.
  Status Open(Connection& connection);

  BaseUrl base_url_;
  HttpClientOptions options_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace doppel::client
