// The simulation model contract: every physics model (built in or an FMU) is a `Simulation`
// that shadow mode, what-if scenarios and the API drive the same way.
//
//   auto sim = catalog.Create("windTurbine");            // Result<std::unique_ptr<Simulation>>
//   const ModelInfo& info = (*sim)->info();
//   (*sim)->Set(info.Index("windSpeed"), 11.5);          // an input (held until changed)
//   (*sim)->Step(60.0);                                   // advance 60 s of simulated time
//   double kw = (*sim)->Get(info.Index("electricalPower"));
//   auto fork = (*sim)->Clone();                          // an independent copy (what-if)
//
// Variables are numbered by their position in ModelInfo::variables. Every variable is a double
// (booleans 0/1, enumerations by index); units are SI-ish as the model documents them.
//   - kParameter: set before or between steps (e.g. ratedPower, bearing friction coefficient);
//   - kInput:     driven from outside each step (measured wind speed, rotor-speed limit);
//   - kOutput:    computed (power, bearing temperature, throughput); read-only;
//   - kState:     the model's internal continuous state (rotor speed, bearing temperature,
//                 damage). Readable and writable so a state estimator (Kalman filter) can
//                 correct it and a fork can start from an estimated state.
//
// A Simulation is not thread-safe: one owner steps it. Clone() it to run forks in parallel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace doppel::sim {

enum class Causality : uint8_t { kParameter, kInput, kOutput, kState };
// "parameter", "input", "output", "state".
std::string_view CausalityName(Causality causality);

struct Variable {
  std::string name;  // lowerCamelCase, unique in the model: "windSpeed"
  Causality causality = Causality::kOutput;
  std::string unit = {};         // "m/s", "kW", "degC", "1" (dimensionless); empty = none
  double start = 0.0;            // initial / default value
  double min = -std::numeric_limits<double>::infinity();  // Set refuses values outside
  double max = std::numeric_limits<double>::infinity();
  std::string description = {};  // one line, for the API's model catalogue
};

struct ModelInfo {
  std::string name;               // catalogue name: "windTurbine", "productionLine", "fmu:thermalMass"
  std::string description = {};   // one paragraph
  std::vector<Variable> variables = {};
  // Stochastic models (random failures, noise) draw from a generator seeded by Seed(); two
  // runs with the same seed, parameters and inputs give identical outputs.
  bool stochastic = false;

  // Position of `name` in variables, or nullopt.
  std::optional<std::size_t> Find(std::string_view variable) const;
  // Position of `name`, or InvalidArgument "model 'x' has no variable 'y'".
  Result<std::size_t> Index(std::string_view variable) const;
};

class Simulation {
 public:
  virtual ~Simulation() = default;

  virtual const ModelInfo& info() const = 0;

  // Sets a parameter, input or state. InvalidArgument for an output, an index out of range, a
  // non-finite value or one outside [min, max] ("windSpeed = -3 is below its minimum 0").
  virtual Status Set(std::size_t variable, double value) = 0;
  // Any variable's current value (outputs as of the last Step, or initial values before one).
  virtual double Get(std::size_t variable) const = 0;

  // Advances simulated time by dt_s > 0 seconds with the inputs held at their current values.
  // Outputs and states reflect the end of the step. An error (solver failure, FMU crash) leaves
  // the simulation unusable: further Steps return the same error.
  virtual Status Step(double dt_s) = 0;
  // Simulated seconds since the start (or since the state a fork was cloned from).
  virtual double time() const = 0;

  // Reseeds a stochastic model's random generator (no effect on a deterministic one).
  virtual void Seed(uint64_t seed) {}

  // An independent copy with the same parameters, inputs, state, time and random generator
  // state: stepping one never changes the other.
  virtual Result<std::unique_ptr<Simulation>> Clone() const = 0;
};

// Convenience: sets every (name → value) in `values`; stops at the first error, naming it.
Status SetByName(Simulation& sim, const std::map<std::string, double>& values);
// Convenience: current values of every variable by name.
std::map<std::string, double> ValuesByName(const Simulation& sim);

// The catalogue of models a server can instantiate: the built-in physics models, plus FMUs
// registered at run time. Thread-safe.
class ModelCatalog {
 public:
  using Factory = std::function<Result<std::unique_ptr<Simulation>>()>;

  // With the built-in models registered (windTurbine, productionLine, centrifugalPump).
  static ModelCatalog WithBuiltins();

  ModelCatalog();
  ModelCatalog(ModelCatalog&&) noexcept;
  ModelCatalog& operator=(ModelCatalog&&) noexcept;
  ~ModelCatalog();

  // Registers or replaces a model. `info` is what List/Describe answer without instantiating.
  void Register(ModelInfo info, Factory factory);
  // Removes one; false if unknown.
  bool Remove(std::string_view name);

  // NotFound "no simulation model 'x'" for an unknown name; the factory's error otherwise.
  Result<std::unique_ptr<Simulation>> Create(std::string_view name) const;
  Result<ModelInfo> Describe(std::string_view name) const;
  std::vector<ModelInfo> List() const;  // by name

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace doppel::sim
