// The stream protocol's shapes (docs/streams.md): subscriptions as parsed from client
// requests, and the server's messages, serialised once per event.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "ingest/reading.h"
#include "stream/stream_hub.h"
#include "twin/events.h"

namespace doppel::stream::internal {

enum EventMask : uint8_t {
  kTelemetry = 1,   // readings
  kProperties = 2,  // Twin.Update
  kGraph = 4,       // Twin.Create/Delete, Relationship.*
  kAlerts = 8,      // alert changes of the twin (StreamHub::PublishAlert)
  kAllEvents = 15,
};

// Shared by a subscription and every queued message it matched, so that an unsubscribe can
// withdraw messages still queued (Take skips inactive tags) without touching the ring.
struct SubscriptionTag {
  std::string quoted_id;  // the subscription id as a JSON string literal
  std::atomic<bool> active{true};
};

struct Subscription {
  enum class Kind { kTwins, kModel, kQuery, kAlerts };  // kAlerts: every alert, no twins
  std::string id;
  Kind kind = Kind::kTwins;
  std::vector<std::string> ids;  // kTwins: as given
  std::string source;            // kModel: the model id; kQuery: the query text
  uint8_t events = kAllEvents;
  std::set<std::string, std::less<>> paths;      // telemetry paths; empty = all
  std::set<std::string, std::less<>> model_ids;  // kModel: the model and those extending it
  std::set<std::string, std::less<>> twins;      // what it covers now (indexed by the hub)
  std::shared_ptr<SubscriptionTag> tag;
};

// Parses a "subscribe" request (not yet resolved to twins). InvalidArgument naming the
// offending member.
Result<std::unique_ptr<Subscription>> ParseSubscribe(const json::object& request,
                                                     const StreamLimits& limits);

// "2026-11-25T19:34:17.123456789Z": RFC 3339 in UTC with nanoseconds.
std::string FormatTimeNs(int64_t ns);

// Server messages. Each begins with {"type":"<type>", — Take inserts the subscription id
// right after that first member (see SpliceSubscription).
std::string TelemetryMessage(const ingest::Reading& reading);
std::string TwinMessage(const twin::GraphEvent& event);
std::string RelationshipMessage(const twin::GraphEvent& event);
std::string AlertMessage(const json::object& alert);
std::string SpliceSubscription(const std::string& body, const std::string& quoted_id);

std::string SubscribedMessage(const Subscription& sub);
std::string UnsubscribedMessage(std::string_view id);
std::string DroppedMessage(uint64_t count);
std::string ErrorMessage(std::string_view message, const json::value* request, std::string_view raw);

}  // namespace doppel::stream::internal
