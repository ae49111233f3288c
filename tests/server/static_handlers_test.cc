// The dashboard's assets (static_handlers.h): served from the web root at / and /assets/<name>,
// public, never outside the root, and never in the way of the API's routes.
#include "server/internal/static_handlers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "api_test_fixture.h"
#include "auth/api_keys.h"
#include "auth/authenticator.h"
#include "tsdb/temp_dir.h"

namespace doppel::server::testing {
namespace {

namespace fs = std::filesystem;
using internal::ServeStatic;

void WriteFile(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

HttpRequest Get(std::string target, std::string method = "GET") {
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  return request;
}

class StaticHandlersTest : public ::testing::Test {
 protected:
  StaticHandlersTest() {
    WriteFile(fs::path(dir_.path()) / "index.html", "<!doctype html><title>Doppel</title>");
    WriteFile(fs::path(dir_.path()) / "assets" / "app-AB12CD.js", "console.log(1)");
    WriteFile(fs::path(dir_.path()) / "assets" / "app-AB12CD.css", "body{}");
    WriteFile(fs::path(dir_.path()) / "secret.txt", "not an asset");
  }
  std::optional<HttpResponse> Serve(const std::string& target, const std::string& method = "GET") {
    return ServeStatic(dir_.path(), Get(target, method));
  }
  tsdb::testing::TempDir dir_;
};

TEST_F(StaticHandlersTest, TheRootServesIndexHtmlRevalidatedAndWithAContentSecurityPolicy) {
  for (const char* target : {"/", "/index.html", "/?x=1"}) {
    std::optional<HttpResponse> r = Serve(target);
    ASSERT_TRUE(r.has_value()) << target;
    EXPECT_EQ(r->status, 200) << target;
    EXPECT_EQ(r->body, "<!doctype html><title>Doppel</title>");
    EXPECT_EQ(r->Header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(r->Header("Cache-Control"), "no-cache");
    EXPECT_NE(r->Header("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  }
}

TEST_F(StaticHandlersTest, AssetsAreServedWithTheirTypeAndCachedForever) {
  std::optional<HttpResponse> js = Serve("/assets/app-AB12CD.js");
  ASSERT_TRUE(js.has_value());
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->body, "console.log(1)");
  EXPECT_EQ(js->Header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js->Header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(js->Header("X-Content-Type-Options"), "nosniff");
  std::optional<HttpResponse> css = Serve("/assets/app-AB12CD.css");
  ASSERT_TRUE(css.has_value());
  EXPECT_EQ(css->Header("Content-Type"), "text/css; charset=utf-8");
}

TEST_F(StaticHandlersTest, AMissingAssetIs404NamingIt) {
  std::optional<HttpResponse> r = Serve("/assets/app-GONE.js");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("app-GONE.js"), std::string::npos) << r->body;
}

TEST_F(StaticHandlersTest, NothingOutsideTheAssetsDirectoryIsReachable) {
  for (const char* target : {"/assets/..%2Fsecret.txt", "/assets/../secret.txt", "/assets/.hidden",
                             "/assets/a/b.js", "/assets/", "/secret.txt", "/assets/%2e%2e"}) {
    std::optional<HttpResponse> r = Serve(target);
    EXPECT_TRUE(!r.has_value() || r->status == 404) << target;
    if (r.has_value()) {
      EXPECT_EQ(r->body.find("not an asset"), std::string::npos) << target;
    }
  }
}

TEST_F(StaticHandlersTest, OnlyGetIsServedAndAnEmptyRootServesNothing) {
  EXPECT_FALSE(Serve("/", "POST").has_value());
  EXPECT_FALSE(Serve("/assets/app-AB12CD.js", "DELETE").has_value());
  EXPECT_FALSE(ServeStatic("", Get("/")).has_value());
  EXPECT_FALSE(Serve("/models").has_value());
}

TEST_F(StaticHandlersTest, WithoutAnIndexTheRootSaysHowToBuildIt) {
  tsdb::testing::TempDir empty;
  std::optional<HttpResponse> r = ServeStatic(empty.path(), Get("/"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("web-build.sh"), std::string::npos) << r->body;
}

// Through the API with authentication on: the page loads without a token, the API still
// needs one, and unknown paths are still the API's 404.
TEST_F(StaticHandlersTest, TheApiServesTheDashboardPubliclyAndKeepsItsRoutesGuarded) {
  twin::MemoryJournal journal;
  twin::EventBus events;
  ManualClock clock;
  twin::TwinGraph graph(journal, clock, events);
  std::unique_ptr<auth::ApiKeyStore> keys = auth::ApiKeyStore::InMemory();
  ASSERT_TRUE(keys->Create({.name = "admin", .roles = {"admin"}}, clock.Now()).ok());
  auth::Authenticator authenticator({.api_keys = keys.get()});
  ApiServices services;
  services.authenticator = &authenticator;
  services.web_root = dir_.path();
  DigitalTwinsApi api(graph, clock, {}, services);

  HttpResponse page = api.Handle(Get("/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(api.Handle(Get("/assets/app-AB12CD.js")).status, 200);
  EXPECT_EQ(api.Handle(Get("/models")).status, 401);
  HttpResponse unknown = api.Handle(Get("/nowhere"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("RouteNotFound"), std::string::npos) << unknown.body;
}

}  // namespace
}  // namespace doppel::server::testing
