// SeriesStore::EraseTwin: the right to erasure for history (docs/security.md, "Erasing a twin").
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "tsdb/internal/store_state.h"
#include "tsdb/series_store.h"

namespace doppel::tsdb {
namespace {

using internal::FromRocks;
using internal::SeriesKey;

// Every key space that holds keys of one series, all of the form <space> '/' <series id>
// [suffix] (docs/format/tsdb.md): catalog, write-ahead records, chunks, chunk index, roll-up
// rows, roll-up floor. "m/layout" is the only other key and belongs to no series. A new
// per-series key space must be added here, or erasure leaves it behind (the erasure tests
// scan every key of the store to catch that).
constexpr char kSeriesSpaces[] = {'s', 'w', 'c', 'h', 'u', 'f'};

}  // namespace

Status SeriesStore::EraseTwin(std::string_view twin_id, EraseStats* stats) {
  EraseStats erased;
  std::vector<SeriesId> ids;
  {
    std::lock_guard lock(mu_);
    for (auto it = by_key_.lower_bound(SeriesKeyView(twin_id, {})); it != by_key_.end() && it->first.first == twin_id;
         ++it) {
      ids.push_back(it->second);
    }
    if (!ids.empty()) {
      rocksdb::WriteBatch batch;
      for (SeriesId id : ids) {
        for (char space : kSeriesSpaces) batch.DeleteRange(SeriesKey(space, id), SeriesKey(space, id + 1));
      }
      rocksdb::WriteOptions wo;
      wo.sync = options_.sync;
      DOPPEL_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch)));
    }
    for (SeriesId id : ids) {
      const Series& s = *Lookup(id);
      const SeriesStats st = StatsOf(s);
      erased.points += st.points;
      erased.chunks += st.chunks;
      by_key_.erase(SeriesKeyView(s.info.spec.twin_id, s.info.spec.path));  // views into s: before it goes
      series_.erase(id);
    }
    erased.series = ids.size();
  }
  if (stats != nullptr) *stats = erased;
  // Outside the lock: compaction rewrites table files and may take seconds on a big store,
  // and the erased ids are unreachable already.
  return CompactErased(std::move(ids));
}

// One CompactRange per key space and run of consecutive ids (a twin's series are mostly
// created together): a table file holding several of them is rewritten once, not per series.
// Forcing the last level makes RocksDB drop the range tombstones and what they cover there
// instead of carrying them down; the flush it starts first retires the write-ahead log file
// that still holds the original writes.
Status SeriesStore::CompactErased(std::vector<SeriesId> ids) {
  if (ids.empty()) return Status::Ok();
  std::sort(ids.begin(), ids.end());
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  options.exclusive_manual_compaction = false;  // background flushes and compactions go on
  for (size_t first = 0; first < ids.size();) {
    size_t last = first;
    while (last + 1 < ids.size() && ids[last + 1] == ids[last] + 1) ++last;
    for (char space : kSeriesSpaces) {
      const std::string begin = SeriesKey(space, ids[first]);
      const std::string end = SeriesKey(space, ids[last] + 1);
      const rocksdb::Slice begin_slice(begin), end_slice(end);
      DOPPEL_RETURN_IF_ERROR(FromRocks(db_->CompactRange(options, &begin_slice, &end_slice)));
    }
    first = last + 1;
  }
  return Status::Ok();
}

}  // namespace doppel::tsdb
