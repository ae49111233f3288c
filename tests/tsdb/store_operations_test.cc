// Operations on a SeriesStore: statistics for /metrics, checkpoints (backup), retention rules
// and the chunk header index that Open reads instead of the chunks.
#include <rocksdb/db.h>

#include <atomic>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "tsdb/query.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"

namespace doppel::tsdb {
namespace {

using testing::TempDir;

constexpr TimeNs kSecond = 1'000'000'000;
constexpr TimeNs kHour = 3600 * kSecond;
constexpr TimeNs kMinTime = std::numeric_limits<TimeNs>::min();
constexpr TimeNs kMaxTime = std::numeric_limits<TimeNs>::max();

// 10-point chunks, no partition splits within the tests' spans, no fsync (clean closes).
SeriesStoreOptions SmallChunks() {
  SeriesStoreOptions o;
  o.max_head_points = 10;
  o.partition = 10'000 * kHour;
  o.sync = false;
  return o;
}

std::unique_ptr<SeriesStore> OpenStore(const std::string& dir, SeriesStoreOptions options = SmallChunks()) {
  Result<std::unique_ptr<SeriesStore>> store = SeriesStore::Open(dir, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

std::vector<Point> All(const SeriesStore& store, SeriesId id) {
  Result<std::vector<Point>> points = QueryRaw(store, id, kMinTime, kMaxTime);
  EXPECT_TRUE(points.ok()) << points.status().ToString();
  return points.ok() ? *points : std::vector<Point>{};
}

SeriesId Create(SeriesStore& store, const std::string& twin, const std::string& path = "temperature",
                const std::string& model = "") {
  Result<SeriesId> id = store.CreateSeries({twin, path, ValueType::kDouble, model, "", ""});
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return id.ok() ? *id : 0;
}

Status WriteRange(SeriesStore& store, SeriesId id, int from, int to, TimeNs unit = 1, double offset = 0) {
  std::vector<SeriesPoint> batch;
  for (int i = from; i < to; ++i) batch.push_back({id, i * unit, offset + i});
  return store.Write(batch);
}

// Sum of the encoded sizes of a series' sealed chunks, read back through the store.
uint64_t ChunkBytes(const SeriesStore& store, SeriesId id) {
  const Result<SeriesData> data = store.Read(id, kMinTime, kMaxTime);
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  uint64_t bytes = 0;
  if (!data.ok()) return bytes;
  for (const SeriesChunk& c : data->chunks) bytes += c.bytes().size();
  return bytes;
}

// A write-ahead record of n double points: varint n, then 16 bytes per point.
uint64_t LogBytes(uint64_t n) { return n == 0 ? 0 : 1 + 16 * n; }

TEST(SeriesStats, CountsPointsChunksBytesAndTimes) {
  TempDir dir;
  SeriesId id, empty;
  {
    auto store = OpenStore(dir.path());
    id = Create(*store, "pump-1");
    empty = Create(*store, "pump-2");
    ASSERT_TRUE(WriteRange(*store, id, 0, 25).ok());  // chunks [0,9] [10,19], head [20,24]
    SeriesStats st = *store->Stats(id);
    EXPECT_EQ(st.points, 25u);
    EXPECT_EQ(st.memory_points, 5u);
    EXPECT_EQ(st.chunks, 2u);
    EXPECT_EQ(st.disk_bytes, ChunkBytes(*store, id) + LogBytes(5));
    EXPECT_EQ(st.oldest, TimeNs{0});
    EXPECT_EQ(st.newest, TimeNs{24});

    const SeriesPoint late{id, -7, 1.0};  // older than everything: widens oldest
    ASSERT_TRUE(store->Write({&late, 1}).ok());
    st = *store->Stats(id);
    EXPECT_EQ(st.points, 26u);
    EXPECT_EQ(st.memory_points, 6u);
    EXPECT_EQ(st.oldest, TimeNs{-7});

    const SeriesStats none = *store->Stats(empty);
    EXPECT_EQ(none.points, 0u);
    EXPECT_EQ(none.disk_bytes, 0u);
    EXPECT_FALSE(none.oldest.has_value());
    EXPECT_FALSE(none.newest.has_value());
    EXPECT_EQ(store->Stats(99).status().code(), StatusCode::kNotFound);
  }
  auto store = OpenStore(dir.path());  // chunks from the index, the rest replayed
  SeriesStats st = *store->Stats(id);
  EXPECT_EQ(st.points, 26u);
  EXPECT_EQ(st.memory_points, 6u);
  EXPECT_EQ(st.chunks, 2u);
  EXPECT_EQ(st.disk_bytes, ChunkBytes(*store, id) + LogBytes(5) + LogBytes(1));  // both records replayed
  EXPECT_EQ(st.oldest, TimeNs{-7});
  EXPECT_EQ(st.newest, TimeNs{24});

  ASSERT_TRUE(store->Flush().ok());
  st = *store->Stats(id);
  EXPECT_EQ(st.memory_points, 0u);
  EXPECT_EQ(st.chunks, 4u);  // + the head and the out-of-order buffer
  EXPECT_EQ(st.disk_bytes, ChunkBytes(*store, id));

  const auto all = store->AllStats();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, id);
  EXPECT_EQ(all[0].second.points, 26u);
  EXPECT_EQ(all[1].first, empty);
  const StoreStats total = store->TotalStats();
  EXPECT_EQ(total.series, 2u);
  EXPECT_EQ(total.points, 26u);
  EXPECT_EQ(total.chunks, 4u);
  EXPECT_EQ(total.disk_bytes, st.disk_bytes);
}

TEST(SeriesStats, LateDuplicatesCountTwiceUntilCompact) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const SeriesId id = Create(*store, "pump-1");
  ASSERT_TRUE(WriteRange(*store, id, 0, 20).ok());
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_TRUE(WriteRange(*store, id, 5, 8, 1, 100).ok());  // rewrites 3 sealed times
  EXPECT_EQ(store->Stats(id)->points, 23u);
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(store->Stats(id)->points, 23u);
  ASSERT_GT(*store->Compact(id), 0u);
  const SeriesStats st = *store->Stats(id);
  EXPECT_EQ(st.points, 20u);
  EXPECT_EQ(st.chunks, 2u);
  EXPECT_EQ(st.disk_bytes, ChunkBytes(*store, id));
}

// Randomized against a reference map: after Flush + Compact no chunks overlap, so the count is
// exact; before, it is at least the number of distinct times. Retention and reopen included.
TEST(SeriesStats, RandomizedAgainstReference) {
  TempDir dir;
  std::mt19937_64 rng(42);
  std::map<TimeNs, double> reference;
  SeriesId id;
  auto store = OpenStore(dir.path());
  id = Create(*store, "pump-1");
  for (int round = 0; round < 30; ++round) {
    std::vector<SeriesPoint> batch;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const TimeNs t = static_cast<TimeNs>(rng() % 400) - 100;
      const double v = static_cast<double>(rng() % 1000);
      batch.push_back({id, t, v});
      reference[t] = v;
    }
    ASSERT_TRUE(store->Write(batch).ok());
    SeriesStats st = *store->Stats(id);
    EXPECT_GE(st.points, reference.size());
    if (round % 5 == 4) {
      const TimeNs cutoff = static_cast<TimeNs>(rng() % 200) - 100;
      ASSERT_TRUE(store->DropBefore(id, cutoff).ok());
      reference.clear();
      for (const Point& p : All(*store, id)) reference[p.time] = std::get<double>(p.value);
    }
    if (round % 7 == 6) {
      store.reset();
      store = OpenStore(dir.path());
    }
    ASSERT_TRUE(store->Flush().ok());
    ASSERT_TRUE(store->Compact(id).ok());
    st = *store->Stats(id);
    ASSERT_EQ(st.points, reference.size()) << "round " << round;
    EXPECT_EQ(st.disk_bytes, ChunkBytes(*store, id));
    if (!reference.empty()) {
      EXPECT_EQ(st.oldest, reference.begin()->first);
      EXPECT_EQ(st.newest, reference.rbegin()->first);
    }
  }
}

TEST(Checkpoint, CopyHoldsExactlyThePointsBefore) {
  TempDir dir;
  const std::string copy = dir.path() + "/backup";
  auto store = OpenStore(dir.path() + "/live");
  const SeriesId a = Create(*store, "pump-1");
  const SeriesId b = Create(*store, "pump-2", "rpm");
  ASSERT_TRUE(WriteRange(*store, a, 0, 35).ok());     // sealed chunks and a head
  ASSERT_TRUE(WriteRange(*store, a, -5, 0).ok());     // out-of-order buffer
  ASSERT_TRUE(WriteRange(*store, b, 0, 3).ok());      // a head only
  const std::vector<Point> a_before = All(*store, a), b_before = All(*store, b);
  ASSERT_TRUE(store->Checkpoint(copy).ok());
  ASSERT_TRUE(WriteRange(*store, a, 35, 60).ok());
  ASSERT_TRUE(WriteRange(*store, b, 0, 3, 1, 50).ok());  // overwrites
  ASSERT_TRUE(store->Flush().ok());

  auto restored = OpenStore(copy);
  EXPECT_EQ(All(*restored, a), a_before);
  EXPECT_EQ(All(*restored, b), b_before);
  EXPECT_EQ(*restored->Find("pump-2", "rpm"), b);
  EXPECT_EQ(All(*store, a).size(), 65u);  // the live store went on
  EXPECT_EQ(store->Checkpoint(copy).code(), StatusCode::kAlreadyExists);
}

TEST(Checkpoint, WhileAnotherThreadWrites) {
  TempDir dir;
  const std::string copy = dir.path() + "/backup";
  auto store = OpenStore(dir.path() + "/live");
  const SeriesId id = Create(*store, "pump-1");
  constexpr int kPerBatch = 7;
  std::atomic<int> acked{-1};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int batch = 0; !stop; ++batch) {
      if (!WriteRange(*store, id, batch * kPerBatch, (batch + 1) * kPerBatch).ok()) return;
      acked = batch;
    }
  });
  while (acked < 20) std::this_thread::yield();
  const int before = acked;
  const Status checkpointed = store->Checkpoint(copy);
  stop = true;
  writer.join();
  ASSERT_TRUE(checkpointed.ok()) << checkpointed.ToString();

  auto restored = OpenStore(copy);
  const std::vector<Point> points = All(*restored, id);
  // Every batch acknowledged before the call, then possibly later ones, each whole.
  ASSERT_GE(points.size(), static_cast<size_t>((before + 1) * kPerBatch));
  EXPECT_EQ(points.size() % kPerBatch, 0u);
  for (size_t i = 0; i < points.size(); ++i) EXPECT_EQ(points[i], (Point{TimeNs(i), double(i)}));
}

// Four series, 50 points each at 1 h spacing, sealed as 10-point chunks [0,9]h .. [40,49]h.
struct RetentionFixture {
  explicit RetentionFixture(const std::string& path) : store(OpenStore(path)) {
    a = Create(*store, "pump-1", "temperature", "dtmi:x:Pump;1");
    b = Create(*store, "pump-2", "temperature", "dtmi:x:Pump;1");
    c = Create(*store, "valve-1", "position", "dtmi:x:Valve;1");
    d = Create(*store, "thing-1", "x");
    for (SeriesId id : {a, b, c, d}) EXPECT_TRUE(WriteRange(*store, id, 0, 50, kHour).ok());
    EXPECT_TRUE(store->Flush().ok());
  }
  // The reference: a chunk [10j, 10j+9] h survives iff its newest point is >= now - keep.
  static TimeNs FirstKept(TimeNs now, TimeNs keep) {
    for (int j = 0; j < 5; ++j) {
      if ((10 * j + 9) * kHour >= now - keep) return 10 * j * kHour;
    }
    return -1;  // all dropped
  }
  std::unique_ptr<SeriesStore> store;
  SeriesId a = 0, b = 0, c = 0, d = 0;
};

TEST(Retention, MostSpecificRuleWins) {
  TempDir dir;
  SeriesId a, b, c, d;
  {
    RetentionFixture f(dir.path());
    a = f.a, b = f.b, c = f.c, d = f.d;
    const std::vector<RetentionRule> rules = {
        {"dtmi:x:Pump;1", 25 * kHour, "", ""},  // a: cutoff 25 h, drops [0,9] [10,19]
        {"", 5 * kHour, "pump-2", "temperature"},  // b: cutoff 45 h, drops 4 chunks
        {"", 35 * kHour, "", ""},                  // c, d: cutoff 15 h, drops [0,9]
    };
    EXPECT_EQ(*f.store->ApplyRetention(rules, 50 * kHour), 8u);
    EXPECT_EQ(*f.store->ApplyRetention(rules, 50 * kHour), 0u);  // idempotent
  }
  auto store = OpenStore(dir.path());  // the deletions (chunks and index) persisted
  EXPECT_EQ(All(*store, a).front().time, 20 * kHour);
  EXPECT_EQ(All(*store, b).front().time, 40 * kHour);
  EXPECT_EQ(All(*store, c).front().time, 10 * kHour);
  EXPECT_EQ(All(*store, d).front().time, 10 * kHour);
  EXPECT_EQ(All(*store, a).back().time, 49 * kHour);
  EXPECT_EQ(store->Stats(b)->points, 10u);
  EXPECT_EQ(store->Stats(b)->oldest, 40 * kHour);
}

TEST(Retention, WithoutDefaultOtherSeriesAreKept) {
  TempDir dir;
  RetentionFixture f(dir.path());
  const std::vector<RetentionRule> rules = {{"dtmi:x:Valve;1", kHour, "", ""}};
  EXPECT_EQ(*f.store->ApplyRetention(rules, 50 * kHour), 4u);  // the newest chunk [40,49] stays
  EXPECT_EQ(All(*f.store, f.c).size(), 10u);
  for (SeriesId id : {f.a, f.b, f.d}) EXPECT_EQ(All(*f.store, id).size(), 50u);
}

// A classified field (auth/classification.h): the series at one path of one model's twins,
// more specific than the model's own rule, less than a single series'.
TEST(Retention, ModelAndPathRuleSitsBetweenSeriesAndModel) {
  TempDir dir;
  RetentionFixture f(dir.path());
  const SeriesId badge_1 = Create(*f.store, "op-1", "badgeId", "dtmi:x:Operator;1");
  const SeriesId badge_2 = Create(*f.store, "op-2", "badgeId", "dtmi:x:Operator;1");
  const SeriesId shift = Create(*f.store, "op-1", "shift", "dtmi:x:Operator;1");
  for (SeriesId id : {badge_1, badge_2, shift}) ASSERT_TRUE(WriteRange(*f.store, id, 0, 50, kHour).ok());
  ASSERT_TRUE(f.store->Flush().ok());
  const std::vector<RetentionRule> rules = {
      {"dtmi:x:Operator;1", 5 * kHour, "", "badgeId"},  // badge_2: cutoff 45 h, drops 4 chunks
      {"dtmi:x:Operator;1", 35 * kHour, "", ""},        // shift: cutoff 15 h, drops [0,9]
      {"", 25 * kHour, "op-1", "badgeId"},              // badge_1: cutoff 25 h, drops 2 chunks
  };
  EXPECT_EQ(*f.store->ApplyRetention(rules, 50 * kHour), 7u);
  EXPECT_EQ(All(*f.store, badge_1).front().time, 20 * kHour);
  EXPECT_EQ(All(*f.store, badge_2).front().time, 40 * kHour);
  EXPECT_EQ(All(*f.store, shift).front().time, 10 * kHour);
  // The pumps' series, at another model, are untouched.
  EXPECT_EQ(All(*f.store, f.a).size(), 50u);
}

TEST(Retention, RefusesAPathWithoutTwinOrModelAndDuplicateModelPaths) {
  TempDir dir;
  RetentionFixture f(dir.path());
  const std::vector<RetentionRule> bare_path = {{"", kHour, "", "badgeId"}};
  EXPECT_EQ(f.store->ApplyRetention(bare_path, 0).status().code(), StatusCode::kInvalidArgument);
  const std::vector<RetentionRule> twice = {{"dtmi:x:Pump;1", kHour, "", "temperature"},
                                            {"dtmi:x:Pump;1", 2 * kHour, "", "temperature"}};
  EXPECT_EQ(f.store->ApplyRetention(twice, 0).status().code(), StatusCode::kInvalidArgument);
  const std::vector<RetentionRule> twin_only = {{"", kHour, "pump-1", ""}};
  EXPECT_EQ(f.store->ApplyRetention(twin_only, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST(Retention, RandomizedAgainstReference) {
  TempDir dir;
  std::mt19937_64 rng(7);
  for (int round = 0; round < 12; ++round) {
    RetentionFixture f(dir.path() + "/" + std::to_string(round));
    const TimeNs now = static_cast<TimeNs>(rng() % 80) * kHour;
    const TimeNs pump_keep = static_cast<TimeNs>(1 + rng() % 60) * kHour;
    const TimeNs other_keep = static_cast<TimeNs>(1 + rng() % 60) * kHour;
    const std::vector<RetentionRule> rules = {{"dtmi:x:Pump;1", pump_keep, "", ""}, {"", other_keep, "", ""}};
    ASSERT_TRUE(f.store->ApplyRetention(rules, now).ok());
    for (SeriesId id : {f.a, f.b, f.c, f.d}) {
      const TimeNs first = RetentionFixture::FirstKept(now, id == f.a || id == f.b ? pump_keep : other_keep);
      const std::vector<Point> points = All(*f.store, id);
      if (first < 0) {
        EXPECT_TRUE(points.empty()) << "round " << round;
      } else {
        ASSERT_FALSE(points.empty()) << "round " << round;
        EXPECT_EQ(points.front().time, first) << "round " << round;
        EXPECT_EQ(points.size(), static_cast<size_t>(50 - first / kHour));
      }
    }
  }
}

TEST(Retention, KeepsTheHeadAndRejectsBadRules) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const SeriesId id = Create(*store, "pump-1");
  ASSERT_TRUE(WriteRange(*store, id, 0, 5).ok());  // head only
  const std::vector<RetentionRule> all = {{"", 1, "", ""}};
  EXPECT_EQ(*store->ApplyRetention(all, kMaxTime), 0u);
  EXPECT_EQ(All(*store, id).size(), 5u);
  EXPECT_EQ(*store->ApplyRetention(all, kMinTime), 0u);  // a cutoff before time began

  using Rules = std::vector<RetentionRule>;
  for (const Rules& bad : {Rules{{"", 0, "", ""}}, Rules{{"m", -1, "", ""}}, Rules{{"", 1, "pump-1", ""}},
                           Rules{{"m", 1, "pump-1", "temperature"}}, Rules{{"", 1, "", ""}, {"", 2, "", ""}},
                           Rules{{"m", 1, "", ""}, {"m", 2, "", ""}},
                           Rules{{"", 1, "t", "p"}, {"", 2, "t", "p"}}}) {
    EXPECT_EQ(store->ApplyRetention(bad, 0).status().code(), StatusCode::kInvalidArgument);
  }
}

// A store written before the "h/" chunk index existed has only "c/" chunks: the first open
// builds the index, and later opens read only it.
TEST(ChunkIndex, BuiltForAStoreWithoutOne) {
  TempDir dir;
  SeriesId id;
  std::vector<Point> expected;
  {
    auto store = OpenStore(dir.path());
    id = Create(*store, "pump-1");
    ASSERT_TRUE(WriteRange(*store, id, 0, 47).ok());
    expected = All(*store, id);
  }
  auto count_index = [&] {
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open({}, dir.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}));
    int n = 0;
    for (it->Seek("h/"); it->Valid() && it->key().starts_with("h/"); it->Next()) ++n;
    return std::pair(n, std::move(db));
  };
  {
    auto [n, db] = count_index();
    EXPECT_EQ(n, 4);
    ASSERT_TRUE(db->Delete({}, "m/layout").ok());
    ASSERT_TRUE(db->DeleteRange({}, db->DefaultColumnFamily(), "h/", "h0").ok());
  }
  EXPECT_EQ(count_index().first, 0);
  {
    auto store = OpenStore(dir.path());
    EXPECT_EQ(All(*store, id), expected);
    EXPECT_EQ(store->ChunkCount(id), 4u);
    EXPECT_EQ(store->Stats(id)->points, 47u);
  }
  EXPECT_EQ(count_index().first, 4);
}

}  // namespace
}  // namespace doppel::tsdb
