// Data classification through the real binary (docs/security.md, "Data classification"): the
// "classification" key of the serve config, API keys made offline with `--clearance`, and a
// classified property and telemetry masked for a key without the clearance.
#include <gtest/gtest.h>

#include <string>

#include "base/json.h"
#include "client/http_client.h"
#include "server_process.h"

namespace doppel::testing {
namespace {

using client::HttpClient;
using client::HttpHeaders;

constexpr char kModels[] = R"([{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Operator;1",
  "@type": "Interface", "contents": [
    {"@type": "Property", "name": "badgeId", "schema": "string", "writable": true},
    {"@type": "Property", "name": "name", "schema": "string", "writable": true},
    {"@type": "Telemetry", "name": "heartRate", "schema": "double"},
    {"@type": "Telemetry", "name": "steps", "schema": "double"}]}])";

constexpr char kConfig[] = R"({"classification": {
  "classes": {"personal": {"retention": "30d"}},
  "fields": [{"model": "dtmi:test:Operator;1", "path": "badgeId", "class": "personal"},
             {"model": "dtmi:test:Operator;1", "path": "heartRate", "class": "personal"}]}})";

std::string CreateKey(const std::string& data_dir, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"apikey", "create", "--data-dir", data_dir};
  args.insert(args.end(), extra.begin(), extra.end());
  CommandResult r = RunDoppel(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

HttpHeaders Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

json::value Send(HttpClient& http, const std::string& method, const std::string& target,
                 const std::string& token, const std::string& body = "", int expected = 200) {
  auto r = http.Send(method, target, body, Bearer(token));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return json::value();
  EXPECT_EQ(r->status, expected) << method << " " << target << ": " << r->body;
  if (r->body.empty()) return json::value();
  auto parsed = ParseJson(r->body);
  return parsed.ok() ? std::move(parsed).value() : json::value();
}

TEST(ClassificationTest, ConfiguredClassesAreMaskedForKeysWithoutClearance) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  const std::string admin =
      CreateKey(data, {"--name", "admin", "--role", "admin", "--clearance", "*"});
  const std::string viewer = CreateKey(data, {"--name", "wall", "--role", "viewer"});
  const std::string cleared =
      CreateKey(data, {"--name", "hr", "--role", "viewer", "--clearance", "personal"});
  const std::string plain_admin = CreateKey(data, {"--name", "ops", "--role", "admin"});
  const std::string config = dir.Sub("doppel.json");
  WriteFile(config, kConfig);
  auto server = ServerProcess::Start(data, {"--config", config});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = HttpClient::Create((*server)->url()).value();

  Send(*http, "POST", "/models", admin, kModels, 201);
  Send(*http, "PUT", "/digitaltwins/op-1", admin,
       R"({"$metadata": {"$model": "dtmi:test:Operator;1"}, "badgeId": "B-17", "name": "Ada"})");
  Send(*http, "POST", "/digitaltwins/op-1/telemetry", admin, R"({"heartRate": 71, "steps": 1200})",
       204);

  json::value twin = Send(*http, "GET", "/digitaltwins/op-1", viewer);
  EXPECT_FALSE(twin.as_object().contains("badgeId")) << ToJson(twin);
  EXPECT_EQ(twin.at("$metadata").at("badgeId"), json::value(json::object{{"masked", "personal"}}));
  EXPECT_EQ(Send(*http, "GET", "/digitaltwins/op-1", cleared).at("badgeId"), "B-17");

  const std::string probe =
      R"({"query": "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.badgeId = 'B-17'"})";
  EXPECT_EQ(Send(*http, "POST", "/query", viewer, probe).at("value").as_array().size(), 0u);
  EXPECT_EQ(Send(*http, "POST", "/query", cleared, probe).at("value").as_array().size(), 1u);

  json::value live = Send(*http, "GET", "/digitaltwins/op-1/telemetry", viewer);
  EXPECT_FALSE(live.at("telemetry").as_object().contains("heartRate")) << ToJson(live);
  EXPECT_TRUE(live.at("telemetry").as_object().contains("steps"));
  EXPECT_TRUE(Send(*http, "GET", "/digitaltwins/op-1/telemetry", cleared)
                  .at("telemetry")
                  .as_object()
                  .contains("heartRate"));

  // A role is not a clearance: an administrator's key made without one sees the mask.
  EXPECT_TRUE(Send(*http, "GET", "/digitaltwins/op-1", admin).as_object().contains("badgeId"));
  EXPECT_FALSE(
      Send(*http, "GET", "/digitaltwins/op-1", plain_admin).as_object().contains("badgeId"));
}

TEST(ClassificationTest, AMistakeInTheClassificationStopsTheStart) {
  TempDir dir;
  const std::string config = dir.Sub("doppel.json");
  WriteFile(config, R"({"classification": {"classes": {}, "fields": [
      {"model": "dtmi:test:Operator;1", "path": "badgeId", "class": "personal"}]}})");
  CommandResult r = RunDoppel(
      {"serve", "--config", config, "--listen", "127.0.0.1:0", "--data-dir", dir.Sub("data")}, {},
      "", std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("classification.fields[0].class: unknown class 'personal'"),
            std::string::npos)
      << r.out << r.err;
}

}  // namespace
}  // namespace doppel::testing
