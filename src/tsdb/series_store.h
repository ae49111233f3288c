// SeriesStore: the durable home of every series' points, on RocksDB (layout and key spaces in
// docs/format/tsdb.md).
//
//   auto store = SeriesStore::Open("/var/lib/doppel/history").value();
//   SeriesId id = store->CreateSeries({"pump-1", "temperature", ValueType::kDouble}).value();
//   store->Write({{id, t, 21.5}});              // durable (synced) once it returns OK
//   SeriesData data = store->Read(id, start, end).value();   // see query.h for queries
//
// Write path: each batch is first appended per series to a write-ahead key space ("w/") in one
// synced RocksDB WriteBatch; only then is it applied to the in-memory head chunks, so an
// acknowledged point survives kill -9 (reopen replays "w/" into the heads). Open reads the
// chunk header index ("h/"), not the chunks: its cost follows the number of chunks. A head seals at
// `max_head_points` points or when a point crosses a `partition` boundary; sealing writes the
// chunk under "c/" and rewrites the series' "w/" records to just what is still in memory.
//
// Ordering: a point newer than everything in its series appends to the head; an equal time to
// the head's newest point replaces it; anything older (late / out-of-order) goes to a sorted
// out-of-order buffer that is merged at read time and sealed together with the head (as its
// own, newer chunk). A duplicate timestamp always keeps the LAST value written. Chunks of a
// series may therefore overlap in time; each has a sequence number and newer chunks win.
//
// Operations: Stats/AllStats/TotalStats for /metrics, ApplyRetention (per model or series,
// optionally leaving 1 min / 1 h roll-ups that outlive the raw data; QueryRollup in query.h),
// Checkpoint for consistent backups while serving.
//
// Thread-safety: every method may be called from any thread; one mutex serialises them all
// (a deliberate first step: the plan is shard-per-core single-writer ownership, DESIGN.md).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "tsdb/series_chunk.h"
#include "tsdb/types.h"

namespace rocksdb {
class DB;
class WriteBatch;
}

namespace doppel::tsdb {

struct SeriesStoreOptions {
  // fsync every Write before acknowledging. Default true: acknowledged points survive power
  // loss. false keeps them across a process crash (kill -9) only; for bulk loads and benches.
  bool sync = true;
  // A head chunk seals at this many points. The head holds doubles at the sensor's decimal
  // resolution (internal::DoubleHeadEncoder): ~1.3 bytes/point in memory for a noisy
  // 0.01-resolution signal (XOR took ~6). Measured with bench/tsdb_benchmark.cc on that signal:
  //   max_head_points          250    500    1000   2000
  //   sealed bytes/point       1.57   1.36   1.25   1.21   (BM_SealChunk, header included)
  //   heap per active series: ~1.7 KB at 500 points in the head, ~2.5 KB just before a seal
  //   with 1000 (BM_MemoryPerSeries; ~5.2 KB at 500 points before the decimal head).
  // 1000 keeps disk under 1.5 bytes/point with a margin, bounds the log rewrite at a seal,
  // and keeps the in-memory chunk index (~90 bytes per sealed chunk) half of what 500 needs;
  // the average head is half full, so the steady state stays under 2 KB per series.
  uint32_t max_head_points = 1000;
  // Time partition: a head chunk never spans two partitions (aligned to the epoch), so whole
  // chunks can be dropped by retention. Default 2 h, as in Gorilla.
  TimeNs partition = TimeNs{2} * 3600 * 1'000'000'000;
};

// What a series is: its key (twin_id, path), its type, and the model metadata queries select on.
struct SeriesSpec {
  std::string twin_id;
  std::string path;  // telemetry or property path, e.g. "temperature" or "motor/rpm"
  ValueType type = ValueType::kDouble;
  std::string model_id;       // DTMI of the twin's model, "" if unknown
  std::string unit;           // e.g. "degreeCelsius", "" if none
  std::string semantic_type;  // e.g. "Temperature", "" if none
};

struct SeriesInfo {
  SeriesId id = 0;
  SeriesSpec spec;
};

// Per-series figures for /metrics, from counters kept in memory: O(1) per series, no chunk is
// read or decoded.
struct SeriesStats {
  // Points in sealed chunks plus points in memory. A time written again after its first point
  // sealed (a late duplicate) sits in two chunks and counts twice until Compact merges them.
  uint64_t points = 0;
  uint64_t memory_points = 0;  // of `points`, those in the head and out-of-order buffer
  uint64_t chunks = 0;         // sealed chunks
  // Bytes this series stores: its sealed chunks' encoded sizes plus its write-ahead records
  // (what the head would replay). Before RocksDB's own block compression and overhead.
  uint64_t disk_bytes = 0;
  std::optional<TimeNs> oldest;  // the oldest and newest point held; nullopt if none
  std::optional<TimeNs> newest;
};

// Whole-store figures for /metrics.
struct StoreStats {
  uint64_t series = 0;
  uint64_t points = 0;      // sum of SeriesStats::points
  uint64_t chunks = 0;      // sum of SeriesStats::chunks
  uint64_t disk_bytes = 0;  // sum of SeriesStats::disk_bytes
  uint64_t sst_bytes = 0;   // RocksDB's live table files (after its compression)
  uint64_t memtable_bytes = 0;  // RocksDB's memtables (the write buffer, bounded by RocksDB)
};

// A retention rule (ApplyRetention). Which series it covers, most specific first:
//   twin_id and path set   that one series;
//   model_id and path set  the series at `path` of every twin whose SeriesSpec::model_id is
//                          exactly model_id (a classified field: auth/classification.h);
//   model_id set           every series whose SeriesSpec::model_id is exactly model_id;
//   all three empty        every series no other rule covers (the default).
// A series no rule covers is kept forever.
struct RetentionRule {
  std::string model_id;
  TimeNs keep = 0;  // raw chunks whose newest point is older than now - keep are dropped; > 0
  std::string twin_id;
  std::string path;
  // 0 (the default): raw data is dropped without a trace. > 0 (and >= keep): before a numeric
  // series' raw chunks are dropped, 1 min and 1 h roll-ups of all its data up to the end of
  // the hour holding the newest dropped point are written (from the merged raw data, so late
  // points and duplicates count once, last write winning), and roll-up rows whose bucket ended
  // more than keep_rollups before now are deleted. See QueryRollup (query.h).
  TimeNs keep_rollups = 0;
};

// Roll-up levels and their bucket widths (aligned to the epoch).
enum class RollupLevel : uint8_t { kMinute = 0, kHour = 1 };
inline constexpr TimeNs RollupStep(RollupLevel level) {
  return (level == RollupLevel::kMinute ? 60 : 3600) * TimeNs{1'000'000'000};
}

// One roll-up bucket: count, sum, min and max of the points in [start, start + step); avg is
// sum / count.
struct RollupRow {
  TimeNs start = 0;
  uint64_t count = 0;
  double sum = 0, min = 0, max = 0;
  bool operator==(const RollupRow&) const = default;
};

// A series' roll-ups over a range: `rows` cover time before `floor` (the point up to which
// roll-ups were written; nullopt if never); after it, the raw data still answers.
struct RollupData {
  std::optional<TimeNs> floor;
  std::vector<RollupRow> rows;
};

// What SeriesStore::EraseTwin removed.
struct EraseStats {
  uint64_t series = 0;
  uint64_t points = 0;  // SeriesStats::points of those series, summed (late duplicates twice)
  uint64_t chunks = 0;  // sealed chunks
};

struct SeriesPoint {
  SeriesId series = 0;
  TimeNs time = 0;
  Value value;
};

// A consistent copy of one series over a range, for the query engine (query.h).
struct SeriesData {
  ValueType type = ValueType::kDouble;
  // Sealed chunks overlapping the range, oldest sequence first (later ones win on equal times).
  std::vector<SeriesChunk> chunks;
  // The in-memory points (head and out-of-order buffer) in the range, merged, time-sorted;
  // these are newer than every chunk.
  std::vector<Point> recent;
};

class SeriesStore {
 public:
  // Opens (creating if needed) the store under `dir` and replays the write-ahead records. Reads
  // the chunk header index, not the chunks (a store from before the index gets it built once).
  // Errors: InvalidArgument for options <= 0; Unavailable if another process (or another
  // SeriesStore in this one) holds `dir`; Internal for I/O errors or corruption.
  static Result<std::unique_ptr<SeriesStore>> Open(const std::string& dir, SeriesStoreOptions options = {});
  ~SeriesStore();

  // Returns the id of (twin_id, path), creating and persisting the series on first use; the
  // metadata is updated if it changed. Errors: InvalidArgument for an empty twin id or path,
  // Conflict if the series exists with another value type.
  Result<SeriesId> CreateSeries(const SeriesSpec& spec);
  // Errors: NotFound.
  Result<SeriesId> Find(std::string_view twin_id, std::string_view path) const;
  Result<SeriesInfo> Info(SeriesId id) const;
  std::vector<SeriesInfo> ListSeries() const;
  // The series of one twin, by path: O(its series + log all series), no copy of the catalog.
  std::vector<SeriesInfo> ListSeriesOfTwin(std::string_view twin_id) const;

  // Appends points (any order, any series; a later point in the batch wins over an earlier
  // one with the same series and time). All-or-nothing validation: InvalidArgument for an
  // unknown series or a value of the wrong type, and nothing is written. OK means durable.
  // Internal "points are logged but sealing failed" means the points are durable and
  // visible but a chunk could not be written; it is retried on the series' next write or Flush.
  Status Write(std::span<const SeriesPoint> points);

  // The series' data overlapping [start, end). Errors: NotFound (unknown series), Internal.
  Result<SeriesData> Read(SeriesId id, TimeNs start, TimeNs end) const;
  // The newest point of each series (nullopt for a series with no points). Errors: NotFound.
  // Kept in memory (O(ids), no chunk read), except that the first call after Open on a series
  // whose newest chunk was written before chunk index entries carried the last value, or after
  // retention dropped the chunk holding it, reads that chunk once.
  Result<std::vector<std::optional<Point>>> Last(std::span<const SeriesId> ids) const;

  // Retention: deletes the sealed chunks of `id` (or of every series if nullopt) whose newest
  // point is older than `cutoff`. Whole chunks only: a chunk straddling the cutoff and the
  // in-memory head are kept. Returns the number of chunks deleted.
  Result<size_t> DropBefore(std::optional<SeriesId> id, TimeNs cutoff);

  // Applies retention rules at time `now` (a caller's clock: the store never reads one): for
  // each series, the most specific rule covering it (see RetentionRule) drops its sealed
  // chunks whose newest point is older than now - keep (whole chunks, as DropBefore), writing
  // roll-ups first and expiring old roll-up rows where the rule has keep_rollups. Returns the
  // number of chunks deleted. Errors: InvalidArgument for keep <= 0, keep_rollups < 0 or
  // between 0 and keep, a rule with a twin_id but no path or a path but neither twin_id nor
  // model_id, a rule with a model and a twin, or two rules covering the same thing; Internal.
  Result<size_t> ApplyRetention(std::span<const RetentionRule> rules, TimeNs now);

  // The roll-up rows of `level` whose bucket overlaps [start, end), oldest first, and the
  // series' roll-up floor. Errors: NotFound, Internal.
  Result<RollupData> ReadRollups(SeriesId id, RollupLevel level, TimeNs start, TimeNs end) const;

  // Writes a consistent copy of the store to `dir` (which must not exist; it is created, on
  // the same filesystem as the store for hard links to work) while writes go on: the copy
  // holds every point acknowledged before the call (and possibly some later ones), and opens
  // with SeriesStore::Open — restore is opening the copy, or moving it in place of the store
  // while no process has it open. Errors: AlreadyExists if `dir` exists, Internal.
  Status Checkpoint(const std::string& dir) const;

  // Seals every non-empty head and out-of-order buffer now (e.g. before a backup or shutdown).
  Status Flush();

  // Rewrites each group of time-overlapping sealed chunks of `id` (late-point chunks and what
  // they overlap) as non-overlapping chunks, the last write winning on equal times, in one
  // atomic batch. Queries then decode less and can use more chunk headers. Returns the number
  // of chunks replaced. Errors: NotFound, Internal.
  Result<size_t> Compact(SeriesId id);

  // Right to erasure (docs/security.md, "Erasing a twin"): removes every series of `twin_id`
  // with every key it has in any key space — catalog ("s/"), write-ahead records ("w/"),
  // chunks ("c/") and their index ("h/"), roll-ups ("u/") and the roll-up floor ("f/") — in
  // one atomic batch (synced per SeriesStoreOptions::sync), drops its in-memory state (head,
  // out-of-order buffer, newest point, statistics, the (twin, path) → id map), and then
  // compacts the erased key ranges down to the last level (RocksDB CompactRange), so the
  // bytes are gone from the table files, not just hidden behind tombstones; RocksDB's own
  // write-ahead log holding the old writes is retired by the flush that compaction starts.
  // OK with zero counts for a twin without series. `stats` (optional) receives what was
  // removed.
  //
  // Concurrency: the delete and the in-memory removal happen under the store's lock, the
  // compaction after it, so writes and reads of other series only wait for the batch. A
  // concurrent Write to the twin's series either completes before (and its points are
  // erased) or comes after and fails with InvalidArgument "unknown series id" (the id is
  // never handed out again by this process); a CreateSeries after the erase makes a fresh,
  // empty series with a new id. Reads of an erased id answer NotFound.
  // Errors: Internal (RocksDB); if the compaction fails the data is already deleted
  // (invisible and gone after RocksDB's next compaction of that range).
  Status EraseTwin(std::string_view twin_id, EraseStats* stats = nullptr);

  // Number of sealed chunks of a series (for tests and /metrics).
  size_t ChunkCount(SeriesId id) const;

  // Statistics of one series (SeriesStats), or of all in id order. Errors: NotFound.
  Result<SeriesStats> Stats(SeriesId id) const;
  std::vector<std::pair<SeriesId, SeriesStats>> AllStats() const;
  StoreStats TotalStats() const;

 private:
  struct Series;
  struct ChunkRef;
  SeriesStore(std::unique_ptr<rocksdb::DB> db, SeriesStoreOptions options);

  using SeriesKeyView = std::pair<std::string_view, std::string_view>;  // (twin_id, path)

  void AddSeries(SeriesInfo info);
  Status LoadCatalog();
  Status EnsureChunkIndex();
  Status LoadChunks();
  Status ReplayWal();
  Series* Lookup(SeriesId id) const;
  void Apply(Series& s, TimeNs time, const Value& value);
  static void UpdateLast(Series& s, TimeNs time, const Value& value);
  void SealInMemory(Series& s);
  void StagePersist(Series& s, rocksdb::WriteBatch& batch);
  Status Persist(std::span<Series* const> series);
  Status WriteWal(const std::map<SeriesId, std::vector<const SeriesPoint*>>& by_series);
  Result<SeriesChunk> LoadChunk(const Series& s, uint64_t seq, const ChunkRef& ref) const;
  struct DropPlan;
  Result<size_t> DropLocked(std::span<const DropPlan> plans);
  Status LoadRollupFloors();
  Result<SeriesData> ReadLocked(const Series& s, TimeNs start, TimeNs end) const;
  Status StageRollups(Series& s, TimeNs new_floor, rocksdb::WriteBatch& batch);
  static SeriesStats StatsOf(const Series& s);
  Status CompactErased(std::vector<SeriesId> ids);
  Status CompactGroup(const Series& s, const std::vector<uint64_t>& seqs, rocksdb::WriteBatch& batch,
                      std::vector<std::pair<uint64_t, ChunkRef>>* fresh);
  Result<std::optional<Point>> LastOf(const Series& s) const;

  // Immutable after construction.
  const SeriesStoreOptions options_;
  const std::unique_ptr<rocksdb::DB> db_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  std::map<SeriesId, std::unique_ptr<Series>> series_;
  std::map<SeriesKeyView, SeriesId> by_key_;  // views into the Series' spec
  SeriesId next_id_ = 1;
  uint64_t next_chunk_seq_ = 1;
  uint64_t next_wal_seq_ = 1;
};

}  // namespace doppel::tsdb
