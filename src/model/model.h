// DTDL models: the parsed, validated, inheritance-resolved form of DTDL v2/v3 interfaces.
//
// The domain's vocabulary for "what a twin of this kind may hold". Pure: no I/O, no threads.
// model/dtdl_parser.h turns JSON-LD documents into these; model/model_registry.h keeps the set
// the server knows; model/value_validation.h checks twin values against a Schema.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/json.h"

namespace doppel::model {

struct Schema;
using SchemaPtr = std::shared_ptr<const Schema>;

enum class PrimitiveType {
  kBoolean, kDate, kDateTime, kDouble, kDuration, kFloat, kInteger, kLong, kString, kTime,
  // DTDL v4 additions: DtdlParser (v2/v3) never produces them, ValidateValue checks them.
  kByte, kBytes, kDecimal, kShort, kUnsignedByte, kUnsignedInteger, kUnsignedLong,
  kUnsignedShort, kUuid,
  // Geospatial schemas (point, lineString, ...) are carried as objects.
  kGeospatial,
};

struct Field {  // of an Object schema
  std::string name;
  SchemaPtr schema;
};

struct EnumValue {
  std::string name;
  json::value value;  // integer or string, per the enum's valueSchema
};

struct Schema {
  enum class Kind { kPrimitive, kObject, kEnum, kArray, kMap };
  Kind kind = Kind::kPrimitive;
  std::string id;                                  // "@id" when given (or generated)
  PrimitiveType primitive = PrimitiveType::kString;  // kPrimitive; for kEnum: the valueSchema
  std::vector<Field> fields;                       // kObject
  std::vector<EnumValue> enum_values;              // kEnum
  SchemaPtr element;                               // kArray: elementSchema
  std::string map_key_name;                        // kMap: mapKey.name (keys are strings)
  std::string map_value_name;                      // kMap: mapValue.name
  SchemaPtr map_value;                             // kMap: mapValue.schema
};

// Localisable text: language tag → text ("en" for a plain string).
using LocalizedText = std::map<std::string, std::string>;

enum class ContentKind { kProperty, kTelemetry, kCommand, kRelationship, kComponent };

struct CommandPayload {
  std::string name;
  SchemaPtr schema;
  bool nullable = false;  // v3
};

struct Content {
  ContentKind kind = ContentKind::kProperty;
  std::string name;
  std::string id;                           // "@id" if given
  std::vector<std::string> semantic_types;  // co-types, e.g. "Temperature"
  std::string unit;                         // e.g. "degreeCelsius"
  LocalizedText display_name, description;
  std::string comment;
  SchemaPtr schema;       // Property, Telemetry (Relationship/Command/Component: see below)
  bool writable = false;  // Property
  // Relationship
  std::string target;  // DTMI of the target interface, empty = any
  std::optional<int64_t> min_multiplicity, max_multiplicity;
  std::vector<Content> relationship_properties;  // each a kProperty
  // Component: the interface it instantiates.
  std::string component_interface;
  // Command
  std::optional<CommandPayload> request, response;
  std::string defined_in;  // DTMI of the interface that declares it (for inherited contents)
};

// One DTDL Interface after parsing, with `extends` resolved.
struct Interface {
  std::string id;       // "dtmi:com:example:Pump;1"
  int dtdl_version = 0;  // 2 or 3 (from @context)
  LocalizedText display_name, description;
  std::string comment;
  std::vector<std::string> extends;  // direct bases, in declaration order
  std::set<std::string> ancestors;   // every base, transitively (not including itself)
  // Every content by name, own and inherited.
  std::map<std::string, Content, std::less<>> contents;
  json::value source;  // the model document as uploaded (for GET /models?includeModelDefinition)

  const Content* Find(std::string_view name) const {
    auto it = contents.find(name);
    return it == contents.end() ? nullptr : &it->second;
  }
};

using InterfacePtr = std::shared_ptr<const Interface>;

}  // namespace doppel::model
