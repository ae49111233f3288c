// JWT bearer tokens from an identity provider (Keycloak, Entra ID, Auth0, ...): JWS compact
// serialisation, verified with OpenSSL — HS256 (shared secret), RS256 and ES256 (public keys
// as PEM files or a JWKS file, selected by "kid").
//
//   auto verifier = JwtVerifier::Create({.issuer = "https://idp.example/realms/plant",
//                                        .audience = "doppel", .jwks_file = "/etc/doppel/jwks.json"});
//   Result<Principal> p = verifier.value()->Verify(token, clock.Now());
//
// Checks, in order: three base64url parts; header JSON with an allowed "alg" (never "none";
// an HS256 token is refused when only public keys are configured, and RS/ES tokens when only
// a secret is — no algorithm confusion); the signature; "exp" (required), "nbf" and "iat"
// (optional) against now with `leeway`; "iss" equal to `issuer` when set; "aud" (string or
// array) containing `audience` when set. Roles come from the claim named `roles_claim`
// (default "roles"; a JSON array of strings, or a space-separated string; a dotted name such
// as "realm_access.roles" walks into objects); clearances from `clearances_claim`.
// Principal.subject is "sub" (required).
//
// Thread-safety: Verify is const and may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/principal.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::auth {

struct JwtConfig {
  std::string issuer;    // "" = not checked
  std::string audience;  // "" = not checked
  std::string hs256_secret;                   // "" = HS256 not accepted; at least 32 bytes
  std::vector<std::string> public_key_files;  // PEM (RSA or EC P-256) public keys, no kid
  std::string jwks_file;                      // RFC 7517 key set (kty RSA / EC P-256), by kid
  std::chrono::seconds leeway{60};            // clock skew allowed, at most 300 s
  std::string roles_claim = "roles";
  std::string clearances_claim = "clearances";
};

// Parses the "jwt" object of the server configuration: {"issuer", "audience", "hs256Secret",
// "publicKeyFiles", "jwksFile", "leewaySeconds", "rolesClaim", "clearancesClaim"}; strict
// (unknown keys refused, errors name the key).
Result<JwtConfig> ParseJwtConfig(const json::value& config);

class JwtVerifier {
 public:
  // Loads the keys. InvalidArgument: no key source, a secret under 32 bytes, leeway over
  // 300 s, unreadable or unsupported key files (the message names the file and the reason).
  static Result<std::unique_ptr<JwtVerifier>> Create(const JwtConfig& config);
  ~JwtVerifier();

  // Unauthenticated with the first failed check named ("JWT expired at 2026-..Z", "JWT
  // audience does not include 'doppel'", "JWT signature does not verify", "JWT alg 'none'
  // is not accepted", "JWT kid 'k9' is not in the key set", ...). Tokens over 16 KiB are
  // refused before decoding.
  Result<Principal> Verify(std::string_view token, TimePoint now) const;

 private:
  JwtVerifier();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace doppel::auth
