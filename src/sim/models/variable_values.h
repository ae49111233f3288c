// What the built-in physics models share about their variables: declaring them, storing one
// double per ModelInfo variable, and the contract's checks on Simulation::Set
// (src/sim/simulation.h) in one place.
//
//   VariableValues values(Info());          // every variable at its `start`
//   DOPPEL_RETURN_IF_ERROR(values.CheckSet(Info(), index, 11.5));
//
// Not thread-safe (it belongs to one Simulation).
#pragma once

#include <cstddef>
#include <vector>

#include "base/status.h"
#include "sim/simulation.h"

namespace doppel::sim {

// A variable of a built-in model's ModelInfo (what = its one-line description).
Variable DeclareVariable(Causality causality, const char* name, const char* unit, double start,
                         double min, double max, const char* what);
// An output: no start value or range.
Variable DeclareOutput(const char* name, const char* unit, const char* what);

class VariableValues {
 public:
  explicit VariableValues(const ModelInfo& info);

  // InvalidArgument for an index out of range, an output, a non-finite value or one outside
  // the variable's [min, max], naming the variable ("windSpeed = -3 is below its minimum 0").
  static Status CheckSet(const ModelInfo& info, std::size_t variable, double value);

  double operator[](std::size_t variable) const { return values_[variable]; }
  double& operator[](std::size_t variable) { return values_[variable]; }

 private:
  std::vector<double> values_;
};

}  // namespace doppel::sim
