#include "twin/events.h"

#include <algorithm>

namespace doppel::twin {

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kTwinCreated: return "Twin.Create";
    case EventType::kTwinUpdated: return "Twin.Update";
    case EventType::kTwinDeleted: return "Twin.Delete";
    case EventType::kRelationshipCreated: return "Relationship.Create";
    case EventType::kRelationshipUpdated: return "Relationship.Update";
    case EventType::kRelationshipDeleted: return "Relationship.Delete";
    case EventType::kModelsCreated: return "Model.Create";
    case EventType::kModelUpdated: return "Model.Update";
    case EventType::kModelDeleted: return "Model.Delete";
  }
  return "Unknown";
}

EventBus::SubscriptionId EventBus::Subscribe(Handler handler) {
  std::lock_guard lock(mu_);
  handlers_.emplace_back(next_id_, std::move(handler));
  return next_id_++;
}

void EventBus::Unsubscribe(SubscriptionId id) {
  std::lock_guard lock(mu_);
  std::erase_if(handlers_, [id](const auto& h) { return h.first == id; });
}

void EventBus::Publish(const GraphEvent& event) {
  // Handlers run under the lock: publishers are already serialised by the graph's write lock,
  // and holding it here keeps Unsubscribe from racing a running handler.
  std::lock_guard lock(mu_);
  for (const auto& [id, handler] : handlers_) handler(event);
}

}  // namespace doppel::twin
