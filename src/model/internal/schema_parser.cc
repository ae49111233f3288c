#include "model/internal/schema_parser.h"

#include <array>
#include <set>

#include <fmt/format.h>

#include "model/internal/elements.h"
#include "model/internal/literals.h"
#include "model/internal/schema_terms.h"

namespace doppel::model::internal {
namespace {

// DTDL's limit on schema nesting ("Limits and exclusions", v2 and v3).
constexpr int kMaxSchemaDepth = 5;

SchemaPtr Primitive(PrimitiveType t) {
  // Primitive schemas are immutable and identical wherever used: share one per type.
  static const auto kShared = [] {
    std::array<SchemaPtr, static_cast<std::size_t>(PrimitiveType::kGeospatial) + 1> a;
    for (std::size_t i = 0; i < a.size(); ++i) {
      auto s = std::make_shared<Schema>();
      s->primitive = static_cast<PrimitiveType>(i);
      a[i] = s;
    }
    return a;
  }();
  return kShared[static_cast<std::size_t>(t)];
}

Schema::Kind KindOf(ElementClass c) {
  switch (c) {
    case ElementClass::kArray: return Schema::Kind::kArray;
    case ElementClass::kEnum: return Schema::Kind::kEnum;
    case ElementClass::kMap: return Schema::Kind::kMap;
    default: return Schema::Kind::kObject;
  }
}

ElementClass ClassOfKind(Schema::Kind k) {
  switch (k) {
    case Schema::Kind::kArray: return ElementClass::kArray;
    case Schema::Kind::kEnum: return ElementClass::kEnum;
    case Schema::Kind::kMap: return ElementClass::kMap;
    case Schema::Kind::kObject: return ElementClass::kObject;
    default: return ElementClass::kNone;
  }
}

SchemaPtr SchemaMember(const ElementReader& r, std::string_view term, ClassSet allowed) {
  return BuildSchema(r, term, allowed);
}


void ReadEnumValues(const ElementReader& r, Schema& s) {
  std::set<std::string> names, literals;
  ForEachElement(r, "enumValues", ElementClass::kEnumValue, [&](const ElementReader& er) {
    EnumValue ev{er.String("name"), json::value()};
    const json::value* raw = er.Get("enumValue");
    if (raw == nullptr) return;
    int64_t i = 0;
    std::string str;
    if (s.primitive == PrimitiveType::kInteger && ReadRepresentationalInteger(*raw, false, i).empty()) {
      ev.value = i;
    } else if (s.primitive == PrimitiveType::kString &&
               ReadRepresentationalString(*raw, false, str).empty()) {
      ev.value = json::string(str);
    } else {
      er.Error("enumValueMismatch", "'enumValue' does not match the enum's valueSchema",
               "enumValue");
      return;
    }
    if (!names.insert(ev.name).second) {
      er.Error("duplicateName", fmt::format("enum value name '{}' is used twice", ev.name));
    }
    if (!literals.insert(ToJson(ev.value)).second) {
      er.Error("duplicateEnumValue", "two enum values share the same enumValue");
    }
    s.enum_values.push_back(std::move(ev));
  });
}

void ReadEnum(const ElementReader& r, Schema& s) {
  const json::value* vs = r.Get("valueSchema");
  if (vs == nullptr) return;
  s.primitive = *PrimitiveFromTerm(vs->as_string(), r.version());
  ReadEnumValues(r, s);
}

void ReadMap(const ElementReader& r, Schema& s) {
  ForEachElement(r, "mapKey", ElementClass::kMapKey, [&](const ElementReader& er) {
    s.map_key_name = er.String("name");
    const json::value* ks = er.Get("schema");
    if (ks && !(ks->is_string() &&
                PrimitiveFromTerm(ks->as_string(), er.version()) == PrimitiveType::kString)) {
      er.Error("invalidMapKeySchema", "a map key's schema must be string", "schema");
    }
  });
  ForEachElement(r, "mapValue", ElementClass::kMapValue, [&](const ElementReader& er) {
    s.map_value_name = er.String("name");
    s.map_value = SchemaMember(er, "schema", kComplexSchemas);
    CheckSemanticSchema(er, s.map_value.get());
  });
}

void ReadObject(const ElementReader& r, Schema& s) {
  std::set<std::string> names;
  ForEachElement(r, "fields", ElementClass::kField, [&](const ElementReader& er) {
    Field f{er.String("name"), SchemaMember(er, "schema", kComplexSchemas)};
    CheckSemanticSchema(er, f.schema.get());
    if (!names.insert(f.name).second) {
      er.Error("duplicateName", fmt::format("field name '{}' is used twice", f.name));
    }
    s.fields.push_back(std::move(f));
  });
}

SchemaPtr Memoised(Batch& batch, const json::object& o, ClassSet allowed, const Where& where) {
  const json::value* id = o.if_contains("@id");
  if (id == nullptr || !id->is_string()) return nullptr;
  auto it = batch.schemas().find(std::string(id->as_string()));
  if (it == batch.schemas().end()) return nullptr;
  if (!Contains(allowed, ClassOfKind(it->second->kind))) {
    batch.Error(where, "badType",
                fmt::format("'{}' is not a {}", std::string_view(id->as_string()),
                            ClassSetName(allowed)));
  }
  return it->second;
}

SchemaPtr ParseComplex(Batch& batch, const ElementSource& src, const Slot& slot,
                       bool id_required) {
  if (SchemaPtr memo = Memoised(batch, *src.object, slot.allowed, src.where)) return memo;
  ActiveElement active(batch, src.object);
  if (!active.entered()) {
    batch.Error(src.where, "noPathToSelf", "a schema contains itself");
    return nullptr;
  }
  ElementReader r(batch, *src.object, src.scope, src.where, slot);
  if (!r.ok()) return nullptr;
  if (id_required && !r.has_id_member()) {
    r.Error("missingId", fmt::format("a {} in 'schemas' needs an @id", ClassTerm(r.cls())));
  }
  auto s = std::make_shared<Schema>();
  s->id = r.id();
  s->kind = KindOf(r.cls());
  switch (r.cls()) {
    case ElementClass::kArray:
      s->element = SchemaMember(r, "elementSchema", kComplexSchemas);
      break;
    case ElementClass::kEnum: ReadEnum(r, *s); break;
    case ElementClass::kMap: ReadMap(r, *s); break;
    default: ReadObject(r, *s); break;
  }
  if (SchemaDepth(*s) > kMaxSchemaDepth) {
    r.Error("excessiveDepth",
            fmt::format("schemas nest more than {} levels below this {}", kMaxSchemaDepth,
                        ClassTerm(r.cls())));
  }
  if (!s->id.empty()) batch.schemas().emplace(s->id, s);
  return s;
}

}  // namespace

SchemaPtr BuildSchema(const ElementReader& parent, std::string_view member, ClassSet allowed) {
  const json::value* value = parent.Get(member);
  if (value == nullptr) return nullptr;
  if (value->is_string()) {
    if (auto p = PrimitiveFromTerm(value->as_string(), parent.version())) return Primitive(*p);
    if (IsExtensionSchema(value->as_string(), parent.scope())) {
      return ExtensionSchema(value->as_string());
    }
  }
  auto src = ResolveElement(parent.batch(), *value, parent.scope(), parent.where().model_id,
                            parent.Path(member));
  if (!src) return nullptr;
  return ParseComplex(parent.batch(), *src, ChildSlot(parent, member, allowed), false);
}

SchemaPtr BuildComplexSchema(Batch& batch, const json::object& object, const Scope& scope,
                             const Where& where, const Slot& slot, bool id_required) {
  return ParseComplex(batch, ElementSource{&object, scope, where}, slot, id_required);
}

int SchemaDepth(const Schema& s) {
  auto depth = [](const SchemaPtr& p) { return p ? SchemaDepth(*p) : 0; };
  switch (s.kind) {
    case Schema::Kind::kArray: return 1 + depth(s.element);
    case Schema::Kind::kMap: return 1 + depth(s.map_value);
    case Schema::Kind::kObject: {
      int d = 0;
      for (const auto& f : s.fields) d = std::max(d, depth(f.schema));
      return 1 + d;
    }
    default: return 0;
  }
}

bool HoldsArrayOrGeospatial(const Schema& s) {
  auto holds = [](const SchemaPtr& p) { return p && HoldsArrayOrGeospatial(*p); };
  switch (s.kind) {
    case Schema::Kind::kPrimitive: return s.primitive == PrimitiveType::kGeospatial;
    case Schema::Kind::kArray: return true;
    case Schema::Kind::kMap: return holds(s.map_value);
    case Schema::Kind::kObject:
      for (const auto& f : s.fields) {
        if (holds(f.schema)) return true;
      }
      return false;
    default: return false;
  }
}

void CheckSemanticSchema(const ElementReader& r, const Schema* schema) {
  if (r.semantic_type().empty() || schema == nullptr) return;
  bool numeric = schema->kind == Schema::Kind::kPrimitive &&
                 (schema->primitive == PrimitiveType::kDouble ||
                  schema->primitive == PrimitiveType::kFloat ||
                  schema->primitive == PrimitiveType::kInteger ||
                  schema->primitive == PrimitiveType::kLong);
  if (!numeric) {
    r.Error("semanticTypeNeedsNumericSchema",
            fmt::format("semantic type {} needs a numeric schema", r.semantic_type()), "schema");
  }
}

}  // namespace doppel::model::internal
