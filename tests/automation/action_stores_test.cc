// The automation service's two record stores on their own: the action log (bounded, newest
// first, across a reopen) and recommendations (decided once, expired on time, across a reopen).
#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "automation/internal/action_log.h"
#include "automation/internal/recommendation_store.h"
#include "tsdb/temp_dir.h"

namespace doppel::automation::internal {
namespace {

using namespace std::chrono_literals;

json::object Record(const std::string& rule, const std::string& twin, const std::string& outcome) {
  return json::object{{"time", "2026-11-26T08:00:00Z"}, {"rule", rule}, {"twinId", twin}, {"outcome", outcome}};
}

TEST(ActionLogTest, KeepsTheNewestAcrossAReopenAndFiltersNewestFirst) {
  tsdb::testing::TempDir dir;
  {
    auto log = ActionLog::Open(dir.path(), 3, false).value();
    for (int i = 0; i < 5; ++i) {
      json::object r = log->Append(Record(i % 2 == 0 ? "even" : "odd", fmt::format("t{}", i), "executed"));
      EXPECT_EQ(r.at("actionId").as_string().size(), 32u);
    }
    EXPECT_EQ(log->size(), 3u);
    EXPECT_EQ(log->outcome_counts().at("executed"), 5u);
  }
  auto log = ActionLog::Open(dir.path(), 3, false).value();
  json::array all = log->List({.limit = 10});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].at("twinId"), "t4");
  EXPECT_EQ(all[2].at("twinId"), "t2");
  EXPECT_FALSE(all[0].as_object().contains("key"));
  json::array even = log->List({.rule = "even", .limit = 10});
  ASSERT_EQ(even.size(), 2u);
  EXPECT_EQ(even[1].at("twinId"), "t2");
  EXPECT_EQ(log->List({.twin_id = "t3", .limit = 10}).size(), 1u);
  EXPECT_EQ(log->List({.limit = 1}).size(), 1u);
  EXPECT_EQ(log->LastTimes().at("odd"), "2026-11-26T08:00:00Z");
}

TEST(ActionLogTest, ATornLastLineLosesOnlyThatRecord) {
  tsdb::testing::TempDir dir;
  {
    auto log = ActionLog::Open(dir.path(), 10, false).value();
    log->Append(Record("r", "a", "executed"));
    log->Append(Record("r", "b", "blocked"));
  }
  std::ofstream(dir.path() + "/actions.jsonl", std::ios::app) << R"({"key": "x", "rule": "r", "twi)";
  {
    auto log = ActionLog::Open(dir.path(), 10, false).value();
    EXPECT_EQ(log->size(), 2u);
    log->Append(Record("r", "c", "executed"));  // not glued to the torn line
  }
  EXPECT_EQ(ActionLog::Open(dir.path(), 10, false).value()->size(), 3u);
}

Recommendation Pending(const std::string& id, TimePoint created) {
  return {.id = id, .rule = "r", .twin_id = "t", .actions = json::array{json::object{{"type", "command"}}},
          .created = created, .expires = created + 1h};
}

TEST(RecommendationStoreTest, DecidesOnceExpiresOnTimeAndSurvivesAReopen) {
  tsdb::testing::TempDir dir;
  const TimePoint t0(1'700'000'000s);
  {
    auto store = RecommendationStore::Open(dir.path(), 100, false).value();
    ASSERT_TRUE(store->Add(Pending("a", t0)).ok());
    ASSERT_TRUE(store->Add(Pending("b", t0 + 1s)).ok());
    ASSERT_TRUE(store->Add(Pending("c", t0 + 2s)).ok());
    auto approved = store->Decide("a", "approved", "op", "go", t0 + 5min);
    ASSERT_TRUE(approved.ok());
    EXPECT_EQ(approved->decided_by, "op");
    auto twice = store->Decide("a", "rejected", "op2", "", t0 + 6min);
    EXPECT_EQ(twice.status().error_code(), "NotPending");
    EXPECT_EQ(store->Finish("a", true, json::array{json::object{{"outcome", "executed"}}})->status, "executed");
    EXPECT_EQ(store->Decide("b", "rejected", "op", "no", t0 + 7min)->status, "rejected");
    EXPECT_TRUE(store->ExpireDue(t0 + 1h).empty());  // c expires at t0 + 1h 2s
    auto expired = store->ExpireDue(t0 + 2h);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].id, "c");
    EXPECT_EQ(store->Get("zzz").status().error_code(), "RecommendationNotFound");
  }
  auto store = RecommendationStore::Open(dir.path(), 100, false).value();
  EXPECT_EQ(store->Get("a")->status, "executed");
  EXPECT_EQ(store->Get("a")->results.size(), 1u);
  EXPECT_EQ(store->Get("b")->comment, "no");
  EXPECT_EQ(store->Get("c")->status, "expired");
  auto listed = store->List({.limit = 10});
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].id, "c");  // newest first
  EXPECT_EQ(store->List({.status = "rejected", .limit = 10}).size(), 1u);
  EXPECT_EQ(store->CountWithStatus("pending"), 0u);
}

TEST(RecommendationStoreTest, ForgetsTheOldestDecidedPastTheLimitButNeverAPendingOne) {
  tsdb::testing::TempDir dir;
  const TimePoint t0(1'700'000'000s);
  auto store = RecommendationStore::Open(dir.path(), 2, false).value();
  ASSERT_TRUE(store->Add(Pending("keep", t0)).ok());
  for (int i = 0; i < 4; ++i) {
    const std::string id = fmt::format("d{}", i);
    ASSERT_TRUE(store->Add(Pending(id, t0 + std::chrono::seconds(i))).ok());
    ASSERT_TRUE(store->Decide(id, "rejected", "op", "", t0 + std::chrono::minutes(i)).ok());
  }
  EXPECT_TRUE(store->Get("keep").ok());
  EXPECT_FALSE(store->Get("d0").ok());
  EXPECT_FALSE(store->Get("d1").ok());
  EXPECT_TRUE(store->Get("d3").ok());
  auto reopened = RecommendationStore::Open(dir.path(), 2, false).value();
  EXPECT_EQ(reopened->List({.limit = 10}).size(), 3u);
}

}  // namespace
}  // namespace doppel::automation::internal
