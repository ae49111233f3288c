#include "tsdb/query.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "tsdb/temp_dir.h"

namespace doppel::tsdb {
namespace {

using testing::TempDir;

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.max_head_points = 8;
    options_.sync = false;
    store_ = std::move(SeriesStore::Open(dir_.path(), options_)).value();
    id_ = *store_->CreateSeries({"pump-1", "temperature", ValueType::kDouble, "", "", ""});
  }
  void Write(std::vector<std::pair<TimeNs, double>> points) {
    std::vector<SeriesPoint> batch;
    for (auto [t, v] : points) batch.push_back({id_, t, v});
    ASSERT_TRUE(store_->Write(batch).ok());
  }
  AggregateRequest Request(TimeNs start, TimeNs end, TimeNs step) {
    return AggregateRequest{id_, start, end, step, true};
  }

  TempDir dir_;
  SeriesStoreOptions options_;
  std::unique_ptr<SeriesStore> store_;
  SeriesId id_ = 0;
};

TEST_F(QueryTest, RawRangeIsStartInclusiveEndExclusive) {
  Write({{10, 1}, {20, 2}, {30, 3}});
  const std::vector<Point> points = *QueryRaw(*store_, id_, 10, 30);
  EXPECT_EQ(points, (std::vector<Point>{{10, 1.0}, {20, 2.0}}));
  EXPECT_TRUE(QueryRaw(*store_, id_, 31, 100)->empty());
  EXPECT_TRUE(QueryRaw(*store_, id_, 11, 20)->empty());
}

TEST_F(QueryTest, ClearErrors) {
  EXPECT_EQ(QueryRaw(*store_, id_, 5, 5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QueryRaw(*store_, id_, 6, 5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QueryRaw(*store_, 99, 0, 5).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(QueryAggregate(*store_, Request(0, 10, 0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QueryAggregate(*store_, Request(0, 10, -5)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QueryAggregate(*store_, Request(10, 0, 5)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QueryAggregate(*store_, Request(0, kMaxBuckets + 1, 1)).status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_TRUE(QueryAggregate(*store_, Request(0, kMaxBuckets, 1)).ok());
  constexpr TimeNs kLo = std::numeric_limits<TimeNs>::min(), kHi = std::numeric_limits<TimeNs>::max();
  EXPECT_EQ(QueryAggregate(*store_, Request(kLo, kHi, 1)).status().code(), StatusCode::kPayloadTooLarge);
  AggregateRequest unknown = Request(0, 10, 5);
  unknown.series = 99;
  EXPECT_EQ(QueryAggregate(*store_, unknown).status().code(), StatusCode::kNotFound);
  const SeriesId text = *store_->CreateSeries({"pump-1", "state", ValueType::kString, "", "", ""});
  unknown.series = text;
  EXPECT_EQ(QueryAggregate(*store_, unknown).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(QueryTest, BucketsAreEpochAlignedAndClippedToTheRange) {
  Write({{-15, 100}, {-10, 1}, {-1, 2}, {0, 3}, {9, 4}, {10, 5}, {25, 6}});
  const std::vector<Bucket> buckets = *QueryAggregate(*store_, Request(-12, 25, 10));
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets[0].start, -10);  // [-10, 0): -10 and -1; [-20, -10) only had -15, before the range
  EXPECT_EQ(buckets[0].count, 2u);
  EXPECT_EQ(buckets[0].first, 1);
  EXPECT_EQ(buckets[0].last, 2);
  EXPECT_EQ(buckets[1].start, 0);
  EXPECT_EQ(buckets[1].sum, 7);
  EXPECT_EQ(buckets[2].start, 10);  // 25 is past the end; 20..24 would be empty and is absent
  EXPECT_EQ(buckets[2].count, 1u);
  EXPECT_TRUE(QueryAggregate(*store_, Request(26, 1000, 10))->empty());
}

TEST_F(QueryTest, AggregatesOfOneBucket) {
  std::vector<std::pair<TimeNs, double>> points;
  for (int i = 1; i <= 100; ++i) points.push_back({i, double(101 - i)});  // values 100..1
  Write(points);
  const Bucket b = QueryAggregate(*store_, Request(0, 1000, 1000))->at(0);
  EXPECT_EQ(b.count, 100u);
  EXPECT_EQ(b.sum, 5050);
  EXPECT_EQ(b.avg, 50.5);
  EXPECT_EQ(b.min, 1);
  EXPECT_EQ(b.max, 100);
  EXPECT_EQ(b.first, 100);
  EXPECT_EQ(b.last, 1);
  EXPECT_NEAR(b.stddev, std::sqrt((100.0 * 100 - 1) / 12), 1e-9);
  EXPECT_EQ(b.p50, 50);
  EXPECT_EQ(b.p90, 90);
  EXPECT_EQ(b.p95, 95);
  EXPECT_EQ(b.p99, 99);
}

TEST_F(QueryTest, HeaderShortcutAgreesWithDecoding) {
  std::vector<std::pair<TimeNs, double>> points;
  for (int i = 0; i < 200; ++i) points.push_back({i, std::sin(i * 0.1) * 10});
  Write(points);  // 8-point chunks, many fully inside 50-ns buckets
  AggregateRequest fast = Request(0, 200, 50), slow = fast;
  fast.percentiles = false;
  const auto a = *QueryAggregate(*store_, fast), b = *QueryAggregate(*store_, slow);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].count, b[i].count);
    EXPECT_NEAR(a[i].sum, b[i].sum, 1e-9);
    EXPECT_EQ(a[i].min, b[i].min);
    EXPECT_EQ(a[i].max, b[i].max);
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].last, b[i].last);
    EXPECT_NEAR(a[i].stddev, b[i].stddev, 1e-9);
  }
}

// The reference model: per series, a map from time to value, last write wins.
using Reference = std::map<TimeNs, double>;

Bucket ReferenceBucket(TimeNs start, const std::vector<std::pair<TimeNs, double>>& pts) {
  Bucket b;
  b.start = start;
  b.count = pts.size();
  std::vector<double> v;
  for (auto [t, x] : pts) v.push_back(x), b.sum += x;
  b.avg = b.sum / v.size();
  double m2 = 0;
  for (double x : v) m2 += (x - b.avg) * (x - b.avg);
  b.stddev = std::sqrt(m2 / v.size());
  b.first = v.front();
  b.last = v.back();
  std::sort(v.begin(), v.end());
  b.min = v.front();
  b.max = v.back();
  auto pct = [&](double p) { return v[std::max<size_t>(1, std::ceil(p / 100 * v.size())) - 1]; };
  b.p50 = pct(50), b.p90 = pct(90), b.p95 = pct(95), b.p99 = pct(99);
  return b;
}

std::vector<Bucket> ReferenceAggregate(const Reference& ref, TimeNs start, TimeNs end, TimeNs step) {
  std::map<TimeNs, std::vector<std::pair<TimeNs, double>>> by_bucket;
  for (auto it = ref.lower_bound(start); it != ref.end() && it->first < end; ++it) {
    by_bucket[FloorDiv(it->first, step)].push_back(*it);
  }
  std::vector<Bucket> out;
  for (const auto& [k, pts] : by_bucket) out.push_back(ReferenceBucket(k * step, pts));
  return out;
}

void ExpectMatches(const SeriesStore& store, SeriesId id, const Reference& ref, std::mt19937_64& rng) {
  TimeNs start = static_cast<TimeNs>(rng() % 1400) - 200;
  TimeNs end = start + 1 + static_cast<TimeNs>(rng() % 1500);
  std::vector<Point> expected;
  for (auto it = ref.lower_bound(start); it != ref.end() && it->first < end; ++it) expected.push_back({it->first, it->second});
  ASSERT_EQ(*QueryRaw(store, id, start, end), expected) << "raw [" << start << ", " << end << ")";
  AggregateRequest req{id, start, end, 1 + static_cast<TimeNs>(rng() % 300), (rng() & 1) == 1};
  const std::vector<Bucket> got = *QueryAggregate(store, req);
  const std::vector<Bucket> want = ReferenceAggregate(ref, start, end, req.step);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].start, want[i].start);
    EXPECT_EQ(got[i].count, want[i].count);
    EXPECT_NEAR(got[i].sum, want[i].sum, 1e-6);
    EXPECT_NEAR(got[i].avg, want[i].avg, 1e-9);
    EXPECT_NEAR(got[i].stddev, want[i].stddev, 1e-6);
    EXPECT_EQ(got[i].min, want[i].min);
    EXPECT_EQ(got[i].max, want[i].max);
    EXPECT_EQ(got[i].first, want[i].first);
    EXPECT_EQ(got[i].last, want[i].last);
    if (req.percentiles) {
      EXPECT_EQ(got[i].p50, want[i].p50);
      EXPECT_EQ(got[i].p90, want[i].p90);
      EXPECT_EQ(got[i].p95, want[i].p95);
      EXPECT_EQ(got[i].p99, want[i].p99);
    }
  }
  const std::vector<SeriesId> ids = {id};
  const std::optional<Point> last = (*store.Last(ids))[0];
  if (ref.empty()) {
    EXPECT_FALSE(last.has_value());
  } else {
    EXPECT_EQ(last, (Point{ref.rbegin()->first, ref.rbegin()->second}));
  }
}

// Random in-order, late and duplicate writes to three series, with random flushes and
// reopens, checked against the reference after every step.
TEST(QueryDifferential, MatchesReferenceModel) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    TempDir dir;
    SeriesStoreOptions options;
    options.sync = false;
    options.max_head_points = 1 + rng() % 20;
    options.partition = 50 + rng() % 400;
    auto store = std::move(SeriesStore::Open(dir.path(), options)).value();
    std::vector<SeriesId> ids;
    std::vector<Reference> refs(3);
    std::vector<TimeNs> cursor(3, 0);
    for (int s = 0; s < 3; ++s) {
      ids.push_back(*store->CreateSeries({"twin", "s" + std::to_string(s), ValueType::kDouble, "", "", ""}));
    }
    for (int step = 0; step < 60; ++step) {
      std::vector<SeriesPoint> batch;
      const int n = 1 + static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) {
        const size_t s = rng() % 3;
        TimeNs t;
        switch (rng() % 6) {
          case 0: t = static_cast<TimeNs>(rng() % 1200) - 100; break;                       // anywhere (late)
          case 1: t = refs[s].empty() ? 0 : std::next(refs[s].begin(), rng() % refs[s].size())->first; break;
          case 2: t = cursor[s]; break;                                                      // duplicate of newest
          default: t = cursor[s] += 1 + static_cast<TimeNs>(rng() % 7); break;              // in order
        }
        const double v = std::round((static_cast<double>(rng() % 20000) - 10000)) / 100;
        batch.push_back({ids[s], t, v});
        refs[s][t] = v;
      }
      ASSERT_TRUE(store->Write(batch).ok());
      if (rng() % 10 == 0) {
        ASSERT_TRUE(store->Flush().ok());
      }
      if (rng() % 12 == 0) {
        ASSERT_TRUE(store->Compact(ids[rng() % 3]).ok());
      }
      if (rng() % 8 == 0) {
        store.reset();
        store = std::move(SeriesStore::Open(dir.path(), options)).value();
      }
      for (size_t s = 0; s < 3; ++s) ExpectMatches(*store, ids[s], refs[s], rng);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace doppel::tsdb
