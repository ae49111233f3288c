#include "rules/internal/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

namespace doppel::rules::internal {
namespace {

using NodePtr = std::unique_ptr<Node>;

constexpr int64_t kNsPerMs = 1'000'000;

std::optional<WindowFn> WindowFnNamed(std::string_view name) {
  for (WindowFn fn : {WindowFn::kAvg, WindowFn::kMin, WindowFn::kMax, WindowFn::kCount, WindowFn::kDelta,
                      WindowFn::kRate}) {
    if (WindowFnName(fn) == name) return fn;
  }
  return std::nullopt;
}

std::optional<CompareOp> CompareOpOf(TokenKind kind) {
  switch (kind) {
    case TokenKind::kLt: return CompareOp::kLt;
    case TokenKind::kLe: return CompareOp::kLe;
    case TokenKind::kGt: return CompareOp::kGt;
    case TokenKind::kGe: return CompareOp::kGe;
    case TokenKind::kEq: return CompareOp::kEq;
    case TokenKind::kNe: return CompareOp::kNe;
    default: return std::nullopt;
  }
}

int64_t UnitMs(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60'000;
  if (unit == "h") return 3'600'000;
  return 86'400'000;  // "d": the lexer admits no other unit
}

class Parser {
 public:
  Parser(std::span<const Token> tokens, const ExpressionLimits& limits) : tokens_(tokens), limits_(limits) {}

  Result<ParsedExpression> Run() {
    DOPPEL_ASSIGN_OR_RETURN(NodePtr root, ParseOr());
    if (Current().kind == TokenKind::kRParen) {
      return SyntaxError(Current().pos, "found ')' without a matching '('");
    }
    if (Current().kind != TokenKind::kEnd) return Expected("an operator or the end of the expression");
    return ParsedExpression{.root = std::move(root), .signals = std::move(signals_), .lookback_ns = lookback_ns_};
  }

 private:
  // Counts nesting ('(', 'not', unary '-', function calls) against max_depth while alive.
  class DepthGuard {
   public:
    explicit DepthGuard(std::size_t& depth) : depth_(depth) { ++depth_; }
    ~DepthGuard() { --depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    std::size_t& depth_;
  };

  const Token& Current() const { return tokens_[i_]; }
  const Token& Ahead(std::size_t k) const { return tokens_[std::min(i_ + k, tokens_.size() - 1)]; }
  const Token& Take() { return tokens_[i_ < tokens_.size() - 1 ? i_++ : i_]; }

  // "expected <what>, found <current token>" — or the tokeniser's error when it stopped here.
  Status Expected(std::string_view what) const {
    const Token& token = Current();
    if (token.kind == TokenKind::kError) return SyntaxError(token.pos, token.string);
    return SyntaxError(token.pos, fmt::format("expected {}, found {}", what, DescribeToken(token)));
  }

  Status Nest(std::size_t& depth) const {
    if (depth <= limits_.max_depth) return Status::Ok();
    return Status::PayloadTooLarge(fmt::format("at {}:{}: the expression nests deeper than the limit of {} levels",
                                               Current().pos.line, Current().pos.column, limits_.max_depth));
  }

  Result<NodePtr> NewNode(NodeKind kind, Position pos) {
    if (++nodes_ > limits_.max_nodes) {
      return Status::PayloadTooLarge(fmt::format("at {}:{}: the expression has more than the limit of {} nodes",
                                                 pos.line, pos.column, limits_.max_nodes));
    }
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->pos = pos;
    return node;
  }

  Result<NodePtr> NewBinary(NodeKind kind, const Token& op, NodePtr left, NodePtr right) {
    DOPPEL_ASSIGN_OR_RETURN(NodePtr node, NewNode(kind, left->pos));
    node->op_pos = op.pos;
    node->children.push_back(std::move(left));
    node->children.push_back(std::move(right));
    return node;
  }

  // or := and ('or' and)*   and := not ('and' not)*
  Result<NodePtr> ParseOr() { return ParseChain(TokenKind::kOr, NodeKind::kOr, &Parser::ParseAnd); }
  Result<NodePtr> ParseAnd() { return ParseChain(TokenKind::kAnd, NodeKind::kAnd, &Parser::ParseNot); }

  Result<NodePtr> ParseChain(TokenKind op_kind, NodeKind kind, Result<NodePtr> (Parser::*operand)()) {
    DOPPEL_ASSIGN_OR_RETURN(NodePtr left, (this->*operand)());
    while (Current().kind == op_kind) {
      const Token& op = Take();
      DOPPEL_ASSIGN_OR_RETURN(NodePtr right, (this->*operand)());
      DOPPEL_ASSIGN_OR_RETURN(left, NewBinary(kind, op, std::move(left), std::move(right)));
    }
    return left;
  }

  // not := 'not' not | cmp
  Result<NodePtr> ParseNot() {
    if (Current().kind != TokenKind::kNot) return ParseCompare();
    DepthGuard guard(depth_);
    DOPPEL_RETURN_IF_ERROR(Nest(depth_));
    DOPPEL_ASSIGN_OR_RETURN(NodePtr node, NewNode(NodeKind::kNot, Take().pos));
    DOPPEL_ASSIGN_OR_RETURN(NodePtr operand, ParseNot());
    node->children.push_back(std::move(operand));
    return node;
  }

  // cmp := sum (CMPOP sum)? ('for' DURATION)?
  Result<NodePtr> ParseCompare() {
    DOPPEL_ASSIGN_OR_RETURN(NodePtr left, ParseSum());
    std::optional<CompareOp> op = CompareOpOf(Current().kind);
    if (!op) {
      if (Current().kind != TokenKind::kFor) return left;
      return SyntaxError(Current().pos, "'for' needs a comparison right before it, as in 'x > 90 for 5m'");
    }
    const Token& op_token = Take();
    DOPPEL_ASSIGN_OR_RETURN(NodePtr right, ParseSum());
    DOPPEL_ASSIGN_OR_RETURN(NodePtr node, NewBinary(NodeKind::kCompare, op_token, std::move(left), std::move(right)));
    node->compare = *op;
    if (CompareOpOf(Current().kind)) {
      return SyntaxError(Current().pos, "comparisons cannot be chained: write 'a < b and b < c'");
    }
    if (Current().kind == TokenKind::kFor) {
      Take();
      DOPPEL_ASSIGN_OR_RETURN(node->for_ns, ParseDuration("after 'for'"));
      node->for_slot = for_count_++;
    }
    return node;
  }

  // sum := prod (('+' | '-') prod)*   prod := unary (('*' | '/') unary)*
  Result<NodePtr> ParseSum() { return ParseArith(TokenKind::kPlus, TokenKind::kMinus, &Parser::ParseProduct); }
  Result<NodePtr> ParseProduct() { return ParseArith(TokenKind::kStar, TokenKind::kSlash, &Parser::ParseUnary); }

  Result<NodePtr> ParseArith(TokenKind a, TokenKind b, Result<NodePtr> (Parser::*operand)()) {
    DOPPEL_ASSIGN_OR_RETURN(NodePtr left, (this->*operand)());
    while (Current().kind == a || Current().kind == b) {
      const Token& op = Take();
      DOPPEL_ASSIGN_OR_RETURN(NodePtr right, (this->*operand)());
      DOPPEL_ASSIGN_OR_RETURN(left, NewBinary(NodeKind::kArith, op, std::move(left), std::move(right)));
      left->arith = op.text[0];
    }
    return left;
  }

  // unary := '-' unary | primary
  Result<NodePtr> ParseUnary() {
    if (Current().kind != TokenKind::kMinus) return ParsePrimary();
    DepthGuard guard(depth_);
    DOPPEL_RETURN_IF_ERROR(Nest(depth_));
    DOPPEL_ASSIGN_OR_RETURN(NodePtr node, NewNode(NodeKind::kNegate, Take().pos));
    DOPPEL_ASSIGN_OR_RETURN(NodePtr operand, ParseUnary());
    node->children.push_back(std::move(operand));
    return node;
  }

  // primary := NUMBER | STRING | 'true' | 'false' | signal | call | '(' expr ')'
  Result<NodePtr> ParsePrimary() {
    const Token& token = Current();
    switch (token.kind) {
      case TokenKind::kNumber: {
        DOPPEL_ASSIGN_OR_RETURN(NodePtr node, NewNode(NodeKind::kNumber, Take().pos));
        node->number = token.number;
        return node;
      }
      case TokenKind::kString: {
        DOPPEL_ASSIGN_OR_RETURN(NodePtr node, NewNode(NodeKind::kString, Take().pos));
        node->string = token.string;
        return node;
      }
      case TokenKind::kTrue:
      case TokenKind::kFalse: {
        DOPPEL_ASSIGN_OR_RETURN(NodePtr node, NewNode(NodeKind::kBool, Take().pos));
        node->boolean = token.kind == TokenKind::kTrue;
        return node;
      }
      case TokenKind::kLParen: return ParseParenthesised();
      case TokenKind::kIdent:
        if (Ahead(1).kind == TokenKind::kLParen) return ParseCall();
        return ParseSignalNode();
      case TokenKind::kDuration:
        return SyntaxError(token.pos, fmt::format("a duration ({}) can only be a window, as in avg(x, {}), or follow "
                                                  "'for'", token.text, token.text));
      default:
        if (i_ == 0) return Expected("a condition");
        return Expected(fmt::format("a value after '{}'", tokens_[i_ - 1].text));
    }
  }

  Result<NodePtr> ParseParenthesised() {
    DepthGuard guard(depth_);
    DOPPEL_RETURN_IF_ERROR(Nest(depth_));
    Position open = Take().pos;
    DOPPEL_ASSIGN_OR_RETURN(NodePtr inner, ParseOr());
    if (Current().kind != TokenKind::kRParen) {
      return Expected(fmt::format("')' to close the '(' at {}:{}", open.line, open.column));
    }
    Take();
    return inner;
  }

  // call := WFUNC '(' signal ',' DURATION ')' | 'abs' '(' sum ')'
  Result<NodePtr> ParseCall() {
    DepthGuard guard(depth_);
    DOPPEL_RETURN_IF_ERROR(Nest(depth_));
    const Token& name = Current();
    if (std::optional<WindowFn> fn = WindowFnNamed(name.text)) return ParseWindow(*fn);
    if (name.text != "abs") {
      return SyntaxError(name.pos, fmt::format("unknown function '{}' (the functions are avg, min, max, count, "
                                               "delta, rate and abs)", name.text));
    }
    DOPPEL_ASSIGN_OR_RETURN(NodePtr node, NewNode(NodeKind::kAbs, Take().pos));
    Take();  // '('
    DOPPEL_ASSIGN_OR_RETURN(NodePtr argument, ParseSum());
    if (Current().kind != TokenKind::kRParen) return Expected("')' to close abs(");
    Take();
    node->children.push_back(std::move(argument));
    return node;
  }

  Result<NodePtr> ParseWindow(WindowFn fn) {
    std::string_view name = WindowFnName(fn);
    DOPPEL_ASSIGN_OR_RETURN(NodePtr node, NewNode(NodeKind::kWindow, Take().pos));
    node->window_fn = fn;
    Take();  // '('
    if (Current().kind != TokenKind::kIdent || Ahead(1).kind == TokenKind::kLParen) return NotASignal(name);
    DOPPEL_ASSIGN_OR_RETURN(node->signal, ParseSignal());
    if (Current().kind != TokenKind::kComma) return Expected(fmt::format("',' and a window after the signal in {}(", name));
    Take();
    DOPPEL_ASSIGN_OR_RETURN(node->window_ns, ParseDuration(fmt::format("as the window of {}", name)));
    if (Current().kind != TokenKind::kRParen) return Expected(fmt::format("')' after the window of {}", name));
    Take();
    auto key = std::make_pair(node->signal, node->window_ns);
    auto slot = std::find(windows_.begin(), windows_.end(), key);
    node->window_slot = static_cast<std::size_t>(slot - windows_.begin());
    if (slot == windows_.end()) windows_.push_back(key);
    return node;
  }

  Status NotASignal(std::string_view function) const {
    const Token& token = Current();
    std::string_view what;
    switch (token.kind) {
      case TokenKind::kNumber: what = "a number"; break;
      case TokenKind::kString: what = "a string"; break;
      case TokenKind::kTrue:
      case TokenKind::kFalse: what = "a boolean"; break;
      case TokenKind::kIdent: return SyntaxError(token.pos, fmt::format("{} needs a signal, not a call of {}", function, token.text));
      default: return Expected(fmt::format("a signal as the first argument of {}", function));
    }
    return SyntaxError(token.pos, fmt::format("{} needs a signal, not {}", function, what));
  }

  Result<NodePtr> ParseSignalNode() {
    DOPPEL_ASSIGN_OR_RETURN(NodePtr node, NewNode(NodeKind::kSignal, Current().pos));
    DOPPEL_ASSIGN_OR_RETURN(node->signal, ParseSignal());
    return node;
  }

  // signal := (IDENT '>')? IDENT ('.' IDENT)?. 'rel>name' is a related twin's signal only when
  // written without spaces; 'a > b' compares two signals.
  Result<std::size_t> ParseSignal() {
    const Token& first = Take();
    SignalRef signal{.relationship = "", .path = std::string(first.text)};
    const Token& gt = Current();
    const Token& target = Ahead(1);
    if (gt.kind == TokenKind::kGt && gt.begin == first.end && target.kind == TokenKind::kIdent &&
        target.begin == gt.end && Ahead(2).kind != TokenKind::kLParen) {
      Take();
      Take();
      signal = SignalRef{.relationship = std::string(first.text), .path = std::string(target.text)};
    }
    if (Current().kind == TokenKind::kDot) {
      Take();
      if (Current().kind != TokenKind::kIdent) return Expected("a name after '.'");
      signal.path = fmt::format("{}/{}", signal.path, Take().text);
    }
    auto found = std::find(signals_.begin(), signals_.end(), signal);
    if (found != signals_.end()) return static_cast<std::size_t>(found - signals_.begin());
    signals_.push_back(std::move(signal));
    return signals_.size() - 1;
  }

  // DURATION := NUMBER ('ms' | 's' | 'm' | 'h' | 'd'): positive, whole milliseconds, ≤ the limit.
  Result<int64_t> ParseDuration(std::string_view context) {
    const Token& token = Current();
    if (token.kind == TokenKind::kNumber) {
      return SyntaxError(token.pos, fmt::format("expected a duration with a unit (ms, s, m, h or d) {}, found {}",
                                                context, DescribeToken(token)));
    }
    if (token.kind != TokenKind::kDuration) return Expected(fmt::format("a duration (such as 10m) {}", context));
    double ms = token.number * static_cast<double>(UnitMs(token.unit));
    double limit_ms = static_cast<double>(limits_.max_window_ns / kNsPerMs);
    if (ms <= 0) return SyntaxError(token.pos, fmt::format("the duration {} must be positive", token.text));
    if (ms > limit_ms) {
      return SyntaxError(token.pos, fmt::format("the duration {} is longer than the limit of {}", token.text,
                                                FormatDuration(limits_.max_window_ns)));
    }
    if (std::abs(ms - std::round(ms)) > 1e-6) {
      return SyntaxError(token.pos, fmt::format("the duration {} is not a whole number of milliseconds", token.text));
    }
    Take();
    int64_t ns = std::llround(ms) * kNsPerMs;
    lookback_ns_ = std::max(lookback_ns_, ns);
    return ns;
  }

  std::span<const Token> tokens_;
  const ExpressionLimits& limits_;
  std::size_t i_ = 0;
  std::size_t nodes_ = 0;
  std::size_t depth_ = 0;
  std::size_t for_count_ = 0;
  std::vector<SignalRef> signals_;
  std::vector<std::pair<std::size_t, int64_t>> windows_;  // (signal, window_ns) by slot
  int64_t lookback_ns_ = 0;
};

}  // namespace

Result<ParsedExpression> ParseTokens(std::span<const Token> tokens, const ExpressionLimits& limits) {
  return Parser(tokens, limits).Run();
}

}  // namespace doppel::rules::internal
