// The syntax tree of one query, as the parser builds it and the binder completes it.
//
// The parser fills in the raw spelling of every path (`raw`); the binder (binder.h) resolves
// each one to a binding — the FROM twin, a JOINed twin or a relationship alias — and strips
// the alias segment, so the evaluator never looks at names again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"

namespace doppel::query {

struct SourcePos {
  int line = 1;
  int column = 1;
};

// A property path such as T.$dtId, T.comp.prop or R.$relationshipName.
struct PathRef {
  std::vector<std::string> raw;  // as written, alias included when there is one
  SourcePos pos;
  int binding = -1;                   // set by the binder: index into ParsedQuery::bindings
  std::vector<std::string> segments;  // set by the binder: the path inside the bound document
};

struct Operand {
  enum class Kind { kLiteral, kPath };
  Kind kind = Kind::kLiteral;
  json::value literal;  // kLiteral: string, number, boolean or null
  PathRef path;         // kPath
  SourcePos pos;
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

enum class FunctionKind {
  kIsOfModel,
  kIsDefined,
  kIsNull,
  kIsPrimitive,
  kIsBool,
  kIsNumber,
  kIsString,
  kIsObject,
  kStartsWith,
  kEndsWith,
  kContains,
};

struct Condition {
  enum class Kind {
    kAnd,       // children (2 or more): all true
    kOr,        // children (2 or more): any true
    kNot,       // children[0]
    kCompare,   // operands[0] op operands[1]
    kIn,        // operands[0] IN list (NIN when negated)
    kFunction,  // function(operands...)
    kTruthy,    // a bare operand: true iff it is the boolean true
  };
  Kind kind = Kind::kAnd;
  SourcePos pos;
  std::vector<Condition> children;
  std::vector<Operand> operands;
  CompareOp op = CompareOp::kEq;
  std::vector<json::value> list;
  bool negated = false;
  FunctionKind function = FunctionKind::kIsDefined;
  // IS_OF_MODEL: the twin alias as written (empty = the FROM twin), its binding, the model.
  std::string model_alias;
  int model_binding = -1;
  std::string model_id;
  bool exact = false;
};

struct Binding {
  enum class Kind { kTwin, kRelationship };
  std::string name;  // may be empty for an unaliased FROM
  Kind kind = Kind::kTwin;
  SourcePos pos;
};

// JOIN <twin alias> RELATED <source alias>.<relationship name> [[AS] <relationship alias>]
struct Join {
  std::string twin_alias;
  std::string source_alias;
  std::string relationship_name;
  std::string relationship_alias;  // empty if none
  SourcePos pos;
  // Set by the binder.
  int twin_binding = -1;
  int source_binding = -1;
  int relationship_binding = -1;
};

struct Projection {
  PathRef path;         // a bare alias has no segments after binding
  std::string as_name;  // AS name, or empty
  std::string name;     // set by the binder: the output column name
};

enum class SelectKind { kStar, kCount, kColumns };

class ParsedQuery {
 public:
  std::string text;
  SelectKind select = SelectKind::kStar;
  std::optional<int64_t> top;
  SourcePos top_pos;
  std::vector<Projection> projections;
  bool from_relationships = false;  // FROM RELATIONSHIPS rather than FROM DIGITALTWINS
  std::string from_alias;           // empty if none
  SourcePos from_pos;
  std::vector<Join> joins;
  std::optional<Condition> where;
  // Set by the binder: [0] the FROM twin (or relationship), then per JOIN its twin and its
  // relationship alias.
  std::vector<Binding> bindings;
};

}  // namespace doppel::query
