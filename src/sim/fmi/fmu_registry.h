// The FMUs a server knows: uploaded .fmu archives kept in a directory, each validated on upload
// and registered into the ModelCatalog as "fmu:<name>", so scenarios, shadow mode and the API
// create them like any built-in model.
//
//   FmuRegistryOptions options{.directory = data_dir / "simulation" / "fmus"};
//   DOPPEL_ASSIGN_OR_RETURN(auto fmus, FmuRegistry::Open(options, catalog));
//   DOPPEL_ASSIGN_OR_RETURN(ModelInfo info, fmus->Add("thermalMass", body));
//   auto sim = catalog.Create("fmu:thermalMass");   // an FmuSimulation in its own process
//
// On disk: <directory>/<name>.fmu (the archive as uploaded) and <directory>/<name>/ (unpacked).
// Open re-unpacks every <name>.fmu, so a crash half-way through an unpack heals on restart.
//
// Thread-safe. The catalogue must outlive the registry. Removing or replacing an FMU leaves
// running simulations of it running (their child has the library loaded); Clones of them after
// a replace load the new binary.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sim/fmi/fmu_archive.h"
#include "sim/fmi/fmu_simulation.h"
#include "sim/simulation.h"

namespace doppel::sim::fmi {

struct FmuRegistryOptions {
  std::filesystem::path directory;  // created if missing; e.g. <dataDir>/simulation/fmus
  FmuHostOptions host = {};
  ArchiveLimits archive = {};
  // Largest .fmu accepted by Add. Default 64 MiB: a compiled co-simulation model with its
  // resources is typically well under 10 MiB.
  std::size_t max_upload_bytes = 64u << 20;
};

class FmuRegistry {
 public:
  // Opens (creating) options.directory and registers every stored FMU. An FMU that no longer
  // loads (a file damaged on disk) is skipped and reported in load_errors(); Internal only if
  // the directory itself cannot be created or read.
  static Result<std::unique_ptr<FmuRegistry>> Open(FmuRegistryOptions options,
                                                   ModelCatalog& catalog);

  // Validates and stores an FMU under `name`, replacing one of the same name, and registers it
  // as "fmu:<name>". Validation unpacks the archive (see UnpackFmu), parses modelDescription.xml
  // (ParseModelDescription), checks the linux64 binary and starts the FMU once in a child
  // process (all FMI functions present, fmi2Instantiate succeeds). Errors: InvalidArgument for
  // a bad name ([A-Za-z0-9_-]{1,64}) or a bad FMU, PayloadTooLarge over max_upload_bytes or the
  // archive limits, Internal for a failure to write the directory. Nothing is stored on error.
  Result<ModelInfo> Add(std::string_view name, std::string_view fmu_bytes);

  // Deletes the FMU and unregisters it; NotFound if unknown.
  Status Remove(std::string_view name);

  std::vector<std::string> Names() const;  // sorted
  // What Open skipped, one Status per FMU ("FMU 'x' could not be reloaded: ...").
  std::vector<Status> load_errors() const;

  // [A-Za-z0-9_-]{1,64}, else InvalidArgument.
  static Status ValidateName(std::string_view name);

 private:
  FmuRegistry(FmuRegistryOptions options, ModelCatalog& catalog);
  Status LoadStored(const std::string& name);
  Result<std::shared_ptr<const FmuModel>> Unpack(const std::string& name,
                                                 std::string_view fmu_bytes,
                                                 const std::filesystem::path& directory) const;
  void Register(std::shared_ptr<const FmuModel> model);

  const FmuRegistryOptions options_;
  ModelCatalog& catalog_;
  mutable std::mutex mu_;
  std::vector<std::string> names_;   // guarded by mu_
  std::vector<Status> load_errors_;  // guarded by mu_
};

}  // namespace doppel::sim::fmi
