// Chooses where the FROM twins come from: the cheapest index a top-level WHERE conjunct allows,
// or a full scan. The choice is only a pre-filter — every candidate is still checked against
// the whole WHERE — so a plan can be too wide but never too narrow.
//
//   T.$dtId = 'x' / IN [...] / OR of those → id lookups
//   STARTSWITH(T.$dtId, 'p')            → range of the ordered twin map
//   IS_OF_MODEL(T, 'm')                 → exact-model index of m and of each model deriving
//                                          from it, merged in id order
//   T.$metadata.$model = 'm'            → exact-model index
//   T.prop = literal                    → property-equality index
//   CT.$dtId = 'x' on JOIN CT RELATED T.rel → the sources of x's incoming `rel` relationships
//   otherwise                           → every twin
//
// FROM RELATIONSHIPS plans the relationships' source twins instead:
//   R.$sourceId = 'x' / IN [...]        → those twins
//   R.$targetId = 'x' / IN [...]        → the sources of x's incoming relationships
//   otherwise                           → every twin
//
// Candidates are always visited in ascending id order, which is what makes paging by
// "resume at twin id" possible.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "query/internal/ast.h"
#include "query/internal/evaluator.h"
#include "twin/twin_graph.h"

namespace doppel::query {

struct CandidatePlan {
  enum class Kind { kScan, kPrefix, kIdSets, kIds };
  Kind kind = Kind::kScan;
  std::string prefix;                              // kPrefix
  std::vector<const std::set<std::string>*> sets;  // kIdSets: disjoint index sets, merged lazily
  std::vector<std::string_view> ids;               // kIds: sorted and unique
  std::string description;                         // for tests and diagnostics, e.g. "id lookup"
  std::size_t estimated = 0;                       // candidates the plan will visit (at most)
};

// The ids a WHERE conjunct pins `binding`'s `field` ($dtId, or a relationship's $sourceId or
// $targetId) to (`= 'x'`, `IN [...]`, or an OR of those), sorted and unique; nullopt if it
// doesn't pin them. Views point into `c`.
std::optional<std::vector<std::string_view>> PinnedIds(const Condition& c, int binding,
                                                       std::string_view field = "$dtId");

// The index set holding every twin that can satisfy `c` as `binding`'s `prop = literal` (a
// top-level property, string/number/boolean literal); nullopt if `c` is not of that form.
// The inner nullptr means no twin has that value.
std::optional<const std::set<std::string>*> PropertyIndexFor(const Condition& c, int binding,
                                                             const twin::GraphState& state);

// `query` and `state` must outlive the plan (it points into both).
CandidatePlan PlanCandidates(const ParsedQuery& query, const twin::GraphState& state,
                             const Evaluator& evaluator);

// Visits the plan's twins with id >= `from_id`, in id order, until `visit` returns false.
void ForEachCandidate(const twin::GraphState& state, const CandidatePlan& plan,
                      std::string_view from_id,
                      const std::function<bool(const twin::Twin&)>& visit);

}  // namespace doppel::query
