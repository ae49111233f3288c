// Shared pieces of the fuzz targets: an invariant check that aborts (so libFuzzer records a
// crash and fuzz_replay fails), and a small fixed twin graph built through the real TwinGraph.
//
// Every target file defines LLVMFuzzerTestOneInput; CMake compiles each file once per use with
// -DLLVMFuzzerTestOneInput=<name>FuzzOne for fuzz_replay, so several targets link together.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

// An invariant of the code under test failed: print what and where, then abort.
#define FUZZ_CHECK(cond, detail)                                                      \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s (%s)\n", __FILE__,       \
                   __LINE__, #cond, std::string(detail).c_str());                     \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace doppel::fuzz {

inline json::value MustParse(std::string_view text) {
  auto v = ParseJson(text);
  FUZZ_CHECK(v.ok(), std::string(text));
  return *v;
}

// A graph with two models and a few twins/relationships:
//   dtmi:fuzz:Room;1  {name, temp: double, sensor: Sensor component; contains → Room}
//   dtmi:fuzz:Sensor;1 {reading: double, tags: map<string,string>}
//   room-a ─contains→ room-b, room-a ─contains→ room-c (property since: integer)
class SmallGraph {
 public:
  SmallGraph() : graph_(journal_, clock_, events_) {}

  twin::TwinGraph& graph() { return graph_; }

  // Adds the models; with `with_twins`, the twins and relationships too.
  void Build(bool with_twins) {
    std::vector<json::value> models = {
        MustParse(R"({"@id":"dtmi:fuzz:Sensor;1","@type":"Interface",
          "@context":"dtmi:dtdl:context;3",
          "contents":[{"@type":"Property","name":"reading","schema":"double"},
                      {"@type":"Property","name":"tags","writable":true,"schema":{"@type":"Map",
                       "mapKey":{"name":"k","schema":"string"},
                       "mapValue":{"name":"v","schema":"string"}}}]})"),
        MustParse(R"({"@id":"dtmi:fuzz:Room;1","@type":"Interface",
          "@context":"dtmi:dtdl:context;3",
          "contents":[{"@type":"Property","name":"name","schema":"string","writable":true},
                      {"@type":"Property","name":"temp","schema":"double","writable":true},
                      {"@type":"Property","name":"level","schema":"integer","writable":true},
                      {"@type":"Component","name":"sensor","schema":"dtmi:fuzz:Sensor;1"},
                      {"@type":"Relationship","name":"contains","target":"dtmi:fuzz:Room;1",
                       "properties":[{"@type":"Property","name":"since",
                                      "schema":"integer"}]}]})"),
    };
    auto added = graph_.AddModels(models);
    FUZZ_CHECK(added.ok(), added.status().ToString());
    if (!with_twins) return;
    for (const char* id : {"room-a", "room-b", "room-c"}) {
      std::string body = std::string(R"({"$metadata":{"$model":"dtmi:fuzz:Room;1"},"name":")") +
                         id + R"(","temp":21.5,"level":3,"sensor":{"$metadata":{},"reading":1}})";
      auto put = graph_.PutTwin(id, MustParse(body), {});
      FUZZ_CHECK(put.ok(), put.status().ToString());
    }
    for (const char* target : {"room-b", "room-c"}) {
      std::string body = std::string(R"({"$targetId":")") + target +
                         R"(","$relationshipName":"contains","since":2020})";
      auto rel = graph_.PutRelationship("room-a", std::string("r-") + target, MustParse(body), {});
      FUZZ_CHECK(rel.ok(), rel.status().ToString());
    }
  }

 private:
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_;
};

}  // namespace doppel::fuzz
