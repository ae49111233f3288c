#include "rules/internal/checker.h"

#include <fmt/format.h>

#include <string>

#include "rules/internal/lexer.h"

namespace doppel::rules::internal {
namespace {

enum class Type { kNumber, kBool, kString, kDynamic };  // kDynamic: a signal, any type at run time

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kNumber: return "a number";
    case Type::kBool: return "a boolean";
    case Type::kString: return "a string";
    case Type::kDynamic: return "a signal";
  }
  return "";
}

bool IsNumeric(Type type) { return type == Type::kNumber || type == Type::kDynamic; }
bool IsCondition(Type type) { return type == Type::kBool || type == Type::kDynamic; }

Result<Type> TypeOf(const Node& node);

// The type of node.children[index], which `op` needs to be numeric (or a condition).
Result<Type> Operand(const Node& node, std::size_t index, std::string_view op, bool condition) {
  const Node& child = *node.children[index];
  DOPPEL_ASSIGN_OR_RETURN(Type type, TypeOf(child));
  if (condition && !IsCondition(type)) {
    return SyntaxError(child.pos, fmt::format("'{}' needs a condition, found {}", op, TypeName(type)));
  }
  if (!condition && !IsNumeric(type)) {
    return SyntaxError(child.pos, fmt::format("{} needs numbers, found {}", op, TypeName(type)));
  }
  return type;
}

Result<Type> CompareType(const Node& node) {
  std::string_view op = CompareOpText(node.compare);
  if (node.compare != CompareOp::kEq && node.compare != CompareOp::kNe) {
    DOPPEL_RETURN_IF_ERROR(Operand(node, 0, fmt::format("'{}'", op), false).status());
    DOPPEL_RETURN_IF_ERROR(Operand(node, 1, fmt::format("'{}'", op), false).status());
    return Type::kBool;
  }
  DOPPEL_ASSIGN_OR_RETURN(Type left, TypeOf(*node.children[0]));
  DOPPEL_ASSIGN_OR_RETURN(Type right, TypeOf(*node.children[1]));
  if (left != right && left != Type::kDynamic && right != Type::kDynamic) {
    return SyntaxError(node.op_pos, fmt::format("'{}' compares {} with {}; both sides must have the same type", op,
                                                TypeName(left), TypeName(right)));
  }
  return Type::kBool;
}

Result<Type> TypeOf(const Node& node) {
  switch (node.kind) {
    case NodeKind::kNumber:
    case NodeKind::kWindow: return Type::kNumber;
    case NodeKind::kString: return Type::kString;
    case NodeKind::kBool: return Type::kBool;
    case NodeKind::kSignal: return Type::kDynamic;
    case NodeKind::kAbs: DOPPEL_RETURN_IF_ERROR(Operand(node, 0, "abs", false).status()); return Type::kNumber;
    case NodeKind::kNegate: DOPPEL_RETURN_IF_ERROR(Operand(node, 0, "'-'", false).status()); return Type::kNumber;
    case NodeKind::kArith: {
      std::string op = fmt::format("'{}'", node.arith);
      DOPPEL_RETURN_IF_ERROR(Operand(node, 0, op, false).status());
      DOPPEL_RETURN_IF_ERROR(Operand(node, 1, op, false).status());
      return Type::kNumber;
    }
    case NodeKind::kCompare: return CompareType(node);
    case NodeKind::kNot: DOPPEL_RETURN_IF_ERROR(Operand(node, 0, "not", true).status()); return Type::kBool;
    case NodeKind::kAnd:
    case NodeKind::kOr: {
      std::string_view op = node.kind == NodeKind::kAnd ? "and" : "or";
      DOPPEL_RETURN_IF_ERROR(Operand(node, 0, op, true).status());
      DOPPEL_RETURN_IF_ERROR(Operand(node, 1, op, true).status());
      return Type::kBool;
    }
  }
  return Type::kDynamic;
}

}  // namespace

Status CheckTypes(const Node& root) {
  DOPPEL_ASSIGN_OR_RETURN(Type type, TypeOf(root));
  if (IsCondition(type)) return Status::Ok();
  return SyntaxError(root.pos, fmt::format("the expression is {}, not a condition (compare it, as in 'x > 0')",
                                           TypeName(type)));
}

}  // namespace doppel::rules::internal
