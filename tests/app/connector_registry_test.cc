// The connector registry against a real Mosquitto broker: API-defined connectors start, ingest,
// change their mapping, stop, persist across a restart, and never override the config file's;
// a corrupt connectors.json stops the start. Every wait polls with a deadline.
#include "app/connector_registry.h"

#include <gmock/gmock.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "ingest/ingestor.h"
#include "support/mosquitto_broker.h"
#include "tsdb/query.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::app {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

json::value J(std::string_view text) { return ParseJson(text).value(); }

bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

constexpr std::string_view kSensor = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Sensor;1", "@type": "Interface",
  "contents": [{"@type": "Telemetry", "name": "temperature", "schema": "double"}]})";

class ConnectorRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = doppel::testing::MosquittoBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    ASSERT_TRUE(graph_.AddModels({J(kSensor)}).ok());
    ASSERT_TRUE(graph_.PutTwin("s-1", J(R"({"$metadata": {"$model": "dtmi:test:Sensor;1"}})"), {}).ok());
    store_ = tsdb::SeriesStore::Open(history_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
  }

  // A connector object for this test's broker: `topic` mapped to telemetry.
  json::value Definition(std::string_view topic, std::string_view client_id = "registry-test") const {
    json::object o{{"broker", broker_->url()},
                   {"clientId", client_id},
                   {"username", "doppel"},
                   {"password", "s3cret"},
                   {"reconnect", json::object{{"minSeconds", 1}, {"maxSeconds", 1}}},
                   {"mappings", json::array{json::object{{"topic", topic}}}}};
    return o;
  }

  Result<std::unique_ptr<ConnectorRegistry>> Open(std::vector<connect::mqtt::MqttConnectorConfig> from_config = {}) {
    return ConnectorRegistry::Open(std::move(from_config), data_.path(), *ingestor_, graph_);
  }

  void Publish(const std::string& topic, const std::string& payload) {
    std::string command = "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(broker_->port()) + " -q 1 -t '" + topic +
                          "' -m '" + payload + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  std::size_t Points() {
    auto id = store_->Find("s-1", "temperature");
    if (!id.ok()) return 0;
    return tsdb::QueryRaw(*store_, *id, INT64_MIN, INT64_MAX).value().size();
  }

  // Waits until `name` is subscribed (per the registry's health).
  bool Subscribed(const ConnectorRegistry& registry, std::string_view name) {
    return WaitFor([&] {
      for (const json::value& c : registry.Health()) {
        if (c.at("name").as_string() == name && c.at("subscribed").as_bool()) return true;
      }
      return false;
    });
  }

  std::string FilePath() const { return data_.path() + "/connectors.json"; }

  tsdb::testing::TempDir history_;
  tsdb::testing::TempDir data_;
  std::unique_ptr<doppel::testing::MosquittoBroker> broker_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
};

TEST_F(ConnectorRegistryTest, PutStartsAConnectorThatIngestsAndPersistsIt) {
  auto registry = Open().value();
  ASSERT_TRUE(registry->StartAll().ok());
  auto put = registry->Put("site", Definition("a/{twinId}"));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_TRUE(put->first);  // created
  EXPECT_EQ(put->second.at("name").as_string(), "site");
  EXPECT_EQ(put->second.at("source").as_string(), "api");
  EXPECT_FALSE(put->second.contains("password"));
  ASSERT_TRUE(Subscribed(*registry, "site")) << broker_->Log();

  Publish("a/s-1", R"({"temperature": 21.5})");
  ASSERT_TRUE(WaitFor([&] { return Points() == 1; }));

  json::value file = J(ReadFile(FilePath()));
  ASSERT_EQ(file.as_array().size(), 1u);
  EXPECT_EQ(file.at(0).at("name").as_string(), "site");
  EXPECT_EQ(file.at(0).at("password").as_string(), "s3cret");  // kept as given, for the restart
  struct stat st {};
  ASSERT_EQ(::stat(FilePath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (const json::value& c : registry->Health()) EXPECT_THAT(ToJson(c), ::testing::Not(HasSubstr("s3cret")));
}

TEST_F(ConnectorRegistryTest, ReplacingChangesTheMapping) {
  auto registry = Open().value();
  ASSERT_TRUE(registry->Put("site", Definition("a/{twinId}")).ok());
  auto replaced = registry->Put("site", Definition("b/{twinId}"));
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_FALSE(replaced->first);  // replaced, not created
  ASSERT_TRUE(Subscribed(*registry, "site")) << broker_->Log();
  EXPECT_EQ(registry->Health().size(), 1u);

  Publish("b/s-1", R"({"temperature": 22})");  // only the new mapping takes this topic
  ASSERT_TRUE(WaitFor([&] { return Points() == 1; }));
  json::value file = J(ReadFile(FilePath()));
  ASSERT_EQ(file.as_array().size(), 1u);
  EXPECT_EQ(file.at(0).at("mappings").at(0).at("topic").as_string(), "b/{twinId}");
}

TEST_F(ConnectorRegistryTest, DeleteStopsAndForgetsIt) {
  auto registry = Open().value();
  ASSERT_TRUE(registry->Put("site", Definition("a/{twinId}")).ok());
  ASSERT_TRUE(Subscribed(*registry, "site"));
  ASSERT_TRUE(registry->Delete("site").ok());
  EXPECT_TRUE(registry->Health().empty());
  EXPECT_EQ(J(ReadFile(FilePath())).as_array().size(), 0u);
  EXPECT_EQ(registry->Delete("site").code(), StatusCode::kNotFound);
  // The clientId is free again: a connector of another name may take it.
  EXPECT_TRUE(registry->Put("other", Definition("a/{twinId}")).ok());
  // Once stopped (the server shutting down), nothing starts again.
  registry->StopAll();
  EXPECT_EQ(registry->Put("late", Definition("c/{twinId}", "late")).status().code(), StatusCode::kUnavailable);
}

TEST_F(ConnectorRegistryTest, ANewRegistryOnTheSameDataDirectoryRestoresAndStartsThem) {
  {
    auto registry = Open().value();
    ASSERT_TRUE(registry->Put("site", Definition("a/{twinId}")).ok());
    ASSERT_TRUE(Subscribed(*registry, "site"));
  }
  auto registry = Open().value();
  json::array health = registry->Health();
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health.at(0).at("source").as_string(), "api");
  ASSERT_TRUE(registry->StartAll().ok());
  ASSERT_TRUE(Subscribed(*registry, "site")) << broker_->Log();
  Publish("a/s-1", R"({"temperature": 23})");
  ASSERT_TRUE(WaitFor([&] { return Points() == 1; }));
}

TEST_F(ConnectorRegistryTest, ConfigFileConnectorsAreReadOnlyAndNamesAndClientIdsUnique) {
  json::value site = Definition("a/{twinId}", "from-config");
  site.as_object()["name"] = "site";
  auto registry = Open({connect::mqtt::ParseMqttConnectorConfig(site).value()}).value();
  EXPECT_EQ(registry->Health().at(0).at("source").as_string(), "config");

  Status put = registry->Put("site", Definition("b/{twinId}")).status();
  EXPECT_EQ(put.code(), StatusCode::kConflict);
  EXPECT_THAT(put.message(), HasSubstr("connector 'site' comes from the config file; change it there"));
  Status deleted = registry->Delete("site");
  EXPECT_EQ(deleted.code(), StatusCode::kConflict);
  Status clash = registry->Put("other", Definition("b/{twinId}", "from-config")).status();
  EXPECT_EQ(clash.code(), StatusCode::kConflict);
  EXPECT_THAT(clash.message(), HasSubstr("clientId 'from-config' is already used by connector 'site'"));

  json::value renamed = Definition("b/{twinId}");
  renamed.as_object()["name"] = "elsewhere";
  EXPECT_EQ(registry->Put("other", renamed).status().code(), StatusCode::kInvalidArgument);
  json::value broken = Definition("b/{twinId}");
  broken.as_object()["qos"] = 7;
  Status invalid = registry->Put("other", broken).status();
  EXPECT_EQ(invalid.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.message(), HasSubstr("qos"));
  EXPECT_EQ(registry->Health().size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(FilePath()));  // nothing API-defined was ever stored
}

TEST_F(ConnectorRegistryTest, ACorruptFileStopsTheStartNamingIt) {
  {
    std::ofstream out(FilePath());
    out << "[{\"name\": \"site\",";
  }
  auto opened = Open();
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.status().message(), HasSubstr(FilePath()));
  {
    std::ofstream out(FilePath());
    out << R"([{"name": "site", "broker": "mqtt://127.0.0.1:1", "clientId": "x"}])";  // no mappings
  }
  opened = Open();
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(opened.status().message(), HasSubstr(FilePath()));
}

}  // namespace
}  // namespace doppel::app
