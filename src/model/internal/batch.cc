#include "model/internal/batch.h"

#include <fmt/format.h>

namespace doppel::model::internal {

void Batch::Error(const Where& where, std::string_view rule, std::string message) {
  errors_.push_back(ModelError{std::string(where.model_id), where.path, std::string(rule),
                               std::move(message)});
}

void Batch::Define(std::string id, Definition def) {
  auto [it, inserted] = definitions_.try_emplace(std::move(id), std::move(def));
  if (!inserted) {
    Error(def.partition, def.path, "duplicateId",
          fmt::format("@id '{}' is also defined at {}", it->first, it->second.path));
  }
}

const Definition* Batch::FindDefinition(std::string_view id) const {
  auto it = definitions_.find(std::string(id));
  return it == definitions_.end() ? nullptr : &it->second;
}

Draft& Batch::AddDraft(Draft draft) {
  drafts_.push_back(std::make_unique<Draft>(std::move(draft)));
  Draft& d = *drafts_.back();
  draft_by_id_.try_emplace(d.iface->id, &d);
  return d;
}

Draft* Batch::FindDraft(std::string_view id) {
  auto it = draft_by_id_.find(std::string(id));
  return it == draft_by_id_.end() ? nullptr : it->second;
}

}  // namespace doppel::model::internal
