#include "model/model_registry.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace doppel::model {
namespace {

using testing::Docs;

std::vector<json::value> BaseAndPump() {
  return Docs({
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Asset;1", "@type": "Interface",
          "contents": [{"@type": "Property", "name": "serial", "schema": "string"}]})",
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Pump;1", "@type": "Interface",
          "extends": "dtmi:ex:Asset;1",
          "contents": [{"@type": "Property", "name": "rpm", "schema": "integer"}]})"});
}

TEST(ModelRegistry, PrepareDoesNotAddUntilCommit) {
  ModelRegistry reg;
  auto prepared = reg.Prepare(BaseAndPump());
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_EQ(prepared->size(), 2u);
  EXPECT_EQ(reg.Find("dtmi:ex:Pump;1"), nullptr);
  reg.Commit(std::move(prepared).value(), "2026-01-01T00:00:00Z");
  const ModelEntry* pump = reg.Find("dtmi:ex:Pump;1");
  ASSERT_NE(pump, nullptr);
  EXPECT_EQ(pump->upload_time, "2026-01-01T00:00:00Z");
  EXPECT_FALSE(pump->decommissioned);
  EXPECT_EQ(reg.Get("dtmi:ex:Pump;1")->contents.size(), 2u);
  EXPECT_EQ(reg.entries().size(), 2u);
}

TEST(ModelRegistry, RejectsExistingIdAndInvalidModels) {
  ModelRegistry reg;
  reg.Commit(reg.Prepare(BaseAndPump()).value(), "t");
  auto again = reg.Prepare(Docs({R"({"@context": "dtmi:dtdl:context;2",
      "@id": "dtmi:ex:Asset;1", "@type": "Interface"})"}));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().error_code(), "ModelAlreadyExists");

  auto bad = reg.Prepare(Docs({R"({"@context": "dtmi:dtdl:context;2",
      "@id": "dtmi:ex:Bad;1", "@type": "Interface",
      "contents": [{"@type": "Property", "name": "p", "schema": "nope"}]})"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().error_code(), "DTDLParserError");
  EXPECT_NE(bad.status().message().find("dtmi:ex:Bad;1 at $[0].contents[0].schema"),
            std::string::npos) << bad.status().message();
}

TEST(ModelRegistry, NewModelsMayExtendCommittedOnes) {
  ModelRegistry reg;
  reg.Commit(reg.Prepare(BaseAndPump()).value(), "t");
  auto prepared = reg.Prepare(Docs({R"({"@context": "dtmi:dtdl:context;2",
      "@id": "dtmi:ex:BigPump;1", "@type": "Interface", "extends": "dtmi:ex:Pump;1",
      "contents": [{"@type": "Relationship", "name": "feeds", "target": "dtmi:ex:Asset;1"}]})"}));
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  reg.Commit(std::move(prepared).value(), "t2");
  EXPECT_TRUE(reg.IsOfModel("dtmi:ex:BigPump;1", "dtmi:ex:Asset;1"));
  EXPECT_TRUE(reg.IsOfModel("dtmi:ex:BigPump;1", "dtmi:ex:BigPump;1"));
  EXPECT_FALSE(reg.IsOfModel("dtmi:ex:Asset;1", "dtmi:ex:Pump;1"));
  EXPECT_FALSE(reg.IsOfModel("dtmi:ex:Unknown;1", "dtmi:ex:Asset;1"));
  EXPECT_NE(reg.Get("dtmi:ex:BigPump;1")->Find("serial"), nullptr);
}

TEST(ModelRegistry, ReferencedByListsDirectReferencesOnly) {
  ModelRegistry reg;
  reg.Commit(reg.Prepare(BaseAndPump()).value(), "t");
  reg.Commit(reg.Prepare(Docs({R"({"@context": "dtmi:dtdl:context;2",
      "@id": "dtmi:ex:Site;1", "@type": "Interface",
      "contents": [{"@type": "Component", "name": "main", "schema": "dtmi:ex:Pump;1"},
                   {"@type": "Relationship", "name": "has", "target": "dtmi:ex:Asset;1"}]})"}))
                 .value(),
             "t");
  EXPECT_EQ(reg.ReferencedBy("dtmi:ex:Asset;1"),
            (std::vector<std::string>{"dtmi:ex:Pump;1", "dtmi:ex:Site;1"}));
  EXPECT_EQ(reg.ReferencedBy("dtmi:ex:Pump;1"), std::vector<std::string>{"dtmi:ex:Site;1"});
  EXPECT_TRUE(reg.ReferencedBy("dtmi:ex:Site;1").empty());
}

TEST(ModelRegistry, DecommissionAndRemove) {
  ModelRegistry reg;
  reg.Commit(reg.Prepare(BaseAndPump()).value(), "t");
  reg.SetDecommissioned("dtmi:ex:Pump;1", true);
  EXPECT_TRUE(reg.Find("dtmi:ex:Pump;1")->decommissioned);
  reg.SetDecommissioned("dtmi:ex:Pump;1", false);
  EXPECT_FALSE(reg.Find("dtmi:ex:Pump;1")->decommissioned);
  reg.Remove("dtmi:ex:Pump;1");
  EXPECT_EQ(reg.Find("dtmi:ex:Pump;1"), nullptr);
  EXPECT_EQ(reg.Get("dtmi:ex:Pump;1"), nullptr);
  EXPECT_NE(reg.Find("dtmi:ex:Asset;1"), nullptr);
}

}  // namespace
}  // namespace doppel::model
