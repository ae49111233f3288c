#include "tsdb/series_store.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <limits>

#include <gtest/gtest.h>

#include "tsdb/query.h"
#include "tsdb/temp_dir.h"

namespace doppel::tsdb {
namespace {

using testing::TempDir;

constexpr TimeNs kSecond = 1'000'000'000;
constexpr TimeNs kHour = 3600 * kSecond;
constexpr TimeNs kMinTime = std::numeric_limits<TimeNs>::min();
constexpr TimeNs kMaxTime = std::numeric_limits<TimeNs>::max();

std::unique_ptr<SeriesStore> OpenStore(const TempDir& dir, SeriesStoreOptions options = {}) {
  Result<std::unique_ptr<SeriesStore>> store = SeriesStore::Open(dir.path(), options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

std::vector<Point> All(const SeriesStore& store, SeriesId id) {
  Result<std::vector<Point>> points = QueryRaw(store, id, kMinTime, kMaxTime);
  EXPECT_TRUE(points.ok()) << points.status().ToString();
  return points.ok() ? *points : std::vector<Point>{};
}

SeriesStoreOptions SmallChunks() {
  SeriesStoreOptions o;
  o.max_head_points = 10;
  o.sync = false;  // these tests close cleanly; the crash test below keeps sync on
  return o;
}

SeriesId Create(SeriesStore& store, std::string path, ValueType type = ValueType::kDouble) {
  Result<SeriesId> id = store.CreateSeries({"pump-1", std::move(path), type, "", "", ""});
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return id.ok() ? *id : 0;
}

TEST(SeriesStore, CatalogIsPersistedWithMetadata) {
  TempDir dir;
  SeriesId id;
  {
    auto store = OpenStore(dir);
    id = *store->CreateSeries({"pump-1", "temperature", ValueType::kDouble, "dtmi:x:Pump;1", "degreeCelsius", "Temperature"});
    EXPECT_EQ(*store->CreateSeries({"pump-1", "temperature", ValueType::kDouble, "dtmi:x:Pump;1", "kelvin", ""}), id);
    EXPECT_NE(*store->CreateSeries({"pump-2", "temperature", ValueType::kDouble, "", "", ""}), id);
  }
  auto store = OpenStore(dir);
  EXPECT_EQ(*store->Find("pump-1", "temperature"), id);
  const SeriesInfo info = *store->Info(id);
  EXPECT_EQ(info.spec.model_id, "dtmi:x:Pump;1");
  EXPECT_EQ(info.spec.unit, "kelvin");
  EXPECT_EQ(store->ListSeries().size(), 2u);
  EXPECT_EQ(store->Find("pump-9", "temperature").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Info(999).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*store->CreateSeries({"pump-3", "x", ValueType::kBool, "", "", ""}), 3u);
}

TEST(SeriesStore, SecondOpenOfTheSameDirectoryIsUnavailable) {
  TempDir dir;
  auto store = OpenStore(dir);
  EXPECT_EQ(SeriesStore::Open(dir.path()).status().code(), StatusCode::kUnavailable);
}

TEST(SeriesStore, CreateSeriesErrors) {
  TempDir dir;
  auto store = OpenStore(dir);
  Create(*store, "temperature");
  EXPECT_EQ(store->CreateSeries({"pump-1", "temperature", ValueType::kString, "", "", ""}).status().code(), StatusCode::kConflict);
  EXPECT_EQ(store->CreateSeries({"", "temperature", ValueType::kDouble, "", "", ""}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->CreateSeries({"pump-1", "", ValueType::kDouble, "", "", ""}).status().code(), StatusCode::kInvalidArgument);
}

TEST(SeriesStore, InvalidBatchWritesNothing) {
  TempDir dir;
  auto store = OpenStore(dir);
  const SeriesId id = Create(*store, "temperature");
  std::vector<SeriesPoint> batch = {{id, 1, 1.0}, {id, 2, std::string("hot")}};
  EXPECT_EQ(store->Write(batch).code(), StatusCode::kInvalidArgument);
  batch = {{id, 1, 1.0}, {77, 2, 2.0}};
  EXPECT_EQ(store->Write(batch).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(All(*store, id).empty());
}

TEST(SeriesStore, EveryValueTypeSurvivesReopen) {
  TempDir dir;
  std::vector<SeriesId> ids;
  const std::vector<Value> values = {1.5, int64_t{-7}, true, std::string("Running")};
  {
    auto store = OpenStore(dir, SmallChunks());
    for (size_t i = 0; i < values.size(); ++i) ids.push_back(Create(*store, std::to_string(i) + "-p", TypeOf(values[i])));
    std::vector<SeriesPoint> batch;
    for (int t = 0; t < 25; ++t) {
      for (size_t i = 0; i < values.size(); ++i) batch.push_back({ids[i], t * kSecond, values[i]});
    }
    ASSERT_TRUE(store->Write(batch).ok());
    EXPECT_EQ(store->ChunkCount(ids[0]), 2u);  // 25 points, 10 per chunk, 5 in the head
  }
  auto store = OpenStore(dir, SmallChunks());
  for (size_t i = 0; i < values.size(); ++i) {
    const std::vector<Point> points = All(*store, ids[i]);
    ASSERT_EQ(points.size(), 25u);
    EXPECT_EQ(points.back(), (Point{24 * kSecond, values[i]}));
  }
}

TEST(SeriesStore, HeadSealsAtPartitionBoundary) {
  TempDir dir;
  SeriesStoreOptions options;
  options.partition = 2 * kHour;
  auto store = OpenStore(dir, options);
  const SeriesId id = Create(*store, "temperature");
  std::vector<SeriesPoint> batch = {{id, 2 * kHour - 2, 1.0}, {id, 2 * kHour - 1, 2.0}, {id, 2 * kHour, 3.0}};
  ASSERT_TRUE(store->Write(batch).ok());
  EXPECT_EQ(store->ChunkCount(id), 1u);
  EXPECT_EQ(All(*store, id).size(), 3u);
}

TEST(SeriesStore, LateAndDuplicatePointsAreMergedLastWriteWins) {
  TempDir dir;
  const std::vector<Point> expected = {{-50, 0.5}, {0, 9.0}, {1, 1.0}, {5, 55.0}, {6, 6.0}, {7, 7.0}, {8, 88.0}};
  SeriesId id;
  {
    auto store = OpenStore(dir, SmallChunks());
    id = Create(*store, "temperature");
    for (const SeriesPoint& p : std::vector<SeriesPoint>{
             {id, 0, 0.0}, {id, 1, 1.0}, {id, 5, 5.0}, {id, 8, 8.0}, {id, 8, 88.0},  // in order, head overwrite
             {id, 6, 6.0}, {id, -50, 0.5}, {id, 5, 55.0}, {id, 7, 7.0}, {id, 0, 9.0}}) {  // late
      ASSERT_TRUE(store->Write({&p, 1}).ok());
    }
    EXPECT_EQ(All(*store, id), expected);
    ASSERT_TRUE(store->Flush().ok());
    EXPECT_EQ(store->ChunkCount(id), 2u);  // the head and the out-of-order buffer
    EXPECT_EQ(All(*store, id), expected);
    const SeriesPoint again{id, 1, 11.0};  // late again, now over a sealed chunk
    ASSERT_TRUE(store->Write({&again, 1}).ok());
  }
  auto store = OpenStore(dir, SmallChunks());
  std::vector<Point> after = expected;
  after[2].value = 11.0;
  EXPECT_EQ(All(*store, id), after);
}

TEST(SeriesStore, CompactionRewritesOverlappingChunksLastWriteWins) {
  TempDir dir;
  SeriesId id;
  std::vector<Point> expected;
  {
    auto store = OpenStore(dir, SmallChunks());
    id = Create(*store, "temperature");
    std::vector<SeriesPoint> batch;
    for (int t = 0; t < 40; ++t) batch.push_back({id, t, double(t)});
    ASSERT_TRUE(store->Write(batch).ok());
    for (int round = 0; round < 3; ++round) {  // late overwrites of every 2nd point, sealed each round
      batch.clear();
      for (int t = round % 2; t < 40; t += 2) batch.push_back({id, t, 100.0 * (round + 1) + t});
      ASSERT_TRUE(store->Write(batch).ok());
      ASSERT_TRUE(store->Flush().ok());
    }
    expected = All(*store, id);
    const size_t before = store->ChunkCount(id);
    EXPECT_EQ(*store->Compact(id), before);  // everything overlaps the late chunks
    EXPECT_EQ(store->ChunkCount(id), 4u);    // 40 points, 10 per chunk
    EXPECT_EQ(All(*store, id), expected);
    EXPECT_EQ(*store->Compact(id), 0u);      // nothing overlaps any more
    EXPECT_EQ(store->Compact(99).status().code(), StatusCode::kNotFound);
  }
  auto store = OpenStore(dir, SmallChunks());
  EXPECT_EQ(All(*store, id), expected);
  EXPECT_EQ(expected[3], (Point{3, 203.0}));  // written in round 1 only
  EXPECT_EQ(expected[4], (Point{4, 304.0}));  // rounds 0 and 2: the last wins
}

TEST(SeriesStore, LastOfManySeries) {
  TempDir dir;
  auto store = OpenStore(dir, SmallChunks());
  const SeriesId a = Create(*store, "a"), b = Create(*store, "b"), c = Create(*store, "c");
  std::vector<SeriesPoint> batch;
  for (int t = 0; t < 30; ++t) batch.push_back({a, t, double(t)});
  batch.push_back({b, 5, 1.0});
  ASSERT_TRUE(store->Write(batch).ok());
  ASSERT_TRUE(store->Flush().ok());
  const SeriesPoint late{a, 29, -1.0};  // overwrites the newest point after it was sealed
  ASSERT_TRUE(store->Write({&late, 1}).ok());
  const std::vector<SeriesId> ids = {a, b, c};
  const auto last = *store->Last(ids);
  EXPECT_EQ(last[0], (Point{29, -1.0}));
  EXPECT_EQ(last[1], (Point{5, 1.0}));
  EXPECT_FALSE(last[2].has_value());
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ((*store->Last(ids))[0], (Point{29, -1.0}));
  const std::vector<SeriesId> unknown = {a, 42};
  EXPECT_EQ(store->Last(unknown).status().code(), StatusCode::kNotFound);
}

TEST(SeriesStore, RetentionDropsWholeOldChunks) {
  TempDir dir;
  SeriesId a, b;
  {
    auto store = OpenStore(dir, SmallChunks());
    a = Create(*store, "a");
    b = Create(*store, "b");
    std::vector<SeriesPoint> batch;
    for (int t = 0; t < 35; ++t) batch.push_back({a, t, double(t)}), batch.push_back({b, t, double(t)});
    ASSERT_TRUE(store->Write(batch).ok());  // chunks [0,9] [10,19] [20,29], head [30,34]
    EXPECT_EQ(*store->DropBefore(a, 15), 1u);  // [10,19] straddles the cutoff: kept
    EXPECT_EQ(All(*store, a).front().time, 10);
    EXPECT_EQ(*store->DropBefore(std::nullopt, 30), 5u);  // a: 2 chunks, b: 3
    EXPECT_EQ(store->DropBefore(99, 30).status().code(), StatusCode::kNotFound);
  }
  auto store = OpenStore(dir, SmallChunks());
  EXPECT_EQ(All(*store, a).front().time, 30);
  EXPECT_EQ(All(*store, b).size(), 5u);
}

// In the spirit of kill -9: a child process writes synced batches and reports each
// acknowledged batch over a pipe; it is killed mid-stream, and every acknowledged point must
// be there after reopening. Each batch has in-order and late points, and chunks are small so
// seals (chunk write + log rewrite) are in flight when the signal lands.
TEST(SeriesStore, AcknowledgedPointsSurviveSigkill) {
  TempDir dir;
  SeriesId id;
  {
    auto store = OpenStore(dir);
    id = Create(*store, "temperature");
  }
  constexpr int kPerBatch = 37;
  auto point = [](int batch, int j) {
    const TimeNs t = (j % 3 == 0) ? -(batch * kPerBatch + j) : batch * kPerBatch + j;  // a third are late
    return SeriesPoint{0, t * kSecond, batch * 1000.0 + j};
  };
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    SeriesStoreOptions options;
    options.max_head_points = 16;
    auto store = SeriesStore::Open(dir.path(), options);
    if (!store.ok()) _exit(2);
    for (int batch = 0;; ++batch) {
      std::vector<SeriesPoint> points;
      for (int j = 0; j < kPerBatch; ++j) points.push_back(point(batch, j)), points.back().series = id;
      if (!(*store)->Write(points).ok()) _exit(3);
      if (write(fds[1], &batch, sizeof batch) != sizeof batch) _exit(4);
    }
  }
  close(fds[1]);
  int acked = -1, n = 0;
  while (acked < 40 && read(fds[0], &n, sizeof n) == sizeof n) acked = n;
  kill(child, SIGKILL);
  while (read(fds[0], &n, sizeof n) == sizeof n) acked = n;  // acks sent before the kill
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_GE(acked, 40);

  auto store = OpenStore(dir);
  const std::vector<Point> points = All(*store, id);
  std::map<TimeNs, Value> have;
  for (const Point& p : points) have[p.time] = p.value;
  for (int batch = 0; batch <= acked; ++batch) {
    for (int j = 0; j < kPerBatch; ++j) {
      const SeriesPoint p = point(batch, j);
      auto it = have.find(p.time);
      ASSERT_NE(it, have.end()) << "batch " << batch << " point " << j << " lost";
      EXPECT_EQ(it->second, p.value);
    }
  }
}

}  // namespace
}  // namespace doppel::tsdb
