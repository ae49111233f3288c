// JwtVerifier: each algorithm, each check in order, key loading and configuration parsing.
// Tokens are minted here with real keys (tests/support/test_tokens.h).
#include "auth/jwt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "auth/temp_dir.h"
#include "support/test_tokens.h"

namespace doppel::auth {
namespace {

using namespace std::chrono_literals;
using doppel::testing::Base64UrlEncode;
using doppel::testing::Jwks;
using doppel::testing::JwsHeader;
using doppel::testing::MintHs256;
using doppel::testing::MintJws;
using doppel::testing::TestEcKey;
using doppel::testing::TestRsaKey;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TempDir;
using testing::WriteTextFile;

constexpr int64_t kNowSeconds = 1'700'000'000;  // 2023-11-14T22:13:20Z
const TimePoint kNow = TimePoint(std::chrono::seconds(kNowSeconds));
const std::string kSecret = "an-hs256-secret-of-at-least-32-bytes!";

// Key generation is the slow part; one key of each kind serves the whole suite.
const TestRsaKey& Rsa() {
  static const TestRsaKey key;
  return key;
}
const TestEcKey& Ec() {
  static const TestEcKey key;
  return key;
}

// Claims valid at kNow, with `extra` members spliced in (",\"aud\":\"x\"").
std::string Claims(const std::string& extra = "", int64_t exp = kNowSeconds + 3600) {
  return R"({"sub":"alice","exp":)" + std::to_string(exp) + extra + "}";
}

// Configurations start from the defaults and set members one by one: a designated
// initialiser would leave JwtConfig's members unnamed, which -Wextra flags.
JwtConfig SecretConfig() {
  JwtConfig config;
  config.hs256_secret = kSecret;
  return config;
}
JwtConfig PemConfig(const std::string& file) {
  JwtConfig config;
  config.public_key_files = {file};
  return config;
}
JwtConfig JwksConfig(const std::string& file) {
  JwtConfig config;
  config.jwks_file = file;
  return config;
}
template <typename Edit>
JwtConfig Edited(JwtConfig config, Edit edit) {
  edit(config);
  return config;
}

class JwtTest : public ::testing::Test {
 protected:
  std::unique_ptr<JwtVerifier> Verifier(JwtConfig config) {
    auto verifier = JwtVerifier::Create(config);
    EXPECT_TRUE(verifier.ok()) << verifier.status().ToString();
    return verifier.ok() ? std::move(verifier).value() : nullptr;
  }
  std::unique_ptr<JwtVerifier> SecretVerifier() { return Verifier(SecretConfig()); }
  // RS256 and ES256 through a JWKS file with kids "rsa-1" and "ec-1".
  std::unique_ptr<JwtVerifier> JwksVerifier() {
    WriteTextFile(dir_.File("jwks.json"), Jwks({Rsa().Jwk("rsa-1"), Ec().Jwk("ec-1")}));
    return Verifier(JwksConfig(dir_.File("jwks.json")));
  }
  std::string PemFile(const std::string& name, const std::string& pem) {
    WriteTextFile(dir_.File(name), pem);
    return dir_.File(name);
  }
  // The message of a refused token (and a failure if it was accepted or not a 401).
  static std::string Refusal(const JwtVerifier& verifier, const std::string& token,
                             TimePoint now = kNow) {
    auto result = verifier.Verify(token, now);
    if (result.ok()) return "<accepted>";
    EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
    return result.status().message();
  }

  TempDir dir_;
};

// ---- Valid tokens -------------------------------------------------------------------------

TEST_F(JwtTest, Hs256TokenGivesThePrincipal) {
  auto verifier = SecretVerifier();
  auto principal = verifier->Verify(MintHs256(kSecret, Claims(R"(,"roles":["operator"])")), kNow);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_EQ(principal->subject, "alice");
  EXPECT_THAT(principal->roles, ElementsAre("operator"));
  EXPECT_EQ(principal->method, AuthMethod::kJwt);
}

TEST_F(JwtTest, Rs256TokenVerifiesWithAPemKey) {
  auto verifier = Verifier(PemConfig(PemFile("rsa.pem", Rsa().PublicPem())));
  auto principal = verifier->Verify(Rsa().Mint(Claims()), kNow);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_EQ(principal->subject, "alice");
}

TEST_F(JwtTest, Es256TokenVerifiesWithAPemKey) {
  auto verifier = Verifier(PemConfig(PemFile("ec.pem", Ec().PublicPem())));
  auto principal = verifier->Verify(Ec().Mint(Claims()), kNow);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
}

TEST_F(JwtTest, JwksKeysAreChosenByKid) {
  auto verifier = JwksVerifier();
  EXPECT_TRUE(verifier->Verify(Rsa().Mint(Claims(), "rsa-1"), kNow).ok());
  EXPECT_TRUE(verifier->Verify(Ec().Mint(Claims(), "ec-1"), kNow).ok());
  // Without a kid every key of the kind is tried.
  EXPECT_TRUE(verifier->Verify(Ec().Mint(Claims()), kNow).ok());
}

TEST_F(JwtTest, KidNotInTheKeySetIsNamed) {
  auto verifier = JwksVerifier();
  EXPECT_EQ(Refusal(*verifier, Rsa().Mint(Claims(), "k9")), "JWT kid 'k9' is not in the key set");
}

TEST_F(JwtTest, KidOfAnotherKeyDoesNotVerify) {
  TestRsaKey other;
  WriteTextFile(dir_.File("jwks.json"), Jwks({Rsa().Jwk("rsa-1"), other.Jwk("rsa-2")}));
  auto verifier = Verifier(JwksConfig(dir_.File("jwks.json")));
  EXPECT_EQ(Refusal(*verifier, Rsa().Mint(Claims(), "rsa-2")), "JWT signature does not verify");
  EXPECT_TRUE(verifier->Verify(other.Mint(Claims(), "rsa-2"), kNow).ok());
}

// ---- Signatures and algorithms ------------------------------------------------------------

TEST_F(JwtTest, TokenSignedWithAnotherSecretIsRefused) {
  auto verifier = SecretVerifier();
  EXPECT_EQ(Refusal(*verifier, MintHs256("another-secret-that-is-32-bytes-long", Claims())),
            "JWT signature does not verify");
}

TEST_F(JwtTest, TamperedPayloadIsRefused) {
  auto verifier = Verifier(SecretConfig());
  std::string token = MintHs256(kSecret, Claims(R"(,"roles":["viewer"])"));
  std::size_t first = token.find('.'), second = token.find('.', first + 1);
  std::string tampered = token.substr(0, first + 1) +
                         Base64UrlEncode(Claims(R"(,"roles":["admin"])")) + token.substr(second);
  EXPECT_EQ(Refusal(*verifier, tampered), "JWT signature does not verify");

  auto rsa = Verifier(PemConfig(PemFile("rsa.pem", Rsa().PublicPem())));
  std::string rs = Rsa().Mint(Claims(R"(,"roles":["viewer"])"));
  first = rs.find('.');
  second = rs.find('.', first + 1);
  EXPECT_EQ(Refusal(*rsa, rs.substr(0, first + 1) +
                              Base64UrlEncode(Claims(R"(,"roles":["admin"])")) + rs.substr(second)),
            "JWT signature does not verify");
}

TEST_F(JwtTest, AlgNoneIsRefused) {
  auto verifier = SecretVerifier();
  for (const char* alg : {"none", "None"}) {
    std::string token =
        MintJws(JwsHeader(alg), Claims(), [](std::string_view) { return std::string(); });
    EXPECT_THAT(Refusal(*verifier, token),
                HasSubstr(std::string("JWT alg '") + alg + "' is not accepted"));
  }
}

TEST_F(JwtTest, HmacTokenKeyedWithThePublicKeyIsRefused) {
  // The classic algorithm confusion: the attacker signs HS256 with the server's public key.
  std::string pem = Rsa().PublicPem();
  std::string forged = MintHs256(pem, Claims(R"(,"roles":["admin"])"));
  auto rsa_only = Verifier(PemConfig(PemFile("rsa.pem", pem)));
  EXPECT_EQ(Refusal(*rsa_only, forged),
            "JWT alg 'HS256' is not accepted (this server accepts RS256)");

  auto both = Verifier(Edited(
      SecretConfig(), [&](JwtConfig& c) { c.public_key_files = {PemFile("rsa.pem", pem)}; }));
  EXPECT_EQ(Refusal(*both, forged), "JWT signature does not verify");
}

TEST_F(JwtTest, PublicKeyAlgorithmsAreRefusedWhenOnlyASecretIsConfigured) {
  auto verifier = SecretVerifier();
  EXPECT_EQ(Refusal(*verifier, Rsa().Mint(Claims())),
            "JWT alg 'RS256' is not accepted (this server accepts HS256)");
  EXPECT_EQ(Refusal(*verifier, Ec().Mint(Claims())),
            "JWT alg 'ES256' is not accepted (this server accepts HS256)");
}

TEST_F(JwtTest, RsaTokenIsRefusedWhenOnlyAnEcKeyIsConfigured) {
  auto verifier = Verifier(PemConfig(PemFile("ec.pem", Ec().PublicPem())));
  EXPECT_THAT(Refusal(*verifier, Rsa().Mint(Claims())),
              HasSubstr("JWT alg 'RS256' is not accepted"));
}

TEST_F(JwtTest, Es256SignatureMustBeRawRAndS) {
  auto verifier = Verifier(PemConfig(PemFile("ec.pem", Ec().PublicPem())));
  std::string token = Ec().Mint(Claims());
  std::string input = token.substr(0, token.rfind('.'));
  // The DER form OpenSSL produces is what a naive signer would send; JWS forbids it.
  std::string der =
      doppel::testing::MintJws(JwsHeader("ES256"), Claims(), [&](std::string_view in) {
        return doppel::testing::test_tokens_internal::DigestSign(Ec().pkey(), in);
      });
  EXPECT_EQ(Refusal(*verifier, der), "JWT signature does not verify");
  std::string longer = input + "." + Base64UrlEncode(std::string(65, '\x01'));
  EXPECT_EQ(Refusal(*verifier, longer), "JWT signature does not verify");
}

TEST_F(JwtTest, CritHeaderIsRefused) {
  auto verifier = SecretVerifier();
  std::string token =
      MintJws(R"({"alg":"HS256","crit":["exp"],"exp":1})", Claims(),
              [](std::string_view in) { return doppel::testing::HmacSha256(kSecret, in); });
  EXPECT_EQ(Refusal(*verifier, token), "JWT header 'crit' is not supported");
}

// ---- Form ---------------------------------------------------------------------------------

TEST_F(JwtTest, OversizedTokenIsRefusedBeforeDecoding) {
  auto verifier = SecretVerifier();
  std::string huge = MintHs256(kSecret, Claims(",\"pad\":\"" + std::string(16 * 1024, 'x') + "\""));
  EXPECT_EQ(Refusal(*verifier, huge), "JWT is larger than 16 KiB");
  EXPECT_EQ(Refusal(*verifier, std::string(16 * 1024 + 1, '.')), "JWT is larger than 16 KiB");
}

TEST_F(JwtTest, MalformedBase64IsRefused) {
  auto verifier = SecretVerifier();
  std::string token = MintHs256(kSecret, Claims());
  std::size_t first = token.find('.'), second = token.find('.', first + 1);
  std::string header = token.substr(0, first),
              payload = token.substr(first + 1, second - first - 1),
              signature = token.substr(second + 1);
  EXPECT_EQ(Refusal(*verifier, header + "=." + payload + "." + signature),
            "malformed JWT: the header is not base64url");
  EXPECT_EQ(Refusal(*verifier, header + "." + payload + "+." + signature),
            "malformed JWT: the payload is not base64url");
  EXPECT_EQ(Refusal(*verifier, header + "." + payload + "." + signature + "=="),
            "malformed JWT: the signature is not base64url");
  // Non-zero leftover bits: "x" then a character whose low bits would be dropped.
  EXPECT_EQ(Refusal(*verifier,
                    header + "." + payload + "." + signature.substr(0, signature.size() - 1) + "B"),
            "malformed JWT: the signature is not base64url");
}

TEST_F(JwtTest, WrongNumberOfPartsIsRefused) {
  auto verifier = SecretVerifier();
  std::string token = MintHs256(kSecret, Claims());
  const std::string expected = "malformed JWT: expected three base64url parts separated by dots";
  EXPECT_EQ(Refusal(*verifier, token.substr(0, token.rfind('.'))), expected);
  EXPECT_EQ(Refusal(*verifier, token + ".abc"), expected);
  EXPECT_EQ(Refusal(*verifier, token.substr(token.find('.'))), expected);
}

TEST_F(JwtTest, HeaderMustBeAJsonObjectWithAnAlg) {
  auto verifier = SecretVerifier();
  auto sign = [](std::string_view in) { return doppel::testing::HmacSha256(kSecret, in); };
  EXPECT_EQ(Refusal(*verifier, MintJws("[1]", Claims(), sign)),
            "malformed JWT: the header is not a JSON object");
  EXPECT_EQ(Refusal(*verifier, MintJws(R"({"typ":"JWT"})", Claims(), sign)),
            "malformed JWT: the header has no 'alg'");
  EXPECT_EQ(Refusal(*verifier, MintJws(R"({"alg":"HS256"})", "not json", sign)),
            "malformed JWT: the payload is not a JSON object");
}

// ---- Claims -------------------------------------------------------------------------------

TEST_F(JwtTest, ExpiryIsCheckedWithLeeway) {
  auto verifier = Verifier(Edited(SecretConfig(), [](JwtConfig& c) { c.leeway = 60s; }));
  std::string token = MintHs256(kSecret, Claims("", kNowSeconds - 30));
  EXPECT_TRUE(verifier->Verify(token, kNow).ok()) << "30 s past exp is within the 60 s leeway";
  EXPECT_EQ(Refusal(*verifier, token, kNow + 30s), "JWT expired at 2023-11-14T22:12:50Z");
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, R"({"sub":"alice"})")), "JWT has no 'exp' claim");
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, R"({"sub":"alice","exp":"tomorrow"})")),
            "JWT claim 'exp' is not a number");
}

TEST_F(JwtTest, NotBeforeAndIssuedAtAreCheckedWithLeeway) {
  auto verifier = Verifier(Edited(SecretConfig(), [](JwtConfig& c) { c.leeway = 60s; }));
  std::string soon = MintHs256(kSecret, Claims(",\"nbf\":" + std::to_string(kNowSeconds + 50)));
  EXPECT_TRUE(verifier->Verify(soon, kNow).ok());
  std::string later = MintHs256(kSecret, Claims(",\"nbf\":" + std::to_string(kNowSeconds + 70)));
  EXPECT_EQ(Refusal(*verifier, later), "JWT is not valid before 2023-11-14T22:14:30Z");
  EXPECT_TRUE(verifier->Verify(later, kNow + 10s).ok());

  std::string future = MintHs256(kSecret, Claims(",\"iat\":" + std::to_string(kNowSeconds + 600)));
  EXPECT_THAT(Refusal(*verifier, future), HasSubstr("JWT was issued in the future"));
  EXPECT_TRUE(
      verifier->Verify(MintHs256(kSecret, Claims(",\"iat\":" + std::to_string(kNowSeconds))), kNow)
          .ok());
}

TEST_F(JwtTest, IssuerMustMatchWhenConfigured) {
  auto verifier = Verifier(
      Edited(SecretConfig(), [](JwtConfig& c) { c.issuer = "https://idp.example/realms/plant"; }));
  EXPECT_TRUE(
      verifier
          ->Verify(MintHs256(kSecret, Claims(R"(,"iss":"https://idp.example/realms/plant")")), kNow)
          .ok());
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, Claims(R"(,"iss":"https://evil.example")"))),
            "JWT issuer 'https://evil.example' is not trusted");
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, Claims())), "JWT has no 'iss' claim");
  // Not configured: not checked.
  EXPECT_TRUE(
      SecretVerifier()->Verify(MintHs256(kSecret, Claims(R"(,"iss":"anyone")")), kNow).ok());
}

TEST_F(JwtTest, AudienceMayBeAStringOrAnArray) {
  auto verifier = Verifier(Edited(SecretConfig(), [](JwtConfig& c) { c.audience = "doppel"; }));
  EXPECT_TRUE(verifier->Verify(MintHs256(kSecret, Claims(R"(,"aud":"doppel")")), kNow).ok());
  EXPECT_TRUE(
      verifier->Verify(MintHs256(kSecret, Claims(R"(,"aud":["account","doppel"])")), kNow).ok());
  const std::string refused = "JWT audience does not include 'doppel'";
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, Claims(R"(,"aud":"grafana")"))), refused);
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, Claims(R"(,"aud":["account"])"))), refused);
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, Claims())), refused);
}

TEST_F(JwtTest, SubjectIsRequired) {
  auto verifier = SecretVerifier();
  std::string exp = std::to_string(kNowSeconds + 60);
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, R"({"exp":)" + exp + "}")),
            "JWT has no 'sub' claim");
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, R"({"sub":"","exp":)" + exp + "}")),
            "JWT has no 'sub' claim");
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, R"({"sub":7,"exp":)" + exp + "}")),
            "JWT has no 'sub' claim");
}

TEST_F(JwtTest, RolesComeFromAnArrayOrASpaceSeparatedString) {
  auto verifier = SecretVerifier();
  auto roles = [&](const std::string& extra) {
    auto principal = verifier->Verify(MintHs256(kSecret, Claims(extra)), kNow);
    EXPECT_TRUE(principal.ok()) << principal.status().ToString();
    return principal.ok() ? principal->roles : std::vector<std::string>{"<refused>"};
  };
  EXPECT_THAT(roles(R"(,"roles":["operator","viewer"])"), ElementsAre("operator", "viewer"));
  EXPECT_THAT(roles(R"(,"roles":"operator  viewer ")"), ElementsAre("operator", "viewer"));
  EXPECT_THAT(roles(""), IsEmpty());
  EXPECT_EQ(Refusal(*verifier, MintHs256(kSecret, Claims(R"(,"roles":[1])"))),
            "JWT claim 'roles' must be an array of strings or a space-separated string");
}

TEST_F(JwtTest, RolesClaimMayBeADottedPath) {
  auto verifier =
      Verifier(Edited(SecretConfig(), [](JwtConfig& c) { c.roles_claim = "realm_access.roles"; }));
  auto principal = verifier->Verify(
      MintHs256(kSecret, Claims(R"(,"realm_access":{"roles":["engineer"]},"roles":["x"])")), kNow);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_THAT(principal->roles, ElementsAre("engineer"));
  principal = verifier->Verify(MintHs256(kSecret, Claims(R"(,"realm_access":"none")")), kNow);
  ASSERT_TRUE(principal.ok());
  EXPECT_THAT(principal->roles, IsEmpty());
}

TEST_F(JwtTest, ClaimNamedWithDotsIsFoundAsIs) {
  // Auth0 namespaces custom claims with a URL.
  auto verifier = Verifier(
      Edited(SecretConfig(), [](JwtConfig& c) { c.roles_claim = "https://doppel.example/roles"; }));
  auto principal = verifier->Verify(
      MintHs256(kSecret, Claims(R"(,"https://doppel.example/roles":["admin"])")), kNow);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_THAT(principal->roles, ElementsAre("admin"));
}

TEST_F(JwtTest, ClearancesComeFromTheirClaim) {
  auto verifier = SecretVerifier();
  auto principal =
      verifier->Verify(MintHs256(kSecret, Claims(R"(,"clearances":"personal financial")")), kNow);
  ASSERT_TRUE(principal.ok());
  EXPECT_THAT(principal->clearances, ElementsAre("personal", "financial"));
}

// ---- Key loading --------------------------------------------------------------------------

TEST_F(JwtTest, CreateRefusesBadConfigurations) {
  auto refusal = [](JwtConfig config) {
    auto verifier = JwtVerifier::Create(config);
    EXPECT_FALSE(verifier.ok());
    if (verifier.ok()) return std::string("<accepted>");
    EXPECT_EQ(verifier.status().code(), StatusCode::kInvalidArgument);
    return verifier.status().message();
  };
  EXPECT_THAT(refusal(JwtConfig()), HasSubstr("no key"));
  EXPECT_THAT(refusal(Edited({}, [](JwtConfig& c) { c.hs256_secret = "short"; })),
              HasSubstr("at least 32 bytes"));
  EXPECT_THAT(refusal(Edited(SecretConfig(), [](JwtConfig& c) { c.leeway = 301s; })),
              HasSubstr("300 seconds"));
  std::string missing = dir_.File("missing.pem");
  EXPECT_THAT(refusal(PemConfig(missing)), HasSubstr(missing));
  std::string garbage = PemFile("garbage.pem", "not a key");
  EXPECT_THAT(refusal(PemConfig(garbage)), HasSubstr(garbage));
  TestRsaKey weak(1024);
  EXPECT_THAT(refusal(PemConfig(PemFile("weak.pem", weak.PublicPem()))),
              HasSubstr("at least 2048 required"));
}

TEST_F(JwtTest, JwksEntriesForOtherUsesAreSkippedAndBadSigningKeysRefused) {
  json::object enc = Rsa().Jwk("enc-1");
  enc["use"] = "enc";
  json::object ps = Rsa().Jwk("ps-1");
  ps["alg"] = "PS256";
  WriteTextFile(dir_.File("mixed.json"), Jwks({enc, ps, Ec().Jwk("ec-1")}));
  auto verifier = Verifier(JwksConfig(dir_.File("mixed.json")));
  EXPECT_EQ(Refusal(*verifier, Rsa().Mint(Claims(), "enc-1")),
            "JWT alg 'RS256' is not accepted (this server accepts ES256)");

  WriteTextFile(dir_.File("enc-only.json"), Jwks({enc}));
  auto none = JwtVerifier::Create(JwksConfig(dir_.File("enc-only.json")));
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("no signing key"));

  json::object broken = Ec().Jwk("ec-2");
  broken["x"] = Base64UrlEncode(std::string(32, '\x01'));  // not a point on the curve
  WriteTextFile(dir_.File("broken.json"), Jwks({Rsa().Jwk("rsa-1"), broken}));
  auto bad = JwtVerifier::Create(JwksConfig(dir_.File("broken.json")));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("keys[1]"));
  EXPECT_THAT(bad.status().message(), HasSubstr(dir_.File("broken.json")));
}

// ---- Configuration parsing ----------------------------------------------------------------

TEST(ParseJwtConfig, ReadsEveryKey) {
  auto config = ParseJwtConfig(json::parse(R"({
      "issuer": "https://idp", "audience": "doppel", "hs256Secret": "s",
      "publicKeyFiles": ["/a.pem", "/b.pem"], "jwksFile": "/jwks.json", "leewaySeconds": 30,
      "rolesClaim": "realm_access.roles", "clearancesClaim": "cl"})"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->issuer, "https://idp");
  EXPECT_EQ(config->audience, "doppel");
  EXPECT_EQ(config->hs256_secret, "s");
  EXPECT_THAT(config->public_key_files, ElementsAre("/a.pem", "/b.pem"));
  EXPECT_EQ(config->jwks_file, "/jwks.json");
  EXPECT_EQ(config->leeway, 30s);
  EXPECT_EQ(config->roles_claim, "realm_access.roles");
  EXPECT_EQ(config->clearances_claim, "cl");

  auto defaults = ParseJwtConfig(json::object{});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->leeway, 60s);
  EXPECT_EQ(defaults->roles_claim, "roles");
}

TEST(ParseJwtConfig, IsStrictAndNamesTheKey) {
  auto message = [](const char* text) {
    return ParseJwtConfig(json::parse(text)).status().message();
  };
  EXPECT_THAT(message(R"({"issuer": "x", "secret": "y"})"), HasSubstr("unknown key 'secret'"));
  EXPECT_THAT(message(R"({"audience": ["doppel"]})"), HasSubstr("jwt.audience: expected a string"));
  EXPECT_THAT(message(R"({"publicKeyFiles": "/a.pem"})"), HasSubstr("jwt.publicKeyFiles"));
  EXPECT_THAT(message(R"({"leewaySeconds": 301})"), HasSubstr("jwt.leewaySeconds"));
  EXPECT_THAT(message(R"({"leewaySeconds": 1.5})"), HasSubstr("jwt.leewaySeconds"));
  EXPECT_THAT(message(R"([])"), HasSubstr("expected an object"));
}

}  // namespace
}  // namespace doppel::auth
