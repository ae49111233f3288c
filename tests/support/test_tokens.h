// Test support: JWTs minted the way identity providers mint them, with keys generated on the
// spot by the OpenSSL 3 C API. Header-only; any test binary linking libcrypto can use it.
//
//   doppel::testing::TestRsaKey rsa;                       // 2048-bit RSA
//   std::string jwt = rsa.Mint(R"({"sub":"alice","exp":1900000000})", "kid-1");   // RS256
//   WriteFile(dir + "/jwks.json", doppel::testing::Jwks({rsa.Jwk("kid-1")}));     // for jwksFile
//   WriteFile(dir + "/rsa.pem", rsa.PublicPem());                                   //
//   publicKeyFiles std::string hs = doppel::testing::MintHs256(secret,
//   R"({"sub":"bob","exp":1900000000})");
//
// Claims are JSON text, put in the token exactly as given (no re-serialisation), so tests can
// mint odd tokens too. MintJws() takes any header, for tokens no honest issuer would make
// (alg "none", an unknown "crit"). Failures (OpenSSL errors) throw std::runtime_error, which a
// gtest test reports as a failure.
//
// Not thread-safe per key object; distinct objects are independent.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"

namespace doppel::testing {

namespace test_tokens_internal {

inline void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test_tokens: ") + what + " failed");
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline std::string BignumBytes(const EVP_PKEY* key, const char* param) {
  BIGNUM* bn = nullptr;
  Check(EVP_PKEY_get_bn_param(key, param, &bn) == 1, "EVP_PKEY_get_bn_param");
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

// A signature over SHA-256 of `input` (PKCS #1 v1.5 for RSA, DER ECDSA-Sig-Value for EC).
inline std::string DigestSign(EVP_PKEY* key, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  Check(ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1,
        "EVP_DigestSignInit");
  std::size_t size = 0;
  auto data = reinterpret_cast<const unsigned char*>(input.data());
  Check(EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) == 1,
        "EVP_DigestSign (size)");
  std::string sig(size, '\0');
  Check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, data,
                       input.size()) == 1,
        "EVP_DigestSign");
  sig.resize(size);
  return sig;
}

inline std::string PublicPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  Check(bio && PEM_write_bio_PUBKEY(bio.get(), key) == 1, "PEM_write_bio_PUBKEY");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace test_tokens_internal

// RFC 4648 §5 base64url without padding, as JWS uses it.
inline std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
  return out;
}

// "<b64(header)>.<b64(claims)>.<b64(signature)>" where the signature is
// `sign("<b64(header)>.<b64(claims)>")`.
template <typename Sign>
std::string MintJws(std::string_view header_json, std::string_view claims_json, Sign&& sign) {
  std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(claims_json);
  return input + "." + Base64UrlEncode(sign(input));
}

// {"alg":"<alg>","typ":"JWT"} with "kid" when not empty.
inline std::string JwsHeader(std::string_view alg, std::string_view kid = {}) {
  json::object header{{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  return ToJson(header);
}

inline std::string HmacSha256(std::string_view secret, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  test_tokens_internal::Check(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                                   reinterpret_cast<const unsigned char*>(input.data()),
                                   input.size(), mac, &size) != nullptr,
                              "HMAC");
  return std::string(reinterpret_cast<char*>(mac), size);
}

inline std::string MintHs256(std::string_view secret, std::string_view claims_json,
                             std::string_view kid = {}) {
  return MintJws(JwsHeader("HS256", kid), claims_json,
                 [&](std::string_view input) { return HmacSha256(secret, input); });
}

// {"keys": [...]} — a JWKS document's text.
inline std::string Jwks(const std::vector<json::object>& keys) {
  json::array list;
  for (const auto& key : keys) list.emplace_back(key);
  return ToJson(json::object{{"keys", std::move(list)}});
}

// An RSA key pair; Mint signs RS256.
class TestRsaKey {
 public:
  explicit TestRsaKey(unsigned int bits = 2048)
      : key_(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits))) {
    test_tokens_internal::Check(key_ != nullptr, "RSA key generation");
  }

  std::string Mint(std::string_view claims_json, std::string_view kid = {}) const {
    return MintJws(JwsHeader("RS256", kid), claims_json, [&](std::string_view input) {
      return test_tokens_internal::DigestSign(key_.get(), input);
    });
  }
  std::string PublicPem() const { return test_tokens_internal::PublicPem(key_.get()); }
  json::object Jwk(std::string_view kid) const {
    using test_tokens_internal::BignumBytes;
    return {{"kty", "RSA"},
            {"kid", kid},
            {"use", "sig"},
            {"alg", "RS256"},
            {"n", Base64UrlEncode(BignumBytes(key_.get(), OSSL_PKEY_PARAM_RSA_N))},
            {"e", Base64UrlEncode(BignumBytes(key_.get(), OSSL_PKEY_PARAM_RSA_E))}};
  }
  EVP_PKEY* pkey() const { return key_.get(); }

 private:
  test_tokens_internal::Pkey key_;
};

// An EC P-256 key pair; Mint signs ES256 (the signature as JWS wants it: raw r || s).
class TestEcKey {
 public:
  TestEcKey() : key_(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")) {
    test_tokens_internal::Check(key_ != nullptr, "EC key generation");
  }

  std::string Mint(std::string_view claims_json, std::string_view kid = {}) const {
    return MintJws(JwsHeader("ES256", kid), claims_json,
                   [&](std::string_view input) { return RawSignature(input); });
  }
  std::string PublicPem() const { return test_tokens_internal::PublicPem(key_.get()); }
  json::object Jwk(std::string_view kid) const {
    unsigned char point[65];
    std::size_t size = 0;
    test_tokens_internal::Check(EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                                                point, sizeof(point), &size) == 1 &&
                                    size == 65 && point[0] == 0x04,
                                "EC public point");
    std::string_view raw(reinterpret_cast<const char*>(point), size);
    return {{"kty", "EC"},
            {"kid", kid},
            {"use", "sig"},
            {"alg", "ES256"},
            {"crv", "P-256"},
            {"x", Base64UrlEncode(raw.substr(1, 32))},
            {"y", Base64UrlEncode(raw.substr(33, 32))}};
  }
  EVP_PKEY* pkey() const { return key_.get(); }

 private:
  std::string RawSignature(std::string_view input) const {
    std::string der = test_tokens_internal::DigestSign(key_.get(), input);
    auto* p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), ECDSA_SIG_free);
    test_tokens_internal::Check(sig != nullptr, "d2i_ECDSA_SIG");
    std::string raw(64, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    test_tokens_internal::Check(BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, 32) == 32 &&
                                    BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + 32, 32) == 32,
                                "BN_bn2binpad");
    return raw;
  }

  test_tokens_internal::Pkey key_;
};

}  // namespace doppel::testing
