// PUT/DELETE /connectors/{name}: the HTTP side over stub services (the registry behind them is
// tested in tests/app/connector_registry_test.cc).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "server/api.h"
#include "twin/events.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::server::testing {
namespace {

class ConnectorApiTest : public ::testing::Test {
 protected:
  HttpResponse Call(DigitalTwinsApi& api, std::string method, std::string target, std::string body = "") {
    HttpRequest req{.method = std::move(method), .target = std::move(target), .headers = {}, .body = std::move(body)};
    return api.Handle(req);
  }

  // Stub services over an in-memory map of name → definition; "fixed" plays a config-file one.
  ApiServices Services() {
    ApiServices services;
    services.connectors = [this] {
      json::array all;
      for (const auto& [name, definition] : defined_) all.push_back(json::object{{"name", name}, {"connected", false}});
      return all;
    };
    services.put_connector = [this](std::string_view name,
                                    const json::value& config) -> Result<std::pair<bool, json::object>> {
      if (name == "fixed") return Status::Conflict("connector 'fixed' comes from the config file; change it there");
      bool created = defined_.insert_or_assign(std::string(name), config).second;
      return std::pair<bool, json::object>(created, json::object{{"name", name}, {"connected", false}});
    };
    services.delete_connector = [this](std::string_view name) -> Status {
      if (name == "fixed") return Status::Conflict("connector 'fixed' comes from the config file; change it there");
      if (defined_.erase(std::string(name)) == 0) return Status::NotFound("connector '" + std::string(name) + "' not found");
      return Status::Ok();
    };
    return services;
  }

  std::map<std::string, json::value> defined_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
};

TEST_F(ConnectorApiTest, PutCreatesThenReplacesAndDeleteRemoves) {
  DigitalTwinsApi api(graph_, clock_, {}, Services());
  const std::string body = R"({"broker": "mqtt://127.0.0.1:1883", "clientId": "c", "mappings": []})";
  HttpResponse created = Call(api, "PUT", "/connectors/site", body);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(ParseJson(created.body).value().at("name").as_string(), "site");
  EXPECT_EQ(defined_.at("site").at("clientId").as_string(), "c");
  EXPECT_EQ(Call(api, "PUT", "/connectors/site", body).status, 200);
  EXPECT_EQ(Call(api, "GET", "/connectors/site").status, 200);
  EXPECT_EQ(Call(api, "DELETE", "/connectors/site").status, 204);
  EXPECT_TRUE(defined_.empty());
  EXPECT_EQ(Call(api, "DELETE", "/connectors/site").status, 404);
  EXPECT_EQ(Call(api, "GET", "/connectors/site").status, 404);
}

TEST_F(ConnectorApiTest, ConflictsAndBadBodiesAreRefused) {
  DigitalTwinsApi api(graph_, clock_, {}, Services());
  HttpResponse fixed = Call(api, "PUT", "/connectors/fixed", "{}");
  EXPECT_EQ(fixed.status, 409);
  EXPECT_NE(fixed.body.find("comes from the config file; change it there"), std::string::npos) << fixed.body;
  EXPECT_EQ(Call(api, "DELETE", "/connectors/fixed").status, 409);
  EXPECT_EQ(Call(api, "PUT", "/connectors/site", "[1]").status, 400);
  EXPECT_EQ(Call(api, "PUT", "/connectors/site", "").status, 400);
  EXPECT_TRUE(defined_.empty());
}

TEST_F(ConnectorApiTest, WithoutTheServiceChangesAnswer503) {
  DigitalTwinsApi api(graph_, clock_);
  HttpResponse put = Call(api, "PUT", "/connectors/site", "{}");
  EXPECT_EQ(put.status, 503);
  EXPECT_NE(put.body.find("connectors cannot be changed on this server"), std::string::npos) << put.body;
  EXPECT_EQ(Call(api, "DELETE", "/connectors/site").status, 503);
}

}  // namespace
}  // namespace doppel::server::testing
