#include "tsdb/query.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace doppel::tsdb {
namespace {

struct Range {
  TimeNs min, max;
};

// One bucket's running aggregate: its moments, its first and last point, and (only when
// percentiles are requested) every value.
struct Accumulator {
  Moments moments;
  TimeNs first_time = 0, last_time = 0;
  double first = 0, last = 0;
  std::vector<double> values;

  void Merge(const Moments& m, TimeNs t_first, double v_first, TimeNs t_last, double v_last) {
    if (moments.count == 0 || t_first < first_time) first_time = t_first, first = v_first;
    if (moments.count == 0 || t_last > last_time) last_time = t_last, last = v_last;
    moments.Merge(m);
  }
  void Add(TimeNs t, double v) { Merge({1, v, v, v, 0}, t, v, t, v); }
};

// Nearest rank: the smallest value with at least p% of the values <= it.
double Percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::max<size_t>(rank, 1) - 1];
}

Bucket Finish(TimeNs start, Accumulator& a, bool percentiles) {
  Bucket b;
  b.start = start;
  a.moments.FillBucket(b);
  b.first = a.first;
  b.last = a.last;
  if (percentiles) FillPercentiles(a.values, b);
  return b;
}

// Source ranges: chunks in order, then the in-memory points (if any).
std::vector<Range> SourceRanges(const SeriesData& data) {
  std::vector<Range> ranges;
  for (const SeriesChunk& c : data.chunks) ranges.push_back({c.header().min_time, c.header().max_time});
  if (!data.recent.empty()) ranges.push_back({data.recent.front().time, data.recent.back().time});
  return ranges;
}

// isolated[i]: source i shares no time span with any other source. Sorted by min time,
// a source overlaps an earlier one iff its min is <= the greatest earlier max, and a later one
// iff its max is >= the next source's min.
std::vector<bool> Isolated(const std::vector<Range>& ranges) {
  std::vector<size_t> order(ranges.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a].min < ranges[b].min; });
  std::vector<bool> isolated(ranges.size(), true);
  TimeNs reach = std::numeric_limits<TimeNs>::min();
  for (size_t k = 0; k < order.size(); ++k) {
    const Range& r = ranges[order[k]];
    if (k > 0 && r.min <= reach) isolated[order[k]] = false;
    if (k + 1 < order.size() && r.max >= ranges[order[k + 1]].min) isolated[order[k]] = false;
    reach = std::max(reach, r.max);
  }
  return isolated;
}

void AppendInRange(const std::vector<Point>& points, TimeNs start, TimeNs end, std::vector<Point>* out) {
  auto lo = std::lower_bound(points.begin(), points.end(), start, [](const Point& p, TimeNs t) { return p.time < t; });
  for (; lo != points.end() && lo->time < end; ++lo) out->push_back(*lo);
}

Status CheckRange(TimeNs start, TimeNs end) {
  if (start >= end) return Status::InvalidArgument("empty or inverted time range: start must be before end");
  return Status::Ok();
}

Status CheckBucketCount(TimeNs start, TimeNs end, TimeNs step) {
  const __int128 buckets = __int128{FloorDiv(end - 1, step)} - FloorDiv(start, step) + 1;
  if (buckets > kMaxBuckets) {
    return Status::PayloadTooLarge("query spans " + std::to_string(static_cast<int64_t>(buckets)) +
                                   " buckets; the limit is " + std::to_string(kMaxBuckets));
  }
  return Status::Ok();
}

}  // namespace

void Moments::Merge(const Moments& other) {
  if (other.count == 0) return;
  if (count == 0) {
    *this = other;
    return;
  }
  const double total = static_cast<double>(count + other.count);
  const double delta = other.sum / static_cast<double>(other.count) - sum / static_cast<double>(count);
  m2 += other.m2 + delta * delta * static_cast<double>(count) * static_cast<double>(other.count) / total;
  count += other.count;
  sum += other.sum;
  min = std::min(min, other.min);
  max = std::max(max, other.max);
}

Moments Moments::Of(const Bucket& b) {
  return {b.count, b.sum, b.min, b.max, b.stddev * b.stddev * static_cast<double>(b.count)};
}

void Moments::FillBucket(Bucket& b) const {
  b.count = count;
  b.sum = sum;
  b.avg = sum / static_cast<double>(count);
  b.min = min;
  b.max = max;
  b.stddev = std::sqrt(std::max(0.0, m2 / static_cast<double>(count)));
}

void FillPercentiles(std::vector<double>& values, Bucket& b) {
  std::sort(values.begin(), values.end());
  b.p50 = Percentile(values, 50);
  b.p90 = Percentile(values, 90);
  b.p95 = Percentile(values, 95);
  b.p99 = Percentile(values, 99);
}

Result<std::vector<Point>> MergePoints(const SeriesData& data, TimeNs start, TimeNs end) {
  std::vector<std::vector<Point>> sources;
  for (const SeriesChunk& c : data.chunks) DOPPEL_RETURN_IF_ERROR(c.Decode(&sources.emplace_back()));
  sources.push_back(data.recent);
  const std::vector<Range> ranges = SourceRanges(data);
  const std::vector<bool> isolated = Isolated(ranges);
  std::vector<Point> out;
  if (std::all_of(isolated.begin(), isolated.end(), [](bool b) { return b; })) {
    std::sort(sources.begin(), sources.end(), [](const auto& a, const auto& b) {
      return !a.empty() && (b.empty() || a.front().time < b.front().time);
    });
    for (const auto& s : sources) AppendInRange(s, start, end, &out);
    return out;
  }
  // Overlapping sources: sources are in write precedence order, so after a stable sort by
  // time the last of each run of equal times is the last write.
  std::vector<Point> all;
  for (const auto& s : sources) AppendInRange(s, start, end, &all);
  std::stable_sort(all.begin(), all.end(), [](const Point& a, const Point& b) { return a.time < b.time; });
  for (size_t i = 0; i < all.size(); ++i) {
    if (i + 1 < all.size() && all[i + 1].time == all[i].time) continue;
    out.push_back(std::move(all[i]));
  }
  return out;
}

Result<std::vector<Point>> QueryRaw(const SeriesStore& store, SeriesId id, TimeNs start, TimeNs end) {
  DOPPEL_RETURN_IF_ERROR(CheckRange(start, end));
  DOPPEL_ASSIGN_OR_RETURN(SeriesData data, store.Read(id, start, end));
  return MergePoints(data, start, end);
}

Result<std::vector<Bucket>> QueryAggregate(const SeriesStore& store, const AggregateRequest& req) {
  DOPPEL_RETURN_IF_ERROR(CheckRange(req.start, req.end));
  if (req.step <= 0) return Status::InvalidArgument("step must be positive");
  DOPPEL_RETURN_IF_ERROR(CheckBucketCount(req.start, req.end, req.step));
  DOPPEL_ASSIGN_OR_RETURN(SeriesData data, store.Read(req.series, req.start, req.end));
  if (!IsNumeric(data.type)) return Status::InvalidArgument("aggregates need a numeric series");

  // Three paths, cheapest first: a chunk that overlaps no other data and lies inside one
  // bucket is folded in from its header; one that overlaps nothing is decoded straight into
  // the buckets; the rest (overlapping chunks, in-memory points) are merged point by point.
  std::map<TimeNs, Accumulator> acc;  // by bucket index
  auto add = [&](TimeNs t, double v) {
    Accumulator& a = acc[FloorDiv(t, req.step)];
    a.Add(t, v);
    if (req.percentiles) a.values.push_back(v);
  };
  const std::vector<bool> isolated = Isolated(SourceRanges(data));
  SeriesData rest{data.type, {}, std::move(data.recent)};
  std::vector<TimeNs> times;
  std::vector<double> values;
  for (size_t i = 0; i < data.chunks.size(); ++i) {
    const ChunkHeader& h = data.chunks[i].header();
    if (!isolated[i]) {
      rest.chunks.push_back(std::move(data.chunks[i]));
      continue;
    }
    const bool inside = h.min_time >= req.start && h.max_time < req.end &&
                        FloorDiv(h.min_time, req.step) == FloorDiv(h.max_time, req.step);
    if (inside && !req.percentiles) {
      const ChunkStats& s = h.stats;
      acc[FloorDiv(h.min_time, req.step)].Merge({h.count, s.sum, s.min, s.max, s.m2}, h.min_time, s.first,
                                                h.max_time, s.last);
      continue;
    }
    times.clear();
    values.clear();
    DOPPEL_RETURN_IF_ERROR(data.chunks[i].DecodeNumeric(&times, &values));
    for (size_t k = 0; k < times.size(); ++k) {
      if (times[k] >= req.start && times[k] < req.end) add(times[k], values[k]);
    }
  }
  DOPPEL_ASSIGN_OR_RETURN(const std::vector<Point> points, MergePoints(rest, req.start, req.end));
  for (const Point& p : points) add(p.time, NumericValue(p.value));
  std::vector<Bucket> out;
  out.reserve(acc.size());
  for (auto& [index, a] : acc) out.push_back(Finish(index * req.step, a, req.percentiles));
  return out;
}

Result<std::vector<Bucket>> QueryRollup(const SeriesStore& store, SeriesId id, RollupLevel level, TimeNs start,
                                        TimeNs end) {
  DOPPEL_RETURN_IF_ERROR(CheckRange(start, end));
  const TimeNs step = RollupStep(level);
  DOPPEL_RETURN_IF_ERROR(CheckBucketCount(start, end, step));
  DOPPEL_ASSIGN_OR_RETURN(const RollupData rolled, store.ReadRollups(id, level, start, end));
  // The floor is hour-aligned, so no bucket of either level straddles it.
  const TimeNs split = rolled.floor ? std::clamp(*rolled.floor, start, end) : start;
  std::vector<Bucket> out;
  for (const RollupRow& row : rolled.rows) {
    if (row.start >= split) break;
    Bucket b;
    b.start = row.start;
    Moments{row.count, row.sum, row.min, row.max, 0}.FillBucket(b);
    b.stddev = 0;  // a roll-up row keeps no spread
    out.push_back(b);
  }
  if (split < end) {
    DOPPEL_ASSIGN_OR_RETURN(std::vector<Bucket> raw, QueryAggregate(store, {id, split, end, step, false}));
    out.insert(out.end(), raw.begin(), raw.end());
  } else {
    DOPPEL_ASSIGN_OR_RETURN(const SeriesInfo info, store.Info(id));
    if (!IsNumeric(info.spec.type)) return Status::InvalidArgument("aggregates need a numeric series");
  }
  return out;
}

}  // namespace doppel::tsdb
