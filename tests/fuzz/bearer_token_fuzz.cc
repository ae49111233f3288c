// Fuzzes bearer-token authentication (auth/authenticator.h, api_keys.h, jwt.h) against fixed
// credentials made once at start: an HS256 secret, an RSA-2048 and an EC P-256 key pair (fresh
// from OpenSSL, public halves loaded from PEM files), and an in-memory API key store with one
// live and one revoked key.
//
// Two input forms:
//   "<Authorization header>[\n<access_token parameter>]"  — the markers $H $R $E (our minted
//       HS256/RS256/ES256 JWTs), $K (the live API key) and $V (the revoked one) are replaced by
//       the tokens, so mutations start from valid credentials. Invariant: a token is accepted
//       only if it IS one we minted (byte for byte, never the revoked key), with that token's
//       principal; JwtVerifier::Verify and ApiKeyStore::Verify on the raw text likewise; every
//       refusal is Unauthenticated.
//   "S<k><JOSE header JSON>\n<claims JSON>"  — the harness signs it with HS256, using the real
//       secret (k even) or the RSA public key's PEM text (k odd, the algorithm-confusion
//       attack), so the claim checks behind the signature are reached. Invariant: accepted only
//       with the real secret, alg HS256, no "crit", sub = the principal's subject, exp not past
//       (with leeway), the configured iss and aud; a verifier with public keys only never
//       accepts it; Authenticate("Bearer " + token) agrees with Verify.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/api_keys.h"
#include "auth/authenticator.h"
#include "auth/jwt.h"
#include "base/json.h"
#include "fuzz_util.h"

namespace {

using doppel::Status;
using doppel::StatusCode;
using doppel::TimePoint;
namespace auth = doppel::auth;

const TimePoint kNow{std::chrono::seconds(1'800'000'000)};
constexpr std::string_view kIssuer = "https://idp.fuzz/realms/plant";
constexpr std::string_view kAudience = "doppel";
constexpr std::string_view kSecret = "fuzz-hs256-secret-0123456789abcdef";  // 34 bytes

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<uint8_t>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  FUZZ_CHECK(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                  reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &size) != nullptr,
             "HMAC");
  return std::string(reinterpret_cast<char*>(mac), size);
}

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string Sign(EVP_PKEY* key, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  FUZZ_CHECK(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1, "sign init");
  std::size_t size = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  FUZZ_CHECK(EVP_DigestSign(ctx.get(), nullptr, &size, in, data.size()) == 1, "sign size");
  std::string sig(size, '\0');
  FUZZ_CHECK(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, in, data.size()) == 1,
             "sign");
  sig.resize(size);
  return sig;
}

// DER ECDSA-Sig-Value → the JWS form, r and s as 32 bytes each.
std::string RawEcdsa(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())),
                                                             ECDSA_SIG_free);
  FUZZ_CHECK(sig != nullptr, "ECDSA DER");
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  FUZZ_CHECK(BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, 32) == 32 &&
                 BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + 32, 32) == 32,
             "ECDSA r/s");
  return raw;
}

std::string PublicPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  FUZZ_CHECK(PEM_write_bio_PUBKEY(bio.get(), key) == 1, "PEM");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string WriteTemp(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string Jws(std::string_view header, std::string_view claims) {
  return Base64Url(header) + "." + Base64Url(claims);
}

struct Minted {
  std::string marker;  // "$H", ...
  std::string token;
  auth::Principal principal;
};

struct Fixture {
  std::unique_ptr<auth::JwtVerifier> jwt;       // HS256 secret + RSA + EC public keys
  std::unique_ptr<auth::JwtVerifier> jwt_pub;   // RSA + EC public keys only
  std::unique_ptr<auth::ApiKeyStore> keys;
  std::unique_ptr<auth::Authenticator> authn;
  std::string rsa_pem;
  std::vector<Minted> minted;  // live credentials
  std::string revoked;         // a revoked API key's token
};

auth::Principal JwtPrincipal(std::string subject, std::vector<std::string> roles,
                             std::vector<std::string> clearances) {
  return auth::Principal{.subject = std::move(subject), .roles = std::move(roles),
                         .method = auth::AuthMethod::kJwt, .clearances = std::move(clearances)};
}

Fixture* MakeFixture() {
  auto* f = new Fixture;
  PKey rsa(EVP_RSA_gen(2048), EVP_PKEY_free);
  PKey ec(EVP_EC_gen("P-256"), EVP_PKEY_free);
  FUZZ_CHECK(rsa && ec, "key generation");
  f->rsa_pem = PublicPem(rsa.get());

  char dir_template[] = "/tmp/doppel-bearer-fuzz-XXXXXX";
  FUZZ_CHECK(mkdtemp(dir_template) != nullptr, "mkdtemp");
  const std::string dir = dir_template;
  const std::string rsa_file = WriteTemp(dir, "rsa.pem", f->rsa_pem);
  const std::string ec_file = WriteTemp(dir, "ec.pem", PublicPem(ec.get()));
  auth::JwtConfig config;
  config.issuer = kIssuer;
  config.audience = kAudience;
  config.hs256_secret = kSecret;
  config.public_key_files = {rsa_file, ec_file};
  auto jwt = auth::JwtVerifier::Create(config);
  FUZZ_CHECK(jwt.ok(), jwt.status().ToString());
  f->jwt = std::move(*jwt);
  config.hs256_secret.clear();
  auto jwt_pub = auth::JwtVerifier::Create(config);
  FUZZ_CHECK(jwt_pub.ok(), jwt_pub.status().ToString());
  f->jwt_pub = std::move(*jwt_pub);
  std::remove(rsa_file.c_str());
  std::remove(ec_file.c_str());
  rmdir(dir.c_str());

  // exp 2100-01-01; fixed header and claims, so the HS256 and RS256 tokens are the same every
  // run (the ES256 one is not: ECDSA signatures are randomised).
  const std::string hs = Jws(R"({"alg":"HS256","typ":"JWT"})",
                             R"({"sub":"alice","iss":"https://idp.fuzz/realms/plant","aud":"doppel",)"
                             R"("exp":4102444800,"roles":["engineer"],"clearances":["pii"]})");
  f->minted.push_back({"$H", hs + "." + Base64Url(HmacSha256(kSecret, hs)),
                       JwtPrincipal("alice", {"engineer"}, {"pii"})});
  const std::string rs = Jws(R"({"alg":"RS256","typ":"JWT"})",
                             R"({"sub":"bob","iss":"https://idp.fuzz/realms/plant","aud":["x","doppel"],)"
                             R"("exp":4102444800,"nbf":1700000000,"roles":"operator viewer"})");
  f->minted.push_back({"$R", rs + "." + Base64Url(Sign(rsa.get(), rs)), JwtPrincipal("bob", {"operator", "viewer"}, {})});
  const std::string es = Jws(R"({"alg":"ES256"})",
                             R"({"sub":"carol","iss":"https://idp.fuzz/realms/plant","aud":"doppel",)"
                             R"("exp":4102444800.5,"iat":1799999999,"roles":[]})");
  f->minted.push_back({"$E", es + "." + Base64Url(RawEcdsa(Sign(ec.get(), es))), JwtPrincipal("carol", {}, {})});

  f->keys = auth::ApiKeyStore::InMemory();
  auto live = f->keys->Create({.name = "historian", .roles = {"engineer", "viewer"},
                               .expires = kNow + std::chrono::hours(1), .clearances = {"pii"}},
                              kNow - std::chrono::hours(1));
  FUZZ_CHECK(live.ok(), live.status().ToString());
  f->minted.push_back({"$K", live->token,
                       auth::Principal{.subject = "key:" + live->info.id, .roles = {"engineer", "viewer"},
                                       .method = auth::AuthMethod::kApiKey, .clearances = {"pii"}}});
  auto revoked = f->keys->Create({.name = "old", .roles = {"admin"}}, kNow - std::chrono::hours(2));
  FUZZ_CHECK(revoked.ok(), revoked.status().ToString());
  FUZZ_CHECK(f->keys->Revoke(revoked->info.id, kNow - std::chrono::hours(1)).ok(), "revoke");
  f->revoked = revoked->token;
  f->authn = std::make_unique<auth::Authenticator>(auth::AuthenticatorOptions{.api_keys = f->keys.get(), .jwt = f->jwt.get()});
  return f;
}

Fixture& F() {
  static Fixture* fixture = MakeFixture();
  return *fixture;
}

std::string Expand(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size()) {
      const char m = text[i + 1];
      bool replaced = false;
      for (const Minted& minted : F().minted) {
        if (minted.marker[1] == m) {
          out += minted.token;
          replaced = true;
        }
      }
      if (m == 'V') {
        out += F().revoked;
        replaced = true;
      }
      if (replaced) {
        ++i;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

void CheckSamePrincipal(const auth::Principal& got, const auth::Principal& want) {
  FUZZ_CHECK(got.subject == want.subject, got.subject);
  FUZZ_CHECK(got.roles == want.roles, got.subject);
  FUZZ_CHECK(got.clearances == want.clearances, got.subject);
  FUZZ_CHECK(got.method == want.method, got.subject);
}

// An accepted token must be one of ours; then the principal is that token's.
void CheckAccepted(std::string_view token, const doppel::Result<auth::Principal>& result) {
  if (!result.ok()) {
    FUZZ_CHECK(result.status().code() == StatusCode::kUnauthenticated, result.status().ToString());
    FUZZ_CHECK(result.status().message().find(F().revoked) == std::string::npos, "token in an error message");
    for (const Minted& m : F().minted) {
      FUZZ_CHECK(result.status().message().find(m.token) == std::string::npos, "token in an error message");
    }
    return;
  }
  for (const Minted& m : F().minted) {
    if (token == m.token) return CheckSamePrincipal(*result, m.principal);
  }
  FUZZ_CHECK(false, "accepted a token nobody minted: " + std::string(token));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void FuzzHeader(std::string_view input) {
  const std::size_t nl = input.find('\n');
  const std::string authorization = Expand(input.substr(0, nl));
  const std::string param = nl == std::string_view::npos ? std::string() : Expand(input.substr(nl + 1));
  auto result = F().authn->Authenticate(authorization, kNow, param);
  // What Authenticate took as the token when it accepted: the header's after "Bearer", else
  // the parameter.
  std::string_view token = param;
  if (!authorization.empty()) {
    std::string_view value = Trim(authorization);
    token = value.size() > 6 ? Trim(value.substr(6)) : std::string_view();
  }
  CheckAccepted(token, result);
  CheckAccepted(authorization, F().jwt->Verify(authorization, kNow));
  CheckAccepted(authorization, F().keys->Verify(authorization, kNow));
  auto pub = F().jwt_pub->Verify(authorization, kNow);
  if (pub.ok()) FUZZ_CHECK(authorization != F().minted[0].token, "public-key verifier took an HS256 token");
  CheckAccepted(authorization, pub);
}

bool HasAudience(const doppel::json::value* aud) {
  if (aud == nullptr) return false;
  if (aud->is_string()) return aud->get_string() == kAudience;
  if (!aud->is_array()) return false;
  for (const auto& item : aud->get_array()) {
    if (item.is_string() && item.get_string() == kAudience) return true;
  }
  return false;
}

void FuzzSigned(std::string_view input) {
  if (input.empty()) return;
  const bool real_secret = (static_cast<uint8_t>(input[0]) & 1) == 0;
  input.remove_prefix(1);
  const std::size_t nl = input.find('\n');
  if (nl == std::string_view::npos) return;
  const std::string jws = Jws(input.substr(0, nl), input.substr(nl + 1));
  const std::string token = jws + "." + Base64Url(HmacSha256(real_secret ? kSecret : F().rsa_pem, jws));
  auto result = F().jwt->Verify(token, kNow);
  // (A header whose base64url starts "dpk_" is taken for an API key, rightly.)
  const bool looks_like_key = token.starts_with("dpk_");
  auto via_header = F().authn->Authenticate("Bearer " + token, kNow);
  FUZZ_CHECK(looks_like_key || result.ok() == via_header.ok(), "Authenticate and Verify disagree");
  auto pub = F().jwt_pub->Verify(token, kNow);
  FUZZ_CHECK(!pub.ok(), "a public-key-only verifier accepted an HS256 token");
  FUZZ_CHECK(pub.status().code() == StatusCode::kUnauthenticated, pub.status().ToString());
  if (!result.ok()) {
    FUZZ_CHECK(result.status().code() == StatusCode::kUnauthenticated, result.status().ToString());
    FUZZ_CHECK(looks_like_key || result.status().message() == via_header.status().message(),
               result.status().message());
    return;
  }
  FUZZ_CHECK(real_secret, "accepted an HS256 token signed with the RSA public key");
  auto header = doppel::ParseJson(input.substr(0, nl));
  auto claims = doppel::ParseJson(input.substr(nl + 1));
  FUZZ_CHECK(header.ok() && header->is_object() && claims.ok() && claims->is_object(), "accepted non-objects");
  const auto& h = header->get_object();
  const auto& c = claims->get_object();
  FUZZ_CHECK(h.contains("alg") && h.at("alg").is_string() && h.at("alg").get_string() == "HS256" &&
                 !h.contains("crit"), doppel::ToJson(h));
  FUZZ_CHECK(c.contains("sub") && c.at("sub").is_string() && c.at("sub").get_string() == result->subject,
             result->subject);
  FUZZ_CHECK(!result->subject.empty(), "empty subject");
  FUZZ_CHECK(c.contains("exp") && c.at("exp").is_number(), "accepted without exp");
  FUZZ_CHECK(c.at("exp").to_number<double>() + 60 > 1'800'000'000.0, "accepted an expired token");
  FUZZ_CHECK(c.contains("iss") && c.at("iss").is_string() && c.at("iss").get_string() == kIssuer, "accepted a foreign issuer");
  FUZZ_CHECK(HasAudience(c.if_contains("aud")), "accepted a foreign audience");
  FUZZ_CHECK(result->method == auth::AuthMethod::kJwt, "not a JWT principal");
  CheckSamePrincipal(*via_header, *result);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!input.empty() && input[0] == 'S') {
    FuzzSigned(input.substr(1));
  } else {
    FuzzHeader(input);
  }
  return 0;
}
