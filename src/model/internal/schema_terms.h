// The standard schema strings of DTDL: primitive and geospatial schemas, command types.
#pragma once

#include <optional>
#include <string_view>

#include "model/model.h"

namespace doppel::model::internal {

// The primitive type of a standard schema string ("dateTime", "dtmi:dtdl:instance:Schema:
// dateTime;2", "point", "dtmi:standard:schema:geospatial:point;2"), if it is one.
std::optional<PrimitiveType> PrimitiveFromTerm(std::string_view term, int version);

inline bool IsStandardSchema(std::string_view s, int version) {
  return PrimitiveFromTerm(s, version).has_value();
}

// The geospatial schema strings (point, lineString, ...), term or DTMI form.
bool IsGeospatialTerm(std::string_view s, int version);

// Schemas an extension in `scope` defines (IoT Central's "vector", "geopoint").
struct Scope;
bool IsExtensionSchema(std::string_view s, const Scope& scope);
SchemaPtr ExtensionSchema(std::string_view s);

// "synchronous"/"asynchronous" or their DTMI forms.
bool IsCommandType(std::string_view s, int version);

}  // namespace doppel::model::internal
