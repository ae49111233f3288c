#include "query/internal/parser.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "query/internal/lexer.h"

namespace doppel::query {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

constexpr std::array<std::string_view, 17> kReserved = {
    "SELECT", "FROM", "WHERE", "JOIN",         "RELATED",       "AS",   "AND",   "OR",  "NOT",
    "IN",     "NIN",  "TOP",   "DIGITALTWINS", "RELATIONSHIPS", "TRUE", "FALSE", "NULL"};

bool IsReserved(std::string_view word) {
  for (std::string_view r : kReserved) {
    if (EqualsIgnoreCase(word, r)) return true;
  }
  return false;
}

struct FunctionName {
  std::string_view name;
  FunctionKind kind;
  int arity;  // IS_OF_MODEL is parsed separately
};

constexpr std::array<FunctionName, 11> kFunctions = {{
    {"IS_OF_MODEL", FunctionKind::kIsOfModel, 0},
    {"IS_DEFINED", FunctionKind::kIsDefined, 1},
    {"IS_NULL", FunctionKind::kIsNull, 1},
    {"IS_PRIMITIVE", FunctionKind::kIsPrimitive, 1},
    {"IS_BOOL", FunctionKind::kIsBool, 1},
    {"IS_NUMBER", FunctionKind::kIsNumber, 1},
    {"IS_STRING", FunctionKind::kIsString, 1},
    {"IS_OBJECT", FunctionKind::kIsObject, 1},
    {"STARTSWITH", FunctionKind::kStartsWith, 2},
    {"ENDSWITH", FunctionKind::kEndsWith, 2},
    {"CONTAINS", FunctionKind::kContains, 2},
}};

const FunctionName* FindFunction(std::string_view name) {
  for (const FunctionName& f : kFunctions) {
    if (EqualsIgnoreCase(name, f.name)) return &f;
  }
  return nullptr;
}

Result<json::value> ParseNumber(const Token& token, bool negative) {
  std::string text = (negative ? "-" : "") + token.text;
  const char* end = text.data() + text.size();
  if (text.find_first_of(".eE") == std::string::npos) {
    int64_t i = 0;
    auto [ptr, ec] = std::from_chars(text.data(), end, i);
    if (ec == std::errc() && ptr == end) return json::value(i);
  }
  double d = 0;
  auto [ptr, ec] = std::from_chars(text.data(), end, d);
  if (ec != std::errc() || ptr != end) {
    return SyntaxError(token.pos, fmt::format("number {} is out of range", text));
  }
  return json::value(d);
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<ParsedQuery> Run() {
    ParsedQuery query;
    DOPPEL_RETURN_IF_ERROR(ExpectKeyword("SELECT"));
    DOPPEL_RETURN_IF_ERROR(ParseTop(query));
    DOPPEL_RETURN_IF_ERROR(ParseSelectList(query));
    DOPPEL_RETURN_IF_ERROR(ExpectKeyword("FROM"));
    if (IsKeyword("RELATIONSHIPS")) {
      query.from_relationships = true;
    } else if (!IsKeyword("DIGITALTWINS")) {
      return Unexpected("DIGITALTWINS or RELATIONSHIPS");
    }
    Take();
    query.from_pos = Peek().pos;
    DOPPEL_ASSIGN_OR_RETURN(query.from_alias, ParseOptionalAlias());
    while (IsKeyword("JOIN")) {
      DOPPEL_RETURN_IF_ERROR(ParseJoin(query));
    }
    if (IsKeyword("WHERE")) {
      Take();
      DOPPEL_ASSIGN_OR_RETURN(query.where, ParseOr(0));
    }
    if (Peek().kind != TokenKind::kEnd) {
      return Unexpected(query.where ? "AND, OR or end of query" : "JOIN, WHERE or end of query");
    }
    return query;
  }

 private:
  const Token& Peek(std::size_t ahead = 0) const {
    std::size_t i = std::min(next_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& Take() {
    const Token& t = tokens_[next_];
    if (next_ + 1 < tokens_.size()) ++next_;
    return t;
  }
  bool IsKeyword(std::string_view word, std::size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == TokenKind::kIdentifier && EqualsIgnoreCase(t.text, word);
  }
  Status Unexpected(std::string_view expected) const {
    return SyntaxError(Peek().pos,
                       fmt::format("expected {}, found {}", expected, DescribeToken(Peek())));
  }
  Status ExpectKeyword(std::string_view word) {
    if (!IsKeyword(word)) return Unexpected(word);
    Take();
    return Status::Ok();
  }
  Status Expect(TokenKind kind, std::string_view shown) {
    if (Peek().kind != kind) return Unexpected(shown);
    Take();
    return Status::Ok();
  }
  // An alias or column name: an identifier that is not a reserved word.
  Result<std::string> ExpectName(std::string_view what) {
    if (Peek().kind != TokenKind::kIdentifier || IsReserved(Peek().text)) return Unexpected(what);
    return Take().text;
  }

  Status ParseTop(ParsedQuery& query) {
    if (!IsKeyword("TOP")) return Status::Ok();
    Take();
    DOPPEL_RETURN_IF_ERROR(Expect(TokenKind::kLParen, "'(' after TOP, as in TOP(10)"));
    query.top_pos = Peek().pos;
    bool negative = Peek().kind == TokenKind::kMinus;
    if (negative) Take();
    if (Peek().kind != TokenKind::kNumber) return Unexpected("a row count");
    DOPPEL_ASSIGN_OR_RETURN(json::value n, ParseNumber(Take(), negative));
    if (!n.is_int64()) return SyntaxError(query.top_pos, "TOP needs a whole number");
    query.top = n.as_int64();
    return Expect(TokenKind::kRParen, "')'");
  }

  Status ParseSelectList(ParsedQuery& query) {
    if (Peek().kind == TokenKind::kStar) {
      Take();
      query.select = SelectKind::kStar;
      return Status::Ok();
    }
    if (IsKeyword("COUNT") && Peek(1).kind == TokenKind::kLParen) {
      Take();
      Take();
      query.select = SelectKind::kCount;
      return Expect(TokenKind::kRParen, "')' (COUNT takes no arguments)");
    }
    query.select = SelectKind::kColumns;
    do {
      if (Peek().kind != TokenKind::kIdentifier || IsReserved(Peek().text)) {
        return Unexpected(query.projections.empty() ? "*, COUNT() or a projection"
                                                    : "a projection");
      }
      Projection projection;
      DOPPEL_ASSIGN_OR_RETURN(projection.path, ParsePath());
      if (IsKeyword("AS")) {
        Take();
        DOPPEL_ASSIGN_OR_RETURN(projection.as_name, ExpectName("a column name"));
      }
      query.projections.push_back(std::move(projection));
    } while (Peek().kind == TokenKind::kComma && (Take(), true));
    return Status::Ok();
  }

  // [AS] alias, or nothing.
  Result<std::string> ParseOptionalAlias() {
    if (IsKeyword("AS")) {
      Take();
      return ExpectName("an alias");
    }
    if (Peek().kind == TokenKind::kIdentifier && !IsReserved(Peek().text)) return Take().text;
    return std::string();
  }

  Status ParseJoin(ParsedQuery& query) {
    Join join;
    join.pos = Take().pos;
    DOPPEL_ASSIGN_OR_RETURN(join.twin_alias, ExpectName("an alias for the joined twins"));
    DOPPEL_RETURN_IF_ERROR(ExpectKeyword("RELATED"));
    DOPPEL_ASSIGN_OR_RETURN(join.source_alias, ExpectName("the alias of the source twins"));
    DOPPEL_RETURN_IF_ERROR(Expect(TokenKind::kDot, "'.' and a relationship name"));
    if (Peek().kind != TokenKind::kIdentifier) return Unexpected("a relationship name");
    join.relationship_name = Take().text;
    DOPPEL_ASSIGN_OR_RETURN(join.relationship_alias, ParseOptionalAlias());
    query.joins.push_back(std::move(join));
    return Status::Ok();
  }

  Result<PathRef> ParsePath() {
    PathRef path;
    path.pos = Peek().pos;
    path.raw.push_back(Take().text);
    while (Peek().kind == TokenKind::kDot) {
      Take();
      if (Peek().kind != TokenKind::kIdentifier) return Unexpected("a property name after '.'");
      path.raw.push_back(Take().text);
    }
    return path;
  }

  Status CheckDepth(int depth) const {
    if (depth > kMaxNesting) {
      return SyntaxError(Peek().pos,
                         fmt::format("conditions nest deeper than {} levels", kMaxNesting));
    }
    return Status::Ok();
  }

  // or := and (OR and)*
  Result<Condition> ParseOr(int depth) {
    DOPPEL_ASSIGN_OR_RETURN(Condition first, ParseAnd(depth));
    if (!IsKeyword("OR")) return first;
    Condition any;
    any.kind = Condition::Kind::kOr;
    any.pos = first.pos;
    any.children.push_back(std::move(first));
    while (IsKeyword("OR")) {
      Take();
      DOPPEL_ASSIGN_OR_RETURN(Condition next, ParseAnd(depth));
      any.children.push_back(std::move(next));
    }
    return any;
  }

  // and := unary (AND unary)*
  Result<Condition> ParseAnd(int depth) {
    DOPPEL_ASSIGN_OR_RETURN(Condition first, ParseUnary(depth));
    if (!IsKeyword("AND")) return first;
    Condition all;
    all.kind = Condition::Kind::kAnd;
    all.pos = first.pos;
    all.children.push_back(std::move(first));
    while (IsKeyword("AND")) {
      Take();
      DOPPEL_ASSIGN_OR_RETURN(Condition next, ParseUnary(depth));
      all.children.push_back(std::move(next));
    }
    return all;
  }

  Result<Condition> ParseUnary(int depth) {
    DOPPEL_RETURN_IF_ERROR(CheckDepth(depth));
    if (IsKeyword("NOT")) {
      Condition negation;
      negation.kind = Condition::Kind::kNot;
      negation.pos = Take().pos;
      DOPPEL_ASSIGN_OR_RETURN(Condition inner, ParseUnary(depth + 1));
      negation.children.push_back(std::move(inner));
      return negation;
    }
    if (Peek().kind == TokenKind::kLParen) {
      Take();
      DOPPEL_ASSIGN_OR_RETURN(Condition inner, ParseOr(depth + 1));
      DOPPEL_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "')'"));
      return inner;
    }
    if (Peek().kind == TokenKind::kIdentifier && Peek(1).kind == TokenKind::kLParen &&
        !IsReserved(Peek().text)) {
      return ParseFunction();
    }
    return ParsePredicate();
  }

  Result<Condition> ParseFunction() {
    const Token& name = Take();
    const FunctionName* f = FindFunction(name.text);
    if (f == nullptr) return SyntaxError(name.pos, fmt::format("unknown function '{}'", name.text));
    Condition call;
    call.kind = Condition::Kind::kFunction;
    call.function = f->kind;
    call.pos = name.pos;
    Take();  // (
    if (f->kind == FunctionKind::kIsOfModel) {
      DOPPEL_RETURN_IF_ERROR(ParseIsOfModelArgs(call));
    } else {
      for (int i = 0; i < f->arity; ++i) {
        if (i > 0)
          DOPPEL_RETURN_IF_ERROR(Expect(
              TokenKind::kComma, fmt::format("',' ({} takes {} arguments)", f->name, f->arity)));
        DOPPEL_ASSIGN_OR_RETURN(Operand arg, ParseOperand());
        call.operands.push_back(std::move(arg));
      }
    }
    DOPPEL_RETURN_IF_ERROR(Expect(TokenKind::kRParen, "')'"));
    return call;
  }

  // IS_OF_MODEL([alias,] 'dtmi:...;1' [, exact])
  Status ParseIsOfModelArgs(Condition& call) {
    if (Peek().kind == TokenKind::kIdentifier && !IsReserved(Peek().text)) {
      call.model_alias = Take().text;
      DOPPEL_RETURN_IF_ERROR(Expect(TokenKind::kComma, "',' and a model id"));
    }
    if (Peek().kind != TokenKind::kString) return Unexpected("a model id string");
    call.model_id = Take().text;
    if (Peek().kind == TokenKind::kComma) {
      Take();
      if (!IsKeyword("exact")) return Unexpected("exact");
      Take();
      call.exact = true;
    }
    return Status::Ok();
  }

  // operand (op operand | IN [..] | NIN [..])?
  Result<Condition> ParsePredicate() {
    Condition predicate;
    predicate.pos = Peek().pos;
    DOPPEL_ASSIGN_OR_RETURN(Operand left, ParseOperand());
    predicate.operands.push_back(std::move(left));
    if (IsKeyword("IN") || IsKeyword("NIN")) {
      predicate.kind = Condition::Kind::kIn;
      predicate.negated = IsKeyword("NIN");
      Take();
      DOPPEL_RETURN_IF_ERROR(ParseList(predicate.list));
      return predicate;
    }
    std::optional<CompareOp> op = CompareOpAt(Peek().kind);
    if (!op) {
      predicate.kind = Condition::Kind::kTruthy;
      return predicate;
    }
    Take();
    predicate.kind = Condition::Kind::kCompare;
    predicate.op = *op;
    DOPPEL_ASSIGN_OR_RETURN(Operand right, ParseOperand());
    predicate.operands.push_back(std::move(right));
    return predicate;
  }

  static std::optional<CompareOp> CompareOpAt(TokenKind kind) {
    switch (kind) {
      case TokenKind::kEq:
        return CompareOp::kEq;
      case TokenKind::kNe:
        return CompareOp::kNe;
      case TokenKind::kLt:
        return CompareOp::kLt;
      case TokenKind::kLe:
        return CompareOp::kLe;
      case TokenKind::kGt:
        return CompareOp::kGt;
      case TokenKind::kGe:
        return CompareOp::kGe;
      default:
        return std::nullopt;
    }
  }

  Status ParseList(std::vector<json::value>& list) {
    DOPPEL_RETURN_IF_ERROR(Expect(TokenKind::kLBracket, "'['"));
    if (Peek().kind == TokenKind::kRBracket) {
      Take();
      return Status::Ok();
    }
    while (true) {
      DOPPEL_ASSIGN_OR_RETURN(json::value v, ParseLiteral());
      list.push_back(std::move(v));
      if (Peek().kind == TokenKind::kRBracket) break;
      DOPPEL_RETURN_IF_ERROR(Expect(TokenKind::kComma, "',' or ']'"));
    }
    Take();
    return Status::Ok();
  }

  bool AtLiteral() const {
    TokenKind k = Peek().kind;
    return k == TokenKind::kString || k == TokenKind::kNumber || k == TokenKind::kMinus ||
           IsKeyword("TRUE") || IsKeyword("FALSE") || IsKeyword("NULL");
  }

  Result<json::value> ParseLiteral() {
    if (!AtLiteral()) return Unexpected("a string, number, true, false or null");
    const Token& t = Take();
    switch (t.kind) {
      case TokenKind::kString:
        return json::value(json::string(t.text));
      case TokenKind::kNumber:
        return ParseNumber(t, false);
      case TokenKind::kMinus:
        if (Peek().kind != TokenKind::kNumber) return Unexpected("a number after '-'");
        return ParseNumber(Take(), true);
      default:
        break;
    }
    if (EqualsIgnoreCase(t.text, "NULL")) return json::value(nullptr);
    return json::value(EqualsIgnoreCase(t.text, "TRUE"));
  }

  Result<Operand> ParseOperand() {
    Operand operand;
    operand.pos = Peek().pos;
    if (AtLiteral()) {
      operand.kind = Operand::Kind::kLiteral;
      DOPPEL_ASSIGN_OR_RETURN(operand.literal, ParseLiteral());
      return operand;
    }
    if (Peek().kind != TokenKind::kIdentifier || IsReserved(Peek().text)) {
      return Unexpected("a value or a property path");
    }
    operand.kind = Operand::Kind::kPath;
    DOPPEL_ASSIGN_OR_RETURN(operand.path, ParsePath());
    return operand;
  }

  std::vector<Token> tokens_;
  std::size_t next_ = 0;
};

}  // namespace

Result<ParsedQuery> ParseSyntax(std::string_view text) {
  if (text.size() > kMaxQueryLength) {
    return Status::InvalidArgument(
        fmt::format("query is {} characters long; the limit is {}", text.size(), kMaxQueryLength),
        "SqlQueryError");
  }
  DOPPEL_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  DOPPEL_ASSIGN_OR_RETURN(ParsedQuery query, Parser(std::move(tokens)).Run());
  query.text = std::string(text);
  return query;
}

}  // namespace doppel::query
