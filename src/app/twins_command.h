// `doppel twins ...` and `doppel relationships ...`: one twin or its edges at a time.
#pragma once

#include <string>

#include "app/remote_command.h"

namespace doppel::app {

// GET /digitaltwins/{id}, pretty-printed.
int GetTwin(const std::string& url, const std::string& id, const CommandIo& io);
// PUT /digitaltwins/{id} with the twin document read from `file` ("-" = standard input).
int PutTwin(const std::string& url, const std::string& id, const std::string& file,
            const CommandIo& io);
// PATCH /digitaltwins/{id} with a JSON Patch given inline (`[{"op": ...}]`) or in a file.
int PatchTwin(const std::string& url, const std::string& id, const std::string& patch_or_file,
              const CommandIo& io);
int DeleteTwin(const std::string& url, const std::string& id, const CommandIo& io);

// GET /digitaltwins/{id}/relationships (all pages): a table of id, name and target, or the
// raw documents when `as_json`.
int ListRelationships(const std::string& url, const std::string& id, bool as_json,
                      const CommandIo& io);

}  // namespace doppel::app
