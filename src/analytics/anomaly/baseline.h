// Building blocks of the anomaly detectors (detector.h): bounded-memory baselines that take one
// value at a time without allocating, and save/restore their exact state as JSON. Private to
// src/analytics/anomaly/.
//
//   RollingRobust level(500);          // median and spread of the last 500 values
//   double z = level.Z(x);             // |x − median| / spread, against the past only
//   level.Push(x);
//
// Not thread-safe: each belongs to one detector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics::internal {

// ---- exact JSON state helpers (doubles round-trip exactly through base/json.h) ----
void PutNumbers(json::object& out, std::string_view key, std::span<const double> values);
// Reads an array of numbers of exactly `expected` elements (any size when expected == SIZE_MAX).
Status GetNumbers(const json::object& in, std::string_view key, std::vector<double>& out,
                  std::size_t expected = SIZE_MAX);
Status GetNumber(const json::object& in, std::string_view key, double& out);
Status GetCount(const json::object& in, std::string_view key, uint64_t& out);
const json::object* GetObject(const json::object& in, std::string_view key);

// A fixed-capacity ring of the latest values (oldest overwritten).
class Ring {
 public:
  explicit Ring(std::size_t capacity) : values_(capacity) {}
  void Push(double x);
  void Clear() { head_ = size_ = 0; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return values_.size(); }
  bool full() const { return size_ == values_.size(); }
  // i = 0 is the oldest value held.
  double at(std::size_t i) const { return values_[(head_ + values_.size() - size_ + i) % values_.size()]; }
  double newest() const { return at(size_ - 1); }
  // Copies the held values, oldest first, into `out` (size() elements).
  void CopyTo(std::span<double> out) const;
  void Save(json::object& out, std::string_view key) const;
  Status Restore(const json::object& in, std::string_view key);

 private:
  std::vector<double> values_;
  std::size_t head_ = 0;  // where the next value goes
  std::size_t size_ = 0;
};

// Median and robust spread of the last `window` values. The estimate is refreshed every
// max(1, window/16) pushes (an O(window) selection), so a push costs O(1) amortised and the
// baseline lags the data a little, which is what a baseline should do.
// spread = max(1.4826·MAD, 1.2533·mean absolute deviation from the median, floor): both equal σ
// for Gaussian data; the second keeps a square wave or a mostly-constant series from getting a
// zero spread; the floor (1e-9·max(1, |median|)) keeps a flat line finite.
class RollingRobust {
 public:
  explicit RollingRobust(std::size_t window);
  void Push(double x);
  void Clear();
  std::size_t size() const { return ring_.size(); }
  double median() const { return median_; }
  double spread() const { return spread_; }
  // |x − median| / spread (0 before any value).
  double Z(double x) const;
  void Save(json::object& out) const;
  Status Restore(const json::object& in);

 private:
  void Refresh();

  Ring ring_;
  std::vector<double> scratch_;
  std::size_t refresh_every_;
  std::size_t since_refresh_ = 0;
  double median_ = 0;
  double spread_ = 0;
};

// A high quantile of the last `window` values, refreshed every max(1, window/16) pushes
// (O(1) amortised). Used to express a strength relative to the series' own usual strengths.
class RollingQuantile {
 public:
  RollingQuantile(std::size_t window, double quantile);
  void Push(double x);
  double value() const { return value_; }  // 0 before any value
  std::size_t size() const { return ring_.size(); }
  void Save(json::object& out) const;
  Status Restore(const json::object& in);

 private:
  Ring ring_;
  std::vector<double> scratch_;
  double quantile_;
  std::size_t refresh_every_;
  std::size_t since_refresh_ = 0;
  double value_ = 0;
};

// Exponentially weighted mean and variance.
class Ewm {
 public:
  explicit Ewm(double alpha) : alpha_(alpha) {}
  void Push(double x);
  double mean() const { return mean_; }
  double stddev() const;
  uint64_t count() const { return count_; }
  double Z(double x) const;
  void Save(json::object& out) const;
  Status Restore(const json::object& in);

 private:
  double alpha_;
  double mean_ = 0;
  double var_ = 0;
  uint64_t count_ = 0;
};

// A decaying peak: remembers the largest recent value, forgetting it by `decay` per step.
// Used to suppress repeats of one event (an alarm already raised).
struct DecayingPeak {
  double decay = 1.0;
  double peak = 0;
  void Step(double x) { peak = std::max(peak * decay, x); }
};

// Maps a non-negative strength z to a score in [0, 1): 0.9 at z = threshold, strictly increasing
// and not saturating before z ~ 1e15·threshold (so a global threshold can still rank events).
double ScoreFromZ(double z, double threshold);

// Expected-range evidence for a baseline.
struct Range {
  double expected = 0, low = 0, high = 0;
};
Range MakeRange(double expected, double spread, double k);

}  // namespace doppel::analytics::internal
