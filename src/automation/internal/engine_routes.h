// The routing index: which (rule, twin) instances read a (twin id, path), and as which of the
// rule's signals. A reading of bearing-7's "rul" reaches instance (derate, wtg-7) when wtg-7
// has a relationship hasMainBearing to bearing-7 and the rule reads "hasMainBearing>rul".
//
// Each watched (twin, path) has a slot: the listener finds the slot and queues its number; the
// worker reads the slot's targets when it gets there. A slot whose last target goes is retired,
// not reused at once: updates queued before that still name it, and must find it empty rather
// than routed to some other (twin, path). Recycle(done) frees slots retired before `done`.
//
// The lookup is the ingest path's whole cost for the rules, so it is built for it: a path no
// rule reads on any twin is answered by a small table of watched paths; a watched path by an
// open-addressing table of (hash tag, slot) pairs probed linearly — one cache miss for the probe
// and one for the key check in the slot, where a node-based map takes three — and nothing is
// allocated (the key is looked up as string_views).
//
// Thread-safety: none; the engine guards it (readers shared, writers exclusive).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace doppel::automation::engine {

struct Instance;

struct Target {
  Instance* instance = nullptr;
  uint32_t signal = 0;  // index in the rule's signals (CompiledRule::signals)
  bool operator==(const Target&) const = default;
};

inline constexpr uint32_t kNoSlot = UINT32_MAX;

class RouteIndex {
 public:
  uint32_t Find(std::string_view twin_id, std::string_view path) const {
    if (watched_paths_.find(path) == watched_paths_.end()) return kNoSlot;  // implies table_ is not empty
    return Probe(twin_id, path, HashOf(twin_id, path)).second;
  }
  const std::vector<Target>& Targets(uint32_t slot) const { return slots_[slot].targets; }
  // The twin id of a slot in use.
  std::string_view TwinOf(uint32_t slot) const { return slots_[slot].twin_id; }
  bool empty() const { return keys_ == 0; }
  std::size_t keys() const { return keys_; }

  // Adds `target` to the (twin, path) slot (created if needed); returns the slot.
  uint32_t Add(std::string_view twin_id, std::string_view path, Target target);
  // Removes `target` from `slot`; a slot left empty is retired, tagged with `retired_at` (the
  // queue's newest sequence number at the time).
  void Remove(uint32_t slot, Target target, uint64_t retired_at);
  // Frees the slots retired at or before `done_seq`; true if any were waiting.
  bool Recycle(uint64_t done_seq);
  bool has_retired() const { return !retired_.empty(); }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr uint32_t kErased = UINT32_MAX - 1;

  struct Entry {  // 8 bytes: more of the table stays in cache
    uint32_t tag = 0;  // the hash's high half: most mismatches end here, without the slot
    uint32_t slot = kEmpty;
  };
  struct Slot {
    std::vector<Target> targets;
    std::string twin_id;  // the key, while in use
    std::string path;
  };
  struct PathHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view path) const noexcept { return std::hash<std::string_view>()(path); }
  };

  static uint64_t HashOf(std::string_view twin_id, std::string_view path);
  // (table position, slot) of the key, or (position of the first free entry, kNoSlot).
  std::pair<std::size_t, uint32_t> Probe(std::string_view twin_id, std::string_view path, uint64_t hash) const;
  void Rehash(std::size_t capacity);

  std::vector<Entry> table_;  // size 0 or a power of two; at most 3/4 used (with erased)
  std::size_t keys_ = 0;      // entries in use
  std::size_t erased_ = 0;    // entries marked kErased
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<std::pair<uint64_t, uint32_t>> retired_;  // (retired_at, slot), in order
  // Paths with at least one key, and how many keys each has.
  std::unordered_map<std::string, uint32_t, PathHash, std::equal_to<>> watched_paths_;
};

}  // namespace doppel::automation::engine
