#include "query/internal/lexer.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>

namespace doppel::query {
namespace {

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Walks the text keeping line and column in step with the byte offset.
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpace();
      Token token;
      token.pos = pos_;
      if (AtEnd()) {
        tokens.push_back(std::move(token));
        return tokens;
      }
      DOPPEL_RETURN_IF_ERROR(Next(token));
      tokens.push_back(std::move(token));
    }
  }

 private:
  bool AtEnd() const { return i_ >= text_.size(); }
  char Peek(std::size_t ahead = 0) const {
    return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0';
  }
  char Advance() {
    char c = text_[i_++];
    if (c == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else {
      ++pos_.column;
    }
    return c;
  }
  void SkipSpace() {
    while (!AtEnd() && std::isspace(static_cast<unsigned char>(Peek()))) Advance();
  }

  Status Next(Token& token) {
    char c = Peek();
    if (IsIdentStart(c)) return Identifier(token);
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) return Number(token);
    if (c == '\'' || c == '"') return String(token);
    return Punctuation(token);
  }

  Status Identifier(Token& token) {
    token.kind = TokenKind::kIdentifier;
    while (!AtEnd() && IsIdentChar(Peek())) token.text += Advance();
    return Status::Ok();
  }

  Status Number(Token& token) {
    token.kind = TokenKind::kNumber;
    while (IsDigit(Peek())) token.text += Advance();
    if (Peek() == '.' && IsDigit(Peek(1))) {
      token.text += Advance();
      while (IsDigit(Peek())) token.text += Advance();
    }
    if (Peek() == 'e' || Peek() == 'E') {
      std::size_t digits_at = (Peek(1) == '+' || Peek(1) == '-') ? 2 : 1;
      if (!IsDigit(Peek(digits_at))) return SyntaxError(pos_, "malformed number exponent");
      for (std::size_t k = 0; k < digits_at; ++k) token.text += Advance();
      while (IsDigit(Peek())) token.text += Advance();
    }
    if (IsIdentStart(Peek())) {
      return SyntaxError(pos_, fmt::format("unexpected character '{}' after number", Peek()));
    }
    return Status::Ok();
  }

  Status String(Token& token) {
    token.kind = TokenKind::kString;
    const char quote = Advance();
    while (true) {
      if (AtEnd()) return SyntaxError(token.pos, "unterminated string");
      char c = Advance();
      if (c == quote) return Status::Ok();
      if (c != '\\') {
        token.text += c;
        continue;
      }
      DOPPEL_RETURN_IF_ERROR(Escape(token.text));
    }
  }

  Status Escape(std::string& out) {
    SourcePos at = pos_;
    if (AtEnd()) return SyntaxError(at, "unterminated string");
    char c = Advance();
    switch (c) {
      case '\\':
      case '\'':
      case '"':
      case '/':
        out += c;
        return Status::Ok();
      case 'n':
        out += '\n';
        return Status::Ok();
      case 't':
        out += '\t';
        return Status::Ok();
      case 'r':
        out += '\r';
        return Status::Ok();
      case 'b':
        out += '\b';
        return Status::Ok();
      case 'f':
        out += '\f';
        return Status::Ok();
      case 'u':
        return UnicodeEscape(at, out);
      default:
        return SyntaxError(at, fmt::format("unknown escape '\\{}' in string", c));
    }
  }

  Status UnicodeEscape(SourcePos at, std::string& out) {
    uint32_t cp = 0;
    for (int k = 0; k < 4; ++k) {
      char h = AtEnd() ? '\0' : Advance();
      if (!std::isxdigit(static_cast<unsigned char>(h))) {
        return SyntaxError(at, "\\u needs four hex digits");
      }
      cp = cp * 16 + (IsDigit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return SyntaxError(at, "\\u surrogates are not supported");
    AppendUtf8(out, cp);
    return Status::Ok();
  }

  Status Punctuation(Token& token) {
    const SourcePos at = pos_;
    const char c = Advance();
    token.text = std::string(1, c);
    switch (c) {
      case '*':
        token.kind = TokenKind::kStar;
        return Status::Ok();
      case ',':
        token.kind = TokenKind::kComma;
        return Status::Ok();
      case '.':
        token.kind = TokenKind::kDot;
        return Status::Ok();
      case '(':
        token.kind = TokenKind::kLParen;
        return Status::Ok();
      case ')':
        token.kind = TokenKind::kRParen;
        return Status::Ok();
      case '[':
        token.kind = TokenKind::kLBracket;
        return Status::Ok();
      case ']':
        token.kind = TokenKind::kRBracket;
        return Status::Ok();
      case '-':
        token.kind = TokenKind::kMinus;
        return Status::Ok();
      case '=':
        token.kind = TokenKind::kEq;
        return Status::Ok();
      case '!':
        if (Peek() != '=') return SyntaxError(at, "unexpected character '!' (did you mean '!='?)");
        token.text += Advance();
        token.kind = TokenKind::kNe;
        return Status::Ok();
      case '<':
        if (Peek() == '=' || Peek() == '>') {
          token.kind = Peek() == '=' ? TokenKind::kLe : TokenKind::kNe;
          token.text += Advance();
        } else {
          token.kind = TokenKind::kLt;
        }
        return Status::Ok();
      case '>':
        token.kind = TokenKind::kGt;
        if (Peek() == '=') {
          token.text += Advance();
          token.kind = TokenKind::kGe;
        }
        return Status::Ok();
      default:
        break;
    }
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      return SyntaxError(at,
                         fmt::format("unexpected byte 0x{:02X}", static_cast<unsigned char>(c)));
    }
    return SyntaxError(at, fmt::format("unexpected character '{}'", c));
  }

  std::string_view text_;
  std::size_t i_ = 0;
  SourcePos pos_;
};

}  // namespace

std::string DescribeToken(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of query";
    case TokenKind::kString:
      return fmt::format("string '{}'", token.text);
    default:
      return fmt::format("'{}'", token.text);
  }
}

namespace {

// Offset of the first byte of `text` that is not part of a well-formed UTF-8 sequence (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), or text.size() if there is none.
std::size_t FirstInvalidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char c = byte(i);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3
                                     : (c >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size()) return i;
    uint32_t cp = length == 1 ? c : length == 2 ? (c & 0x1F) : length == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < length; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += length;
  }
  return i;
}

}  // namespace

// Query text is checked for UTF-8 up front: a string literal with a stray byte would otherwise
// run, and its continuation token (the query inside a JSON record) could never be read back.
Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::size_t bad = FirstInvalidUtf8(text);
  if (bad < text.size()) {
    SourcePos pos;
    for (std::size_t i = 0; i < bad; ++i) {
      if (text[i] == '\n') {
        ++pos.line;
        pos.column = 1;
      } else {
        ++pos.column;
      }
    }
    return SyntaxError(pos, fmt::format("invalid UTF-8 byte 0x{:02X}",
                                        static_cast<unsigned char>(text[bad])));
  }
  return Lexer(text).Run();
}

Status SyntaxError(SourcePos pos, std::string_view what) {
  return Status::InvalidArgument(
      fmt::format("query syntax error at line {}, column {}: {}", pos.line, pos.column, what),
      "SqlQueryError");
}

}  // namespace doppel::query
