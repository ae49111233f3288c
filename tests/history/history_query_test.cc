// Selectors, modes, bucket boundaries, empty ranges, grouping and limits of the history engine.
#include <gmock/gmock.h>

#include <cmath>

#include "history_fixture.h"

namespace doppel::history::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class HistoryQueryTest : public HistoryTest {
 protected:
  void SetUp() override {
    HistoryTest::SetUp();
    PutTwin("s1", kSensor, "A");
    PutTwin("s2", kSmartSensor, "B");
    PutTwin("s3", kSmartSensor, "A");
    PutTwin("p1", kPump);
    t1_ = Series("s1", "temperature");
    Series("s1", "status", tsdb::ValueType::kString);
    t2_ = Series("s2", "temperature");
    h2_ = Series("s2", "humidity");
    t3_ = Series("s3", "temperature");
    f1_ = Series("p1", "flow");
  }

  HistoryRequest Raw(TimeNs start = 0, TimeNs end = 1'000'000) {
    HistoryRequest r;
    r.mode = Mode::kRaw;
    r.start = start, r.end = end;
    return r;
  }
  HistoryRequest Agg(TimeNs step, std::vector<Aggregation> aggs, TimeNs start = 0,
                     TimeNs end = 1'000'000) {
    HistoryRequest r = Raw(start, end);
    r.mode = Mode::kAggregate;
    r.step = step;
    r.aggregations = std::move(aggs);
    return r;
  }

  tsdb::SeriesId t1_, t2_, h2_, t3_, f1_;
};

TEST_F(HistoryQueryTest, ModelSelectsTwinsOfDerivedModelsToo) {
  HistoryRequest r = Raw();
  r.model = kSensor;
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("s1/status", "s1/temperature", "s2/humidity",
                                       "s2/temperature", "s3/temperature"));
  r.model = kSmartSensor;
  got = Run(r);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(Names(*got), ElementsAre("s2/humidity", "s2/temperature", "s3/temperature"));
}

TEST_F(HistoryQueryTest, ModelAlsoSelectsSeriesRecordedUnderIt) {
  // History of a twin that no longer exists in the graph stays reachable by its model.
  Series("gone", "temperature", tsdb::ValueType::kDouble, kSensor);
  HistoryRequest r = Raw();
  r.model = kSensor;
  r.paths = {"temperature"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(Names(*got), ElementsAre("gone/temperature", "s1/temperature", "s2/temperature",
                                       "s3/temperature"));
}

TEST_F(HistoryQueryTest, UnknownModelIsNotFound) {
  HistoryRequest r = Raw();
  r.model = "dtmi:test:Nope;1";
  auto got = Run(r);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(got.status().message(), HasSubstr("dtmi:test:Nope;1"));
}

TEST_F(HistoryQueryTest, GraphQuerySelectsProjectedTwins) {
  HistoryRequest r = Raw();
  r.query = "SELECT T FROM DIGITALTWINS T WHERE T.line = 'A'";
  r.paths = {"temperature"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("s1/temperature", "s3/temperature"));
  r.query = "SELECT T.$dtId FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:test:Pump;1')";
  r.paths.clear();
  got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("p1/flow"));
}

TEST_F(HistoryQueryTest, GraphQueryThatProjectsNoTwinsIsRefused) {
  HistoryRequest r = Raw();
  r.query = "SELECT T.line FROM DIGITALTWINS T";
  auto got = Run(r);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("must project twins"));
  r.query = "SELECT COUNT() FROM DIGITALTWINS";
  EXPECT_EQ(Run(r).status().code(), StatusCode::kInvalidArgument);
  r.query = "SELEKT T FROM DIGITALTWINS T";
  got = Run(r);
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("syntax"));
}

TEST_F(HistoryQueryTest, UnknownTwinOrSeriesIsNotFoundNamingIt) {
  HistoryRequest r = Raw();
  r.twins = {"s1", "nobody"};
  auto got = Run(r);
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(got.status().message(), HasSubstr("'nobody'"));
  r = Raw();
  r.series = {{"s1", "pressure"}};
  got = Run(r);
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(got.status().message(), HasSubstr("'s1'/'pressure'"));
}

// `twins` looks each twin's series up in the store: a twin known only to history is found, and
// a twin whose id extends another's ("s1" / "s10") brings only its own series.
TEST_F(HistoryQueryTest, TwinSelectorFindsHistoryOnlyTwinsExactly) {
  const tsdb::SeriesId gone = Series("s10", "temperature");
  Series("s10", "pressure");
  Write(gone, {{5, 1.5}});
  HistoryRequest r = Raw();
  r.twins = {"s10", "s1"};
  r.paths = {"temperature"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("s1/temperature", "s10/temperature"));
  ASSERT_EQ(got->series[1].points.size(), 1u);
  EXPECT_EQ(got->series[1].points[0], (tsdb::Point{5, 1.5}));
  r.paths.clear();
  r.twins = {"s10"};
  r.mode = Mode::kLast;
  r.start.reset();
  r.end.reset();
  got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("s10/pressure", "s10/temperature"));
  EXPECT_FALSE(got->series[0].last.has_value());
  EXPECT_EQ(got->series[1].last, (tsdb::Point{5, 1.5}));
}

TEST_F(HistoryQueryTest, TwinWithoutHistoryContributesNothing) {
  PutTwin("quiet", kSensor);
  HistoryRequest r = Raw();
  r.twins = {"quiet"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->series.empty());
}

TEST_F(HistoryQueryTest, SelectorsUnionAndPathsFilterOnlyTwinSelections) {
  HistoryRequest r = Raw();
  r.twins = {"s2"};
  r.series = {{"p1", "flow"}, {"s2", "humidity"}};
  r.paths = {"temperature"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(Names(*got), ElementsAre("p1/flow", "s2/humidity", "s2/temperature"));
}

TEST_F(HistoryQueryTest, NoSelectorIsInvalid) {
  auto got = Run(Raw());
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("at least one of"));
}

TEST_F(HistoryQueryTest, BadRangesAndStepsAreInvalid) {
  auto message = [&](HistoryRequest r) {
    r.twins = {"s1"};
    auto got = Run(r);
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
    return got.status().message();
  };
  EXPECT_THAT(message(Raw(10, 10)), HasSubstr("start (10) must be before end (10)"));
  EXPECT_THAT(message(Raw(11, 10)), HasSubstr("must be before end"));
  HistoryRequest no_end = Raw();
  no_end.end.reset();
  EXPECT_THAT(message(no_end), HasSubstr("'start' and 'end' are required"));
  EXPECT_THAT(message(Agg(0, {})), HasSubstr("positive 'step'"));
  EXPECT_THAT(message(Agg(-5, {})), HasSubstr("positive 'step'"));
  HistoryRequest last;
  last.mode = Mode::kLast;
  last.start = 0;
  EXPECT_THAT(message(last), HasSubstr("no start or end"));
  HistoryRequest raw_step = Raw();
  raw_step.step = 5;
  EXPECT_THAT(message(raw_step), HasSubstr("mode 'aggregate' only"));
  HistoryRequest group = Raw();
  group.group_by = {GroupBy::Kind::kProperty, "line"};
  EXPECT_THAT(message(group), HasSubstr("needs mode 'aggregate'"));
}

TEST_F(HistoryQueryTest, AggregateOfNamedStringSeriesIsInvalidButImplicitOnesAreSkipped) {
  Write(t1_, {{5, 1.0}});
  HistoryRequest r = Agg(10, {Aggregation::kCount});
  r.series = {{"s1", "status"}};
  auto got = Run(r);
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("'s1'/'status' holds string values"));
  r.series.clear();
  r.twins = {"s1"};
  got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(Names(*got), ElementsAre("s1/temperature"));
  r.paths = {"status"};
  EXPECT_EQ(Run(r).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HistoryQueryTest, BucketBoundariesAreEpochAlignedAndHalfOpen) {
  Write(t1_, {{-1, 1.0}, {0, 2.0}, {9, 3.0}, {10, 4.0}, {19, 5.0}, {20, 6.0}});
  HistoryRequest r =
      Agg(10, {Aggregation::kCount, Aggregation::kFirst, Aggregation::kLast}, -10, 20);
  r.series = {{"s1", "temperature"}};
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const auto& b = got->series.at(0).buckets;
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].start, -10);  // the point at -1 belongs to [-10, 0)
  EXPECT_EQ(b[0].count, 1u);
  EXPECT_EQ(b[1].start, 0);
  EXPECT_EQ(b[1].count, 2u);
  EXPECT_EQ(b[1].first, 2.0);
  EXPECT_EQ(b[1].last, 3.0);
  EXPECT_EQ(b[2].start, 10);
  EXPECT_EQ(b[2].count, 2u);  // 20 is excluded: the range is [start, end)
  // A range starting mid-bucket reports the aligned bucket start but counts only points in range.
  r.start = 5;
  got = Run(r);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->series.at(0).buckets.at(0).start, 0);
  EXPECT_EQ(got->series.at(0).buckets.at(0).count, 1u);
}

TEST_F(HistoryQueryTest, EmptyRangesGiveEmptySeriesNotErrors) {
  Write(t1_, {{100, 1.0}});
  for (Mode mode : {Mode::kRaw, Mode::kAggregate}) {
    HistoryRequest r = mode == Mode::kRaw ? Raw(0, 100) : Agg(7, {Aggregation::kMax}, 101, 500);
    r.series = {{"s1", "temperature"}};
    auto got = Run(r);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->series.size(), 1u);
    EXPECT_TRUE(got->series[0].points.empty());
    EXPECT_TRUE(got->series[0].buckets.empty());
  }
}

TEST_F(HistoryQueryTest, LastReturnsNewestPointOrNothing) {
  Write(t1_, {{100, 1.0}, {50, 9.0}});
  Write(t2_, {{7, 2.5}, {7, 3.5}});
  HistoryRequest r;
  r.mode = Mode::kLast;
  r.paths = {"temperature"};
  r.model = kSensor;
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->series.size(), 3u);
  EXPECT_EQ(got->series[0].last, (tsdb::Point{100, 1.0}));
  EXPECT_EQ(got->series[1].last, (tsdb::Point{7, 3.5}));
  EXPECT_FALSE(got->series[2].last.has_value());
}

TEST_F(HistoryQueryTest, GroupByPropertyMergesSeriesPerValueAndPath) {
  Write(t1_, {{1, 10.0}, {12, 30.0}});
  Write(t3_, {{1, 20.0}, {3, 40.0}});
  Write(t2_, {{2, 5.0}});
  HistoryRequest r = Agg(10, {Aggregation::kCount, Aggregation::kAvg, Aggregation::kFirst,
                              Aggregation::kLast, Aggregation::kStddev, Aggregation::kP50});
  r.model = kSensor;
  r.paths = {"temperature"};
  r.group_by = {GroupBy::Kind::kProperty, "line"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->groups.size(), 2u);
  const PropertyGroup& a = got->groups[0];
  EXPECT_EQ(a.value, json::value("A"));
  EXPECT_THAT(a.twins, ElementsAre("s1", "s3"));
  ASSERT_EQ(a.buckets.size(), 2u);
  EXPECT_EQ(a.buckets[0].count, 3u);
  EXPECT_DOUBLE_EQ(a.buckets[0].avg, 70.0 / 3);
  EXPECT_EQ(a.buckets[0].first, 10.0);  // t=1 in s1 and s3: the first series in order is first
  EXPECT_EQ(a.buckets[0].last, 40.0);
  EXPECT_EQ(a.buckets[0].p50, 20.0);
  EXPECT_NEAR(a.buckets[0].stddev,
              std::sqrt(((10 - 70.0 / 3) * (10 - 70.0 / 3) + (20 - 70.0 / 3) * (20 - 70.0 / 3) +
                         (40 - 70.0 / 3) * (40 - 70.0 / 3)) /
                        3),
              1e-9);
  EXPECT_EQ(a.buckets[1].count, 1u);
  EXPECT_EQ(got->groups[1].value, json::value("B"));
  EXPECT_EQ(got->groups[1].unit, "unit-temperature");
  // Without first/last/percentiles, groups merge per-series buckets: same moments.
  r.aggregations = {Aggregation::kSum, Aggregation::kStddev, Aggregation::kMin};
  auto merged = Run(r);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->groups[0].buckets[0].sum, 70.0);
  EXPECT_EQ(merged->groups[0].buckets[0].min, 10.0);
  EXPECT_NEAR(merged->groups[0].buckets[0].stddev, a.buckets[0].stddev, 1e-9);
}

TEST_F(HistoryQueryTest, GroupByRelationshipMergesPerParentTwin) {
  PutTwin("line-1", kLine);
  PutTwin("line-2", kLine);
  Relate("line-1", "s1");
  Relate("line-1", "s2");
  Relate("line-2", "s2");  // s2 is on both lines: counted in each
  Write(t1_, {{1, 10.0}});
  Write(t2_, {{2, 20.0}});
  Write(t3_, {{3, 40.0}});  // s3 is on no line
  HistoryRequest r = Agg(100, {Aggregation::kCount, Aggregation::kSum});
  r.model = kSensor;
  r.paths = {"temperature"};
  r.group_by = {GroupBy::Kind::kRelationship, "contains"};
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->groups.size(), 3u);
  EXPECT_EQ(got->groups[0].value, json::value("line-1"));
  EXPECT_THAT(got->groups[0].twins, ElementsAre("s1", "s2"));
  EXPECT_EQ(got->groups[0].buckets.at(0).sum, 30.0);
  EXPECT_EQ(got->groups[1].value, json::value("line-2"));
  EXPECT_EQ(got->groups[1].buckets.at(0).sum, 20.0);
  EXPECT_TRUE(got->groups[2].value.is_null());
  EXPECT_THAT(got->groups[2].twins, ElementsAre("s3"));
  // Only relationships of that name count.
  r.group_by.name = "feeds";
  got = Run(r);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->groups.size(), 1u);
  EXPECT_EQ(got->groups[0].buckets.at(0).count, 3u);
}

TEST_F(HistoryQueryTest, SeriesLimitIsPayloadTooLargeWithAdvice) {
  HistoryRequest r = Raw();
  r.model = kSensor;
  HistoryLimits limits;
  limits.max_series = 4;
  auto got = Run(r, limits);
  EXPECT_EQ(got.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_THAT(got.status().message(), HasSubstr("selects 5 series; the limit is 4"));
  EXPECT_THAT(got.status().message(), HasSubstr("'paths'"));
  r.mode = Mode::kLast;
  r.start.reset(), r.end.reset();
  EXPECT_TRUE(Run(r, limits).ok());  // last has its own, larger limit
}

TEST_F(HistoryQueryTest, RawPointLimitCountsPointsInRangeOnly) {
  std::vector<std::pair<TimeNs, tsdb::Value>> points;
  for (TimeNs t = 0; t < 100; ++t) points.push_back({t, static_cast<double>(t)});
  Write(t1_, points);
  ASSERT_TRUE(store_->Flush().ok());
  Write(t1_, {{50, -1.0}});  // a rewrite: still 100 distinct points
  HistoryRequest r = Raw(0, 100);
  r.series = {{"s1", "temperature"}};
  HistoryLimits limits;
  limits.max_raw_points = 100;
  auto got = Run(r, limits);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->plan.raw_points, 100u);
  limits.max_raw_points = 99;
  got = Run(r, limits);
  EXPECT_EQ(got.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_THAT(got.status().message(), HasSubstr("more than 99 raw points"));
  r.end = 99;
  EXPECT_TRUE(Run(r, limits).ok());
}

TEST_F(HistoryQueryTest, BucketLimitsArePayloadTooLarge) {
  HistoryRequest r = Agg(1, {}, 0, kMaxBucketsPerSeries + 1);
  r.series = {{"s1", "temperature"}};
  auto got = Run(r);
  EXPECT_EQ(got.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_THAT(got.status().message(), HasSubstr("raise 'step'"));
  r.end = 1000;
  r.model = kSensor;
  HistoryLimits limits;
  limits.max_total_buckets = 3999;  // 4 numeric series × 1000 buckets
  got = Run(r, limits);
  EXPECT_EQ(got.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_THAT(got.status().message(), HasSubstr("limit of 3999 buckets per response"));
  limits.max_total_buckets = 4000;
  EXPECT_TRUE(Run(r, limits).ok());
}

TEST_F(HistoryQueryTest, ExtremeTimesDoNotOverflow) {
  const TimeNs lo = std::numeric_limits<TimeNs>::min(), hi = std::numeric_limits<TimeNs>::max();
  Write(t1_, {{lo, 1.0}, {0, 2.0}, {hi - 1, 3.0}});
  HistoryRequest r = Raw(lo, hi);
  r.series = {{"s1", "temperature"}};
  auto got = Run(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->series[0].points.size(), 3u);
  EXPECT_EQ(got->plan.raw_points, 3u);
  HistoryRequest a = Agg(hi, {Aggregation::kCount}, lo, hi);
  a.series = r.series;
  got = Run(a);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  uint64_t n = 0;
  for (const auto& b : got->series[0].buckets) n += b.count;
  EXPECT_EQ(n, 3u);
}

TEST(AggregationNames, RoundTrip) {
  for (std::size_t i = 0; i < kAggregationCount; ++i) {
    auto a = static_cast<Aggregation>(i);
    EXPECT_EQ(*ParseAggregation(AggregationName(a)), a);
  }
  auto bad = ParseAggregation("median");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("unknown aggregation 'median'; expected one of count, sum"));
}

}  // namespace
}  // namespace doppel::history::testing

namespace doppel::history::testing {
namespace {

constexpr TimeNs kMinute = TimeNs{60} * 1'000'000'000;
constexpr TimeNs kHour = 60 * kMinute;

// Retention drops the raw chunks and keeps 1 min / 1 h roll-ups: hourly count/sum/avg/min/max
// over the dropped hours still answer, equal to what the raw data gave before.
TEST_F(HistoryTest, AggregatesOverDroppedRawDataComeFromRollups) {
  OpenStore({.sync = false, .max_head_points = 100});
  PutTwin("r1", kSensor);
  tsdb::SeriesId id = Series("r1", "temperature");
  std::vector<std::pair<TimeNs, tsdb::Value>> points;
  for (TimeNs t = 0; t < 6 * kHour; t += 30 * 1'000'000'000LL) points.emplace_back(t, static_cast<double>(t % 7919) / 10);
  Write(id, points);
  ASSERT_TRUE(store_->Flush().ok());

  HistoryRequest hourly;
  hourly.mode = Mode::kAggregate;
  hourly.start = 0;
  hourly.end = 6 * kHour;
  hourly.step = kHour;
  hourly.series = {{"r1", "temperature"}};
  hourly.aggregations = {Aggregation::kCount, Aggregation::kSum, Aggregation::kAvg, Aggregation::kMin,
                         Aggregation::kMax};
  auto before = Run(hourly);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_EQ(before->series.at(0).buckets.size(), 6u);

  // Keep 1 h of raw data at "now" = 8 h, roll-ups for a year: the first hours' chunks go.
  tsdb::RetentionRule rule;
  rule.keep = kHour;
  rule.keep_rollups = 365 * 24 * kHour;
  std::vector<tsdb::RetentionRule> rules = {rule};
  auto dropped = store_->ApplyRetention(rules, 8 * kHour);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  ASSERT_GT(*dropped, 0u);

  auto after = Run(hourly);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  const auto& want = before->series.at(0).buckets;
  const auto& got = after->series.at(0).buckets;
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].start, want[i].start);
    EXPECT_EQ(got[i].count, want[i].count) << i;
    EXPECT_DOUBLE_EQ(got[i].sum, want[i].sum) << i;
    EXPECT_DOUBLE_EQ(got[i].avg, want[i].avg) << i;
    EXPECT_EQ(got[i].min, want[i].min) << i;
    EXPECT_EQ(got[i].max, want[i].max) << i;
  }

  // A percentile cannot come from a roll-up: the dropped hours are simply absent then.
  hourly.aggregations = {Aggregation::kP50};
  auto p50 = Run(hourly);
  ASSERT_TRUE(p50.ok()) << p50.status().ToString();
  EXPECT_LT(p50->series.at(0).buckets.size(), want.size());
}

}  // namespace
}  // namespace doppel::history::testing
