// Which twins a rule's scope holds, computed on the graph (under its shared lock).
//
// `under` scopes are shared: rules with the same root and relationship names share one
// UnderSet (typically many rules per farm), so a relationship change recomputes each
// reachable set once, not once per rule.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "automation/internal/engine_rule.h"
#include "twin/twin_graph.h"

namespace doppel::automation::engine {

struct UnderSet {
  std::string root;
  std::vector<std::string> relationships;  // sorted; empty = any
  std::unordered_set<std::string> reach;   // reachable from root, root excluded
  int users = 0;                           // rules sharing it

  bool Follows(std::string_view relationship) const;
  // A change to an outgoing relationship of `source` named `relationship` may change `reach`.
  bool AffectedBy(std::string_view source, std::string_view relationship) const;
};

// Twins reachable from `root` through outgoing relationships named in `relationships` (any
// when empty), transitively; the root itself is not included (even on a cycle back to it).
std::unordered_set<std::string> Reachable(const twin::GraphState& graph, std::string_view root,
                                          const std::vector<std::string>& relationships);

// Whether `twin` meets every criterion of `rule`'s scope (`under` as `reach` holds it).
bool InScope(const twin::GraphState& graph, const CompiledRule& rule, const UnderSet* under, const twin::Twin& twin);

// Every twin in the scope, by id.
std::vector<std::string> ResolveScope(const twin::GraphState& graph, const CompiledRule& rule, const UnderSet* under);

// Twins `twin_id` reaches through its outgoing relationships named `relationship`.
std::vector<std::string> RelatedTwins(const twin::GraphState& graph, std::string_view twin_id,
                                      std::string_view relationship);

}  // namespace doppel::automation::engine
