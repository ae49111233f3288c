// Shared by the FMU tests: a scratch directory, the thermal-mass FMU built once per test binary
// from tests/sim/fmi/testdata, and registry options that run FMUs in the test's doppel binary.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "sim/fmi/fmu_registry.h"
#include "sim/fmi/testing/fmu_builder.h"

namespace doppel::sim::fmi {

// A fresh directory under the test temp dir, removed at destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::path(::testing::TempDir()) / "fmi-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The thermal-mass FMU's parts, built once.
struct ThermalMassParts {
  testing::FmuBuildEnv env;
  std::string so;          // binaries/linux64/thermal_mass.so
  std::string so_no_step;  // the same without fmi2DoStep
  std::string xml;         // modelDescription.xml

  // A .fmu of `xml` and `so` (either may be empty to leave the entry out) plus `extra` entries.
  std::string Archive(const std::string& model_description, const std::string& binary,
                      std::vector<std::pair<std::string, std::string>> extra = {}) const {
    std::vector<std::pair<std::string, std::string>> entries = std::move(extra);
    if (!model_description.empty()) entries.emplace_back("modelDescription.xml", model_description);
    if (!binary.empty()) entries.emplace_back("binaries/linux64/thermal_mass.so", binary);
    auto bytes = testing::ZipArchive(env.work_dir / "archive.fmu", entries);
    EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
    return bytes.ok() ? *bytes : std::string();
  }
  std::string Fmu() const { return Archive(xml, so); }
};

inline const ThermalMassParts& ThermalMass() {
  static const ThermalMassParts* parts = [] {
    static ScratchDir dir;
    auto* p = new ThermalMassParts;
    p->env = {
        .source_dir = DOPPEL_SOURCE_DIR, .compiler = DOPPEL_C_COMPILER, .work_dir = dir.path()};
    auto so = testing::BuildThermalMassBinary(p->env);
    auto so_no_step = testing::BuildThermalMassBinary(p->env, {"-DTHERMAL_MASS_OMIT_DO_STEP"},
                                                      "thermal_mass_no_step.so");
    auto xml = testing::ThermalMassModelDescription(p->env);
    EXPECT_TRUE(so.ok() && so_no_step.ok() && xml.ok()) << "cannot build the test FMU";
    if (so.ok()) p->so = *so;
    if (so_no_step.ok()) p->so_no_step = *so_no_step;
    if (xml.ok()) p->xml = *xml;
    return p;
  }();
  return *parts;
}

inline FmuRegistryOptions RegistryOptions(
    const std::filesystem::path& dir,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(20'000)) {
  FmuRegistryOptions options;
  options.directory = dir;
  options.host.executable = DOPPEL_BINARY;
  options.host.call_timeout = timeout;
  return options;
}

// `text` with the first `from` replaced by `to`.
inline std::string Replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

}  // namespace doppel::sim::fmi
