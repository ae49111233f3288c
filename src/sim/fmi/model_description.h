// modelDescription.xml of an FMI 2.0 co-simulation FMU, read into what Doppel needs: the
// co-simulation capabilities and the scalar variables as a sim::ModelInfo.
//
//   DOPPEL_ASSIGN_OR_RETURN(ModelDescription md, ParseModelDescription(xml));
//   md.info.name = "fmu:thermalMass";
//   // md.info.variables[i] is bound to md.bindings[i] (value reference and FMI type)
//
// Variable mapping (FMI causality → sim::Causality):
//   parameter → kParameter (fixed ones only before the first Step, tunable ones any time)
//   input     → kInput
//   output, calculatedParameter → kOutput
//   local, independent → not exposed. FMI 2.0 forbids setting local variables of a
//   co-simulation FMU after initialisation, so they could not honour kState's "writable"
//   contract; an FMU shows what it wants watched as outputs. (Time is Simulation::time().)
// Types: Real, Integer, Enumeration (as its integer value) and Boolean (0/1) become doubles;
// String variables are not exposed. Integer/Boolean min and max come from the XML (Boolean
// 0..1); unit is the Real's unit (or its declaredType's, when the variable names none).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sim/simulation.h"

namespace doppel::sim::fmi {

enum class FmiType : uint8_t { kReal = 0, kInteger = 1, kBoolean = 2 };

// How one exposed variable is reached through the FMI API.
struct FmiBinding {
  uint32_t value_reference = 0;
  FmiType type = FmiType::kReal;
  // For parameters: variability "tunable" (may change between steps) rather than "fixed".
  bool tunable = false;
};

struct ModelDescription {
  std::string model_name;        // <fmiModelDescription modelName>
  std::string guid;              // passed back to fmi2Instantiate
  std::string model_identifier;  // <CoSimulation modelIdentifier>: the .so's base name
  bool can_get_and_set_fmu_state = false;
  bool can_serialize_fmu_state = false;
  // name is left empty (the registry names it "fmu:<name>"); description from the XML.
  ModelInfo info;
  std::vector<FmiBinding> bindings;  // parallel to info.variables
};

// Parses a modelDescription.xml. InvalidArgument, naming the problem, for malformed XML, an
// fmiVersion other than "2.0", no <CoSimulation> element, a missing required attribute (guid,
// modelIdentifier, name, valueReference), an unparsable number, a duplicate variable name or
// an unknown causality. Documents over 16 MiB are refused.
Result<ModelDescription> ParseModelDescription(std::string_view xml);

}  // namespace doppel::sim::fmi
