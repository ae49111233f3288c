// Where each reading goes in shadow mode: the bindings resolved against the twin graph into the
// bound twins and, for every (twin, path) a binding reads, the bound twins and variables it
// feeds. Recomputed when bindings or the graph change (twins, relationships, models).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sim/binding.h"
#include "twin/twin_graph.h"

namespace doppel::sim::internal {

struct BoundTwin {
  std::string twin_id;
  std::shared_ptr<const Binding> binding;
  // Each relationship the binding reads through → the twin it reaches ("" = none yet).
  std::map<std::string, std::string> related = {};

  // The twin holding `path`'s value: the bound twin itself or the relationship's target.
  std::string_view SourceOf(const TwinPath& path) const;
};

enum class Role : uint8_t { kParameter, kInput, kMeasurement };

struct Route {
  std::size_t bound = 0;  // index into Routes::bound
  Role role = Role::kInput;
  std::string variable;   // the simulation variable it sets or measures
};

struct Routes {
  std::vector<BoundTwin> bound;  // by (binding name, twin id)
  std::unordered_map<std::string, std::vector<Route>> by_source;  // SourceKey(twin, path) → routes

  static std::string SourceKey(std::string_view twin_id, std::string_view path);
  const std::vector<Route>* Find(std::string_view twin_id, std::string_view path) const;
  // Indexes into `bound` of the bindings covering `twin_id`.
  std::vector<std::size_t> BoundFor(std::string_view twin_id) const;
};

// One twin under one binding, its relationships resolved (whether or not the binding covers it).
BoundTwin BindTwin(const twin::GraphState& graph, std::string twin_id, std::shared_ptr<const Binding> binding);

// Every twin each binding covers (by DTDL model, descendants included, or by id — ids of
// missing twins are skipped), with its relationships resolved, and the routes of their sources.
Routes ResolveRoutes(const twin::GraphState& graph, std::span<const std::shared_ptr<const Binding>> bindings);

// The numeric value of a property of a twin ("name" or "component/name"): numbers as they are,
// booleans as 0/1; nullopt when absent or not a number.
std::optional<double> PropertyValue(const twin::GraphState& graph, std::string_view twin_id, std::string_view path);

}  // namespace doppel::sim::internal
