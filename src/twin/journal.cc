#include "twin/journal.h"

namespace doppel::twin {

Status MemoryJournal::Commit(std::span<const Mutation> mutations, uint64_t last_event_seq) {
  for (const auto& m : mutations) {
    switch (m.kind) {
      case Mutation::Kind::kPutModel: models_[m.key] = m.value; break;
      case Mutation::Kind::kDeleteModel: models_.erase(m.key); break;
      case Mutation::Kind::kPutTwin: twins_[m.key] = m.value; break;
      case Mutation::Kind::kDeleteTwin: twins_.erase(m.key); break;
      case Mutation::Kind::kPutRelationship: relationships_[m.key] = m.value; break;
      case Mutation::Kind::kDeleteRelationship: relationships_.erase(m.key); break;
    }
  }
  last_event_seq_ = last_event_seq;
  ++commits_;
  return Status::Ok();
}

Status MemoryJournal::Replay(
    const std::function<Status(Mutation::Kind, std::string_view, std::string_view)>& visit,
    uint64_t& last_event_seq) {
  for (const auto& [k, v] : models_) DOPPEL_RETURN_IF_ERROR(visit(Mutation::Kind::kPutModel, k, v));
  for (const auto& [k, v] : twins_) DOPPEL_RETURN_IF_ERROR(visit(Mutation::Kind::kPutTwin, k, v));
  for (const auto& [k, v] : relationships_) {
    DOPPEL_RETURN_IF_ERROR(visit(Mutation::Kind::kPutRelationship, k, v));
  }
  last_event_seq = last_event_seq_;
  return Status::Ok();
}

}  // namespace doppel::twin
