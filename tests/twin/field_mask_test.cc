#include "twin/field_mask.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace doppel::twin {
namespace {

json::value J(std::string_view text) {
  auto parsed = ParseJson(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString() << " in " << text;
  return parsed.ok() ? std::move(parsed).value() : json::value();
}

// Hides badgeId and vitals/pulse ("personal") of dtmi:test:Operator;1, nothing else.
FieldMask OperatorMask() {
  FieldMask mask;
  mask.hidden = [](std::string_view model, std::string_view path) -> std::string_view {
    static const std::set<std::string, std::less<>> kHidden = {"badgeId", "vitals/pulse"};
    return model == "dtmi:test:Operator;1" && kHidden.contains(path) ? "personal" : "";
  };
  mask.hides_any = [](std::string_view model) { return model == "dtmi:test:Operator;1"; };
  return mask;
}

constexpr std::string_view kOperator = R"({"$dtId": "op-1",
  "$metadata": {"$model": "dtmi:test:Operator;1", "badgeId": {"lastUpdateTime": "t"}, "name": {"lastUpdateTime": "t"}},
  "badgeId": "B-17", "name": "Ada",
  "vitals": {"$metadata": {"pulse": {"lastUpdateTime": "t"}}, "pulse": 61, "posture": "upright"},
  "address": {"pulse": 1}})";

TEST(FieldMaskTest, MaskTwinDocumentRemovesValuesAndMarksMetadata) {
  json::object doc = J(kOperator).as_object();
  ASSERT_TRUE(MaskTwinDocument(doc, OperatorMask()));
  EXPECT_EQ(doc, J(R"({"$dtId": "op-1",
    "$metadata": {"$model": "dtmi:test:Operator;1", "badgeId": {"masked": "personal"}, "name": {"lastUpdateTime": "t"}},
    "name": "Ada",
    "vitals": {"$metadata": {"pulse": {"masked": "personal"}}, "posture": "upright"},
    "address": {"pulse": 1}})")
                     .as_object());  // an Object property (no $metadata) is not a component
}

TEST(FieldMaskTest, NothingHiddenLeavesTheDocumentAlone) {
  json::object doc = J(kOperator).as_object();
  doc["$metadata"].as_object()["$model"] = "dtmi:test:Machine;1";
  const json::object before = doc;
  EXPECT_FALSE(MaskTwinDocument(doc, OperatorMask()));
  EXPECT_FALSE(MaskTwinDocument(doc, FieldMask()));
  EXPECT_EQ(doc, before);
  EXPECT_EQ(FieldMask().Hides("dtmi:test:Operator;1", "badgeId"), "");
  EXPECT_EQ(OperatorMask().Hides("dtmi:test:Operator;1", "badgeId"), "personal");
}

TEST(FieldMaskTest, MaskComponentDocument) {
  json::object vitals = J(kOperator).at("vitals").as_object();
  ASSERT_TRUE(MaskComponentDocument(vitals, "dtmi:test:Operator;1", "vitals", OperatorMask()));
  EXPECT_EQ(
      vitals,
      J(R"({"$metadata": {"pulse": {"masked": "personal"}}, "posture": "upright"})").as_object());
}

TEST(FieldMaskTest, MaskPatchDropsOperationsOnHiddenValues) {
  json::array patch = J(R"([{"op": "replace", "path": "/badgeId", "value": "B-18"},
                            {"op": "replace", "path": "/name", "value": "Ada"},
                            {"op": "add", "path": "/vitals/pulse", "value": 80},
                            {"op": "replace", "path": "/$metadata/badgeId/lastUpdateTime", "value": "x"},
                            {"op": "replace", "path": "/vitals", "value": {"$metadata": {}, "pulse": 1}}])")
                          .as_array();
  ASSERT_TRUE(MaskPatch(patch, "dtmi:test:Operator;1", OperatorMask()));
  EXPECT_EQ(patch, J(R"([{"op": "replace", "path": "/name", "value": "Ada"},
                         {"op": "replace", "path": "/vitals",
                          "value": {"$metadata": {"pulse": {"masked": "personal"}}}}])"));
  json::array other = J(R"([{"op": "replace", "path": "/badgeId", "value": "B-18"}])").as_array();
  EXPECT_FALSE(MaskPatch(other, "dtmi:test:Machine;1", OperatorMask()));
  EXPECT_EQ(other.size(), 1u);
}

}  // namespace
}  // namespace doppel::twin
