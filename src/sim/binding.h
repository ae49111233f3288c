// A simulation binding: which twins a simulation model runs for, and how its variables meet the
// twins' data (docs/simulation.md, "Bindings").
//
//   {
//     "model": "windTurbine",                                  // a ModelCatalog name
//     "twins": {"model": "dtmi:doppel:example:windfarm:WindTurbine;1"},   // or {"ids": [...]}
//     "parameters": {"ratedPower": "ratedPower"},              // sim parameter ← twin property
//     "inputs": {"windSpeed": "windSpeed",                     // sim input ← telemetry/property
//                "rotorSpeedLimit": "rotorSpeedLimit"},
//     "measurements": {                                         // sim output ↔ measured value
//       "activePower": {"path": "activePower", "noise": 60, "residual": "activePowerResidual",
//                       "expected": "expectedActivePower"},
//       "bearingTemperature": {"path": "hasMainBearing>bearingTemperature", "noise": 0.3}
//     },
//     "estimate": {"bearingFriction": {"stddev": 0.2, "drift": 0.01}},   // states/parameters
//     "virtualSensors": {"cumulativeDamage": {"path": "bearingDamageEstimate",
//                                             "stddevPath": "bearingDamageStddev"}},
//     "shadow": true                                            // run in step with live data
//   }
//
// A twin path is a property or telemetry name of the bound twin ("windSpeed"), of one of its
// components ("nacelle/nacelleTemperature"), or of the twin a relationship of the bound twin
// points to ("hasMainBearing>bearingTemperature": the first target of that relationship).
// Derived values (expected, residual, virtual sensors) are written as telemetry of the bound
// twin, so its DTDL model must declare them; they must not be paths the binding reads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "sim/simulation.h"

namespace doppel::sim {

// Where a bound variable's value lives relative to the bound twin.
struct TwinPath {
  std::string relationship = {};  // empty = the bound twin itself
  std::string path;               // "windSpeed", "nacelle/nacelleTemperature"

  std::string ToString() const;  // "hasMainBearing>bearingTemperature" or "windSpeed"
  friend bool operator==(const TwinPath&, const TwinPath&) = default;
};
// Parses "name", "component/name" or "relationship>name"; InvalidArgument otherwise.
Result<TwinPath> ParseTwinPath(std::string_view text);

struct Measurement {
  TwinPath source;              // the measured value
  double noise = 0.0;           // measurement noise standard deviation (output's unit); > 0
  std::string residual = {};    // telemetry of the bound twin receiving measured − expected
  std::string expected = {};    // telemetry of the bound twin receiving the expected value
};

struct Estimated {
  double stddev = 0.0;  // initial uncertainty (variable's unit)
  double drift = 0.0;   // random-walk standard deviation per hour (tracks slow changes)
};

struct VirtualSensor {
  std::string path;             // telemetry of the bound twin receiving the estimate
  std::string stddev_path = {};  // telemetry receiving its standard deviation ("" = none)
};

struct Binding {
  std::string name;   // [A-Za-z0-9_-]{1,64}, unique per server
  std::string model;  // simulation model (catalogue name)
  std::string twin_model = {};          // bind every twin of this DTDL model (and descendants)
  std::vector<std::string> twin_ids = {};  // ... or these twins
  std::map<std::string, TwinPath> parameters = {};  // sim variable → twin property
  std::map<std::string, TwinPath> inputs = {};      // sim variable → telemetry or property
  std::map<std::string, Measurement> measurements = {};  // sim output/state → measured value
  std::map<std::string, Estimated> estimate = {};        // sim state/parameter → filter config
  std::map<std::string, VirtualSensor> virtual_sensors = {};  // sim variable → derived telemetry
  bool shadow = true;

  // The JSON form above (what GET answers and the store persists).
  json::object ToJson() const;
  // Every twin telemetry name this binding writes (expected, residual, virtual sensors).
  std::vector<std::string> DerivedPaths() const;
};

// Parses and validates a binding against the simulation model's variables: each name exists
// with the right causality (parameters ← kParameter; inputs ← kInput; measurements ← kOutput
// or kState; estimate ← kState or kParameter; virtual sensors ← any), noises and stddevs
// finite and > 0, derived paths distinct and not among the paths read. `name` comes from the
// URL (a "name" member in the body must equal it). Errors are InvalidArgument naming the
// member: "measurements.activePower.noise: must be a finite number > 0".
Result<Binding> ParseBinding(std::string_view name, const json::value& body, const ModelInfo& model);

// True for a valid binding, connector or FMU name: [A-Za-z0-9_-]{1,64}.
bool IsValidName(std::string_view name);

}  // namespace doppel::sim
