// Runs a bound query over one consistent graph state and produces one page.
//
// Rows come out in a fixed order — FROM twins by id (whatever index chose them), then each
// JOIN's relationships by relationship id (FROM RELATIONSHIPS: source twins by id, then their
// relationships by id) — so a page can be resumed after the last row it
// returned (see continuation.h). WHERE is split into its top-level AND conjuncts and
// each is checked as soon as the bindings it needs are bound, so a JOIN does not expand rows
// an earlier conjunct already rejected.
#pragma once

#include "base/status.h"
#include "query/internal/ast.h"
#include "query/internal/continuation.h"
#include "query/query.h"
#include "twin/twin_graph.h"

namespace doppel::query {

// Largest page a caller may ask for.
inline constexpr std::size_t kMaxPageSize = 10000;

// `resume` is the decoded continuation of the previous page, or nullptr for the first page.
// Over options.max_scanned examined twins → PayloadTooLarge.
Result<QueryPage> RunQuery(const ParsedQuery& query, const twin::GraphState& state,
                           const QueryOptions& options, const Continuation* resume);

}  // namespace doppel::query
