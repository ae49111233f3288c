// StoreForward: a connector's disk buffer for readings the Ingestor could not take (issue #10,
// "store and forward"). When a history write fails with a store error, the connector appends
// the batch here instead of losing it; once writes succeed again it replays the buffer, oldest
// batch first, before anything newer, so history receives readings in the order they were
// taken.
//
//   auto buffer = StoreForward::Open({.dir = data_dir + "/connectors/press-1"}).value();
//   if (IsRetryableStoreError(status)) DOPPEL_RETURN_IF_ERROR(buffer->Append(batch));
//   ...
//   auto replayed = buffer->Replay([&](std::span<const Reading> b) { return ingestor.Write(b); });
//
// On disk: <dir>/buffer.jsonl, one JSON line per batch ([[twin, path, timeNs, kind, value], ...],
// kind = the tsdb::Value index: 0 double, 1 int64, 2 bool, 3 string), and <dir>/buffer.head, the
// byte offset of the oldest live batch (replaced atomically). Batches before the head are
// dead; the file is rewritten without them once they outweigh the limit, and truncated when the
// buffer empties. A torn last line (a crash mid-append) is ignored at Open. The buffer
// survives a restart: Open finds what was left.
//
// Limit: the live batches' bytes never exceed max_bytes. Appending beyond it drops the OLDEST
// batches (counted in dropped_batches/dropped_readings) — the newest data is usually worth
// more to an operator; a single batch larger than the limit is dropped itself.
//
// Thread-safety: not thread-safe; one connector thread owns it (stats() may be called from
// any thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "ingest/reading.h"

namespace doppel::connect {

struct StoreForwardOptions {
  std::string dir;  // created if missing; one buffer per directory
  // Live bytes kept at most. Default 64 MiB (~1M readings of a short path).
  uint64_t max_bytes = uint64_t{64} << 20;
  // fdatasync each append. Default true: appends happen only while the store is failing, so
  // their cost is rare, and an unsynced buffer would lose readings in a crash.
  bool sync = true;
};

struct StoreForwardStats {
  uint64_t batches = 0;  // live batches waiting for replay
  uint64_t readings = 0;
  uint64_t bytes = 0;
  uint64_t appended_batches = 0;  // since Open
  uint64_t replayed_batches = 0;
  uint64_t replayed_readings = 0;
  uint64_t dropped_batches = 0;  // over the limit (oldest first)
  uint64_t dropped_readings = 0;
  uint64_t rejected_batches = 0;  // refused at replay for a reason retrying cannot fix
};

// Whether a write error is worth buffering: the store's Unavailable and Internal (I/O). Errors
// about the readings themselves (unknown twin, wrong type) would fail again on replay.
bool IsRetryableStoreError(const Status& status);

class StoreForward {
 public:
  // Opens (creating) the buffer in options.dir and indexes what a previous run left.
  // Errors: Internal when the directory or files cannot be created or read.
  static Result<std::unique_ptr<StoreForward>> Open(StoreForwardOptions options);
  ~StoreForward();
  StoreForward(const StoreForward&) = delete;
  StoreForward& operator=(const StoreForward&) = delete;

  // Appends one batch (empty: no-op), dropping the oldest batches while over the limit.
  // Errors: Internal (I/O); the batch is then not buffered.
  Status Append(std::span<const ingest::Reading> batch);

  // Hands batches to `write`, oldest first, at most `max_batches`. A batch `write` accepts
  // (OK), or refuses for good (an error IsRetryableStoreError says no to: counted as rejected),
  // leaves the buffer; a retryable error stops the replay with that batch kept first, and is
  // returned. Returns the number of batches that left. Errors: also Internal (I/O).
  using Writer = std::function<Status(std::span<const ingest::Reading>)>;
  Result<std::size_t> Replay(const Writer& write, std::size_t max_batches = SIZE_MAX);

  bool empty() const { return records_.empty(); }
  StoreForwardStats stats() const;

 private:
  struct Record {
    uint64_t offset = 0;
    uint64_t size = 0;  // with the newline
    uint64_t readings = 0;
  };
  explicit StoreForward(StoreForwardOptions options);
  Status Load();
  Result<std::vector<ingest::Reading>> ReadRecord(const Record& record) const;
  // Forgets the oldest record (replayed, dropped or rejected) and persists the new head.
  Status PopFront();
  Status WriteHead();
  Status Compact();

  const StoreForwardOptions options_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  uint64_t head_ = 0;  // offset of records_.front(), or file_size_ when empty
  std::deque<Record> records_;
  uint64_t live_bytes_ = 0;
  uint64_t live_readings_ = 0;
  // Counters readable from other threads (stats()).
  std::atomic<uint64_t> batches_{0}, readings_{0}, bytes_{0};
  std::atomic<uint64_t> appended_{0}, replayed_batches_{0}, replayed_readings_{0};
  std::atomic<uint64_t> dropped_batches_{0}, dropped_readings_{0}, rejected_{0};
};

// The write path of a connector with store and forward: readings go to history through `sink`
// (Ingestor::WriteEach in production, one group per reading so a bad reading never keeps its
// neighbours out); those that fail with a retryable store error go to `buffer`. While the
// buffer holds anything, new readings are appended behind it and the buffer is replayed first,
// so history receives readings in the order they were taken.
//
//   ForwardingWriter writer([&](auto groups) { return ingestor.WriteEach(groups); }, buffer.get());
//   ForwardingWriter::Outcome outcome = writer.Write(readings);
//
// Without a buffer (null) retryable failures are refused like any other. Not thread-safe: the
// connector's thread owns it; the sink and buffer must outlive it.
class ForwardingWriter {
 public:
  using Sink = std::function<std::vector<Status>(std::span<const std::span<const ingest::Reading>>)>;
  ForwardingWriter(Sink sink, StoreForward* buffer) : sink_(std::move(sink)), buffer_(buffer) {}

  struct Outcome {
    uint64_t written = 0;   // readings now in history (replayed ones included)
    uint64_t buffered = 0;  // readings appended to the buffer by this call
    // Readings refused for good (not buffered), each with its reason; indexes into the
    // call's readings, or SIZE_MAX for one refused during a replay.
    std::vector<std::pair<std::size_t, Status>> refused = {};
    Status error = Status::Ok();  // why readings were buffered, or a buffer I/O error
  };
  Outcome Write(std::span<const ingest::Reading> readings);

 private:
  // One sink call, a group per reading; refused (non-retryable) ones are added to `outcome`.
  // Returns the first retryable error, which means the store wrote nothing.
  Status WriteOnce(std::span<const ingest::Reading> readings, Outcome& outcome, bool replaying);

  Sink sink_;
  StoreForward* buffer_;
};

// The JSON line of one batch (without the newline) and back; exposed for tests.
std::string EncodeBatch(std::span<const ingest::Reading> batch);
Result<std::vector<ingest::Reading>> DecodeBatch(std::string_view line);

}  // namespace doppel::connect
