#include "automation/internal/engine_routes.h"

#include <algorithm>

#include "base/status.h"

namespace doppel::automation::engine {

uint64_t RouteIndex::HashOf(std::string_view twin_id, std::string_view path) {
  const uint64_t h = std::hash<std::string_view>()(twin_id);
  return h ^ (std::hash<std::string_view>()(path) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

std::pair<std::size_t, uint32_t> RouteIndex::Probe(std::string_view twin_id, std::string_view path,
                                                   uint64_t hash) const {
  const std::size_t mask = table_.size() - 1;
  std::size_t free_at = SIZE_MAX;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Entry& e = table_[i];
    if (e.slot == kEmpty) return {free_at == SIZE_MAX ? i : free_at, kNoSlot};
    if (e.slot == kErased) {
      if (free_at == SIZE_MAX) free_at = i;
      continue;
    }
    if (e.tag == static_cast<uint32_t>(hash >> 32) && slots_[e.slot].twin_id == twin_id && slots_[e.slot].path == path) {
      return {i, e.slot};
    }
  }
}

void RouteIndex::Rehash(std::size_t capacity) {
  std::vector<Entry> old = std::move(table_);
  table_.assign(capacity, Entry{});
  erased_ = 0;
  const std::size_t mask = capacity - 1;
  for (const Entry& e : old) {
    if (e.slot == kEmpty || e.slot == kErased) continue;
    std::size_t i = HashOf(slots_[e.slot].twin_id, slots_[e.slot].path) & mask;
    while (table_[i].slot != kEmpty) i = (i + 1) & mask;
    table_[i] = e;
  }
}

uint32_t RouteIndex::Add(std::string_view twin_id, std::string_view path, Target target) {
  if ((keys_ + erased_ + 1) * 4 > table_.size() * 3) {
    // At most 3/4 full with erased entries counted, so a probe always meets an empty one;
    // at most half full after the rehash (which also drops the erased ones).
    std::size_t capacity = 64;
    while (capacity < (keys_ + 1) * 2) capacity *= 2;
    Rehash(capacity);
  }
  const uint64_t hash = HashOf(twin_id, path);
  auto [at, slot] = Probe(twin_id, path, hash);
  if (slot == kNoSlot) {
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      DOPPEL_CHECK(slot < kErased);
      slots_.emplace_back();
    }
    slots_[slot].twin_id = twin_id;
    slots_[slot].path = path;
    if (table_[at].slot == kErased) --erased_;
    table_[at] = {static_cast<uint32_t>(hash >> 32), slot};
    ++keys_;
    auto path_it = watched_paths_.find(path);
    if (path_it == watched_paths_.end()) path_it = watched_paths_.emplace(std::string(path), 0).first;
    ++path_it->second;
  }
  slots_[slot].targets.push_back(target);
  return slot;
}

void RouteIndex::Remove(uint32_t slot, Target target, uint64_t retired_at) {
  Slot& s = slots_[slot];
  auto it = std::find(s.targets.begin(), s.targets.end(), target);
  if (it == s.targets.end()) return;
  *it = s.targets.back();
  s.targets.pop_back();
  if (!s.targets.empty()) return;
  s.targets.shrink_to_fit();
  auto [at, found] = Probe(s.twin_id, s.path, HashOf(s.twin_id, s.path));
  DOPPEL_CHECK(found == slot);
  table_[at].slot = kErased;
  --keys_;
  ++erased_;
  auto path_it = watched_paths_.find(std::string_view(s.path));
  if (--path_it->second == 0) watched_paths_.erase(path_it);
  s.twin_id.clear();
  s.path.clear();
  retired_.emplace_back(retired_at, slot);
}

bool RouteIndex::Recycle(uint64_t done_seq) {
  if (retired_.empty()) return false;
  std::size_t n = 0;
  while (n < retired_.size() && retired_[n].first <= done_seq) free_.push_back(retired_[n++].second);
  retired_.erase(retired_.begin(), retired_.begin() + static_cast<std::ptrdiff_t>(n));
  return true;
}

}  // namespace doppel::automation::engine
