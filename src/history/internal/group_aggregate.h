// Bucket aggregation over the union of several series (groupBy property). Internal to
// src/history.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "tsdb/query.h"

namespace doppel::history::internal {

// One bucket over many series: tsdb::Moments, so whole per-series buckets and single points
// combine the same way. Ties on first/last are
// broken by member order: `member` is the series' index in (twin, path) order.
class GroupBucket {
 public:
  // A point of series `member`. `keep_value` stores it for percentiles.
  void Add(tsdb::TimeNs time, uint32_t member, double value, bool keep_value);
  // A whole bucket of one series (count, sum, min, max, stddev; not first/last/percentiles).
  void Merge(const tsdb::Bucket& b);
  tsdb::Bucket Finish(tsdb::TimeNs start, bool percentiles);

 private:
  tsdb::Moments moments_;
  // (time, member) of the first and last point; the earliest/latest wins, then member order.
  tsdb::TimeNs first_time_ = 0, last_time_ = 0;
  uint32_t first_member_ = 0, last_member_ = 0;
  double first_ = 0, last_ = 0;
  std::vector<double> values_;
};

// Buckets by index (k for [k*step, (k+1)*step)).
using GroupBuckets = std::map<int64_t, GroupBucket>;

}  // namespace doppel::history::internal
