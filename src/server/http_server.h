// An HTTP/1.1 server: accepts connections, parses requests with limits, hands each to a handler
// as a plain HttpRequest and writes back the HttpResponse. Boost.Beast/Asio live only in
// http_server.cc.
//
//   HttpServer server({.listen = "127.0.0.1:0"}, [&](const HttpRequest& r) { return api.Handle(r); });
//   DOPPEL_RETURN_IF_ERROR(server.Start());
//   std::cout << "listening on port " << server.port() << "\n";
//   ...
//   server.Stop();  // refuses new connections, finishes requests in flight, closes idle ones
//
// Protocol behaviour: keep-alive per HTTP/1.1 (and "Connection: keep-alive" on 1.0);
// "Expect: 100-continue" answered before the body is read; a body over max_body_bytes is
// refused with 413 from its Content-Length before it is read (or once it passes the limit when
// chunked), and the connection closed; headers over max_header_bytes get 431; malformed
// requests 400; a connection silent for read_timeout is closed. The handler is called on one of
// the worker threads, possibly concurrently for different connections; exceptions it throws are
// answered with 500 and logged.
//
// Thread-safety: Start/Stop/port from one controlling thread. Stop is idempotent and is also
// called by the destructor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "server/http_message.h"

namespace doppel::server {

struct HttpServerOptions {
  // "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 picks a free port (see port()).
  std::string listen = "127.0.0.1:8080";
  // Worker threads. 0 = max(4, hardware threads): handlers block on fsync, so more workers
  // than cores keep reads answered while writes wait on the disk.
  int threads = 0;
  // Largest request body accepted. Default 32 MiB, matching JsonLimits: a large DTDL ontology
  // upload fits; bigger batches should be split. Larger bodies get 413.
  std::size_t max_body_bytes = 32u << 20;
  // Largest request line + headers. Default 64 KiB — generous for bearer tokens, small enough
  // that a slow-loris client cannot pin much memory. Larger get 431.
  std::size_t max_header_bytes = 64u << 10;
  // A connection that sends nothing (or does not finish a request) for this long is closed.
  // Default 30 s: long enough for a large upload on a slow link to keep making progress.
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);
  // How long Stop() waits for requests in flight before closing their connections anyway.
  std::chrono::milliseconds drain_timeout = std::chrono::seconds(10);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct ListenAddress {
  std::string host;  // "" = all interfaces
  uint16_t port = 0;
};
// Parses HttpServerOptions::listen. Errors (InvalidArgument) say what is wrong.
Result<ListenAddress> ParseListenAddress(std::string_view listen);

class HttpServer {
 public:
  // `handler` must stay callable until Stop() returns.
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the worker threads. Errors: InvalidArgument (bad listen
  // address), Unavailable (address in use, permission denied), with the system's message.
  Status Start();
  // The bound port (the chosen one when listening on port 0); 0 before Start.
  uint16_t port() const;
  // The bound address as "host:port" ("[::1]:8080" for IPv6).
  std::string address() const;
  // Stops accepting, lets requests in flight finish (up to drain_timeout), closes idle
  // connections and joins the workers. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doppel::server
