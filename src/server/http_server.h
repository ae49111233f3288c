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
// WebSocket: when HttpServerOptions::websocket.open is set, a GET of websocket.path carrying
// "Upgrade: websocket" becomes a WebSocket connection (same listener and port; the request
// passed the usual header limits first) served by the WebSocketHandler that `open` returns;
// a plain GET of that path gets 426 Upgrade Required. The server pings an idle client and
// closes it if it stops answering; Stop() sends close 1001 ("going away") to every client.
//
// TLS: when HttpServerOptions::tls is set the listener speaks only HTTPS (and wss:// for the
// WebSocket endpoint); everything above applies unchanged inside the TLS session. The handshake
// must finish within read_timeout; a client that fails it (plain HTTP, an old protocol version,
// no or an untrusted client certificate under mutual TLS) is disconnected without an answer,
// logged at debug level and counted (tls_handshake_failures()).
//
// Thread-safety: Start/Stop/port from one controlling thread. Stop is idempotent and is also
// called by the destructor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "server/http_message.h"

namespace doppel::server {

// What a WebSocket connection should send next: text frames in order, then, if `close`, a
// close frame with `close_code` (RFC 6455: 1000 normal, 1008 policy violation, ...) and reason.
struct WebSocketOutbox {
  std::vector<std::string> frames;
  bool close = false;
  uint16_t close_code = 1000;
  std::string close_reason;
};

// The application side of one WebSocket connection. The transport calls it from one
// connection's strand, never concurrently for the same connection.
class WebSocketHandler {
 public:
  virtual ~WebSocketHandler() = default;
  // One complete message from the client (text; a binary message is passed as its bytes).
  virtual void OnMessage(std::string_view text) = 0;
  // Appends what to send next to `out` (and sets out.close to end the connection). The
  // transport calls it when it is ready to write; appending nothing means "wait": the handler
  // must then call the `wake` it was opened with once it has something (from any thread).
  virtual void Take(WebSocketOutbox& out) = 0;
  // The connection ended (either side closed, an error, a timeout, Stop). Called once, before
  // the handler is destroyed; `wake` may still be called afterwards and is then a no-op.
  virtual void OnClose() = 0;
};

struct WebSocketEndpoint {
  // The path (without query) that upgrades. Default "/ws".
  std::string path = "/ws";
  // Opens the application side of a new connection, given the upgrade request and the wake
  // callback (see WebSocketHandler::Take; callable from any thread, cheap, never blocks). An
  // error refuses the upgrade with the status's HTTP answer (e.g. 429 for too many
  // connections). Null = no WebSocket endpoint (the path is an ordinary route).
  std::function<Result<std::unique_ptr<WebSocketHandler>>(const HttpRequest& request,
                                                           std::function<void()> wake)>
      open;
  // Largest client message. Default 64 KiB; bigger ones close the connection with 1009.
  std::size_t max_message_bytes = 64u << 10;
  // A client silent this long is pinged; one that does not answer within as long again is
  // closed. Default 30 s, like read_timeout.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
  // A frame the client's socket does not take within this long closes the connection: a
  // stalled reader must not pin a frame and a worker forever. Default 10 s.
  std::chrono::milliseconds write_timeout = std::chrono::seconds(10);
};

// HTTPS for the listener. The server accepts TLS 1.2 and 1.3 only, with forward-secret AEAD
// cipher suites (ECDHE with AES-GCM or ChaCha20-Poly1305; OpenSSL's defaults for 1.3), and
// turns off TLS compression (CRIME) and renegotiation (a client-triggered CPU sink).
// Files are read once, by Start(); replacing a certificate takes a restart.
struct TlsOptions {
  // PEM certificate chain: the server certificate first, then any intermediates up to (not
  // necessarily including) the root, in order.
  std::string cert_file = {};
  // PEM private key of the first certificate in cert_file (unencrypted).
  std::string key_file = {};
  // Mutual TLS: when set, a PEM bundle of the CAs that issue client certificates. Every client
  // must then present a certificate that chains to one of them or the handshake fails; its
  // subject reaches the handler as HttpRequest::tls_client_subject. Default "": no client
  // certificates are requested (clients authenticate at the HTTP layer, e.g. bearer tokens).
  std::string client_ca_file = {};
};

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
  // The WebSocket endpoint (off unless websocket.open is set). See WebSocketEndpoint.
  WebSocketEndpoint websocket = {};
  // HTTPS instead of plain HTTP on `listen` (see TlsOptions). Default: plain HTTP, for a
  // loopback listener or one behind a TLS-terminating proxy.
  std::optional<TlsOptions> tls = std::nullopt;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// The worker threads HttpServer runs for HttpServerOptions::threads (0 = max(4, cores)).
int WorkerThreads(int threads);

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
  // address; with TLS, a certificate, key or CA file that is missing or invalid, or a key that
  // does not match the certificate, naming the file and OpenSSL's reason), Unavailable (address
  // in use, permission denied), with the system's message.
  Status Start();
  // The bound port (the chosen one when listening on port 0); 0 before Start.
  uint16_t port() const;
  // The bound address as "host:port" ("[::1]:8080" for IPv6).
  std::string address() const;
  // TLS handshakes that failed or timed out since Start (0 for a plain listener).
  uint64_t tls_handshake_failures() const;
  // Stops accepting, lets requests in flight finish (up to drain_timeout), closes idle
  // connections and joins the workers. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace doppel::server
