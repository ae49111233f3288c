// DTDL rules beyond the common shapes: member names as DTMIs, dependent references,
// informal co-types, version differences, limits. (The conformance suite covers these
// exhaustively; these tests pin the behaviour without the shared data.)
#include <gtest/gtest.h>

#include "model/dtdl_parser.h"
#include "test_util.h"

namespace doppel::model {
namespace {

using testing::Docs;
using testing::ErrorsToString;
using testing::HasRule;

ParseResult Parse(std::string_view text, bool allow_undefined = false) {
  return DtdlParser(ParseOptions{.allow_undefined_extensions = allow_undefined})
      .Parse(Docs({text}));
}

std::string Doc(std::string_view context, std::string_view body) {
  return "{\"@context\": " + std::string(context) +
         ", \"@id\": \"dtmi:ex:I;1\", \"@type\": \"Interface\", " + std::string(body) + "}";
}

std::string V2(std::string_view body) { return Doc("\"dtmi:dtdl:context;2\"", body); }
std::string V3(std::string_view body) { return Doc("\"dtmi:dtdl:context;3\"", body); }

TEST(DtdlRules, MemberNamesMayBeDtmisButNotBoth) {
  auto ok = Parse(V2(R"("contents": {"@type": "Telemetry",
      "dtmi:dtdl:property:name;2": "t", "schema": "double"})"));
  ASSERT_TRUE(ok.ok()) << ErrorsToString(ok);
  EXPECT_NE(ok.interfaces[0]->Find("t"), nullptr);
  auto both = Parse(V2(R"("contents": {"@type": "Telemetry", "name": "t",
      "dtmi:dtdl:property:name;2": "u", "schema": "double"})"));
  EXPECT_TRUE(HasRule(both, "termAndDtmi")) << ErrorsToString(both);
}

TEST(DtdlRules, SchemasResolveByIdWithinTheInterface) {
  auto r = Parse(V2(R"("contents": [{"@type": "Property", "name": "p",
      "schema": ["dtmi:ex:Point;1"]}],
      "schemas": [{"@id": "dtmi:ex:Point;1", "@type": "Object",
                   "fields": [{"name": "x", "schema": "double"}]}])"));
  ASSERT_TRUE(r.ok()) << ErrorsToString(r);
  EXPECT_EQ(r.interfaces[0]->Find("p")->schema->fields[0].name, "x");
}

TEST(DtdlRules, ElementsOfAnotherInterfaceAreNotReferenceable) {
  auto r = DtdlParser().Parse(Docs({
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:A;1", "@type": "Interface",
          "contents": "dtmi:ex:T;1"})",
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:B;1", "@type": "Interface",
          "contents": {"@id": "dtmi:ex:T;1", "@type": "Telemetry", "name": "t",
                       "schema": "double"}})"}));
  EXPECT_TRUE(HasRule(r, "dependencyNotReferenceable")) << ErrorsToString(r);
}

TEST(DtdlRules, SelfContainingSchemaIsRejected) {
  auto r = Parse(V3(R"("schemas": {"@id": "dtmi:ex:Tree;1", "@type": "Object",
      "fields": [{"name": "child", "schema": "dtmi:ex:Tree;1"}]})"));
  EXPECT_TRUE(HasRule(r, "noPathToSelf")) << ErrorsToString(r);
}

TEST(DtdlRules, V2UndefinedCotypeAllowsUndefinedMembers) {
  auto plain = Parse(V2(R"("contents": {"@type": "Telemetry", "name": "t", "schema": "double",
      "foo": 1})"));
  EXPECT_TRUE(HasRule(plain, "undefinedMember")) << ErrorsToString(plain);
  auto cotyped = Parse(V2(R"("contents": {"@type": ["Telemetry", "Foo"], "name": "t",
      "schema": "double", "foo": 1})"));
  EXPECT_TRUE(cotyped.ok()) << ErrorsToString(cotyped);
}

TEST(DtdlRules, V3UndefinedCotypeNeedsAnUndefinedExtensionAllowed) {
  auto without = Parse(V3(R"("contents": {"@type": ["Telemetry", "Foo"], "name": "t",
      "schema": "double"})"));
  EXPECT_TRUE(HasRule(without, "badType")) << ErrorsToString(without);
  std::string with = Doc(R"(["dtmi:dtdl:context;3", "dtmi:ex:ext;1"])",
      R"("contents": {"@type": ["Telemetry", "Foo"], "name": "t", "schema": "double",
          "foo": 1})");
  EXPECT_TRUE(HasRule(Parse(with), "unresolvableContextSpecifier"));
  EXPECT_TRUE(Parse(with, true).ok());
}

TEST(DtdlRules, V2PropertiesMayNotHoldArrays) {
  constexpr std::string_view kBody = R"("contents": {"@type": "Property", "name": "p",
      "schema": {"@type": "Object", "fields": [{"name": "xs",
        "schema": {"@type": "Array", "elementSchema": "long"}}]}})";
  EXPECT_TRUE(HasRule(Parse(V2(kBody)), "propertySchemaExcludesArray"));
  EXPECT_TRUE(Parse(V3(kBody)).ok());
}

TEST(DtdlRules, V2SemanticTypeNeedsAMatchingUnitAndNumericSchema) {
  auto wrong_unit = Parse(V2(R"("contents": {"@type": ["Telemetry", "Temperature"],
      "name": "t", "schema": "double", "unit": "metre"})"));
  EXPECT_TRUE(HasRule(wrong_unit, "unitMismatch")) << ErrorsToString(wrong_unit);
  auto no_unit = Parse(V2(R"("contents": {"@type": ["Telemetry", "Temperature"],
      "name": "t", "schema": "double"})"));
  EXPECT_TRUE(HasRule(no_unit, "missingUnit"));
  auto text = Parse(V2(R"("contents": {"@type": ["Telemetry", "Temperature"],
      "name": "t", "schema": "string", "unit": "kelvin"})"));
  EXPECT_TRUE(HasRule(text, "semanticTypeNeedsNumericSchema"));
}

TEST(DtdlRules, LocalizableStringForms) {
  auto r = Parse(V2(R"("displayName": [{"@value": "Pumpe", "@language": "de"}, "Pump"],
      "description": {"en": "A pump", "fr-CA": "Une pompe"})"));
  ASSERT_TRUE(r.ok()) << ErrorsToString(r);
  EXPECT_EQ(r.interfaces[0]->display_name.at("de"), "Pumpe");
  EXPECT_EQ(r.interfaces[0]->display_name.at("en"), "Pump");
  EXPECT_EQ(r.interfaces[0]->description.at("fr-CA"), "Une pompe");
  EXPECT_FALSE(Parse(V2(R"("displayName": {"@value": "x", "@language": "en"})")).ok());
  EXPECT_FALSE(Parse(V2(R"("displayName": {"English": "x"})")).ok());
  EXPECT_FALSE(Parse(V2(R"("displayName": "this display name is longer than sixty-four characters, which v2 forbids")")).ok());
}

TEST(DtdlRules, SchemaNestingIsLimitedToFiveLevels) {
  std::string schema = "\"double\"";
  for (int i = 0; i < 5; ++i) schema = R"({"@type": "Array", "elementSchema": )" + schema + "}";
  std::string body = R"("contents": {"@type": "Telemetry", "name": "t", "schema": )";
  EXPECT_TRUE(Parse(V3(body + schema + "}")).ok());
  schema = R"({"@type": "Array", "elementSchema": )" + schema + "}";
  EXPECT_TRUE(HasRule(Parse(V3(body + schema + "}")), "excessiveDepth"));
}

TEST(DtdlRules, ExtendsDepthIsLimitedToTen) {
  std::vector<std::string> texts;
  for (int i = 0; i <= 11; ++i) {
    std::string extends = i == 0 ? "" : ", \"extends\": \"dtmi:ex:I" + std::to_string(i - 1) + ";1\"";
    texts.push_back(R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:I)" +
                    std::to_string(i) + R"(;1", "@type": "Interface")" + extends + "}");
  }
  std::vector<json::value> docs;
  for (std::size_t i = 0; i < texts.size(); ++i) docs.push_back(testing::Json(texts[i]));
  EXPECT_TRUE(HasRule(DtdlParser().Parse(docs), "excessiveDepth"));
  docs.pop_back();
  EXPECT_TRUE(DtdlParser().Parse(docs).ok());
}

TEST(DtdlRules, V3MayUseV2ElementsButNotTheReverse) {
  auto v3_uses_v2 = Parse(V3(R"("contents": {"@type": "Component", "name": "c",
      "schema": {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Old;1",
                 "@type": "Interface"}})"));
  EXPECT_TRUE(v3_uses_v2.ok()) << ErrorsToString(v3_uses_v2);
  auto v2_uses_v3 = Parse(V2(R"("contents": {"@type": "Component", "name": "c",
      "schema": {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:New;1",
                 "@type": "Interface"}})"));
  EXPECT_TRUE(HasRule(v2_uses_v3, "versionMismatch")) << ErrorsToString(v2_uses_v3);
}

TEST(DtdlRules, WritableOnlyOnPropertiesAndRelationships) {
  EXPECT_TRUE(Parse(V2(R"("contents": {"@type": "Relationship", "name": "r",
      "writable": true})")).ok());
  EXPECT_FALSE(Parse(V2(R"("contents": {"@type": "Telemetry", "name": "t",
      "schema": "double", "writable": true})")).ok());
}

TEST(DtdlRules, InlineInterfacesAreFoldedIntoTheirDocument) {
  auto r = Parse(V2(R"("extends": {"@id": "dtmi:ex:Base;1", "@type": "Interface",
      "contents": {"@type": "Property", "name": "p", "schema": "long"}},
      "contents": {"@type": "Component", "name": "c",
                   "schema": {"@id": "dtmi:ex:Part;1", "@type": "Interface"}})"));
  ASSERT_TRUE(r.ok()) << ErrorsToString(r);
  ASSERT_EQ(r.interfaces.size(), 1u);  // only the document's own interface
  const Interface& i = *r.interfaces[0];
  EXPECT_TRUE(i.ancestors.contains("dtmi:ex:Base;1"));
  EXPECT_EQ(i.Find("p")->defined_in, "dtmi:ex:Base;1");
  EXPECT_EQ(i.Find("c")->component_interface, "dtmi:ex:Part;1");
  EXPECT_TRUE(i.source.is_object());
}

TEST(DtdlRules, IdsAreCheckedAndUnique) {
  EXPECT_TRUE(HasRule(Parse(V2(R"("contents": {"@id": "dtmi:ex:I;1", "@type": "Command",
      "name": "c"})")), "duplicateId"));
  EXPECT_TRUE(HasRule(Parse(V2(R"("contents": {"@id": "dtmi:dtdl:x;1", "@type": "Command",
      "name": "c"})")), "invalidId"));
}

}  // namespace
}  // namespace doppel::model
