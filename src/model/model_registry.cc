#include "model/model_registry.h"

#include <algorithm>

#include <fmt/format.h>

namespace doppel::model {
namespace {

bool References(const Interface& i, std::string_view id) {
  if (std::find(i.extends.begin(), i.extends.end(), id) != i.extends.end()) return true;
  for (const auto& [name, c] : i.contents) {
    if (c.defined_in != i.id) continue;  // inherited: the base references it, not `i`
    if (c.component_interface == id || c.target == id) return true;
  }
  return false;
}

std::string JoinErrors(const std::vector<ModelError>& errors) {
  std::string msg = "invalid DTDL: ";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i > 0) msg += "; ";
    msg += errors[i].ToString();
  }
  return msg;
}

}  // namespace

Result<std::vector<InterfacePtr>> ModelRegistry::Prepare(const std::vector<json::value>& documents,
                                                        const ParseOptions& options) const {
  DtdlParser parser(options);
  ParseResult parsed = parser.Parse(documents, [this](std::string_view id) { return Get(id); });
  if (!parsed.ok()) return Status::InvalidArgument(JoinErrors(parsed.errors), "DTDLParserError");
  for (const auto& i : parsed.interfaces) {
    if (entries_.contains(i->id)) {
      return Status::AlreadyExists(fmt::format("model '{}' already exists", i->id),
                                   "ModelAlreadyExists");
    }
  }
  return std::move(parsed.interfaces);
}

void ModelRegistry::Commit(std::vector<InterfacePtr> interfaces, std::string upload_time) {
  for (auto& i : interfaces) {
    std::string id = i->id;
    entries_[id] = ModelEntry{std::move(i), false, upload_time};
  }
}

const ModelEntry* ModelRegistry::Find(std::string_view id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

InterfacePtr ModelRegistry::Get(std::string_view id) const {
  const ModelEntry* e = Find(id);
  return e ? e->interface : nullptr;
}

void ModelRegistry::SetDecommissioned(std::string_view id, bool decommissioned) {
  auto it = entries_.find(id);
  if (it != entries_.end()) it->second.decommissioned = decommissioned;
}

std::vector<std::string> ModelRegistry::ReferencedBy(std::string_view id) const {
  std::vector<std::string> out;
  for (const auto& [other_id, entry] : entries_) {
    if (other_id != id && References(*entry.interface, id)) out.push_back(other_id);
  }
  return out;
}

void ModelRegistry::Remove(std::string_view id) {
  auto it = entries_.find(id);
  if (it != entries_.end()) entries_.erase(it);
}

namespace {

// The content "name" of `iface`, or "name" of the component "component/name" names.
const Content* FindContent(const ModelRegistry& models, const Interface& iface, std::string_view path) {
  const Interface* scope = &iface;
  if (std::size_t slash = path.find('/'); slash != std::string_view::npos) {
    const Content* component = iface.Find(path.substr(0, slash));
    if (component == nullptr || component->kind != ContentKind::kComponent) return nullptr;
    const ModelEntry* inner = models.Find(component->component_interface);
    scope = inner == nullptr ? nullptr : inner->interface.get();
    path = path.substr(slash + 1);
  }
  return scope == nullptr ? nullptr : scope->Find(path);
}

}  // namespace

const Content* ModelRegistry::FindCommand(const Interface& iface, std::string_view path) const {
  const Content* content = FindContent(*this, iface, path);
  return content != nullptr && content->kind == ContentKind::kCommand ? content : nullptr;
}

const Content* ModelRegistry::FindValue(const Interface& iface, std::string_view path) const {
  const Content* content = FindContent(*this, iface, path);
  if (content == nullptr || content->schema == nullptr) return nullptr;
  if (content->kind != ContentKind::kTelemetry && content->kind != ContentKind::kProperty) return nullptr;
  return content;
}

bool ModelRegistry::IsOfModel(std::string_view model_id, std::string_view base_id) const {
  if (model_id == base_id) return true;
  InterfacePtr i = Get(model_id);
  return i != nullptr && i->ancestors.contains(std::string(base_id));
}

}  // namespace doppel::model
