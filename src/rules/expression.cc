#include "rules/expression.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "rules/internal/ast.h"
#include "rules/internal/checker.h"
#include "rules/internal/evaluator.h"
#include "rules/internal/lexer.h"
#include "rules/internal/parser.h"

namespace doppel::rules {
namespace {

// Characters, not bytes: every byte that does not continue a UTF-8 sequence starts one.
std::size_t CountCharacters(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

Result<Expression> Expression::Parse(std::string_view text, const ExpressionLimits& limits) {
  // A UTF-8 character is at most 4 bytes: past that, do not even count.
  std::size_t length = text.size() > 4 * limits.max_length ? text.size() : CountCharacters(text);
  if (length > limits.max_length) {
    return Status::PayloadTooLarge(fmt::format("the expression is {} characters long, over the limit of {}",
                                               length, limits.max_length));
  }
  std::vector<internal::Token> tokens = internal::Tokenize(text);
  DOPPEL_ASSIGN_OR_RETURN(internal::ParsedExpression parsed, internal::ParseTokens(tokens, limits));
  DOPPEL_RETURN_IF_ERROR(internal::CheckTypes(*parsed.root));
  return Expression(std::move(parsed.root), std::string(text), std::move(parsed.signals), parsed.lookback_ns);
}

Expression::Expression(std::shared_ptr<const Node> root, std::string text, std::vector<SignalRef> signals,
                       int64_t lookback)
    : root_(std::move(root)),
      text_(std::move(text)),
      signals_(std::move(signals)),
      lookback_ns_(lookback),
      layout_(std::make_shared<internal::StateLayout>(internal::LayOut(*root_, signals_))) {}

const std::string& Expression::text() const { return text_; }

std::span<const SignalRef> Expression::signals() const { return signals_; }

int64_t Expression::lookback_ns() const { return lookback_ns_; }

std::string Expression::ToString() const { return internal::Print(*root_, signals_); }

}  // namespace doppel::rules
