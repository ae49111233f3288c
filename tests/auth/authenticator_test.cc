// Authenticator: the Authorization header, the token parameter, and dispatch to API keys or JWTs.
#include "auth/authenticator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/test_tokens.h"

namespace doppel::auth {
namespace {

using namespace std::chrono_literals;
using doppel::testing::MintHs256;
using ::testing::HasSubstr;

constexpr int64_t kNowSeconds = 1'700'000'000;
const TimePoint kNow = TimePoint(std::chrono::seconds(kNowSeconds));
const std::string kSecret = "an-hs256-secret-of-at-least-32-bytes!";
const std::string kMalformed = "malformed Authorization header (expected 'Bearer <token>')";

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = ApiKeyStore::InMemory();
    key_token_ =
        keys_
            ->Create(
                {.name = "script", .roles = {"viewer"}, .expires = std::nullopt, .clearances = {}},
                kNow)
            .value()
            .token;
    JwtConfig config;
    config.hs256_secret = kSecret;
    jwt_ = JwtVerifier::Create(config).value();
    jwt_token_ = MintHs256(kSecret, R"({"sub":"alice","roles":["operator"],"exp":)" +
                                        std::to_string(kNowSeconds + 3600) + "}");
  }

  Authenticator Both() const { return Authenticator({.api_keys = keys_.get(), .jwt = jwt_.get()}); }

  static std::string Refusal(const Result<Principal>& result) {
    if (result.ok()) return "<accepted>";
    EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
    return result.status().message();
  }

  std::unique_ptr<ApiKeyStore> keys_;
  std::unique_ptr<JwtVerifier> jwt_;
  std::string key_token_;
  std::string jwt_token_;
};

TEST_F(AuthenticatorTest, ApiKeyTokenGoesToTheKeyStore) {
  auto principal = Both().Authenticate("Bearer " + key_token_, kNow);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_EQ(principal->method, AuthMethod::kApiKey);
  EXPECT_THAT(principal->roles, ::testing::ElementsAre("viewer"));
}

TEST_F(AuthenticatorTest, JwtGoesToTheVerifier) {
  auto principal = Both().Authenticate("Bearer " + jwt_token_, kNow);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_EQ(principal->method, AuthMethod::kJwt);
  EXPECT_EQ(principal->subject, "alice");
}

TEST_F(AuthenticatorTest, SchemeIsCaseInsensitiveAndSpacesAreTolerated) {
  EXPECT_TRUE(Both().Authenticate("bearer " + key_token_, kNow).ok());
  EXPECT_TRUE(Both().Authenticate("BEARER   " + key_token_ + "  ", kNow).ok());
  EXPECT_TRUE(Both().Authenticate("Bearer\t" + jwt_token_, kNow).ok());
}

TEST_F(AuthenticatorTest, MalformedHeadersAreRefused) {
  Authenticator authn = Both();
  for (const std::string& header :
       {std::string("Bearer"), std::string("Bearer "), "Basic " + key_token_, "Bearer" + key_token_,
        "Bearer " + key_token_ + " extra", "Token " + jwt_token_, std::string("Bearer a\x01")}) {
    EXPECT_EQ(Refusal(authn.Authenticate(header, kNow)), kMalformed) << header;
  }
}

TEST_F(AuthenticatorTest, MissingTokenIsSaidSo) {
  EXPECT_EQ(Refusal(Both().Authenticate("", kNow)), "missing bearer token");
}

TEST_F(AuthenticatorTest, TokenParameterIsUsedOnlyWithoutAHeader) {
  auto principal = Both().Authenticate("", kNow, jwt_token_);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_EQ(principal->method, AuthMethod::kJwt);
  // With a header, the header decides, even when the parameter is good.
  EXPECT_EQ(Refusal(Both().Authenticate("Basic xyz", kNow, jwt_token_)), kMalformed);
  principal = Both().Authenticate("Bearer " + key_token_, kNow, jwt_token_);
  ASSERT_TRUE(principal.ok());
  EXPECT_EQ(principal->method, AuthMethod::kApiKey);
}

TEST_F(AuthenticatorTest, ErrorsOfTheSourcesPassThrough) {
  std::string wrong = key_token_;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(Refusal(Both().Authenticate("Bearer " + wrong, kNow)), "unknown API key");
  EXPECT_THAT(Refusal(Both().Authenticate("Bearer " + jwt_token_, kNow + 2h)),
              HasSubstr("JWT expired at"));
}

TEST_F(AuthenticatorTest, UnconfiguredSourcesAndUnknownFormsAreRefused) {
  Authenticator keys_only({.api_keys = keys_.get(), .jwt = nullptr});
  EXPECT_EQ(Refusal(keys_only.Authenticate("Bearer " + jwt_token_, kNow)),
            "JWT bearer tokens are not accepted by this server");
  Authenticator jwt_only({.api_keys = nullptr, .jwt = jwt_.get()});
  EXPECT_EQ(Refusal(jwt_only.Authenticate("Bearer " + key_token_, kNow)), "unknown API key");
  EXPECT_THAT(Refusal(Both().Authenticate("Bearer opaque-token", kNow)),
              HasSubstr("unrecognised bearer token"));
}

TEST_F(AuthenticatorTest, ConfiguredMeansSomeCredentialCanExist) {
  EXPECT_FALSE(Authenticator({}).Configured());
  auto empty = ApiKeyStore::InMemory();
  EXPECT_FALSE(Authenticator({.api_keys = empty.get(), .jwt = nullptr}).Configured());
  EXPECT_TRUE(Authenticator({.api_keys = nullptr, .jwt = jwt_.get()}).Configured());
  EXPECT_TRUE(Authenticator({.api_keys = keys_.get(), .jwt = nullptr}).Configured());
  std::string id = keys_->List().front().id;
  ASSERT_TRUE(keys_->Revoke(id, kNow).ok());
  EXPECT_TRUE(Authenticator({.api_keys = keys_.get(), .jwt = nullptr}).Configured())
      << "revoking the last key does not fall back to dev mode";
}

}  // namespace
}  // namespace doppel::auth
