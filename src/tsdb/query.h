// Queries over one SeriesStore: raw points, time-bucket aggregates, latest values.
//
//   auto points = QueryRaw(store, id, start, end);          // [start, end), time order
//   AggregateRequest req{.series = id, .start = s, .end = e, .step = 3600'000'000'000};
//   auto buckets = QueryAggregate(store, req);              // hourly rows
//
// Semantics: ranges are [start, end) in ns; buckets are aligned to the epoch (bucket k covers
// [k*step, (k+1)*step)) and clipped to the range; only buckets holding points are returned.
// Where a time was written more than once, the last write is the value.
// Aggregates need a numeric series (int64 values are aggregated as doubles). stddev is the
// population standard deviation; percentiles are exact, by nearest rank over the bucket's
// values (the smallest value with at least p% of the values <= it).
// Chunks that lie entirely inside one bucket and overlap no other data are aggregated from
// their header statistics without decoding, unless percentiles are requested.
// Thread-safety: as SeriesStore (each call reads a consistent copy of one series).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "tsdb/series_store.h"

namespace doppel::tsdb {

// A query producing more buckets than this is refused (PayloadTooLarge): 100k rows is about
// 30 days at 30 s resolution, more than any chart can show.
inline constexpr int64_t kMaxBuckets = 100'000;

struct AggregateRequest {
  SeriesId series = 0;
  TimeNs start = 0;
  TimeNs end = 0;
  TimeNs step = 0;
  bool percentiles = false;  // p50..p99 need every value: no header-only shortcut
};

struct Bucket {
  TimeNs start = 0;  // aligned bucket start (may precede the query start)
  uint64_t count = 0;
  double sum = 0, avg = 0, min = 0, max = 0, first = 0, last = 0, stddev = 0;
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0;  // 0 unless requested
};

// Count, sum, min, max and m2 (the sum of squared deviations from the mean) of a set of
// values: what every bucket aggregate but first, last and the percentiles derives from. Two
// sets merge exactly (Chan et al.'s parallel formula), so chunk header statistics, whole
// buckets and single points combine alike — here and in history's groups.
struct Moments {
  uint64_t count = 0;
  double sum = 0, min = 0, max = 0, m2 = 0;

  void Merge(const Moments& other);
  void Add(double v) { Merge({1, v, v, v, 0}); }
  // The moments of a finished bucket (from its count, sum, min, max and stddev).
  static Moments Of(const Bucket& b);
  // Sets count, sum, avg, min, max and stddev (population) of `b`. Precondition: count > 0.
  void FillBucket(Bucket& b) const;
};

// Sorts `values` and sets b.p50..p99 by nearest rank. Precondition: `values` is not empty.
void FillPercentiles(std::vector<double>& values, Bucket& b);

// Errors for all: InvalidArgument if start >= end, NotFound for an unknown series.
Result<std::vector<Point>> QueryRaw(const SeriesStore& store, SeriesId id, TimeNs start, TimeNs end);
// Also InvalidArgument for step <= 0 or a non-numeric series, PayloadTooLarge past kMaxBuckets.
Result<std::vector<Bucket>> QueryAggregate(const SeriesStore& store, const AggregateRequest& request);

// Aggregates at a roll-up level (1 min or 1 h buckets) over [start, end): buckets before the
// series' roll-up floor come from the roll-up rows retention wrote (RetentionRule::
// keep_rollups), which outlive the raw data; the rest from the raw data as QueryAggregate.
// Roll-up buckets carry count, sum, avg, min and max only (first, last, stddev and percentiles
// are 0) and are whole buckets (not clipped to the range). Points written after their time was
// rolled up (later than the floor was set, older than it) are in the raw data but not in the
// roll-ups. Errors: as QueryAggregate.
Result<std::vector<Bucket>> QueryRollup(const SeriesStore& store, SeriesId id, RollupLevel level, TimeNs start,
                                        TimeNs end);

// Merges a SeriesData (as SeriesStore::Read returns) into time-ordered points in [start, end)
// with last-write-wins on equal times.
// Errors: InvalidArgument for a chunk that does not decode.
Result<std::vector<Point>> MergePoints(const SeriesData& data, TimeNs start, TimeNs end);

}  // namespace doppel::tsdb
