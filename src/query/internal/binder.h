// Semantic analysis: resolves every alias and path of a parsed query to a binding and checks
// the rules the grammar cannot (unique aliases, JOIN sources, SELECT * without JOIN, no JOIN
// with FROM RELATIONSHIPS, TOP range, distinct column names).
//
// Paths: when FROM DIGITALTWINS has no alias, paths are relative to the twin (`$dtId`,
// `comp.prop`); once any alias is declared, every path must start with one (so a misspelt
// alias is an error, not a silently empty result).
#pragma once

#include <cstdint>

#include "base/status.h"
#include "query/internal/ast.h"

namespace doppel::query {

inline constexpr int64_t kMaxTop = 1'000'000;

// Errors are InvalidArgument ("SqlQueryError"): "query error at line 1, column 30: unknown
// alias 'X' (declared: T, CT)".
Status Bind(ParsedQuery& query);

}  // namespace doppel::query
