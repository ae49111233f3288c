// GraphState: the graph's maps and the indexes kept exact on every change.
#include "twin/twin_graph.h"

#include <optional>
#include <string>

#include "twin/internal/twin_documents.h"

namespace doppel::twin {

const Twin* GraphState::FindTwin(std::string_view id) const {
  auto it = twins_.find(id);
  return it == twins_.end() ? nullptr : &it->second;
}

const std::set<std::string>* GraphState::TwinsOfExactModel(std::string_view model_id) const {
  auto it = twins_by_model_.find(std::string(model_id));
  return it == twins_by_model_.end() ? nullptr : &it->second;
}

const std::map<std::string, Relationship, std::less<>>* GraphState::Outgoing(
    std::string_view source_id) const {
  auto it = outgoing_.find(std::string(source_id));
  return it == outgoing_.end() ? nullptr : &it->second;
}

const Relationship* GraphState::FindRelationship(std::string_view source_id,
                                                 std::string_view rel_id) const {
  const auto* out = Outgoing(source_id);
  if (!out) return nullptr;
  auto it = out->find(rel_id);
  return it == out->end() ? nullptr : &it->second;
}

const std::set<std::pair<std::string, std::string>>* GraphState::Incoming(
    std::string_view target_id) const {
  auto it = incoming_.find(std::string(target_id));
  return it == incoming_.end() ? nullptr : &it->second;
}

const std::set<std::string>* GraphState::TwinsWithProperty(std::string_view name,
                                                           const json::value& value) const {
  auto key = internal::ValueKey(value);
  if (!key) return nullptr;
  auto by_name = by_property_.find(std::string(name));
  if (by_name == by_property_.end()) return nullptr;
  auto it = by_name->second.find(*key);
  return it == by_name->second.end() ? nullptr : &it->second;
}

// Inserts hint at end(): Restore indexes twins in id order, so each insert is O(1) instead of
// a cache-missing walk down a set that may hold a million ids; out of order the hint costs one
// comparison.
void GraphState::IndexTwin(const Twin& twin) {
  auto& of_model = twins_by_model_[twin.model_id];
  of_model.insert(of_model.end(), twin.id);
  for (const auto& kv : twin.doc) {
    if (kv.key().starts_with('$')) continue;
    if (auto key = internal::ValueKey(kv.value())) {
      auto& ids = by_property_[kv.key()][*key];
      ids.insert(ids.end(), twin.id);
    }
  }
}

void GraphState::UnindexTwin(const Twin& twin) {
  if (auto it = twins_by_model_.find(twin.model_id); it != twins_by_model_.end()) {
    it->second.erase(twin.id);
    if (it->second.empty()) twins_by_model_.erase(it);
  }
  for (const auto& kv : twin.doc) {
    if (kv.key().starts_with('$')) continue;
    if (auto key = internal::ValueKey(kv.value())) UnindexProperty(kv.key(), *key, twin.id);
  }
}

void GraphState::PutTwin(Twin twin) {
  auto it = twins_.find(twin.id);
  if (it == twins_.end()) {
    it = twins_.emplace(twin.id, std::move(twin)).first;
    IndexTwin(it->second);
    return;
  }
  ReindexTwin(it->second, twin);
  it->second = std::move(twin);
}

// A PATCH usually changes one property: only index entries whose value changed move.
void GraphState::ReindexTwin(const Twin& before, const Twin& after) {
  if (before.model_id != after.model_id) {
    if (auto it = twins_by_model_.find(before.model_id); it != twins_by_model_.end()) {
      it->second.erase(before.id);
      if (it->second.empty()) twins_by_model_.erase(it);
    }
    twins_by_model_[after.model_id].insert(after.id);
  }
  for (const auto& kv : before.doc) {
    if (kv.key().starts_with('$')) continue;
    auto old_key = internal::ValueKey(kv.value());
    const json::value* now = after.doc.if_contains(kv.key());
    auto new_key = now ? internal::ValueKey(*now) : std::nullopt;
    if (old_key == new_key) continue;
    if (old_key) UnindexProperty(kv.key(), *old_key, before.id);
    if (new_key) by_property_[kv.key()][*new_key].insert(after.id);
  }
  for (const auto& kv : after.doc) {
    if (kv.key().starts_with('$') || before.doc.contains(kv.key())) continue;
    if (auto key = internal::ValueKey(kv.value())) by_property_[kv.key()][*key].insert(after.id);
  }
}

void GraphState::UnindexProperty(std::string_view name, const std::string& key,
                                 const std::string& id) {
  auto by_name = by_property_.find(std::string(name));
  if (by_name == by_property_.end()) return;
  auto ids = by_name->second.find(key);
  if (ids == by_name->second.end()) return;
  ids->second.erase(id);
  if (ids->second.empty()) by_name->second.erase(ids);
  if (by_name->second.empty()) by_property_.erase(by_name);
}

void GraphState::AppendRestoredTwin(Twin twin) {
  std::string id = twin.id;
  auto it = twins_.emplace_hint(twins_.end(), std::move(id), std::move(twin));
  IndexTwin(it->second);
}

void GraphState::EraseTwin(std::string_view id) {
  auto it = twins_.find(id);
  if (it == twins_.end()) return;
  UnindexTwin(it->second);
  twins_.erase(it);
}

void GraphState::PutRelationship(Relationship rel) {
  auto& out = outgoing_[rel.source_id];
  auto it = out.find(rel.id);
  if (it != out.end()) {
    EraseRelationship(rel.source_id, rel.id);  // the target may change
    PutRelationship(std::move(rel));
    return;
  }
  incoming_[rel.target_id].emplace(rel.source_id, rel.id);
  std::string id = rel.id;
  out.emplace(std::move(id), std::move(rel));
  ++relationship_count_;
}

void GraphState::EraseRelationship(std::string_view source_id, std::string_view rel_id) {
  auto out = outgoing_.find(std::string(source_id));
  if (out == outgoing_.end()) return;
  auto it = out->second.find(rel_id);
  if (it == out->second.end()) return;
  if (auto in = incoming_.find(it->second.target_id); in != incoming_.end()) {
    in->second.erase({std::string(source_id), std::string(rel_id)});
    if (in->second.empty()) incoming_.erase(in);
  }
  out->second.erase(it);
  if (out->second.empty()) outgoing_.erase(out);
  --relationship_count_;
}

}  // namespace doppel::twin
