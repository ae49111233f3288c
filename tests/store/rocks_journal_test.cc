#include "store/rocks_journal.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "twin/twin_graph.h"

namespace doppel::store {
namespace {

using twin::Mutation;

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    auto base =
        std::filesystem::temp_directory_path() /
        ("doppel-rocks-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(base);
    std::filesystem::create_directories(base);
    path_ = base.string();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

struct Replayed {
  std::vector<std::tuple<Mutation::Kind, std::string, std::string>> records;
  uint64_t seq = 0;
};

Replayed ReplayAll(twin::Journal& journal) {
  Replayed out;
  Status st = journal.Replay(
      [&](Mutation::Kind kind, std::string_view key, std::string_view value) {
        out.records.emplace_back(kind, std::string(key), std::string(value));
        return Status::Ok();
      },
      out.seq);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

std::unique_ptr<RocksJournal> MustOpen(const std::string& dir, StoreOptions options = {}) {
  auto opened = RocksJournal::Open(dir, options);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

TEST(RocksJournal, EmptyStoreReplaysNothing) {
  TempDir dir;
  auto journal = MustOpen(dir.path());
  ASSERT_NE(journal, nullptr);
  Replayed r = ReplayAll(*journal);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.seq, 0u);
}

TEST(RocksJournal, CommitReplayRoundTripInKindOrder) {
  TempDir dir;
  auto journal = MustOpen(dir.path());
  ASSERT_NE(journal, nullptr);
  std::vector<Mutation> batch = {
      {Mutation::Kind::kPutRelationship, "b\nr1", R"({"rel":1})"},
      {Mutation::Kind::kPutTwin, "b", R"({"twin":"b"})"},
      {Mutation::Kind::kPutTwin, "a", R"({"twin":"a"})"},
      {Mutation::Kind::kPutModel, "dtmi:x;1", R"({"model":{}})"},
      {Mutation::Kind::kPutTwin, "gone", "x"},
  };
  ASSERT_TRUE(journal->Commit(batch, 7).ok());
  std::vector<Mutation> second = {
      {Mutation::Kind::kDeleteTwin, "gone", ""},
      {Mutation::Kind::kPutTwin, "a", R"({"twin":"a2"})"},
  };
  ASSERT_TRUE(journal->Commit(second, 8).ok());

  Replayed r = ReplayAll(*journal);
  using T = std::tuple<Mutation::Kind, std::string, std::string>;
  std::vector<T> expected = {
      T{Mutation::Kind::kPutModel, "dtmi:x;1", R"({"model":{}})"},
      T{Mutation::Kind::kPutTwin, "a", R"({"twin":"a2"})"},
      T{Mutation::Kind::kPutTwin, "b", R"({"twin":"b"})"},
      T{Mutation::Kind::kPutRelationship, "b\nr1", R"({"rel":1})"},
  };
  EXPECT_EQ(r.records, expected);
  EXPECT_EQ(r.seq, 8u);
}

TEST(RocksJournal, ReplayStopsAtTheVisitorsError) {
  TempDir dir;
  auto journal = MustOpen(dir.path());
  ASSERT_NE(journal, nullptr);
  std::vector<Mutation> batch = {{Mutation::Kind::kPutTwin, "a", "1"},
                                 {Mutation::Kind::kPutTwin, "b", "2"}};
  ASSERT_TRUE(journal->Commit(batch, 2).ok());
  int visits = 0;
  uint64_t seq = 0;
  Status st = journal->Replay(
      [&](Mutation::Kind, std::string_view, std::string_view) {
        ++visits;
        return Status::Internal("stop");
      },
      seq);
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_EQ(st.message(), "stop");
  EXPECT_EQ(visits, 1);
}

TEST(RocksJournal, SurvivesCloseAndReopen) {
  TempDir dir;
  {
    auto journal = MustOpen(dir.path(), StoreOptions{.sync = false});
    ASSERT_NE(journal, nullptr);
    std::vector<Mutation> batch = {{Mutation::Kind::kPutModel, "m", "{}"},
                                   {Mutation::Kind::kPutTwin, "t", "{}"}};
    ASSERT_TRUE(journal->Commit(batch, 42).ok());
  }
  auto journal = MustOpen(dir.path());
  ASSERT_NE(journal, nullptr);
  Replayed r = ReplayAll(*journal);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(std::get<1>(r.records[0]), "m");
  EXPECT_EQ(std::get<1>(r.records[1]), "t");
  EXPECT_EQ(r.seq, 42u);
}

TEST(RocksJournal, CheckpointIsAConsistentCopyAtThatMoment) {
  TempDir dir;
  TempDir backups;
  const std::string copy = backups.path() + "/graph";
  auto journal = MustOpen(dir.path(), StoreOptions{.sync = false});
  ASSERT_NE(journal, nullptr);
  std::vector<Mutation> before = {{Mutation::Kind::kPutTwin, "a", "{\"v\":1}"}};
  ASSERT_TRUE(journal->Commit(before, 7).ok());
  ASSERT_TRUE(journal->Checkpoint(copy).ok());
  std::vector<Mutation> after = {{Mutation::Kind::kPutTwin, "b", "{}"}};
  ASSERT_TRUE(journal->Commit(after, 8).ok());

  EXPECT_EQ(journal->Checkpoint(copy).code(), StatusCode::kAlreadyExists);
  auto restored = MustOpen(copy);
  ASSERT_NE(restored, nullptr);
  Replayed r = ReplayAll(*restored);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(std::get<1>(r.records[0]), "a");
  EXPECT_EQ(std::get<2>(r.records[0]), "{\"v\":1}");
  EXPECT_EQ(r.seq, 7u);
  EXPECT_EQ(ReplayAll(*journal).records.size(), 2u);
}

TEST(RocksJournal, SecondOpenOfTheSameDirectoryIsUnavailable) {
  TempDir dir;
  auto first = MustOpen(dir.path());
  ASSERT_NE(first, nullptr);
  auto second = RocksJournal::Open(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("data directory " + dir.path() +
                                           " is in use by another doppel process"),
            std::string::npos)
      << second.status().message();
  first.reset();
  EXPECT_TRUE(RocksJournal::Open(dir.path()).ok());  // released on close
}

// Run by AnotherProcessIsRefused in a child process (skipped when run on its own).
TEST(RocksJournal, LockProbeChild) {
  const char* dir = std::getenv("DOPPEL_LOCK_PROBE_DIR");
  if (!dir) GTEST_SKIP() << "only run as a child of AnotherProcessIsRefused";
  auto opened = RocksJournal::Open(dir);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(opened.status().message().find("is in use by another doppel process"),
            std::string::npos)
      << opened.status().message();
}

TEST(RocksJournal, AnotherProcessIsRefused) {
  TempDir dir;
  auto holder = MustOpen(dir.path());
  ASSERT_NE(holder, nullptr);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string command = "DOPPEL_LOCK_PROBE_DIR='" + dir.path() + "' '" + self +
                        "' --gtest_filter=RocksJournal.LockProbeChild > /dev/null 2>&1";
  int rc = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << "child probe failed: " << command;
}

TEST(RocksJournal, UnopenablePathIsInternal) {
  TempDir dir;
  std::string file = dir.path() + "/plain-file";
  { std::ofstream(file) << "x"; }
  auto opened = RocksJournal::Open(file + "/db");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kInternal);
  EXPECT_NE(opened.status().message().find("RocksDB"), std::string::npos);
}

// ---- the twin graph on RocksDB ----

constexpr std::string_view kRoom = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Room;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "temperature", "schema": "double"},
    {"@type": "Relationship", "name": "adjacentTo", "target": "dtmi:test:Room;1"}
  ]})";
constexpr std::string_view kOffice = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Office;1", "@type": "Interface",
  "extends": "dtmi:test:Room;1",
  "contents": [{"@type": "Property", "name": "desks", "schema": "integer"}]})";

json::value J(std::string_view text) { return ParseJson(text).value(); }

TEST(RocksJournal, TwinGraphRestoresAfterReopen) {
  TempDir dir;
  ManualClock clock;
  std::map<std::string, std::string> twins_before;
  std::string models_before, rels_before, incoming_before;
  uint64_t seq_before = 0;
  {
    auto journal = MustOpen(dir.path());
    ASSERT_NE(journal, nullptr);
    twin::EventBus events;
    twin::TwinGraph graph(*journal, clock, events);
    ASSERT_TRUE(graph.Restore().ok());
    // Office (derived) first in the batch: references resolve within the batch.
    ASSERT_TRUE(graph.AddModels({J(kOffice), J(kRoom)}).ok());
    for (int i = 0; i < 20; ++i) {
      std::string body = R"({"$metadata":{"$model":"dtmi:test:Office;1"},"temperature":)" +
                         std::to_string(20 + i) + R"(,"desks":)" + std::to_string(i) + "}";
      ASSERT_TRUE(graph.PutTwin("office-" + std::to_string(i), J(body), {}).ok());
    }
    for (int i = 0; i + 1 < 20; ++i) {
      json::object rel{{"$relationshipName", "adjacentTo"},
                       {"$targetId", "office-" + std::to_string(i + 1)}};
      ASSERT_TRUE(graph.PutRelationship("office-" + std::to_string(i), "adj", rel, {}).ok());
    }
    ASSERT_TRUE(graph
                    .PatchTwin("office-3",
                               J(R"([{"op":"replace","path":"/temperature","value":30.5}])"), {})
                    .ok());
    ASSERT_TRUE(graph.DeleteRelationship("office-18", "adj", {}).ok());
    ASSERT_TRUE(graph.DeleteTwin("office-19", {}).ok());
    ASSERT_TRUE(graph
                    .PatchModel("dtmi:test:Office;1",
                                J(R"([{"op":"replace","path":"/decommissioned","value":true}])"))
                    .ok());
    for (const auto& [id, t] : graph.Read([](const twin::GraphState& s) { return s.twins(); })) {
      twins_before[id] = ToJson(t.doc);
    }
    models_before = ToJson(graph.ListModels({{}, true}).value());
    rels_before = ToJson(graph.ListRelationships("office-4", "").value());
    incoming_before = ToJson(graph.ListIncomingRelationships("office-5").value());
    seq_before = graph.last_event_seq();
  }
  auto journal = MustOpen(dir.path());
  ASSERT_NE(journal, nullptr);
  twin::EventBus events;
  twin::TwinGraph graph(*journal, clock, events);
  ASSERT_TRUE(graph.Restore().ok());
  std::map<std::string, std::string> twins_after;
  for (const auto& [id, t] : graph.Read([](const twin::GraphState& s) { return s.twins(); })) {
    twins_after[id] = ToJson(t.doc);
  }
  EXPECT_EQ(twins_after, twins_before);
  EXPECT_EQ(twins_after.size(), 19u);
  EXPECT_EQ(ToJson(graph.ListModels({{}, true}).value()), models_before);
  EXPECT_EQ(ToJson(graph.ListRelationships("office-4", "").value()), rels_before);
  EXPECT_EQ(ToJson(graph.ListIncomingRelationships("office-5").value()), incoming_before);
  EXPECT_EQ(graph.Read([](const twin::GraphState& s) { return s.relationship_count(); }), 18u);
  EXPECT_EQ(graph.last_event_seq(), seq_before);
  EXPECT_EQ(graph.PutTwin("office-99", J(R"({"$metadata":{"$model":"dtmi:test:Office;1"}})"), {})
                .status()
                .error_code(),
            "ModelDecommissioned");
  EXPECT_EQ(graph.Read([](const twin::GraphState& s) {
    return s.TwinsWithProperty("temperature", json::value(30.5))->size();
  }),
            1u);
}

}  // namespace
}  // namespace doppel::store
