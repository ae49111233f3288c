// Recursive-descent parser for the rule condition grammar (rules/expression.h). It builds the
// syntax tree, collects the signals read, numbers the window and 'for' slots the evaluator
// keeps state in, and enforces the node, depth and duration limits. Types are checked after
// it, by checker.h.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "rules/expression.h"
#include "rules/internal/ast.h"
#include "rules/internal/lexer.h"

namespace doppel::rules::internal {

struct ParsedExpression {
  std::unique_ptr<Node> root;
  std::vector<SignalRef> signals;  // first-use order; kSignal/kWindow nodes index it
  int64_t lookback_ns = 0;         // the longest window or 'for' duration
};

// Parses `tokens` (from Tokenize, ending in kEnd or kError). Errors: InvalidArgument
// "at L:C: expected …, found …" (or the tokeniser's message when its error comes first), and
// PayloadTooLarge "at L:C: …" past max_nodes or max_depth.
Result<ParsedExpression> ParseTokens(std::span<const Token> tokens, const ExpressionLimits& limits);

}  // namespace doppel::rules::internal
