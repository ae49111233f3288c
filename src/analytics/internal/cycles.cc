#include "analytics/internal/cycles.h"

#include <cmath>

#include "tsdb/types.h"

namespace doppel::analytics::service_internal {

CycleAssembler::CycleAssembler(std::size_t columns, int64_t bucket_ns)
    : bucket_ns_(bucket_ns),
      sums_(columns, 0.0),
      counts_(columns, 0),
      last_(columns, std::numeric_limits<double>::quiet_NaN()) {}

int64_t CycleAssembler::KeyOf(int64_t time) const {
  return bucket_ns_ > 0 ? tsdb::FloorDiv(time, bucket_ns_) : time;
}

void CycleAssembler::Add(int64_t time, std::size_t column, double value, std::vector<Cycle>& out) {
  if (column >= sums_.size() || !std::isfinite(value)) return;
  const int64_t key = KeyOf(time);
  if (key <= done_) return;  // late, or a column of a cycle already complete
  if (present_ > 0 && key != key_) {
    if (key < key_) return;
    Emit(out);
  }
  key_ = key;
  if (bucket_ns_ > 0) {
    present_ += counts_[column] == 0 ? 1 : 0;
    sums_[column] += value;
    ++counts_[column];
    return;
  }
  if (counts_[column] == 0) ++present_;
  sums_[column] = value;  // the same time written twice: the last write wins, as in history
  counts_[column] = 1;
  if (present_ == sums_.size()) Emit(out);
}

void CycleAssembler::Finish(std::vector<Cycle>& out) {
  if (present_ > 0) Emit(out);
}

void CycleAssembler::Emit(std::vector<Cycle>& out) {
  Cycle cycle{.time = bucket_ns_ > 0 ? key_ * bucket_ns_ : key_, .values = std::vector<double>(sums_.size())};
  bool complete = true;
  for (std::size_t c = 0; c < sums_.size(); ++c) {
    if (counts_[c] > 0) last_[c] = sums_[c] / counts_[c];
    cycle.values[c] = last_[c];
    complete = complete && !std::isnan(last_[c]);
    sums_[c] = 0;
    counts_[c] = 0;
  }
  present_ = 0;
  done_ = key_;
  // Until every column has been seen once there is nothing to fill a gap with.
  if (complete) out.push_back(std::move(cycle));
}

}  // namespace doppel::analytics::service_internal
