#include "ingest/live_state.h"

#include <gtest/gtest.h>

#include "tsdb/temp_dir.h"

namespace doppel::ingest {
namespace {

TEST(LiveStateTest, KeepsTheNewestValuePerTwinAndPath) {
  LiveState live;
  live.Apply(std::vector<Reading>{{"a", "x", 10, 1.0}, {"a", "y", 10, true}, {"b", "x", 5, int64_t{3}}});
  live.Apply(std::vector<Reading>{{"a", "x", 20, 2.0}});
  EXPECT_EQ(live.Get("a", "x"), (Latest{20, 2.0}));
  EXPECT_EQ(live.Get("a", "y"), (Latest{10, true}));
  EXPECT_EQ(live.Get("b", "x"), (Latest{5, int64_t{3}}));
  EXPECT_EQ(live.Get("b", "y"), std::nullopt);
  EXPECT_EQ(live.Get("c", "x"), std::nullopt);
}

TEST(LiveStateTest, LateReadingsDoNotRollTheLiveValueBackButEqualTimesReplace) {
  LiveState live;
  live.Apply(std::vector<Reading>{{"a", "x", 20, 2.0}});
  live.Apply(std::vector<Reading>{{"a", "x", 10, 1.0}});
  EXPECT_EQ(live.Get("a", "x"), (Latest{20, 2.0}));
  live.Apply(std::vector<Reading>{{"a", "x", 20, 3.0}});
  EXPECT_EQ(live.Get("a", "x"), (Latest{20, 3.0}));
}

TEST(LiveStateTest, OfTwinListsPathsInOrderAndEraseForgets) {
  LiveState live;
  live.Apply(std::vector<Reading>{{"a", "z", 1, 1.0}, {"a", "b/c", 1, 2.0}, {"other", "q", 1, 0.0}});
  auto all = live.OfTwin("a");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.begin()->first, "b/c");
  EXPECT_EQ(all.rbegin()->first, "z");
  live.EraseTwin("a");
  EXPECT_TRUE(live.OfTwin("a").empty());
  EXPECT_EQ(live.OfTwin("other").size(), 1u);
}

TEST(LiveStateTest, WarmsFromTheNewestPointOfEachSeries) {
  tsdb::testing::TempDir dir;
  auto store = tsdb::SeriesStore::Open(dir.path(), {.sync = false}).value();
  auto spec = [](std::string twin, std::string path, tsdb::ValueType type) {
    tsdb::SeriesSpec s;
    s.twin_id = std::move(twin);
    s.path = std::move(path);
    s.type = type;
    return s;
  };
  auto x = store->CreateSeries(spec("a", "x", tsdb::ValueType::kDouble)).value();
  auto s = store->CreateSeries(spec("b", "s", tsdb::ValueType::kString)).value();
  store->CreateSeries(spec("c", "empty", tsdb::ValueType::kDouble)).value();
  ASSERT_TRUE(store->Write(std::vector<tsdb::SeriesPoint>{{x, 30, 3.0}, {x, 10, 1.0}, {s, 7, std::string("on")}}).ok());
  LiveState live;
  ASSERT_TRUE(live.Warm(*store).ok());
  EXPECT_EQ(live.Get("a", "x"), (Latest{30, 3.0}));
  EXPECT_EQ(live.Get("b", "s"), (Latest{7, std::string("on")}));
  EXPECT_EQ(live.Get("c", "empty"), std::nullopt);
}

}  // namespace
}  // namespace doppel::ingest
