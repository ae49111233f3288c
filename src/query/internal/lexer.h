// Splits query text into tokens, each with its line and column (1-based) for error messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "query/internal/ast.h"

namespace doppel::query {

enum class TokenKind {
  kIdentifier,  // keywords too (the parser matches them case-insensitively); may start with $
  kString,      // 'text' or "text"; `text` holds the unescaped value
  kNumber,      // digits with optional fraction and exponent; no sign (see kMinus)
  kStar,
  kComma,
  kDot,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kMinus,
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // identifier/number spelling, string value, or the operator
  SourcePos pos;
};

// How a token is shown in "found ..." messages: 'FORM', string 'abc', end of query.
std::string DescribeToken(const Token& token);

// Tokenises `text`; the last token is always kEnd. Errors are InvalidArgument:
// "query syntax error at line 1, column 8: unterminated string".
Result<std::vector<Token>> Tokenize(std::string_view text);

// "query syntax error at line L, column C: <what>".
Status SyntaxError(SourcePos pos, std::string_view what);

}  // namespace doppel::query
