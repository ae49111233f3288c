// The samples of one signal over one time window, with the aggregates the window functions
// read kept up to date as samples arrive and leave: O(1) amortised per sample.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace doppel::rules::internal {

class SampleWindow {
 public:
  // Holds at most `max_samples` samples: past that the oldest is dropped early.
  explicit SampleWindow(std::size_t max_samples) : max_samples_(max_samples) {}

  // Appends a finite value; times never decrease (ConditionState ignores older readings).
  void Add(int64_t time_ns, double value);
  // Drops every sample at or before `cutoff_ns`: the window (now − W, now] excludes its start.
  void EvictThrough(int64_t cutoff_ns);

  std::size_t count() const { return samples_.size(); }
  std::optional<double> Avg() const;    // ≥ 1 sample
  std::optional<double> Min() const;    // ≥ 1 sample
  std::optional<double> Max() const;    // ≥ 1 sample
  std::optional<double> Delta() const;  // newest − oldest, ≥ 2 samples
  // Least-squares slope of value over time in units per minute: ≥ 2 samples at 2+ distinct times.
  std::optional<double> Rate() const;

 private:
  struct Sample {
    int64_t time_ns = 0;
    double value = 0;
    uint64_t seq = 0;  // arrival order: ties in time must not confuse the min/max queues
  };

  void PopFront();
  // Recomputes the running sums from the samples, with the time origin moved to the oldest,
  // so subtraction drift and the size of the time offsets stay bounded.
  void Rebuild();
  void AddToSums(const Sample& sample, double sign);
  double Minutes(int64_t time_ns) const;

  std::size_t max_samples_;
  std::deque<Sample> samples_;
  std::deque<Sample> min_queue_;  // increasing values; the front is the minimum
  std::deque<Sample> max_queue_;  // decreasing values; the front is the maximum
  uint64_t next_seq_ = 0;
  int64_t origin_ns_ = 0;
  std::size_t pops_since_rebuild_ = 0;
  double sum_v_ = 0, sum_t_ = 0, sum_tt_ = 0, sum_tv_ = 0;  // t in minutes since origin_ns_
};

}  // namespace doppel::rules::internal
