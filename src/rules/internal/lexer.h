// Splits a rule condition into tokens, each with its position for error messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "rules/internal/ast.h"

namespace doppel::rules::internal {

enum class TokenKind {
  kNumber,    // 12, 0.5, 1e-3 (no sign: '-' is an operator); `number` holds the value
  kDuration,  // a number with a unit suffix (5m); `number` and `unit` hold the parts
  kString,    // "text"; `string` holds the unescaped value
  kIdent,     // a DTDL name that is not a keyword
  kAnd,
  kOr,
  kNot,
  kFor,
  kTrue,
  kFalse,
  kLParen,
  kRParen,
  kComma,
  kDot,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kLt,
  kLe,
  kGt,
  kGe,
  kEq,
  kNe,
  kEnd,
  kError,  // the text cannot be tokenised here; `string` holds the message
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view text = {};  // the token's spelling in the source
  Position pos;
  std::size_t begin = 0;  // byte offsets into the source: adjacency decides `rel>name`
  std::size_t end = 0;
  double number = 0;
  std::string unit = {};    // kDuration
  std::string string = {};  // kString value, kError message
};

constexpr std::size_t kMaxIdentifierLength = 64;

// Tokenises `text`. Never fails: the last token is kEnd, or kError where tokenising stopped,
// so that the parser reports whichever error comes first in the text.
std::vector<Token> Tokenize(std::string_view text);

// How a token is named in "found ..." messages: 'and', the number 5, the end of the expression.
std::string DescribeToken(const Token& token);

// "at L:C: <what>" as InvalidArgument.
Status SyntaxError(Position pos, std::string_view what);

}  // namespace doppel::rules::internal
