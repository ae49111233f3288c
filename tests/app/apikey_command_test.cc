// `doppel apikey create|list|revoke`, run in process against a scratch data directory.
#include "app/apikey_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>

#include "auth/api_keys.h"
#include "auth/temp_dir.h"

namespace doppel::app {
namespace {

using namespace std::chrono_literals;
using auth::testing::TempDir;
using ::testing::HasSubstr;

const TimePoint kNow = TimePoint(std::chrono::seconds(1'700'000'000));  // 2023-11-14T22:13:20Z

struct Output {
  std::ostringstream out, err;
  CommandIo io() { return {out, err}; }
};

ApiKeyCreateOptions Options(const std::string& data_dir) {
  ApiKeyCreateOptions options;
  options.data_dir = data_dir;
  options.name = "historian";
  options.roles = {"engineer"};
  return options;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

TEST(ApiKeyCommand, CreateListRevoke) {
  TempDir dir;
  Output created;
  ApiKeyCreateOptions options = Options(dir.path());
  options.expires_in = "90d";
  options.clearances = {"personal"};
  ASSERT_EQ(CreateApiKey(options, kNow, created.io()), 0) << created.err.str();
  std::string token = FirstLine(created.out.str());
  EXPECT_EQ(created.out.str(), token + "\n") << "stdout holds the token alone";
  ASSERT_EQ(token.substr(0, 4), "dpk_");
  std::string id = token.substr(4, 12);
  EXPECT_THAT(created.err.str(), HasSubstr("created API key " + id));
  EXPECT_THAT(created.err.str(), HasSubstr("expires 2024-02-12T22:13:20"));
  EXPECT_THAT(created.err.str(), HasSubstr("not shown again"));

  Output listed;
  ASSERT_EQ(ListApiKeys(dir.path(), listed.io()), 0) << listed.err.str();
  json::value list = json::parse(listed.out.str());
  ASSERT_EQ(list.as_array().size(), 1u);
  const json::object& key = list.as_array()[0].as_object();
  EXPECT_EQ(key.at("id").as_string(), id);
  EXPECT_EQ(key.at("name").as_string(), "historian");
  EXPECT_EQ(key.at("roles"), json::value(json::array{"engineer"}));
  EXPECT_EQ(key.at("clearances"), json::value(json::array{"personal"}));
  EXPECT_FALSE(key.contains("revoked"));
  EXPECT_EQ(listed.out.str().find(token.substr(17)), std::string::npos)
      << "list never shows the secret";

  Output revoked;
  ASSERT_EQ(RevokeApiKey(dir.path(), id, kNow + 1h, revoked.io()), 0) << revoked.err.str();

  // What the server will see: the key exists, and is revoked.
  auto store = auth::ApiKeyStore::Open(auth::ApiKeyFilePath(dir.path())).value();
  EXPECT_EQ(store->Verify(token, kNow + 2h).status().message(), "API key '" + id + "' was revoked");
}

TEST(ApiKeyCommand, CreatedTokenVerifiesAgainstTheDataDirectory) {
  TempDir dir;
  Output created;
  ASSERT_EQ(CreateApiKey(Options(dir.path()), kNow, created.io()), 0) << created.err.str();
  auto store = auth::ApiKeyStore::Open(auth::ApiKeyFilePath(dir.path())).value();
  auto principal = store->Verify(FirstLine(created.out.str()), kNow);
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_EQ(principal->roles, std::vector<std::string>{"engineer"});
  EXPECT_FALSE(store->List().front().expires.has_value());
}

TEST(ApiKeyCommand, RunningServerHoldsTheDirectory) {
  TempDir dir;
  auto server_store = auth::ApiKeyStore::Open(auth::ApiKeyFilePath(dir.path()));
  ASSERT_TRUE(server_store.ok());
  Output created;
  EXPECT_EQ(CreateApiKey(Options(dir.path()), kNow, created.io()), 1);
  EXPECT_EQ(created.out.str(), "");
  EXPECT_THAT(created.err.str(), HasSubstr("in use by another process (a running server?)"));
  EXPECT_THAT(created.err.str(), HasSubstr("stop the server first"));
  Output listed;
  EXPECT_EQ(ListApiKeys(dir.path(), listed.io()), 1);
  EXPECT_THAT(listed.err.str(), HasSubstr("stop the server first"));
}

TEST(ApiKeyCommand, ListAndRevokeCreateNothing) {
  TempDir dir;
  Output listed;
  ASSERT_EQ(ListApiKeys(dir.path(), listed.io()), 0) << listed.err.str();
  EXPECT_EQ(listed.out.str(), "[]\n");
  Output revoked;
  EXPECT_EQ(RevokeApiKey(dir.path(), "aaaaaaaaaaaa", kNow, revoked.io()), 1);
  EXPECT_THAT(revoked.err.str(), HasSubstr("no API key 'aaaaaaaaaaaa'"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/auth"));

  Output missing;
  EXPECT_EQ(ListApiKeys(dir.path() + "/nope", missing.io()), 1);
  EXPECT_THAT(missing.err.str(), HasSubstr("no data directory"));
}

TEST(ApiKeyCommand, BadOptionsAreReported) {
  TempDir dir;
  Output no_role;
  ApiKeyCreateOptions options = Options(dir.path());
  options.roles.clear();
  EXPECT_EQ(CreateApiKey(options, kNow, no_role.io()), 1);
  EXPECT_THAT(no_role.err.str(), HasSubstr("at least one role"));

  Output bad_expiry;
  options = Options(dir.path());
  options.expires_in = "3w";
  EXPECT_EQ(CreateApiKey(options, kNow, bad_expiry.io()), 1);
  EXPECT_THAT(bad_expiry.err.str(), HasSubstr("--expires-in '3w'"));

  Output custom_role;
  options = Options(dir.path());
  options.roles = {"kestrel-operator"};
  EXPECT_EQ(CreateApiKey(options, kNow, custom_role.io()), 0);
  EXPECT_THAT(custom_role.err.str(), HasSubstr("'kestrel-operator' is not a built-in role"));
}

TEST(ApiKeyCommand, ExpiresInUnits) {
  EXPECT_EQ(ParseExpiresIn("90d").value(), std::chrono::days(90));
  EXPECT_EQ(ParseExpiresIn("12h").value(), 12h);
  EXPECT_EQ(ParseExpiresIn("30m").value(), 30min);
  for (const char* bad : {"", "d", "0d", "-1d", "1.5h", "10", "10s", "1 d", "99999999d"}) {
    EXPECT_FALSE(ParseExpiresIn(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace doppel::app
