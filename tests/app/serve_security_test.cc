// The server's security services as `doppel serve` wires them (app/serve_security.h): a
// WebSocket upgrade yields the caller's twin filter and, with a data classification, the mask
// of the classified values its clearances do not cover.
#include "app/serve_security.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/temp_dir.h"
#include "base/clock.h"
#include "twin/journal.h"

namespace doppel::app {
namespace {

using auth::testing::TempDir;

constexpr char kModel[] = R"({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Operator;1",
  "@type": "Interface", "contents": [{"@type": "Property", "name": "badgeId", "schema": "string"}]})";

class ServeSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(graph_.AddModels({ParseJson(kModel).value()}).ok());
    ServeOptions options;
    options.data_dir = dir_.path();
    ASSERT_TRUE(ApplyServeConfig(ParseJson(R"({"classification": {"classes": {"personal": {}},
        "fields": [{"model": "dtmi:test:Operator;1", "path": "badgeId", "class": "personal"}]}})")
                                     .value(),
                                 "", options)
                    .ok());
    auto security = ServerSecurity::Open(options, graph_, events_);
    ASSERT_TRUE(security.ok()) << security.status().ToString();
    security_ = std::move(*security);
    security_->AddTo(services_);
  }

  std::string Key(std::vector<std::string> clearances) {
    auto created = services_.api_keys->Create(
        {.name = "k", .roles = {"viewer"}, .clearances = std::move(clearances)},
        SystemClock::Instance().Now());
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->token : "";
  }

  Result<stream::StreamAccess> Upgrade(const std::string& token) const {
    server::HttpRequest request;
    request.method = "GET";
    request.target = "/ws?access_token=" + token;
    return security_->AuthorizeStream(request);
  }

  TempDir dir_;
  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<ServerSecurity> security_;
  server::ApiServices services_;
};

TEST_F(ServeSecurityTest, TheClassificationReachesTheApiAndStreams) {
  ASSERT_NE(services_.classification, nullptr);
  EXPECT_EQ(services_.classification->ClassOf("dtmi:test:Operator;1", "badgeId"), "personal");

  auto viewer = Upgrade(Key({}));
  ASSERT_TRUE(viewer.ok()) << viewer.status().ToString();
  EXPECT_EQ(viewer->masked.Hides("dtmi:test:Operator;1", "badgeId"), "personal");

  auto cleared = Upgrade(Key({"personal"}));
  ASSERT_TRUE(cleared.ok()) << cleared.status().ToString();
  EXPECT_FALSE(static_cast<bool>(cleared->masked));

  EXPECT_EQ(Upgrade("dpk_wrong").status().code(), StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace doppel::app
