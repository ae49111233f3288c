// The Azure Digital Twins query language over the twin graph.
//
//   SELECT [TOP(n)] * | COUNT() | alias[.path][, ...] FROM DIGITALTWINS [alias]
//     [JOIN r RELATED alias.relName [JOIN ...]] [WHERE condition]
//
// Conditions: comparisons (= != < <= > >=), AND/OR/NOT, IN/NIN [...], IS_OF_MODEL(...),
// IS_DEFINED, IS_NULL, IS_PRIMITIVE, IS_BOOL/IS_NUMBER/IS_STRING/IS_OBJECT, STARTSWITH,
// ENDSWITH, CONTAINS; paths like T.$dtId, T.$metadata.$model, T.comp.prop, R.relProp.
//
// Execution reads a consistent snapshot of the graph (TwinGraph::Read) and uses indexes where
// they help: the exact-model index for IS_OF_MODEL, the ordered ids for $dtId equality and
// STARTSWITH, the property-equality index for `T.prop = literal`.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/status.h"
#include "twin/twin_graph.h"

namespace doppel::query {

struct QueryOptions {
  // Rows per page. Default 100 (ADT's page size); at most 10000.
  std::size_t page_size = 100;
  // Opaque token from a previous page, or empty for the first page.
  std::string continuation_token;
  // Most twins a single query may examine after index selection; over it → PayloadTooLarge
  // (guards the server against accidental full scans of huge graphs). Default 2,000,000.
  std::size_t max_scanned = 2'000'000;
};

struct QueryPage {
  json::array value;               // rows, ADT shapes
  std::string continuation_token;  // empty on the last page
};

class ParsedQuery;  // the syntax tree, see query/internal/ast.h

// Parses a query. Syntax errors are InvalidArgument ("BadRequest") naming line and column:
// "query syntax error at line 1, column 34: expected FROM, found 'FORM'".
Result<std::shared_ptr<const ParsedQuery>> Parse(std::string_view text);

// Parses and runs `text` against `graph`, returning one page.
Result<QueryPage> Execute(const twin::TwinGraph& graph, std::string_view text,
                          const QueryOptions& options = {});

}  // namespace doppel::query
