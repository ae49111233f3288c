#include "model/dtdl_parser.h"

#include <gtest/gtest.h>

#include "model/internal/dtmi.h"
#include "test_util.h"

namespace doppel::model {
namespace {

using testing::Docs;
using testing::ErrorsToString;
using testing::HasRule;

constexpr std::string_view kThermostat = R"({
  "@context": "dtmi:dtdl:context;2",
  "@id": "dtmi:com:example:Thermostat;1",
  "@type": "Interface",
  "displayName": "Thermostat",
  "description": {"en": "Reports temperature", "de": "Meldet Temperatur"},
  "comment": "for tests",
  "contents": [
    {"@type": ["Telemetry", "Temperature"], "name": "temp", "schema": "double",
     "unit": "degreeCelsius"},
    {"@type": "Property", "name": "targetTemp", "schema": "double", "writable": true},
    {"@type": "Property", "name": "mode", "schema": "dtmi:com:example:Mode;1"},
    {"@type": "Command", "name": "reboot",
     "request": {"name": "delay", "schema": "duration"},
     "response": {"name": "ok", "schema": "boolean"}},
    {"@type": "Relationship", "name": "feeds", "target": "dtmi:com:example:Room;1",
     "minMultiplicity": 0, "maxMultiplicity": 3,
     "properties": [{"@type": "Property", "name": "since", "schema": "dateTime"}]}
  ],
  "schemas": [
    {"@id": "dtmi:com:example:Mode;1", "@type": "Enum", "valueSchema": "string",
     "enumValues": [{"name": "off", "enumValue": "off"}, {"name": "heat", "enumValue": "heat"}]}
  ]
})";

ParseResult ParseOne(std::string_view text, ParseOptions options = {}) {
  return DtdlParser(options).Parse(Docs({text}));
}

TEST(DtdlParser, ParsesCommonInterface) {
  auto r = ParseOne(kThermostat);
  ASSERT_TRUE(r.ok()) << ErrorsToString(r);
  ASSERT_EQ(r.interfaces.size(), 1u);
  const Interface& i = *r.interfaces[0];
  EXPECT_EQ(i.id, "dtmi:com:example:Thermostat;1");
  EXPECT_EQ(i.dtdl_version, 2);
  EXPECT_EQ(i.display_name.at("en"), "Thermostat");
  EXPECT_EQ(i.description.at("de"), "Meldet Temperatur");
  EXPECT_EQ(i.comment, "for tests");
  ASSERT_EQ(i.contents.size(), 5u);

  const Content* temp = i.Find("temp");
  ASSERT_NE(temp, nullptr);
  EXPECT_EQ(temp->kind, ContentKind::kTelemetry);
  EXPECT_EQ(temp->semantic_types, std::vector<std::string>{"Temperature"});
  EXPECT_EQ(temp->unit, "degreeCelsius");
  EXPECT_EQ(temp->schema->primitive, PrimitiveType::kDouble);

  EXPECT_TRUE(i.Find("targetTemp")->writable);
  const Content* mode = i.Find("mode");
  ASSERT_EQ(mode->schema->kind, Schema::Kind::kEnum);
  EXPECT_EQ(mode->schema->id, "dtmi:com:example:Mode;1");
  ASSERT_EQ(mode->schema->enum_values.size(), 2u);
  EXPECT_EQ(mode->schema->enum_values[1].value.as_string(), "heat");

  const Content* reboot = i.Find("reboot");
  ASSERT_TRUE(reboot->request.has_value());
  EXPECT_EQ(reboot->request->name, "delay");
  EXPECT_EQ(reboot->request->schema->primitive, PrimitiveType::kDuration);
  EXPECT_EQ(reboot->response->schema->primitive, PrimitiveType::kBoolean);

  const Content* feeds = i.Find("feeds");
  EXPECT_EQ(feeds->target, "dtmi:com:example:Room;1");
  EXPECT_EQ(feeds->min_multiplicity, 0);
  EXPECT_EQ(feeds->max_multiplicity, 3);
  ASSERT_EQ(feeds->relationship_properties.size(), 1u);
  EXPECT_EQ(feeds->relationship_properties[0].schema->primitive, PrimitiveType::kDateTime);
  EXPECT_EQ(feeds->defined_in, i.id);
}

TEST(DtdlParser, ParsesComplexSchemasInline) {
  auto r = ParseOne(R"({
    "@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:S;1", "@type": "Interface",
    "contents": [
      {"@type": "Property", "name": "cfg", "schema": {"@type": "Object", "fields": [
        {"name": "speed", "schema": "integer"},
        {"name": "tags", "schema": {"@type": "Array", "elementSchema": "string"}},
        {"name": "limits", "schema": {"@type": "Map",
          "mapKey": {"name": "k", "schema": "string"},
          "mapValue": {"name": "v", "schema": "long"}}}]}}]
  })");
  ASSERT_TRUE(r.ok()) << ErrorsToString(r);
  const Schema& cfg = *r.interfaces[0]->Find("cfg")->schema;
  ASSERT_EQ(cfg.kind, Schema::Kind::kObject);
  ASSERT_EQ(cfg.fields.size(), 3u);
  EXPECT_EQ(cfg.fields[0].schema->primitive, PrimitiveType::kInteger);
  EXPECT_EQ(cfg.fields[1].schema->kind, Schema::Kind::kArray);
  EXPECT_EQ(cfg.fields[1].schema->element->primitive, PrimitiveType::kString);
  const Schema& limits = *cfg.fields[2].schema;
  EXPECT_EQ(limits.map_key_name, "k");
  EXPECT_EQ(limits.map_value_name, "v");
  EXPECT_EQ(limits.map_value->primitive, PrimitiveType::kLong);
}

TEST(DtdlParser, FlattensMultipleAndTransitiveExtends) {
  auto r = DtdlParser().Parse(Docs({
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Leaf;1", "@type": "Interface",
          "extends": ["dtmi:ex:Mid;1", "dtmi:ex:Other;1"],
          "contents": [{"@type": "Property", "name": "leaf", "schema": "string"}]})",
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Mid;1", "@type": "Interface",
          "extends": "dtmi:ex:Base;1",
          "contents": [{"@type": "Property", "name": "mid", "schema": "string"}]})",
      R"([{"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Base;1", "@type": "Interface",
           "contents": [{"@type": "Telemetry", "name": "base", "schema": "float"}]},
          {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Other;1", "@type": "Interface",
           "extends": "dtmi:ex:Base;1"}])",
  }));
  ASSERT_TRUE(r.ok()) << ErrorsToString(r);
  ASSERT_EQ(r.interfaces.size(), 4u);
  const Interface* leaf = nullptr;
  for (const auto& i : r.interfaces) {
    if (i->id == "dtmi:ex:Leaf;1") leaf = i.get();
  }
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(leaf->extends, (std::vector<std::string>{"dtmi:ex:Mid;1", "dtmi:ex:Other;1"}));
  EXPECT_EQ(leaf->ancestors,
            (std::set<std::string>{"dtmi:ex:Mid;1", "dtmi:ex:Other;1", "dtmi:ex:Base;1"}));
  ASSERT_EQ(leaf->contents.size(), 3u);  // the diamond brings "base" once
  EXPECT_EQ(leaf->Find("base")->defined_in, "dtmi:ex:Base;1");
  EXPECT_EQ(leaf->Find("leaf")->defined_in, "dtmi:ex:Leaf;1");
}

TEST(DtdlParser, ResolvesBasesAndComponentsFromKnownModels) {
  auto base = DtdlParser().Parse(Docs({
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Base;1", "@type": "Interface",
          "contents": [{"@type": "Property", "name": "p", "schema": "long"}]})"}));
  ASSERT_TRUE(base.ok());
  InterfacePtr known = base.interfaces[0];
  auto r = DtdlParser().Parse(
      Docs({R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:D;1", "@type": "Interface",
                "extends": "dtmi:ex:Base;1",
                "contents": [{"@type": "Component", "name": "c", "schema": "dtmi:ex:Base;1"}]})"}),
      [&](std::string_view id) { return id == known->id ? known : nullptr; });
  ASSERT_TRUE(r.ok()) << ErrorsToString(r);
  const Interface& d = *r.interfaces[0];
  EXPECT_NE(d.Find("p"), nullptr);
  EXPECT_EQ(d.Find("c")->component_interface, "dtmi:ex:Base;1");
}

TEST(DtdlParser, ReportsUnresolvedReference) {
  auto r = ParseOne(R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:D;1",
                        "@type": "Interface", "extends": "dtmi:ex:Missing;1"})");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasRule(r, "unresolvedReference")) << ErrorsToString(r);
  EXPECT_TRUE(r.interfaces.empty());
  EXPECT_EQ(r.errors[0].model_id, "dtmi:ex:D;1");
}

TEST(DtdlParser, RejectsCyclicExtends) {
  auto r = DtdlParser().Parse(Docs({
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:A;1", "@type": "Interface",
          "extends": "dtmi:ex:B;1"})",
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:B;1", "@type": "Interface",
          "extends": "dtmi:ex:A;1"})"}));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasRule(r, "extendsCycle")) << ErrorsToString(r);
}

TEST(DtdlParser, RejectsDuplicateNamesIncludingInherited) {
  auto r = DtdlParser().Parse(Docs({
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:A;1", "@type": "Interface",
          "contents": [{"@type": "Property", "name": "x", "schema": "long"}]})",
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:B;1", "@type": "Interface",
          "extends": "dtmi:ex:A;1",
          "contents": [{"@type": "Telemetry", "name": "x", "schema": "long"}]})"}));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasRule(r, "duplicateContentName")) << ErrorsToString(r);
}

TEST(DtdlParser, RejectsBadNamesAndMissingSchema) {
  auto r = ParseOne(R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:A;1",
      "@type": "Interface", "contents": [
        {"@type": "Property", "name": "1bad", "schema": "long"},
        {"@type": "Telemetry", "name": "noSchema"}]})");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 2u) << ErrorsToString(r);
  EXPECT_EQ(r.errors[0].json_path, "$[0].contents[0].name");
  EXPECT_EQ(r.errors[1].rule, "missingRequiredProperty");
}

TEST(DtdlParser, RejectsNonInterfaceAtTopLevel) {
  auto r = ParseOne(R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:T;1",
                        "@type": "Telemetry", "name": "t", "schema": "double"})");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasRule(r, "typeNotRootable"));
}

TEST(DtdlParser, V2RejectsNonZeroMinMultiplicity) {
  auto r = ParseOne(R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:A;1",
      "@type": "Interface",
      "contents": [{"@type": "Relationship", "name": "r", "minMultiplicity": 1}]})");
  EXPECT_FALSE(r.ok());
}

TEST(DtdlParser, V3SemanticTypesNeedTheQuantitativeTypesExtension) {
  constexpr std::string_view kBody = R"("@id": "dtmi:ex:A;1", "@type": "Interface",
      "contents": [{"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double",
                    "unit": "degreeCelsius"}]})";
  auto without = ParseOne(std::string(R"({"@context": "dtmi:dtdl:context;3",)") + kBody.data());
  EXPECT_FALSE(without.ok());
  auto with = ParseOne(std::string(R"({"@context": ["dtmi:dtdl:context;3",
      "dtmi:dtdl:extension:quantitativeTypes;1"],)") + kBody.data());
  EXPECT_TRUE(with.ok()) << ErrorsToString(with);
}

TEST(DtdlParser, UndefinedExtensionsNeedTheOption) {
  constexpr std::string_view kModel = R"({"@context": ["dtmi:dtdl:context;3",
      "dtmi:undefinedExtension:context;1"], "@id": "dtmi:ex:A;1", "@type": "Interface",
      "contents": [{"@type": ["Telemetry", "Foobar"], "name": "t", "schema": "double"}]})";
  EXPECT_FALSE(ParseOne(kModel).ok());
  EXPECT_TRUE(ParseOne(kModel, ParseOptions{.allow_undefined_extensions = true}).ok());
}

TEST(DtdlParser, ComponentSchemaMustNotHaveComponents) {
  auto r = DtdlParser().Parse(Docs({
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Inner;1", "@type": "Interface",
          "contents": [{"@type": "Component", "name": "c", "schema": "dtmi:ex:Leaf;1"}]})",
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Leaf;1", "@type": "Interface"})",
      R"({"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:Outer;1", "@type": "Interface",
          "contents": [{"@type": "Component", "name": "c", "schema": "dtmi:ex:Inner;1"}]})"}));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasRule(r, "nestedComponent")) << ErrorsToString(r);
}

TEST(DtdlParser, ErrorToStringNamesModelPathAndRule) {
  ModelError e{"dtmi:x;1", "$[0].contents[2].schema", "invalidSchema", "'foo' is not a schema"};
  EXPECT_EQ(e.ToString(), "dtmi:x;1 at $[0].contents[2].schema: 'foo' is not a schema "
                          "(invalidSchema)");
}

TEST(Dtmi, FollowsVersionRules) {
  EXPECT_TRUE(IsValidDtmi("dtmi:com:example:Thermostat;1"));
  EXPECT_TRUE(IsValidDtmi("dtmi:foo:bar;3.14"));
  EXPECT_FALSE(IsValidDtmi("dtmi:foo:bar;0"));
  EXPECT_FALSE(IsValidDtmi("dtmi:foo::bar;1"));
  EXPECT_FALSE(IsValidDtmi("dtmi:foo:bar_;1"));
  EXPECT_FALSE(IsValidDtmi("urn:foo:bar:1"));
  using internal::DtmiRules;
  EXPECT_FALSE(internal::IsDtmi("dtmi:foo:bar", DtmiRules{2, false}));
  EXPECT_FALSE(internal::IsDtmi("dtmi:foo:bar;1.2", DtmiRules{2, false}));
  EXPECT_TRUE(internal::IsDtmi("dtmi:foo:bar", DtmiRules{3, false}));
  EXPECT_TRUE(internal::IsDtmi("dtmi:foo:_contents:__x;1", DtmiRules{3, true}));
}

}  // namespace
}  // namespace doppel::model
