// Security through the real binary (docs/security.md): dev mode only on loopback, API keys made
// offline with `doppel apikey`, tokens on HTTP and on the WebSocket upgrade, the CLI's
// DOPPEL_TOKEN, JWTs from a configured issuer, and an audit log that survives a restart with
// its chain intact.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "base/json.h"
#include "client/http_client.h"
#include "server_process.h"
#include "support/test_tokens.h"
#include "test_models.h"

namespace doppel::testing {
namespace {

using client::HttpClient;
using client::HttpHeaders;

// The token `doppel apikey create` prints on its first line.
std::string CreateKey(const std::string& data_dir, const std::string& name, const std::string& role) {
  CommandResult r = RunDoppel({"apikey", "create", "--data-dir", data_dir, "--name", name, "--role", role});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

HttpHeaders Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

int StatusOf(HttpClient& http, const std::string& method, const std::string& target, const HttpHeaders& headers,
             const std::string& body = "") {
  auto r = http.Send(method, target, body, headers);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->status : -1;
}

HttpHeaders WebSocketUpgrade(HttpHeaders extra = {}) {
  HttpHeaders h = {{"Upgrade", "websocket"},
                   {"Connection", "Upgrade"},
                   {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                   {"Sec-WebSocket-Version", "13"}};
  h.insert(h.end(), extra.begin(), extra.end());
  return h;
}

TEST(SecurityTest, WithoutCredentialsItRefusesAnyAddressButLoopback) {
  TempDir dir;
  CommandResult r = RunDoppel({"serve", "--listen", "0.0.0.0:0", "--data-dir", dir.Sub("data")}, {}, "",
                              std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refusing to listen on 0.0.0.0:0 without credentials"), std::string::npos) << r.err;

  auto server = ServerProcess::Start(dir.Sub("data"));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_NE((*server)->Output().find("DEV MODE"), std::string::npos) << (*server)->Output();
  auto http = HttpClient::Create((*server)->url()).value();
  auto health = http->Get("/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_NE(health->body.find("\"mode\":\"dev\""), std::string::npos) << health->body;
  EXPECT_EQ(StatusOf(*http, "GET", "/models", {}), 200);
}

TEST(SecurityTest, AnOfflineKeyTurnsAuthenticationOnForHttpStreamsAndTheCli) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  const std::string admin = CreateKey(data, "ops-admin", "admin");
  ASSERT_EQ(admin.rfind("dpk_", 0), 0u) << admin;
  auto server = ServerProcess::Start(data);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = HttpClient::Create((*server)->url()).value();

  EXPECT_EQ(StatusOf(*http, "GET", "/models", {}), 401);
  EXPECT_EQ(StatusOf(*http, "GET", "/models", Bearer(admin + "x")), 401);
  EXPECT_EQ(StatusOf(*http, "GET", "/models", Bearer(admin)), 200);
  EXPECT_EQ(StatusOf(*http, "POST", "/models", Bearer(admin), kTestModels), 201);

  // The WebSocket upgrade needs a token too: in the header, or ?access_token= for browsers.
  EXPECT_EQ(StatusOf(*http, "GET", "/ws", WebSocketUpgrade()), 401);
  auto upgraded = HttpClient::Create((*server)->url()).value();
  EXPECT_EQ(StatusOf(*upgraded, "GET", "/ws?access_token=" + admin, WebSocketUpgrade()), 101);

  // A viewer made through the API reads but may not change anything.
  auto created = http->Post("/auth/apikeys", R"({"name": "wall", "roles": ["viewer"]})", Bearer(admin));
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 201) << created->body;
  std::string viewer(ParseJson(created->body).value().at("token").as_string());
  EXPECT_EQ(StatusOf(*http, "GET", "/models", Bearer(viewer)), 200);
  EXPECT_EQ(StatusOf(*http, "DELETE", "/models/dtmi:doppel:test:Thermostat;1", Bearer(viewer)), 403);

  // The CLI takes its token from the environment.
  const std::string url = "DOPPEL_URL=" + (*server)->url();
  EXPECT_NE(RunDoppel({"models", "list"}, {url}).exit_code, 0);
  CommandResult listed = RunDoppel({"models", "list"}, {url, "DOPPEL_TOKEN=" + viewer});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;

  // The audit log survives a restart, chain intact, with the denial in it.
  ASSERT_TRUE((*server)->Stop().ok());
  server = ServerProcess::Start(data);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  http = HttpClient::Create((*server)->url()).value();
  auto verified = http->Get("/audit/verify", Bearer(admin));
  ASSERT_TRUE(verified.ok());
  EXPECT_NE(verified->body.find("\"ok\":true"), std::string::npos) << verified->body;
  auto denials = http->Get("/audit?action=auth.denied", Bearer(admin));
  ASSERT_TRUE(denials.ok());
  EXPECT_NE(denials->body.find("dtmi:doppel:test:Thermostat;1"), std::string::npos) << denials->body;
}

TEST(SecurityTest, JwtsFromTheConfiguredIssuerAreAccepted) {
  TempDir dir;
  const std::string secret = "an-hs256-secret-of-at-least-32-bytes!!";
  WriteFile(dir.Sub("doppel.json"), R"({"dataDir": "data", "listen": "127.0.0.1:0",
      "auth": {"jwt": {"issuer": "https://idp.test", "audience": "doppel", "hs256Secret": ")" + secret + R"("},
               "roles": {"farm": [{"actions": ["read"], "twins": ["kr-*"]}]}}})");
  auto server = ServerProcess::Start(dir.Sub("data"), {"--config", dir.Sub("doppel.json")});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = HttpClient::Create((*server)->url()).value();
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  auto mint = [&](int64_t exp, const std::string& roles) {
    return MintHs256(secret, R"({"iss": "https://idp.test", "aud": "doppel", "sub": "alice", "exp": )" +
                                 std::to_string(exp) + R"(, "roles": )" + roles + "}");
  };
  EXPECT_EQ(StatusOf(*http, "GET", "/auth/whoami", Bearer(mint(now + 600, R"(["farm"])"))), 200);
  EXPECT_EQ(StatusOf(*http, "GET", "/auth/whoami", Bearer(mint(now - 600, R"(["farm"])"))), 401);
  EXPECT_EQ(StatusOf(*http, "GET", "/auth/apikeys", Bearer(mint(now + 600, R"(["farm"])"))), 403);
  EXPECT_EQ(StatusOf(*http, "GET", "/auth/apikeys", Bearer(mint(now + 600, R"(["admin"])"))), 200);
}

}  // namespace
}  // namespace doppel::testing
