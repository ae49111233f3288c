// ApiKeyStore: creation, verification, revocation, expiry, and the key file on disk.
#include "auth/api_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <regex>
#include <string>

#include "auth/temp_dir.h"

namespace doppel::auth {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ReadTextFile;
using testing::TempDir;
using testing::WriteTextFile;

const TimePoint kNow = TimePoint(std::chrono::seconds(1'700'000'000));  // 2023-11-14T22:13:20Z

ApiKeySpec Spec(std::string name = "historian", std::vector<std::string> roles = {"engineer"}) {
  return ApiKeySpec{.name = std::move(name),
                    .roles = std::move(roles),
                    .expires = std::nullopt,
                    .clearances = {}};
}

// The secret part of "dpk_<id>_<secret>".
std::string SecretOf(const std::string& token) { return token.substr(token.rfind('_') + 1); }

TEST(ApiKeyStore, CreatedTokenVerifiesToThePrincipal) {
  auto store = ApiKeyStore::InMemory();
  ApiKeySpec spec = Spec("historian", {"engineer", "viewer"});
  spec.clearances = {"personal"};
  auto created = store->Create(spec, kNow);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(std::regex_match(created->token, std::regex("dpk_[a-z2-7]{12}_[a-z2-7]{52}")))
      << created->token;
  EXPECT_EQ(created->token.substr(4, 12), created->info.id);
  EXPECT_EQ(created->info.created, kNow);

  auto principal = store->Verify(created->token, kNow + 1h);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_EQ(principal->subject, "key:" + created->info.id);
  EXPECT_THAT(principal->roles, ElementsAre("engineer", "viewer"));
  EXPECT_THAT(principal->clearances, ElementsAre("personal"));
  EXPECT_EQ(principal->method, AuthMethod::kApiKey);
}

TEST(ApiKeyStore, EveryKeyGetsItsOwnIdAndSecret) {
  auto store = ApiKeyStore::InMemory();
  auto a = store->Create(Spec("a"), kNow).value();
  auto b = store->Create(Spec("b"), kNow).value();
  EXPECT_NE(a.info.id, b.info.id);
  EXPECT_NE(SecretOf(a.token), SecretOf(b.token));
  // A's secret under B's id is not B.
  std::string mixed = "dpk_" + b.info.id + "_" + SecretOf(a.token);
  EXPECT_EQ(store->Verify(mixed, kNow).status().message(), "unknown API key");
}

TEST(ApiKeyStore, WrongSecretAndUnknownIdGiveTheSameAnswer) {
  auto store = ApiKeyStore::InMemory();
  auto created = store->Create(Spec(), kNow).value();
  std::string wrong_secret = created.token;
  wrong_secret.back() = wrong_secret.back() == 'a' ? 'b' : 'a';
  std::string unknown_id = created.token;
  unknown_id[4] = unknown_id[4] == 'a' ? 'b' : 'a';

  auto by_secret = store->Verify(wrong_secret, kNow);
  auto by_id = store->Verify(unknown_id, kNow);
  ASSERT_FALSE(by_secret.ok());
  ASSERT_FALSE(by_id.ok());
  EXPECT_EQ(by_secret.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(by_id.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(by_secret.status().message(), "unknown API key");
  EXPECT_EQ(by_id.status().message(), "unknown API key");
}

TEST(ApiKeyStore, MalformedTokensAreRefused) {
  auto store = ApiKeyStore::InMemory();
  auto created = store->Create(Spec(), kNow).value();
  std::string upper = created.token;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& token :
       {std::string("dpk_"), std::string("dpk_abc_def"), created.token + "a",
        created.token.substr(1), "dpk_" + upper.substr(4),
        std::string(created.token).replace(16, 1, "-")}) {
    auto result = store->Verify(token, kNow);
    ASSERT_FALSE(result.ok()) << token;
    EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
    EXPECT_THAT(result.status().message(), HasSubstr("malformed API key")) << token;
  }
}

TEST(ApiKeyStore, CreateRefusesBadSpecs) {
  auto store = ApiKeyStore::InMemory();
  auto refused = [&](ApiKeySpec spec) {
    auto result = store->Create(spec, kNow);
    return !result.ok() && result.status().code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(refused(Spec("")));
  EXPECT_TRUE(refused(Spec(std::string(129, 'n'))));
  EXPECT_TRUE(refused(Spec("tab\there")));
  EXPECT_TRUE(refused(Spec("bad \xC3 utf8")));
  EXPECT_TRUE(refused(Spec("overlong \xC0\xAF")));
  EXPECT_TRUE(refused(Spec("ok", {})));
  EXPECT_TRUE(refused(Spec("ok", {""})));
  ApiKeySpec past = Spec();
  past.expires = kNow;
  EXPECT_TRUE(refused(past));
  EXPECT_FALSE(store->HasKeys());

  EXPECT_TRUE(store->Create(Spec(std::string(128, 'n')), kNow).ok());
  EXPECT_TRUE(store->Create(Spec("Zählerstand \xE2\x9A\xA1"), kNow).ok());
}

TEST(ApiKeyStore, RevokedKeyIsRefusedAndRevokingAgainKeepsTheFirstTime) {
  auto store = ApiKeyStore::InMemory();
  auto created = store->Create(Spec(), kNow).value();
  ASSERT_TRUE(store->Revoke(created.info.id, kNow + 1h).ok());
  ASSERT_TRUE(store->Revoke(created.info.id, kNow + 2h).ok());
  EXPECT_EQ(store->Get(created.info.id)->revoked, kNow + 1h);

  auto result = store->Verify(created.token, kNow + 3h);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(result.status().message(), "API key '" + created.info.id + "' was revoked");

  EXPECT_EQ(store->Revoke("aaaaaaaaaaaa", kNow).code(), StatusCode::kNotFound);
  EXPECT_TRUE(store->HasKeys()) << "a revoked key still means the server has keys";
}

TEST(ApiKeyStore, RevocationIsNotToldWithoutTheSecret) {
  auto store = ApiKeyStore::InMemory();
  auto created = store->Create(Spec(), kNow).value();
  ASSERT_TRUE(store->Revoke(created.info.id, kNow).ok());
  std::string wrong = created.token;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(store->Verify(wrong, kNow).status().message(), "unknown API key");
}

TEST(ApiKeyStore, KeyExpiresAtItsExpiry) {
  auto store = ApiKeyStore::InMemory();
  ApiKeySpec spec = Spec();
  spec.expires = kNow + 1h;
  auto created = store->Create(spec, kNow).value();
  EXPECT_TRUE(store->Verify(created.token, kNow + 59min).ok());
  auto result = store->Verify(created.token, kNow + 1h);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(result.status().message(),
            "API key '" + created.info.id + "' expired at 2023-11-14T23:13:20Z");
}

TEST(ApiKeyStore, ListIsByCreationTimeAndGetFindsById) {
  auto store = ApiKeyStore::InMemory();
  auto second = store->Create(Spec("second"), kNow + 1s).value();
  auto first = store->Create(Spec("first"), kNow).value();
  auto list = store->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "first");
  EXPECT_EQ(list[1].name, "second");
  EXPECT_EQ(store->Get(second.info.id)->name, "second");
  EXPECT_EQ(store->Get("zzzzzzzzzzzz").status().code(), StatusCode::kNotFound);
}

TEST(ApiKeyStore, InfoJsonShowsTimesAndNeverTheSecret) {
  ApiKeyInfo info{.id = "abcdefghijkl",
                  .name = "n",
                  .roles = {"viewer"},
                  .clearances = {"personal"},
                  .created = kNow,
                  .expires = kNow + 24h,
                  .revoked = std::nullopt};
  json::object doc = ApiKeyInfoToJson(info);
  EXPECT_EQ(
      ToJson(doc),
      R"({"id":"abcdefghijkl","name":"n","roles":["viewer"],"clearances":["personal"],)"
      R"("created":"2023-11-14T22:13:20.0000000Z","expires":"2023-11-15T22:13:20.0000000Z"})");
  info.revoked = kNow;
  EXPECT_EQ(ApiKeyInfoToJson(info).at("revoked").as_string(), "2023-11-14T22:13:20.0000000Z");
}

// ---- On disk ------------------------------------------------------------------------------

TEST(ApiKeyFile, PathIsUnderTheDataDirectory) {
  EXPECT_EQ(ApiKeyFilePath("/var/lib/doppel"), "/var/lib/doppel/auth/api-keys.json");
}

TEST(ApiKeyFile, KeysSurviveReopening) {
  TempDir dir;
  std::string path = ApiKeyFilePath(dir.path());
  std::string kept, revoked_token, revoked_id;
  {
    auto store = ApiKeyStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ApiKeySpec spec = Spec("kept", {"operator"});
    spec.expires = kNow + 24h;
    spec.clearances = {"personal"};
    kept = (*store)->Create(spec, kNow).value().token;
    auto revoked = (*store)->Create(Spec("revoked"), kNow + 1s).value();
    revoked_token = revoked.token;
    revoked_id = revoked.info.id;
    ASSERT_TRUE((*store)->Revoke(revoked_id, kNow + 2s).ok());
  }
  auto store = ApiKeyStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto list = (*store)->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "kept");
  EXPECT_EQ(list[0].expires, kNow + 24h);
  EXPECT_THAT(list[0].clearances, ElementsAre("personal"));
  EXPECT_EQ(list[1].revoked, kNow + 2s);

  auto principal = (*store)->Verify(kept, kNow);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_THAT(principal->roles, ElementsAre("operator"));
  EXPECT_EQ((*store)->Verify(revoked_token, kNow).status().message(),
            "API key '" + revoked_id + "' was revoked");
}

TEST(ApiKeyFile, HoldsNoSecretAndIsPrivate) {
  TempDir dir;
  std::string path = ApiKeyFilePath(dir.path());
  auto store = ApiKeyStore::Open(path).value();
  auto created = store->Create(Spec(), kNow).value();
  std::string contents = ReadTextFile(path);
  EXPECT_THAT(contents, HasSubstr(created.info.id));
  EXPECT_EQ(contents.find(SecretOf(created.token)), std::string::npos);
  EXPECT_EQ(contents.find(created.token), std::string::npos);

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir.path() + "/auth").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "the auth directory is the owner's alone";
}

TEST(ApiKeyFile, OpenCreatesAnEmptyFile) {
  TempDir dir;
  std::string path = ApiKeyFilePath(dir.path());
  auto store = ApiKeyStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_FALSE((*store)->HasKeys());
  EXPECT_THAT(ReadTextFile(path), HasSubstr("\"doppel-api-keys\""));
}

TEST(ApiKeyFile, SecondOpenIsRefusedWhileTheFirstHoldsTheLock) {
  TempDir dir;
  std::string path = ApiKeyFilePath(dir.path());
  {
    auto first = ApiKeyStore::Open(path);
    ASSERT_TRUE(first.ok());
    auto second = ApiKeyStore::Open(path);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
    EXPECT_THAT(second.status().message(), HasSubstr(path));
    EXPECT_THAT(second.status().message(),
                HasSubstr("in use by another process (a running server?)"));
    // A change after the refused open still holds the lock (the rewrite replaced the file).
    ASSERT_TRUE((*first)->Create(Spec(), kNow).ok());
    EXPECT_FALSE(ApiKeyStore::Open(path).ok());
  }
  EXPECT_TRUE(ApiKeyStore::Open(path).ok()) << "closing the store releases the lock";
}

TEST(ApiKeyFile, CorruptFileIsRefusedAndLeftAlone) {
  TempDir dir;
  std::string path = ApiKeyFilePath(dir.path());
  ASSERT_TRUE(ApiKeyStore::Open(path).ok());
  WriteTextFile(path, "{\"format\": \"doppel-api-keys\", \"version\": 1, \"keys\": [");
  auto store = ApiKeyStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInternal);
  EXPECT_THAT(store.status().message(), HasSubstr(path + " is not a valid API key file"));
  EXPECT_THAT(store.status().message(), HasSubstr("invalid JSON"));
  EXPECT_EQ(ReadTextFile(path), "{\"format\": \"doppel-api-keys\", \"version\": 1, \"keys\": [");
}

TEST(ApiKeyFile, BadFieldIsNamedInTheError) {
  TempDir dir;
  std::string path = ApiKeyFilePath(dir.path());
  {
    auto store = ApiKeyStore::Open(path).value();
    ASSERT_TRUE(store->Create(Spec(), kNow).ok());
  }
  std::string contents = ReadTextFile(path);
  std::size_t salt = contents.find("\"salt\": \"");
  ASSERT_NE(salt, std::string::npos);
  contents.replace(salt + 9, 2, "zz");
  WriteTextFile(path, contents);
  auto store = ApiKeyStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(),
              HasSubstr("keys[0].salt: expected 32 lowercase hex digits"));

  WriteTextFile(path, "");
  EXPECT_THAT(ApiKeyStore::Open(path).status().message(), HasSubstr("the file is empty"));
  WriteTextFile(path, R"({"format": "doppel-api-keys", "version": 2, "keys": []})");
  EXPECT_THAT(ApiKeyStore::Open(path).status().message(), HasSubstr("version"));
}

}  // namespace
}  // namespace doppel::auth
