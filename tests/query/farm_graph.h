// A small wind-farm twin graph for query tests: two farms, four turbines, three components,
// built through the real TwinGraph (MemoryJournal, ManualClock) from DTDL models with
// inheritance:
//
//   Asset {name}  ←  WindFarm {region; hasTurbine → Turbine {since}}
//                 ←  Turbine {ratedPowerKw, status, online, nacelle: Nacelle {temperature};
//                             hasComponent → Component}
//                 ←  Component {kind, wear}  ←  Gearbox {ratio}
//
//   farm-north  ─hasTurbine→ turbine-n1 (since 2015), turbine-n2 (2018), turbine-n3 (2021)
//   farm-south  ─hasTurbine→ turbine-s1 (2019)
//   turbine-n1  ─hasComponent→ blade-n1, gearbox-n1
//   turbine-s1  ─hasComponent→ gearbox-s1
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::query::testing {

inline json::value Json(std::string_view text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString() << " in " << text;
  return v.ok() ? *v : json::value();
}

class FarmGraph {
 public:
  FarmGraph() : graph_(journal_, clock_, events_) {}

  twin::TwinGraph& graph() { return graph_; }

  void Build() {
    AddModels();
    PutTwin("farm-north", R"({"$metadata":{"$model":"dtmi:test:WindFarm;1"},"name":"North",
                            "region":"EU"})");
    PutTwin("farm-south", R"({"$metadata":{"$model":"dtmi:test:WindFarm;1"},"name":"South",
                            "region":"US"})");
    PutTwin("turbine-n1", R"({"$metadata":{"$model":"dtmi:test:Turbine;1"},"name":"N1",
        "ratedPowerKw":2000,"status":"running","online":true,
        "nacelle":{"$metadata":{},"temperature":55.5}})");
    PutTwin("turbine-n2", R"({"$metadata":{"$model":"dtmi:test:Turbine;1"},"name":"N2",
        "ratedPowerKw":3000.0,"status":"stopped","online":false,
        "nacelle":{"$metadata":{},"temperature":71}})");
    PutTwin("turbine-n3", R"({"$metadata":{"$model":"dtmi:test:Turbine;1"},"name":"N3",
        "ratedPowerKw":3000,"online":true,"nacelle":{"$metadata":{}}})");
    PutTwin("turbine-s1", R"({"$metadata":{"$model":"dtmi:test:Turbine;1"},"name":"S1",
        "ratedPowerKw":4500.5,"status":"running","online":true,
        "nacelle":{"$metadata":{},"temperature":64}})");
    PutTwin("blade-n1", R"({"$metadata":{"$model":"dtmi:test:Component;1"},"name":"Blade",
        "kind":"blade","wear":0.25})");
    PutTwin("gearbox-n1", R"({"$metadata":{"$model":"dtmi:test:Gearbox;1"},"name":"Gearbox N1",
        "kind":"gearbox","wear":0.5,"ratio":97.5})");
    PutTwin("gearbox-s1", R"({"$metadata":{"$model":"dtmi:test:Gearbox;1"},"name":"Gearbox S1",
        "kind":"gearbox","wear":0.75,"ratio":120})");
    Relate("farm-north", "r-n1", "hasTurbine", "turbine-n1", R"("since":2015)");
    Relate("farm-north", "r-n2", "hasTurbine", "turbine-n2", R"("since":2018)");
    Relate("farm-north", "r-n3", "hasTurbine", "turbine-n3", R"("since":2021)");
    Relate("farm-south", "r-s1", "hasTurbine", "turbine-s1", R"("since":2019)");
    Relate("turbine-n1", "c-blade", "hasComponent", "blade-n1", "");
    Relate("turbine-n1", "c-gear", "hasComponent", "gearbox-n1", "");
    Relate("turbine-s1", "c-gear", "hasComponent", "gearbox-s1", "");
  }

  void PutTwin(std::string_view id, std::string_view body) {
    auto r = graph_.PutTwin(id, Json(body), {});
    ASSERT_TRUE(r.ok()) << id << ": " << r.status().ToString();
  }

  void Relate(std::string_view source, std::string_view rel_id, std::string_view name,
              std::string_view target, std::string_view extra) {
    std::string body = std::string(R"({"$targetId":")") + std::string(target) +
                       R"(","$relationshipName":")" + std::string(name) + "\"" +
                       (extra.empty() ? "" : ",") + std::string(extra) + "}";
    auto r = graph_.PutRelationship(source, rel_id, Json(body), {});
    ASSERT_TRUE(r.ok()) << rel_id << ": " << r.status().ToString();
  }

 private:
  void AddModels() {
    std::vector<json::value> models = {
        Json(R"({"@id":"dtmi:test:Asset;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
          "contents":[{"@type":"Property","name":"name","schema":"string"}]})"),
        Json(R"({"@id":"dtmi:test:Nacelle;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
          "contents":[{"@type":"Property","name":"temperature","schema":"double"}]})"),
        Json(R"({"@id":"dtmi:test:Component;1","@type":"Interface",
          "@context":"dtmi:dtdl:context;3","extends":"dtmi:test:Asset;1",
          "contents":[{"@type":"Property","name":"kind","schema":"string"},
                      {"@type":"Property","name":"wear","schema":"double"}]})"),
        Json(R"({"@id":"dtmi:test:Gearbox;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
          "extends":"dtmi:test:Component;1",
          "contents":[{"@type":"Property","name":"ratio","schema":"double"}]})"),
        Json(R"({"@id":"dtmi:test:Turbine;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
          "extends":"dtmi:test:Asset;1",
          "contents":[{"@type":"Property","name":"ratedPowerKw","schema":"double"},
                      {"@type":"Property","name":"status","schema":"string"},
                      {"@type":"Property","name":"online","schema":"boolean"},
                      {"@type":"Component","name":"nacelle","schema":"dtmi:test:Nacelle;1"},
                      {"@type":"Relationship","name":"hasComponent",
                       "target":"dtmi:test:Component;1"}]})"),
        Json(R"({"@id":"dtmi:test:WindFarm;1","@type":"Interface","@context":"dtmi:dtdl:context;3",
          "extends":"dtmi:test:Asset;1",
          "contents":[{"@type":"Property","name":"region","schema":"string"},
                      {"@type":"Relationship","name":"hasTurbine","target":"dtmi:test:Turbine;1",
                       "properties":[{"@type":"Property","name":"since","schema":"integer"}]}]})"),
    };
    auto r = graph_.AddModels(models);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_;
};

}  // namespace doppel::query::testing
