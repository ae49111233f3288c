// The set of models the server knows: add in atomic batches, look up, decommission, delete.
//
// Thread-safety: not synchronised; the owner (twin::TwinGraph) serialises access.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/dtdl_parser.h"
#include "model/model.h"

namespace doppel::model {

struct ModelEntry {
  InterfacePtr interface;
  bool decommissioned = false;
  std::string upload_time;  // RFC 3339
};

class ModelRegistry {
 public:
  // Parses and validates `documents` against the models already here; on success returns the
  // new interfaces without adding them (the caller persists, then calls Commit). An id already
  // present is an AlreadyExists error ("ModelAlreadyExists"); invalid models give
  // InvalidArgument ("DTDLParserError") naming model, JSON path and rule for each error.
  Result<std::vector<InterfacePtr>> Prepare(const std::vector<json::value>& documents,
                                            const ParseOptions& options = {}) const;
  void Commit(std::vector<InterfacePtr> interfaces, std::string upload_time);

  const ModelEntry* Find(std::string_view id) const;
  InterfacePtr Get(std::string_view id) const;
  const std::map<std::string, ModelEntry, std::less<>>& entries() const { return entries_; }

  void SetDecommissioned(std::string_view id, bool decommissioned);
  // Models that reference `id` (extends it, use it as a component schema or relationship target).
  std::vector<std::string> ReferencedBy(std::string_view id) const;
  void Remove(std::string_view id);

  // The Property or Telemetry `path` names in `iface` — "name", or "component/name" inside one
  // of its components — or nullptr when there is none (or its schema is not known).
  const Content* FindValue(const Interface& iface, std::string_view path) const;
  // The Command `path` names in `iface` ("name" or "component/name"), or nullptr.
  const Content* FindCommand(const Interface& iface, std::string_view path) const;

  // True if `model_id` is `base_id` or derives from it.
  bool IsOfModel(std::string_view model_id, std::string_view base_id) const;

 private:
  std::map<std::string, ModelEntry, std::less<>> entries_;
};

}  // namespace doppel::model
