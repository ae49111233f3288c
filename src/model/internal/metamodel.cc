#include "model/internal/metamodel.h"

#include <array>
#include <string>

#include "model/internal/dtmi.h"

namespace doppel::model::internal {
namespace {

using C = ElementClass;
using K = ValueKind;
constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
constexpr ClassSet kSchemasV2Property =
    Bit(C::kEnum) | Bit(C::kMap) | Bit(C::kObject);  // v2 Properties may not hold Arrays

// Members every element has: comment, description, displayName (length differs by version).
#define DOPPEL_DESCRIPTIVE(display_max)                           \
  MemberSpec{"comment", K::kString, false, 0, 512},               \
      MemberSpec{"description", K::kLocalized, false, 0, 512},    \
      MemberSpec{"displayName", K::kLocalized, false, 0, display_max}

constexpr MemberSpec Elements(std::string_view term, ClassSet classes, bool required = false,
                              std::size_t min = 0, std::size_t max = kUnlimited) {
  MemberSpec m{term, K::kElements, required, classes};
  m.min_count = min;
  m.max_count = max;
  return m;
}

constexpr MemberSpec Integer(std::string_view term, int64_t min, int64_t max) {
  MemberSpec m{term, K::kInteger};
  m.min_value = min;
  m.max_value = max;
  return m;
}

constexpr MemberSpec Name(std::size_t max) { return {"name", K::kName, true, 0, max}; }
constexpr MemberSpec Schema(ClassSet classes) { return {"schema", K::kSchema, true, classes}; }
constexpr MemberSpec Unit() { return {"unit", K::kUnit}; }

// ---- DTDL v2 ----
constexpr MemberSpec kInterface2[] = {
    DOPPEL_DESCRIPTIVE(64), Elements("contents", kContents, false, 0, 300),
    Elements("extends", Bit(C::kInterface), false, 0, 2), Elements("schemas", kComplexSchemas)};
constexpr MemberSpec kTelemetry2[] = {DOPPEL_DESCRIPTIVE(64), Name(64), Schema(kComplexSchemas),
                                      Unit()};
constexpr MemberSpec kProperty2[] = {DOPPEL_DESCRIPTIVE(64), Name(64), Schema(kSchemasV2Property),
                                     {"writable", K::kBoolean}, Unit()};
constexpr MemberSpec kCommand2[] = {DOPPEL_DESCRIPTIVE(64), Name(64),
                                    {"commandType", K::kCommandType},
                                    {"request", K::kElement, false, Bit(C::kCommandPayload)},
                                    {"response", K::kElement, false, Bit(C::kCommandPayload)}};
constexpr MemberSpec kPayload2[] = {DOPPEL_DESCRIPTIVE(64), Name(64), Schema(kComplexSchemas)};
constexpr MemberSpec kRelationship2[] = {
    DOPPEL_DESCRIPTIVE(64), Name(64), {"target", K::kDtmi}, Integer("minMultiplicity", 0, 0),
    Integer("maxMultiplicity", 1, 500), Elements("properties", Bit(C::kProperty), false, 0, 300),
    {"writable", K::kBoolean}};
constexpr MemberSpec kComponent2[] = {DOPPEL_DESCRIPTIVE(64), Name(64),
                                      {"schema", K::kElement, true, Bit(C::kInterface)}};
constexpr MemberSpec kArray2[] = {DOPPEL_DESCRIPTIVE(64),
                                  {"elementSchema", K::kSchema, true, kComplexSchemas}};
constexpr MemberSpec kEnum2[] = {DOPPEL_DESCRIPTIVE(64), {"valueSchema", K::kValueSchema, true},
                                 Elements("enumValues", Bit(C::kEnumValue), true, 1, 100)};
constexpr MemberSpec kEnumValue2[] = {DOPPEL_DESCRIPTIVE(64), Name(64),
                                      {"enumValue", K::kEnumLiteral, true}};
constexpr MemberSpec kMap2[] = {DOPPEL_DESCRIPTIVE(64),
                                {"mapKey", K::kElement, true, Bit(C::kMapKey)},
                                {"mapValue", K::kElement, true, Bit(C::kMapValue)}};
constexpr MemberSpec kMapKey2[] = {DOPPEL_DESCRIPTIVE(64), Name(64), Schema(kComplexSchemas)};
constexpr MemberSpec kObject2[] = {DOPPEL_DESCRIPTIVE(64),
                                   Elements("fields", Bit(C::kField), true, 1, 30)};

// ---- DTDL v3 ----
constexpr MemberSpec kInterface3[] = {
    DOPPEL_DESCRIPTIVE(512), Elements("contents", kContents),
    Elements("extends", Bit(C::kInterface)), Elements("schemas", kComplexSchemas)};
constexpr MemberSpec kTelemetry3[] = {DOPPEL_DESCRIPTIVE(512), Name(512), Schema(kComplexSchemas),
                                      Unit()};
constexpr MemberSpec kProperty3[] = {DOPPEL_DESCRIPTIVE(512), Name(512), Schema(kComplexSchemas),
                                     {"writable", K::kBoolean}, Unit()};
constexpr MemberSpec kCommand3[] = {DOPPEL_DESCRIPTIVE(512), Name(512),
                                    {"commandType", K::kCommandType},
                                    {"request", K::kElement, false, Bit(C::kCommandRequest)},
                                    {"response", K::kElement, false, Bit(C::kCommandResponse)}};
constexpr MemberSpec kPayload3[] = {DOPPEL_DESCRIPTIVE(512), Name(512), Schema(kComplexSchemas),
                                    Unit()};
constexpr MemberSpec kRelationship3[] = {
    DOPPEL_DESCRIPTIVE(512), Name(512), {"target", K::kDtmi}, Integer("minMultiplicity", 0, 0),
    Integer("maxMultiplicity", 1, std::numeric_limits<int32_t>::max()),
    Elements("properties", Bit(C::kProperty)), {"writable", K::kBoolean}};
constexpr MemberSpec kComponent3[] = {DOPPEL_DESCRIPTIVE(512), Name(512),
                                      {"schema", K::kElement, true, Bit(C::kInterface)}};
constexpr MemberSpec kArray3[] = {DOPPEL_DESCRIPTIVE(512),
                                  {"elementSchema", K::kSchema, true, kComplexSchemas}};
constexpr MemberSpec kEnum3[] = {DOPPEL_DESCRIPTIVE(512), {"valueSchema", K::kValueSchema, true},
                                 Elements("enumValues", Bit(C::kEnumValue))};
constexpr MemberSpec kEnumValue3[] = {DOPPEL_DESCRIPTIVE(512), Name(512),
                                      {"enumValue", K::kEnumLiteral, true}};
constexpr MemberSpec kMap3[] = {DOPPEL_DESCRIPTIVE(512),
                                {"mapKey", K::kElement, true, Bit(C::kMapKey)},
                                {"mapValue", K::kElement, true, Bit(C::kMapValue)}};
constexpr MemberSpec kMapKey3[] = {DOPPEL_DESCRIPTIVE(512), Name(512), Schema(kComplexSchemas)};
constexpr MemberSpec kMapValue3[] = {DOPPEL_DESCRIPTIVE(512), Name(512), Schema(kComplexSchemas),
                                     Unit()};
constexpr MemberSpec kObject3[] = {DOPPEL_DESCRIPTIVE(512),
                                   Elements("fields", Bit(C::kField))};

#undef DOPPEL_DESCRIPTIVE

constexpr ClassSpec kClasses2[] = {
    {C::kInterface, "Interface", true, false, kInterface2},
    {C::kTelemetry, "Telemetry", true, true, kTelemetry2},
    {C::kProperty, "Property", true, true, kProperty2},
    {C::kCommand, "Command", true, false, kCommand2},
    {C::kRelationship, "Relationship", true, false, kRelationship2},
    {C::kComponent, "Component", true, false, kComponent2},
    {C::kArray, "Array", true, false, kArray2},
    {C::kEnum, "Enum", true, false, kEnum2},
    {C::kMap, "Map", true, false, kMap2},
    {C::kObject, "Object", true, false, kObject2},
    {C::kEnumValue, "EnumValue", false, false, kEnumValue2},
    {C::kField, "Field", false, false, kMapKey2},
    {C::kMapKey, "MapKey", false, false, kMapKey2},
    {C::kMapValue, "MapValue", false, false, kMapKey2},
    {C::kCommandPayload, "CommandPayload", false, false, kPayload2},
};

constexpr ClassSpec kClasses3[] = {
    {C::kInterface, "Interface", true, false, kInterface3},
    {C::kTelemetry, "Telemetry", true, true, kTelemetry3},
    {C::kProperty, "Property", true, true, kProperty3},
    {C::kCommand, "Command", true, false, kCommand3},
    {C::kRelationship, "Relationship", true, false, kRelationship3},
    {C::kComponent, "Component", true, false, kComponent3},
    {C::kArray, "Array", true, false, kArray3},
    {C::kEnum, "Enum", true, false, kEnum3},
    {C::kMap, "Map", true, false, kMap3},
    {C::kObject, "Object", true, false, kObject3},
    {C::kEnumValue, "EnumValue", false, false, kEnumValue3},
    {C::kField, "Field", false, true, kMapValue3},
    {C::kMapKey, "MapKey", false, false, kMapKey3},
    {C::kMapValue, "MapValue", false, true, kMapValue3},
    {C::kCommandRequest, "CommandRequest", false, true, kPayload3},
    {C::kCommandResponse, "CommandResponse", false, true, kPayload3},
};

template <std::size_t N>
const ClassSpec* Find(const ClassSpec (&table)[N], ElementClass cls) {
  for (const auto& c : table) {
    if (c.cls == cls) return &c;
  }
  return nullptr;
}

constexpr std::array<std::string_view, 18> kTerms = {
    "element", "Interface", "Telemetry", "Property", "Command", "Relationship", "Component",
    "Array", "Enum", "Map", "Object", "EnumValue", "Field", "MapKey", "MapValue",
    "CommandPayload", "CommandRequest", "CommandResponse"};

}  // namespace

const ClassSpec* FindClass(ElementClass cls, int version) {
  return version == 2 ? Find(kClasses2, cls) : Find(kClasses3, cls);
}

std::string_view ClassTerm(ElementClass c) { return kTerms[static_cast<std::size_t>(c)]; }

ElementClass ClassFromType(std::string_view type, int version) {
  std::string_view term = type;
  if (LooksLikeDtmi(type)) {
    constexpr std::string_view kPrefix = "dtmi:dtdl:class:";
    if (!type.starts_with(kPrefix)) return ElementClass::kNone;
    term = type.substr(kPrefix.size());
    auto semi = term.find(';');
    if (semi == std::string_view::npos || term.substr(semi + 1) != std::to_string(version)) {
      return ElementClass::kNone;
    }
    term = term.substr(0, semi);
  }
  for (std::size_t i = 1; i < kTerms.size(); ++i) {
    auto cls = static_cast<ElementClass>(i);
    if (kTerms[i] == term && FindClass(cls, version) != nullptr) return cls;
  }
  return ElementClass::kNone;
}

bool AcceptsEarlierVersion(std::string_view member) {
  // DTDL v3 lets these members hold DTDL v2 elements; all others need v3 elements.
  for (std::string_view m : {"contents", "extends", "properties", "schema", "elementSchema"}) {
    if (m == member) return true;
  }
  return false;
}

std::string ClassSetName(ClassSet set) {
  std::string s;
  for (std::size_t i = 1; i < kTerms.size(); ++i) {
    if (!Contains(set, static_cast<ElementClass>(i))) continue;
    if (!s.empty()) s += " or ";
    s += kTerms[i];
  }
  return s;
}

}  // namespace doppel::model::internal
