// Internal to src/tsdb: a SeriesStore's in-memory state and its key encodings, shared by
// series_store.cc (open, write, read, compaction) and store_operations.cc (statistics,
// retention, roll-ups, checkpoints). Key spaces and values: docs/format/tsdb.md.
#pragma once

#include <rocksdb/status.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tsdb/internal/byte_io.h"
#include "tsdb/series_chunk.h"
#include "tsdb/series_store.h"

namespace doppel::tsdb::internal {

// Keys are prefix + big-endian integers so that RocksDB's byte order is numeric order.
// Times flip the sign bit so negative times sort before positive ones.
inline void AppendBE(std::string& key, uint64_t v) {
  for (int i = 7; i >= 0; --i) key.push_back(static_cast<char>(v >> (8 * i)));
}
inline uint64_t ReadBE(std::string_view s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}
inline std::string SeriesKey(char space, SeriesId id) {
  std::string key{space, '/'};
  AppendBE(key, id);
  return key;
}
// `space` is 'c' for the chunk itself, 'h' for its header index entry (same suffix).
inline std::string ChunkKey(char space, SeriesId id, TimeNs start, uint64_t seq) {
  std::string key = SeriesKey(space, id);
  AppendBE(key, static_cast<uint64_t>(start) ^ (uint64_t{1} << 63));
  AppendBE(key, seq);
  return key;
}
inline TimeNs ReadTimeBE(std::string_view s) { return static_cast<TimeNs>(ReadBE(s) ^ (uint64_t{1} << 63)); }

inline Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return Status::Unavailable("history store is in use: " + s.ToString());
  }
  return Status::Internal("history store: " + s.ToString());
}

inline std::string AsString(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

// The "h/" index value: max time (i64 LE), point count (u32 LE), chunk size (u32 LE), then
// optionally `last_value`, the encoded value of the chunk's point at max time (so Open knows
// each series' newest point without reading a chunk; series_store.cc encodes it).
inline std::string EncodeIndexEntry(TimeNs max_time, uint32_t count, uint32_t bytes,
                                    std::string_view last_value = {}) {
  std::vector<uint8_t> out;
  internal::PutFixed64(out, static_cast<uint64_t>(max_time));
  internal::PutFixed32(out, count);
  internal::PutFixed32(out, bytes);
  internal::PutBytes(out, AsBytes(last_value));
  return AsString(out);
}

}  // namespace doppel::tsdb::internal

namespace doppel::tsdb {

// What memory keeps of a sealed chunk: enough to select chunks for a range, count and size
// them (the "h/" index entry), 40 bytes — a year of 1 Hz data is ~32k chunks per series.
struct SeriesStore::ChunkRef {
  TimeNs min_time = 0;
  TimeNs max_time = 0;
  uint32_t count = 0;
  uint32_t bytes = 0;  // encoded size
  // Set between an in-memory seal and Persist: the chunk, and its point at max_time (for the
  // index entry).
  struct Pending {
    SeriesChunk chunk;
    Value last;
  };
  std::unique_ptr<const Pending> unpersisted;
};

struct SeriesStore::Series {
  explicit Series(SeriesInfo i) : info(std::move(i)), head(info.spec.type) {}
  SeriesInfo info;
  HeadChunk head;
  std::map<TimeNs, Value> out_of_order;  // older than the newest point; last write wins
  std::map<uint64_t, ChunkRef> chunks;   // by chunk sequence: later wins on equal times
  // Sums over `chunks` for Stats (kept up to date so /metrics costs O(series)); the min/max
  // are meaningful only while chunks is non-empty.
  uint64_t sealed_points = 0;
  uint64_t sealed_bytes = 0;
  TimeNs sealed_min = 0;
  TimeNs sealed_max = 0;
  uint64_t log_bytes = 0;  // sizes of the series' "w/" records
  std::optional<TimeNs> rollup_floor;  // roll-ups ("u/") cover all time before it
  TimeNs newest_time = 0;  // the newest time ever written (the high-water mark)
  bool has_points = false;
  bool dirty = false;      // has unpersisted chunks
  // The newest point held (nullopt if none), so Last reads no chunk. Valid while last_known;
  // unknown after an Open whose newest chunk's index entry has no value (a store written
  // before entries carried it) or after retention dropped the chunk holding it, until Last
  // recomputes it from the data (SeriesStore::UpdateLast keeps it on every write).
  std::optional<Point> last;
  bool last_known = true;

  std::string Key(char space, uint64_t seq, const ChunkRef& ref) const {
    return internal::ChunkKey(space, info.id, ref.min_time, seq);
  }
  void AddChunk(uint64_t seq, ChunkRef ref) {
    sealed_min = chunks.empty() ? ref.min_time : std::min(sealed_min, ref.min_time);
    sealed_max = chunks.empty() ? ref.max_time : std::max(sealed_max, ref.max_time);
    sealed_points += ref.count;
    sealed_bytes += ref.bytes;
    chunks.insert_or_assign(chunks.end(), seq, std::move(ref));  // seqs mostly arrive in order
  }
  // After removals: rebuilds the sums (the removing operations are O(chunks) anyway).
  void Recount() {
    std::map<uint64_t, ChunkRef> all = std::move(chunks);
    chunks.clear();
    sealed_points = sealed_bytes = 0;
    for (auto& [seq, ref] : all) AddChunk(seq, std::move(ref));
  }
};

}  // namespace doppel::tsdb
