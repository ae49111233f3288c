// DTDL Interfaces and their contents (Telemetry, Property, Command, Relationship, Component).
#pragma once

#include <string>

#include "base/json.h"
#include "model/internal/batch.h"
#include "model/internal/element_reader.h"

namespace doppel::model::internal {

// Parses an Interface (top-level, or inline in `extends` / a Component's schema) into a Draft
// added to `batch`. `slot` says where it appears (top level, or the member holding it). Returns the interface's @id (generated for an inline one without), or ""
// if it could not be read at all (errors reported).
std::string ParseInterface(Batch& batch, const json::object& object, const Scope& scope,
                           const Where& where, const Slot& slot);

}  // namespace doppel::model::internal
