// SeriesStore::EraseTwin (the right to erasure): every key of every series of the twin goes,
// in every key space, physically (the bytes leave the files), and nothing else changes.
#include <rocksdb/db.h>
#include <rocksdb/sst_file_reader.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tsdb/query.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"

namespace doppel::tsdb {
namespace {

using testing::TempDir;

constexpr TimeNs kMinute = 60'000'000'000;
constexpr TimeNs kHour = 60 * kMinute;
constexpr TimeNs kMinTime = std::numeric_limits<TimeNs>::min();
constexpr TimeNs kMaxTime = std::numeric_limits<TimeNs>::max();
// Distinctive, so a byte search of the files finds it only where it really is.
constexpr const char* kErased = "erasure-subject-7f3a";

SeriesStoreOptions SmallChunks() {
  SeriesStoreOptions o;
  o.max_head_points = 10;
  o.partition = 10'000 * kHour;
  o.sync = false;
  return o;
}

std::unique_ptr<SeriesStore> OpenStore(const std::string& dir) {
  Result<std::unique_ptr<SeriesStore>> store = SeriesStore::Open(dir, SmallChunks());
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

SeriesId Create(SeriesStore& store, const std::string& twin, const std::string& path,
                ValueType type = ValueType::kDouble) {
  Result<SeriesId> id = store.CreateSeries({twin, path, type, "dtmi:test:Ws;1", "", ""});
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return id.ok() ? *id : 0;
}

// `n` points a minute apart (sealed chunks of 10, the rest in the head), then two late
// points (the out-of-order buffer).
void WriteHistory(SeriesStore& store, SeriesId id, int n, double offset) {
  std::vector<SeriesPoint> batch;
  for (int i = 0; i < n; ++i) batch.push_back({id, i * kMinute, offset + i});
  ASSERT_TRUE(store.Write(batch).ok());
  ASSERT_TRUE(store.Write(std::vector<SeriesPoint>{{id, 3 * kMinute + 1, offset - 1}}).ok());
  ASSERT_TRUE(store.Write(std::vector<SeriesPoint>{{id, 5 * kMinute + 1, offset - 2}}).ok());
}

void WriteStrings(SeriesStore& store, SeriesId id, int n) {
  std::vector<SeriesPoint> batch;
  for (int i = 0; i < n; ++i) batch.push_back({id, i * kMinute, std::string(i % 3 == 0 ? "on" : "off")});
  ASSERT_TRUE(store.Write(batch).ok());
}

// Every key and value of the store, read with RocksDB directly (the store must be closed).
std::map<std::string, std::string> RawDump(const std::string& dir) {
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status opened = rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir, &raw);
  EXPECT_TRUE(opened.ok()) << opened.ToString();
  if (!opened.ok()) return {};
  std::unique_ptr<rocksdb::DB> db(raw);
  std::map<std::string, std::string> all;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}));
  for (it->SeekToFirst(); it->Valid(); it->Next()) all.emplace(it->key().ToString(), it->value().ToString());
  EXPECT_TRUE(it->status().ok());
  return all;
}

// The series id of a per-series key (<space> '/' <u64 BE id> ...), or 0 for "m/layout".
SeriesId SeriesOfKey(const std::string& key) {
  if (key.size() < 10 || key[1] != '/' || key.starts_with("m/")) return 0;
  SeriesId id = 0;
  for (int i = 2; i < 10; ++i) id = (id << 8) | static_cast<uint8_t>(key[i]);
  return id;
}

// Every file under `dir` holding `needle` anywhere in its bytes (what `grep -rla` finds).
std::vector<std::string> FilesContaining(const std::string& dir, std::string_view needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) found.push_back(entry.path().string());
  }
  return found;
}

// Every entry of every table file under `dir`, read from the files themselves: what is
// physically there, whatever a tombstone elsewhere hides (table blocks are compressed, so a
// byte search of them proves nothing).
std::vector<std::pair<std::string, std::string>> TableFileEntries(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    if (file.path().extension() != ".sst") continue;
    rocksdb::SstFileReader reader{rocksdb::Options()};
    const rocksdb::Status opened = reader.Open(file.path().string());
    EXPECT_TRUE(opened.ok()) << opened.ToString();
    if (!opened.ok()) continue;
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator({}));
    for (it->SeekToFirst(); it->Valid(); it->Next()) entries.emplace_back(it->key().ToString(), it->value().ToString());
    EXPECT_TRUE(it->status().ok());
  }
  return entries;
}

std::map<std::string, std::string> Without(std::map<std::string, std::string> dump, const std::set<SeriesId>& ids) {
  std::erase_if(dump, [&](const auto& kv) { return ids.contains(SeriesOfKey(kv.first)); });
  return dump;
}

// Three twins; the one to erase has a double series with sealed chunks, a head, late points
// and roll-ups, and a string series; the others have the same shapes.
struct Fixture {
  TempDir dir;
  std::set<SeriesId> erased;
  std::vector<SeriesId> kept;

  void Build() {
    auto store = OpenStore(dir.path());
    ASSERT_NE(store, nullptr);
    for (const std::string twin : {"keep-a", kErased, "keep-b"}) {
      const SeriesId temperature = Create(*store, twin, "temperature");
      const SeriesId state = Create(*store, twin, "state", ValueType::kString);
      WriteHistory(*store, temperature, 200, twin == kErased ? 1000 : 0);
      WriteStrings(*store, state, 25);
      if (twin == kErased) {
        erased.insert({temperature, state});
      } else {
        kept.insert(kept.end(), {temperature, state});
      }
    }
    // Roll-ups of every double series: everything older than 1 h before "now" is dropped.
    std::vector<RetentionRule> rules;
    for (const std::string twin : {"keep-a", kErased, "keep-b"}) {
      rules.push_back({.model_id = "", .keep = kHour, .twin_id = twin, .path = "temperature", .keep_rollups = 1000 * kHour});
    }
    Result<size_t> dropped = store->ApplyRetention(rules, 3 * kHour);
    ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
    ASSERT_GT(*dropped, 0u);
  }
};

TEST(EraseTwinTest, RemovesEveryKeyOfTheTwinAndLeavesOtherTwinsByteIdentical) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.Build());
  const std::map<std::string, std::string> before = RawDump(f.dir.path());
  // The twin really had keys in every per-series key space, so their absence below means something.
  std::set<char> spaces;
  for (const auto& [key, value] : before) {
    if (f.erased.contains(SeriesOfKey(key))) spaces.insert(key[0]);
  }
  EXPECT_EQ(spaces, (std::set<char>{'s', 'w', 'c', 'h', 'u', 'f'}));
  ASSERT_FALSE(FilesContaining(f.dir.path(), kErased).empty());

  {
    auto store = OpenStore(f.dir.path());
    ASSERT_NE(store, nullptr);
    const SeriesId temperature = *store->Find(kErased, "temperature");
    const uint64_t points = store->Stats(temperature)->points + store->Stats(*store->Find(kErased, "state"))->points;
    EraseStats stats;
    ASSERT_TRUE(store->EraseTwin(kErased, &stats).ok());
    EXPECT_EQ(stats.series, 2u);
    EXPECT_EQ(stats.points, points);
    EXPECT_GT(stats.chunks, 0u);
    EXPECT_EQ(store->Find(kErased, "temperature").status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(store->ListSeriesOfTwin(kErased).empty());
    EXPECT_EQ(store->Read(temperature, kMinTime, kMaxTime).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(store->ReadRollups(temperature, RollupLevel::kMinute, kMinTime, kMaxTime).status().code(),
              StatusCode::kNotFound);
    EXPECT_EQ(store->Stats(temperature).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(store->TotalStats().series, 4u);
  }
  const std::map<std::string, std::string> after = RawDump(f.dir.path());
  EXPECT_EQ(after, Without(before, f.erased));
  for (const auto& [key, value] : after) {
    EXPECT_FALSE(f.erased.contains(SeriesOfKey(key))) << "a key of an erased series is left: " << key;
    EXPECT_EQ(key.find(kErased), std::string::npos);
    EXPECT_EQ(value.find(kErased), std::string::npos) << "key " << key;
  }
  // Not just hidden by tombstones: no table file holds a key of the erased series, and no
  // other file (RocksDB's log, MANIFEST, info LOG: not compressed) the twin id.
  for (const auto& [key, value] : TableFileEntries(f.dir.path())) {
    EXPECT_FALSE(f.erased.contains(SeriesOfKey(key))) << "a table file still holds " << key;
    EXPECT_EQ(value.find(kErased), std::string::npos);
  }
  EXPECT_EQ(FilesContaining(f.dir.path(), kErased), std::vector<std::string>{});
}

TEST(EraseTwinTest, NothingComesBackAfterReopen) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.Build());
  std::map<SeriesId, std::vector<Point>> kept_points;
  std::map<SeriesId, RollupData> kept_rollups;
  {
    auto store = OpenStore(f.dir.path());
    ASSERT_NE(store, nullptr);
    for (SeriesId id : f.kept) {
      kept_points[id] = *QueryRaw(*store, id, kMinTime, kMaxTime);
      kept_rollups[id] = *store->ReadRollups(id, RollupLevel::kMinute, kMinTime, kMaxTime);
    }
    ASSERT_TRUE(store->EraseTwin(kErased).ok());
  }
  auto store = OpenStore(f.dir.path());
  ASSERT_NE(store, nullptr);
  for (const SeriesInfo& info : store->ListSeries()) {
    EXPECT_NE(info.spec.twin_id, kErased);
    EXPECT_FALSE(f.erased.contains(info.id));
  }
  EXPECT_EQ(store->ListSeries().size(), f.kept.size());
  for (SeriesId id : f.erased) {
    EXPECT_EQ(store->Read(id, kMinTime, kMaxTime).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(store->Last(std::vector<SeriesId>{id}).status().code(), StatusCode::kNotFound);
  }
  for (SeriesId id : f.kept) {
    EXPECT_EQ(*QueryRaw(*store, id, kMinTime, kMaxTime), kept_points[id]);
    const RollupData rollups = *store->ReadRollups(id, RollupLevel::kMinute, kMinTime, kMaxTime);
    EXPECT_EQ(rollups.floor, kept_rollups[id].floor);
    EXPECT_EQ(rollups.rows, kept_rollups[id].rows);
  }
}

TEST(EraseTwinTest, WritingAgainCreatesAFreshSeries) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  const SeriesId old_id = Create(*store, kErased, "temperature");
  ASSERT_NO_FATAL_FAILURE(WriteHistory(*store, old_id, 35, 0));
  ASSERT_TRUE(store->EraseTwin(kErased).ok());

  // A writer still holding the old id fails cleanly instead of resurrecting it.
  EXPECT_EQ(store->Write(std::vector<SeriesPoint>{{old_id, 1, 1.0}}).code(), StatusCode::kInvalidArgument);
  // The same (twin, path) may now hold another type: the old series is gone entirely.
  const SeriesId fresh = Create(*store, kErased, "temperature", ValueType::kInt64);
  EXPECT_NE(fresh, old_id);
  ASSERT_TRUE(store->Write(std::vector<SeriesPoint>{{fresh, 7 * kMinute, int64_t{42}}}).ok());
  EXPECT_EQ(*QueryRaw(*store, fresh, kMinTime, kMaxTime), (std::vector<Point>{{7 * kMinute, int64_t{42}}}));
  EXPECT_EQ(store->Stats(fresh)->points, 1u);
  EXPECT_EQ((*store->Last(std::vector<SeriesId>{fresh}))[0], (Point{7 * kMinute, int64_t{42}}));

  store.reset();
  store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->Find(kErased, "temperature"), fresh);
  EXPECT_EQ(*QueryRaw(*store, fresh, kMinTime, kMaxTime), (std::vector<Point>{{7 * kMinute, int64_t{42}}}));
}

TEST(EraseTwinTest, AnUnknownTwinOrAPrefixOfATwinIdErasesNothing) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  const SeriesId id = Create(*store, "pump-12", "temperature");
  ASSERT_NO_FATAL_FAILURE(WriteHistory(*store, id, 15, 0));
  EraseStats stats{9, 9, 9};
  ASSERT_TRUE(store->EraseTwin("pump-1", &stats).ok());
  EXPECT_EQ(stats.series, 0u);
  EXPECT_EQ(stats.points, 0u);
  ASSERT_TRUE(store->EraseTwin("", &stats).ok());
  EXPECT_EQ(store->Stats(id)->points, 17u);
  EXPECT_EQ(*store->Find("pump-12", "temperature"), id);
}

// Writers of other series go on while a twin is erased; none of their points is lost.
TEST(EraseTwinTest, ConcurrentWritesToOtherSeriesAreUnaffected) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  const SeriesId other = Create(*store, "keep-a", "temperature");
  std::atomic<bool> failed{false};
  constexpr int kPoints = 2000;
  std::thread writer([&] {
    for (int i = 0; i < kPoints; ++i) {
      if (!store->Write(std::vector<SeriesPoint>{{other, i * kMinute, double(i)}}).ok()) failed = true;
    }
  });
  for (int round = 0; round < 20; ++round) {
    const SeriesId id = Create(*store, kErased, "temperature");
    ASSERT_NO_FATAL_FAILURE(WriteHistory(*store, id, 25, round));
    ASSERT_TRUE(store->EraseTwin(kErased).ok());
    EXPECT_TRUE(store->ListSeriesOfTwin(kErased).empty());
  }
  writer.join();
  EXPECT_FALSE(failed);
  const std::vector<Point> points = *QueryRaw(*store, other, kMinTime, kMaxTime);
  ASSERT_EQ(points.size(), size_t{kPoints});
  for (int i = 0; i < kPoints; ++i) EXPECT_EQ(points[i], (Point{i * kMinute, double(i)}));
}

}  // namespace
}  // namespace doppel::tsdb
