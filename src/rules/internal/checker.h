// The type checker: numbers, booleans and strings are checked where the parser is done;
// signals are dynamically typed (their values' types are only known at run time).
#pragma once

#include "base/status.h"
#include "rules/internal/ast.h"

namespace doppel::rules::internal {

// OK, or InvalidArgument "at L:C: <what is wrong>": '<' on a string, '+' on a boolean,
// 'and' on a number, '==' between a number and a string, a whole expression that is not a
// condition.
Status CheckTypes(const Node& root);

}  // namespace doppel::rules::internal
