// Authentication: turns the bearer token of a request into a Principal.
//
//   ApiKeyStore keys = ApiKeyStore::Open(data_dir + "/auth/api-keys.json").value();
//   auto jwt = JwtVerifier::Create(jwt_config).value();       // jwt.h
//   Authenticator authn({.api_keys = &keys, .jwt = jwt.get()});
//   Result<Principal> p = authn.Authenticate(request.header("authorization"), clock.Now());
//
// Token forms (RFC 6750 "Authorization: Bearer <token>"):
//   - API keys: "dpk_<id>_<secret>" (api_keys.h);
//   - anything else with two dots: a JWS compact JWT (jwt.h).
// Errors are Unauthenticated with a message safe to show the caller (never the token):
// "missing bearer token", "malformed Authorization header (expected 'Bearer <token>')",
// "unknown API key", "API key 'k1' expired at 2026-01-01T00:00:00Z", "API key 'k1' was revoked",
// "JWT signature does not verify", "JWT expired at ...", "JWT issuer 'x' is not trusted", ...
//
// Thread-safety: Authenticate may be called from any number of threads.
#pragma once

#include <string_view>

#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "auth/principal.h"
#include "base/clock.h"
#include "base/status.h"

namespace doppel::auth {

struct AuthenticatorOptions {
  ApiKeyStore* api_keys = nullptr;  // null: API keys are not accepted
  const JwtVerifier* jwt = nullptr; // null: JWTs are not accepted
};

class Authenticator {
 public:
  explicit Authenticator(AuthenticatorOptions options) : options_(options) {}

  // True when at least one credential source is configured (API keys with at least one key
  // ever created count as configured; see ApiKeyStore::HasKeys) — dev mode is the opposite.
  bool Configured() const;

  // `authorization` is the raw header value ("" when absent); `token_param` is an
  // alternative token (WebSocket clients in browsers cannot set headers: ?access_token=...),
  // used only when the header is absent.
  Result<Principal> Authenticate(std::string_view authorization, TimePoint now,
                                 std::string_view token_param = {}) const;

 private:
  AuthenticatorOptions options_;
};

}  // namespace doppel::auth
