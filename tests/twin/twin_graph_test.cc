#include "twin/twin_graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>

namespace doppel::twin {
namespace {

using ::testing::HasSubstr;

json::value J(std::string_view text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString() << " in " << text;
  return parsed.ok() ? std::move(parsed).value() : json::value();
}

constexpr std::string_view kAsset = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Asset;1", "@type": "Interface",
  "displayName": "Asset",
  "contents": [
    {"@type": "Property", "name": "serial", "schema": "string"},
    {"@type": "Relationship", "name": "locatedIn"}
  ]})";

constexpr std::string_view kMotor = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Motor;1", "@type": "Interface",
  "contents": [{"@type": "Property", "name": "rpm", "schema": "integer"}]})";

constexpr std::string_view kTank = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Tank;1", "@type": "Interface",
  "contents": [{"@type": "Property", "name": "level", "schema": "double"}]})";

constexpr std::string_view kBigTank = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:BigTank;1", "@type": "Interface",
  "extends": "dtmi:test:Tank;1"})";

constexpr std::string_view kPump = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Pump;1", "@type": "Interface",
  "displayName": "Pump", "extends": "dtmi:test:Asset;1",
  "contents": [
    {"@type": "Property", "name": "ratedPower", "schema": "double"},
    {"@type": "Property", "name": "mode", "schema": {"@type": "Enum", "valueSchema": "string",
      "enumValues": [{"name": "Idle", "enumValue": "idle"}, {"name": "Running", "enumValue": "running"}]}},
    {"@type": "Property", "name": "config", "schema": {"@type": "Object", "fields": [
      {"name": "limit", "schema": "double"}, {"name": "label", "schema": "string"}]}},
    {"@type": "Telemetry", "name": "flow", "schema": "double"},
    {"@type": "Command", "name": "reset"},
    {"@type": "Component", "name": "motor", "schema": "dtmi:test:Motor;1"},
    {"@type": "Relationship", "name": "feeds", "target": "dtmi:test:Tank;1", "maxMultiplicity": 2,
     "properties": [{"@type": "Property", "name": "since", "schema": "dateTime"}]}
  ]})";

constexpr std::string_view kSmallPump = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:SmallPump;1", "@type": "Interface",
  "extends": "dtmi:test:Pump;1"})";

// A journal that can be told to fail, to check that a failed commit changes nothing.
class FlakyJournal final : public Journal {
 public:
  Status Commit(std::span<const Mutation> mutations, uint64_t last_event_seq) override {
    if (fail) return Status::Unavailable("disk on fire");
    return inner.Commit(mutations, last_event_seq);
  }
  Status Replay(
      const std::function<Status(Mutation::Kind, std::string_view, std::string_view)>& visit,
      uint64_t& last_event_seq) override {
    return inner.Replay(visit, last_event_seq);
  }
  MemoryJournal inner;
  bool fail = false;
};

class TwinGraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    events_.Subscribe([this](const GraphEvent& e) { seen_.push_back(e); });
    auto added =
        graph_.AddModels({J(kAsset), J(kMotor), J(kTank), J(kBigTank), J(kPump), J(kSmallPump)});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
  }

  static json::value PumpBody(double rated_power = 3.5) {
    json::value body = J(R"({"$metadata": {"$model": "dtmi:test:Pump;1"}, "mode": "idle",
                             "motor": {"$metadata": {}, "rpm": 1500}})");
    body.as_object()["ratedPower"] = rated_power;
    return body;
  }

  static json::value TankBody(std::string_view model = "dtmi:test:Tank;1") {
    json::object body{{"$metadata", json::object{{"$model", model}}}, {"level", 0.5}};
    return body;
  }

  json::object MustPut(std::string_view id, const json::value& body) {
    auto put = graph_.PutTwin(id, body, {});
    EXPECT_TRUE(put.ok()) << put.status().ToString();
    return put.ok() ? *put : json::object();
  }

  void MustRelate(std::string_view source, std::string_view rel_id, std::string_view name,
                  std::string_view target) {
    json::object body{{"$relationshipName", name}, {"$targetId", target}};
    auto put = graph_.PutRelationship(source, rel_id, body, {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  Status PutError(std::string_view id, const json::value& body) {
    auto put = graph_.PutTwin(id, body, {});
    EXPECT_FALSE(put.ok()) << ToJson(*put);
    return put.status();
  }

  static std::string Meta(const json::object& doc, std::string_view prop) {
    return std::string(doc.at("$metadata").at(prop).at("lastUpdateTime").as_string());
  }

  std::string NowText() const { return FormatRfc3339(clock_.Now()); }

  FlakyJournal journal_;
  ManualClock clock_;
  EventBus events_;
  TwinGraph graph_{journal_, clock_, events_};
  std::vector<GraphEvent> seen_;
};

// ---- models ----

TEST_F(TwinGraphTest, ModelsAreListedWithTheirData) {
  EXPECT_EQ(graph_.model_count(), 6u);
  auto pump = graph_.GetModel("dtmi:test:Pump;1", false);
  ASSERT_TRUE(pump.ok());
  EXPECT_EQ(pump->at("id"), "dtmi:test:Pump;1");
  EXPECT_EQ(pump->at("displayName").at("en"), "Pump");
  EXPECT_EQ(pump->at("uploadTime"), json::value(NowText()));
  EXPECT_EQ(pump->at("decommissioned"), false);
  EXPECT_FALSE(pump->contains("model"));
  auto with_def = graph_.GetModel("dtmi:test:Pump;1", true);
  ASSERT_TRUE(with_def.ok());
  EXPECT_EQ(with_def->at("model").at("@id"), "dtmi:test:Pump;1");

  auto missing = graph_.GetModel("dtmi:test:Nope;1", false);
  EXPECT_EQ(missing.status().error_code(), "ModelNotFound");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(TwinGraphTest, ListModelsWithDependencies) {
  ModelListOptions options;
  options.dependencies_for = {"dtmi:test:SmallPump;1"};
  auto listed = graph_.ListModels(options);
  ASSERT_TRUE(listed.ok());
  std::vector<std::string> ids;
  for (const auto& m : *listed) ids.emplace_back(m.at("id").as_string());
  // SmallPump → Pump → Asset, and Pump's component Motor; not Tank (a relationship target).
  EXPECT_THAT(ids, ::testing::ElementsAre("dtmi:test:Asset;1", "dtmi:test:Motor;1",
                                          "dtmi:test:Pump;1", "dtmi:test:SmallPump;1"));
  options.dependencies_for = {"dtmi:test:Nope;1"};
  EXPECT_EQ(graph_.ListModels(options).status().error_code(), "ModelNotFound");
  EXPECT_EQ(graph_.ListModels({}).value().size(), 6u);
}

TEST_F(TwinGraphTest, AddingAnExistingModelIsRefused) {
  auto again = graph_.AddModels({J(kTank)});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().error_code(), "ModelAlreadyExists");
}

TEST_F(TwinGraphTest, InvalidModelBatchAddsNothing) {
  auto bad = graph_.AddModels({J(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Ok;1",
                                     "@type": "Interface"})"),
                               J(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Bad;1",
                                     "@type": "Interface", "extends": "dtmi:test:Missing;1"})")});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(graph_.model_count(), 6u);
  EXPECT_FALSE(graph_.GetModel("dtmi:test:Ok;1", false).ok());
}

TEST_F(TwinGraphTest, DeleteModelRefusedWhileReferenced) {
  MustPut("tank-1", TankBody());
  // Used by a twin.
  Status st = graph_.DeleteModel("dtmi:test:Tank;1");
  EXPECT_EQ(st.code(), StatusCode::kConflict);
  EXPECT_EQ(st.error_code(), "ModelReferencesNotDeleted");
  EXPECT_THAT(st.message(), HasSubstr("tank-1"));
  ASSERT_TRUE(graph_.DeleteTwin("tank-1", {}).ok());
  // Still referenced by BigTank (extends) and Pump (relationship target).
  st = graph_.DeleteModel("dtmi:test:Tank;1");
  EXPECT_EQ(st.error_code(), "ModelReferencesNotDeleted");
  EXPECT_THAT(st.message(), HasSubstr("dtmi:test:BigTank;1"));
  // A leaf model with no twins goes.
  ASSERT_TRUE(graph_.DeleteModel("dtmi:test:SmallPump;1").ok());
  EXPECT_EQ(graph_.GetModel("dtmi:test:SmallPump;1", false).status().error_code(), "ModelNotFound");
  EXPECT_EQ(graph_.DeleteModel("dtmi:test:SmallPump;1").error_code(), "ModelNotFound");
  EXPECT_EQ(graph_.model_count(), 5u);
}

TEST_F(TwinGraphTest, DecommissionedModelsTakeNoNewTwins) {
  MustPut("tank-1", TankBody());
  ASSERT_TRUE(graph_
                  .PatchModel("dtmi:test:Tank;1",
                              J(R"([{"op":"replace","path":"/decommissioned","value":true}])"))
                  .ok());
  EXPECT_EQ(graph_.GetModel("dtmi:test:Tank;1", false)->at("decommissioned"), true);

  Status st = PutError("tank-2", TankBody());
  EXPECT_EQ(st.error_code(), "ModelDecommissioned");
  EXPECT_EQ(st.http_status(), 400);
  // Twins that already have the model keep working.
  EXPECT_TRUE(
      graph_.PatchTwin("tank-1", J(R"([{"op":"replace","path":"/level","value":0.9}])"), {}).ok());
  EXPECT_TRUE(graph_.PutTwin("tank-1", TankBody(), {}).ok());
  // Twins of models derived from it are still fine (only the exact model is decommissioned).
  MustPut("big-1", TankBody("dtmi:test:BigTank;1"));
}

TEST_F(TwinGraphTest, PatchModelAcceptsOnlyDecommission) {
  auto expect_invalid = [&](std::string_view patch) {
    Status st = graph_.PatchModel("dtmi:test:Tank;1", J(patch));
    EXPECT_EQ(st.error_code(), "JsonPatchInvalid") << patch << " → " << st.ToString();
  };
  expect_invalid(R"([{"op":"replace","path":"/displayName","value":"x"}])");
  expect_invalid(R"([{"op":"add","path":"/decommissioned","value":true}])");
  expect_invalid(R"([{"op":"replace","path":"/decommissioned","value":"yes"}])");
  expect_invalid(R"({"op":"replace"})");
  EXPECT_EQ(graph_.PatchModel("dtmi:test:Nope;1", J("[]")).error_code(), "ModelNotFound");
  ASSERT_TRUE(graph_
                  .PatchModel("dtmi:test:Tank;1",
                              J(R"([{"op":"replace","path":"/decommissioned","value":true}])"))
                  .ok());
  expect_invalid(R"([{"op":"replace","path":"/decommissioned","value":false}])");
}

// ---- twins ----

TEST_F(TwinGraphTest, PutTwinStoresTheAdtDocument) {
  json::object doc = MustPut("pump-1", PumpBody());
  EXPECT_EQ(doc.at("$dtId"), "pump-1");
  EXPECT_THAT(std::string(doc.at("$etag").as_string()), ::testing::StartsWith("W/\""));
  const auto& meta = doc.at("$metadata").as_object();
  EXPECT_EQ(meta.at("$model"), "dtmi:test:Pump;1");
  EXPECT_EQ(meta.at("$lastUpdateTime"), json::value(NowText()));
  EXPECT_EQ(Meta(doc, "ratedPower"), NowText());
  EXPECT_EQ(Meta(doc, "mode"), NowText());
  EXPECT_EQ(doc.at("ratedPower"), 3.5);
  EXPECT_EQ(doc.at("motor").at("rpm"), 1500);
  EXPECT_EQ(doc.at("motor").at("$metadata").at("rpm").at("lastUpdateTime"), json::value(NowText()));

  auto got = graph_.GetTwin("pump-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, doc);
  EXPECT_EQ(graph_.twin_count(), 1u);
  EXPECT_EQ(graph_.GetTwin("nope").status().error_code(), "DigitalTwinNotFound");
}

TEST_F(TwinGraphTest, PutTwinIgnoresBodyDtIdAndKeepsSourceTime) {
  json::value body = PumpBody();
  body.as_object()["$dtId"] = "other";
  body.as_object()["$metadata"].as_object()["mode"] =
      json::object{{"sourceTime", "2026-01-02T03:04:05Z"}};
  json::object doc = MustPut("pump-1", body);
  EXPECT_EQ(doc.at("$dtId"), "pump-1");
  EXPECT_EQ(doc.at("$metadata").at("mode").at("sourceTime"), "2026-01-02T03:04:05Z");
  body.as_object()["$metadata"].as_object()["mode"] = json::object{{"sourceTime", "yesterday"}};
  EXPECT_EQ(PutError("pump-1", body).error_code(), "ValidationFailed");
}

TEST_F(TwinGraphTest, PutTwinValidatesAgainstTheModel) {
  auto with = [](std::string_view member, json::value value) {
    json::value body = PumpBody();
    body.as_object()[member] = std::move(value);
    return body;
  };
  Status st = PutError("p", with("colour", "red"));
  EXPECT_EQ(st.error_code(), "ValidationFailed");
  EXPECT_EQ(st.http_status(), 400);
  EXPECT_THAT(st.message(), HasSubstr("'colour'"));

  st = PutError("p", with("ratedPower", "lots"));
  EXPECT_EQ(st.error_code(), "ValidationFailed");
  EXPECT_THAT(st.message(), HasSubstr("ratedPower"));

  st = PutError("p", with("mode", "fast"));
  EXPECT_EQ(st.error_code(), "ValidationFailed");
  EXPECT_THAT(st.message(), HasSubstr("mode"));

  st = PutError("p", with("config", J(R"({"limit": "high"})")));
  EXPECT_THAT(st.message(), HasSubstr("config.limit"));

  for (std::string_view not_property : {"flow", "reset", "feeds"}) {
    st = PutError("p", with(not_property, 1));
    EXPECT_EQ(st.error_code(), "ValidationFailed");
    EXPECT_THAT(st.message(), HasSubstr(std::string("'") + std::string(not_property) + "'"));
    EXPECT_THAT(st.message(), HasSubstr("not a property"));
  }
  st = PutError("p", with("$foo", 1));
  EXPECT_THAT(st.message(), HasSubstr("$foo"));
  // Inherited properties are fine.
  MustPut("p", with("serial", "SN-1"));
}

TEST_F(TwinGraphTest, PutTwinNeedsAKnownModel) {
  EXPECT_EQ(PutError("p", J(R"({"ratedPower": 1})")).error_code(), "ValidationFailed");
  EXPECT_EQ(PutError("p", J(R"({"$metadata": {"$model": 5}})")).error_code(), "ValidationFailed");
  Status st = PutError("p", J(R"({"$metadata": {"$model": "dtmi:test:Nope;1"}})"));
  EXPECT_EQ(st.error_code(), "ModelNotFound");
  EXPECT_EQ(st.http_status(), 400);
  EXPECT_EQ(PutError("p", J("[1]")).error_code(), "InvalidArgument");
  EXPECT_EQ(PutError("", TankBody()).error_code(), "InvalidArgument");
  EXPECT_EQ(PutError("a\nb", TankBody()).error_code(), "InvalidArgument");
  EXPECT_EQ(graph_.twin_count(), 0u);
}

TEST_F(TwinGraphTest, ComponentsAreRequiredAndValidated) {
  json::value body = PumpBody();
  body.as_object().erase("motor");
  Status st = PutError("p", body);
  EXPECT_EQ(st.error_code(), "ValidationFailed");
  EXPECT_THAT(st.message(), HasSubstr("component 'motor'"));

  body.as_object()["motor"] = J(R"({"rpm": 10})");  // no $metadata
  EXPECT_THAT(PutError("p", body).message(), HasSubstr("$metadata"));

  body.as_object()["motor"] = J(R"({"$metadata": {}, "rpm": 1.5})");
  st = PutError("p", body);
  EXPECT_EQ(st.error_code(), "ValidationFailed");
  EXPECT_THAT(st.message(), HasSubstr("motor.rpm"));

  body.as_object()["motor"] = J(R"({"$metadata": {}, "torque": 1})");
  EXPECT_THAT(PutError("p", body).message(), HasSubstr("motor.torque"));

  body.as_object()["motor"] = J(R"({"$metadata": {}})");
  json::object doc = MustPut("p", body);
  EXPECT_EQ(doc.at("motor").at("$metadata").at("$lastUpdateTime"), json::value(NowText()));
}

TEST_F(TwinGraphTest, EtagsAndPreconditions) {
  json::object first = MustPut("pump-1", PumpBody());
  std::string etag1(first.at("$etag").as_string());

  Preconditions create_only{"", "*"};
  auto again = graph_.PutTwin("pump-1", PumpBody(), create_only);
  EXPECT_EQ(again.status().code(), StatusCode::kPreconditionFailed);
  EXPECT_EQ(again.status().error_code(), "PreconditionFailed");
  EXPECT_TRUE(graph_.PutTwin("pump-2", PumpBody(), create_only).ok());

  Preconditions stale{"W/\"not-it\"", ""};
  EXPECT_EQ(graph_.PutTwin("pump-1", PumpBody(), stale).status().code(),
            StatusCode::kPreconditionFailed);
  auto patch = J(R"([{"op":"replace","path":"/ratedPower","value":7}])");
  EXPECT_EQ(graph_.PatchTwin("pump-1", patch, stale).status().code(),
            StatusCode::kPreconditionFailed);
  EXPECT_EQ(graph_.DeleteTwin("pump-1", stale).code(), StatusCode::kPreconditionFailed);
  // If-Match on a twin that does not exist.
  EXPECT_EQ(graph_.PutTwin("pump-9", PumpBody(), {"*", ""}).status().code(),
            StatusCode::kPreconditionFailed);

  auto patched = graph_.PatchTwin("pump-1", patch, {etag1, ""});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  std::string etag2(patched->at("$etag").as_string());
  EXPECT_NE(etag1, etag2);
  EXPECT_EQ(graph_.PatchTwin("pump-1", patch, {etag1, ""}).status().code(),
            StatusCode::kPreconditionFailed);
  auto replaced = graph_.PutTwin("pump-1", PumpBody(), {"*", ""});
  ASSERT_TRUE(replaced.ok());
  EXPECT_NE(std::string(replaced->at("$etag").as_string()), etag2);
  EXPECT_TRUE(
      graph_.DeleteTwin("pump-1", {std::string(replaced->at("$etag").as_string()), ""}).ok());
}

TEST_F(TwinGraphTest, PatchTwinMovesOnlyTouchedTimestamps) {
  std::string t0 = NowText();
  MustPut("pump-1", PumpBody());
  clock_.Advance(std::chrono::seconds(5));
  std::string t1 = NowText();
  auto patched =
      graph_.PatchTwin("pump-1", J(R"([{"op":"replace","path":"/ratedPower","value":4.25},
                                                 {"op":"add","path":"/serial","value":"SN-9"},
                                                 {"op":"replace","path":"/motor/rpm","value":1800}])"),
                       {});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(patched->at("ratedPower"), 4.25);
  EXPECT_EQ(Meta(*patched, "ratedPower"), t1);
  EXPECT_EQ(Meta(*patched, "serial"), t1);
  EXPECT_EQ(Meta(*patched, "mode"), t0);
  EXPECT_EQ(patched->at("$metadata").at("$lastUpdateTime"), json::value(t1));
  EXPECT_EQ(patched->at("motor").at("rpm"), 1800);
  EXPECT_EQ(patched->at("motor").at("$metadata").at("rpm").at("lastUpdateTime"), json::value(t1));
  EXPECT_EQ(patched->at("motor").at("$metadata").at("$lastUpdateTime"), json::value(t1));

  auto removed = graph_.PatchTwin("pump-1", J(R"([{"op":"remove","path":"/mode"}])"), {});
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(removed->contains("mode"));
  EXPECT_FALSE(removed->at("$metadata").as_object().contains("mode"));
  EXPECT_EQ(*graph_.GetTwin("pump-1"), *removed);
}

TEST_F(TwinGraphTest, PatchTwinRevalidatesAndIsAllOrNothing) {
  json::object before = MustPut("pump-1", PumpBody());
  auto bad = graph_.PatchTwin("pump-1", J(R"([{"op":"replace","path":"/ratedPower","value":9},
                                             {"op":"replace","path":"/mode","value":"warp"}])"),
                              {});
  EXPECT_EQ(bad.status().error_code(), "ValidationFailed");
  EXPECT_THAT(bad.status().message(), HasSubstr("mode"));
  EXPECT_EQ(*graph_.GetTwin("pump-1"), before);

  auto missing = graph_.PatchTwin("pump-1", J(R"([{"op":"remove","path":"/serial"}])"), {});
  EXPECT_EQ(missing.status().error_code(), "JsonPatchInvalid");
  EXPECT_THAT(missing.status().message(), HasSubstr("operation 0 (remove /serial)"));

  for (std::string_view path :
       {"/$dtId", "/$etag", "/$metadata/$lastUpdateTime", "/motor/$metadata", ""}) {
    json::array patch{json::object{{"op", "replace"}, {"path", path}, {"value", "x"}}};
    auto refused = graph_.PatchTwin("pump-1", patch, {});
    EXPECT_EQ(refused.status().error_code(), "JsonPatchInvalid") << path;
  }
  EXPECT_EQ(graph_.PatchTwin("nope", J("[]"), {}).status().error_code(), "DigitalTwinNotFound");
  EXPECT_EQ(graph_.PatchTwin("pump-1", J(R"({"op":"add"})"), {}).status().error_code(),
            "JsonPatchInvalid");
  EXPECT_EQ(*graph_.GetTwin("pump-1"), before);
}

TEST_F(TwinGraphTest, PatchTwinMayChangeTheModel) {
  MustPut("pump-1", PumpBody());
  auto moved = graph_.PatchTwin(
      "pump-1",
      J(R"([{"op":"replace","path":"/$metadata/$model","value":"dtmi:test:SmallPump;1"}])"), {});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(moved->at("$metadata").at("$model"), "dtmi:test:SmallPump;1");
  EXPECT_TRUE(graph_.Read(
      [](const GraphState& s) { return s.TwinsOfExactModel("dtmi:test:Pump;1") == nullptr; }));
  // To a model the content does not fit: every property is checked again.
  auto bad = graph_.PatchTwin(
      "pump-1", J(R"([{"op":"replace","path":"/$metadata/$model","value":"dtmi:test:Tank;1"}])"),
      {});
  EXPECT_EQ(bad.status().error_code(), "ValidationFailed");
}

TEST_F(TwinGraphTest, ComponentsCanBeReadAndPatched) {
  MustPut("pump-1", PumpBody());
  auto motor = graph_.GetComponent("pump-1", "motor");
  ASSERT_TRUE(motor.ok());
  EXPECT_EQ(motor->at("rpm"), 1500);
  EXPECT_EQ(graph_.GetComponent("pump-1", "ratedPower").status().error_code(), "ComponentNotFound");
  EXPECT_EQ(graph_.GetComponent("nope", "motor").status().error_code(), "DigitalTwinNotFound");

  clock_.Advance(std::chrono::seconds(1));
  auto patched = graph_.PatchComponent("pump-1", "motor",
                                       J(R"([{"op":"replace","path":"/rpm","value":900}])"), {});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(patched->at("motor").at("rpm"), 900);
  EXPECT_EQ(patched->at("motor").at("$metadata").at("rpm").at("lastUpdateTime"),
            json::value(NowText()));
  EXPECT_EQ(graph_.GetComponent("pump-1", "motor")->at("rpm"), 900);

  auto bad = graph_.PatchComponent("pump-1", "motor",
                                   J(R"([{"op":"replace","path":"/rpm","value":"fast"}])"), {});
  EXPECT_THAT(bad.status().message(), HasSubstr("motor.rpm"));
  EXPECT_EQ(graph_.PatchComponent("pump-1", "gearbox", J("[]"), {}).status().error_code(),
            "ComponentNotFound");
  EXPECT_EQ(graph_.PatchComponent("pump-1", "motor", J(R"([{"op":"remove","path":""}])"), {})
                .status()
                .error_code(),
            "JsonPatchInvalid");
  // The event carries the patch re-rooted at the twin.
  EXPECT_EQ(ToJson(seen_.back().data.at("patch")),
            R"([{"op":"replace","path":"/motor/rpm","value":900}])");
}

TEST_F(TwinGraphTest, PropertyIndexFollowsWrites) {
  MustPut("pump-1", PumpBody(3));
  MustPut("pump-2", PumpBody(3.0));
  MustPut("pump-3", PumpBody(4));
  auto ids_with = [&](std::string_view name, json::value v) {
    return graph_.Read([&](const GraphState& s) {
      const auto* ids = s.TwinsWithProperty(name, v);
      return ids ? std::vector<std::string>(ids->begin(), ids->end()) : std::vector<std::string>();
    });
  };
  EXPECT_THAT(ids_with("ratedPower", json::value(int64_t{3})),
              ::testing::ElementsAre("pump-1", "pump-2"));
  EXPECT_THAT(ids_with("ratedPower", json::value(3.0)), ::testing::ElementsAre("pump-1", "pump-2"));
  EXPECT_THAT(ids_with("mode", json::value("idle")),
              ::testing::ElementsAre("pump-1", "pump-2", "pump-3"));
  ASSERT_TRUE(
      graph_.PatchTwin("pump-1", J(R"([{"op":"replace","path":"/ratedPower","value":4}])"), {})
          .ok());
  EXPECT_THAT(ids_with("ratedPower", json::value(3)), ::testing::ElementsAre("pump-2"));
  EXPECT_THAT(ids_with("ratedPower", json::value(4.0)), ::testing::ElementsAre("pump-1", "pump-3"));
  ASSERT_TRUE(graph_.DeleteTwin("pump-3", {}).ok());
  EXPECT_THAT(ids_with("ratedPower", json::value(4)), ::testing::ElementsAre("pump-1"));
  EXPECT_TRUE(ids_with("ratedPower", json::value("4")).empty());
  EXPECT_EQ(graph_.Read([](const GraphState& s) {
    return s.TwinsOfExactModel("dtmi:test:Pump;1")->size();
  }),
            2u);
}

// ---- relationships ----

TEST_F(TwinGraphTest, RelationshipsAreValidatedAgainstTheSourceModel) {
  MustPut("pump-1", PumpBody());
  MustPut("tank-1", TankBody());
  MustPut("big-1", TankBody("dtmi:test:BigTank;1"));
  MustPut("pump-2", PumpBody());

  auto rel =
      graph_.PutRelationship("pump-1", "r1", J(R"({"$relationshipName":"feeds","$targetId":"tank-1",
                                                        "since":"2026-01-01T00:00:00Z"})"),
                             {});
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(rel->at("$relationshipId"), "r1");
  EXPECT_EQ(rel->at("$sourceId"), "pump-1");
  EXPECT_EQ(rel->at("$targetId"), "tank-1");
  EXPECT_EQ(rel->at("$relationshipName"), "feeds");
  EXPECT_EQ(rel->at("since"), "2026-01-01T00:00:00Z");
  EXPECT_THAT(std::string(rel->at("$etag").as_string()), ::testing::StartsWith("W/\""));
  EXPECT_EQ(*graph_.GetRelationship("pump-1", "r1"), *rel);

  auto put = [&](std::string_view source, std::string_view id, std::string_view body) {
    return graph_.PutRelationship(source, id, J(body), {}).status();
  };
  // A derived target model satisfies the target.
  EXPECT_TRUE(put("pump-1", "r2", R"({"$relationshipName":"feeds","$targetId":"big-1"})").ok());
  // maxMultiplicity 2.
  Status st = put("pump-1", "r3", R"({"$relationshipName":"feeds","$targetId":"tank-1"})");
  EXPECT_EQ(st.error_code(), "InvalidRelationship");
  EXPECT_THAT(st.message(), HasSubstr("at most 2"));
  // Replacing one of the two is not a third.
  EXPECT_TRUE(put("pump-1", "r2", R"({"$relationshipName":"feeds","$targetId":"tank-1"})").ok());
  // Wrong target model.
  st = put("pump-2", "x", R"({"$relationshipName":"feeds","$targetId":"pump-1"})");
  EXPECT_EQ(st.error_code(), "InvalidRelationship");
  EXPECT_THAT(st.message(), HasSubstr("dtmi:test:Tank;1"));
  // Unknown relationship name, and a property name used as one.
  EXPECT_EQ(
      put("pump-2", "x", R"({"$relationshipName":"drains","$targetId":"tank-1"})").error_code(),
      "InvalidRelationship");
  EXPECT_EQ(put("pump-2", "x", R"({"$relationshipName":"mode","$targetId":"tank-1"})").error_code(),
            "InvalidRelationship");
  // Inherited relationship without a target constraint.
  EXPECT_TRUE(
      put("pump-2", "loc", R"({"$relationshipName":"locatedIn","$targetId":"pump-1"})").ok());
  // Missing twins.
  EXPECT_EQ(put("pump-2", "x", R"({"$relationshipName":"feeds","$targetId":"nope"})").error_code(),
            "TargetTwinNotFound");
  EXPECT_EQ(put("nope", "x", R"({"$relationshipName":"feeds","$targetId":"tank-1"})").error_code(),
            "DigitalTwinNotFound");
  // Properties.
  st = put("pump-2", "x", R"({"$relationshipName":"feeds","$targetId":"tank-1","since":"soon"})");
  EXPECT_EQ(st.error_code(), "ValidationFailed");
  EXPECT_THAT(st.message(), HasSubstr("since"));
  st = put("pump-2", "x", R"({"$relationshipName":"feeds","$targetId":"tank-1","weight":1})");
  EXPECT_EQ(st.error_code(), "ValidationFailed");
  EXPECT_THAT(st.message(), HasSubstr("weight"));
  EXPECT_EQ(put("pump-2", "x", R"({"$targetId":"tank-1"})").error_code(), "InvalidArgument");
  EXPECT_EQ(graph_.Read([](const GraphState& s) { return s.relationship_count(); }), 3u);
}

TEST_F(TwinGraphTest, RelationshipListsAndIncoming) {
  MustPut("pump-1", PumpBody());
  MustPut("pump-2", PumpBody());
  MustPut("tank-1", TankBody());
  MustRelate("pump-1", "f1", "feeds", "tank-1");
  MustRelate("pump-2", "f2", "feeds", "tank-1");
  MustRelate("pump-1", "l1", "locatedIn", "pump-2");

  auto all = graph_.ListRelationships("pump-1", "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  auto feeds = graph_.ListRelationships("pump-1", "feeds");
  ASSERT_EQ(feeds->size(), 1u);
  EXPECT_EQ((*feeds)[0].at("$relationshipId"), "f1");
  EXPECT_EQ(graph_.ListRelationships("nope", "").status().error_code(), "DigitalTwinNotFound");

  auto incoming = graph_.ListIncomingRelationships("tank-1");
  ASSERT_TRUE(incoming.ok());
  EXPECT_EQ(ToJson(*incoming),
            R"([{"$relationshipId":"f1","$sourceId":"pump-1","$relationshipName":"feeds",)"
            R"("$relationshipLink":"/digitaltwins/pump-1/relationships/f1"},)"
            R"({"$relationshipId":"f2","$sourceId":"pump-2","$relationshipName":"feeds",)"
            R"("$relationshipLink":"/digitaltwins/pump-2/relationships/f2"}])");
  EXPECT_TRUE(graph_.ListIncomingRelationships("pump-1")->empty());

  // Re-pointing a relationship moves it between incoming lists.
  MustRelate("pump-1", "l1", "locatedIn", "tank-1");
  EXPECT_TRUE(graph_.ListIncomingRelationships("pump-2")->empty());
  EXPECT_EQ(graph_.ListIncomingRelationships("tank-1")->size(), 3u);
}

TEST_F(TwinGraphTest, TwinsWithRelationshipsCannotBeDeleted) {
  MustPut("pump-1", PumpBody());
  MustPut("tank-1", TankBody());
  MustRelate("pump-1", "f1", "feeds", "tank-1");
  for (std::string_view id : {"pump-1", "tank-1"}) {  // outgoing, then incoming
    Status st = graph_.DeleteTwin(id, {});
    EXPECT_EQ(st.error_code(), "RelationshipsNotDeleted") << id;
    EXPECT_EQ(st.http_status(), 400);
  }
  EXPECT_EQ(graph_.DeleteRelationship("pump-1", "f1", {"W/\"nope\"", ""}).code(),
            StatusCode::kPreconditionFailed);
  ASSERT_TRUE(graph_.DeleteRelationship("pump-1", "f1", {}).ok());
  EXPECT_EQ(graph_.DeleteRelationship("pump-1", "f1", {}).error_code(), "RelationshipNotFound");
  EXPECT_EQ(graph_.GetRelationship("pump-1", "f1").status().error_code(), "RelationshipNotFound");
  EXPECT_TRUE(graph_.DeleteTwin("tank-1", {}).ok());
  EXPECT_TRUE(graph_.DeleteTwin("pump-1", {}).ok());
  EXPECT_EQ(graph_.DeleteTwin("pump-1", {}).error_code(), "DigitalTwinNotFound");
  EXPECT_EQ(graph_.Read([](const GraphState& s) { return s.relationship_count(); }), 0u);
}

TEST_F(TwinGraphTest, PatchRelationshipProperties) {
  MustPut("pump-1", PumpBody());
  MustPut("tank-1", TankBody());
  MustRelate("pump-1", "f1", "feeds", "tank-1");
  std::string etag(graph_.GetRelationship("pump-1", "f1")->at("$etag").as_string());
  auto patched = graph_.PatchRelationship(
      "pump-1", "f1", J(R"([{"op":"add","path":"/since","value":"2026-02-03T00:00:00Z"}])"),
      {etag, ""});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(patched->at("since"), "2026-02-03T00:00:00Z");
  EXPECT_NE(std::string(patched->at("$etag").as_string()), etag);
  EXPECT_EQ(graph_
                .PatchRelationship("pump-1", "f1",
                                   J(R"([{"op":"replace","path":"/since","value":3}])"), {})
                .status()
                .error_code(),
            "ValidationFailed");
  EXPECT_EQ(
      graph_
          .PatchRelationship("pump-1", "f1",
                             J(R"([{"op":"replace","path":"/$targetId","value":"pump-1"}])"), {})
          .status()
          .error_code(),
      "JsonPatchInvalid");
  EXPECT_EQ(graph_.PatchRelationship("pump-1", "zz", J("[]"), {}).status().error_code(),
            "RelationshipNotFound");
  EXPECT_EQ(*graph_.GetRelationship("pump-1", "f1"), *patched);
}

// ---- events, journal, restore ----

TEST_F(TwinGraphTest, EveryWritePublishesOneEventInOrder) {
  ASSERT_EQ(seen_.size(), 1u);  // the model batch
  EXPECT_EQ(seen_[0].type, EventType::kModelsCreated);
  EXPECT_EQ(seen_[0].data.as_array().size(), 6u);
  MustPut("pump-1", PumpBody());
  MustPut("tank-1", TankBody());
  ASSERT_TRUE(
      graph_.PatchTwin("pump-1", J(R"([{"op":"replace","path":"/ratedPower","value":5}])"), {})
          .ok());
  MustRelate("pump-1", "f1", "feeds", "tank-1");
  ASSERT_TRUE(graph_.DeleteRelationship("pump-1", "f1", {}).ok());
  MustPut("pump-1", PumpBody(6));
  ASSERT_TRUE(graph_.DeleteTwin("tank-1", {}).ok());
  EXPECT_FALSE(graph_.PutTwin("bad", J("{}"), {}).ok());  // failures publish nothing

  std::vector<EventType> types;
  for (std::size_t i = 0; i < seen_.size(); ++i) {
    EXPECT_EQ(seen_[i].seq, i + 1);
    types.push_back(seen_[i].type);
  }
  EXPECT_THAT(types, ::testing::ElementsAre(EventType::kModelsCreated, EventType::kTwinCreated,
                                            EventType::kTwinCreated, EventType::kTwinUpdated,
                                            EventType::kRelationshipCreated,
                                            EventType::kRelationshipDeleted,
                                            EventType::kTwinUpdated, EventType::kTwinDeleted));
  EXPECT_EQ(graph_.last_event_seq(), seen_.size());
  EXPECT_EQ(seen_[1].subject, "pump-1");
  EXPECT_EQ(seen_[1].time, NowText());
  EXPECT_EQ(seen_[3].data.at("doc").at("ratedPower"), 5);
  EXPECT_EQ(ToJson(seen_[3].data.at("patch")),
            R"([{"op":"replace","path":"/ratedPower","value":5}])");
  EXPECT_EQ(seen_[4].subject, "pump-1/relationships/f1");
  // A PUT replace carries the property-level difference.
  EXPECT_EQ(ToJson(seen_[6].data.at("patch")),
            R"([{"op":"replace","path":"/ratedPower","value":6}])");
  EXPECT_EQ(seen_[7].data.at("$dtId"), "tank-1");
}

TEST_F(TwinGraphTest, AFailedCommitChangesNothing) {
  json::object pump = MustPut("pump-1", PumpBody());
  MustPut("tank-1", TankBody());
  uint64_t seq = graph_.last_event_seq();
  std::size_t events = seen_.size();
  journal_.fail = true;

  auto put = graph_.PutTwin("pump-2", PumpBody(), {});
  EXPECT_EQ(put.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(graph_.GetTwin("pump-2").status().error_code(), "DigitalTwinNotFound");
  EXPECT_FALSE(
      graph_.PatchTwin("pump-1", J(R"([{"op":"replace","path":"/ratedPower","value":9}])"), {})
          .ok());
  EXPECT_EQ(*graph_.GetTwin("pump-1"), pump);
  EXPECT_FALSE(graph_
                   .PutRelationship("pump-1", "f1",
                                    J(R"({"$relationshipName":"feeds","$targetId":"tank-1"})"), {})
                   .ok());
  EXPECT_EQ(graph_.GetRelationship("pump-1", "f1").status().error_code(), "RelationshipNotFound");
  EXPECT_FALSE(graph_.DeleteTwin("tank-1", {}).ok());
  EXPECT_TRUE(graph_.GetTwin("tank-1").ok());
  EXPECT_FALSE(graph_
                   .AddModels({J(R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:New;1",
                                       "@type": "Interface"})")})
                   .ok());
  EXPECT_FALSE(graph_.GetModel("dtmi:test:New;1", false).ok());
  EXPECT_FALSE(graph_
                   .PatchModel("dtmi:test:Tank;1",
                               J(R"([{"op":"replace","path":"/decommissioned","value":true}])"))
                   .ok());
  EXPECT_EQ(graph_.GetModel("dtmi:test:Tank;1", false)->at("decommissioned"), false);
  EXPECT_FALSE(graph_.DeleteModel("dtmi:test:SmallPump;1").ok());
  EXPECT_TRUE(graph_.GetModel("dtmi:test:SmallPump;1", false).ok());
  EXPECT_EQ(graph_.last_event_seq(), seq);
  EXPECT_EQ(seen_.size(), events);

  // The next successful write carries on from the same sequence.
  journal_.fail = false;
  MustPut("pump-2", PumpBody());
  EXPECT_EQ(graph_.last_event_seq(), seq + 1);
}

TEST_F(TwinGraphTest, RestoreReproducesTheGraph) {
  MustPut("pump-1", PumpBody(3));
  MustPut("pump-2", PumpBody());
  MustPut("tank-1", TankBody());
  MustPut("gone", TankBody());
  ASSERT_TRUE(graph_.DeleteTwin("gone", {}).ok());
  ASSERT_TRUE(
      graph_.PatchTwin("pump-2", J(R"([{"op":"add","path":"/serial","value":"SN-2"}])"), {}).ok());
  MustRelate("pump-1", "f1", "feeds", "tank-1");
  MustRelate("pump-2", "f2", "feeds", "tank-1");
  MustRelate("pump-2", "l1", "locatedIn", "pump-1");
  ASSERT_TRUE(graph_
                  .PatchModel("dtmi:test:BigTank;1",
                              J(R"([{"op":"replace","path":"/decommissioned","value":true}])"))
                  .ok());
  ASSERT_TRUE(graph_.DeleteModel("dtmi:test:SmallPump;1").ok());

  EventBus events2;
  TwinGraph restored(journal_, clock_, events2);
  ASSERT_TRUE(restored.Restore().ok());
  EXPECT_EQ(restored.twin_count(), 3u);
  EXPECT_EQ(restored.model_count(), 5u);
  EXPECT_EQ(restored.last_event_seq(), graph_.last_event_seq());
  // Compared as served: an integral double (3.0) reads back as the integer 3, which is the
  // same JSON text and the same number.
  for (std::string_view id : {"pump-1", "pump-2", "tank-1"}) {
    EXPECT_EQ(ToJson(*restored.GetTwin(id)), ToJson(*graph_.GetTwin(id))) << id;
  }
  EXPECT_EQ(restored.GetTwin("gone").status().error_code(), "DigitalTwinNotFound");
  EXPECT_EQ(ToJson(*restored.ListModels({{}, true})), ToJson(*graph_.ListModels({{}, true})));
  EXPECT_EQ(restored.GetModel("dtmi:test:BigTank;1", false)->at("decommissioned"), true);
  EXPECT_EQ(ToJson(*restored.ListRelationships("pump-2", "")),
            ToJson(*graph_.ListRelationships("pump-2", "")));
  EXPECT_EQ(*restored.ListIncomingRelationships("tank-1"),
            *graph_.ListIncomingRelationships("tank-1"));
  EXPECT_EQ(*restored.ListIncomingRelationships("pump-1"),
            *graph_.ListIncomingRelationships("pump-1"));
  EXPECT_EQ(restored.Read([](const GraphState& s) { return s.relationship_count(); }), 3u);
  EXPECT_EQ(restored.Read([](const GraphState& s) {
    return s.TwinsWithProperty("ratedPower", json::value(3.0))->size();
  }),
            1u);
  // The restored graph validates as the original did.
  EXPECT_EQ(restored.PutTwin("big-2", TankBody("dtmi:test:BigTank;1"), {}).status().error_code(),
            "ModelDecommissioned");
  EXPECT_EQ(restored.DeleteTwin("tank-1", {}).error_code(), "RelationshipsNotDeleted");
  auto next =
      restored.PatchTwin("pump-1", J(R"([{"op":"replace","path":"/ratedPower","value":8}])"), {});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(restored.last_event_seq(), graph_.last_event_seq() + 1);
  EXPECT_NE(next->at("$etag"), graph_.GetTwin("pump-1")->at("$etag"));
}

TEST_F(TwinGraphTest, RelationshipPreconditions) {
  MustPut("pump-1", PumpBody());
  MustPut("tank-1", TankBody());
  json::value body = J(R"({"$relationshipName":"feeds","$targetId":"tank-1"})");
  auto first = graph_.PutRelationship("pump-1", "f1", body, {"", "*"});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(graph_.PutRelationship("pump-1", "f1", body, {"", "*"}).status().code(),
            StatusCode::kPreconditionFailed);
  std::string etag(first->at("$etag").as_string());
  EXPECT_EQ(graph_.PutRelationship("pump-1", "f1", body, {"W/\"x\"", ""}).status().code(),
            StatusCode::kPreconditionFailed);
  auto replaced = graph_.PutRelationship("pump-1", "f1", body, {etag, ""});
  ASSERT_TRUE(replaced.ok());
  EXPECT_NE(std::string(replaced->at("$etag").as_string()), etag);
  EXPECT_EQ(graph_.PatchRelationship("pump-1", "f1", J("[]"), {etag, ""}).status().code(),
            StatusCode::kPreconditionFailed);
}

TEST_F(TwinGraphTest, JournalRecordsHaveTheDocumentedShape) {
  MustPut("pump-1", PumpBody());
  MustPut("tank-1", TankBody());
  MustRelate("pump-1", "f1", "feeds", "tank-1");
  std::map<std::string, std::string> models, twins, rels;
  uint64_t seq = 0;
  ASSERT_TRUE(journal_.inner
                  .Replay(
                      [&](Mutation::Kind kind, std::string_view key, std::string_view value) {
                        auto& into = kind == Mutation::Kind::kPutModel  ? models
                                     : kind == Mutation::Kind::kPutTwin ? twins
                                                                        : rels;
                        into[std::string(key)] = std::string(value);
                        return Status::Ok();
                      },
                      seq)
                  .ok());
  EXPECT_EQ(seq, graph_.last_event_seq());
  ASSERT_TRUE(models.contains("dtmi:test:Pump;1"));
  json::value model = J(models["dtmi:test:Pump;1"]);
  EXPECT_EQ(model.at("model").at("@id"), "dtmi:test:Pump;1");
  EXPECT_EQ(model.at("uploadTime"), json::value(NowText()));
  EXPECT_EQ(model.at("decommissioned"), false);
  EXPECT_EQ(ToJson(J(twins["pump-1"])), ToJson(*graph_.GetTwin("pump-1")));
  ASSERT_EQ(rels.size(), 1u);
  EXPECT_EQ(rels.begin()->first, "pump-1\nf1");
  EXPECT_EQ(ToJson(J(rels.begin()->second)), ToJson(*graph_.GetRelationship("pump-1", "f1")));
}

TEST_F(TwinGraphTest, RestoreOfAnEmptyJournal) {
  MemoryJournal empty;
  EventBus bus;
  TwinGraph fresh(empty, clock_, bus);
  ASSERT_TRUE(fresh.Restore().ok());
  EXPECT_EQ(fresh.twin_count(), 0u);
  EXPECT_EQ(fresh.model_count(), 0u);
  EXPECT_EQ(fresh.last_event_seq(), 0u);
}

}  // namespace
}  // namespace doppel::twin
