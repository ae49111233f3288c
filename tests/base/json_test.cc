#include "base/json.h"

#include <gtest/gtest.h>

#include <cstdlib>

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

// Found by tests/fuzz/json_fuzz.cc: Boost.JSON reads "2e391" as infinity, which ToJson could
// only write back as null, so the document silently changed on the way through.
TEST(ParseJson, RejectsNumbersOutOfDoubleRange) {
  auto v = ParseJson("{\"a\": [1,\n -2e391]}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("line 2, column 2"), std::string::npos)
      << v.status().message();
  EXPECT_NE(v.status().message().find("out of the range"), std::string::npos);
  EXPECT_FALSE(ParseJson("1e400").ok());
  EXPECT_FALSE(ParseJson("{\"s\": \"1e400\", \"n\": 1e999}").ok());
  EXPECT_TRUE(ParseJson("[1.7976931348623157e308, \"1e400\", 1e-400]").ok());
}

// Found by tests/fuzz/json_fuzz.cc: Boost.JSON 1.81 read "1119999999299119999111" as a double
// 1 ULP away from the nearest one, so ToJson's shortest form of it read back as yet another
// double — a stored value drifted on every store/restore.
TEST(ParseJson, ReadsDoublesCorrectlyRounded) {
  for (const char* text : {"1119999999299119999111", "1.1199999992991199e+21", "0.1", "21.5",
                           "96006660002511456709e41", "9.600666000251145e+60",
                           "-2.2250738585072014e-308", "9007199254740993.0"}) {
    auto v = ParseJson(text);
    ASSERT_TRUE(v.ok()) << text;
    ASSERT_TRUE(v->is_double()) << text;
    EXPECT_EQ(v->get_double(), std::strtod(text, nullptr)) << text;
    auto again = ParseJson(ToJson(*v));
    ASSERT_TRUE(again.ok()) << ToJson(*v);
    EXPECT_EQ(again->to_number<double>(), v->get_double()) << text << " → " << ToJson(*v);
  }
  // Doubles among other values and inside strings keep their places.
  auto mixed = ParseJson(R"({"s":"1.5e3","a":[1,1119999999299119999111,{"b":2.5}],"c":-0.5})");
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->at("a").at(1).get_double(), std::strtod("1119999999299119999111", nullptr));
  EXPECT_EQ(mixed->at("a").at(2).at("b").get_double(), 2.5);
  EXPECT_EQ(mixed->at("s").get_string(), "1.5e3");
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

// A TimePoint holds int64 nanoseconds: years it cannot hold are refused, not wrapped (a
// fuzzer found 0001-01-01 silently becoming a time in 2185).
TEST(Rfc3339, RefusesTimesOutsideTheRepresentableRange) {
  for (const char* outside : {"0001-01-01T00:00:00Z", "1677-09-21T00:00:00Z", "2262-04-12T00:00:00Z",
                              "9999-12-31T23:59:59Z"}) {
    auto t = ParseRfc3339(outside);
    ASSERT_FALSE(t.ok()) << outside << " became " << FormatRfc3339(*t);
    EXPECT_NE(t.status().message().find("outside the times Doppel can represent"), std::string::npos);
  }
  auto early = ParseRfc3339("1678-01-01T00:00:00Z");
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(FormatRfc3339(*early), "1678-01-01T00:00:00.0000000Z");
  auto late = ParseRfc3339("2262-04-11T00:00:00Z");
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(FormatRfc3339(*late), "2262-04-11T00:00:00.0000000Z");
}

}  // namespace
}  // namespace doppel
