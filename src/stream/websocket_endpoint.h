// Glue between the StreamHub and the HTTP server's WebSocket transport: the `/ws` endpoint.
//
//   stream::StreamHub hub(graph, events, ingestor);
//   server::HttpServer http({..., .websocket = stream::WebSocketEndpointFor(hub)}, handler);
//
// With access control, `authorize` decides at upgrade time who is asking and what they may
// see:
//
//   auto endpoint = stream::WebSocketEndpointFor(hub, [&](const server::HttpRequest& r)
//       -> Result<twin::TwinFilter> { ... return Status::Unauthenticated(...); ... });
//
// Header-only on purpose: doppel_server links doppel_stream, so the stream library cannot
// link the server back; whoever includes this (the app, tests) links both. The hub must
// outlive the server's Stop().
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "server/http_server.h"
#include "stream/stream_hub.h"
#include "twin/field_mask.h"
#include "twin/visibility.h"

namespace doppel::stream {

class StreamWebSocketHandler final : public server::WebSocketHandler {
 public:
  StreamWebSocketHandler(StreamHub& hub, std::shared_ptr<StreamSession> session)
      : hub_(hub), session_(std::move(session)) {}
  ~StreamWebSocketHandler() override { hub_.Disconnect(*session_); }

  void OnMessage(std::string_view text) override { session_->HandleMessage(text); }
  void Take(server::WebSocketOutbox& out) override {
    Outbox taken;
    taken.frames = std::move(out.frames);
    session_->Take(taken);
    out.frames = std::move(taken.frames);
    out.close = taken.close;
    out.close_code = taken.close_code;
    out.close_reason = std::move(taken.close_reason);
  }
  void OnClose() override { hub_.Disconnect(*session_); }

 private:
  StreamHub& hub_;
  std::shared_ptr<StreamSession> session_;
};

// Runs on the upgrade request, before the session exists: an error refuses the upgrade with
// its Status's HTTP answer (e.g. Unauthenticated → 401, PermissionDenied → 403); success gives
// the session its filter (null = everything visible). Called on the server's worker threads.
using StreamAuthorizer = std::function<Result<twin::TwinFilter>(const server::HttpRequest&)>;

// What a stream client may see: the twins (null: all) and, of those, the values (null: all;
// classified values its clearances do not cover are masked, twin/field_mask.h).
struct StreamAccess {
  twin::TwinFilter visible;
  twin::FieldMask masked;
};
// Like StreamAuthorizer, deciding the twins and the values a session may see.
using StreamAccessCheck = std::function<Result<StreamAccess>(const server::HttpRequest&)>;

// The `/ws` endpoint served by `hub`, with the hub's message-size limit. `check` (null: every
// client sees everything) is asked first on every upgrade.
inline server::WebSocketEndpoint WebSocketEndpointWithAccess(StreamHub& hub,
                                                             StreamAccessCheck check,
                                                             std::string path = "/ws") {
  server::WebSocketEndpoint endpoint;
  endpoint.path = std::move(path);
  endpoint.max_message_bytes = hub.limits().max_message_bytes;
  endpoint.open =
      [&hub, check = std::move(check)](
          const server::HttpRequest& request,
          std::function<void()> wake) -> Result<std::unique_ptr<server::WebSocketHandler>> {
    StreamAccess access;
    if (check) {
      DOPPEL_ASSIGN_OR_RETURN(access, check(request));
    }
    DOPPEL_ASSIGN_OR_RETURN(
        std::shared_ptr<StreamSession> session,
        hub.Connect(std::move(wake), std::move(access.visible), std::move(access.masked)));
    return std::unique_ptr<server::WebSocketHandler>(
        std::make_unique<StreamWebSocketHandler>(hub, std::move(session)));
  };
  return endpoint;
}

// The `/ws` endpoint served by `hub`, with the hub's message-size limit. `authorize` (null:
// every client sees everything) is asked first on every upgrade.
inline server::WebSocketEndpoint WebSocketEndpointFor(StreamHub& hub, StreamAuthorizer authorize,
                                                      std::string path = "/ws") {
  StreamAccessCheck check;
  if (authorize) {
    check = [authorize =
                 std::move(authorize)](const server::HttpRequest& request) -> Result<StreamAccess> {
      DOPPEL_ASSIGN_OR_RETURN(twin::TwinFilter visible, authorize(request));
      return StreamAccess{.visible = std::move(visible), .masked = {}};
    };
  }
  return WebSocketEndpointWithAccess(hub, std::move(check), std::move(path));
}

// The `/ws` endpoint without access control: every client sees everything.
inline server::WebSocketEndpoint WebSocketEndpointFor(StreamHub& hub, std::string path = "/ws") {
  return WebSocketEndpointFor(hub, StreamAuthorizer(), std::move(path));
}

}  // namespace doppel::stream
