#include "history/internal/group_aggregate.h"

#include <tuple>

namespace doppel::history::internal {

void GroupBucket::Add(tsdb::TimeNs time, uint32_t member, double value, bool keep_value) {
  const bool empty = moments_.count == 0;
  moments_.Add(value);
  if (empty || std::tie(time, member) < std::tie(first_time_, first_member_)) {
    first_time_ = time, first_member_ = member, first_ = value;
  }
  if (empty || std::tie(time, member) > std::tie(last_time_, last_member_)) {
    last_time_ = time, last_member_ = member, last_ = value;
  }
  if (keep_value) values_.push_back(value);
}

void GroupBucket::Merge(const tsdb::Bucket& b) {
  moments_.Merge(tsdb::Moments::Of(b));
}

tsdb::Bucket GroupBucket::Finish(tsdb::TimeNs start, bool percentiles) {
  tsdb::Bucket b;
  b.start = start;
  moments_.FillBucket(b);
  b.first = first_;
  b.last = last_;
  if (percentiles && !values_.empty()) tsdb::FillPercentiles(values_, b);
  return b;
}

}  // namespace doppel::history::internal
