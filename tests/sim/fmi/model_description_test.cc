#include "sim/fmi/model_description.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fmi_test_env.h"

namespace doppel::sim::fmi {
namespace {

using ::testing::HasSubstr;

const Variable& Named(const ModelDescription& md, std::string_view name) {
  return md.info.variables.at(*md.info.Find(name));
}

TEST(ModelDescriptionTest, ReadsTheThermalMass) {
  auto md = ParseModelDescription(ThermalMass().xml);
  ASSERT_TRUE(md.ok()) << md.status().ToString();
  EXPECT_EQ(md->model_name, "thermalMass");
  EXPECT_EQ(md->model_identifier, "thermal_mass");
  EXPECT_EQ(md->guid, "{8c4e810f-3df3-4a00-8276-176fa3c9f000}");
  EXPECT_TRUE(md->can_get_and_set_fmu_state);
  EXPECT_TRUE(md->can_serialize_fmu_state);
  // The local dTdt is not exposed; everything else is, in document order.
  std::vector<std::string> names;
  for (const auto& v : md->info.variables) names.push_back(v.name);
  EXPECT_THAT(names,
              ::testing::ElementsAre("R", "C", "T0", "P_in", "T_amb", "T", "enabled", "stepCount"));
  ASSERT_EQ(md->bindings.size(), names.size());

  const Variable& r = Named(*md, "R");
  EXPECT_EQ(r.causality, Causality::kParameter);
  EXPECT_EQ(r.unit, "K/W");
  EXPECT_DOUBLE_EQ(r.start, 0.5);
  EXPECT_DOUBLE_EQ(r.min, 0.001);
  EXPECT_EQ(r.description, "Thermal resistance to ambient");
  EXPECT_TRUE(md->bindings[0].tunable);
  EXPECT_FALSE(md->bindings[2].tunable);  // T0 is fixed

  // declaredType supplies the unit and min; the variable's own start wins.
  const Variable& t_amb = Named(*md, "T_amb");
  EXPECT_EQ(t_amb.causality, Causality::kInput);
  EXPECT_EQ(t_amb.unit, "degC");
  EXPECT_DOUBLE_EQ(t_amb.min, -273.15);
  EXPECT_DOUBLE_EQ(t_amb.start, 20);
  EXPECT_EQ(md->bindings[4].value_reference, 4u);

  EXPECT_EQ(Named(*md, "T").causality, Causality::kOutput);
  const Variable& enabled = Named(*md, "enabled");
  EXPECT_DOUBLE_EQ(enabled.start, 1.0);
  EXPECT_DOUBLE_EQ(enabled.max, 1.0);
  EXPECT_EQ(md->bindings[6].type, FmiType::kBoolean);
  EXPECT_EQ(md->bindings[7].type, FmiType::kInteger);
}

void ExpectInvalid(const std::string& xml, const std::string& message) {
  auto md = ParseModelDescription(xml);
  ASSERT_FALSE(md.ok());
  EXPECT_EQ(md.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(md.status().message(), HasSubstr(message));
}

TEST(ModelDescriptionTest, RefusesMalformedXml) {
  ExpectInvalid("<fmiModelDescription fmiVersion=\"2.0\"", "not well-formed XML");
  ExpectInvalid("<other/>", "root element is not <fmiModelDescription>");
}

TEST(ModelDescriptionTest, RefusesOtherFmiVersions) {
  const std::string& xml = ThermalMass().xml;
  ExpectInvalid(Replace(xml, "fmiVersion=\"2.0\"", "fmiVersion=\"1.0\""),
                "fmiVersion is '1.0'; only FMI 2.0 is supported");
  ExpectInvalid(Replace(xml, "fmiVersion=\"2.0\"", "fmiVersion=\"3.0\""), "fmiVersion is '3.0'");
}

TEST(ModelDescriptionTest, RefusesModelExchangeOnlyFmus) {
  std::string xml = Replace(ThermalMass().xml, "<CoSimulation", "<ModelExchange");
  ExpectInvalid(xml, "no <CoSimulation> element");
}

TEST(ModelDescriptionTest, RefusesMissingAttributes) {
  const std::string& xml = ThermalMass().xml;
  ExpectInvalid(Replace(xml, "guid=\"{8c4e810f-3df3-4a00-8276-176fa3c9f000}\"", ""), "no guid");
  ExpectInvalid(Replace(xml, "modelIdentifier=\"thermal_mass\"", ""), "has no modelIdentifier");
  ExpectInvalid(Replace(xml, "name=\"R\" valueReference=\"0\"", "name=\"R\""),
                "variable 'R' has no valueReference");
  ExpectInvalid(Replace(xml, "name=\"R\" valueReference=\"0\"", "valueReference=\"0\""),
                "has no name attribute");
  ExpectInvalid(Replace(xml, "valueReference=\"0\"", "valueReference=\"-1\""),
                "variable 'R' has valueReference '-1'");
  ExpectInvalid(Replace(xml, "start=\"0.5\"", "start=\"half\""),
                "R.start = 'half' is not a number");
}

TEST(ModelDescriptionTest, RefusesDuplicateNamesAndUnknownCausality) {
  const std::string& xml = ThermalMass().xml;
  ExpectInvalid(Replace(xml, "name=\"C\"", "name=\"R\""), "duplicate variable name 'R'");
  ExpectInvalid(Replace(xml, "causality=\"input\"", "causality=\"sideways\""),
                "variable 'P_in' has unknown causality 'sideways'");
  ExpectInvalid(
      Replace(xml, "declaredType=\"Temperature\" start=\"20\"/>", "declaredType=\"Nope\"/>"),
      "unknown declaredType 'Nope'");
}

TEST(ModelDescriptionTest, RefusesAModelIdentifierThatIsAPath) {
  ExpectInvalid(Replace(ThermalMass().xml, "modelIdentifier=\"thermal_mass\"",
                        "modelIdentifier=\"../../evil\""),
                "is not a file name");
}

}  // namespace
}  // namespace doppel::sim::fmi
