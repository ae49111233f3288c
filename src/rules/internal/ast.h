// The syntax tree of a rule condition (rules/expression.h), shared by the parser, the type
// checker, the printer and the evaluator. Nodes are built once by the parser and then only read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/expression.h"

namespace doppel::rules::internal {

// A place in the expression text: 1-based line and column, columns counted in characters.
struct Position {
  int line = 1;
  int column = 1;
};

enum class NodeKind {
  kNumber,   // number
  kString,   // string
  kBool,     // boolean
  kSignal,   // signal (index into Expression::signals())
  kWindow,   // window_fn(signal, window_ns)
  kAbs,      // abs(children[0])
  kNegate,   // -children[0]
  kArith,    // children[0] op children[1], op one of + - * /
  kCompare,  // children[0] compare children[1], with an optional 'for' duration
  kNot,
  kAnd,
  kOr,
};

enum class CompareOp { kLt, kLe, kGt, kGe, kEq, kNe };
enum class WindowFn { kAvg, kMin, kMax, kCount, kDelta, kRate };

}  // namespace doppel::rules::internal

namespace doppel::rules {

struct Expression::Node {
  internal::NodeKind kind = internal::NodeKind::kNumber;
  internal::Position pos;     // where the node's text begins
  internal::Position op_pos;  // the operator of kArith/kCompare/kAnd/kOr
  double number = 0;
  bool boolean = false;
  std::string string;
  char arith = '+';
  internal::CompareOp compare = internal::CompareOp::kEq;
  internal::WindowFn window_fn = internal::WindowFn::kAvg;
  std::size_t signal = 0;       // kSignal, kWindow
  int64_t window_ns = 0;        // kWindow
  std::size_t window_slot = 0;  // kWindow: one slot per distinct (signal, window_ns)
  int64_t for_ns = 0;           // kCompare: 0 = no 'for'
  std::size_t for_slot = 0;     // kCompare with 'for': its timer
  std::vector<std::unique_ptr<Node>> children;
};

}  // namespace doppel::rules

namespace doppel::rules::internal {

using Node = Expression::Node;

std::string_view WindowFnName(WindowFn fn);
std::string_view CompareOpText(CompareOp op);
// "rel>component.name" — a signal as the expression language writes it.
std::string SignalText(const SignalRef& signal);
// The shortest exact spelling: 90m, 1500ms, 2d.
std::string FormatDuration(int64_t ns);
// Canonical text of a subtree: minimal parentheses, one space around binary operators.
std::string Print(const Node& node, std::span<const SignalRef> signals);

}  // namespace doppel::rules::internal
