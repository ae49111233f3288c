// MQTT connectors defined through the API, through the real binary: PUT a connector over HTTP,
// publish with mosquitto_pub, read the twin's history; restart the server and it is still
// there and still ingesting; config-file connectors stay read-only; backups carry the file.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "support/mosquitto_broker.h"
#include "test_models.h"

namespace doppel::testing {
namespace {

void Publish(int port, const std::string& topic, const std::string& payload) {
  std::string command = "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(port) + " -q 1 -t '" + topic + "' -m '" +
                        payload + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

bool Eventually(const std::function<bool()>& probe) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return probe();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Subscribed(client::HttpClient& http, const std::string& name) {
  return Eventually([&] {
    auto r = Send(http, "GET", "/connectors/" + name);
    return r.status == 200 && Json(r.body).at("subscribed").as_bool();
  });
}

// The temperatures history holds for m-1, in time order.
std::vector<double> History(client::HttpClient& http) {
  json::object request{{"series", json::array{json::object{{"twin", "m-1"}, {"path", "temperature"}}}},
                       {"mode", "raw"},
                       {"start", "2026-11-25T00:00:00Z"},
                       {"end", "2026-11-26T00:00:00Z"}};
  auto r = Send(http, "POST", "/timeseries/query", ToJson(request));
  std::vector<double> values;
  if (r.status != 200) return values;
  const json::value body = Json(r.body);
  for (const auto& series : body.at("series").as_array()) {
    for (const auto& point : series.at("points").as_array()) {
      const json::value& v = point.is_array() ? point.as_array().at(1) : point.at("value");
      values.push_back(v.to_number<double>());
    }
  }
  return values;
}

TEST(ConnectorApiTest, AConnectorPutOverHttpIngestsAndSurvivesARestart) {
  auto broker = MosquittoBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  const int port = (*broker)->port();
  TempDir dir;
  const std::string config = dir.Sub("doppel.json");
  WriteFile(config, R"({"connectors": [{"name": "from-file", "broker": ")" + (*broker)->url() +
                        R"(", "clientId": "doppel-file", "mappings": [{"topic": "file/{twinId}"}]}]})");
  const std::string data = dir.Sub("data");
  auto server = ServerProcess::Start(data, {"--config", config});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = Connect((*server)->url());
  ASSERT_EQ(Send(*http, "POST", "/models", kTestModels).status, 201);
  ASSERT_EQ(Send(*http, "PUT", "/digitaltwins/m-1", SensorTwin(20)).status, 200);

  const std::string connector = R"({"broker": ")" + (*broker)->url() + R"(", "clientId": "doppel-api",
      "username": "u", "password": "p4ss",
      "mappings": [{"topic": "site/{twinId}/telemetry", "timestamp": {"field": "ts", "format": "rfc3339"}}]})";
  auto put = Send(*http, "PUT", "/connectors/site", connector);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(Json(put.body).at("source").as_string(), "api");
  EXPECT_EQ(put.body.find("p4ss"), std::string::npos);
  ASSERT_TRUE(Subscribed(*http, "site")) << (*broker)->Log();
  EXPECT_EQ(Send(*http, "GET", "/connectors").body.find("p4ss"), std::string::npos);

  Publish(port, "site/m-1/telemetry", R"({"ts": "2026-11-25T10:00:00Z", "temperature": 21.5})");
  ASSERT_TRUE(Eventually([&] { return History(*http) == std::vector<double>{21.5}; })) << (*server)->Output();

  // The config file's connector is read-only here; names and clientIds are unique.
  auto conflict = Send(*http, "PUT", "/connectors/from-file", connector);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_NE(conflict.body.find("comes from the config file; change it there"), std::string::npos) << conflict.body;
  EXPECT_EQ(Send(*http, "DELETE", "/connectors/from-file").status, 409);
  EXPECT_EQ(Send(*http, "PUT", "/connectors/other", connector).status, 409);  // clientId doppel-api taken
  EXPECT_EQ(Send(*http, "PUT", "/connectors/bad", R"({"broker": "ftp://x"})").status, 400);

  // Backups carry the API-defined connectors.
  const std::string backup = dir.Sub("backup");
  ASSERT_EQ(Send(*http, "POST", "/backup", ToJson(json::object{{"path", backup}})).status, 201);
  EXPECT_TRUE(std::filesystem::exists(backup + "/connectors.json"));
  CommandResult restore = RunDoppel({"restore", backup, "--data-dir", dir.Sub("restored")});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(ReadAll(dir.Sub("restored") + "/connectors.json"), ReadAll(data + "/connectors.json"));
  EXPECT_NE(ReadAll(data + "/connectors.json").find("p4ss"), std::string::npos);  // kept for the restart

  EXPECT_EQ((*server)->Stop().value(), 0);
  server = ServerProcess::Start(data, {"--config", config});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  http = Connect((*server)->url());
  ASSERT_TRUE(Subscribed(*http, "site")) << (*server)->Output();
  Publish(port, "site/m-1/telemetry", R"({"ts": "2026-11-25T10:00:01Z", "temperature": 22.5})");
  ASSERT_TRUE(Eventually([&] { return History(*http) == std::vector<double>{21.5, 22.5}; }))
      << (*server)->Output();

  EXPECT_EQ(Send(*http, "DELETE", "/connectors/site").status, 204);
  EXPECT_EQ(Send(*http, "GET", "/connectors/site").status, 404);
  EXPECT_EQ(Send(*http, "DELETE", "/connectors/site").status, 404);
  EXPECT_EQ((*server)->Stop().value(), 0);
}

}  // namespace
}  // namespace doppel::testing
