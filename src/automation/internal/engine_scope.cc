#include "automation/internal/engine_scope.h"

#include <algorithm>
#include <deque>

namespace doppel::automation::engine {
namespace {

bool NamedIn(const std::vector<std::string>& sorted, std::string_view name) {
  return std::binary_search(sorted.begin(), sorted.end(), name, std::less<>());
}

// Adds the twins of `model_id` and of every model extending it.
void AddTwinsOfModel(const twin::GraphState& graph, std::string_view model_id, std::vector<std::string>& out) {
  for (const auto& [id, entry] : graph.models().entries()) {
    if (!graph.models().IsOfModel(id, model_id)) continue;
    if (const std::set<std::string>* twins = graph.TwinsOfExactModel(id)) out.insert(out.end(), twins->begin(), twins->end());
  }
}

}  // namespace

bool UnderSet::Follows(std::string_view relationship) const {
  return relationships.empty() || NamedIn(relationships, relationship);
}

bool UnderSet::AffectedBy(std::string_view source, std::string_view relationship) const {
  return Follows(relationship) && (source == root || reach.contains(std::string(source)));
}

std::unordered_set<std::string> Reachable(const twin::GraphState& graph, std::string_view root,
                                          const std::vector<std::string>& relationships) {
  std::unordered_set<std::string> reach;
  std::deque<std::string_view> frontier{root};
  while (!frontier.empty()) {
    std::string_view at = frontier.front();
    frontier.pop_front();
    const auto* outgoing = graph.Outgoing(at);
    if (!outgoing) continue;
    for (const auto& [rel_id, rel] : *outgoing) {
      if (!relationships.empty() && !NamedIn(relationships, rel.name)) continue;
      if (rel.target_id == root || !reach.insert(rel.target_id).second) continue;
      frontier.push_back(rel.target_id);  // the graph's string: stable while the lock is held
    }
  }
  return reach;
}

bool InScope(const twin::GraphState& graph, const CompiledRule& rule, const UnderSet* under, const twin::Twin& twin) {
  const RuleScope& scope = rule.spec.scope;
  if (!scope.model.empty() && !graph.models().IsOfModel(twin.model_id, scope.model)) return false;
  if (!rule.twins.empty() && !NamedIn(rule.twins, twin.id)) return false;
  return !under || under->reach.contains(twin.id);
}

std::vector<std::string> ResolveScope(const twin::GraphState& graph, const CompiledRule& rule, const UnderSet* under) {
  std::vector<std::string> candidates;
  if (!rule.twins.empty()) {
    candidates = rule.twins;
  } else if (under) {
    candidates.assign(under->reach.begin(), under->reach.end());
  } else if (!rule.spec.scope.model.empty()) {
    AddTwinsOfModel(graph, rule.spec.scope.model, candidates);
  } else {
    for (const auto& [id, twin] : graph.twins()) candidates.push_back(id);
  }
  std::vector<std::string> in_scope;
  for (std::string& id : candidates) {
    const twin::Twin* twin = graph.FindTwin(id);
    if (twin && InScope(graph, rule, under, *twin)) in_scope.push_back(std::move(id));
  }
  std::sort(in_scope.begin(), in_scope.end());
  return in_scope;
}

std::vector<std::string> RelatedTwins(const twin::GraphState& graph, std::string_view twin_id,
                                      std::string_view relationship) {
  std::vector<std::string> targets;
  if (const auto* outgoing = graph.Outgoing(twin_id)) {
    for (const auto& [rel_id, rel] : *outgoing) {
      if (rel.name == relationship) targets.push_back(rel.target_id);
    }
  }
  return targets;
}

}  // namespace doppel::automation::engine
