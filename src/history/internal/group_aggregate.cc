#include "history/internal/group_aggregate.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace doppel::history::internal {
namespace {

// Nearest rank, as tsdb/query.cc: the smallest value with at least p% of the values <= it.
double Percentile(const std::vector<double>& sorted, double p) {
  const size_t rank =
      static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::max<size_t>(rank, 1) - 1];
}

}  // namespace

void GroupBucket::MergeMoments(uint64_t n, double n_sum, double n_min, double n_max, double n_m2) {
  if (count_ == 0) {
    count_ = n, sum_ = n_sum, min_ = n_min, max_ = n_max, m2_ = n_m2;
    return;
  }
  const double total = static_cast<double>(count_ + n);
  const double delta = n_sum / static_cast<double>(n) - sum_ / static_cast<double>(count_);
  m2_ += n_m2 + delta * delta * static_cast<double>(count_) * static_cast<double>(n) / total;
  count_ += n;
  sum_ += n_sum;
  min_ = std::min(min_, n_min);
  max_ = std::max(max_, n_max);
}

void GroupBucket::Add(tsdb::TimeNs time, uint32_t member, double value, bool keep_value) {
  const bool empty = count_ == 0;
  MergeMoments(1, value, value, value, 0);
  if (empty || std::tie(time, member) < std::tie(first_time_, first_member_)) {
    first_time_ = time, first_member_ = member, first_ = value;
  }
  if (empty || std::tie(time, member) > std::tie(last_time_, last_member_)) {
    last_time_ = time, last_member_ = member, last_ = value;
  }
  if (keep_value) values_.push_back(value);
}

void GroupBucket::Merge(const tsdb::Bucket& b) {
  if (b.count == 0) return;
  MergeMoments(b.count, b.sum, b.min, b.max, b.stddev * b.stddev * static_cast<double>(b.count));
}

tsdb::Bucket GroupBucket::Finish(tsdb::TimeNs start, bool percentiles) {
  tsdb::Bucket b;
  b.start = start;
  b.count = count_;
  b.sum = sum_;
  b.avg = sum_ / static_cast<double>(count_);
  b.min = min_;
  b.max = max_;
  b.first = first_;
  b.last = last_;
  b.stddev = std::sqrt(std::max(0.0, m2_ / static_cast<double>(count_)));
  if (percentiles && !values_.empty()) {
    std::sort(values_.begin(), values_.end());
    b.p50 = Percentile(values_, 50);
    b.p90 = Percentile(values_, 90);
    b.p95 = Percentile(values_, 95);
    b.p99 = Percentile(values_, 99);
  }
  return b;
}

}  // namespace doppel::history::internal
