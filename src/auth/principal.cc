#include "auth/principal.h"

namespace doppel::auth {
namespace {

constexpr std::array<std::string_view, kActionCount> kActionNames = {
    "read",         "writeProperties", "ingest", "invokeCommands", "approveRecommendations",
    "manageModels", "manageRules",     "admin"};

}  // namespace

std::string_view ActionName(Action action) { return kActionNames[static_cast<std::size_t>(action)]; }

std::optional<Action> ParseAction(std::string_view name) {
  for (std::size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

std::string_view AuthMethodName(AuthMethod method) {
  switch (method) {
    case AuthMethod::kApiKey: return "apiKey";
    case AuthMethod::kJwt: return "jwt";
    case AuthMethod::kAnonymous: break;
  }
  return "anonymous";
}

Principal Principal::Anonymous() {
  return Principal{.subject = "anonymous", .roles = {"admin"}, .method = AuthMethod::kAnonymous,
                   .clearances = {"*"}};
}

}  // namespace doppel::auth
