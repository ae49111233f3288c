#include "auth/authenticator.h"

#include <algorithm>

namespace doppel::auth {
namespace {

constexpr std::string_view kApiKeyPrefix = "dpk_";

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// "Bearer <token>" (RFC 6750 §2.1; the scheme is case-insensitive, RFC 9110 §11.1) → the token.
Result<std::string_view> BearerToken(std::string_view authorization) {
  auto malformed = [] {
    return Status::Unauthenticated("malformed Authorization header (expected 'Bearer <token>')");
  };
  constexpr std::string_view kScheme = "bearer";
  std::string_view value = Trim(authorization);
  if (value.size() <= kScheme.size() || !IsSpace(value[kScheme.size()])) return malformed();
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if ((value[i] | 0x20) != kScheme[i]) return malformed();
  }
  std::string_view token = Trim(value.substr(kScheme.size()));
  // token68 characters only: no spaces inside, nothing unprintable.
  if (token.empty() ||
      std::any_of(token.begin(), token.end(), [](char c) { return c <= 0x20 || c >= 0x7F; })) {
    return malformed();
  }
  return token;
}

}  // namespace

bool Authenticator::Configured() const {
  return (options_.api_keys && options_.api_keys->HasKeys()) || options_.jwt;
}

Result<Principal> Authenticator::Authenticate(std::string_view authorization, TimePoint now,
                                              std::string_view token_param) const {
  std::string_view token = token_param;
  if (!authorization.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(token, BearerToken(authorization));
  }
  if (token.empty()) return Status::Unauthenticated("missing bearer token");
  if (token.starts_with(kApiKeyPrefix)) {
    // Without a key store no key is known, which is what the caller is told.
    if (!options_.api_keys) return Status::Unauthenticated("unknown API key");
    return options_.api_keys->Verify(token, now);
  }
  if (std::count(token.begin(), token.end(), '.') == 2) {
    if (!options_.jwt) {
      return Status::Unauthenticated("JWT bearer tokens are not accepted by this server");
    }
    return options_.jwt->Verify(token, now);
  }
  return Status::Unauthenticated(
      "unrecognised bearer token (expected an API key 'dpk_...' or a JWT)");
}

}  // namespace doppel::auth
