#include "query/internal/binder.h"

#include <fmt/format.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "query/internal/parser.h"

namespace doppel::query {
namespace {

Status SemanticError(SourcePos pos, std::string_view what) {
  return Status::InvalidArgument(
      fmt::format("query error at line {}, column {}: {}", pos.line, pos.column, what),
      "SqlQueryError");
}

class Binder {
 public:
  explicit Binder(ParsedQuery& query) : query_(query) {}

  Status Run() {
    DOPPEL_RETURN_IF_ERROR(BindSources());
    DOPPEL_RETURN_IF_ERROR(CheckSelect());
    for (Projection& projection : query_.projections) {
      DOPPEL_RETURN_IF_ERROR(BindProjection(projection));
    }
    if (query_.where) DOPPEL_RETURN_IF_ERROR(BindCondition(*query_.where));
    return Status::Ok();
  }

 private:
  int Find(std::string_view name) const {
    for (std::size_t i = 0; i < query_.bindings.size(); ++i) {
      if (!name.empty() && query_.bindings[i].name == name) return static_cast<int>(i);
    }
    return -1;
  }

  std::string Declared() const {
    std::string names;
    for (const Binding& b : query_.bindings) {
      if (b.name.empty()) continue;
      if (!names.empty()) names += ", ";
      names += b.name;
    }
    return names.empty() ? "none" : names;
  }

  Result<int> Declare(std::string name, Binding::Kind kind, SourcePos pos) {
    if (Find(name) >= 0)
      return SemanticError(pos, fmt::format("alias '{}' is declared twice", name));
    query_.bindings.push_back(Binding{std::move(name), kind, pos});
    return static_cast<int>(query_.bindings.size() - 1);
  }

  Status BindSources() {
    query_.bindings.push_back(
        Binding{query_.from_alias,
                query_.from_relationships ? Binding::Kind::kRelationship : Binding::Kind::kTwin,
                query_.from_pos});
    if (query_.from_relationships && !query_.joins.empty()) {
      return SemanticError(query_.joins[0].pos, "JOIN is not supported with FROM RELATIONSHIPS");
    }
    if (query_.joins.size() > kMaxJoins) {
      return SemanticError(query_.joins[kMaxJoins].pos,
                           fmt::format("a query may have at most {} JOINs", kMaxJoins));
    }
    for (Join& join : query_.joins) DOPPEL_RETURN_IF_ERROR(BindJoin(join));
    return Status::Ok();
  }

  Status BindJoin(Join& join) {
    join.source_binding = Find(join.source_alias);
    if (join.source_binding < 0) {
      return SemanticError(join.pos, fmt::format("JOIN source '{}' is not a declared alias "
                                                 "(declared: {})",
                                                 join.source_alias, Declared()));
    }
    if (query_.bindings[join.source_binding].kind != Binding::Kind::kTwin) {
      return SemanticError(join.pos, fmt::format("JOIN source '{}' is a relationship; RELATED "
                                                 "needs a twin alias",
                                                 join.source_alias));
    }
    DOPPEL_ASSIGN_OR_RETURN(join.twin_binding,
                            Declare(join.twin_alias, Binding::Kind::kTwin, join.pos));
    if (!join.relationship_alias.empty()) {
      DOPPEL_ASSIGN_OR_RETURN(
          join.relationship_binding,
          Declare(join.relationship_alias, Binding::Kind::kRelationship, join.pos));
    }
    return Status::Ok();
  }

  Status CheckSelect() {
    if (query_.select == SelectKind::kStar && !query_.joins.empty()) {
      return SemanticError(query_.joins[0].pos,
                           "SELECT * is not supported with JOIN; project the aliases instead, "
                           "e.g. SELECT T, CT");
    }
    if (query_.top) {
      if (query_.select == SelectKind::kCount) {
        return SemanticError(query_.top_pos, "TOP cannot be combined with COUNT()");
      }
      if (*query_.top < 1 || *query_.top > kMaxTop) {
        return SemanticError(query_.top_pos, fmt::format("TOP({}) is out of range; it must be "
                                                         "between 1 and {}",
                                                         *query_.top, kMaxTop));
      }
    }
    return Status::Ok();
  }

  Status BindPath(PathRef& path) {
    int b = Find(path.raw.front());
    if (b >= 0) {
      path.binding = b;
      path.segments.assign(path.raw.begin() + 1, path.raw.end());
      return Status::Ok();
    }
    if (!query_.from_alias.empty() || !query_.joins.empty()) {
      return SemanticError(
          path.pos, fmt::format("unknown alias '{}' (declared: {})", path.raw.front(), Declared()));
    }
    path.binding = 0;
    path.segments = path.raw;
    return Status::Ok();
  }

  Status BindProjection(Projection& projection) {
    DOPPEL_RETURN_IF_ERROR(BindPath(projection.path));
    const PathRef& path = projection.path;
    if (!projection.as_name.empty()) {
      projection.name = projection.as_name;
    } else if (path.segments.empty()) {
      projection.name = query_.bindings[path.binding].name;
    } else {
      projection.name = path.segments.back();
    }
    if (!column_names_.insert(projection.name).second) {
      return SemanticError(path.pos, fmt::format("column '{}' is projected twice; rename one "
                                                 "with AS",
                                                 projection.name));
    }
    return Status::Ok();
  }

  Status BindCondition(Condition& condition) {
    for (Condition& child : condition.children) DOPPEL_RETURN_IF_ERROR(BindCondition(child));
    for (Operand& operand : condition.operands) {
      if (operand.kind == Operand::Kind::kPath) DOPPEL_RETURN_IF_ERROR(BindPath(operand.path));
    }
    if (condition.kind == Condition::Kind::kFunction &&
        condition.function == FunctionKind::kIsOfModel) {
      return BindIsOfModel(condition);
    }
    return Status::Ok();
  }

  Status BindIsOfModel(Condition& call) {
    if (call.model_alias.empty() && query_.from_relationships) {
      return SemanticError(call.pos, "IS_OF_MODEL needs twins; FROM RELATIONSHIPS has none");
    }
    if (call.model_alias.empty()) {
      if (!query_.joins.empty()) {
        return SemanticError(call.pos,
                             "IS_OF_MODEL needs a twin alias as its first argument "
                             "when the query has JOINs");
      }
      call.model_binding = 0;
      return Status::Ok();
    }
    call.model_binding = Find(call.model_alias);
    if (call.model_binding < 0) {
      return SemanticError(
          call.pos, fmt::format("unknown alias '{}' (declared: {})", call.model_alias, Declared()));
    }
    if (query_.bindings[call.model_binding].kind != Binding::Kind::kTwin) {
      return SemanticError(call.pos, fmt::format("IS_OF_MODEL needs a twin alias; '{}' is a "
                                                 "relationship",
                                                 call.model_alias));
    }
    return Status::Ok();
  }

  ParsedQuery& query_;
  std::set<std::string> column_names_;
};

}  // namespace

Status Bind(ParsedQuery& query) { return Binder(query).Run(); }

}  // namespace doppel::query
