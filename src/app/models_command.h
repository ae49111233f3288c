// `doppel models ...`: validating DTDL offline and managing the models a server knows.
#pragma once

#include <string>
#include <vector>

#include "app/remote_command.h"
#include "base/json.h"

namespace doppel::app {

struct ValidateModelsOptions {
  std::vector<std::string> paths;  // files and directories (walked recursively for *.json)
  bool allow_undefined_extensions = false;
};

// Parses every model named by `options.paths` as one batch, without a server. Prints
// "N models valid" and returns 0, or prints every error (file, model id, JSON path, rule,
// message) and returns 1.
int ValidateModels(const ValidateModelsOptions& options, const CommandIo& io);

// The model documents in `files` as one flat array (a file may hold one model or an array).
json::array FlattenModels(const std::vector<JsonFile>& files);

// The "@id" of a model document ("" if it has none).
std::string ModelId(const json::value& model);

// POSTs every model under `paths` to /models in one request.
int UploadModels(const std::string& url, const std::vector<std::string>& paths,
                 const CommandIo& io);

// GET /models: one line per model (id, display name, decommissioned).
int ListModels(const std::string& url, const CommandIo& io);
// GET /models/{id} with its definition, pretty-printed.
int GetModel(const std::string& url, const std::string& id, const CommandIo& io);
int DeleteModel(const std::string& url, const std::string& id, const CommandIo& io);
// PATCH /models/{id}: replace /decommissioned with true.
int DecommissionModel(const std::string& url, const std::string& id, const CommandIo& io);

}  // namespace doppel::app
