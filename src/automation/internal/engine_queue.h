// The rule engine's queue between the threads that learn of updates (the ingest listener, the
// graph-event handler, Put) and the one worker that evaluates them.
//
// Two kinds of entries share one sequence: updates (a value for a routed (twin, path) slot,
// the hot path, kept in a ring so steady-state pushes do not allocate) and graph changes (a
// twin or relationship came or went; rare, never dropped — losing one would leave a scope
// stale for good). Past `max_updates` queued updates, the oldest update is dropped and counted.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "rules/expression.h"

namespace doppel::automation::engine {

struct Update {
  uint64_t seq = 0;
  uint32_t slot = 0;  // RouteIndex slot
  int64_t time_ns = 0;
  rules::Value value = {};
};

struct GraphChange {
  enum class Kind : uint8_t {
    kTwinCreated, kTwinDeleted, kTwinModelChanged, kRelationshipCreated, kRelationshipDeleted,
    kWarmUp,  // evaluate the instances Put seeded (rule_id), so the worker reports them
  };
  uint64_t seq = 0;
  Kind kind = Kind::kTwinCreated;
  std::string twin_id = {};       // the twin; a relationship's source
  std::string target_id = {};     // a relationship's target
  std::string relationship = {};  // a relationship's name
  uint64_t rule_id = 0;           // kWarmUp
};

// A FIFO of updates in one growable circular buffer: pops and pushes reuse the storage.
class UpdateRing {
 public:
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Update& operator[](std::size_t i) { return buf_[(head_ + i) & (buf_.size() - 1)]; }
  void PushBack(Update&& update);
  void PopFront();
  void Clear();
  void Swap(UpdateRing& other) noexcept;

 private:
  void Grow();

  std::vector<Update> buf_;  // size is 0 or a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

class UpdateQueue {
 public:
  explicit UpdateQueue(std::size_t max_updates) : max_updates_(max_updates == 0 ? 1 : max_updates) {}

  // Pushes a run of updates under one lock acquisition (the listener's batch); wakes the
  // worker when it goes out of scope.
  class Writer {
   public:
    explicit Writer(UpdateQueue& queue) : queue_(queue), lock_(queue.mu_) {}
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    void Push(uint32_t slot, int64_t time_ns, rules::Value value);

   private:
    UpdateQueue& queue_;
    std::unique_lock<std::mutex> lock_;
    bool pushed_ = false;
  };

  void PushChange(GraphChange change);

  // Blocks until something is queued (true) or Stop() was called and nothing is (false).
  bool WaitForWork();
  // Moves everything queued into `updates` and `changes` (both must be empty) and returns the
  // sequence number through which every entry is either taken or dropped.
  uint64_t Take(UpdateRing& updates, std::deque<GraphChange>& changes);
  // The taker has finished with everything through `seq` (Flush waits on this).
  void Done(uint64_t seq);
  // The newest sequence number handed out (0 = none yet).
  uint64_t last_seq() const;
  // Blocks until Done(s) for some s >= seq.
  void WaitDone(uint64_t seq);
  // WaitForWork answers false once the queue is empty.
  void Stop();
  void Restart();

  uint64_t queued() const;
  uint64_t dropped() const;
  std::size_t size() const;

 private:
  const std::size_t max_updates_;
  mutable std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable done_cv_;
  // Guarded by mu_.
  UpdateRing updates_;
  std::deque<GraphChange> changes_;
  uint64_t next_seq_ = 1;
  uint64_t done_seq_ = 0;
  uint64_t queued_ = 0;
  uint64_t dropped_ = 0;
  bool stopping_ = false;
};

}  // namespace doppel::automation::engine
