// Member values that stand for elements: an inline object or a dependent reference (a DTMI
// naming an element defined elsewhere in the batch).
#pragma once

#include <optional>
#include <string>

#include "base/json.h"
#include "model/internal/batch.h"

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

}  // namespace doppel::model::internal
