// The config file's "analytics" section: kept for the analytics service (which checks each
// definition when it opens), its shape checked here, a wrong key or type refused and named.
#include <gtest/gtest.h>

#include "app/serve.h"

namespace doppel::app {
namespace {

Status Apply(std::string_view text, ServeOptions& options) {
  return ApplyServeConfig(ParseJson(text).value(), "", options);
}

TEST(ServeAnalyticsConfigTest, KeepsTheDefinitionsForTheService) {
  ServeOptions options;
  ASSERT_TRUE(Apply(R"({"analytics": {
      "detectors": {"bearing": {"model": "dtmi:a:B;1", "signals": ["t"]}},
      "rul": {}, "kpis": {"oee": {"model": "dtmi:a:B;1"}}}})", options).ok());
  EXPECT_EQ(options.analytics.at("detectors").at("bearing").at("model").as_string(), "dtmi:a:B;1");
  EXPECT_EQ(options.analytics.at("kpis").as_object().size(), 1u);
}

TEST(ServeAnalyticsConfigTest, AWrongKeyOrTypeIsRefusedAndNamed) {
  ServeOptions options;
  Status unknown = Apply(R"({"analytics": {"detector": {}}})", options);
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("analytics.detector"), std::string::npos) << unknown.message();
  EXPECT_NE(unknown.message().find("unknown key"), std::string::npos) << unknown.message();
  Status not_object = Apply(R"({"analytics": {"rul": []}})", options);
  EXPECT_NE(not_object.message().find("analytics.rul"), std::string::npos) << not_object.message();
  EXPECT_EQ(Apply(R"({"analytics": 3})", options).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace doppel::app
