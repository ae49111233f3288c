// Fuzzes twin writes: each input line is one call, "<op><id><json body>", on a fresh small
// graph. op picks PutTwin / PatchTwin / PutRelationship / PatchRelationship / DeleteTwin /
// DeleteRelationship / PatchComponent; id picks from a pool of existing, new and odd ids. After
// every call the GraphState indexes must agree with each other, and a failed call must leave
// the twin count, the relationship count and the target twin's document as they were.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/json.h"
#include "fuzz_util.h"

namespace {

using doppel::json::value;
using doppel::twin::GraphState;

constexpr std::string_view kIds[] = {"room-a", "room-b", "room-c", "new-1",
                                     "odd id/%", "",       "r-room-b", "\xc3\xa9"};
constexpr std::size_t kIdCount = sizeof(kIds) / sizeof(kIds[0]);

void CheckIndexes(const GraphState& state) {
  std::size_t by_model = 0;
  for (const auto& [id, model_entry] : state.models().entries()) {
    const auto* ids = state.TwinsOfExactModel(id);
    if (ids == nullptr) continue;
    by_model += ids->size();
    for (const auto& twin_id : *ids) {
      const auto* twin = state.FindTwin(twin_id);
      FUZZ_CHECK(twin != nullptr && twin->model_id == id, twin_id);
    }
  }
  FUZZ_CHECK(by_model == state.twins().size(), "model index size");
  std::size_t outgoing = 0;
  for (const auto& [id, twin] : state.twins()) {
    FUZZ_CHECK(twin.id == id, id);
    const auto* dt_id = twin.doc.if_contains("$dtId");
    FUZZ_CHECK(dt_id && dt_id->is_string() && dt_id->get_string() == id, id);
    const auto* exact = state.TwinsOfExactModel(twin.model_id);
    FUZZ_CHECK(exact && exact->count(id) == 1, id + " not indexed under " + twin.model_id);
    if (const auto* rels = state.Outgoing(id)) {
      for (const auto& [rel_id, rel] : *rels) {
        ++outgoing;
        FUZZ_CHECK(rel.id == rel_id && rel.source_id == id, rel_id);
        FUZZ_CHECK(state.FindTwin(rel.target_id) != nullptr, "dangling target " + rel.target_id);
        const auto* in = state.Incoming(rel.target_id);
        FUZZ_CHECK(in && in->count({id, rel_id}) == 1, "incoming misses " + rel_id);
      }
    }
    if (const auto* in = state.Incoming(id)) {
      for (const auto& [source, rel_id] : *in) {
        const auto* rel = state.FindRelationship(source, rel_id);
        FUZZ_CHECK(rel && rel->target_id == id, "incoming without outgoing " + rel_id);
      }
    }
  }
  FUZZ_CHECK(outgoing == state.relationship_count(), "relationship_count");
}

struct Snapshot {
  std::size_t twins = 0;
  std::size_t relationships = 0;
  std::optional<value> target_doc;
};

Snapshot Take(const doppel::twin::TwinGraph& graph, std::string_view id) {
  return graph.Read([&](const GraphState& state) {
    Snapshot s{state.twins().size(), state.relationship_count(), std::nullopt};
    if (const auto* t = state.FindTwin(id)) s.target_doc = value(t->doc);
    return s;
  });
}

// Runs one call; returns its status.
doppel::Status Call(doppel::twin::TwinGraph& graph, int op, std::string_view id,
                    std::string_view rel_id, const value& body) {
  using doppel::twin::Preconditions;
  switch (op) {
    case 0: return graph.PutTwin(id, body, {}).status();
    case 1: return graph.PatchTwin(id, body, {}).status();
    case 2: return graph.PutRelationship(id, rel_id, body, {}).status();
    case 3: return graph.PatchRelationship(id, rel_id, body, {}).status();
    case 4: return graph.DeleteTwin(id, {});
    case 5: return graph.DeleteRelationship(id, rel_id, {});
    case 6: return graph.PatchComponent(id, "sensor", body, {}).status();
    default: {
      Preconditions pre;
      pre.if_match = body.is_string() ? std::string(body.get_string()) : "*";
      return graph.PutTwin(id, body, pre).status();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace doppel;
  if (size > 4096) return 0;
  fuzz::SmallGraph small;
  small.Build(/*with_twins=*/true);
  auto& graph = small.graph();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  JsonLimits limits;
  limits.max_bytes = 2048;
  limits.max_depth = 16;
  int calls = 0;
  while (!input.empty() && calls++ < 16) {
    auto end = input.find('\n');
    std::string_view line = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    if (line.size() < 2) continue;
    int op = static_cast<uint8_t>(line[0]) % 8;
    std::string_view id = kIds[static_cast<uint8_t>(line[1]) % kIdCount];
    std::string_view rel_id = kIds[(static_cast<uint8_t>(line[1]) / kIdCount) % kIdCount];
    auto body = ParseJson(line.substr(2), limits);
    if (!body.ok()) continue;
    Snapshot before = Take(graph, id);
    Status status = Call(graph, op, id, rel_id, *body);
    Snapshot after = Take(graph, id);
    graph.Read([](const GraphState& state) {
      CheckIndexes(state);
      return 0;
    });
    if (!status.ok()) {
      FUZZ_CHECK(status.code() != StatusCode::kInternal, status.ToString());
      FUZZ_CHECK(!status.message().empty(), "empty message");
      FUZZ_CHECK(before.twins == after.twins, "failed call changed twin count: " +
                                                  status.ToString());
      FUZZ_CHECK(before.relationships == after.relationships,
                 "failed call changed relationship count: " + status.ToString());
      FUZZ_CHECK(before.target_doc == after.target_doc,
                 "failed call changed the twin: " + status.ToString());
    }
  }
  return 0;
}
