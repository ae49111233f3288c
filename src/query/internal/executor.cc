#include "query/internal/executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "query/internal/evaluator.h"
#include "query/internal/planner.h"
#include "twin/field_mask.h"

namespace doppel::query {
namespace {

class Executor {
 public:
  Executor(const ParsedQuery& query, const twin::GraphState& state, const QueryOptions& options,
           const Continuation* resume)
      : query_(query),
        state_(state),
        options_(options),
        resume_(resume),
        evaluator_(query, state),
        row_(query.bindings.size()),
        masked_docs_(query.bindings.size()),
        conjuncts_by_stage_(query.joins.size() + 1) {
    if (resume_ != nullptr) returned_before_ = resume_->returned;
    SplitConjuncts();
  }

  Result<QueryPage> Run() {
    CandidatePlan plan = PlanCandidates(query_, state_, evaluator_);
    std::string_view from_id = resume_ != nullptr ? std::string_view(resume_->last_id) : "";
    ForEachCandidate(state_, plan, from_id,
                     [this](const twin::Twin& twin) { return VisitTwin(twin); });
    if (too_large_) {
      return Status::PayloadTooLarge(fmt::format(
          "query examined more than {} twins or relationships (the max_scanned limit); narrow "
          "it with an indexed condition such as T.$dtId = '...', STARTSWITH(T.$dtId, '...'), "
          "IS_OF_MODEL(...) or T.property = value",
          options_.max_scanned));
    }
    if (query_.select == SelectKind::kCount) {
      json::object count;
      count["COUNT"] = count_;
      page_.value.push_back(std::move(count));
    }
    return std::move(page_);
  }

 private:
  // Files each top-level AND conjunct under the first stage that binds everything it reads.
  // Also notes, per JOIN, the target ids a conjunct pins (CT.$dtId = 'x') and the property
  // index a conjunct selects (CT.prop = value), so relationships to twins that cannot match
  // are passed over without looking their targets up.
  void SplitConjuncts() {
    join_filters_.resize(query_.joins.size());
    if (!query_.where) return;
    std::vector<int> stages = BindingStages(query_);
    auto add = [&](const Condition& c) {
      int stage = ConditionStage(c, stages);
      conjuncts_by_stage_[stage].push_back(&c);
      if (stage == 0) return;
      JoinFilter& filter = join_filters_[stage - 1];
      int target = query_.joins[stage - 1].twin_binding;
      if (!filter.ids) filter.ids = PinnedIds(c, target);
      if (!filter.index) filter.index = PropertyIndexFor(c, target, state_);
    };
    if (query_.where->kind == Condition::Kind::kAnd) {
      for (const Condition& child : query_.where->children) add(child);
    } else {
      add(*query_.where);
    }
  }

  bool Passes(std::size_t stage) const {
    for (const Condition* c : conjuncts_by_stage_[stage]) {
      if (evaluator_.Evaluate(*c, row_) != Truth::kTrue) return false;
    }
    return true;
  }

  // QueryOptions::visible: an invisible twin is as if it did not exist.
  bool Visible(const twin::Twin& twin) const {
    return !options_.visible || options_.visible(twin.id, twin.model_id);
  }

  bool TargetVisible(const twin::Relationship& rel) const {
    if (!options_.visible) return true;
    const twin::Twin* target = state_.FindTwin(rel.target_id);
    return target != nullptr && Visible(*target);
  }

  // QueryOptions::masked: the twin as this caller may see it. Its hidden values are removed
  // from a copy (kept per binding until the binding moves on), so WHERE, projections and
  // SELECT * all read the same masked document and a condition on a hidden value is undefined.
  Slot TwinSlot(const twin::Twin& twin, int binding) {
    if (!options_.masked ||
        (options_.masked.hides_any && !options_.masked.hides_any(twin.model_id))) {
      return Slot{&twin, nullptr};
    }
    json::object& copy = masked_docs_[binding];
    copy = twin.doc;
    if (!twin::MaskTwinDocument(copy, options_.masked)) return Slot{&twin, nullptr};
    return Slot{&twin, nullptr, &copy};
  }

  // Counts one examined twin or relationship; false once over the limit.
  bool Examine() {
    if (++scanned_ <= options_.max_scanned) return true;
    too_large_ = true;
    return false;
  }

  bool VisitTwin(const twin::Twin& twin) {
    current_id_ = &twin.id;
    current_ordinal_ = 0;
    skip_ = (resume_ != nullptr && twin.id == resume_->last_id) ? resume_->skip : 0;
    if (query_.from_relationships) return VisitRelationshipsOf(twin);
    if (!Examine()) return false;
    if (!Visible(twin)) return true;
    row_[0] = TwinSlot(twin, 0);
    if (!Passes(0)) return true;
    return Extend(0);
  }

  // FROM RELATIONSHIPS: the rows of a candidate twin are its outgoing relationships.
  // A relationship is visible only when both its ends are: an invisible source is still
  // walked so that max_scanned counts the same whoever asks.
  bool VisitRelationshipsOf(const twin::Twin& source) {
    const auto* outgoing = state_.Outgoing(source.id);
    if (outgoing == nullptr) return true;
    const bool source_visible = Visible(source);
    for (const auto& [rel_id, rel] : *outgoing) {
      if (!Examine()) return false;
      if (!source_visible || !TargetVisible(rel)) continue;
      row_[0] = Slot{nullptr, &rel};
      if (Passes(0) && !Emit()) return false;
    }
    return true;
  }

  // Binds JOIN `j` and the ones after it, emitting each complete row.
  bool Extend(std::size_t j) {
    if (j == query_.joins.size()) return Emit();
    const Join& join = query_.joins[j];
    const auto* outgoing = state_.Outgoing(row_[join.source_binding].twin->id);
    if (outgoing == nullptr) return true;
    for (const auto& [rel_id, rel] : *outgoing) {
      if (rel.name != join.relationship_name) continue;
      if (!join_filters_[j].Admits(rel.target_id)) continue;
      const twin::Twin* target = state_.FindTwin(rel.target_id);
      if (target == nullptr) continue;
      if (!Examine()) return false;
      if (!Visible(*target)) continue;
      row_[join.twin_binding] = TwinSlot(*target, join.twin_binding);
      if (join.relationship_binding >= 0) row_[join.relationship_binding] = Slot{nullptr, &rel};
      if (Passes(j + 1) && !Extend(j + 1)) return false;
    }
    return true;
  }

  bool Emit() {
    uint64_t ordinal = current_ordinal_++;
    if (ordinal < skip_) return true;
    if (query_.select == SelectKind::kCount) {
      ++count_;
      return true;
    }
    uint64_t returned = returned_before_ + page_.value.size();
    if (query_.top && returned >= static_cast<uint64_t>(*query_.top)) return false;
    if (page_.value.size() >= options_.page_size) {
      // A row is waiting, so there is a next page; it starts after the last row returned.
      page_.continuation_token = EncodeContinuation(
          Continuation{query_.text, *last_emitted_id_, last_emitted_ordinal_ + 1, returned});
      return false;
    }
    page_.value.push_back(Project());
    last_emitted_id_ = current_id_;
    last_emitted_ordinal_ = ordinal;
    return true;
  }

  json::value Project() const {
    if (query_.select == SelectKind::kStar) {
      if (query_.from_relationships) return json::value(row_[0].relationship->doc);
      return json::value(row_[0].doc != nullptr ? *row_[0].doc : row_[0].twin->doc);
    }
    json::object out;
    for (const Projection& projection : query_.projections) {
      Value v = Resolve(projection.path, row_);
      if (v.value != nullptr) {
        out[projection.name] = *v.value;
      } else if (v.object != nullptr) {
        out[projection.name] = *v.object;
      }
    }
    return out;
  }

  const ParsedQuery& query_;
  const twin::GraphState& state_;
  const QueryOptions& options_;
  const Continuation* resume_;
  Evaluator evaluator_;
  Row row_;
  std::vector<json::object> masked_docs_;  // per binding: see TwinSlot
  std::vector<std::vector<const Condition*>> conjuncts_by_stage_;
  // Pre-filters on a JOIN's target ids; a target must pass both to be looked at.
  struct JoinFilter {
    std::optional<std::vector<std::string_view>> ids;   // sorted
    std::optional<const std::set<std::string>*> index;  // nullptr: no twin qualifies
    bool Admits(const std::string& id) const {
      if (ids && !std::binary_search(ids->begin(), ids->end(), std::string_view(id))) return false;
      return !index || (*index != nullptr && (*index)->contains(id));
    }
  };
  std::vector<JoinFilter> join_filters_;  // per JOIN
  QueryPage page_;
  uint64_t returned_before_ = 0;
  uint64_t count_ = 0;
  std::size_t scanned_ = 0;
  bool too_large_ = false;
  const std::string* current_id_ = nullptr;
  uint64_t current_ordinal_ = 0;
  const std::string* last_emitted_id_ = nullptr;
  uint64_t last_emitted_ordinal_ = 0;
  uint64_t skip_ = 0;
};

}  // namespace

Result<QueryPage> RunQuery(const ParsedQuery& query, const twin::GraphState& state,
                           const QueryOptions& options, const Continuation* resume) {
  return Executor(query, state, options, resume).Run();
}

}  // namespace doppel::query
