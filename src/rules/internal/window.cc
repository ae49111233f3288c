#include "rules/internal/window.h"

#include <cmath>

namespace doppel::rules::internal {
namespace {

constexpr double kNsPerMinute = 60e9;

std::optional<double> Finite(double value) {
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

void SampleWindow::Add(int64_t time_ns, double value) {
  if (samples_.size() >= max_samples_) PopFront();
  if (samples_.empty()) {
    origin_ns_ = time_ns;
    sum_v_ = sum_t_ = sum_tt_ = sum_tv_ = 0;
    pops_since_rebuild_ = 0;
  }
  Sample sample{.time_ns = time_ns, .value = value, .seq = next_seq_++};
  samples_.push_back(sample);
  AddToSums(sample, 1);
  while (!min_queue_.empty() && min_queue_.back().value >= value) min_queue_.pop_back();
  min_queue_.push_back(sample);
  while (!max_queue_.empty() && max_queue_.back().value <= value) max_queue_.pop_back();
  max_queue_.push_back(sample);
}

void SampleWindow::EvictThrough(int64_t cutoff_ns) {
  while (!samples_.empty() && samples_.front().time_ns <= cutoff_ns) PopFront();
}

void SampleWindow::PopFront() {
  const Sample gone = samples_.front();
  samples_.pop_front();
  if (min_queue_.front().seq == gone.seq) min_queue_.pop_front();
  if (max_queue_.front().seq == gone.seq) max_queue_.pop_front();
  AddToSums(gone, -1);
  // A rebuild costs one pass over what is left, paid for by as many pops.
  if (++pops_since_rebuild_ >= samples_.size()) Rebuild();
}

void SampleWindow::Rebuild() {
  sum_v_ = sum_t_ = sum_tt_ = sum_tv_ = 0;
  pops_since_rebuild_ = 0;
  if (samples_.empty()) return;
  origin_ns_ = samples_.front().time_ns;
  for (const Sample& sample : samples_) AddToSums(sample, 1);
}

double SampleWindow::Minutes(int64_t time_ns) const {
  int64_t since_origin = 0;
  if (__builtin_sub_overflow(time_ns, origin_ns_, &since_origin)) {  // times centuries apart
    return (static_cast<double>(time_ns) - static_cast<double>(origin_ns_)) / kNsPerMinute;
  }
  return static_cast<double>(since_origin) / kNsPerMinute;
}

void SampleWindow::AddToSums(const Sample& sample, double sign) {
  double t = Minutes(sample.time_ns);
  sum_v_ += sign * sample.value;
  sum_t_ += sign * t;
  sum_tt_ += sign * t * t;
  sum_tv_ += sign * t * sample.value;
}

std::optional<double> SampleWindow::Avg() const {
  if (samples_.empty()) return std::nullopt;
  return Finite(sum_v_ / static_cast<double>(samples_.size()));
}

std::optional<double> SampleWindow::Min() const {
  if (samples_.empty()) return std::nullopt;
  return min_queue_.front().value;
}

std::optional<double> SampleWindow::Max() const {
  if (samples_.empty()) return std::nullopt;
  return max_queue_.front().value;
}

std::optional<double> SampleWindow::Delta() const {
  if (samples_.size() < 2) return std::nullopt;
  return Finite(samples_.back().value - samples_.front().value);
}

std::optional<double> SampleWindow::Rate() const {
  if (samples_.size() < 2) return std::nullopt;
  double n = static_cast<double>(samples_.size());
  double spread = n * sum_tt_ - sum_t_ * sum_t_;  // n² × the variance of the times
  // All samples at one time (up to rounding): no slope.
  if (!(spread > 1e-9 * n * sum_tt_)) return std::nullopt;
  return Finite((n * sum_tv_ - sum_t_ * sum_v_) / spread);
}

}  // namespace doppel::rules::internal
