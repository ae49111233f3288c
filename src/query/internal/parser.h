// Recursive-descent parser for the query grammar (see query/query.h): text → ParsedQuery with
// raw, unresolved paths. Name resolution and semantic checks are the binder's (binder.h).
#pragma once

#include <cstddef>
#include <string_view>

#include "base/status.h"
#include "query/internal/ast.h"

namespace doppel::query {

// ADT's limit on query text.
inline constexpr std::size_t kMaxQueryLength = 8000;
// Deepest nesting of parentheses and NOTs: bounds the parser's and evaluator's recursion.
inline constexpr int kMaxNesting = 32;
// ADT allows five levels of JOIN.
inline constexpr std::size_t kMaxJoins = 5;

// Syntax errors are InvalidArgument ("SqlQueryError") naming line and column, what was
// expected and what was found.
Result<ParsedQuery> ParseSyntax(std::string_view text);

}  // namespace doppel::query
