#include "model/internal/elements.h"

#include <fmt/format.h>

namespace doppel::model::internal {

std::optional<ElementSource> ResolveElement(Batch& batch, const json::value& value,
                                            const Scope& scope, std::string_view partition,
                                            std::string path) {
  if (value.is_object()) return ElementSource{&value.as_object(), scope, {partition, path}};
  std::string_view id = value.as_string();
  const Definition* def = batch.FindDefinition(id);
  if (def == nullptr) {
    batch.Error(partition, path, "unresolvedReference",
                fmt::format("no element with @id '{}' in the batch", id));
    return std::nullopt;
  }
  // Only Interfaces, top-level elements and elements of the same Interface may be referenced.
  if (!def->is_interface && !def->top_level && def->partition != partition) {
    batch.Error(partition, path, "dependencyNotReferenceable",
                fmt::format("'{}' belongs to Interface '{}' and cannot be referenced from here",
                            id, def->partition));
    return std::nullopt;
  }
  ElementSource source{def->object, def->scope, {def->partition, def->path}};
  return source;
}

}  // namespace doppel::model::internal
