#include "sim/fmi/fmu_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "fmi_test_env.h"

namespace doppel::sim::fmi {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FmuRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    registry_.reset();
    catalog_ = ModelCatalog();
    auto registry = FmuRegistry::Open(RegistryOptions(dir()), catalog_);
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    registry_ = std::move(*registry);
  }
  fs::path dir() const { return scratch_.path() / "fmus"; }

  // Adds `fmu` as `name`, expecting `code` and `message`, and checks nothing was kept.
  void ExpectRefused(const std::string& fmu, StatusCode code, const std::string& message,
                     const std::string& name = "broken") {
    auto info = registry_->Add(name, fmu);
    ASSERT_FALSE(info.ok()) << name;
    EXPECT_EQ(info.status().code(), code) << info.status().ToString();
    EXPECT_THAT(info.status().message(), HasSubstr(message));
    EXPECT_FALSE(catalog_.Describe("fmu:" + name).ok());
    EXPECT_FALSE(fs::exists(dir() / (name + ".fmu")));
    EXPECT_FALSE(fs::exists(dir() / name));
    EXPECT_FALSE(fs::exists(dir() / (".staging-" + name)));
  }

  // The thermal mass registered as `name` steps and heats up, in this process's catalogue.
  void ExpectRuns(const std::string& name) {
    auto sim = catalog_.Create("fmu:" + name);
    ASSERT_TRUE(sim.ok()) << sim.status().ToString();
    ASSERT_TRUE((*sim)->Set(*(*sim)->info().Find("P_in"), 1000).ok());
    ASSERT_TRUE((*sim)->Step(10).ok());
    EXPECT_GT((*sim)->Get(*(*sim)->info().Find("T")), 20.0);
  }

  ScratchDir scratch_;
  ModelCatalog catalog_;
  std::unique_ptr<FmuRegistry> registry_;
};

TEST_F(FmuRegistryTest, AddRegistersIntoTheCatalog) {
  auto info = registry_->Add("thermal-mass_1", ThermalMass().Fmu());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->name, "fmu:thermal-mass_1");
  auto described = catalog_.Describe("fmu:thermal-mass_1");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->variables.size(), 8u);
  EXPECT_EQ(described->description,
            "A lumped thermal mass heated by P_in and cooled to T_amb through R.");
  EXPECT_THAT(registry_->Names(), ElementsAre("thermal-mass_1"));
  EXPECT_TRUE(fs::is_regular_file(dir() / "thermal-mass_1.fmu"));
  EXPECT_TRUE(fs::is_regular_file(dir() / "thermal-mass_1/binaries/linux64/thermal_mass.so"));
  ExpectRuns("thermal-mass_1");
}

TEST_F(FmuRegistryTest, RefusesBadNamesAndOversizedUploads) {
  for (std::string name : {std::string(), std::string("a b"), std::string("../x"),
                           std::string("fmu:x"), std::string(65, 'a')}) {
    auto info = registry_->Add(name, ThermalMass().Fmu());
    EXPECT_EQ(info.status().code(), StatusCode::kInvalidArgument) << name;
  }
  ModelCatalog catalog;
  auto options = RegistryOptions(scratch_.path() / "small");
  options.max_upload_bytes = 100;
  auto small = FmuRegistry::Open(options, catalog);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)->Add("x", ThermalMass().Fmu()).status().code(), StatusCode::kPayloadTooLarge);
}

TEST_F(FmuRegistryTest, BrokenFmusGetSpecificErrorsAndTheNextOneStillWorks) {
  const auto& tm = ThermalMass();
  ExpectRefused(tm.Archive(tm.xml, ""), StatusCode::kInvalidArgument,
                "FMU has no binaries/linux64/thermal_mass.so");
  ExpectRefused(tm.Archive("<fmiModelDescription fmiVersion=\"2.0\">", tm.so),
                StatusCode::kInvalidArgument, "modelDescription.xml: not well-formed XML");
  ExpectRefused(tm.Archive(Replace(tm.xml, "fmiVersion=\"2.0\"", "fmiVersion=\"3.0\""), tm.so),
                StatusCode::kInvalidArgument, "only FMI 2.0 is supported");
  ExpectRefused(tm.Archive("", tm.so), StatusCode::kInvalidArgument, "no modelDescription.xml");
  ExpectRefused(tm.Archive(tm.xml, tm.so_no_step), StatusCode::kInvalidArgument,
                "FMU 'broken' instantiate failed: the FMU's binary does not export fmi2DoStep");
  ExpectRefused(tm.Archive(tm.xml, tm.so, {{"../../escape.txt", "x"}}),
                StatusCode::kInvalidArgument, "'../../escape.txt' escapes the archive");
  EXPECT_FALSE(fs::exists(scratch_.path() / "escape.txt"));
  ExpectRefused(tm.Archive(tm.xml, "not an ELF file"), StatusCode::kInvalidArgument,
                "cannot load the FMU's binary");
  // A GUID the binary does not know: fmi2Instantiate returns NULL.
  ExpectRefused(tm.Archive(Replace(tm.xml, "{8c4e810f", "{00000000"), tm.so),
                StatusCode::kInvalidArgument, "fmi2Instantiate failed");
  EXPECT_TRUE(registry_->Names().empty());

  ASSERT_TRUE(registry_->Add("good", tm.Fmu()).ok());
  ExpectRuns("good");
}

TEST_F(FmuRegistryTest, ReloadsStoredFmusAfterARestart) {
  ASSERT_TRUE(registry_->Add("b", ThermalMass().Fmu()).ok());
  ASSERT_TRUE(registry_->Add("a", ThermalMass().Fmu()).ok());
  // A crash in the middle of an Add left a staging directory and damaged unpacked files.
  fs::create_directories(dir() / ".staging-c");
  fs::remove(dir() / "a/binaries/linux64/thermal_mass.so");
  Reopen();
  EXPECT_THAT(registry_->Names(), ElementsAre("a", "b"));
  EXPECT_TRUE(registry_->load_errors().empty());
  EXPECT_FALSE(fs::exists(dir() / ".staging-c"));
  ExpectRuns("a");
  ExpectRuns("b");
}

TEST_F(FmuRegistryTest, ADamagedStoredFmuIsSkippedAndReported) {
  ASSERT_TRUE(registry_->Add("good", ThermalMass().Fmu()).ok());
  std::ofstream(dir() / "bad.fmu") << "truncated";
  Reopen();
  EXPECT_THAT(registry_->Names(), ElementsAre("good"));
  auto errors = registry_->load_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message(), HasSubstr("FMU 'bad' could not be reloaded: not a zip archive"));
  ExpectRuns("good");
}

TEST_F(FmuRegistryTest, RemoveUnregistersAndDeletes) {
  ASSERT_TRUE(registry_->Add("gone", ThermalMass().Fmu()).ok());
  ASSERT_TRUE(registry_->Remove("gone").ok());
  EXPECT_EQ(catalog_.Create("fmu:gone").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir() / "gone.fmu"));
  EXPECT_FALSE(fs::exists(dir() / "gone"));
  EXPECT_EQ(registry_->Remove("gone").code(), StatusCode::kNotFound);
  Reopen();
  EXPECT_TRUE(registry_->Names().empty());
}

TEST_F(FmuRegistryTest, AddReplacesAnFmuOfTheSameName) {
  ASSERT_TRUE(registry_->Add("tm", ThermalMass().Fmu()).ok());
  std::string renamed = Replace(ThermalMass().xml, "name=\"P_in\"", "name=\"heat\"");
  ASSERT_TRUE(registry_->Add("tm", ThermalMass().Archive(renamed, ThermalMass().so)).ok());
  auto info = catalog_.Describe("fmu:tm");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->Find("heat").has_value());
  EXPECT_FALSE(info->Find("P_in").has_value());
  EXPECT_THAT(registry_->Names(), ElementsAre("tm"));
}

}  // namespace
}  // namespace doppel::sim::fmi
