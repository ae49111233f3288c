#include "auth/policy.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "model/dtdl_parser.h"

namespace doppel::auth {
namespace {

// ---- actions as bits ----

using ActionMask = uint32_t;
static_assert(kActionCount <= 32, "ActionMask holds one bit per action");

constexpr ActionMask Bit(Action action) { return ActionMask{1} << static_cast<unsigned>(action); }
constexpr ActionMask kAllActions = (ActionMask{1} << kActionCount) - 1;

ActionMask MaskOf(const std::vector<Action>& actions) {
  ActionMask mask = 0;
  for (Action a : actions) mask |= Bit(a);
  return mask;
}

// ---- built-in roles ----

constexpr ActionMask kViewerActions = Bit(Action::kRead);
constexpr ActionMask kOperatorActions = kViewerActions | Bit(Action::kInvokeCommands) |
                                        Bit(Action::kApproveRecommendations) |
                                        Bit(Action::kWriteProperties);
constexpr ActionMask kEngineerActions = kOperatorActions | Bit(Action::kIngest) |
                                        Bit(Action::kManageModels) | Bit(Action::kManageRules);

struct BuiltInRole {
  std::string_view name;
  ActionMask actions;
};
constexpr std::array<BuiltInRole, 4> kBuiltInRoles = {{{"viewer", kViewerActions},
                                                       {"operator", kOperatorActions},
                                                       {"engineer", kEngineerActions},
                                                       {"admin", kAllActions}}};

// ---- configuration parsing ----

constexpr std::string_view kGrantKeys = "actions, twins, models, scope, scopeRelationships";

Status Invalid(std::string_view path, std::string_view message) {
  return Status::InvalidArgument(fmt::format("{}: {}", path, message));
}

std::string KnownActions() {
  std::string known;
  for (std::size_t i = 0; i < kActionCount; ++i) {
    if (i > 0) known += ", ";
    known += ActionName(static_cast<Action>(i));
  }
  return known;
}

// What TwinGraph accepts as an id (twin/internal CheckId): non-empty, at most 1024 bytes, no
// control characters. A pattern or a role name that breaks this could never match anything,
// so it is a configuration mistake worth reporting. Returns the problem, or "" if none.
std::string_view IdProblem(std::string_view id) {
  if (id.empty()) return "is empty";
  if (id.size() > 1024) return "is longer than 1024 bytes";
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return "contains a control character";
  }
  return "";
}

std::string_view DtmiProblem(std::string_view id) {
  return model::IsValidDtmi(id) ? "" : "is not a valid DTMI";
}

// A non-empty array of strings, each passing `check` (which returns its problem or "").
// An empty array is refused rather than read as "absent": for "twins" and "models" that
// would silently turn a scoped grant into an unscoped one.
template <typename Check>
Result<std::vector<std::string>> ParseStrings(const json::value& value, const std::string& path,
                                              Check check) {
  if (!value.is_array()) return Invalid(path, "expected an array of strings");
  const json::array& items = value.get_array();
  if (items.empty()) return Invalid(path, "must not be empty (omit it instead)");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string item_path = fmt::format("{}[{}]", path, i);
    if (!items[i].is_string()) return Invalid(item_path, "expected a string");
    std::string_view s = items[i].get_string();
    if (std::string_view problem = check(s); !problem.empty()) {
      return Invalid(item_path, fmt::format("'{}' {}", s, problem));
    }
    out.emplace_back(s);
  }
  return out;
}

Result<std::vector<Action>> ParseActions(const json::value& value, const std::string& path) {
  if (!value.is_array()) return Invalid(path, "expected an array of action names");
  const json::array& items = value.get_array();
  if (items.empty()) return Invalid(path, "must name at least one action");
  std::vector<Action> actions;
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string item_path = fmt::format("{}[{}]", path, i);
    if (!items[i].is_string()) return Invalid(item_path, "expected an action name");
    std::string_view name = items[i].get_string();
    std::optional<Action> action = ParseAction(name);
    if (!action) {
      return Invalid(item_path,
                     fmt::format("unknown action '{}' (known: {})", name, KnownActions()));
    }
    if (std::find(actions.begin(), actions.end(), *action) == actions.end()) {
      actions.push_back(*action);
    }
  }
  return actions;
}

Status ParseGrantMember(std::string_view key, const json::value& value, const std::string& path,
                        Grant& grant) {
  std::string member_path = fmt::format("{}.{}", path, key);
  if (key == "actions") {
    DOPPEL_ASSIGN_OR_RETURN(grant.actions, ParseActions(value, member_path));
  } else if (key == "twins") {
    DOPPEL_ASSIGN_OR_RETURN(grant.twins, ParseStrings(value, member_path, IdProblem));
  } else if (key == "models") {
    DOPPEL_ASSIGN_OR_RETURN(grant.models, ParseStrings(value, member_path, DtmiProblem));
  } else if (key == "scope") {
    if (!value.is_string()) return Invalid(member_path, "expected the id of the scope's root twin");
    grant.scope = value.get_string();
    if (std::string_view problem = IdProblem(grant.scope); !problem.empty()) {
      return Invalid(member_path, fmt::format("'{}' {}", grant.scope, problem));
    }
  } else if (key == "scopeRelationships") {
    DOPPEL_ASSIGN_OR_RETURN(grant.scope_relationships, ParseStrings(value, member_path, IdProblem));
  } else {
    return Invalid(path, fmt::format("unknown key '{}' (known: {})", key, kGrantKeys));
  }
  return Status::Ok();
}

Result<Grant> ParseGrant(const json::value& value, const std::string& path) {
  if (!value.is_object()) return Invalid(path, "expected a grant object");
  Grant grant;
  for (const auto& [key, member] : value.get_object()) {
    DOPPEL_RETURN_IF_ERROR(ParseGrantMember(key, member, path, grant));
  }
  if (!value.get_object().contains("actions")) return Invalid(path, "missing 'actions'");
  if (!grant.scope_relationships.empty() && grant.scope.empty()) {
    return Invalid(path + ".scopeRelationships", "needs a 'scope'");
  }
  return grant;
}

Result<std::vector<Grant>> ParseRole(std::string_view name, const json::value& value) {
  std::string path = fmt::format("auth.roles.{}", name);
  if (IsBuiltInRole(name)) {
    return Invalid(path, fmt::format("'{}' is a built-in role and cannot be redefined", name));
  }
  if (std::string_view problem = IdProblem(name); !problem.empty()) {
    return Invalid("auth.roles", fmt::format("role name '{}' {}", name, problem));
  }
  if (!value.is_array()) return Invalid(path, "expected an array of grants");
  const json::array& items = value.get_array();
  if (items.empty()) return Invalid(path, "a role needs at least one grant");
  std::vector<Grant> grants;
  for (std::size_t i = 0; i < items.size(); ++i) {
    DOPPEL_ASSIGN_OR_RETURN(Grant grant, ParseGrant(items[i], fmt::format("{}[{}]", path, i)));
    grants.push_back(std::move(grant));
  }
  return grants;
}

// ---- compiled grants ----

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// An id pattern with at least one '*', split at the stars: "a*b*c" is prefix "a", infix "b",
// suffix "c". Matching is a prefix test, a suffix test and a left-to-right search for each
// infix between them; leftmost placement of each infix is optimal, so no backtracking.
class WildcardPattern {
 public:
  explicit WildcardPattern(std::string_view pattern) {
    std::size_t first = pattern.find('*');
    std::size_t last = pattern.rfind('*');
    prefix_ = pattern.substr(0, first);
    suffix_ = pattern.substr(last + 1);
    std::string_view middle = pattern.substr(first + 1, last - first);  // may be empty
    while (!middle.empty()) {
      std::size_t star = middle.find('*');
      if (star > 0) infixes_.emplace_back(middle.substr(0, star));
      middle.remove_prefix(star == std::string_view::npos ? middle.size() : star + 1);
    }
    min_size_ = prefix_.size() + suffix_.size();
    for (const std::string& infix : infixes_) min_size_ += infix.size();
  }

  bool MatchesAll() const { return min_size_ == 0; }

  bool Matches(std::string_view id) const {
    if (id.size() < min_size_ || !id.starts_with(prefix_) || !id.ends_with(suffix_)) return false;
    std::string_view middle =
        id.substr(prefix_.size(), id.size() - prefix_.size() - suffix_.size());
    for (const std::string& infix : infixes_) {
      std::size_t at = middle.find(infix);
      if (at == std::string_view::npos) return false;
      middle.remove_prefix(at + infix.size());
    }
    return true;
  }

 private:
  std::string prefix_;
  std::string suffix_;
  std::vector<std::string> infixes_;
  std::size_t min_size_ = 0;
};

// A grant in the form checks use. Model and scope grants refer to slots of the GraphView,
// which holds what depends on the graph (model inheritance, reachability).
struct CompiledGrant {
  ActionMask actions = 0;
  bool every_twin = false;   // unscoped, or a "*" pattern: selects every twin
  bool server_wide = false;  // unscoped: also covers actions with no twin
  StringSet exact_ids;
  std::vector<WildcardPattern> patterns;
  int model_slot = -1;  // -1: no "models"
  int scope_slot = -1;  // -1: no "scope"
};
using CompiledRole = std::vector<CompiledGrant>;

// What the graph decides, recomputed after changes. Immutable once published.
struct GraphView {
  uint64_t generation = 0;            // the change count it reflects
  std::vector<StringSet> model_sets;  // per slot: the granted models and all that extend them
  std::vector<StringSet> scope_sets;  // per slot: the root and every twin reachable from it
};

struct ScopeSpec {
  std::string root;
  std::vector<std::string> relationships;  // sorted, unique; empty = every name
  bool operator==(const ScopeSpec&) const = default;
};

// The union of a principal's roles, shared by every principal holding the same role set.
struct RoleSetGrants {
  ActionMask server_wide = 0;  // from unscoped grants
  ActionMask every_twin = 0;   // from unscoped and "*" grants
  ActionMask selective = 0;    // union of the remaining grants' actions: a quick reject
  ActionMask by_pattern = 0;   // actions some wildcard-pattern grant holds
  ActionMask by_model = 0;     // actions some model grant holds
  std::vector<std::shared_ptr<const CompiledRole>> roles;  // keeps `grants` alive
  std::vector<const CompiledGrant*> grants;                // the selective ones

  // Per action: the exact ids and scope members of the grants holding it, merged into one set
  // for the GraphView generation it was built from — one hash lookup per check instead of one
  // per grant (a role scoped to ten sites would otherwise hash every id ten times).
  struct MergedIds {
    uint64_t generation = 0;
    std::shared_ptr<const StringSet> ids;
  };
  mutable std::mutex merged_mu;  // guards merged
  mutable std::array<MergedIds, kActionCount> merged;
  std::shared_ptr<const StringSet> IdsFor(Action action, const GraphView& view) const;
};

std::shared_ptr<const StringSet> RoleSetGrants::IdsFor(Action action, const GraphView& view) const {
  MergedIds& slot = merged[static_cast<std::size_t>(action)];
  std::lock_guard lock(merged_mu);
  if (slot.ids && slot.generation == view.generation) return slot.ids;
  auto ids = std::make_shared<StringSet>();
  for (const CompiledGrant* grant : grants) {
    if (!(grant->actions & Bit(action))) continue;
    ids->insert(grant->exact_ids.begin(), grant->exact_ids.end());
    if (grant->scope_slot >= 0) {
      const StringSet& scope = view.scope_sets[grant->scope_slot];
      ids->insert(scope.begin(), scope.end());
    }
  }
  slot = {view.generation, std::move(ids)};
  return slot.ids;
}

// `action` on a twin by id: the merged exact and scope ids, then the wildcard patterns.
bool SelectsById(const RoleSetGrants& set, Action action, const StringSet& merged, std::string_view twin_id) {
  if (!merged.empty() && merged.contains(twin_id)) return true;
  if (!(set.by_pattern & Bit(action))) return false;
  for (const CompiledGrant* grant : set.grants) {
    if (!(grant->actions & Bit(action))) continue;
    for (const WildcardPattern& p : grant->patterns) {
      if (p.Matches(twin_id)) return true;
    }
  }
  return false;
}

bool SelectsByModel(const CompiledGrant& grant, std::string_view model_id, const GraphView& view) {
  return grant.model_slot >= 0 && view.model_sets[grant.model_slot].contains(model_id);
}

// The decision of an action filter (VisibilityFor, FilterFor): like Allows, but with the model
// the caller gives (a filter may run under the graph's lock, so it cannot look one up).
bool Can(const RoleSetGrants& set, const GraphView& view, const StringSet& merged, Action action,
         std::string_view twin_id, std::string_view model_id) {
  if (SelectsById(set, action, merged, twin_id)) return true;
  if (model_id.empty() || !(set.by_model & Bit(action))) return false;
  for (const CompiledGrant* grant : set.grants) {
    if ((grant->actions & Bit(action)) && SelectsByModel(*grant, model_id, view)) return true;
  }
  return false;
}

// The cache key of a list of several roles: in any order and with repeats they name the same
// set; the length prefixes keep two different lists from meeting at one key ("a,b" as one
// role vs "a" and "b"). One-role lists, the common case, are keyed by the name itself in a
// map of their own, so their checks build no key at all.
std::string RoleListKey(const std::vector<std::string>& roles) {
  std::vector<std::string_view> sorted(roles.begin(), roles.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string key;
  for (std::string_view role : sorted) {
    key += std::to_string(role.size());
    key += ':';
    key += role;
  }
  return key;
}

bool IsAnonymous(const Principal& principal) {
  // Both fields, so that a default-constructed Principal (method kAnonymous, no subject) that
  // some code path forgot to fill is refused rather than handed everything.
  return principal.method == AuthMethod::kAnonymous && principal.subject == "anonymous";
}

// Bounds on what unauthenticated-looking input can make us remember: role sets seen (a
// signed token chooses its roles) and unknown role names already warned about.
constexpr std::size_t kMaxCachedRoleSets = 4096;
constexpr std::size_t kMaxWarnedRoles = 1024;

}  // namespace

// ---- public free functions ----

bool IsBuiltInRole(std::string_view name) {
  return std::any_of(kBuiltInRoles.begin(), kBuiltInRoles.end(),
                     [&](const BuiltInRole& r) { return r.name == name; });
}

Result<PolicyConfig> ParsePolicyConfig(const json::value& config) {
  if (!config.is_object()) return Invalid("auth", "expected an object");
  PolicyConfig policy;
  for (const auto& [key, value] : config.get_object()) {
    if (key != "roles") return Invalid("auth", fmt::format("unknown key '{}' (known: roles)", key));
    if (!value.is_object()) {
      return Invalid("auth.roles", "expected an object mapping role names to arrays of grants");
    }
    for (const auto& [name, grants] : value.get_object()) {
      DOPPEL_ASSIGN_OR_RETURN(std::vector<Grant> parsed, ParseRole(name, grants));
      policy.roles.emplace(std::string(name), std::move(parsed));
    }
  }
  return policy;
}

// ---- the Authorizer ----

struct Authorizer::State {
  // Immutable after construction.
  const twin::TwinGraph* graph = nullptr;
  twin::EventBus* events = nullptr;
  twin::EventBus::SubscriptionId subscription = 0;
  StringMap<std::shared_ptr<const CompiledRole>> roles;  // built-in and configured
  std::vector<std::vector<std::string>> model_specs;     // per model slot, sorted
  std::vector<ScopeSpec> scope_specs;                    // per scope slot

  // Bumped by the event handler when the graph changes in a way the view depends on.
  std::atomic<uint64_t> generation{0};
  // A mutex rather than std::atomic<std::shared_ptr>: GCC 12's atomic load unlocks with
  // relaxed ordering (a data race ThreadSanitizer reports), and the critical section here is
  // one pointer copy.
  mutable std::mutex view_mu;  // guards view
  std::shared_ptr<const GraphView> view;
  std::mutex refresh_mu;  // one recompute at a time; taken before view_mu, never after

  mutable std::shared_mutex cache_mu;                              // guards the two maps below
  StringMap<std::shared_ptr<const RoleSetGrants>> one_role_sets;   // by role name
  StringMap<std::shared_ptr<const RoleSetGrants>> role_list_sets;  // by RoleListKey

  std::mutex warned_mu;  // guards warned
  std::set<std::string, std::less<>> warned;

  int ModelSlot(std::vector<std::string> models);
  int ScopeSlot(const Grant& grant);
  CompiledGrant Compile(const Grant& grant);
  void OnEvent(const twin::GraphEvent& event);
  std::shared_ptr<const GraphView> BuildView(uint64_t generation_seen) const;
  std::shared_ptr<const GraphView> LoadView() const;
  void StoreView(std::shared_ptr<const GraphView> fresh);
  std::shared_ptr<const GraphView> CurrentView();
  // The cached set for `names`, or null. Entries are never evicted, so the pointer stays
  // valid for the Authorizer's lifetime.
  const RoleSetGrants* FindRoleSet(const std::vector<std::string>& names) const;
  std::shared_ptr<const RoleSetGrants> MakeRoleSet(const std::vector<std::string>& names);
  // The cached set for `names`, made and cached on a miss.
  std::shared_ptr<const RoleSetGrants> RoleSet(const std::vector<std::string>& names);
  void WarnUnknownRole(std::string_view name);
};

int Authorizer::State::ModelSlot(std::vector<std::string> models) {
  std::sort(models.begin(), models.end());
  models.erase(std::unique(models.begin(), models.end()), models.end());
  auto it = std::find(model_specs.begin(), model_specs.end(), models);
  if (it != model_specs.end()) return static_cast<int>(it - model_specs.begin());
  model_specs.push_back(std::move(models));
  return static_cast<int>(model_specs.size() - 1);
}

int Authorizer::State::ScopeSlot(const Grant& grant) {
  ScopeSpec spec{grant.scope, grant.scope_relationships};
  std::sort(spec.relationships.begin(), spec.relationships.end());
  spec.relationships.erase(std::unique(spec.relationships.begin(), spec.relationships.end()),
                           spec.relationships.end());
  auto it = std::find(scope_specs.begin(), scope_specs.end(), spec);
  if (it != scope_specs.end()) return static_cast<int>(it - scope_specs.begin());
  scope_specs.push_back(std::move(spec));
  return static_cast<int>(scope_specs.size() - 1);
}

CompiledGrant Authorizer::State::Compile(const Grant& grant) {
  CompiledGrant out;
  out.actions = MaskOf(grant.actions);
  out.server_wide = out.every_twin = grant.unscoped();
  for (const std::string& pattern : grant.twins) {
    if (pattern.find('*') == std::string::npos) {
      out.exact_ids.insert(pattern);
      continue;
    }
    WildcardPattern compiled(pattern);
    if (compiled.MatchesAll()) out.every_twin = true;
    out.patterns.push_back(std::move(compiled));
  }
  if (!grant.models.empty()) out.model_slot = ModelSlot(grant.models);
  if (!grant.scope.empty()) out.scope_slot = ScopeSlot(grant);
  return out;
}

void Authorizer::State::OnEvent(const twin::GraphEvent& event) {
  // Runs on the writer's thread under the graph's write lock: only note the change. Twin
  // updates (the ingest stream) touch neither reachability nor inheritance; a relationship
  // update may (a PUT can replace $targetId or $relationshipName).
  bool affects_scope = false;
  bool affects_models = false;
  switch (event.type) {
    case twin::EventType::kTwinCreated:
    case twin::EventType::kTwinDeleted:
    case twin::EventType::kRelationshipCreated:
    case twin::EventType::kRelationshipUpdated:
    case twin::EventType::kRelationshipDeleted:
      affects_scope = true;
      break;
    case twin::EventType::kModelsCreated:
    case twin::EventType::kModelDeleted:
      affects_models = true;
      break;
    case twin::EventType::kTwinUpdated:
    case twin::EventType::kModelUpdated:
      break;
  }
  if ((affects_scope && !scope_specs.empty()) || (affects_models && !model_specs.empty())) {
    generation.fetch_add(1, std::memory_order_acq_rel);
  }
}

std::shared_ptr<const GraphView> Authorizer::State::BuildView(uint64_t generation_seen) const {
  auto view_out = std::make_shared<GraphView>();
  view_out->generation = generation_seen;
  view_out->model_sets.resize(model_specs.size());
  view_out->scope_sets.resize(scope_specs.size());
  for (std::size_t i = 0; i < model_specs.size(); ++i) {
    view_out->model_sets[i].insert(model_specs[i].begin(), model_specs[i].end());
  }
  for (std::size_t i = 0; i < scope_specs.size(); ++i) {
    view_out->scope_sets[i].insert(scope_specs[i].root);
  }
  if (graph == nullptr) return view_out;
  graph->Read([&](const twin::GraphState& state) {
    for (std::size_t i = 0; i < model_specs.size(); ++i) {
      for (const auto& [id, entry] : state.models().entries()) {
        for (const std::string& base : model_specs[i]) {
          if (state.models().IsOfModel(id, base)) view_out->model_sets[i].insert(id);
        }
      }
    }
    // Breadth-first from each root; the visited set makes cycles terminate.
    for (std::size_t i = 0; i < scope_specs.size(); ++i) {
      const std::vector<std::string>& names = scope_specs[i].relationships;
      StringSet& reached = view_out->scope_sets[i];
      std::deque<std::string_view> frontier = {scope_specs[i].root};
      while (!frontier.empty()) {
        const auto* outgoing = state.Outgoing(frontier.front());
        frontier.pop_front();
        if (outgoing == nullptr) continue;
        for (const auto& [rel_id, rel] : *outgoing) {
          if (!names.empty() && !std::binary_search(names.begin(), names.end(), rel.name)) {
            continue;
          }
          if (reached.insert(rel.target_id).second) frontier.push_back(rel.target_id);
        }
      }
    }
  });
  return view_out;
}

std::shared_ptr<const GraphView> Authorizer::State::LoadView() const {
  std::lock_guard lock(view_mu);
  return view;
}

void Authorizer::State::StoreView(std::shared_ptr<const GraphView> fresh) {
  std::lock_guard lock(view_mu);
  view.swap(fresh);  // the old view is released outside the lock, when `fresh` goes
}

std::shared_ptr<const GraphView> Authorizer::State::CurrentView() {
  std::shared_ptr<const GraphView> current = LoadView();
  if (current->generation == generation.load(std::memory_order_acquire)) return current;
  // Stale: the graph changed since this view was built. Answering from it would let a revoked
  // scope (a deleted relationship) keep working for requests made after the DELETE returned,
  // so a stale check waits for a fresh view. Only checks right after a scope-relevant change
  // ever wait, and one walk serves all of them; checks on a fresh view never take this lock.
  std::lock_guard lock(refresh_mu);
  current = LoadView();
  // Read the count before walking the graph: a change during the walk leaves the new view
  // marked stale, so the next check walks again.
  uint64_t seen = generation.load(std::memory_order_acquire);
  if (current->generation == seen) return current;
  std::shared_ptr<const GraphView> fresh = BuildView(seen);
  StoreView(fresh);
  return fresh;
}

const RoleSetGrants* Authorizer::State::FindRoleSet(const std::vector<std::string>& names) const {
  if (names.size() == 1) {
    std::shared_lock lock(cache_mu);
    auto it = one_role_sets.find(names[0]);
    return it == one_role_sets.end() ? nullptr : it->second.get();
  }
  std::string key = RoleListKey(names);
  std::shared_lock lock(cache_mu);
  auto it = role_list_sets.find(key);
  return it == role_list_sets.end() ? nullptr : it->second.get();
}

std::shared_ptr<const RoleSetGrants> Authorizer::State::MakeRoleSet(
    const std::vector<std::string>& names) {
  auto set = std::make_shared<RoleSetGrants>();
  for (const std::string& name : names) {
    auto it = roles.find(name);
    if (it == roles.end()) {
      WarnUnknownRole(name);
      continue;
    }
    if (std::find(set->roles.begin(), set->roles.end(), it->second) != set->roles.end()) continue;
    set->roles.push_back(it->second);
    for (const CompiledGrant& grant : *it->second) {
      if (grant.server_wide) set->server_wide |= grant.actions;
      if (grant.every_twin) {
        set->every_twin |= grant.actions;
      } else {
        set->selective |= grant.actions;
        if (!grant.patterns.empty()) set->by_pattern |= grant.actions;
        if (grant.model_slot >= 0) set->by_model |= grant.actions;
        set->grants.push_back(&grant);
      }
    }
  }
  return set;
}

std::shared_ptr<const RoleSetGrants> Authorizer::State::RoleSet(
    const std::vector<std::string>& names) {
  auto& sets = names.size() == 1 ? one_role_sets : role_list_sets;
  std::string key = names.size() == 1 ? names[0] : RoleListKey(names);
  {
    std::shared_lock lock(cache_mu);
    auto it = sets.find(key);
    if (it != sets.end()) return it->second;
  }
  std::shared_ptr<const RoleSetGrants> set = MakeRoleSet(names);
  std::unique_lock lock(cache_mu);
  if (one_role_sets.size() + role_list_sets.size() >= kMaxCachedRoleSets) return set;
  return sets.emplace(std::move(key), std::move(set)).first->second;
}

void Authorizer::State::WarnUnknownRole(std::string_view name) {
  std::lock_guard lock(warned_mu);
  if (warned.size() >= kMaxWarnedRoles || warned.contains(name)) return;
  warned.emplace(name);
  spdlog::warn("auth: unknown role {:?} grants nothing", name);  // escaped: names come from tokens
}

Authorizer::Authorizer(PolicyConfig config, const twin::TwinGraph* graph, twin::EventBus* events)
    : state_(std::make_unique<State>()) {
  state_->graph = graph;
  state_->events = events;
  for (const BuiltInRole& role : kBuiltInRoles) {
    CompiledGrant grant;
    grant.actions = role.actions;
    grant.every_twin = grant.server_wide = true;
    state_->roles.emplace(std::string(role.name),
                          std::make_shared<const CompiledRole>(CompiledRole{std::move(grant)}));
  }
  for (const auto& [name, grants] : config.roles) {
    CompiledRole compiled;
    for (const Grant& grant : grants) compiled.push_back(state_->Compile(grant));
    state_->roles.emplace(name, std::make_shared<const CompiledRole>(std::move(compiled)));
  }
  state_->StoreView(state_->BuildView(0));
  bool graph_dependent = !state_->model_specs.empty() || !state_->scope_specs.empty();
  if (events != nullptr && graph_dependent) {
    State* state = state_.get();
    state_->subscription =
        events->Subscribe([state](const twin::GraphEvent& event) { state->OnEvent(event); });
  }
}

Authorizer::~Authorizer() {
  // After Unsubscribe returns no handler is running (the bus holds its lock while publishing).
  if (state_->subscription != 0) state_->events->Unsubscribe(state_->subscription);
}

bool Authorizer::Allows(const Principal& principal, Action action, const Resource& resource) const {
  if (IsAnonymous(principal)) return true;
  std::shared_ptr<const RoleSetGrants> owned;
  const RoleSetGrants* set = state_->FindRoleSet(principal.roles);
  if (set == nullptr) {
    owned = state_->RoleSet(principal.roles);
    set = owned.get();
  }
  const ActionMask bit = Bit(action);
  if (set->server_wide & bit) return true;
  if (resource.twin_id.empty()) return false;
  if (set->every_twin & bit) return true;
  if (!(set->selective & bit)) return false;

  std::shared_ptr<const GraphView> view = state_->CurrentView();
  if (SelectsById(*set, action, *set->IdsFor(action, *view), resource.twin_id)) return true;
  if (!(set->by_model & bit)) return false;
  // Only now, and only without a model from the caller, pay for a look-up under the graph's
  // shared lock.
  std::string looked_up;
  std::string_view model_id = resource.model_id;
  if (model_id.empty() && state_->graph != nullptr) {
    looked_up = state_->graph->Read([&](const twin::GraphState& s) {
      const twin::Twin* twin = s.FindTwin(resource.twin_id);
      return twin == nullptr ? std::string() : twin->model_id;
    });
    model_id = looked_up;
  }
  if (model_id.empty()) return false;
  for (const CompiledGrant* grant : set->grants) {
    if ((grant->actions & bit) && SelectsByModel(*grant, model_id, *view)) return true;
  }
  return false;
}

twin::TwinFilter Authorizer::VisibilityFor(const Principal& principal) const {
  return FilterFor(principal, Action::kRead);
}

twin::TwinFilter Authorizer::FilterFor(const Principal& principal, Action action) const {
  if (IsAnonymous(principal)) return nullptr;
  std::shared_ptr<const RoleSetGrants> set = state_->RoleSet(principal.roles);
  if (set->every_twin & Bit(action)) return nullptr;
  if (!(set->selective & Bit(action))) {
    return [](std::string_view, std::string_view) { return false; };
  }
  // Shared pointers, not references: the filter stays valid after the Authorizer is gone and
  // never touches the Authorizer or the graph (it may run under the graph's lock).
  std::shared_ptr<const GraphView> view = state_->CurrentView();
  std::shared_ptr<const StringSet> merged = set->IdsFor(action, *view);
  return [set, view, merged, action](std::string_view twin_id, std::string_view model_id) {
    return Can(*set, *view, *merged, action, twin_id, model_id);
  };
}

std::vector<std::string> Authorizer::RoleNames() const {
  std::vector<std::string> names;
  names.reserve(state_->roles.size());
  for (const auto& [name, role] : state_->roles) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace doppel::auth
