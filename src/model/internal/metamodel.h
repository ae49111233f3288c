// The DTDL metamodel the parser checks elements against: for each class and DTDL version,
// which members it has, what values they take and how many.
//
// Taken from the normative DTDL v2 and v3 language specifications ("DTDL Language
// Specification", sections per class and "Limits and exclusions").
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

namespace doppel::model::internal {

enum class ElementClass : uint8_t {
  kNone, kInterface, kTelemetry, kProperty, kCommand, kRelationship, kComponent,
  kArray, kEnum, kMap, kObject, kEnumValue, kField, kMapKey, kMapValue,
  kCommandPayload, kCommandRequest, kCommandResponse,
};

// A set of classes (bit i = ElementClass i).
using ClassSet = uint32_t;
constexpr ClassSet Bit(ElementClass c) { return ClassSet{1} << static_cast<int>(c); }
constexpr bool Contains(ClassSet set, ElementClass c) { return (set & Bit(c)) != 0; }

inline constexpr ClassSet kComplexSchemas = Bit(ElementClass::kArray) | Bit(ElementClass::kEnum) |
                                            Bit(ElementClass::kMap) | Bit(ElementClass::kObject);
inline constexpr ClassSet kContents =
    Bit(ElementClass::kTelemetry) | Bit(ElementClass::kProperty) | Bit(ElementClass::kCommand) |
    Bit(ElementClass::kRelationship) | Bit(ElementClass::kComponent);

enum class ValueKind : uint8_t {
  kString,        // representational string, at most one
  kName,          // representational string, exactly one, DTDL name pattern
  kLocalized,     // localisable string
  kBoolean,       // representational boolean, at most one
  kInteger,       // representational integer, at most one, in [min_value, max_value]
  kDtmi,          // a DTMI (non-dependent reference), at most one
  kElements,      // elements or dependent references, [min_count, max_count] of them
  kElement,       // one element or dependent reference (exactly one if required)
  kSchema,        // one schema: standard term, element or dependent reference
  kValueSchema,   // "integer" or "string" (term or DTMI)
  kEnumLiteral,   // representational integer or string
  kCommandType,   // "synchronous" / "asynchronous" (term or DTMI)
  kUnit,          // a unit term (only with a semantic type)
};

struct MemberSpec {
  std::string_view term;
  ValueKind kind;
  bool required = false;
  ClassSet classes = 0;  // kElements/kElement/kSchema: the classes an element may be
  std::size_t max_length = 0;
  std::size_t min_count = 0;
  std::size_t max_count = std::numeric_limits<std::size_t>::max();
  int64_t min_value = std::numeric_limits<int32_t>::min();
  int64_t max_value = std::numeric_limits<int32_t>::max();
};

struct ClassSpec {
  ElementClass cls = ElementClass::kNone;
  std::string_view term;
  bool type_required = true;      // @type may be left out (the slot implies the class)
  bool semantic_types = false;    // may be co-typed with a semantic type (quantitative type)
  std::span<const MemberSpec> members;
};

// The class `cls` in DTDL `version` (2 or 3); nullptr if the version has no such class.
const ClassSpec* FindClass(ElementClass cls, int version);

// The class a @type string names ("Telemetry" or "dtmi:dtdl:class:Telemetry;2"), or kNone.
ElementClass ClassFromType(std::string_view type, int version);

std::string_view ClassTerm(ElementClass c);

// True if a member of a DTDL v3 element may hold a DTDL v2 element ("schema", "contents", ...).
// A later version inside an earlier one is never allowed.
bool AcceptsEarlierVersion(std::string_view member);

// "Array or Enum or Map" for messages.
std::string ClassSetName(ClassSet set);

}  // namespace doppel::model::internal
