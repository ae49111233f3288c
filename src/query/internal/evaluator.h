// Evaluates bound conditions and paths against one row of the join: the twin or relationship
// each binding currently stands for.
//
// Semantics follow ADT (Cosmos DB SQL underneath): a condition is true, false or undefined,
// and WHERE keeps a row only when it is true. Comparing values of different types, or a
// missing property, is undefined — not an error. AND is false if any side is false, OR true
// if any side is true, NOT of undefined stays undefined.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/json.h"
#include "query/internal/ast.h"
#include "twin/twin_graph.h"

namespace doppel::query {

enum class Truth { kFalse, kTrue, kUndefined };

// What one binding stands for in the current row: a twin or a relationship (or nothing yet).
struct Slot {
  const twin::Twin* twin = nullptr;
  const twin::Relationship* relationship = nullptr;
  // The document paths resolve against when it is not the twin's own: a copy with the values
  // QueryOptions::masked hides removed (twin/field_mask.h). Null: the twin's or relationship's.
  const json::object* doc = nullptr;
};
using Row = std::vector<Slot>;  // indexed by binding

// A value found by a path: a JSON value, or the whole document of a binding (object), or
// undefined (both null).
struct Value {
  const json::value* value = nullptr;
  const json::object* object = nullptr;  // set when the value is an object
  bool defined() const { return value != nullptr || object != nullptr; }
};

// Orders two JSON values of the same primitive type (numbers by value, strings by bytes,
// false < true, null = null). nullopt when they cannot be compared (different types,
// objects, arrays).
std::optional<int> CompareJson(const json::value& a, const json::value& b);

// The path's value in `row`.
Value Resolve(const PathRef& path, const Row& row);

// The stage at which a binding is bound: 0 for the FROM twin, j+1 for JOIN j's twin and
// relationship. A condition can be evaluated once every stage it refers to is bound.
std::vector<int> BindingStages(const ParsedQuery& query);
int ConditionStage(const Condition& condition, const std::vector<int>& stages);

// Evaluates conditions of one query. Built per execution: it resolves, once, the set of model
// ids each IS_OF_MODEL accepts (the model and, unless exact, every model deriving from it).
class Evaluator {
 public:
  // `query` and `state` must outlive the evaluator.
  Evaluator(const ParsedQuery& query, const twin::GraphState& state);

  Truth Evaluate(const Condition& condition, const Row& row) const;
  // Model ids an IS_OF_MODEL condition accepts.
  const std::set<std::string, std::less<>>& AcceptedModels(const Condition& is_of_model) const;

 private:
  void CollectModelSets(const Condition& condition);
  Truth EvaluateFunction(const Condition& call, const Row& row) const;
  Value OperandValue(const Operand& operand, const Row& row) const;

  const twin::GraphState& state_;
  std::map<const Condition*, std::set<std::string, std::less<>>> accepted_models_;
};

}  // namespace doppel::query
