// Building FMUs from C source at run time, for the FMU tests (tests/sim/fmi) and the FMU
// benchmark (bench/fmu_benchmark.cc): compile a C file into a shared library, and package files
// into a real zip archive with libzip — the same kind of .fmu a user uploads.
//
//   FmuBuildEnv env{.source_dir = DOPPEL_SOURCE_DIR, .compiler = "cc", .work_dir = tmp};
//   auto so = BuildThermalMassBinary(env);                     // bytes of thermal_mass.so
//   auto xml = ThermalMassModelDescription(env);
//   auto fmu = ZipArchive(tmp / "t.fmu", {{"modelDescription.xml", *xml},
//                                         {"binaries/linux64/thermal_mass.so", *so}});
//
// Header-only and test-only: nothing in the server includes it. Not thread-safe (one builder
// per work directory).
#pragma once

#include <zip.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace doppel::sim::fmi::testing {

struct FmuBuildEnv {
  std::filesystem::path source_dir;  // the checkout: tests/sim/fmi/testdata lives below it
  std::string compiler = "cc";       // a C compiler
  std::filesystem::path work_dir;    // where the libraries and archives are written
};

inline Result<std::string> ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return std::move(bytes).str();
}

// cc -shared -fPIC -O2 (with -I<source_dir>/src for sim/fmi/fmi2.h) `source` -o `output`.
inline Status CompileSharedLibrary(const FmuBuildEnv& env, const std::filesystem::path& source,
                                   const std::filesystem::path& output,
                                   const std::vector<std::string>& flags = {}) {
  std::string command = "'" + env.compiler + "' -std=c11 -O2 -shared -fPIC -I'" +
                        (env.source_dir / "src").string() + "'";
  for (const auto& flag : flags) command += " '" + flag + "'";
  command += " -o '" + output.string() + "' '" + source.string() + "' -lm";
  if (std::system(command.c_str()) != 0) return Status::Internal("compile failed: " + command);
  return Status::Ok();
}

// A zip archive of `entries` (name → contents), written to `zip_path` and returned as bytes.
// Names are stored as given, so a test can write hostile ones ("../evil").
inline Result<std::string> ZipArchive(
    const std::filesystem::path& zip_path,
    const std::vector<std::pair<std::string, std::string>>& entries) {
  int error = 0;
  zip_t* archive = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!archive) return Status::Internal("zip_open failed for " + zip_path.string());
  for (const auto& [name, contents] : entries) {
    zip_source_t* source = zip_source_buffer(archive, contents.data(), contents.size(), 0);
    if (!source || zip_file_add(archive, name.c_str(), source, ZIP_FL_ENC_UTF_8) < 0) {
      if (source) zip_source_free(source);
      zip_discard(archive);
      return Status::Internal("zip_file_add failed for " + name);
    }
  }
  if (zip_close(archive) != 0) {
    zip_discard(archive);
    return Status::Internal("zip_close failed for " + zip_path.string());
  }
  return ReadFileBytes(zip_path);
}

inline std::filesystem::path ThermalMassSource(const FmuBuildEnv& env) {
  return env.source_dir / "tests/sim/fmi/testdata/thermal_mass.c";
}

// Compiles the thermal-mass FMU (tests/sim/fmi/testdata/thermal_mass.c) with `flags` (e.g.
// "-DTHERMAL_MASS_OMIT_DO_STEP") into work_dir/<library_name> and returns its bytes.
inline Result<std::string> BuildThermalMassBinary(
    const FmuBuildEnv& env, const std::vector<std::string>& flags = {},
    const std::string& library_name = "thermal_mass.so") {
  auto output = env.work_dir / library_name;
  DOPPEL_RETURN_IF_ERROR(CompileSharedLibrary(env, ThermalMassSource(env), output, flags));
  return ReadFileBytes(output);
}

inline Result<std::string> ThermalMassModelDescription(const FmuBuildEnv& env) {
  return ReadFileBytes(env.source_dir / "tests/sim/fmi/testdata/thermal_mass.xml");
}

// The complete thermal-mass .fmu (modelDescription.xml + binaries/linux64/thermal_mass.so).
inline Result<std::string> BuildThermalMassFmu(const FmuBuildEnv& env) {
  DOPPEL_ASSIGN_OR_RETURN(std::string so, BuildThermalMassBinary(env));
  DOPPEL_ASSIGN_OR_RETURN(std::string xml, ThermalMassModelDescription(env));
  return ZipArchive(env.work_dir / "thermal_mass.fmu",
                    {{"modelDescription.xml", xml}, {"binaries/linux64/thermal_mass.so", so}});
}

}  // namespace doppel::sim::fmi::testing
