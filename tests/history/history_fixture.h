// A twin graph (in memory) and a SeriesStore (in a temp dir) for history tests.
//
// Models: Sensor (telemetry temperature, pressure: double; count: integer; status: string;
// property line: string), SmartSensor extends Sensor, Pump (unrelated) and Line (relationship
// "contains", any target).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "history/history_query.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::history::testing {

inline constexpr char kSensor[] = "dtmi:test:Sensor;1";
inline constexpr char kSmartSensor[] = "dtmi:test:SmartSensor;1";
inline constexpr char kPump[] = "dtmi:test:Pump;1";
inline constexpr char kLine[] = "dtmi:test:Line;1";

inline std::vector<json::value> TestModels() {
  auto parsed = ParseJson(R"([
    {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Sensor;1", "@type": "Interface",
     "contents": [
       {"@type": "Telemetry", "name": "temperature", "schema": "double"},
       {"@type": "Telemetry", "name": "pressure", "schema": "double"},
       {"@type": "Telemetry", "name": "count", "schema": "integer"},
       {"@type": "Telemetry", "name": "status", "schema": "string"},
       {"@type": "Property", "name": "line", "schema": "string", "writable": true},
       {"@type": "Property", "name": "rank", "schema": "integer", "writable": true}
     ]},
    {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:SmartSensor;1", "@type": "Interface",
     "extends": "dtmi:test:Sensor;1",
     "contents": [{"@type": "Telemetry", "name": "humidity", "schema": "double"}]},
    {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Pump;1", "@type": "Interface",
     "contents": [{"@type": "Telemetry", "name": "flow", "schema": "double"}]},
    {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Line;1", "@type": "Interface",
     "contents": [{"@type": "Relationship", "name": "contains"}]}
  ])");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  std::vector<json::value> out;
  for (const json::value& v : parsed->as_array()) out.push_back(v);
  return out;
}

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto added = graph_.AddModels(TestModels());
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    OpenStore();
  }

  void OpenStore(tsdb::SeriesStoreOptions options = {
                     .sync = false, .max_head_points = 16, .partition = 1'000'000}) {
    store_.reset();
    auto store = tsdb::SeriesStore::Open(dir_.path(), options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  // A twin of `model`; `line` empty = no line property.
  void PutTwin(const std::string& id, const std::string& model, const std::string& line = "") {
    json::object doc;
    doc["$metadata"] = json::object{{"$model", model}};
    if (!line.empty()) doc["line"] = line;
    auto put = graph_.PutTwin(id, doc, {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  void Relate(const std::string& source, const std::string& target,
              const std::string& name = "contains") {
    json::object rel{{"$targetId", target}, {"$relationshipName", name}};
    auto put = graph_.PutRelationship(source, source + "-" + name + "-" + target, rel, {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  tsdb::SeriesId Series(const std::string& twin, const std::string& path,
                        tsdb::ValueType type = tsdb::ValueType::kDouble,
                        const std::string& model = "") {
    std::string m = model;
    if (m.empty()) {
      m = graph_.Read([&](const twin::GraphState& s) {
        const twin::Twin* t = s.FindTwin(twin);
        return t ? t->model_id : std::string();
      });
    }
    auto id = store_->CreateSeries({twin, path, type, m, "unit-" + path, ""});
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  void Write(tsdb::SeriesId id, std::vector<std::pair<tsdb::TimeNs, tsdb::Value>> points) {
    std::vector<tsdb::SeriesPoint> batch;
    for (auto& [t, v] : points) batch.push_back({id, t, std::move(v)});
    Status s = store_->Write(batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  Result<HistoryResult> Run(HistoryRequest request, const HistoryLimits& limits = {}) {
    return RunHistoryQuery(graph_, *store_, std::move(request), limits);
  }

  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  tsdb::testing::TempDir dir_;
  std::unique_ptr<tsdb::SeriesStore> store_;
};

// "twin/path" of each series of a result, in order.
inline std::vector<std::string> Names(const HistoryResult& r) {
  std::vector<std::string> out;
  for (const SeriesResult& s : r.series)
    out.push_back(s.info.spec.twin_id + "/" + s.info.spec.path);
  return out;
}

}  // namespace doppel::history::testing
