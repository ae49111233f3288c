// ContextModel: how new is the current short pattern of values? In the spirit of the Contextual
// Anomaly Detector (CAD OSE, NAB): values are quantised into a few bins relative to the range
// seen so far, the latest bins form contexts (the current bin alone, with the one before it,
// with the two before, ... up to `order` bins), and a bounded dictionary remembers every context
// seen. The novelty of a reading is the share of its contexts never seen before: a value in a
// known place of a known pattern scores 0, a value outside the range seen, or a known value in
// an order never seen, scores high. Private to src/analytics/anomaly/.
//
//   ContextModel model(8, 6, 1 << 14);
//   double novelty = model.Novelty(x);   // [0, 1], against the past only
//   model.Push(x);
//
// The dictionary is a fixed table of 32-bit fingerprints (4-way buckets, a full bucket forgets
// one entry), so memory is bounded and a long-unused context is eventually forgotten.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "analytics/anomaly/baseline.h"
#include "analytics/anomaly/detector_kinds.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics::internal {

class ContextModel {
 public:
  // bins in [2, 64], order in [1, 16], capacity a power of two ≥ 4.
  ContextModel(int bins, int order, std::size_t capacity);

  // The share of x's contexts never seen (0 before any value). Call before Push.
  double Novelty(double x) const;
  // Learns x's contexts, then widens the range to include x.
  void Push(double x);
  // The range seen so far (0, 0 before any value).
  double lo() const { return lo_; }
  double hi() const { return hi_; }

  void Save(json::object& out) const;
  Status Restore(const json::object& in);

 private:
  // Bins 0..bins−1 inside the range seen; `bins` below it, `bins`+1 above it.
  int Bin(double x) const;
  // Fills hashes_[k] for the contexts of a reading in bin `bin`: k + 1 bins, the newest last.
  void Contexts(int bin) const;
  bool Seen(uint64_t hash) const;
  void Insert(uint64_t hash);

  int bins_;
  int order_;
  std::vector<uint32_t> table_;  // fingerprints; 0 = empty
  Ring history_;                 // the previous order − 1 bins
  double lo_ = 0, hi_ = 0;
  uint64_t count_ = 0;
  mutable std::vector<uint64_t> hashes_;  // scratch for Contexts
};

// Readings after a high novelty that score 0: `rest`, or `restFraction` of the readings seen so
// far if longer (a detector knows how much of the series it has seen, never how long it is).
uint64_t RestLength(const DetectorParams& p, uint64_t observed);

}  // namespace doppel::analytics::internal
