// The embedded, durable home of the twin graph: a twin::Journal on RocksDB under one data
// directory. Layout in docs/format/store.md.
//
// Durability: every Commit is one RocksDB WriteBatch written with sync=true, so once Commit
// returns OK the change survives kill -9 and power loss (to the extent the disk honours fsync).
// RocksDB groups concurrent synced writes into one fsync (group commit).
// Thread-safety: Commit and Replay may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "twin/journal.h"

namespace rocksdb {
class DB;
}

namespace doppel::store {

struct StoreOptions {
  // fsync each commit before acknowledging. Default true (safe). false trades the last
  // moments of writes on power loss/kill -9 for throughput; for bulk loads and benchmarks only.
  bool sync = true;
};

class RocksJournal final : public twin::Journal {
 public:
  // Opens (creating if needed) the store under `dir`. Errors: Unavailable if another process
  // holds the directory, Internal for I/O or corruption (with RocksDB's message).
  static Result<std::unique_ptr<RocksJournal>> Open(const std::string& dir, StoreOptions options = {});
  ~RocksJournal() override;

  Status Commit(std::span<const twin::Mutation> mutations, uint64_t last_event_seq) override;
  Status Replay(const std::function<Status(twin::Mutation::Kind, std::string_view, std::string_view)>& visit,
                uint64_t& last_event_seq) override;
  // Compacts the deleted records' key ranges to the last level (RocksDB CompactRange, after
  // the flush it starts, which also retires the write-ahead log file holding the old writes),
  // so their bytes leave the table files. Until the next Open, RocksDB's MANIFEST may still
  // name a deleted key where it was a table file's first or last key.
  Status Purge(std::span<const twin::Mutation> deleted) override;

  // Writes a consistent copy of the store into `dir` (which must not exist; its parent must)
  // while commits go on: hard links to the immutable files plus a copy of the rest, so it is
  // fast and small on the same filesystem. The copy opens with Open(dir). Errors:
  // AlreadyExists if `dir` exists, Internal for I/O errors.
  Status Checkpoint(const std::string& dir);

 private:
  RocksJournal(std::unique_ptr<rocksdb::DB> db, StoreOptions options);
  std::unique_ptr<rocksdb::DB> db_;
  StoreOptions options_;
};

}  // namespace doppel::store
