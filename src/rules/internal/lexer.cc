#include "rules/internal/lexer.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace doppel::rules::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsIdentChar(char c) { return IsLetter(c) || IsDigit(c) || c == '_'; }

// The length of the UTF-8 sequence starting at text[i], or 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points past U+10FFFF are invalid too).
std::size_t Utf8Length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  if (length == 0 || lead > 0xF4 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  unsigned char second = byte(i + 1);
  if (lead == 0xE0 && second < 0xA0) return 0;  // overlong
  if (lead == 0xED && second >= 0xA0) return 0;  // surrogate
  if (lead == 0xF0 && second < 0x90) return 0;  // overlong
  if (lead == 0xF4 && second >= 0x90) return 0;  // past U+10FFFF
  return length;
}

std::string Shorten(std::string_view text) {
  constexpr std::size_t kShown = 24;
  if (text.size() <= kShown) return std::string(text);
  std::size_t cut = kShown;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // whole characters
  return fmt::format("{}…", text.substr(0, cut));
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  std::vector<Token> Run() {
    std::vector<Token> tokens;
    while (true) {
      SkipSpace();
      Token token = Next();
      TokenKind kind = token.kind;
      tokens.push_back(std::move(token));
      if (kind == TokenKind::kEnd || kind == TokenKind::kError) return tokens;
    }
  }

 private:
  char Peek(std::size_t ahead = 0) const { return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0'; }
  bool AtEnd() const { return i_ >= text_.size(); }

  // Moves past one character (of `bytes` bytes in UTF-8), counting lines and columns.
  void Advance(std::size_t bytes = 1) {
    if (text_[i_] == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else {
      ++pos_.column;
    }
    i_ += bytes;
  }

  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\r' || Peek() == '\n')) Advance();
  }

  Token Start(TokenKind kind) const { return Token{.kind = kind, .pos = pos_, .begin = i_}; }

  Token Finish(Token token) const {
    token.end = i_;
    token.text = text_.substr(token.begin, token.end - token.begin);
    return token;
  }

  Token Error(Position pos, std::string message) const {
    Token token{.kind = TokenKind::kError, .pos = pos, .begin = i_, .end = i_};
    token.string = std::move(message);
    return token;
  }

  Token Next() {
    if (AtEnd()) return Finish(Start(TokenKind::kEnd));
    char c = Peek();
    if (IsDigit(c)) return Number();
    if (IsLetter(c)) return Word();
    if (c == '"') return String();
    return Operator();
  }

  Token Number() {
    Token token = Start(TokenKind::kNumber);
    while (IsDigit(Peek())) Advance();
    if (Peek() == '.' && IsDigit(Peek(1))) {
      Advance();
      while (IsDigit(Peek())) Advance();
    }
    bool signed_exponent = (Peek(1) == '+' || Peek(1) == '-') && IsDigit(Peek(2));
    if ((Peek() == 'e' || Peek() == 'E') && (IsDigit(Peek(1)) || signed_exponent)) {
      Advance();
      if (signed_exponent) Advance();
      while (IsDigit(Peek())) Advance();
    }
    std::string_view digits = text_.substr(token.begin, i_ - token.begin);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), token.number);
    if (ec != std::errc() || !std::isfinite(token.number)) {
      return Error(token.pos, fmt::format("the number {} is out of range", Shorten(digits)));
    }
    if (!IsLetter(Peek())) return Finish(std::move(token));
    std::size_t unit_begin = i_;
    while (IsLetter(Peek())) Advance();
    token.unit = std::string(text_.substr(unit_begin, i_ - unit_begin));
    if (token.unit != "ms" && token.unit != "s" && token.unit != "m" && token.unit != "h" && token.unit != "d") {
      return Error(token.pos, fmt::format("unknown duration unit '{}' in '{}' (expected ms, s, m, h or d)",
                                          Shorten(token.unit), Shorten(text_.substr(token.begin, i_ - token.begin))));
    }
    token.kind = TokenKind::kDuration;
    return Finish(std::move(token));
  }

  Token Word() {
    Token token = Start(TokenKind::kIdent);
    while (IsIdentChar(Peek())) Advance();
    std::string_view word = text_.substr(token.begin, i_ - token.begin);
    if (word.size() > kMaxIdentifierLength) {
      return Error(token.pos, fmt::format("the name '{}' is longer than {} characters", Shorten(word),
                                          kMaxIdentifierLength));
    }
    if (word == "and") token.kind = TokenKind::kAnd;
    if (word == "or") token.kind = TokenKind::kOr;
    if (word == "not") token.kind = TokenKind::kNot;
    if (word == "for") token.kind = TokenKind::kFor;
    if (word == "true") token.kind = TokenKind::kTrue;
    if (word == "false") token.kind = TokenKind::kFalse;
    return Finish(std::move(token));
  }

  Token String() {
    Token token = Start(TokenKind::kString);
    Advance();  // the opening quote
    while (!AtEnd() && Peek() != '"') {
      char c = Peek();
      if (c == '\n') return Error(pos_, "a string cannot span lines: expected '\"' to close it");
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error(pos_, fmt::format("control character 0x{:02X} in a string", static_cast<unsigned char>(c)));
      }
      if (c == '\\') {
        Position escape_pos = pos_;
        Advance();
        switch (Peek()) {
          case '"': token.string += '"'; break;
          case '\\': token.string += '\\'; break;
          case 'n': token.string += '\n'; break;
          case 't': token.string += '\t'; break;
          default: return Error(escape_pos, "unknown escape in a string (use \\\", \\\\, \\n or \\t)");
        }
        Advance();
        continue;
      }
      std::size_t length = Utf8Length(text_, i_);
      if (length == 0) return InvalidUtf8();
      token.string += text_.substr(i_, length);
      Advance(length);
    }
    if (AtEnd()) return Error(token.pos, "unterminated string: expected '\"' before the end of the expression");
    Advance();  // the closing quote
    return Finish(std::move(token));
  }

  Token InvalidUtf8() const {
    return Error(pos_, fmt::format("invalid UTF-8 byte 0x{:02X}", static_cast<unsigned char>(Peek())));
  }

  // One- and two-character operators, longest first.
  Token Operator() {
    struct Spelling {
      std::string_view text;
      TokenKind kind;
    };
    static constexpr Spelling kOperators[] = {
        {"<=", TokenKind::kLe}, {">=", TokenKind::kGe}, {"==", TokenKind::kEq}, {"!=", TokenKind::kNe},
        {"<", TokenKind::kLt},  {">", TokenKind::kGt},  {"(", TokenKind::kLParen}, {")", TokenKind::kRParen},
        {",", TokenKind::kComma}, {".", TokenKind::kDot}, {"+", TokenKind::kPlus}, {"-", TokenKind::kMinus},
        {"*", TokenKind::kStar}, {"/", TokenKind::kSlash},
    };
    for (const Spelling& op : kOperators) {
      if (text_.substr(i_).starts_with(op.text)) {
        Token token = Start(op.kind);
        for (std::size_t k = 0; k < op.text.size(); ++k) Advance();
        return Finish(std::move(token));
      }
    }
    return Unexpected();
  }

  Token Unexpected() const {
    unsigned char c = static_cast<unsigned char>(Peek());
    if (c == '=') return Error(pos_, "unexpected '=' (write '==' to compare)");
    if (c == '!') return Error(pos_, "unexpected '!' (write 'not' or '!=')");
    if (c < 0x20 || c == 0x7F) return Error(pos_, fmt::format("unexpected control character 0x{:02X}", c));
    std::size_t length = Utf8Length(text_, i_);
    if (length == 0) return InvalidUtf8();
    return Error(pos_, fmt::format("unexpected character '{}'", text_.substr(i_, length)));
  }

  std::string_view text_;
  std::size_t i_ = 0;
  Position pos_;
};

}  // namespace

std::vector<Token> Tokenize(std::string_view text) { return Lexer(text).Run(); }

std::string DescribeToken(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd: return "the end of the expression";
    case TokenKind::kNumber: return fmt::format("the number {}", Shorten(token.text));
    case TokenKind::kDuration: return fmt::format("the duration {}", Shorten(token.text));
    case TokenKind::kString: return fmt::format("the string {}", Shorten(token.text));
    case TokenKind::kError: return token.string;
    default: return fmt::format("'{}'", Shorten(token.text));
  }
}

Status SyntaxError(Position pos, std::string_view what) {
  return Status::InvalidArgument(fmt::format("at {}:{}: {}", pos.line, pos.column, what));
}

}  // namespace doppel::rules::internal
