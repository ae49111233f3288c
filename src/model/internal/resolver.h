// Stage 3 of parsing a batch: follows `extends`, flattens inherited contents and checks the
// references between interfaces.
#pragma once

#include "model/internal/batch.h"

namespace doppel::model::internal {

// Fills every draft's `ancestors` and `contents` (own and inherited) and reports cycles,
// too-deep hierarchies, duplicate names and unresolved or ill-typed interface references.
void ResolveInterfaces(Batch& batch);

}  // namespace doppel::model::internal
