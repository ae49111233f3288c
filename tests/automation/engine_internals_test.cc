// The rule engine's parts on their own: the routing index (against a std::map oracle, through
// growth, erasure and slot retirement), the queue (order, dropping the oldest update but never
// a graph change) and the property values read from twin documents and patches.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "automation/internal/engine_queue.h"
#include "automation/internal/engine_routes.h"
#include "automation/internal/engine_values.h"

namespace doppel::automation::engine {
namespace {

using ::testing::ElementsAre;

json::value J(std::string_view text) { return ParseJson(text).value(); }

Instance* Fake(uintptr_t n) { return reinterpret_cast<Instance*>(n * 16); }

TEST(RouteIndexTest, FindsWhatWasAddedAndNothingElse) {
  RouteIndex index;
  EXPECT_EQ(index.Find("wtg-1", "x"), kNoSlot);
  const uint32_t a = index.Add("wtg-1", "x", {Fake(1), 0});
  EXPECT_EQ(index.Add("wtg-1", "x", {Fake(2), 3}), a);  // one slot per (twin, path)
  const uint32_t b = index.Add("wtg-1", "y", {Fake(1), 1});
  EXPECT_NE(a, b);
  EXPECT_EQ(index.Find("wtg-1", "x"), a);
  EXPECT_EQ(index.Find("wtg-2", "x"), kNoSlot);  // a watched path of another twin
  EXPECT_EQ(index.Find("wtg-1", "z"), kNoSlot);  // an unwatched path
  EXPECT_THAT(index.Targets(a), ElementsAre(Target{Fake(1), 0}, Target{Fake(2), 3}));
  EXPECT_EQ(index.TwinOf(b), "wtg-1");
  EXPECT_EQ(index.keys(), 2u);
}

TEST(RouteIndexTest, AnEmptiedSlotIsRetiredUntilTheQueueIsPastIt) {
  RouteIndex index;
  const uint32_t a = index.Add("wtg-1", "x", {Fake(1), 0});
  index.Remove(a, {Fake(1), 0}, /*retired_at=*/10);
  EXPECT_EQ(index.Find("wtg-1", "x"), kNoSlot);
  EXPECT_TRUE(index.Targets(a).empty());  // an update queued earlier finds nothing to reach
  // Not reused while updates up to 10 may still name it.
  const uint32_t b = index.Add("wtg-2", "x", {Fake(2), 0});
  EXPECT_NE(b, a);
  index.Recycle(9);
  EXPECT_NE(index.Add("wtg-3", "x", {Fake(3), 0}), a);
  index.Recycle(10);
  EXPECT_FALSE(index.has_retired());
  EXPECT_EQ(index.Add("wtg-4", "x", {Fake(4), 0}), a);
  EXPECT_EQ(index.Find("wtg-4", "x"), a);
}

TEST(RouteIndexTest, MatchesAMapThroughGrowthAndErasure) {
  RouteIndex index;
  std::map<std::pair<std::string, std::string>, uint32_t> oracle;
  std::mt19937 rng(7);
  uint64_t seq = 0;
  for (int step = 0; step < 20000; ++step) {
    const std::string twin = fmt::format("t{}", rng() % 500);
    const std::string path = fmt::format("p{}", rng() % 8);
    auto it = oracle.find({twin, path});
    if (it == oracle.end()) {
      oracle[{twin, path}] = index.Add(twin, path, {Fake(1), 0});
    } else if (rng() % 2 == 0) {
      index.Remove(it->second, {Fake(1), 0}, ++seq);
      oracle.erase(it);
      index.Recycle(seq);
    }
  }
  EXPECT_EQ(index.keys(), oracle.size());
  for (int t = 0; t < 500; ++t) {
    for (int p = 0; p < 9; ++p) {
      const std::string twin = fmt::format("t{}", t), path = fmt::format("p{}", p);
      auto it = oracle.find({twin, path});
      ASSERT_EQ(index.Find(twin, path), it == oracle.end() ? kNoSlot : it->second) << twin << " " << path;
    }
  }
}

TEST(UpdateQueueTest, DropsTheOldestUpdatesButNoChange) {
  UpdateQueue queue(2);
  {
    UpdateQueue::Writer w(queue);
    w.Push(1, 100, 1.0);
  }
  queue.PushChange({.kind = GraphChange::Kind::kTwinCreated, .twin_id = "wtg-9"});
  {
    UpdateQueue::Writer w(queue);
    w.Push(2, 200, 2.0);
    w.Push(3, 300, std::string("three"));
  }
  EXPECT_EQ(queue.queued(), 3u);
  EXPECT_EQ(queue.dropped(), 1u);
  UpdateRing updates;
  std::deque<GraphChange> changes;
  EXPECT_EQ(queue.Take(updates, changes), 4u);
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0].seq, 3u);
  EXPECT_EQ(updates[0].slot, 2u);
  EXPECT_EQ(updates[1].value, rules::Value(std::string("three")));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].seq, 2u);
  EXPECT_EQ(changes[0].twin_id, "wtg-9");
  queue.Done(4);
  queue.WaitDone(4);  // returns at once
  queue.Stop();
  EXPECT_FALSE(queue.WaitForWork());
}

TEST(UpdateRingTest, KeepsOrderAcrossWrapAndGrowth) {
  UpdateRing ring;
  uint64_t next_in = 0, next_out = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7 * round % 97 + 1; ++i) ring.PushBack({.seq = next_in++});
    for (int i = 0; i < 5 * round % 89 && !ring.empty(); ++i) {
      ASSERT_EQ(ring[0].seq, next_out++);
      ring.PopFront();
    }
  }
  for (std::size_t i = 0; i < ring.size(); ++i) ASSERT_EQ(ring[i].seq, next_out + i);
}

TEST(EngineValuesTest, PropertiesFromDocumentsAndPatches) {
  const json::object doc = J(R"({"$dtId": "wtg-1", "state": "ok", "count": 3, "flag": true, "obj": {"a": 1},
      "$metadata": {"$model": "m", "$lastUpdateTime": "2024-01-01T00:00:00Z",
                    "state": {"lastUpdateTime": "2024-01-01T00:01:00Z"}},
      "nacelle": {"$metadata": {"temp": {"lastUpdateTime": "2024-01-01T00:02:00Z"}}, "temp": 21.5}})")
                                 .as_object();
  const int64_t minute = 60'000'000'000;
  const int64_t t0 = EventTimeNs("2024-01-01T00:00:00Z");
  auto state = FindProperty(doc, "state", 0);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->time_ns, t0 + minute);
  EXPECT_EQ(state->value, rules::Value(std::string("ok")));
  EXPECT_EQ(FindProperty(doc, "count", 5)->value, rules::Value(3.0));
  EXPECT_EQ(FindProperty(doc, "count", 5)->time_ns, 5);  // no lastUpdateTime: the fallback
  EXPECT_EQ(FindProperty(doc, "obj", 0)->value, rules::Value());  // not a scalar: no value
  EXPECT_EQ(FindProperty(doc, "nacelle/temp", 0)->time_ns, t0 + 2 * minute);
  EXPECT_FALSE(FindProperty(doc, "nacelle", 0).has_value());  // a component, not a property
  EXPECT_FALSE(FindProperty(doc, "$dtId", 0).has_value());
  EXPECT_FALSE(FindProperty(doc, "missing", 0).has_value());

  auto changed = ChangedProperties(doc, J(R"([{"op": "replace", "path": "/state", "value": "ok"},
      {"op": "remove", "path": "/gone"}, {"op": "replace", "path": "/nacelle", "value": {}},
      {"op": "add", "path": "/nacelle/temp", "value": 21.5}, {"op": "replace", "path": "/$metadata/$model"}])"),
                                   7);
  std::vector<std::pair<std::string, rules::Value>> seen;
  for (const PropertyValue& p : changed) {
    EXPECT_EQ(p.time_ns, 7);
    seen.emplace_back(p.path, p.value);
  }
  EXPECT_THAT(seen, ElementsAre(std::pair<std::string, rules::Value>("state", std::string("ok")),
                                std::pair<std::string, rules::Value>("gone", rules::Value()),
                                std::pair<std::string, rules::Value>("nacelle/temp", 21.5),
                                std::pair<std::string, rules::Value>("nacelle/temp", 21.5)));
}

TEST(EngineValuesTest, ReadingsConvertToRuleValues) {
  EXPECT_EQ(FromReading(tsdb::Value(int64_t{4})), rules::Value(4.0));
  EXPECT_EQ(FromReading(tsdb::Value(true)), rules::Value(true));
  EXPECT_EQ(FromReading(tsdb::Value(std::string("a"))), rules::Value(std::string("a")));
  EXPECT_EQ(FromJson(J("null")), rules::Value());
}

}  // namespace
}  // namespace doppel::automation::engine
