#include "auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "auth/internal/utc_seconds.h"

namespace doppel::auth {
namespace {

using internal::FormatUtcSeconds;

constexpr std::size_t kMaxTokenBytes = 16 * 1024;
constexpr std::chrono::seconds kMaxLeeway{300};
constexpr std::size_t kMinSecretBytes = 32;
constexpr int kMinRsaBits = 2048;
constexpr std::size_t kP256CoordinateBytes = 32;
constexpr JsonLimits kTokenJsonLimits{.max_bytes = kMaxTokenBytes, .max_depth = 16};

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ParamBuilder = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;

enum class KeyType { kRsa, kEc };

struct PublicKey {
  KeyType type;
  std::string kid;  // "" = none: a PEM file, or a JWKS entry without one
  Pkey pkey;
};

// OpenSSL's reason for the last failure; clears the thread's error queue so that a stale
// error cannot surface in some later, unrelated call.
std::string OpenSslError() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  std::string out = reason ? reason : "unknown error";
  ERR_clear_error();
  return out;
}

// Attacker-chosen text (alg, kid, iss) quoted in an error message: cut short and reduced to
// printable ASCII, so it cannot forge log lines or flood a response.
std::string Quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > 64) out += "...";
  return out + "'";
}

// ---- base64url (RFC 4648 §5, without padding, strict) -------------------------------------

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Refuses padding, any character outside the alphabet, an impossible length and non-zero
// leftover bits: each byte string has exactly one accepted encoding, so a token cannot be
// altered without changing what is signed.
std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = Base64UrlValue(c);
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// ---- Keys ---------------------------------------------------------------------------------

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// RSA of at least 2048 bits, or EC on P-256; anything else is refused when the keys are loaded
// rather than failing every token later.
Result<KeyType> CheckKeyType(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    if (EVP_PKEY_get_bits(pkey) < kMinRsaBits) {
      return Status::InvalidArgument("RSA key of " + std::to_string(EVP_PKEY_get_bits(pkey)) +
                                     " bits (at least 2048 required)");
    }
    return KeyType::kRsa;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &length) != 1 ||
        std::string_view(group) != "prime256v1") {
      ERR_clear_error();
      return Status::InvalidArgument("EC key not on curve P-256 (ES256 needs P-256)");
    }
    return KeyType::kEc;
  }
  return Status::InvalidArgument(
      "unsupported key type (RSA or EC P-256 public keys are supported)");
}

Result<PublicKey> ReadPemKey(const std::string& file) {
  DOPPEL_ASSIGN_OR_RETURN(std::string pem, ReadFile(file));
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey pkey(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!pkey) {
    return Status::InvalidArgument(
        "JWT public key file " + file +
        ": not a PEM public key (\"BEGIN PUBLIC KEY\"): " + OpenSslError());
  }
  auto type = CheckKeyType(pkey.get());
  if (!type.ok()) {
    return Status::InvalidArgument("JWT public key file " + file + ": " + type.status().message());
  }
  return PublicKey{.type = *type, .kid = "", .pkey = std::move(pkey)};
}

Result<Pkey> KeyFromParams(const char* algorithm, OSSL_PARAM_BLD* builder) {
  Params params(OSSL_PARAM_BLD_to_param(builder));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Status::InvalidArgument("invalid key: " + OpenSslError());
  }
  Pkey pkey(raw);
  // fromdata takes the numbers as given; make OpenSSL check that they form a valid public key
  // (for EC: the point lies on the curve).
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return Status::InvalidArgument("invalid key: " + OpenSslError());
  }
  return pkey;
}

Result<std::string> JwkBytes(const json::object& jwk, std::string_view member) {
  auto* v = jwk.if_contains(member);
  if (!v || !v->is_string()) return Status::InvalidArgument("no \"" + std::string(member) + "\"");
  auto bytes = Base64UrlDecode(v->get_string());
  if (!bytes || bytes->empty()) {
    return Status::InvalidArgument("\"" + std::string(member) + "\" is not base64url");
  }
  return *bytes;
}

Result<Pkey> RsaKeyFromJwk(const json::object& jwk) {
  DOPPEL_ASSIGN_OR_RETURN(std::string n_bytes, JwkBytes(jwk, "n"));
  DOPPEL_ASSIGN_OR_RETURN(std::string e_bytes, JwkBytes(jwk, "e"));
  Bignum n(BN_bin2bn(Bytes(n_bytes), static_cast<int>(n_bytes.size()), nullptr));
  Bignum e(BN_bin2bn(Bytes(e_bytes), static_cast<int>(e_bytes.size()), nullptr));
  ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!n || !e || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return Status::InvalidArgument("invalid RSA key: " + OpenSslError());
  }
  return KeyFromParams("RSA", builder.get());
}

Result<Pkey> EcKeyFromJwk(const json::object& jwk) {
  DOPPEL_ASSIGN_OR_RETURN(std::string x, JwkBytes(jwk, "x"));
  DOPPEL_ASSIGN_OR_RETURN(std::string y, JwkBytes(jwk, "y"));
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return Status::InvalidArgument("\"x\" and \"y\" must be 32 bytes each for P-256");
  }
  std::string point = "\x04" + x + y;  // SEC 1 uncompressed point
  ParamBuilder builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Status::InvalidArgument("invalid EC key: " + OpenSslError());
  }
  return KeyFromParams("EC", builder.get());
}

std::string MemberOr(const json::object& obj, std::string_view member,
                     std::string_view fallback = "") {
  auto* v = obj.if_contains(member);
  return v && v->is_string() ? std::string(v->get_string()) : std::string(fallback);
}

// One JWKS entry: a key, nullopt for an entry that is not for us (encryption keys, other key
// types and curves — identity providers publish those beside their signing keys), or an error
// for a signing key we should use but cannot read.
Result<std::optional<PublicKey>> ReadJwk(const json::value& value) {
  if (!value.is_object()) return Status::InvalidArgument("not an object");
  const auto& jwk = value.get_object();
  std::string kty = MemberOr(jwk, "kty"), alg = MemberOr(jwk, "alg"),
              use = MemberOr(jwk, "use", "sig");
  if (use != "sig") return std::optional<PublicKey>();
  PublicKey key{.type = KeyType::kRsa, .kid = MemberOr(jwk, "kid"), .pkey = nullptr};
  if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
    DOPPEL_ASSIGN_OR_RETURN(key.pkey, RsaKeyFromJwk(jwk));
  } else if (kty == "EC" && MemberOr(jwk, "crv") == "P-256" && (alg.empty() || alg == "ES256")) {
    key.type = KeyType::kEc;
    DOPPEL_ASSIGN_OR_RETURN(key.pkey, EcKeyFromJwk(jwk));
  } else {
    return std::optional<PublicKey>();
  }
  DOPPEL_ASSIGN_OR_RETURN(key.type, CheckKeyType(key.pkey.get()));
  return std::optional<PublicKey>(std::move(key));
}

Status ReadJwks(const std::string& file, std::vector<PublicKey>& keys) {
  auto fail = [&](const std::string& why) {
    return Status::InvalidArgument("JWKS file " + file + ": " + why);
  };
  auto text = ReadFile(file);
  if (!text.ok()) return fail("cannot read it");
  auto doc = ParseJson(*text);
  if (!doc.ok()) return fail(doc.status().message());
  auto* list = doc->is_object() ? doc->get_object().if_contains("keys") : nullptr;
  if (!list || !list->is_array()) return fail("expected {\"keys\": [...]}");
  std::size_t usable = 0;
  for (std::size_t i = 0; i < list->get_array().size(); ++i) {
    auto key = ReadJwk(list->get_array()[i]);
    if (!key.ok()) return fail("keys[" + std::to_string(i) + "]: " + key.status().message());
    if (!key->has_value()) continue;
    keys.push_back(std::move(**key));
    ++usable;
  }
  if (usable == 0) {
    return fail("no signing key of a supported kind (RSA for RS256, EC P-256 for ES256)");
  }
  return Status::Ok();
}

// ---- Signatures ---------------------------------------------------------------------------

bool VerifyHs256(std::string_view secret, std::string_view input, std::string_view signature) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), Bytes(input),
            input.size(), mac.data(), &size)) {
    ERR_clear_error();
    return false;
  }
  return signature.size() == size && CRYPTO_memcmp(mac.data(), signature.data(), size) == 0;
}

bool VerifyDigest(EVP_PKEY* pkey, std::string_view input, const unsigned char* signature,
                  std::size_t size) {
  MdCtx ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx.get(), signature, size, Bytes(input), input.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

// JWS carries an ES256 signature as the raw 32-byte r and s (RFC 7518 §3.4); OpenSSL verifies
// the DER ECDSA-Sig-Value, so convert. Any other length is refused, not padded or trimmed.
bool VerifyEs256(EVP_PKEY* pkey, std::string_view input, std::string_view signature) {
  if (signature.size() != 2 * kP256CoordinateBytes) return false;
  EcdsaSig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(Bytes(signature), kP256CoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(signature) + kP256CoordinateBytes, kP256CoordinateBytes, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ERR_clear_error();
    return false;
  }
  unsigned char* der = nullptr;
  int der_size = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_size <= 0) {
    ERR_clear_error();
    return false;
  }
  bool ok = VerifyDigest(pkey, input, der, static_cast<std::size_t>(der_size));
  OPENSSL_free(der);
  return ok;
}

// ---- Claims -------------------------------------------------------------------------------

// NumericDate (RFC 7519 §2): seconds since the epoch, possibly fractional.
Result<std::optional<double>> NumericDate(const json::object& claims, std::string_view name) {
  auto* v = claims.if_contains(name);
  if (!v) return std::optional<double>();
  if (!v->is_number()) {
    return Status::Unauthenticated("JWT claim '" + std::string(name) + "' is not a number");
  }
  return std::optional<double>(v->to_number<double>());
}

TimePoint ToTimePoint(double seconds) {
  // Clamped to what a nanosecond TimePoint holds (about ±292 years), for messages only.
  seconds = std::clamp(seconds, -9.0e9, 9.0e9);
  return TimePoint(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds)));
}

// The claim at `name`: the top-level member of that exact name if there is one (Auth0's
// namespaced claims are URLs, dots included), else the dotted path walked through objects
// ("realm_access.roles").
const json::value* FindClaim(const json::object& claims, std::string_view name) {
  if (auto* v = claims.if_contains(name)) return v;
  const json::object* obj = &claims;
  for (;;) {
    std::size_t dot = name.find('.');
    auto* v = obj->if_contains(name.substr(0, dot));
    if (!v || dot == std::string_view::npos) return v;
    if (!v->is_object()) return nullptr;
    obj = &v->get_object();
    name.remove_prefix(dot + 1);
  }
}

// An array of strings or one space-separated string ("scope"-style); absent = none.
Result<std::vector<std::string>> ClaimStrings(const json::object& claims, const std::string& name) {
  std::vector<std::string> out;
  const json::value* v = name.empty() ? nullptr : FindClaim(claims, name);
  if (!v) return out;
  auto bad = [&] {
    return Status::Unauthenticated("JWT claim '" + name +
                                   "' must be an array of strings or a space-separated string");
  };
  if (v->is_string()) {
    std::string_view text = v->get_string();
    while (!text.empty()) {
      std::size_t space = text.find(' ');
      if (space != 0) out.emplace_back(text.substr(0, space));
      if (space == std::string_view::npos) break;
      text.remove_prefix(space + 1);
    }
    return out;
  }
  if (!v->is_array()) return bad();
  for (const auto& item : v->get_array()) {
    if (!item.is_string()) return bad();
    out.emplace_back(item.get_string());
  }
  return out;
}

struct Jws {
  std::string_view signing_input;  // "<header>.<payload>" as sent: what the signature covers
  std::string header;
  std::string payload;
  std::string signature;
};

Result<Jws> SplitJws(std::string_view token) {
  std::size_t first = token.find('.');
  std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos ||
      first == 0 || second == first + 1) {
    return Status::Unauthenticated(
        "malformed JWT: expected three base64url parts separated by dots");
  }
  auto header = Base64UrlDecode(token.substr(0, first));
  auto payload = Base64UrlDecode(token.substr(first + 1, second - first - 1));
  auto signature = Base64UrlDecode(token.substr(second + 1));
  if (!header) return Status::Unauthenticated("malformed JWT: the header is not base64url");
  if (!payload) return Status::Unauthenticated("malformed JWT: the payload is not base64url");
  if (!signature) return Status::Unauthenticated("malformed JWT: the signature is not base64url");
  return Jws{token.substr(0, second), std::move(*header), std::move(*payload),
             std::move(*signature)};
}

Result<json::object> ParseJsonObject(std::string_view text, const char* what) {
  auto doc = ParseJson(text, kTokenJsonLimits);
  if (!doc.ok() || !doc->is_object()) {
    return Status::Unauthenticated(std::string("malformed JWT: the ") + what +
                                   " is not a JSON object");
  }
  return std::move(doc->get_object());
}

// ---- Configuration ------------------------------------------------------------------------

class ConfigReader {
 public:
  explicit ConfigReader(const json::object& obj) : obj_(obj) {}

  Status String(std::string_view key, std::string& out) const {
    auto* v = obj_.if_contains(key);
    if (!v) return Status::Ok();
    if (!v->is_string()) return Fail(key, "expected a string");
    out = std::string(v->get_string());
    return Status::Ok();
  }

  Status Strings(std::string_view key, std::vector<std::string>& out) const {
    auto* v = obj_.if_contains(key);
    if (!v) return Status::Ok();
    if (!v->is_array()) return Fail(key, "expected an array of strings");
    for (const auto& item : v->get_array()) {
      if (!item.is_string()) return Fail(key, "expected an array of strings");
      out.emplace_back(item.get_string());
    }
    return Status::Ok();
  }

  Status Seconds(std::string_view key, std::chrono::seconds& out) const {
    auto* v = obj_.if_contains(key);
    if (!v) return Status::Ok();
    if (!v->is_int64() || v->get_int64() < 0 || std::chrono::seconds(v->get_int64()) > kMaxLeeway) {
      return Fail(key, "expected a whole number of seconds from 0 to 300");
    }
    out = std::chrono::seconds(v->get_int64());
    return Status::Ok();
  }

  static Status Fail(std::string_view key, std::string_view why) {
    return Status::InvalidArgument("jwt." + std::string(key) + ": " + std::string(why));
  }

 private:
  const json::object& obj_;
};

}  // namespace

Result<JwtConfig> ParseJwtConfig(const json::value& config) {
  static constexpr std::string_view kKeys[] = {"issuer",         "audience",       "hs256Secret",
                                               "publicKeyFiles", "jwksFile",       "leewaySeconds",
                                               "rolesClaim",     "clearancesClaim"};
  if (!config.is_object()) return Status::InvalidArgument("jwt: expected an object");
  for (const auto& member : config.get_object()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), member.key()) == std::end(kKeys)) {
      return Status::InvalidArgument(
          "jwt: unknown key '" + std::string(member.key()) +
          "' (known: issuer, audience, hs256Secret, publicKeyFiles, jwksFile, "
          "leewaySeconds, rolesClaim, clearancesClaim)");
    }
  }
  ConfigReader reader(config.get_object());
  JwtConfig out;
  DOPPEL_RETURN_IF_ERROR(reader.String("issuer", out.issuer));
  DOPPEL_RETURN_IF_ERROR(reader.String("audience", out.audience));
  DOPPEL_RETURN_IF_ERROR(reader.String("hs256Secret", out.hs256_secret));
  DOPPEL_RETURN_IF_ERROR(reader.Strings("publicKeyFiles", out.public_key_files));
  DOPPEL_RETURN_IF_ERROR(reader.String("jwksFile", out.jwks_file));
  DOPPEL_RETURN_IF_ERROR(reader.Seconds("leewaySeconds", out.leeway));
  DOPPEL_RETURN_IF_ERROR(reader.String("rolesClaim", out.roles_claim));
  DOPPEL_RETURN_IF_ERROR(reader.String("clearancesClaim", out.clearances_claim));
  if (out.roles_claim.empty()) return ConfigReader::Fail("rolesClaim", "must not be empty");
  return out;
}

struct JwtVerifier::State {
  // Immutable after Create: Verify reads them from any thread. (An EVP_PKEY may be shared by
  // concurrent verifications; each makes its own EVP_MD_CTX.)
  JwtConfig config;
  std::vector<PublicKey> keys;

  bool Has(KeyType type) const {
    return std::any_of(keys.begin(), keys.end(),
                       [&](const PublicKey& k) { return k.type == type; });
  }

  std::string AcceptedAlgs() const {
    std::string out;
    auto add = [&](bool yes, const char* alg) {
      if (yes) out += (out.empty() ? "" : ", ") + std::string(alg);
    };
    add(!config.hs256_secret.empty(), "HS256");
    add(Has(KeyType::kRsa), "RS256");
    add(Has(KeyType::kEc), "ES256");
    return out;
  }

  // Only algorithms backed by a configured key of the matching kind, so no key is ever used
  // with an algorithm it was not meant for (an RSA public key as an HMAC secret, say).
  Result<std::optional<KeyType>> CheckAlg(std::string_view alg) const {
    if (alg == "HS256" && !config.hs256_secret.empty()) return std::optional<KeyType>();
    if (alg == "RS256" && Has(KeyType::kRsa)) return std::optional<KeyType>(KeyType::kRsa);
    if (alg == "ES256" && Has(KeyType::kEc)) return std::optional<KeyType>(KeyType::kEc);
    return Status::Unauthenticated("JWT alg " + Quoted(alg) +
                                   " is not accepted (this server accepts " + AcceptedAlgs() + ")");
  }

  Status CheckSignature(const Jws& jws, std::optional<KeyType> type, const std::string* kid) const {
    auto refused = [] { return Status::Unauthenticated("JWT signature does not verify"); };
    if (!type) {
      bool ok = VerifyHs256(config.hs256_secret, jws.signing_input, jws.signature);
      return ok ? Status::Ok() : refused();
    }
    // With a kid: the key set's keys of that kid, and the PEM keys (which have none). Without:
    // every key of the kind — all of them are trusted, the kid only saves trying.
    bool candidate = false;
    for (const auto& key : keys) {
      if (key.type != *type || (kid && !key.kid.empty() && key.kid != *kid)) continue;
      candidate = true;
      bool ok = *type == KeyType::kRsa
                    ? VerifyDigest(key.pkey.get(), jws.signing_input, Bytes(jws.signature),
                                   jws.signature.size())
                    : VerifyEs256(key.pkey.get(), jws.signing_input, jws.signature);
      if (ok) return Status::Ok();
    }
    if (!candidate && kid) {
      return Status::Unauthenticated("JWT kid " + Quoted(*kid) + " is not in the key set");
    }
    return refused();
  }

  Status CheckTimes(const json::object& claims, TimePoint now) const {
    double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
    double leeway = static_cast<double>(config.leeway.count());
    DOPPEL_ASSIGN_OR_RETURN(auto exp, NumericDate(claims, "exp"));
    if (!exp) return Status::Unauthenticated("JWT has no 'exp' claim");
    if (now_s >= *exp + leeway) {
      return Status::Unauthenticated("JWT expired at " + FormatUtcSeconds(ToTimePoint(*exp)));
    }
    DOPPEL_ASSIGN_OR_RETURN(auto nbf, NumericDate(claims, "nbf"));
    if (nbf && now_s + leeway < *nbf) {
      return Status::Unauthenticated("JWT is not valid before " +
                                     FormatUtcSeconds(ToTimePoint(*nbf)));
    }
    DOPPEL_ASSIGN_OR_RETURN(auto iat, NumericDate(claims, "iat"));
    if (iat && now_s + leeway < *iat) {
      return Status::Unauthenticated("JWT was issued in the future (" +
                                     FormatUtcSeconds(ToTimePoint(*iat)) + ")");
    }
    return Status::Ok();
  }

  Status CheckIssuerAndAudience(const json::object& claims) const {
    if (!config.issuer.empty()) {
      auto* iss = claims.if_contains("iss");
      if (!iss || !iss->is_string()) return Status::Unauthenticated("JWT has no 'iss' claim");
      if (iss->get_string() != config.issuer) {
        return Status::Unauthenticated("JWT issuer " + Quoted(iss->get_string()) +
                                       " is not trusted");
      }
    }
    if (!config.audience.empty()) {
      auto* aud = claims.if_contains("aud");
      bool found = aud && aud->is_string() && aud->get_string() == config.audience;
      if (aud && aud->is_array()) {
        for (const auto& item : aud->get_array()) {
          found = found || (item.is_string() && item.get_string() == config.audience);
        }
      }
      if (!found) {
        return Status::Unauthenticated("JWT audience does not include " + Quoted(config.audience));
      }
    }
    return Status::Ok();
  }

  Result<Principal> MakePrincipal(const json::object& claims) const {
    auto* sub = claims.if_contains("sub");
    if (!sub || !sub->is_string() || sub->get_string().empty()) {
      return Status::Unauthenticated("JWT has no 'sub' claim");
    }
    Principal principal{.subject = std::string(sub->get_string()),
                        .roles = {},
                        .method = AuthMethod::kJwt,
                        .clearances = {}};
    DOPPEL_ASSIGN_OR_RETURN(principal.roles, ClaimStrings(claims, config.roles_claim));
    DOPPEL_ASSIGN_OR_RETURN(principal.clearances, ClaimStrings(claims, config.clearances_claim));
    return principal;
  }
};

JwtVerifier::JwtVerifier() : state_(std::make_unique<State>()) {}
JwtVerifier::~JwtVerifier() = default;

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(const JwtConfig& config) {
  if (config.leeway < std::chrono::seconds(0) || config.leeway > kMaxLeeway) {
    return Status::InvalidArgument("JWT leeway must be 0 to 300 seconds");
  }
  if (config.hs256_secret.empty() && config.public_key_files.empty() && config.jwks_file.empty()) {
    return Status::InvalidArgument(
        "JWT configuration has no key: set hs256Secret, publicKeyFiles or jwksFile");
  }
  if (!config.hs256_secret.empty() && config.hs256_secret.size() < kMinSecretBytes) {
    return Status::InvalidArgument("the JWT HS256 secret must be at least 32 bytes");
  }
  if (config.roles_claim.empty()) {
    return Status::InvalidArgument("the JWT roles claim name must not be empty");
  }
  std::unique_ptr<JwtVerifier> verifier(new JwtVerifier());
  State& state = *verifier->state_;
  state.config = config;
  for (const auto& file : config.public_key_files) {
    DOPPEL_ASSIGN_OR_RETURN(PublicKey key, ReadPemKey(file));
    state.keys.push_back(std::move(key));
  }
  if (!config.jwks_file.empty()) DOPPEL_RETURN_IF_ERROR(ReadJwks(config.jwks_file, state.keys));
  return verifier;
}

Result<Principal> JwtVerifier::Verify(std::string_view token, TimePoint now) const {
  if (token.size() > kMaxTokenBytes) return Status::Unauthenticated("JWT is larger than 16 KiB");
  DOPPEL_ASSIGN_OR_RETURN(Jws jws, SplitJws(token));
  DOPPEL_ASSIGN_OR_RETURN(json::object header, ParseJsonObject(jws.header, "header"));
  auto* alg = header.if_contains("alg");
  if (!alg || !alg->is_string()) {
    return Status::Unauthenticated("malformed JWT: the header has no 'alg'");
  }
  // "crit" names extensions the verifier must understand (RFC 7515 §4.1.11); we know none.
  if (header.contains("crit")) return Status::Unauthenticated("JWT header 'crit' is not supported");
  DOPPEL_ASSIGN_OR_RETURN(std::optional<KeyType> key_type, state_->CheckAlg(alg->get_string()));
  std::optional<std::string> kid;
  if (auto* kid_value = header.if_contains("kid")) {
    if (!kid_value->is_string()) {
      return Status::Unauthenticated("malformed JWT: the header's 'kid' is not a string");
    }
    kid = std::string(kid_value->get_string());
  }
  DOPPEL_RETURN_IF_ERROR(state_->CheckSignature(jws, key_type, kid ? &*kid : nullptr));
  // The claims are read only once the signature vouches for them.
  DOPPEL_ASSIGN_OR_RETURN(json::object claims, ParseJsonObject(jws.payload, "payload"));
  DOPPEL_RETURN_IF_ERROR(state_->CheckTimes(claims, now));
  DOPPEL_RETURN_IF_ERROR(state_->CheckIssuerAndAudience(claims));
  return state_->MakePrincipal(claims);
}

}  // namespace doppel::auth
