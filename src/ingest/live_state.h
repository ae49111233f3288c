// LiveState: the latest value and time of every (twin, path) — what an operator's screen and
// the rules ask for first ("what is the bearing temperature now?") — kept in memory from the
// Ingestor's stream of stored readings and warmed from history at start, so a restart does
// not blank it.
//
//   ingest::LiveState live;
//   live.Warm(store);                                        // once, before serving
//   ingestor.Subscribe([&](auto batch) { live.Apply(batch); });
//   auto now = live.Get("kr-wtg-01", "windSpeed");           // {time, value} or nullopt
//
// A reading replaces the latest value only if it is at least as new: late data goes to
// history but does not roll the live view back.
//
// Thread-safety: everything may be called from any thread. Twins are spread over shards by
// hash, each with its own mutex, so writers of different twins rarely meet.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "ingest/reading.h"
#include "tsdb/series_store.h"

namespace doppel::ingest {

struct Latest {
  tsdb::TimeNs time = 0;
  tsdb::Value value;
  bool operator==(const Latest&) const = default;
};

class LiveState {
 public:
  void Apply(std::span<const Reading> readings);

  // Loads the newest point of every series in `store`. Errors: the store's.
  Status Warm(const tsdb::SeriesStore& store);

  std::optional<Latest> Get(std::string_view twin_id, std::string_view path) const;
  // Every path of the twin with its latest value, ordered by path; empty if none.
  std::map<std::string, Latest> OfTwin(std::string_view twin_id) const;
  // Forgets a twin (it was deleted); its history stays.
  void EraseTwin(std::string_view twin_id);

 private:
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    // twin id → path → latest
    std::unordered_map<std::string, std::map<std::string, Latest, std::less<>>> twins;
  };
  Shard& ShardOf(std::string_view twin_id) const;
  // Sets (twin, path) to (time, value) if at least as new. Caller holds the shard's mutex.
  static void Update(Shard& shard, const std::string& twin_id, const std::string& path, tsdb::TimeNs time,
                     const tsdb::Value& value);

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace doppel::ingest
