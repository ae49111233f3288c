// Roll-ups: written by retention from the merged raw data, they must equal the aggregate of
// the raw data (after late points and duplicates) and outlive it.
#include <limits>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "tsdb/query.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"

namespace doppel::tsdb {
namespace {

using testing::TempDir;

constexpr TimeNs kSecond = 1'000'000'000;
constexpr TimeNs kMinute = 60 * kSecond;
constexpr TimeNs kHour = 3600 * kSecond;

SeriesStoreOptions Options() {
  SeriesStoreOptions o;
  o.max_head_points = 100;
  o.sync = false;
  return o;
}

std::unique_ptr<SeriesStore> OpenStore(const std::string& dir) {
  Result<std::unique_ptr<SeriesStore>> store = SeriesStore::Open(dir, Options());
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// The reference: buckets of `step` over the last value written at each time.
std::vector<RollupRow> Reference(const std::map<TimeNs, double>& points, TimeNs step, TimeNs from = 0) {
  std::map<TimeNs, RollupRow> rows;
  for (const auto& [t, v] : points) {
    const TimeNs start = FloorDiv(t, step) * step;
    if (start < from) continue;
    RollupRow& row = rows[start];
    if (row.count == 0) row = {start, 0, 0, v, v};
    ++row.count;
    row.sum += v;
    row.min = std::min(row.min, v);
    row.max = std::max(row.max, v);
  }
  std::vector<RollupRow> out;
  for (const auto& [start, row] : rows) out.push_back(row);
  return out;
}

std::vector<RollupRow> AsRows(const std::vector<Bucket>& buckets) {
  std::vector<RollupRow> out;
  for (const Bucket& b : buckets) {
    EXPECT_DOUBLE_EQ(b.avg, b.sum / static_cast<double>(b.count));
    out.push_back({b.start, b.count, b.sum, b.min, b.max});
  }
  return out;
}

std::vector<RollupRow> Rollup(const SeriesStore& store, SeriesId id, RollupLevel level, TimeNs start = 0,
                              TimeNs end = 200 * kHour) {
  Result<std::vector<Bucket>> buckets = QueryRollup(store, id, level, start, end);
  EXPECT_TRUE(buckets.ok()) << buckets.status().ToString();
  return buckets.ok() ? AsRows(*buckets) : std::vector<RollupRow>{};
}

// Six hours at 10 s, then late rewrites of sealed times and late new times, with seals in
// between so duplicates sit in different chunks. Values are multiples of 0.25: sums are exact.
std::map<TimeNs, double> WriteHistory(SeriesStore& store, SeriesId id) {
  std::map<TimeNs, double> reference;
  std::mt19937_64 rng(5);
  auto write = [&](const std::vector<SeriesPoint>& batch) {
    EXPECT_TRUE(store.Write(batch).ok());
    for (const SeriesPoint& p : batch) reference[p.time] = std::get<double>(p.value);
  };
  std::vector<SeriesPoint> batch;
  for (int i = 0; i < 6 * 360; ++i) {
    batch.push_back({id, i * 10 * kSecond, static_cast<double>(i % 17) * 0.25});
    if (batch.size() == 500) write(batch), batch.clear();
  }
  write(batch);
  EXPECT_TRUE(store.Flush().ok());
  for (int round = 0; round < 3; ++round) {
    batch.clear();
    for (int k = 0; k < 200; ++k) {
      const TimeNs t = static_cast<TimeNs>(rng() % (6 * 360)) * 10 * kSecond + (k % 2 == 0 ? 0 : 5 * kSecond);
      batch.push_back({id, t, static_cast<double>(rng() % 40) * 0.25 - 3});
    }
    write(batch);
    if (round < 2) {
      EXPECT_TRUE(store.Flush().ok());  // the last round stays in memory
    }
  }
  return reference;
}

TEST(Rollup, EqualsTheRawAggregateAfterLatePointsAndDuplicates) {
  TempDir dir;
  SeriesId id;
  std::map<TimeNs, double> reference;
  {
    auto store = OpenStore(dir.path());
    id = *store->CreateSeries({"pump-1", "temperature", ValueType::kDouble, "dtmi:x:Pump;1", "", ""});
    reference = WriteHistory(*store, id);
    // Before any retention QueryRollup is the raw aggregate.
    EXPECT_EQ(Rollup(*store, id, RollupLevel::kMinute), Reference(reference, kMinute));
    EXPECT_EQ(Rollup(*store, id, RollupLevel::kHour), Reference(reference, kHour));

    const std::vector<RetentionRule> rules = {{"dtmi:x:Pump;1", 3 * kHour, "", "", 100 * kHour}};
    EXPECT_GT(*store->ApplyRetention(rules, 6 * kHour), 0u);
    // The in-order chunks of the first hour are gone (late chunks spanning all six stay).
    EXPECT_LT(QueryRaw(*store, id, 0, kHour)->size(), Reference(reference, kHour)[0].count);
    const RollupData rolled = *store->ReadRollups(id, RollupLevel::kHour, 0, 200 * kHour);
    ASSERT_TRUE(rolled.floor.has_value());
    EXPECT_EQ(*rolled.floor % kHour, 0);
    EXPECT_GE(*rolled.floor, kHour);
    EXPECT_EQ(Rollup(*store, id, RollupLevel::kMinute), Reference(reference, kMinute));
    EXPECT_EQ(Rollup(*store, id, RollupLevel::kHour), Reference(reference, kHour));
  }
  auto store = OpenStore(dir.path());  // rows and floor persisted
  EXPECT_EQ(Rollup(*store, id, RollupLevel::kMinute), Reference(reference, kMinute));
  EXPECT_EQ(Rollup(*store, id, RollupLevel::kHour), Reference(reference, kHour));
  // A range inside the rolled-up time: whole buckets.
  const std::vector<RollupRow> hour = Reference(reference, kHour);
  EXPECT_EQ(Rollup(*store, id, RollupLevel::kHour, 30 * kMinute, 90 * kMinute),
            (std::vector<RollupRow>{hour[0], hour[1]}));

  // A point written into rolled-up time stays out of the roll-ups (documented), and dropping
  // its chunk does not move the floor back.
  const TimeNs floor = *store->ReadRollups(id, RollupLevel::kHour, 0, kHour)->floor;
  ASSERT_TRUE(store->Flush().ok());  // so the late point gets a chunk of its own
  const SeriesPoint late{id, 30 * kMinute + kSecond, 1000.0};
  ASSERT_TRUE(store->Write({&late, 1}).ok());
  ASSERT_TRUE(store->Flush().ok());
  const std::vector<RetentionRule> same = {{"dtmi:x:Pump;1", 3 * kHour, "", "", 100 * kHour}};
  EXPECT_EQ(*store->ApplyRetention(same, 6 * kHour), 1u);
  EXPECT_EQ(*store->ReadRollups(id, RollupLevel::kHour, 0, kHour)->floor, floor);
  EXPECT_EQ(Rollup(*store, id, RollupLevel::kHour), Reference(reference, kHour));

  // Much later: all raw data goes (rolled up first), and rows older than keep_rollups too.
  ASSERT_TRUE(store->Flush().ok());
  const std::vector<RetentionRule> rules = {{"", 3 * kHour, "", "", 100 * kHour}};
  EXPECT_GT(*store->ApplyRetention(rules, 101 * kHour + 30 * kMinute), 0u);
  EXPECT_EQ(store->ChunkCount(id), 0u);
  EXPECT_EQ(Rollup(*store, id, RollupLevel::kHour), Reference(reference, kHour, kHour));
  EXPECT_EQ(Rollup(*store, id, RollupLevel::kMinute), Reference(reference, kMinute, kHour + 30 * kMinute));
}

TEST(Rollup, OnlyForNumericSeriesAndValidRules) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const SeriesId state = *store->CreateSeries({"pump-1", "state", ValueType::kString, "", "", ""});
  std::vector<SeriesPoint> batch;
  for (int i = 0; i < 300; ++i) batch.push_back({state, i * kMinute, std::string(i % 2 ? "on" : "off")});
  ASSERT_TRUE(store->Write(batch).ok());
  const std::vector<RetentionRule> rules = {{"", kHour, "", "", 10 * kHour}};
  EXPECT_EQ(*store->ApplyRetention(rules, 6 * kHour), 4u);  // raw dropped, no roll-ups
  EXPECT_FALSE(store->ReadRollups(state, RollupLevel::kHour, 0, 10 * kHour)->floor.has_value());
  EXPECT_EQ(QueryRollup(*store, state, RollupLevel::kHour, 0, kHour).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QueryRollup(*store, 99, RollupLevel::kHour, 0, kHour).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(QueryRollup(*store, state, RollupLevel::kHour, kHour, kHour).status().code(), StatusCode::kInvalidArgument);
  const std::vector<RetentionRule> shorter = {{"", kHour, "", "", kMinute}};  // roll-ups outlive raw data
  EXPECT_EQ(store->ApplyRetention(shorter, 0).status().code(), StatusCode::kInvalidArgument);
  const std::vector<RetentionRule> negative = {{"", kHour, "", "", -1}};
  EXPECT_EQ(store->ApplyRetention(negative, 0).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace doppel::tsdb
