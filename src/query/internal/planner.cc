#include "query/internal/planner.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

namespace doppel::query {
namespace {

using IdSet = std::set<std::string>;

bool IsPathOn(const Operand& operand, int binding) {
  return operand.kind == Operand::Kind::kPath && operand.path.binding == binding;
}

bool IsIdPath(const Operand& operand, int binding, std::string_view field = "$dtId") {
  return IsPathOn(operand, binding) && operand.path.segments.size() == 1 &&
         operand.path.segments[0] == field;
}

// For `path = literal` in either order: the path operand and the literal.
std::optional<std::pair<const Operand*, const json::value*>> Equality(const Condition& c) {
  if (c.kind != Condition::Kind::kCompare || c.op != CompareOp::kEq) return std::nullopt;
  const Operand& a = c.operands[0];
  const Operand& b = c.operands[1];
  if (a.kind == Operand::Kind::kPath && b.kind == Operand::Kind::kLiteral) {
    return std::make_pair(&a, &b.literal);
  }
  if (b.kind == Operand::Kind::kPath && a.kind == Operand::Kind::kLiteral) {
    return std::make_pair(&b, &a.literal);
  }
  return std::nullopt;
}

// Appends the ids `c` pins `binding`'s `field` to (`= 'x'`, `IN [...]`, or an OR of those);
// false if it doesn't pin them.
bool CollectPinnedIds(const Condition& c, int binding, std::string_view field,
                      std::vector<std::string_view>& ids) {
  if (auto eq = Equality(c); eq && IsIdPath(*eq->first, binding, field)) {
    if (eq->second->is_string()) ids.push_back(eq->second->get_string());
    return true;
  }
  if (c.kind == Condition::Kind::kIn && !c.negated && IsIdPath(c.operands[0], binding, field)) {
    for (const json::value& v : c.list) {
      if (v.is_string()) ids.push_back(v.get_string());
    }
    return true;
  }
  if (c.kind != Condition::Kind::kOr) return false;
  for (const Condition& child : c.children) {
    if (!CollectPinnedIds(child, binding, field, ids)) return false;
  }
  return true;
}

std::vector<const Condition*> Conjuncts(const ParsedQuery& query) {
  std::vector<const Condition*> out;
  if (!query.where) return out;
  if (query.where->kind != Condition::Kind::kAnd) {
    out.push_back(&*query.where);
    return out;
  }
  for (const Condition& child : query.where->children) out.push_back(&child);
  return out;
}

// Finds twins by increasing id. A dense id set (most twins of a model, say) would pay a
// full tree descent per id; stepping forward a few nodes first makes it cost about as much
// as a scan, while a sparse set still gets one descent per id.
class TwinCursor {
 public:
  using Map = std::map<std::string, twin::Twin, std::less<>>;
  explicit TwinCursor(const Map& twins) : twins_(twins), it_(twins.begin()) {}

  // `id` must not be smaller than the previous call's.
  const twin::Twin* Find(std::string_view id) {
    for (int step = 0; step < kSteps && it_ != twins_.end(); ++step, ++it_) {
      int c = std::string_view(it_->first).compare(id);
      if (c == 0) return &it_->second;
      if (c > 0) return nullptr;
    }
    it_ = twins_.lower_bound(id);
    return (it_ != twins_.end() && it_->first == id) ? &it_->second : nullptr;
  }

 private:
  static constexpr int kSteps = 4;
  const Map& twins_;
  Map::const_iterator it_;
};

// Walks the union of disjoint sorted id sets in order, from `from_id` on: a k-way merge with
// a min-heap of set heads (k is the number of models deriving from the one asked for, which
// in a large ontology can be hundreds).
class MergedIds {
 public:
  MergedIds(const std::vector<const IdSet*>& sets, std::string_view from_id) {
    for (const IdSet* set : sets) {
      auto it = set->lower_bound(std::string(from_id));
      if (it != set->end()) heads_.push_back({it, set->end()});
    }
    std::make_heap(heads_.begin(), heads_.end(), Later);
  }

  const std::string* Next() {
    if (heads_.empty()) return nullptr;
    std::pop_heap(heads_.begin(), heads_.end(), Later);
    Head& head = heads_.back();
    const std::string* id = &*head.it++;
    if (head.it == head.end) {
      heads_.pop_back();
    } else {
      std::push_heap(heads_.begin(), heads_.end(), Later);
    }
    return id;
  }

 private:
  struct Head {
    IdSet::const_iterator it, end;
  };
  // Heap order: the head with the smallest id on top.
  static bool Later(const Head& a, const Head& b) { return *a.it > *b.it; }
  std::vector<Head> heads_;
};

class Planner {
 public:
  Planner(const ParsedQuery& query, const twin::GraphState& state, const Evaluator& evaluator)
      : query_(query), state_(state), evaluator_(evaluator) {
    best_.description = "full scan";
    best_.estimated = state.twins().size();
  }

  CandidatePlan Run() {
    std::vector<int> stages = BindingStages(query_);
    for (const Condition* c : Conjuncts(query_)) {
      int stage = ConditionStage(*c, stages);
      if (stage == 0 && query_.from_relationships) ConsiderRelationshipConjunct(*c);
      if (stage == 0 && !query_.from_relationships) ConsiderFromConjunct(*c);
      if (stage == 1) ConsiderJoinPin(*c);
    }
    return std::move(best_);
  }

 private:
  void Offer(CandidatePlan option) {
    if (option.estimated < best_.estimated) best_ = std::move(option);
  }

  void ConsiderFromConjunct(const Condition& c) {
    if (auto ids = PinnedIds(c, 0)) return OfferIds(std::move(*ids), "id lookup");
    if (auto eq = Equality(c); eq && IsPathOn(*eq->first, 0)) {
      return ConsiderEquality(c, eq->first->path.segments, *eq->second);
    }
    if (c.kind != Condition::Kind::kFunction) return;
    if (c.function == FunctionKind::kStartsWith && IsIdPath(c.operands[0], 0) &&
        c.operands[1].kind == Operand::Kind::kLiteral && c.operands[1].literal.is_string()) {
      return ConsiderPrefix(std::string(c.operands[1].literal.get_string()));
    }
    if (c.function == FunctionKind::kIsOfModel && c.model_binding == 0) ConsiderModels(c);
  }

  void OfferIds(std::vector<std::string_view> ids, std::string description) {
    CandidatePlan option;
    option.kind = CandidatePlan::Kind::kIds;
    option.estimated = ids.size();
    option.ids = std::move(ids);
    option.description = std::move(description);
    Offer(std::move(option));
  }

  void OfferSets(std::vector<const IdSet*> sets, std::string description) {
    CandidatePlan option;
    option.kind = CandidatePlan::Kind::kIdSets;
    for (const IdSet* set : sets) {
      if (set == nullptr || set->empty()) continue;
      option.sets.push_back(set);
      option.estimated += set->size();
    }
    option.description = std::move(description);
    Offer(std::move(option));
  }

  void ConsiderEquality(const Condition& c, const std::vector<std::string>& segments,
                        const json::value& literal) {
    if (segments.size() == 2 && segments[0] == "$metadata" && segments[1] == "$model") {
      if (!literal.is_string()) return OfferSets({}, "model index");
      return OfferSets({state_.TwinsOfExactModel(literal.get_string())}, "model index");
    }
    if (auto set = PropertyIndexFor(c, 0, state_)) OfferSets({*set}, "property index");
  }

  void ConsiderPrefix(std::string prefix) {
    // Count the range only as far as it could still win.
    std::size_t count = 0;
    const auto& twins = state_.twins();
    for (auto it = twins.lower_bound(prefix);
         it != twins.end() && it->first.starts_with(prefix) && count < best_.estimated; ++it) {
      ++count;
    }
    CandidatePlan option;
    option.kind = CandidatePlan::Kind::kPrefix;
    option.prefix = std::move(prefix);
    option.estimated = count;
    option.description = "id prefix range";
    Offer(std::move(option));
  }

  void ConsiderModels(const Condition& c) {
    std::vector<const IdSet*> sets;
    for (const std::string& model : evaluator_.AcceptedModels(c)) {
      sets.push_back(state_.TwinsOfExactModel(model));
    }
    OfferSets(std::move(sets), "model index");
  }

  // JOIN CT RELATED T.rel ... WHERE CT.$dtId = 'x': the T candidates are the sources of x's
  // incoming `rel` relationships.
  void ConsiderJoinPin(const Condition& c) {
    if (query_.joins.empty() || query_.joins[0].source_binding != 0) return;
    const Join& join = query_.joins[0];
    if (auto targets = PinnedIds(c, join.twin_binding)) {
      OfferIds(SourcesOf(*targets, join.relationship_name), "incoming relationships");
    }
  }

  // FROM RELATIONSHIPS visits the outgoing relationships of candidate source twins.
  void ConsiderRelationshipConjunct(const Condition& c) {
    if (auto sources = PinnedIds(c, 0, "$sourceId")) {
      return OfferIds(std::move(*sources), "source lookup");
    }
    if (auto targets = PinnedIds(c, 0, "$targetId")) {
      OfferIds(SourcesOf(*targets, ""), "incoming relationships");
    }
  }

  // The twins with a relationship (named `name`, or any if empty) to one of `targets`.
  std::vector<std::string_view> SourcesOf(const std::vector<std::string_view>& targets,
                                          std::string_view name) const {
    std::vector<std::string_view> sources;
    for (std::string_view target : targets) {
      const auto* incoming = state_.Incoming(target);
      if (incoming == nullptr) continue;
      for (const auto& [source, rel_id] : *incoming) {
        const twin::Relationship* rel = state_.FindRelationship(source, rel_id);
        if (rel != nullptr && (name.empty() || rel->name == name)) sources.push_back(source);
      }
    }
    std::sort(sources.begin(), sources.end());
    sources.erase(std::unique(sources.begin(), sources.end()), sources.end());
    return sources;
  }

  const ParsedQuery& query_;
  const twin::GraphState& state_;
  const Evaluator& evaluator_;
  CandidatePlan best_;
};

}  // namespace

std::optional<const IdSet*> PropertyIndexFor(const Condition& c, int binding,
                                             const twin::GraphState& state) {
  auto eq = Equality(c);
  if (!eq || !IsPathOn(*eq->first, binding)) return std::nullopt;
  const std::vector<std::string>& segments = eq->first->path.segments;
  if (segments.size() != 1 || segments[0].starts_with('$')) return std::nullopt;
  const json::value& literal = *eq->second;
  if (!literal.is_string() && !literal.is_number() && !literal.is_bool()) return std::nullopt;
  return state.TwinsWithProperty(segments[0], literal);
}

std::optional<std::vector<std::string_view>> PinnedIds(const Condition& c, int binding,
                                                       std::string_view field) {
  std::vector<std::string_view> ids;
  if (!CollectPinnedIds(c, binding, field, ids)) return std::nullopt;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

CandidatePlan PlanCandidates(const ParsedQuery& query, const twin::GraphState& state,
                             const Evaluator& evaluator) {
  return Planner(query, state, evaluator).Run();
}

void ForEachCandidate(const twin::GraphState& state, const CandidatePlan& plan,
                      std::string_view from_id,
                      const std::function<bool(const twin::Twin&)>& visit) {
  const auto& twins = state.twins();
  switch (plan.kind) {
    case CandidatePlan::Kind::kScan:
      for (auto it = twins.lower_bound(from_id); it != twins.end(); ++it) {
        if (!visit(it->second)) return;
      }
      return;
    case CandidatePlan::Kind::kPrefix: {
      std::string_view start = std::max<std::string_view>(plan.prefix, from_id);
      for (auto it = twins.lower_bound(start);
           it != twins.end() && it->first.starts_with(plan.prefix); ++it) {
        if (!visit(it->second)) return;
      }
      return;
    }
    case CandidatePlan::Kind::kIdSets: {
      TwinCursor cursor(twins);
      MergedIds merged(plan.sets, from_id);
      for (const std::string* id = merged.Next(); id != nullptr; id = merged.Next()) {
        const twin::Twin* twin = cursor.Find(*id);
        if (twin != nullptr && !visit(*twin)) return;
      }
      return;
    }
    case CandidatePlan::Kind::kIds: {
      TwinCursor cursor(twins);
      for (auto it = std::lower_bound(plan.ids.begin(), plan.ids.end(), from_id);
           it != plan.ids.end(); ++it) {
        const twin::Twin* twin = cursor.Find(*it);
        if (twin != nullptr && !visit(*twin)) return;
      }
      return;
    }
  }
}

}  // namespace doppel::query
