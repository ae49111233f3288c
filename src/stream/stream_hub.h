// Live streams: fans graph events (twin and relationship changes) and readings (telemetry) out
// to subscribed clients — the application side of the `/ws` WebSocket endpoint. No sockets
// here: the transport (server/http_server.cc) carries a StreamSession's messages over a
// WebSocket; see stream/websocket_endpoint.h for the glue and docs/streams.md for the protocol.
//
//   stream::StreamHub hub(graph, events, ingestor);      // subscribes to both sources
//   auto session = hub.Connect([&] { /* post "something to send" to the writer */ });
//   (*session)->HandleMessage(R"({"op":"subscribe","id":"s1","twins":["pump-1"]})");
//   stream::Outbox out;
//   (*session)->Take(out);   // out.frames: {"type":"subscribed","id":"s1","twins":1}, ...
//   ...
//   hub.Disconnect(**session);
//
// The publishing threads (the graph's writer, the ingest writers) never block on a client:
// for each event they find the matching subscriptions through a twin-id index, serialise the
// event once (only if someone matches) and append a shared pointer to each matching session's
// bounded ring. A full ring drops the NEW message (drop-newest) and counts it; the next Take
// returns what was queued followed by {"type":"dropped","count":N,"reason":"slow consumer"}, so
// the notice sits exactly where the gap is. After `disconnect_after_drops` drops without a
// Take in between the session is closed (code 1008).
//
// Visibility: a session may be given a twin::TwinFilter at Connect (twin/visibility.h; null =
// everything visible). It then sees only events of twins the filter admits, judged by the
// twin's model at the time of the event ("" for readings of a twin not in the graph):
// telemetry and Twin.Create/Update/Delete of visible twins, and relationship events whose
// source and target are both visible. Subscribing to an invisible twin id behaves exactly like
// subscribing to an unknown one (accepted, counted, silent); model and query subscriptions
// resolve to visible twins only (so their "twins" counts leak nothing), and a model
// subscription is joined by a twin only while it is visible. To judge relationship and
// telemetry events the hub keeps every twin's model in memory (an id and a pointer per twin)
// from the first filtered Connect on.
//
// Alerts (docs/alerts.md) are pushed by whoever owns them through PublishAlert: to the
// subscriptions covering the alert's twin (unless their "events" leave "alerts" out) and to
// every {"alerts": true} subscription, with the same visibility as the twin's other events.
//
// Thread-safety: every method may be called from any thread. Lifetimes: the graph, bus and
// ingestor must outlive the hub; the hub must outlive every session it handed out (stop the
// transport first, then destroy the hub).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "ingest/ingestor.h"
#include "twin/events.h"
#include "twin/field_mask.h"
#include "twin/twin_graph.h"
#include "twin/visibility.h"

namespace doppel::stream {

struct StreamLimits {
  // Concurrent sessions; Connect past it is ResourceExhausted (HTTP 429 before the upgrade).
  // Default 1000: each costs a queue of pointers plus its socket buffers.
  std::size_t max_connections = 1000;
  // Subscriptions per session. Default 64: a dashboard needs a handful; the cap bounds the
  // index a misbehaving client can grow.
  std::size_t max_subscriptions = 64;
  // Largest client message (one WebSocket message), bytes. Default 64 KiB: a subscribe with
  // a few thousand twin ids fits.
  std::size_t max_message_bytes = 64u << 10;
  // Messages queued per session before new ones are dropped. Default 4096: ~0.4 s of a
  // 10k readings/s stream, enough to ride out a GC pause or a slow frame on the client.
  std::size_t queue_capacity = 4096;
  // Drops without the client reading anything in between that end the session (close 1008).
  // Default 16384 (4 rings): a stalled client is cut off, a briefly slow one only loses data.
  std::size_t disconnect_after_drops = 16384;
  // Twins one subscription may resolve to (ids, model or query). Default 100,000.
  std::size_t max_twins_per_subscription = 100'000;
  // Replies (subscribed/error/...) waiting for the client before the session is closed: a
  // client that writes requests but never reads. Default 256.
  std::size_t max_pending_replies = 256;
};

// What the transport should send next: text frames in order, then, if `close`, a close frame.
struct Outbox {
  std::vector<std::string> frames;
  bool close = false;
  uint16_t close_code = 1000;
  std::string close_reason;
};

class StreamHub;
namespace internal {
struct Subscription;
struct SubscriptionTag;
}  // namespace internal

// One client connection's state: its subscriptions and its bounded queue. Created by
// StreamHub::Connect; used by one transport connection (HandleMessage and Take from its
// threads, one at a time) and by the publishing threads (through the hub).
class StreamSession {
 public:
  // `visible`, `masked`: see StreamHub::Connect.
  StreamSession(StreamHub& hub, std::function<void()> wake, twin::TwinFilter visible = nullptr,
                twin::FieldMask masked = {});
  ~StreamSession();
  StreamSession(const StreamSession&) = delete;
  StreamSession& operator=(const StreamSession&) = delete;

  // Handles one client message (a text frame): subscribe, unsubscribe, refresh, list. Bad
  // messages are answered with {"type":"error",...}; nothing a client sends throws.
  // Replies are queued: collect them with Take.
  void HandleMessage(std::string_view text);

  // Appends everything queued to `out.frames` (replies first, then events in publish order,
  // then a "dropped" notice if any were lost) and sets `out.close` if the session must end.
  // When it appends nothing, the wake callback is armed: it is called once, from whichever
  // thread queues the next message.
  void Take(Outbox& out);

  std::size_t subscription_count() const;

 private:
  friend class StreamHub;
  struct Item {
    std::shared_ptr<const std::string> body;  // the event, serialised once for everyone
    std::shared_ptr<const internal::SubscriptionTag> tag;
  };

  // Publisher side: never blocks beyond the ring's short mutex, never allocates.
  void Enqueue(const std::shared_ptr<const std::string>& body,
               const std::shared_ptr<const internal::SubscriptionTag>& tag);
  void Reply(std::string message);
  void Error(std::string_view message, const json::value* request, std::string_view raw);
  void Wake(std::unique_lock<std::mutex>& lock);

  StreamHub& hub_;
  const std::function<void()> wake_;
  const twin::TwinFilter visible_;  // null: everything
  const twin::FieldMask masked_;    // null: every value

  std::mutex queue_mu_;  // guards everything below up to the subscriptions
  std::vector<Item> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::deque<std::string> replies_;
  uint64_t dropped_since_take_ = 0;
  bool armed_ = false;   // Take found nothing: the next message calls wake_
  bool closing_ = false;  // disconnected for slowness (or too many unread replies)
  std::string close_reason_;

  // Guarded by the hub's mu_.
  std::map<std::string, std::unique_ptr<internal::Subscription>, std::less<>> subscriptions_;
};

class StreamHub {
 public:
  // Subscribes to `events` and `ingestor`; unsubscribes in the destructor.
  StreamHub(twin::TwinGraph& graph, twin::EventBus& events, ingest::Ingestor& ingestor,
            StreamLimits limits = {});
  ~StreamHub();
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  // A new session. `wake` is called (from any thread, at most once per arming — see Take)
  // when the session has something to send; it must be quick and must not call back into
  // the session. `visible` is what the session may see (see the file comment; null, the
  // default, sees everything); it is called on publishing threads, under the hub's lock.
  // `masked` (twin/field_mask.h; null, the default, sees every value) hides classified values:
  // a reading of a hidden path is not sent, and twin events come with hidden values removed
  // from their document and patch (an update that changed only hidden values is not sent).
  // ResourceExhausted past max_connections.
  Result<std::shared_ptr<StreamSession>> Connect(std::function<void()> wake,
                                                 twin::TwinFilter visible = nullptr,
                                                 twin::FieldMask masked = {});
  // Drops the session's subscriptions; after it returns, no publisher touches the session
  // and `wake` is not called again. Idempotent.
  void Disconnect(StreamSession& session);

  // Pushes an alert change ({"type":"alert","alert":{...}}, `alert` being alerts::AlertJson)
  // to the subscriptions covering `twin_id` and to every alerts subscription. A session with a
  // visibility filter gets it only when it sees the twin (an alert about no twin, "", only
  // when it sees every twin); one whose field mask hides any value of the twin's model gets
  // it without its evidence (null), which may quote those values. Never blocks on a client.
  void PublishAlert(std::string_view twin_id, const json::object& alert);

  // Prometheus text: doppel_ws_connections, doppel_ws_connections_total,
  // doppel_ws_connections_refused_total, doppel_ws_subscriptions, doppel_ws_messages_sent_total,
  // doppel_ws_messages_dropped_total, doppel_ws_slow_disconnects_total,
  // doppel_ws_client_errors_total.
  void RenderMetrics(std::string& out) const;

  struct Counters {
    uint64_t connections = 0;  // open now
    uint64_t connections_total = 0;
    uint64_t connections_refused = 0;
    uint64_t subscriptions = 0;  // active now
    uint64_t messages_sent = 0;  // frames handed to the transport (replies and events)
    uint64_t messages_dropped = 0;
    uint64_t slow_disconnects = 0;
    uint64_t client_errors = 0;
  };
  Counters counters() const;
  const StreamLimits& limits() const { return limits_; }

 private:
  friend class StreamSession;
  struct Target {
    StreamSession* session;
    internal::Subscription* sub;
  };

  void OnReadings(std::span<const ingest::Reading> readings);
  void OnGraphEvent(const twin::GraphEvent& event);
  void OnTwinEventLocked(const twin::GraphEvent& event);
  void OnRelationshipEventLocked(const twin::GraphEvent& event);
  // Index maintenance, under mu_ held exclusively.
  void IndexLocked(StreamSession& session, internal::Subscription& sub, const std::string& twin);
  void UnindexLocked(StreamSession& session, internal::Subscription& sub, const std::string& twin);
  void RemoveSubscriptionLocked(StreamSession& session, internal::Subscription& sub);

  // Client operations (StreamSession::HandleMessage), on the transport's thread.
  void Subscribe(StreamSession& session, const json::object& request);
  void Unsubscribe(StreamSession& session, const json::object& request);
  void Refresh(StreamSession& session, const json::object& request);
  void List(StreamSession& session, const json::object& request);
  // Resolves the twins a subscription covers now (ids as given, a model's twins, a query's;
  // the last two only those `session` may see).
  Status Resolve(const StreamSession& session, internal::Subscription& sub);
  // Visibility (see the file comment). Sees: the session's filter on a twin of `model`.
  static bool Sees(const StreamSession& session, std::string_view twin, std::string_view model);
  // The twin's model as tracked from graph events ("" if unknown), under mu_.
  std::string_view TrackedModelLocked(std::string_view twin) const;
  // Starts tracking twin models (idempotent): one graph read, under which mu_ is taken.
  void TrackModels();
  void TrackTwinEventLocked(const twin::GraphEvent& event, std::string_view model);
  // Installs (or replaces, same id) `sub` and sends "subscribed".
  void Install(StreamSession& session, std::unique_ptr<internal::Subscription> sub);

  twin::TwinGraph& graph_;
  twin::EventBus& events_;
  ingest::Ingestor& ingestor_;
  const StreamLimits limits_;
  twin::EventBus::SubscriptionId bus_subscription_ = 0;
  uint64_t ingest_subscription_ = 0;

  // Guards the index, every session's subscriptions_ and sessions_. Publishers hold it
  // shared while they fan out (telemetry), exclusively for graph events (model joins).
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::vector<Target>> by_twin_;
  std::vector<Target> model_subscriptions_;  // kModel subscriptions, for joins
  std::vector<Target> alert_subscriptions_;  // kAlerts subscriptions: every alert
  std::vector<StreamSession*> sessions_;
  // Every twin's current model, kept once a filtered session has connected (relationship
  // and telemetry events do not carry it, and the graph's lock is held while they are
  // published). Model ids are interned: the map holds a pointer per twin.
  bool tracking_models_ = false;
  std::set<std::string, std::less<>> model_names_;
  std::unordered_map<std::string, const std::string*> twin_models_;

  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> connections_total_{0};
  std::atomic<uint64_t> connections_refused_{0};
  std::atomic<uint64_t> subscriptions_{0};
  std::atomic<uint64_t> messages_sent_{0};
  std::atomic<uint64_t> messages_dropped_{0};
  std::atomic<uint64_t> slow_disconnects_{0};
  std::atomic<uint64_t> client_errors_{0};
};

}  // namespace doppel::stream
