// Where the twin graph makes its changes durable. Defined here (the domain), implemented by
// store/ (RocksDB) and by MemoryJournal (tests), so the domain never sees RocksDB.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace doppel::twin {

// One durable change. Keys and values are opaque to the journal: the graph decides them.
struct Mutation {
  enum class Kind { kPutModel, kDeleteModel, kPutTwin, kDeleteTwin, kPutRelationship,
                    kDeleteRelationship };
  Kind kind;
  std::string key;    // model id, twin id, or "<sourceId>\n<relationshipId>"
  std::string value;  // serialised JSON record; empty for deletes
};

// Everything persisted, for replay at start-up.
struct JournalContents {
  std::vector<std::pair<std::string, std::string>> models;         // key, value
  std::vector<std::pair<std::string, std::string>> twins;          // key, value
  std::vector<std::pair<std::string, std::string>> relationships;  // key, value
  uint64_t last_event_seq = 0;
};

class Journal {
 public:
  virtual ~Journal() = default;
  // Applies `mutations` atomically and durably (survives kill -9 once this returns OK) and
  // records `last_event_seq`. Thread-safety: implementations accept concurrent calls.
  virtual Status Commit(std::span<const Mutation> mutations, uint64_t last_event_seq) = 0;
  // Streams every stored record, models first, then twins, then relationships (each kind as a
  // kPut* mutation, in key order), then sets `last_event_seq` to the last committed one. A
  // non-OK Status from `visit` stops the replay and is returned. The views passed to `visit`
  // are valid only during the call.
  // Makes the records named by `deleted` (delete mutations already committed) physically
  // gone from storage, not only marked deleted: for erasure (TwinGraph::EraseTwin). May take
  // long (a store rewrites files); called without the graph's lock. Default: nothing to do,
  // for journals that keep no bytes of deleted records.
  virtual Status Purge(std::span<const Mutation> deleted) {
    (void)deleted;
    return Status::Ok();
  }
  virtual Status Replay(const std::function<Status(Mutation::Kind, std::string_view key,
                                                   std::string_view value)>& visit,
                        uint64_t& last_event_seq) = 0;
};

// A journal in memory: for tests and for running without persistence.
class MemoryJournal final : public Journal {
 public:
  Status Commit(std::span<const Mutation> mutations, uint64_t last_event_seq) override;
  Status Replay(const std::function<Status(Mutation::Kind, std::string_view, std::string_view)>& visit,
                uint64_t& last_event_seq) override;
  std::size_t commits() const { return commits_; }

 private:
  std::map<std::string, std::string, std::less<>> models_, twins_, relationships_;
  uint64_t last_event_seq_ = 0;
  std::size_t commits_ = 0;
};

}  // namespace doppel::twin
