// Fuzzes the FMI 2.0 modelDescription.xml reader (sim::fmi::ParseModelDescription) on
// arbitrary bytes.
//
// A refusal is InvalidArgument with a message that starts "modelDescription.xml: ". An accepted
// description has a guid, a modelIdentifier that is a plain file name (no '/', '\\', no leading
// '.'), one binding per variable, variables with distinct non-empty names and an exposed
// causality (parameter, input, output), a finite start, bounds that are not NaN with
// min ≤ max, Boolean variables within [0, 1]; the catalogue name is left empty. Parsing is
// deterministic.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "sim/fmi/model_description.h"

namespace {

using doppel::StatusCode;
using doppel::sim::Causality;
using doppel::sim::fmi::FmiType;
using doppel::sim::fmi::ModelDescription;

void CheckDescription(const ModelDescription& md) {
  FUZZ_CHECK(!md.guid.empty(), "no guid");
  FUZZ_CHECK(!md.model_identifier.empty(), "no modelIdentifier");
  FUZZ_CHECK(md.model_identifier.find_first_of("/\\") == std::string::npos && !md.model_identifier.starts_with("."),
             md.model_identifier);
  FUZZ_CHECK(md.info.name.empty(), md.info.name);
  FUZZ_CHECK(md.bindings.size() == md.info.variables.size(), "bindings not parallel to variables");
  std::set<std::string> names;
  for (std::size_t i = 0; i < md.info.variables.size(); ++i) {
    const auto& v = md.info.variables[i];
    FUZZ_CHECK(!v.name.empty() && names.insert(v.name).second, v.name);
    FUZZ_CHECK(v.causality == Causality::kParameter || v.causality == Causality::kInput ||
                   v.causality == Causality::kOutput,
               v.name);
    FUZZ_CHECK(std::isfinite(v.start), v.name + " has a non-finite start");
    FUZZ_CHECK(!std::isnan(v.min) && !std::isnan(v.max) && v.min <= v.max, v.name + " has bad bounds");
    if (md.bindings[i].type == FmiType::kBoolean) {
      FUZZ_CHECK(v.start == 0.0 || v.start == 1.0, v.name);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto md = doppel::sim::fmi::ParseModelDescription(xml);
  auto again = doppel::sim::fmi::ParseModelDescription(xml);
  FUZZ_CHECK(md.ok() == again.ok(), "parsing is not deterministic");
  if (!md.ok()) {
    FUZZ_CHECK(md.status().code() == StatusCode::kInvalidArgument, md.status().message());
    FUZZ_CHECK(md.status().message().starts_with("modelDescription.xml: ") &&
                   md.status().message().size() > std::string_view("modelDescription.xml: ").size(),
               md.status().message());
    FUZZ_CHECK(md.status().message() == again.status().message(), "error is not deterministic");
    return 0;
  }
  CheckDescription(*md);
  FUZZ_CHECK(again->info.variables.size() == md->info.variables.size(), "variable count differs");
  return 0;
}
