#include "server/router.h"

#include <gtest/gtest.h>

#include "server/url.h"

namespace doppel::server {
namespace {

RouteHandler Answer(int status) {
  return [status](const HttpRequest&, const RouteMatch&) -> Result<HttpResponse> {
    HttpResponse r;
    r.status = status;
    return r;
  };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(router_.Add("GET", "/models", Answer(1)).ok());
    ASSERT_TRUE(router_.Add("POST", "/models", Answer(2)).ok());
    ASSERT_TRUE(router_.Add("GET", "/digitaltwins/{id}", Answer(3)).ok());
    ASSERT_TRUE(router_.Add("PUT", "/digitaltwins/{id}", Answer(4)).ok());
    ASSERT_TRUE(router_.Add("GET", "/digitaltwins/{id}/relationships/{relationshipId}", Answer(5)).ok());
    ASSERT_TRUE(router_.Add("GET", "/", Answer(6)).ok());
  }
  int Run(std::string_view method, std::string_view path) {
    auto m = router_.Match(method, path);
    if (!m.ok()) return -m.status().http_status();
    HttpRequest req;
    return m->route->handler(req, *m)->status;
  }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralAndParameterisedRoutes) {
  EXPECT_EQ(Run("GET", "/models"), 1);
  EXPECT_EQ(Run("POST", "/models"), 2);
  EXPECT_EQ(Run("GET", "/digitaltwins/pump-1"), 3);
  EXPECT_EQ(Run("PUT", "/digitaltwins/pump-1"), 4);
  EXPECT_EQ(Run("GET", "/digitaltwins/a/relationships/b"), 5);
  EXPECT_EQ(Run("GET", "/"), 6);
}

TEST_F(RouterTest, ExtractsAndPercentDecodesParameters) {
  auto m = router_.Match("GET", "/digitaltwins/room%2F1%20a/relationships/r%3B1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->params.Get("id"), "room/1 a");  // %2F stays inside the segment
  EXPECT_EQ(m->params.Get("relationshipId"), "r;1");
  EXPECT_EQ(m->params.Get("nope"), "");
  EXPECT_EQ(m->route->pattern, "/digitaltwins/{id}/relationships/{relationshipId}");
}

TEST_F(RouterTest, PlusInPathIsLiteral) {
  auto m = router_.Match("GET", "/digitaltwins/a+b");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->params.Get("id"), "a+b");
}

TEST_F(RouterTest, IgnoresOneTrailingSlash) {
  EXPECT_EQ(Run("GET", "/models/"), 1);
  EXPECT_EQ(Run("GET", "/digitaltwins/x/"), 3);
}

TEST_F(RouterTest, UnknownPathIs404NamingThePath) {
  auto m = router_.Match("GET", "/nosuch/thing");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().http_status(), 404);
  EXPECT_EQ(m.status().error_code(), "RouteNotFound");
  EXPECT_NE(m.status().message().find("/nosuch/thing"), std::string::npos);
}

TEST_F(RouterTest, EmptyParameterDoesNotMatch) {
  EXPECT_EQ(Run("GET", "/digitaltwins//relationships/x"), -404);
  EXPECT_EQ(Run("GET", "/digitaltwins//"), -404);
}

TEST_F(RouterTest, WrongMethodIs405ListingAllowedMethods) {
  auto m = router_.Match("DELETE", "/models");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().http_status(), 405);
  EXPECT_NE(m.status().message().find("allowed: GET, POST"), std::string::npos) << m.status().message();
  EXPECT_EQ(router_.AllowedMethods("/digitaltwins/x"), (std::vector<std::string>{"GET", "PUT"}));
  EXPECT_TRUE(router_.AllowedMethods("/nothing").empty());
}

TEST_F(RouterTest, BadPercentEncodingIs400) {
  for (std::string_view path : {"/digitaltwins/%zz", "/digitaltwins/abc%2", "/digitaltwins/%00", "/digitaltwins/%C3%28"}) {
    auto m = router_.Match("GET", path);
    ASSERT_FALSE(m.ok()) << path;
    EXPECT_EQ(m.status().http_status(), 400) << path;
    EXPECT_NE(m.status().message().find("bad URL encoding"), std::string::npos) << m.status().message();
  }
}

TEST_F(RouterTest, PathMustBeAbsolute) {
  EXPECT_EQ(Run("GET", "models"), -400);
  EXPECT_EQ(Run("GET", ""), -400);
  EXPECT_EQ(Run("OPTIONS", "*"), -400);
}

TEST_F(RouterTest, LiteralSegmentsAreCaseSensitive) { EXPECT_EQ(Run("GET", "/Models"), -404); }

TEST(RouterAdd, RejectsMalformedAndClashingPatterns) {
  Router r;
  EXPECT_EQ(r.Add("GET", "models", Answer(1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/a/{}", Answer(1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/a/{x", Answer(1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/a/x{y}", Answer(1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/a/{x}/{x}", Answer(1)).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(r.Add("GET", "/a/{x}", Answer(1)).ok());
  EXPECT_EQ(r.Add("GET", "/a/{y}", Answer(1)).code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(r.Add("PUT", "/a/{y}", Answer(1)).ok());
  EXPECT_EQ(r.routes().size(), 2u);
}

TEST(PercentDecode, DecodesAndValidates) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(*PercentDecode("a+b"), "a+b");
  EXPECT_EQ(*PercentDecode("a+b", /*plus_is_space=*/true), "a b");
  EXPECT_EQ(*PercentDecode("%E2%82%AC"), "\xE2\x82\xAC");
  auto bad = PercentDecode("ab%4");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("offset 2"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(PercentDecode("%ED%A0%80").ok());  // a UTF-16 surrogate
  EXPECT_FALSE(PercentDecode("%C0%AF").ok());     // overlong '/'
  EXPECT_FALSE(PercentDecode("\xFF").ok());       // raw invalid byte
}

// Found by tests/fuzz/http_request_fuzz.cc: "%00" was refused but a raw NUL passed, so the
// re-encoded form of an accepted value ("%00") no longer decoded.
TEST(PercentDecode, RefusesRawNulLikeEncodedNul) {
  auto raw = PercentDecode(std::string_view("/models\0x", 9));
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(raw.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(raw.status().message().find("offset 7"), std::string::npos) << raw.status().message();
  EXPECT_FALSE(PercentDecode("a%00b").ok());
  EXPECT_FALSE(QueryParams::Parse(std::string_view("a=\0", 3)).ok());
}

TEST(SanitizeUtf8, ReplacesOnlyInvalidBytes) {
  EXPECT_EQ(SanitizeUtf8("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");
  EXPECT_EQ(SanitizeUtf8("a\xC0\x80" "b"), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  EXPECT_EQ(SanitizeUtf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(PercentEncode, RoundTrips) {
  std::string text = "dtmi:com:example:Pump;1 / é?&=";
  EXPECT_EQ(PercentEncode("aZ0-._~"), "aZ0-._~");
  EXPECT_EQ(PercentEncode("a b;"), "a%20b%3B");
  EXPECT_EQ(*PercentDecode(PercentEncode(text)), text);
}

TEST(QueryParams, ParsesRepeatsAndReencodes) {
  auto q = QueryParams::Parse("dependenciesFor=dtmi%3Aa%3B1&dependenciesFor=b&includeModelDefinition=true&&flag&x=a+b");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->All("dependenciesFor"), (std::vector<std::string>{"dtmi:a;1", "b"}));
  EXPECT_EQ(*q->Find("includeModelDefinition"), "true");
  EXPECT_EQ(*q->Find("flag"), "");
  EXPECT_EQ(*q->Find("x"), "a b");
  EXPECT_EQ(q->Find("missing"), nullptr);
  q->Set("continuationToken", "t/1");
  q->Remove("flag");
  auto again = QueryParams::Parse(q->Encode());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->items(), q->items());
}

TEST(QueryParams, BadEncodingNamesTheParameter) {
  auto q = QueryParams::Parse("api-version=2023%ZZ");
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().http_status(), 400);
  EXPECT_NE(q.status().message().find("api-version"), std::string::npos) << q.status().message();
}

}  // namespace
}  // namespace doppel::server
