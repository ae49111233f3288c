#include "query/internal/evaluator.h"

#include <algorithm>
#include <cstdint>

namespace doppel::query {
namespace {

int Sign(bool less, bool greater) { return less ? -1 : (greater ? 1 : 0); }

// Numbers of any representation compared by value; integers exactly.
int CompareNumbers(const json::value& a, const json::value& b) {
  if (a.is_double() || b.is_double()) {
    double x = a.to_number<double>(), y = b.to_number<double>();
    return Sign(x<y, x> y);
  }
  if (a.is_int64() && b.is_int64())
    return Sign(a.get_int64() < b.get_int64(), a.get_int64() > b.get_int64());
  if (a.is_uint64() && b.is_uint64())
    return Sign(a.get_uint64() < b.get_uint64(), a.get_uint64() > b.get_uint64());
  // One int64, one uint64: a negative int64 is smaller; otherwise compare as unsigned.
  if (a.is_int64()) {
    if (a.get_int64() < 0) return -1;
    uint64_t x = static_cast<uint64_t>(a.get_int64());
    return Sign(x<b.get_uint64(), x> b.get_uint64());
  }
  return -CompareNumbers(b, a);
}

Truth FromBool(bool b) { return b ? Truth::kTrue : Truth::kFalse; }

Truth Not(Truth t) {
  if (t == Truth::kUndefined) return t;
  return t == Truth::kTrue ? Truth::kFalse : Truth::kTrue;
}

Truth ApplyCompare(CompareOp op, int c) {
  switch (op) {
    case CompareOp::kEq:
      return FromBool(c == 0);
    case CompareOp::kNe:
      return FromBool(c != 0);
    case CompareOp::kLt:
      return FromBool(c < 0);
    case CompareOp::kLe:
      return FromBool(c <= 0);
    case CompareOp::kGt:
      return FromBool(c > 0);
    case CompareOp::kGe:
      return FromBool(c >= 0);
  }
  return Truth::kUndefined;
}

const json::string* AsString(const Value& v) {
  return (v.value != nullptr && v.value->is_string()) ? &v.value->get_string() : nullptr;
}

Truth StringTest(FunctionKind kind, const Value& a, const Value& b) {
  const json::string* s = AsString(a);
  const json::string* t = AsString(b);
  if (s == nullptr || t == nullptr) return Truth::kUndefined;
  std::string_view sv(*s), tv(*t);
  switch (kind) {
    case FunctionKind::kStartsWith:
      return FromBool(sv.starts_with(tv));
    case FunctionKind::kEndsWith:
      return FromBool(sv.ends_with(tv));
    default:
      return FromBool(sv.find(tv) != std::string_view::npos);
  }
}

Truth TypeTest(FunctionKind kind, const Value& v) {
  if (v.object != nullptr) {
    return FromBool(kind == FunctionKind::kIsDefined || kind == FunctionKind::kIsObject);
  }
  if (v.value == nullptr) return Truth::kFalse;
  const json::value& x = *v.value;
  switch (kind) {
    case FunctionKind::kIsDefined:
      return Truth::kTrue;
    case FunctionKind::kIsNull:
      return FromBool(x.is_null());
    case FunctionKind::kIsPrimitive:
      return FromBool(!x.is_array() && !x.is_object());
    case FunctionKind::kIsBool:
      return FromBool(x.is_bool());
    case FunctionKind::kIsNumber:
      return FromBool(x.is_number());
    case FunctionKind::kIsString:
      return FromBool(x.is_string());
    default:
      return Truth::kFalse;  // kIsObject: objects were handled above
  }
}

void MaxStage(const Condition& c, const std::vector<int>& stages, int& stage) {
  for (const Operand& operand : c.operands) {
    if (operand.kind == Operand::Kind::kPath) stage = std::max(stage, stages[operand.path.binding]);
  }
  if (c.kind == Condition::Kind::kFunction && c.function == FunctionKind::kIsOfModel) {
    stage = std::max(stage, stages[c.model_binding]);
  }
  for (const Condition& child : c.children) MaxStage(child, stages, stage);
}

}  // namespace

std::optional<int> CompareJson(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return CompareNumbers(a, b);
  if (a.is_string() && b.is_string()) {
    int c = std::string_view(a.get_string()).compare(std::string_view(b.get_string()));
    return Sign(c<0, c> 0);
  }
  if (a.is_bool() && b.is_bool())
    return Sign(!a.get_bool() && b.get_bool(), a.get_bool() && !b.get_bool());
  if (a.is_null() && b.is_null()) return 0;
  return std::nullopt;
}

Value Resolve(const PathRef& path, const Row& row) {
  const Slot& slot = row[path.binding];
  const json::object* object = slot.doc != nullptr            ? slot.doc
                               : slot.twin != nullptr         ? &slot.twin->doc
                               : slot.relationship != nullptr ? &slot.relationship->doc
                                                              : nullptr;
  Value v;
  v.object = object;
  for (const std::string& segment : path.segments) {
    if (v.object == nullptr) return Value{};
    v.value = v.object->if_contains(segment);
    if (v.value == nullptr) return Value{};
    v.object = v.value->if_object();
  }
  return v;
}

std::vector<int> BindingStages(const ParsedQuery& query) {
  std::vector<int> stages(query.bindings.size(), 0);
  for (std::size_t j = 0; j < query.joins.size(); ++j) {
    const Join& join = query.joins[j];
    stages[join.twin_binding] = static_cast<int>(j + 1);
    if (join.relationship_binding >= 0) stages[join.relationship_binding] = static_cast<int>(j + 1);
  }
  return stages;
}

int ConditionStage(const Condition& condition, const std::vector<int>& stages) {
  int stage = 0;
  MaxStage(condition, stages, stage);
  return stage;
}

Evaluator::Evaluator(const ParsedQuery& query, const twin::GraphState& state) : state_(state) {
  if (query.where) CollectModelSets(*query.where);
}

void Evaluator::CollectModelSets(const Condition& condition) {
  for (const Condition& child : condition.children) CollectModelSets(child);
  if (condition.kind != Condition::Kind::kFunction ||
      condition.function != FunctionKind::kIsOfModel) {
    return;
  }
  auto& accepted = accepted_models_[&condition];
  accepted.insert(condition.model_id);
  if (condition.exact) return;
  const model::ModelRegistry& models = state_.models();
  for (const auto& [id, entry] : models.entries()) {
    if (models.IsOfModel(id, condition.model_id)) accepted.insert(id);
  }
}

const std::set<std::string, std::less<>>& Evaluator::AcceptedModels(
    const Condition& is_of_model) const {
  return accepted_models_.at(&is_of_model);
}

Value Evaluator::OperandValue(const Operand& operand, const Row& row) const {
  if (operand.kind == Operand::Kind::kLiteral) return Value{&operand.literal, nullptr};
  return Resolve(operand.path, row);
}

Truth Evaluator::Evaluate(const Condition& c, const Row& row) const {
  switch (c.kind) {
    case Condition::Kind::kAnd: {
      Truth result = Truth::kTrue;
      for (const Condition& child : c.children) {
        Truth t = Evaluate(child, row);
        if (t == Truth::kFalse) return t;
        if (t == Truth::kUndefined) result = t;
      }
      return result;
    }
    case Condition::Kind::kOr: {
      Truth result = Truth::kFalse;
      for (const Condition& child : c.children) {
        Truth t = Evaluate(child, row);
        if (t == Truth::kTrue) return t;
        if (t == Truth::kUndefined) result = t;
      }
      return result;
    }
    case Condition::Kind::kNot:
      return Not(Evaluate(c.children[0], row));
    case Condition::Kind::kCompare: {
      Value a = OperandValue(c.operands[0], row), b = OperandValue(c.operands[1], row);
      if (a.value == nullptr || b.value == nullptr) return Truth::kUndefined;
      std::optional<int> order = CompareJson(*a.value, *b.value);
      return order ? ApplyCompare(c.op, *order) : Truth::kUndefined;
    }
    case Condition::Kind::kIn: {
      Value a = OperandValue(c.operands[0], row);
      if (a.value == nullptr || a.object != nullptr) return Truth::kUndefined;
      bool found = std::any_of(c.list.begin(), c.list.end(), [&](const json::value& item) {
        return CompareJson(*a.value, item) == 0;
      });
      return FromBool(found != c.negated);
    }
    case Condition::Kind::kFunction:
      return EvaluateFunction(c, row);
    case Condition::Kind::kTruthy: {
      Value a = OperandValue(c.operands[0], row);
      if (a.value == nullptr || !a.value->is_bool()) return Truth::kUndefined;
      return FromBool(a.value->get_bool());
    }
  }
  return Truth::kUndefined;
}

Truth Evaluator::EvaluateFunction(const Condition& call, const Row& row) const {
  switch (call.function) {
    case FunctionKind::kIsOfModel: {
      const twin::Twin* twin = row[call.model_binding].twin;
      if (twin == nullptr) return Truth::kUndefined;
      return FromBool(AcceptedModels(call).contains(twin->model_id));
    }
    case FunctionKind::kStartsWith:
    case FunctionKind::kEndsWith:
    case FunctionKind::kContains:
      return StringTest(call.function, OperandValue(call.operands[0], row),
                        OperandValue(call.operands[1], row));
    default:
      return TypeTest(call.function, OperandValue(call.operands[0], row));
  }
}

}  // namespace doppel::query
