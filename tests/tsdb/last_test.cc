// SeriesStore::Last (kept in memory per series) against a reference model through writes,
// late points, duplicates, seals, reopens, compaction and retention; and ListSeriesOfTwin.
#include <rocksdb/db.h>

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

constexpr TimeNs kMinTime = std::numeric_limits<TimeNs>::min();
constexpr TimeNs kMaxTime = std::numeric_limits<TimeNs>::max();

SeriesStoreOptions Small() {
  SeriesStoreOptions o;
  o.max_head_points = 8;
  o.partition = 100;
  o.sync = false;
  return o;
}

std::unique_ptr<SeriesStore> Open(const TempDir& dir) {
  auto store = SeriesStore::Open(dir.path(), Small());
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// The newest point per the data itself (chunks and memory merged, last write winning).
std::optional<Point> NewestRead(const SeriesStore& store, SeriesId id) {
  Result<std::vector<Point>> all = QueryRaw(store, id, kMinTime, kMaxTime);
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  if (!all.ok() || all->empty()) return std::nullopt;
  return all->back();
}

Value RandomValue(ValueType type, std::mt19937_64& rng) {
  switch (type) {
    case ValueType::kDouble: return static_cast<double>(rng() % 1000) / 10;
    case ValueType::kInt64: return static_cast<int64_t>(rng());  // full range: not a double
    case ValueType::kBool: return rng() % 2 == 0;
    case ValueType::kString:  // sometimes too long for the chunk index (read after reopen)
      return std::string(rng() % 2 == 0 ? 3 : 100, static_cast<char>('a' + rng() % 26));
  }
  return 0.0;
}

// Rewrites every "h/" index entry to its first 16 bytes: a store written before entries
// carried the chunk's last value. Adds the number of entries rewritten to *stripped.
void StripIndexValues(const std::string& dir, int* stripped) {
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}));
  for (it->Seek("h/"); it->Valid() && it->key().starts_with("h/"); it->Next()) {
    ASSERT_GE(it->value().size(), 16u);
    if (it->value().size() == 16) continue;
    ASSERT_TRUE(db->Put({}, it->key(), it->value().ToString().substr(0, 16)).ok());
    ++*stripped;
  }
}

TEST(SeriesLast, MatchesReferenceThroughEveryOperation) {
  TempDir dir;
  std::mt19937_64 rng(20261125);
  auto store = Open(dir);
  const std::vector<ValueType> types = {ValueType::kDouble, ValueType::kInt64, ValueType::kBool,
                                        ValueType::kString, ValueType::kDouble, ValueType::kDouble};
  std::vector<SeriesId> ids;
  for (size_t i = 0; i < types.size(); ++i) {
    ids.push_back(*store->CreateSeries({"twin", "p" + std::to_string(i), types[i], "", "", ""}));
  }
  std::vector<std::map<TimeNs, Value>> ref(ids.size());
  std::vector<TimeNs> newest(ids.size(), 0);
  int stripped = 0;

  auto check = [&](const std::string& step) {
    const Result<std::vector<std::optional<Point>>> last = store->Last(ids);
    ASSERT_TRUE(last.ok()) << last.status().ToString();
    for (size_t i = 0; i < ids.size(); ++i) {
      std::optional<Point> want;
      if (!ref[i].empty()) want = Point{ref[i].rbegin()->first, ref[i].rbegin()->second};
      EXPECT_EQ((*last)[i], want) << step << ", series " << i;
      EXPECT_EQ((*last)[i], NewestRead(*store, ids[i])) << step << ", series " << i;
    }
  };

  for (int round = 0; round < 300; ++round) {
    const int op = static_cast<int>(rng() % 20);
    std::string step = "round " + std::to_string(round);
    if (op < 12) {  // a batch of new, late and duplicate points over some series
      std::vector<SeriesPoint> batch;
      for (int n = 0; n < 1 + static_cast<int>(rng() % 12); ++n) {
        const size_t i = rng() % ids.size();
        TimeNs t;
        const int kind = static_cast<int>(rng() % 10);
        if (kind < 5) t = newest[i] + 1 + static_cast<TimeNs>(rng() % 5);  // newer
        else if (kind < 7) t = newest[i];                                  // duplicate of the newest
        else t = newest[i] - static_cast<TimeNs>(rng() % 40);              // late (maybe a duplicate)
        newest[i] = std::max(newest[i], t);
        Value v = RandomValue(types[i], rng);
        ref[i].insert_or_assign(t, v);
        batch.push_back({ids[i], t, std::move(v)});
      }
      ASSERT_TRUE(store->Write(batch).ok());
      step += " write";
    } else if (op < 14) {
      ASSERT_TRUE(store->Flush().ok());
      step += " flush";
    } else if (op < 16) {
      store.reset();
      if (rng() % 3 == 0) StripIndexValues(dir.path(), &stripped);
      store = Open(dir);
      ASSERT_NE(store, nullptr);
      step += " reopen";
    } else if (op < 18) {
      ASSERT_TRUE(store->Compact(ids[rng() % ids.size()]).ok());
      step += " compact";
    } else {  // retention: resync the reference with what is left
      const size_t i = rng() % ids.size();
      const TimeNs cutoff = newest[i] + 1 - static_cast<TimeNs>(rng() % 30);
      if (rng() % 2 == 0) {
        ASSERT_TRUE(store->DropBefore(ids[i], cutoff).ok());
      } else {
        const RetentionRule rule{.model_id = "", .keep = newest[i] + 1000 - cutoff, .twin_id = "twin", .path = "p" + std::to_string(i)};
        ASSERT_TRUE(store->ApplyRetention({&rule, 1}, newest[i] + 1000).ok());
      }
      Result<std::vector<Point>> left = QueryRaw(*store, ids[i], kMinTime, kMaxTime);
      ASSERT_TRUE(left.ok());
      ref[i].clear();
      for (Point& p : *left) ref[i].emplace(p.time, std::move(p.value));
      step += " retention";
    }
    check(step);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(stripped, 0);  // the path for stores from before the index carried values ran
}

// Retention that drops every chunk of a flushed series (head empty) leaves no newest point;
// a later write older than the dropped data is then the newest.
TEST(SeriesLast, RetentionOfEverythingThenALatePoint) {
  TempDir dir;
  auto store = Open(dir);
  const SeriesId id = *store->CreateSeries({"twin", "x", ValueType::kDouble, "", "", ""});
  std::vector<SeriesPoint> batch;
  for (TimeNs t = 10; t < 30; ++t) batch.push_back({id, t, static_cast<double>(t)});
  ASSERT_TRUE(store->Write(batch).ok());
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ((*store->Last({&id, 1}))[0], (Point{29, 29.0}));
  EXPECT_EQ(*store->DropBefore(id, 1000), 3u);  // chunks [10,17] [18,25] [26,29]
  EXPECT_EQ((*store->Last({&id, 1}))[0], std::nullopt);
  const SeriesPoint late{id, 5, 0.5};
  ASSERT_TRUE(store->Write({&late, 1}).ok());
  EXPECT_EQ((*store->Last({&id, 1}))[0], (Point{5, 0.5}));
  store.reset();
  store = Open(dir);
  EXPECT_EQ((*store->Last({&id, 1}))[0], (Point{5, 0.5}));
}

// After a reopen the newest point comes from the chunk index (no head to replay), also for a
// late duplicate that sealed into its own, newer chunk.
TEST(SeriesLast, ReopenUsesTheNewestChunkOfEqualTimes) {
  TempDir dir;
  SeriesId id;
  {
    auto store = Open(dir);
    id = *store->CreateSeries({"twin", "x", ValueType::kInt64, "", "", ""});
    std::vector<SeriesPoint> batch;
    for (TimeNs t = 0; t < 8; ++t) batch.push_back({id, t, int64_t{t}});
    ASSERT_TRUE(store->Write(batch).ok());
    ASSERT_TRUE(store->Flush().ok());
    const SeriesPoint again{id, 7, int64_t{-7}};
    ASSERT_TRUE(store->Write({&again, 1}).ok());
    ASSERT_TRUE(store->Flush().ok());
    EXPECT_EQ(store->ChunkCount(id), 2u);
  }
  auto store = Open(dir);
  EXPECT_EQ((*store->Last({&id, 1}))[0], (Point{7, int64_t{-7}}));
}

TEST(SeriesStore, ListSeriesOfTwinIsARangeOfTheCatalog) {
  TempDir dir;
  auto store = Open(dir);
  for (const char* twin : {"a", "ab", "b", "a b"}) {
    for (const char* path : {"z", "m", "a/b"}) {
      ASSERT_TRUE(store->CreateSeries({twin, path, ValueType::kDouble, "", "", ""}).ok());
    }
  }
  std::vector<std::string> paths;
  for (const SeriesInfo& info : store->ListSeriesOfTwin("a")) {
    EXPECT_EQ(info.spec.twin_id, "a");
    EXPECT_EQ(info.id, *store->Find("a", info.spec.path));
    paths.push_back(info.spec.path);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"a/b", "m", "z"}));
  EXPECT_EQ(store->ListSeriesOfTwin("ab").size(), 3u);
  EXPECT_TRUE(store->ListSeriesOfTwin("").empty());
  EXPECT_TRUE(store->ListSeriesOfTwin("c").empty());
}

}  // namespace
}  // namespace doppel::tsdb
