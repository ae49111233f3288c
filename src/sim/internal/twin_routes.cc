#include "sim/internal/twin_routes.h"

#include <algorithm>

namespace doppel::sim::internal {
namespace {

std::vector<std::string> BoundIds(const twin::GraphState& graph, const Binding& binding) {
  std::vector<std::string> ids;
  if (binding.twin_model.empty()) {
    for (const auto& id : binding.twin_ids) {
      if (graph.FindTwin(id) != nullptr) ids.push_back(id);
    }
    return ids;
  }
  for (const auto& [model_id, entry] : graph.models().entries()) {
    if (!graph.models().IsOfModel(model_id, binding.twin_model)) continue;
    if (const auto* twins = graph.TwinsOfExactModel(model_id)) ids.insert(ids.end(), twins->begin(), twins->end());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The first (by relationship id) target of each relationship the binding reads through.
std::map<std::string, std::string> Related(const twin::GraphState& graph, std::string_view twin_id,
                                           const Binding& binding) {
  std::map<std::string, std::string> related;
  const auto note = [&](const TwinPath& path) {
    if (!path.relationship.empty()) related.emplace(path.relationship, "");
  };
  for (const auto& [v, p] : binding.parameters) note(p);
  for (const auto& [v, p] : binding.inputs) note(p);
  for (const auto& [v, m] : binding.measurements) note(m.source);
  if (related.empty()) return related;
  if (const auto* out = graph.Outgoing(twin_id)) {
    for (const auto& [rel_id, rel] : *out) {
      auto it = related.find(rel.name);
      if (it != related.end() && it->second.empty()) it->second = rel.target_id;
    }
  }
  return related;
}

}  // namespace

std::string_view BoundTwin::SourceOf(const TwinPath& path) const {
  if (path.relationship.empty()) return twin_id;
  auto it = related.find(path.relationship);
  return it == related.end() ? std::string_view() : std::string_view(it->second);
}

std::string Routes::SourceKey(std::string_view twin_id, std::string_view path) {
  std::string key;
  key.reserve(twin_id.size() + path.size() + 1);
  key.append(twin_id).push_back('\0');
  key.append(path);
  return key;
}

const std::vector<Route>* Routes::Find(std::string_view twin_id, std::string_view path) const {
  auto it = by_source.find(SourceKey(twin_id, path));
  return it == by_source.end() ? nullptr : &it->second;
}

std::vector<std::size_t> Routes::BoundFor(std::string_view twin_id) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < bound.size(); ++i) {
    if (bound[i].twin_id == twin_id) out.push_back(i);
  }
  return out;
}

BoundTwin BindTwin(const twin::GraphState& graph, std::string twin_id, std::shared_ptr<const Binding> binding) {
  BoundTwin bound{.twin_id = std::move(twin_id), .binding = std::move(binding)};
  bound.related = Related(graph, bound.twin_id, *bound.binding);
  return bound;
}

Routes ResolveRoutes(const twin::GraphState& graph, std::span<const std::shared_ptr<const Binding>> bindings) {
  Routes routes;
  for (const auto& binding : bindings) {
    for (std::string& id : BoundIds(graph, *binding)) routes.bound.push_back(BindTwin(graph, std::move(id), binding));
  }
  for (std::size_t i = 0; i < routes.bound.size(); ++i) {
    const BoundTwin& b = routes.bound[i];
    const auto add = [&](const TwinPath& path, Role role, const std::string& variable) {
      const std::string_view source = b.SourceOf(path);
      if (source.empty()) return;
      routes.by_source[Routes::SourceKey(source, path.path)].push_back(
          Route{.bound = i, .role = role, .variable = variable});
    };
    for (const auto& [v, p] : b.binding->parameters) add(p, Role::kParameter, v);
    for (const auto& [v, p] : b.binding->inputs) add(p, Role::kInput, v);
    for (const auto& [v, m] : b.binding->measurements) add(m.source, Role::kMeasurement, v);
  }
  return routes;
}

std::optional<double> PropertyValue(const twin::GraphState& graph, std::string_view twin_id, std::string_view path) {
  const twin::Twin* twin = graph.FindTwin(twin_id);
  if (twin == nullptr) return std::nullopt;
  const json::object* obj = &twin->doc;
  std::string_view name = path;
  if (auto slash = path.find('/'); slash != std::string_view::npos) {
    const json::value* component = obj->if_contains(path.substr(0, slash));
    if (component == nullptr || !component->is_object()) return std::nullopt;
    obj = &component->get_object();
    name = path.substr(slash + 1);
  }
  const json::value* v = obj->if_contains(name);
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return v->to_number<double>();
  if (v->is_bool()) return v->get_bool() ? 1.0 : 0.0;
  return std::nullopt;
}

}  // namespace doppel::sim::internal
