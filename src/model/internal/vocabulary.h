// DTDL's vocabulary beyond the class metamodel: semantic types and their units, the reserved
// strings, and the extension contexts the parser knows.
#pragma once

#include <string_view>
#include <vector>

namespace doppel::model::internal {

// The semantic type a @type string names ("Temperature" or "dtmi:standard:class:Temperature;2"),
// normalised to its term; "" if none.
std::string_view SemanticTypeTerm(std::string_view type, int version);

// True if `unit` (term or DTMI form) is a unit of `semantic_type` (a term).
bool IsUnitOf(std::string_view unit, std::string_view semantic_type, int version);

// True if `s` is listed in DTDL's "Reserved strings" table (a term or its DTMI form).
bool IsReservedString(std::string_view s, int version);

// The units of a unit type of the quantitativeTypes extension ("TemperatureUnit" →
// degreeCelsius, degreeFahrenheit, kelvin); empty if `unit_type` is none. The extension defines
// unit types as Enums of their units, so they are also schemas.
std::vector<std::string_view> UnitsOfUnitType(std::string_view unit_type);

// True if `term` is a co-type one of the known DTDL v3 extensions defines (e.g. Historized).
bool IsExtensionCotype(std::string_view term);

// True if `term` is a co-type the IoT Central v2 extension defines (e.g. VelocityVector).
bool IsIotCentralCotype(std::string_view term);

}  // namespace doppel::model::internal
