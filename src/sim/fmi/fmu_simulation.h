// An FMI 2.0 co-simulation FMU as a sim::Simulation. Each FmuSimulation owns one child process
// (`doppel fmu-host`) that has the FMU's shared library loaded; Step, Set and Get become
// requests to it (sim/fmi/internal/fmu_protocol.h). A crash, abort or endless loop inside the
// FMU therefore ends only the child: the call returns a Status and the server carries on.
//
//   auto model = std::make_shared<FmuModel>(FmuModel{.name = "thermalMass", ...});
//   DOPPEL_ASSIGN_OR_RETURN(auto sim, FmuSimulation::Create(model));
//   sim->Set(*sim->info().Find("P_in"), 500.0);
//   DOPPEL_RETURN_IF_ERROR(sim->Step(1.0));   // one request and one reply
//
// Life cycle: Create spawns the child, loads and instantiates the FMU. Sets before the first
// Step are applied in initialisation mode (so fixed parameters may be set then); the first
// Step initialises the FMU at time 0, then every Step is fmi2DoStep(time, dt) with the inputs
// set since the last Step batched into the same request and every variable's new value in the
// reply. After initialisation only inputs and tunable parameters may be Set.
//
// Errors: a call that fails inside the FMU, a crash ("FMU 'x' crashed in doStep (signal 11,
// Segmentation fault)") or a call that does not finish within FmuHostOptions::call_timeout
// (the child is killed) is an Internal error that leaves the simulation unusable, as the
// Simulation contract says. A broken FMU found while loading (missing symbol, fmi2Instantiate
// failed) is InvalidArgument.
//
// Clone() before the first Step starts a fresh child with the same pending values; after it,
// the FMU must declare canGetAndSetFMUstate and canSerializeFMUstate (else Conflict): the
// state is serialised by this child and restored into a new one.
//
// Not thread-safe (one owner steps it), as every Simulation. The destructor asks the child to
// terminate, waits up to the timeout and kills it otherwise.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/fmi/model_description.h"
#include "sim/simulation.h"

namespace doppel::sim::fmi {

namespace internal {
class FmuProcess;
struct IndexedValue;
}  // namespace internal

struct FmuHostOptions {
  // The executable that serves FMUs: the doppel binary. Empty = this process's own executable
  // (/proc/self/exe), which is right in the server; tests and benchmarks name the binary.
  std::string executable;
  // Arguments before "--fd N". Default: the hidden `doppel fmu-host` subcommand.
  std::vector<std::string> arguments = {"fmu-host"};
  // Longest any one call into the FMU (load, initialise, doStep, state save/restore) may take
  // before the child is killed. Default 10 s: generous for a co-simulation step, short enough
  // that a hung FMU does not stall a shadow-mode loop for long.
  std::chrono::milliseconds call_timeout{10'000};
};

// One FMU on disk, unpacked and parsed: what every FmuSimulation of it shares. Immutable.
struct FmuModel {
  std::string name;                 // the registry's name; the catalogue's is info.name
  ModelDescription description;     // description.info.name = "fmu:<name>"
  std::filesystem::path directory;  // the unpacked archive
  std::filesystem::path binary;     // directory/binaries/linux64/<modelIdentifier>.so
  FmuHostOptions host;
};

class FmuSimulation final : public Simulation {
 public:
  // Spawns the child, loads the binary, resolves the FMI functions and instantiates the FMU.
  static Result<std::unique_ptr<FmuSimulation>> Create(std::shared_ptr<const FmuModel> model);

  ~FmuSimulation() override;
  FmuSimulation(const FmuSimulation&) = delete;
  FmuSimulation& operator=(const FmuSimulation&) = delete;

  const ModelInfo& info() const override { return model_->description.info; }
  Status Set(std::size_t variable, double value) override;
  double Get(std::size_t variable) const override;
  Status Step(double dt_s) override;
  double time() const override { return time_; }
  Result<std::unique_ptr<Simulation>> Clone() const override;

 private:
  FmuSimulation(std::shared_ptr<const FmuModel> model,
                std::unique_ptr<internal::FmuProcess> process);

  Status CheckSettable(std::size_t variable, double value) const;
  Status Initialize();
  // Sends `frame` and stores the values in the reply; a failure makes the simulation unusable.
  Status Exchange(const char* operation, const std::string& frame);
  Status ReadValues(std::string_view reply);
  Result<std::unique_ptr<FmuSimulation>> CloneState() const;

  std::shared_ptr<const FmuModel> model_;
  std::unique_ptr<internal::FmuProcess> process_;
  std::vector<double> values_;                   // by variable index
  std::vector<internal::IndexedValue> pending_;  // Sets not yet sent to the child
  bool initialized_ = false;
  double time_ = 0.0;
  Status failure_;  // once not OK, every Step returns it
};

}  // namespace doppel::sim::fmi
