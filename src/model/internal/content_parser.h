// The contents of an Interface: Telemetry, Property, Command, Relationship, Component.
#pragma once

#include "model/internal/element_reader.h"
#include "model/model.h"

namespace doppel::model::internal {

// Fills `c` from the content element `r` has read (r.ok()). Errors are reported to the batch.
void ParseContent(const ElementReader& r, Content& c);

}  // namespace doppel::model::internal
