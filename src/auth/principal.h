// Who is calling and what they may be asked to do: the vocabulary shared by authentication
// (api_keys.h, jwt.h), authorisation (policy.h), the audit log and the server.
//
//   Principal p{.subject = "alice", .roles = {"operator"}, .method = AuthMethod::kJwt};
//   if (!authorizer.Allows(p, Action::kInvokeCommands, {.twin_id = "turbine-7"})) → 403
//
// Thread-safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace doppel::auth {

// The actions a policy grants. Each API route needs exactly one (server/api.cc's table).
enum class Action : uint8_t {
  kRead = 0,                 // twins, relationships, models, telemetry, history, streams
  kWriteProperties,          // create/patch/delete twins and relationships, set properties
  kIngest,                   // telemetry and line-protocol writes
  kInvokeCommands,           // DTDL commands, desired properties (setpoints)
  kApproveRecommendations,   // approve/reject what automation proposes
  kManageModels,             // upload/decommission/delete DTDL models
  kManageRules,              // rules, detectors, simulation bindings
  kAdmin,                    // API keys, policies, backup, audit log, erasure, connectors
  kCount_,                   // number of actions; not an action
};
inline constexpr std::size_t kActionCount = static_cast<std::size_t>(Action::kCount_);

// "read", "writeProperties", "ingest", "invokeCommands", "approveRecommendations",
// "manageModels", "manageRules", "admin" — the names used in configuration and JSON.
std::string_view ActionName(Action action);
std::optional<Action> ParseAction(std::string_view name);

enum class AuthMethod : uint8_t { kAnonymous, kApiKey, kJwt };
std::string_view AuthMethodName(AuthMethod method);  // "anonymous", "apiKey", "jwt"

struct Principal {
  std::string subject;               // API key id ("key:<id>") or the JWT "sub"; "anonymous"
  std::vector<std::string> roles;    // role names, resolved by the Authorizer
  AuthMethod method = AuthMethod::kAnonymous;
  std::vector<std::string> clearances;  // data classifications this caller may see unmasked
  // The anonymous development principal: every action, every twin (dev mode only).
  static Principal Anonymous();
};

// What an action is applied to. A twin-scoped action names the twin (and its model, which the
// caller fills when known, so model grants need no lookup); an empty twin_id means a
// server-wide action (list models, admin) that only an unscoped grant allows.
struct Resource {
  std::string_view twin_id = {};
  std::string_view model_id = {};
};

}  // namespace doppel::auth
