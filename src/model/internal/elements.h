// Member values that stand for elements: an inline object or a dependent reference (a DTMI
// naming an element defined elsewhere in the batch).
#pragma once

#include <optional>
#include <string>

#include "base/json.h"
#include "model/internal/batch.h"
#include "model/internal/element_reader.h"
#include "model/internal/metamodel.h"

namespace doppel::model::internal {

// The element to parse for one member value, with the scope and place it was defined in.
struct ElementSource {
  const json::object* object = nullptr;
  Scope scope;
  Where where;
};

// Resolves `value` (an object, or a DTMI string) found at `path` inside an element with
// `scope`/`partition`. Reports and returns nullopt for a reference that names nothing in the
// batch, an element not referenceable from here, or an element that is being parsed (a path
// from an element to itself).
std::optional<ElementSource> ResolveElement(Batch& batch, const json::value& value,
                                            const Scope& scope, std::string_view partition,
                                            std::string path);

// Parses each element of list member `term` of `r` as one of `allowed` (`implied` when @type is
// absent) and calls `fn(reader, path)` for each one that reads cleanly. An element that
// contains itself is reported ("noPathToSelf") and skipped.
template <typename Fn>
void ForEachElementOf(const ElementReader& r, std::string_view term, ClassSet allowed,
                      ElementClass implied, Fn fn) {
  for (const auto& [value, path] : r.Values(term)) {
    auto src = ResolveElement(r.batch(), *value, r.scope(), r.where().model_id, path);
    if (!src) continue;
    ActiveElement active(r.batch(), src->object);
    if (!active.entered()) {
      r.batch().Error(r.where().model_id, path, "noPathToSelf", "an element contains itself");
      continue;
    }
    ElementReader er(r.batch(), *src->object, src->scope, src->where,
                     ChildSlot(r, term, allowed, implied));
    if (er.ok()) fn(er, path);
  }
}

// ForEachElementOf for members that hold elements of exactly one class: `fn(reader)`.
template <typename Fn>
void ForEachElement(const ElementReader& r, std::string_view term, ElementClass cls, Fn fn) {
  ForEachElementOf(r, term, Bit(cls), cls,
                   [&](const ElementReader& er, const std::string&) { fn(er); });
}

}  // namespace doppel::model::internal
