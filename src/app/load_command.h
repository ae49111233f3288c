// `doppel load DIR`: puts an example (or any directory laid out like one) into a server.
//
// DIR/models/**/*.json are DTDL models; DIR/twins.json is
//   {"twins": [ADT twin documents with "$dtId" and "$metadata": {"$model"}],
//    "relationships": [{"$sourceId", "$relationshipId", "$relationshipName", "$targetId", ...}]}.
// Loading is idempotent: models the server already has are skipped, twins and relationships
// are PUT (created or replaced).
#pragma once

#include <string>

#include "app/remote_command.h"

namespace doppel::app {

// Prints a one-line summary; returns 0, or 1 after the first failure (named).
int LoadDirectory(const std::string& url, const std::string& dir, const CommandIo& io);

}  // namespace doppel::app
