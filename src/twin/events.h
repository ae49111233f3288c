// The internal event bus: every change to the graph is published here, in order, with a
// monotonically increasing sequence number. Later capabilities (history, rules, WebSocket
// streams) subscribe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/json.h"

namespace doppel::twin {

enum class EventType {
  kTwinCreated, kTwinUpdated, kTwinDeleted,
  kRelationshipCreated, kRelationshipUpdated, kRelationshipDeleted,
  kModelsCreated, kModelUpdated, kModelDeleted,
};

std::string_view EventTypeName(EventType type);  // "Twin.Create" etc. (ADT event names)

struct GraphEvent {
  uint64_t seq = 0;
  EventType type;
  std::string subject;  // twin id, "<source>/relationships/<relId>", or model id
  std::string time;     // RFC 3339
  // Twin/Relationship created: {"doc": <the stored document>}.
  // Twin/Relationship updated: {"doc": <the new document>, "patch": <JSON Patch>} where the
  //   patch is the client's (PATCH; paths re-rooted at the twin for a component patch) or a
  //   property-level diff (PUT replacing an existing one).
  // Twin/Relationship deleted: the deleted document.
  // Model.Create: array of ADT model data (one per model of the batch; subject: ids joined by
  //   ","); Model.Update / Model.Delete: that model's data.
  json::value data;
};

// Thread-safety: Subscribe/Unsubscribe/Publish may be called from any thread. Handlers run on
// the publishing thread, in sequence order, and must not block or call back into the graph.
class EventBus {
 public:
  using Handler = std::function<void(const GraphEvent&)>;
  using SubscriptionId = uint64_t;

  SubscriptionId Subscribe(Handler handler);
  void Unsubscribe(SubscriptionId id);
  void Publish(const GraphEvent& event);

 private:
  std::mutex mu_;  // guards handlers_ and next_id_
  std::vector<std::pair<SubscriptionId, Handler>> handlers_;
  SubscriptionId next_id_ = 1;
};

}  // namespace doppel::twin
