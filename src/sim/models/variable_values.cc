#include "sim/models/variable_values.h"

#include <fmt/format.h>

#include <cmath>

namespace doppel::sim {

Variable DeclareVariable(Causality causality, const char* name, const char* unit, double start,
                         double min, double max, const char* what) {
  return {.name = name,
          .causality = causality,
          .unit = unit,
          .start = start,
          .min = min,
          .max = max,
          .description = what};
}

Variable DeclareOutput(const char* name, const char* unit, const char* what) {
  return {.name = name, .causality = Causality::kOutput, .unit = unit, .description = what};
}

VariableValues::VariableValues(const ModelInfo& info) {
  values_.reserve(info.variables.size());
  for (const Variable& variable : info.variables) values_.push_back(variable.start);
}

Status VariableValues::CheckSet(const ModelInfo& info, std::size_t variable, double value) {
  if (variable >= info.variables.size()) {
    return Status::InvalidArgument(
        fmt::format("model '{}' has no variable #{}", info.name, variable));
  }
  const Variable& v = info.variables[variable];
  if (v.causality == Causality::kOutput) {
    return Status::InvalidArgument(
        fmt::format("{} is an output of model '{}' and cannot be set", v.name, info.name));
  }
  if (!std::isfinite(value))
    return Status::InvalidArgument(fmt::format("{} = {} is not finite", v.name, value));
  if (value < v.min)
    return Status::InvalidArgument(
        fmt::format("{} = {} is below its minimum {}", v.name, value, v.min));
  if (value > v.max)
    return Status::InvalidArgument(
        fmt::format("{} = {} is above its maximum {}", v.name, value, v.max));
  return Status::Ok();
}

}  // namespace doppel::sim
