#include "rules/internal/ast.h"

#include <fmt/format.h>

namespace doppel::rules::internal {
namespace {

// Binding strength, weakest first; a child printed where a stronger level is needed gets
// parentheses. Left-associative operators need their right operand one level stronger, so
// the printed text parses back to the same tree.
enum Level { kTop = 0, kOrLevel, kAndLevel, kNotLevel, kCompareLevel, kSumLevel, kProductLevel,
             kUnaryLevel, kPrimaryLevel };

int LevelOf(const Node& node) {
  switch (node.kind) {
    case NodeKind::kOr: return kOrLevel;
    case NodeKind::kAnd: return kAndLevel;
    case NodeKind::kNot: return kNotLevel;
    case NodeKind::kCompare: return kCompareLevel;
    case NodeKind::kArith: return node.arith == '+' || node.arith == '-' ? kSumLevel : kProductLevel;
    case NodeKind::kNegate: return kUnaryLevel;
    default: return kPrimaryLevel;
  }
}

std::string QuoteString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  out += '"';
  return out;
}

class Printer {
 public:
  explicit Printer(std::span<const SignalRef> signals) : signals_(signals) {}

  std::string At(const Node& node, int min_level) const {
    std::string text = Bare(node);
    return LevelOf(node) < min_level ? fmt::format("({})", text) : text;
  }

 private:
  std::string Binary(const Node& node, std::string_view op) const {
    int level = LevelOf(node);
    return fmt::format("{} {} {}", At(*node.children[0], level), op, At(*node.children[1], level + 1));
  }

  std::string Bare(const Node& node) const {
    switch (node.kind) {
      case NodeKind::kNumber: return fmt::format("{}", node.number);
      case NodeKind::kString: return QuoteString(node.string);
      case NodeKind::kBool: return node.boolean ? "true" : "false";
      case NodeKind::kSignal: return SignalText(signals_[node.signal]);
      case NodeKind::kWindow:
        return fmt::format("{}({}, {})", WindowFnName(node.window_fn), SignalText(signals_[node.signal]),
                           FormatDuration(node.window_ns));
      case NodeKind::kAbs: return fmt::format("abs({})", At(*node.children[0], kSumLevel));
      case NodeKind::kNegate: return fmt::format("-{}", At(*node.children[0], kUnaryLevel));
      case NodeKind::kArith: return Binary(node, std::string_view(&node.arith, 1));
      case NodeKind::kCompare: {
        std::string text = fmt::format("{} {} {}", At(*node.children[0], kSumLevel), CompareOpText(node.compare),
                                       At(*node.children[1], kSumLevel));
        return node.for_ns > 0 ? fmt::format("{} for {}", text, FormatDuration(node.for_ns)) : text;
      }
      case NodeKind::kNot: return fmt::format("not {}", At(*node.children[0], kNotLevel));
      case NodeKind::kAnd: return Binary(node, "and");
      case NodeKind::kOr: return Binary(node, "or");
    }
    return "";
  }

  std::span<const SignalRef> signals_;
};

}  // namespace

std::string_view WindowFnName(WindowFn fn) {
  switch (fn) {
    case WindowFn::kAvg: return "avg";
    case WindowFn::kMin: return "min";
    case WindowFn::kMax: return "max";
    case WindowFn::kCount: return "count";
    case WindowFn::kDelta: return "delta";
    case WindowFn::kRate: return "rate";
  }
  return "";
}

std::string_view CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
    case CompareOp::kEq: return "==";
    case CompareOp::kNe: return "!=";
  }
  return "";
}

std::string SignalText(const SignalRef& signal) {
  std::string path = signal.path;
  if (auto slash = path.find('/'); slash != std::string::npos) path[slash] = '.';
  return signal.relationship.empty() ? path : fmt::format("{}>{}", signal.relationship, path);
}

std::string FormatDuration(int64_t ns) {
  constexpr int64_t kMs = 1'000'000;
  struct Unit {
    int64_t ns;
    const char* name;
  };
  for (Unit unit : {Unit{86'400'000 * kMs, "d"}, Unit{3'600'000 * kMs, "h"}, Unit{60'000 * kMs, "m"},
                    Unit{1000 * kMs, "s"}}) {
    if (ns % unit.ns == 0) return fmt::format("{}{}", ns / unit.ns, unit.name);
  }
  return fmt::format("{}ms", ns / kMs);  // the parser keeps durations to whole milliseconds
}

std::string Print(const Node& node, std::span<const SignalRef> signals) {
  return Printer(signals).At(node, kTop);
}

}  // namespace doppel::rules::internal
