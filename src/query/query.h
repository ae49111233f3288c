// The Azure Digital Twins query language over the twin graph.
//
//   SELECT [TOP(n)] * | COUNT() | path [AS name][, ...] FROM DIGITALTWINS [[AS] T]
//     [JOIN CT RELATED T.relName [[AS] R]]... [WHERE condition]
//   SELECT ... FROM RELATIONSHIPS [[AS] R] [WHERE condition]      (no JOIN, no IS_OF_MODEL)
//
// Keywords and function names are case-insensitive; aliases and property names are not.
// Conditions: comparisons (= != <> < <= > >=) between paths and literals ('..' or "..",
// numbers, true, false, null); AND/OR/NOT and parentheses; IN/NIN [literals];
// IS_OF_MODEL([T,] 'dtmi:..;1' [, exact]) (with inheritance unless `exact`), IS_DEFINED,
// IS_NULL, IS_PRIMITIVE, IS_BOOL, IS_NUMBER, IS_STRING, IS_OBJECT, STARTSWITH, ENDSWITH,
// CONTAINS. Paths: T.$dtId, T.$metadata.$model, T.comp.prop, R.$relationshipName, R.prop.
// Without a FROM alias, paths are relative to the twin ($dtId, comp.prop); once an alias is
// declared every path must start with one.
//
// Semantics are ADT's: comparing different types or a missing property is "undefined", which
// WHERE treats as false (never an error); NOT undefined stays undefined.
//
// Results (QueryPage::value), as ADT shapes them:
//   SELECT *                      → the twin (FROM RELATIONSHIPS: relationship) documents
//   SELECT T, CT                  → [{"T": twin, "CT": twin}, ...]
//   SELECT T.name, R.since AS s   → [{"name": .., "s": ..}, ...] (a missing property is omitted)
//   SELECT COUNT()                → [{"COUNT": n}]
// Rows come in a fixed order: FROM twins by $dtId, then each JOIN's relationships by id
// (FROM RELATIONSHIPS: by source twin id, then relationship id).
// SELECT * with JOIN is rejected (as in ADT); at most 5 JOINs; TOP(n) needs 1 <= n <= 1000000
// and cannot be combined with COUNT().
//
// Execution reads a consistent snapshot of the graph (TwinGraph::Read) and uses indexes where
// they help: the ordered ids for $dtId equality, IN and STARTSWITH, the exact-model index for
// IS_OF_MODEL and $metadata.$model, the property-equality index for `T.prop = literal`, and
// incoming relationships for `JOIN CT RELATED T.rel WHERE CT.$dtId = 'x'` (and for
// `FROM RELATIONSHIPS R WHERE R.$targetId = 'x'`), outgoing ones for R.$sourceId. An index is
// only a pre-filter: the whole WHERE is checked on every candidate.
//
// Errors (InvalidArgument unless noted; Azure code in brackets):
//   syntax    [SqlQueryError] "query syntax error at line 2, column 5: expected FROM, found
//             'FORM'"
//   semantic  [SqlQueryError] "query error at line 1, column 40: unknown alias 'X'
//             (declared: T)"
//   limits    [SqlQueryError] text over 8000 characters, conditions nested over 32 deep
//   paging    [BadRequest] malformed token, a token from another query, page size 0
//   max_scanned exceeded → PayloadTooLarge
//
// Thread-safety: free functions, safe to call from any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/status.h"
#include "twin/field_mask.h"
#include "twin/twin_graph.h"
#include "twin/visibility.h"

namespace doppel::query {

struct QueryOptions {
  // Rows per page. Default 100 (ADT's page size); 0 is InvalidArgument, over 10000 counts
  // as 10000 (ADT lets the server return fewer rows than asked).
  std::size_t page_size = 100;
  // Opaque token from a previous page, or empty for the first page. The token carries the
  // query text, so Execute may be given an empty `text` with it (ADT ignores the query when a
  // token is sent); a non-empty `text` must equal the token's query. A page resumes after
  // the last row returned (by twin id, not offset), so writes between pages neither repeat
  // nor skip rows of twins that were not themselves changed.
  std::string continuation_token;
  // Most twins a single query may examine after index selection; over it → PayloadTooLarge
  // (guards the server against accidental full scans of huge graphs). Default 2,000,000.
  // Counts FROM candidates (twins, or relationships for FROM RELATIONSHIPS) and JOINed twins
  // examined for this page.
  std::size_t max_scanned = 2'000'000;
  // The twins the caller may see (twin/visibility.h); null (the default) sees every twin.
  // An invisible twin is as if it did not exist: it is never a FROM candidate (so neither
  // WHERE, TOP nor COUNT() sees it), a JOIN whose related twin is invisible yields no row (so
  // nothing is JOINed through it either), and FROM RELATIONSHIPS shows a relationship only
  // when both its source and its target are visible. Filtering is applied to every candidate,
  // whatever index chose it. max_scanned counts exactly as without a filter (invisible
  // candidates are examined too), so whether a query is too large does not depend on who asks.
  // A continuation token must be used with the same filter (it names only rows the caller saw;
  // under a different filter the next page simply skips what is now invisible). Called under
  // the graph's shared lock.
  twin::TwinFilter visible;
  // The values the caller may not see (twin/field_mask.h); null (the default) sees them all.
  // Each twin is read as if its hidden properties were absent: SELECT * and projected twins
  // and components come without them (their $metadata entries say {"masked": "<class>"}), a
  // projected hidden value is omitted, and a condition on one is undefined, as on a missing
  // property (so `WHERE T.badgeId = 'x'` matches nothing and cannot probe a value, COUNT()
  // included). Called under the graph's shared lock.
  twin::FieldMask masked;
};

struct QueryPage {
  json::array value;               // rows, ADT shapes
  std::string continuation_token;  // empty on the last page
};

class ParsedQuery;  // the syntax tree, see query/internal/ast.h

// Parses and checks a query (syntax, aliases, limits) without running it. Syntax errors are
// InvalidArgument naming line and column:
// "query syntax error at line 1, column 34: expected FROM, found 'FORM'".
Result<std::shared_ptr<const ParsedQuery>> Parse(std::string_view text);

// Parses and runs `text` against `graph` under its shared lock, returning one page.
Result<QueryPage> Execute(const twin::TwinGraph& graph, std::string_view text,
                          const QueryOptions& options = {});

}  // namespace doppel::query
