// RocksJournal::Purge under TwinGraph::EraseTwin: an erased twin's bytes leave the graph
// store's files (docs/security.md, "Erasing a twin").
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "store/rocks_journal.h"
#include "twin/twin_graph.h"

namespace doppel::store {
namespace {

class ScratchDir {
 public:
  ScratchDir() : path_(std::filesystem::temp_directory_path() / ("doppel-purge-test-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Every file under `dir` holding `needle` anywhere in its bytes (what `grep -rla` finds).
std::vector<std::string> FilesContaining(const std::string& dir, std::string_view needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) found.push_back(entry.path().filename().string());
  }
  return found;
}

constexpr const char* kErased = "erasure-subject-graph-1d2c";
constexpr std::string_view kRoom = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Room;1", "@type": "Interface",
  "contents": [{"@type": "Property", "name": "name", "schema": "string"},
               {"@type": "Relationship", "name": "next"}]})";

json::value RoomBody(std::string_view name) {
  return json::object{{"$metadata", json::object{{"$model", "dtmi:test:Room;1"}}}, {"name", name}};
}

// Runs `f(graph)` over the store in `dir` (opened, restored, closed again).
template <typename F>
void WithGraph(const std::string& dir, F f) {
  auto journal = RocksJournal::Open(dir, {.sync = false});
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  ManualClock clock;
  twin::EventBus events;
  twin::TwinGraph graph(**journal, clock, events);
  ASSERT_TRUE(graph.Restore().ok());
  f(graph);
}

TEST(JournalPurgeTest, AnErasedTwinLeavesNoBytesInTheStoreFiles) {
  ScratchDir dir;
  WithGraph(dir.path(), [](twin::TwinGraph& graph) {
    ASSERT_TRUE(graph.AddModels({*ParseJson(kRoom)}).ok());
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(graph.PutTwin("room-" + std::to_string(i), RoomBody("plain"), {}).ok());
    }
    // The erased twin's id in its key, in its document, in the keys of its outgoing
    // relationships and in the documents of its incoming ones.
    ASSERT_TRUE(graph.PutTwin(kErased, RoomBody(kErased), {}).ok());
    for (int i = 0; i < 12; ++i) {
      json::object out{{"$relationshipName", "next"}, {"$targetId", "room-" + std::to_string(i)}};
      ASSERT_TRUE(graph.PutRelationship(kErased, "out-" + std::to_string(i), out, {}).ok());
      json::object in{{"$relationshipName", "next"}, {"$targetId", kErased}};
      ASSERT_TRUE(graph.PutRelationship("room-" + std::to_string(i * 20), "in", in, {}).ok());
    }
  });
  // Reopened: RocksDB moved its log into a table file, where the twin now is for good.
  WithGraph(dir.path(), [](twin::TwinGraph& graph) {
    ASSERT_TRUE(graph.PutTwin("room-late", RoomBody("written after the reopen"), {}).ok());
  });
  ASSERT_FALSE(FilesContaining(dir.path(), kErased).empty());

  WithGraph(dir.path(), [](twin::TwinGraph& graph) {
    std::size_t relationships = 0;
    ASSERT_TRUE(graph.EraseTwin(kErased, &relationships).ok());
    EXPECT_EQ(relationships, 24u);
  });
  // One more open rewrites RocksDB's MANIFEST, which may name a deleted key as a file bound.
  WithGraph(dir.path(), [](twin::TwinGraph& graph) {
    EXPECT_EQ(graph.twin_count(), 301u);
    EXPECT_EQ(graph.GetTwin(kErased).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(graph.Read([](const twin::GraphState& s) { return s.relationship_count(); }), 0u);
    EXPECT_EQ(graph.GetTwin("room-late")->at("name"), "written after the reopen");
  });
  EXPECT_EQ(FilesContaining(dir.path(), kErased), std::vector<std::string>{});
}

}  // namespace
}  // namespace doppel::store
