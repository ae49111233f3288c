#include "model/internal/interface_parser.h"

#include <set>

#include <fmt/format.h>

#include "model/internal/content_parser.h"
#include "model/internal/element_reader.h"
#include "model/internal/elements.h"
#include "model/internal/schema_parser.h"

namespace doppel::model::internal {
namespace {

void ReadContents(const ElementReader& r, Draft& d) {
  std::set<std::string, std::less<>> names;
  ForEachElementOf(r, "contents", kContents, ElementClass::kNone,
                   [&](const ElementReader& cr, const std::string& path) {
    Content c;
    ParseContent(cr, c);
    c.defined_in = d.iface->id;
    if (!names.insert(c.name).second) {
      cr.Error("duplicateContentName", fmt::format("content name '{}' is used twice", c.name));
      return;
    }
    d.own.push_back(std::move(c));
    d.own_paths.push_back(path);
  });
}

void ReadExtends(const ElementReader& r, Draft& d) {
  for (const auto& [value, path] : r.Values("extends")) {
    if (value->is_string()) {
      d.extends.push_back({std::string(value->as_string()), path});
      continue;
    }
    std::string id = ParseInterface(r.batch(), value->as_object(), r.scope(),
                                    Where{d.iface->id, path},
                                    ChildSlot(r, "extends", Bit(ElementClass::kInterface)));
    if (!id.empty()) d.extends.push_back({id, path});
  }
}

void ReadSchemas(const ElementReader& r, const Draft& d) {
  for (const auto& [value, path] : r.Values("schemas")) {
    if (value->is_object()) {
      BuildComplexSchema(r.batch(), value->as_object(), r.scope(), Where{d.iface->id, path},
                         ChildSlot(r, "schemas", kComplexSchemas), true);
      continue;
    }
    auto src = ResolveElement(r.batch(), *value, r.scope(), d.iface->id, path);
    if (src) {
      BuildComplexSchema(r.batch(), *src->object, src->scope, src->where,
                         ChildSlot(r, "schemas", kComplexSchemas), false);
    }
  }
}

}  // namespace

std::string ParseInterface(Batch& batch, const json::object& object, const Scope& scope,
                           const Where& where, const Slot& slot) {
  ActiveElement active(batch, &object);
  ElementReader r(batch, object, scope, where, slot);
  bool top_level = slot.top_level;
  if (!r.ok() || r.id().empty()) {
    if (r.ok() && !r.has_id_member()) r.Error("missingId", "an Interface needs an @id");
    return {};
  }
  Draft d;
  d.iface = std::make_shared<Interface>();
  d.iface->id = r.id();
  d.iface->dtdl_version = r.version();
  d.iface->display_name = r.Localized("displayName");
  d.iface->description = r.Localized("description");
  d.iface->comment = r.String("comment");
  r.set_model_id(d.iface->id);  // the Interface owns the id string for the batch's lifetime
  ReadContents(r, d);
  ReadExtends(r, d);
  ReadSchemas(r, d);
  d.scope = r.scope();
  d.path = where.path;
  d.top_level = top_level;
  for (const auto& e : d.extends) d.iface->extends.push_back(e.id);
  if (top_level) d.iface->source = json::value(object);
  std::string id = d.iface->id;
  batch.AddDraft(std::move(d));
  return id;
}

}  // namespace doppel::model::internal
