#include "base/json.h"

#include <gtest/gtest.h>

#include "base/clock.h"

namespace doppel {
namespace {

TEST(ParseJson, AcceptsDocumentWithBom) {
  auto v = ParseJson("\xEF\xBB\xBF{\"a\": 1}");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->as_object().at("a").as_int64(), 1);
}

TEST(ParseJson, SyntaxErrorNamesLineAndColumn) {
  auto v = ParseJson("{\n  \"a\": 1,\n  \"b\" 2\n}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("line 3, column 7"), std::string::npos) << v.status().message();
}

TEST(ParseJson, RejectsTooDeep) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto v = ParseJson(deep, JsonLimits{.max_bytes = 1000, .max_depth = 10});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("nesting deeper than the limit of 10"), std::string::npos);
}

TEST(ParseJson, RejectsTooLarge) {
  auto v = ParseJson("[1,2,3]", JsonLimits{.max_bytes = 3, .max_depth = 10});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kPayloadTooLarge);
}

TEST(ParseJson, RejectsInvalidUtf8AndTrailingGarbage) {
  EXPECT_FALSE(ParseJson("\"\xC3\x28\"").ok());
  EXPECT_FALSE(ParseJson("{} x").ok());
  EXPECT_FALSE(ParseJson("").ok());
  EXPECT_FALSE(ParseJson("[1,]").ok());
}

TEST(ToJson, WritesDoublesPlainly) {
  json::object o{{"t", 21.5}, {"n", 3}, {"s", "a\"b"}, {"small", 1.5e-9}};
  EXPECT_EQ(ToJson(o), R"({"t":21.5,"n":3,"s":"a\"b","small":1.5e-09})");
}

TEST(Rfc3339, RoundTrips) {
  auto t = ParseRfc3339("2026-11-25T19:34:17.1234567Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-25T19:34:17.1234567Z");
  auto offset = ParseRfc3339("2026-11-25T20:34:17+01:00");
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(FormatRfc3339(*offset), "2026-11-25T19:34:17.0000000Z");
  EXPECT_FALSE(ParseRfc3339("2026-02-30T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("yesterday").ok());
}

}  // namespace
}  // namespace doppel
