// TwinGraph::EraseTwin: a twin with its relationships in and out, in one journal commit, with
// the events of deleting them one by one, and the deleted records handed to Journal::Purge.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "twin/twin_graph.h"

namespace doppel::twin {
namespace {

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kRoom = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Room;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "name", "schema": "string"},
    {"@type": "Relationship", "name": "next"}
  ]})";

// A MemoryJournal that records commits and purges (and can refuse commits).
class RecordingJournal final : public Journal {
 public:
  Status Commit(std::span<const Mutation> mutations, uint64_t last_event_seq) override {
    if (fail) return Status::Unavailable("disk on fire");
    commits.emplace_back(mutations.begin(), mutations.end());
    return inner.Commit(mutations, last_event_seq);
  }
  Status Replay(const std::function<Status(Mutation::Kind, std::string_view, std::string_view)>& visit,
                uint64_t& last_event_seq) override {
    return inner.Replay(visit, last_event_seq);
  }
  Status Purge(std::span<const Mutation> deleted) override {
    for (const Mutation& m : deleted) purged.push_back(m.key);
    return Status::Ok();
  }
  MemoryJournal inner;
  std::vector<std::vector<Mutation>> commits;
  std::vector<std::string> purged;
  bool fail = false;
};

class TwinErasureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    events_.Subscribe([this](const GraphEvent& e) { seen_.push_back(e); });
    ASSERT_TRUE(graph_.AddModels({J(kRoom)}).ok());
    for (std::string id : {"desk-7", "hall", "lobby", "desk-70"}) {
      ASSERT_TRUE(graph_.PutTwin(id, J(R"({"$metadata": {"$model": "dtmi:test:Room;1"}, "name": "x"})"), {}).ok());
    }
    Relate("desk-7", "r1", "hall");     // outgoing
    Relate("desk-7", "self", "desk-7");  // outgoing and incoming
    Relate("hall", "r2", "desk-7");      // incoming
    Relate("lobby", "r3", "desk-7");     // incoming
    Relate("lobby", "r4", "hall");       // unrelated
    Relate("desk-70", "r5", "hall");     // a twin whose id starts with the erased one's
    journal_.commits.clear();
    seen_.clear();
  }

  void Relate(std::string_view source, std::string_view rel_id, std::string_view target) {
    json::object body{{"$relationshipName", "next"}, {"$targetId", target}};
    ASSERT_TRUE(graph_.PutRelationship(source, rel_id, body, {}).ok());
  }

  std::size_t Relationships() const {
    return graph_.Read([](const GraphState& s) { return s.relationship_count(); });
  }

  RecordingJournal journal_;
  ManualClock clock_;
  EventBus events_;
  TwinGraph graph_{journal_, clock_, events_};
  std::vector<GraphEvent> seen_;
};

TEST_F(TwinErasureTest, DeletesTheTwinAndEveryRelationshipInOneCommit) {
  const uint64_t seq = graph_.last_event_seq();
  std::size_t relationships = 0;
  ASSERT_TRUE(graph_.EraseTwin("desk-7", &relationships).ok());
  EXPECT_EQ(relationships, 4u);

  ASSERT_EQ(journal_.commits.size(), 1u);
  std::vector<std::string> keys;
  for (const Mutation& m : journal_.commits[0]) {
    EXPECT_TRUE(m.kind == Mutation::Kind::kDeleteRelationship || m.kind == Mutation::Kind::kDeleteTwin);
    keys.push_back(m.key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"desk-7\nr1", "desk-7\nself", "hall\nr2", "lobby\nr3", "desk-7"}));
  EXPECT_EQ(journal_.purged, keys);

  std::vector<std::string> events;
  for (const GraphEvent& e : seen_) events.push_back(std::string(EventTypeName(e.type)) + " " + e.subject);
  EXPECT_EQ(events, (std::vector<std::string>{
                        "Relationship.Delete desk-7/relationships/r1", "Relationship.Delete desk-7/relationships/self",
                        "Relationship.Delete hall/relationships/r2", "Relationship.Delete lobby/relationships/r3",
                        "Twin.Delete desk-7"}));
  EXPECT_EQ(seen_.back().seq, seq + 5);
  EXPECT_EQ(seen_.back().data.at("$dtId"), "desk-7");
  EXPECT_EQ(seen_.front().data.at("$targetId"), "hall");
  EXPECT_EQ(graph_.last_event_seq(), seq + 5);

  EXPECT_EQ(graph_.GetTwin("desk-7").status().error_code(), "DigitalTwinNotFound");
  EXPECT_EQ(Relationships(), 2u);
  EXPECT_TRUE(graph_.ListIncomingRelationships("hall")->size() == 2u);  // r4 and r5 stay
  EXPECT_EQ(graph_.ListRelationships("lobby", "")->size(), 1u);
  EXPECT_TRUE(graph_.GetTwin("desk-70").ok());
  EXPECT_EQ(graph_.EraseTwin("desk-7").error_code(), "DigitalTwinNotFound");

  // What the journal kept restores to the same graph, with the sequence of the last event.
  EventBus events2;
  TwinGraph restored(journal_, clock_, events2);
  ASSERT_TRUE(restored.Restore().ok());
  EXPECT_EQ(restored.twin_count(), 3u);
  EXPECT_EQ(restored.Read([](const GraphState& s) { return s.relationship_count(); }), 2u);
  EXPECT_EQ(restored.last_event_seq(), seq + 5);
  EXPECT_EQ(restored.GetTwin("desk-7").status().error_code(), "DigitalTwinNotFound");
}

TEST_F(TwinErasureTest, ATwinWithoutRelationshipsIsJustDeleted) {
  ASSERT_TRUE(graph_.EraseTwin("desk-70", nullptr).ok());  // r5 is its only one
  ASSERT_TRUE(graph_.PutTwin("alone", J(R"({"$metadata": {"$model": "dtmi:test:Room;1"}})"), {}).ok());
  seen_.clear();
  std::size_t relationships = 99;
  ASSERT_TRUE(graph_.EraseTwin("alone", &relationships).ok());
  EXPECT_EQ(relationships, 0u);
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].type, EventType::kTwinDeleted);
  // The id may be used again at once, for a new twin.
  EXPECT_TRUE(graph_.PutTwin("alone", J(R"({"$metadata": {"$model": "dtmi:test:Room;1"}})"), {}).ok());
}

TEST_F(TwinErasureTest, AFailedCommitChangesNothing) {
  journal_.fail = true;
  EXPECT_EQ(graph_.EraseTwin("desk-7").code(), StatusCode::kUnavailable);
  EXPECT_TRUE(graph_.GetTwin("desk-7").ok());
  EXPECT_EQ(Relationships(), 6u);
  EXPECT_TRUE(seen_.empty());
  EXPECT_TRUE(journal_.purged.empty());
}

}  // namespace
}  // namespace doppel::twin
