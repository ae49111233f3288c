// Authorisation: roles made of grants, each grant a set of actions on a set of twins — in the
// spirit of Eclipse Ditto's policies, evaluated in a few hash lookups so that the ingest hot
// path does not notice.
//
// Configuration (the "auth" object of the server config, docs/security.md):
//   "roles": {
//     "kestrel-operator": [
//       {"actions": ["read", "invokeCommands"], "scope": "kestrel-ridge"},
//       {"actions": ["read"], "twins": ["line-*", "press-7"]},
//       {"actions": ["read"], "models": ["dtmi:doppel:WindTurbine;1"]}
//     ]
//   }
// A grant with none of twins/models/scope applies to every twin and to server-wide actions;
// otherwise a twin is selected when it matches ANY of: an id pattern in "twins" ('*' matches
// any run of characters, nothing else is special), a model in "models" (the twin's model or
// one it extends, via the model registry), or "scope": the twin is the scope root or is
// reachable from it by following relationships from source to target (a site contains its
// turbines, a turbine its bearings; "scopeRelationships": ["contains"] limits the names
// followed; default all). Server-wide actions (empty Resource::twin_id) need an unscoped grant.
//
// Built-in roles (may not be redefined): viewer = read; operator = read, invokeCommands,
// approveRecommendations, writeProperties; engineer = operator + ingest, manageModels,
// manageRules; admin = everything. A principal holds the union of its roles' grants; an
// unknown role name grants nothing (and is logged once).
//
// Graph scope is kept current by the Authorizer: it subscribes to the graph's EventBus and
// recomputes the scope sets (a breadth-first walk per scope root, under the graph's shared
// lock) after relationship and twin changes, lazily on the next check. Checks read an
// immutable snapshot (shared_ptr, swapped atomically), so they never wait for a recompute.
//
// Thread-safety: Allows/VisibilityFor may be called from any number of threads.
#pragma once

#include <memory>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "auth/principal.h"
#include "base/json.h"
#include "base/status.h"
#include "twin/events.h"
#include "twin/twin_graph.h"
#include "twin/visibility.h"

namespace doppel::auth {

struct Grant {
  std::vector<Action> actions;
  std::vector<std::string> twins;   // id patterns with '*'
  std::vector<std::string> models;  // DTMIs (with inheritance)
  std::string scope;                // root twin id; "" = none
  std::vector<std::string> scope_relationships;  // names followed; empty = all
  bool unscoped() const { return twins.empty() && models.empty() && scope.empty(); }
};

struct PolicyConfig {
  std::map<std::string, std::vector<Grant>, std::less<>> roles;  // custom roles only
};

// Parses {"roles": {...}} as above. Strict: unknown keys and action names, empty action lists,
// a redefined built-in role, a pattern with characters a twin id cannot have — InvalidArgument
// naming the role and grant index ("auth.roles.kestrel-operator[1].actions[0]: unknown action
// 'fly' (known: read, ...)").
Result<PolicyConfig> ParsePolicyConfig(const json::value& config);

// True when `name` is a built-in or a configured role.
bool IsBuiltInRole(std::string_view name);

class Authorizer {
 public:
  // `graph` and `events` (the graph's bus) are needed for "models" and "scope" grants and
  // must outlive the Authorizer; null graph → only id-pattern and unscoped grants work
  // (tests of the pure logic).
  Authorizer(PolicyConfig config, const twin::TwinGraph* graph, twin::EventBus* events);
  ~Authorizer();

  // Does `principal` hold `action` on `resource`? The anonymous principal is allowed
  // everything (dev mode). When resource.model_id is empty and a model grant needs it, the
  // twin's model is looked up in the graph.
  bool Allows(const Principal& principal, Action action, const Resource& resource) const;

  // The read filter for queries/history/streams: null when the principal may read every twin
  // (admin, viewer, anonymous, any unscoped read grant), else a predicate capturing an
  // immutable snapshot of the principal's effective grants.
  twin::TwinFilter VisibilityFor(const Principal& principal) const;

  // The same for any action: null when `principal` holds `action` on every twin, else a
  // predicate over an immutable snapshot (one hash lookup per twin for id and scope grants).
  // For checking many twins in one request (an ingest batch) without a lookup per grant.
  twin::TwinFilter FilterFor(const Principal& principal, Action action) const;

  // Names of every role (built-in and configured), sorted.
  std::vector<std::string> RoleNames() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace doppel::auth
