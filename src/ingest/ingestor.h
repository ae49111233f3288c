// Ingestor: the one door every reading comes in by. It checks readings against the twin graph
// (the twin exists, the path names a Telemetry or Property of its model, the value fits the
// schema), resolves each (twin, path) to its history series — created on first write with the
// model's unit and semantic type — and writes the batch durably to the SeriesStore.
//
//   ingest::Ingestor ingestor(graph, store);
//   std::vector<Reading> batch = ...;            // from line protocol, JSON telemetry, MQTT
//   Status s = ingestor.Write(batch);            // OK = every reading durable in history
//
// Schemas and series types: double/float → double; integer/long (and integer enums) → int64
// (a float value is accepted when it is integral, since line protocol writes "1500" as a
// float); boolean → bool; string and string enums → string (an enum value must be one of the
// enum's values). Other schemas (objects, arrays, maps, dates, durations) are refused: history
// keeps scalars.
//
// Thread-safety: Write may be called from many threads; validation runs under the graph's
// shared lock, the write under the store's. The graph and the store must outlive the Ingestor.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <cstdint>
#include <functional>
#include <vector>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <span>
#include <string_view>

#include "base/status.h"
#include "ingest/reading.h"
#include "tsdb/series_store.h"
#include "twin/twin_graph.h"

namespace doppel::ingest {

// Why a reading was refused. Counted per reason (Ingestor::rejected) for /metrics.
enum class RejectReason : uint8_t {
  kUnknownTwin = 0,  // no twin with that id
  kUnknownPath,      // the twin's model has no telemetry/property/component at that path
  kWrongType,        // the value does not fit the schema (or the series' existing type)
  kUnstorable,       // the schema is not a scalar history can keep
  kMalformed,        // the input could not be decoded (counted by the decoders, see Count)
  kCount_,           // number of reasons; not a reason
};
inline constexpr std::size_t kRejectReasonCount = static_cast<std::size_t>(RejectReason::kCount_);
// "unknown_twin", "unknown_path", "wrong_type", "unstorable", "malformed" (metric labels).
std::string_view RejectReasonName(RejectReason reason);

class Ingestor {
 public:
  Ingestor(twin::TwinGraph& graph, tsdb::SeriesStore& store);

  // Validates the whole batch, then writes it in one durable SeriesStore::Write.
  // All-or-nothing: on the first bad reading nothing is written, that reading's reason is
  // counted, and the error names it: NotFound "reading 3: twin 'x' not found" (kUnknownTwin),
  // InvalidArgument "reading 3: twin 'x' (model 'dtmi:..'): no telemetry or property 'y'",
  // InvalidArgument "reading 3: 'x'/'y' expects a double, got a string". Errors from the
  // store pass through (Internal, Unavailable). OK = durable; `accepted` grows by the size.
  //
  // `describe` names a reading in error messages, for decoders that know better than an index
  // (line protocol: "line 12"); it is called at most once, on the error path. Default:
  // "reading <index>".
  using Describe = std::function<std::string(std::size_t index)>;
  Status Write(std::span<const Reading> readings, const Describe& describe = {});

  // Many independent batches ("groups", e.g. one per MQTT message) in ONE durable
  // SeriesStore::Write: each group is validated all-or-nothing exactly as Write validates a
  // batch (its reason counted, errors naming "reading <index in the group>"), the accepted
  // groups are written together (one WAL sync), and a bad group never keeps its neighbours out.
  // Returns one Status per group, in order: OK = that group is durable. A store failure fails
  // every group that had passed validation, with the store's error. Listeners are called once
  // per accepted group, after the write, as for Write. An empty group is OK and writes nothing.
  std::vector<Status> WriteEach(std::span<const std::span<const Reading>> groups);

  // Listeners see every batch after it is durable, with values as stored (converted to the
  // series' type), on the writing thread, in write order per writer. They must be quick and
  // must not block (copy what you need into your own queue) nor call Write. Subscribe and
  // Unsubscribe may be called from any thread; a listener is not called after Unsubscribe
  // returns.
  using Listener = std::function<void(std::span<const Reading>)>;
  uint64_t Subscribe(Listener listener);
  void Unsubscribe(uint64_t id);

  // Forgets the series cache entries of `twin_id` (right to erasure, docs/security.md): a
  // later reading for a new twin of the same id gets fresh series from the store. First waits
  // for every Write/WriteEach already in flight when it is called, so a reading of the twin
  // validated against the graph before the twin was erased from it has reached the store (and
  // the listeners) before this returns. Erasing a twin is therefore: erase it from the graph
  // (new readings fail with kUnknownTwin), ForgetTwin, then erase its history and live state.
  // Must not be called from a listener (it would wait for its own write).
  void ForgetTwin(std::string_view twin_id);

  // Counts a rejection found before Write (a decoder's malformed input).
  void Count(RejectReason reason, uint64_t n = 1);

  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  uint64_t rejected(RejectReason reason) const {
    return rejected_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }

  tsdb::SeriesStore& store() { return store_; }

 private:
  // Write and WriteEach: validate each group, create missing series, one store write, listeners.
  std::vector<Status> WriteGroups(std::span<const std::span<const Reading>> groups, const Describe& describe);
  std::vector<Status> CheckAndWrite(std::span<const std::span<const Reading>> groups, const Describe& describe);
  // Registers a write in flight in the current epoch (returned) / unregisters it (ForgetTwin).
  uint64_t EnterWrite();
  void LeaveWrite(uint64_t epoch);
  // The series id of each spec (cached, else created); a failed spec's Status in `failed`.
  Status ResolveSeries(const std::vector<tsdb::SeriesSpec>& specs, std::vector<tsdb::SeriesId>& ids,
                       std::vector<Status>& failed);
  void Notify(std::span<const Reading> readings, std::span<const tsdb::SeriesPoint> points);

  twin::TwinGraph& graph_;
  tsdb::SeriesStore& store_;
  // (twin id + '\0' + path) → series, so steady-state writes skip the store's catalog.
  // A series keeps the metadata it was created with until the store updates it.
  std::shared_mutex series_mu_;
  // With the series' type: a batch of another type (a twin recreated with another model) goes
  // to the store's CreateSeries, which refuses it, instead of failing the whole store write.
  std::unordered_map<std::string, std::pair<tsdb::SeriesId, tsdb::ValueType>> series_;  // guarded by series_mu_
  std::shared_mutex listeners_mu_;
  std::vector<std::pair<uint64_t, Listener>> listeners_;  // guarded by listeners_mu_
  uint64_t next_listener_ = 1;                           // guarded by listeners_mu_
  // Writes in flight by the epoch they started in; ForgetTwin starts a new epoch and waits
  // until none of an older one is left (new writes never hold it up, so it cannot starve).
  std::mutex in_flight_mu_;
  std::condition_variable in_flight_left_;
  uint64_t epoch_ = 0;                          // guarded by in_flight_mu_
  std::map<uint64_t, std::size_t> in_flight_;  // epoch → writes; guarded by in_flight_mu_
  std::atomic<uint64_t> accepted_{0};
  std::array<std::atomic<uint64_t>, kRejectReasonCount> rejected_{};
};

}  // namespace doppel::ingest
