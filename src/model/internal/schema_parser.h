// DTDL schemas: standard schema strings, and Array/Enum/Map/Object elements inline or named by
// a dependent reference.
#pragma once

#include <string>

#include "base/json.h"
#include "model/internal/element_reader.h"
#include "model/model.h"

namespace doppel::model::internal {

// Builds the schema that member `member` of `parent` ("schema", "elementSchema") names; nullptr
// if absent. `allowed`: the complex-schema classes the member accepts. Reports and returns
// nullptr on error. Schemas with an @id are built once and shared.
SchemaPtr BuildSchema(const ElementReader& parent, std::string_view member, ClassSet allowed);

// Builds the complex schema `object` defines (Interface "schemas" entries).
SchemaPtr BuildComplexSchema(Batch& batch, const json::object& object, const Scope& scope,
                             const Where& where, const Slot& slot, bool id_required);

// Number of schema/elementSchema members on the longest path down from `schema`.
int SchemaDepth(const Schema& schema);

// DTDL v2 forbids Arrays and geospatial schemas anywhere below a Property.
bool HoldsArrayOrGeospatial(const Schema& schema);

// A semantic type needs a numeric schema; reports otherwise.
void CheckSemanticSchema(const ElementReader& r, const Schema* schema);

}  // namespace doppel::model::internal
