#include "sim/simulation.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <utility>

namespace doppel::sim {

std::string_view CausalityName(Causality causality) {
  switch (causality) {
    case Causality::kParameter: return "parameter";
    case Causality::kInput: return "input";
    case Causality::kOutput: return "output";
    case Causality::kState: return "state";
  }
  return "unknown";
}

std::optional<std::size_t> ModelInfo::Find(std::string_view variable) const {
  for (std::size_t i = 0; i < variables.size(); ++i) {
    if (variables[i].name == variable) return i;
  }
  return std::nullopt;
}

Result<std::size_t> ModelInfo::Index(std::string_view variable) const {
  if (auto index = Find(variable)) return *index;
  return Status::InvalidArgument("model '" + name + "' has no variable '" + std::string(variable) + "'");
}

Status SetByName(Simulation& sim, const std::map<std::string, double>& values) {
  for (const auto& [name, value] : values) {
    DOPPEL_ASSIGN_OR_RETURN(std::size_t index, sim.info().Index(name));
    DOPPEL_RETURN_IF_ERROR(sim.Set(index, value));
  }
  return Status::Ok();
}

std::map<std::string, double> ValuesByName(const Simulation& sim) {
  std::map<std::string, double> values;
  const auto& variables = sim.info().variables;
  for (std::size_t i = 0; i < variables.size(); ++i) values[variables[i].name] = sim.Get(i);
  return values;
}

struct ModelCatalog::State {
  mutable std::shared_mutex mu;
  std::map<std::string, std::pair<ModelInfo, Factory>, std::less<>> models;  // guarded by mu
};

ModelCatalog::ModelCatalog() = default;
ModelCatalog::ModelCatalog(ModelCatalog&&) noexcept = default;
ModelCatalog& ModelCatalog::operator=(ModelCatalog&&) noexcept = default;
ModelCatalog::~ModelCatalog() = default;

void ModelCatalog::Register(ModelInfo info, Factory factory) {
  if (!state_) state_ = std::make_unique<State>();
  std::unique_lock lock(state_->mu);
  std::string name = info.name;
  state_->models.insert_or_assign(std::move(name), std::make_pair(std::move(info), std::move(factory)));
}

bool ModelCatalog::Remove(std::string_view name) {
  if (!state_) return false;
  std::unique_lock lock(state_->mu);
  auto it = state_->models.find(name);
  if (it == state_->models.end()) return false;
  state_->models.erase(it);
  return true;
}

Result<std::unique_ptr<Simulation>> ModelCatalog::Create(std::string_view name) const {
  Factory factory;
  if (state_) {
    std::shared_lock lock(state_->mu);
    auto it = state_->models.find(name);
    if (it != state_->models.end()) factory = it->second.second;
  }
  if (!factory) return Status::NotFound("no simulation model '" + std::string(name) + "'");
  return factory();
}

Result<ModelInfo> ModelCatalog::Describe(std::string_view name) const {
  if (state_) {
    std::shared_lock lock(state_->mu);
    auto it = state_->models.find(name);
    if (it != state_->models.end()) return it->second.first;
  }
  return Status::NotFound("no simulation model '" + std::string(name) + "'");
}

std::vector<ModelInfo> ModelCatalog::List() const {
  std::vector<ModelInfo> infos;
  if (!state_) return infos;
  std::shared_lock lock(state_->mu);
  for (const auto& [name, entry] : state_->models) infos.push_back(entry.first);
  return infos;
}

}  // namespace doppel::sim
