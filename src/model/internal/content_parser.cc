#include "model/internal/content_parser.h"

#include <set>

#include <fmt/format.h>

#include "model/internal/elements.h"
#include "model/internal/interface_parser.h"
#include "model/internal/schema_parser.h"

namespace doppel::model::internal {
namespace {

// v2 Properties may not hold Arrays (or geospatial schemas, which are arrays underneath).
constexpr ClassSet kPropertySchemasV2 =
    Bit(ElementClass::kEnum) | Bit(ElementClass::kMap) | Bit(ElementClass::kObject);

SchemaPtr SchemaOf(const ElementReader& r, ClassSet allowed) {
  SchemaPtr s = BuildSchema(r, "schema", allowed);
  CheckSemanticSchema(r, s.get());
  return s;
}

void ReadProperty(const ElementReader& r, Content& c) {
  bool v2 = r.version() == 2;
  c.schema = SchemaOf(r, v2 ? kPropertySchemasV2 : kComplexSchemas);
  c.writable = r.Bool("writable").value_or(false);
  if (v2 && c.schema && HoldsArrayOrGeospatial(*c.schema)) {
    r.Error("propertySchemaExcludesArray",
            "a DTDL v2 Property may not hold an Array or geospatial schema", "schema");
  }
}


std::optional<CommandPayload> ReadPayload(const ElementReader& r, std::string_view term) {
  ElementClass cls = r.version() == 2          ? ElementClass::kCommandPayload
                     : term == "request" ? ElementClass::kCommandRequest
                                         : ElementClass::kCommandResponse;
  std::optional<CommandPayload> out;
  ForEachElement(r, term, cls, [&](const ElementReader& pr) {
    out = CommandPayload{pr.String("name"), SchemaOf(pr, kComplexSchemas), false};
  });
  return out;
}

void ReadRelationship(const ElementReader& r, Content& c) {
  if (const json::value* t = r.Get("target")) c.target = t->as_string();
  c.min_multiplicity = r.Integer("minMultiplicity");
  c.max_multiplicity = r.Integer("maxMultiplicity");
  c.writable = r.Bool("writable").value_or(false);
  std::set<std::string> names;
  ForEachElement(r, "properties", ElementClass::kProperty, [&](const ElementReader& pr) {
    Content p;
    ParseContent(pr, p);
    if (!names.insert(p.name).second) {
      pr.Error("duplicateName", fmt::format("property name '{}' is used twice", p.name));
    }
    c.relationship_properties.push_back(std::move(p));
  });
}

void ReadComponent(const ElementReader& r, Content& c) {
  const json::value* v = r.Get("schema");
  if (v == nullptr) return;
  if (v->is_string()) {
    c.component_interface = v->as_string();  // resolved with the other interface references
  } else {
    c.component_interface =
        ParseInterface(r.batch(), v->as_object(), r.scope(),
                       Where{r.where().model_id, r.Path("schema")},
                       ChildSlot(r, "schema", Bit(ElementClass::kInterface)));
  }
}

ContentKind KindOf(ElementClass cls) {
  switch (cls) {
    case ElementClass::kTelemetry: return ContentKind::kTelemetry;
    case ElementClass::kCommand: return ContentKind::kCommand;
    case ElementClass::kRelationship: return ContentKind::kRelationship;
    case ElementClass::kComponent: return ContentKind::kComponent;
    default: return ContentKind::kProperty;
  }
}

}  // namespace

void ParseContent(const ElementReader& r, Content& c) {
  c.kind = KindOf(r.cls());
  c.name = r.String("name");
  c.id = r.id();
  c.semantic_types = r.cotypes();
  c.unit = r.String("unit");
  c.display_name = r.Localized("displayName");
  c.description = r.Localized("description");
  c.comment = r.String("comment");
  switch (r.cls()) {
    case ElementClass::kTelemetry: c.schema = SchemaOf(r, kComplexSchemas); break;
    case ElementClass::kProperty: ReadProperty(r, c); break;
    case ElementClass::kCommand:
      c.request = ReadPayload(r, "request");
      c.response = ReadPayload(r, "response");
      break;
    case ElementClass::kRelationship: ReadRelationship(r, c); break;
    case ElementClass::kComponent: ReadComponent(r, c); break;
    default: break;
  }
}

}  // namespace doppel::model::internal
