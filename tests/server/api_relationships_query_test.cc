// Relationships, queries, error shapes, limits, api-version, health and metrics.
#include <set>

#include "api_test_fixture.h"

namespace doppel::server::testing {
namespace {

class ApiGraphTest : public ApiTest {
 protected:
  void SetUp() override {
    AddModels();
    PutRoom("a", 20);
    PutRoom("b", 21);
    PutRoom("c", 22);
  }
};

TEST_F(ApiGraphTest, RelationshipLifecycle) {
  HttpResponse put = Call("PUT", "/digitaltwins/a/relationships/a-b",
                          R"({"$targetId": "b", "$relationshipName": "adjacentTo", "distance": 3})");
  ASSERT_EQ(put.status, 200) << put.body;
  std::string etag(put.Header("ETag"));
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(Json(put).at("$sourceId").as_string(), "a");

  HttpResponse get = Call("GET", "/digitaltwins/a/relationships/a-b");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(get.Header("ETag"), etag);
  EXPECT_EQ(Json(get).at("$targetId").as_string(), "b");

  HttpResponse patch = Call("PATCH", "/digitaltwins/a/relationships/a-b",
                            R"([{"op": "replace", "path": "/distance", "value": 4}])", {{"If-Match", etag}});
  ASSERT_EQ(patch.status, 204) << patch.body;
  EXPECT_NE(patch.Header("ETag"), etag);
  EXPECT_EQ(Json(Call("GET", "/digitaltwins/a/relationships/a-b")).at("distance").to_number<double>(), 4);

  HttpResponse busy = Call("DELETE", "/digitaltwins/b");
  EXPECT_EQ(busy.status, 400) << busy.body;
  EXPECT_EQ(ErrorCode(busy), "RelationshipsNotDeleted");

  EXPECT_EQ(Call("DELETE", "/digitaltwins/a/relationships/a-b").status, 204);
  HttpResponse gone = Call("GET", "/digitaltwins/a/relationships/a-b");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(ErrorCode(gone), "RelationshipNotFound");
  EXPECT_EQ(Call("DELETE", "/digitaltwins/b").status, 204);
}

TEST_F(ApiGraphTest, RelationshipToMissingTargetIsRefused) {
  HttpResponse r = Call("PUT", "/digitaltwins/a/relationships/x",
                        R"({"$targetId": "nobody", "$relationshipName": "adjacentTo"})");
  EXPECT_EQ(r.status / 100, 4) << r.body;
  EXPECT_EQ(Call("GET", "/digitaltwins/a/relationships/x").status, 404);
}

TEST_F(ApiGraphTest, ListRelationshipsPagesAndFiltersByName) {
  Relate("a", "r1", "b");
  Relate("a", "r2", "c");
  Relate("a", "r3", "a");
  std::set<std::string> seen;
  std::string target = "/digitaltwins/a/relationships?relationshipName=adjacentTo";
  int pages = 0;
  while (!target.empty()) {
    HttpResponse r = Call("GET", target, "", {{"max-items-per-page", "2"}});
    ASSERT_EQ(r.status, 200) << r.body;
    json::value v = Json(r);
    for (const auto& rel : v.at("value").as_array()) seen.insert(std::string(rel.at("$relationshipId").as_string()));
    const json::value* next = v.as_object().if_contains("nextLink");
    target = next ? std::string(next->as_string()) : "";
    if (next) {
      EXPECT_NE(target.find("relationshipName=adjacentTo"), std::string::npos) << target;
    }
    ASSERT_LT(++pages, 5);
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(seen, (std::set<std::string>{"r1", "r2", "r3"}));

  HttpResponse none = Call("GET", "/digitaltwins/a/relationships?relationshipName=other");
  ASSERT_EQ(none.status, 200);
  EXPECT_TRUE(Json(none).at("value").as_array().empty());
}

TEST_F(ApiGraphTest, IncomingRelationships) {
  Relate("a", "r1", "c");
  Relate("b", "r1", "c");
  HttpResponse r = Call("GET", "/digitaltwins/c/incomingrelationships");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = Json(r);
  const json::array& rels = body.at("value").as_array();
  ASSERT_EQ(rels.size(), 2u);
  std::set<std::string> sources;
  for (const auto& rel : rels) {
    sources.insert(std::string(rel.at("$sourceId").as_string()));
    EXPECT_EQ(rel.at("$relationshipName").as_string(), "adjacentTo");
    EXPECT_TRUE(rel.as_object().contains("$relationshipLink"));
  }
  EXPECT_EQ(sources, (std::set<std::string>{"a", "b"}));

  HttpResponse page = Call("GET", "/digitaltwins/c/incomingrelationships", "", {{"max-items-per-page", "1"}});
  ASSERT_EQ(Json(page).at("value").as_array().size(), 1u);
  EXPECT_TRUE(Json(page).as_object().contains("nextLink"));
  EXPECT_EQ(Call("GET", "/digitaltwins/nobody/incomingrelationships").status, 404);
}

TEST_F(ApiGraphTest, QueryPagesWithContinuationToken) {
  HttpResponse first = Call("POST", "/query?api-version=2023-10-31", R"({"query": "SELECT * FROM DIGITALTWINS"})",
                            {{"max-items-per-page", "2"}});
  ASSERT_EQ(first.status, 200) << first.body;
  json::value page1 = Json(first);
  ASSERT_EQ(page1.at("value").as_array().size(), 2u);
  ASSERT_TRUE(page1.at("continuationToken").is_string()) << first.body;

  json::object next_spec;
  next_spec["continuationToken"] = page1.at("continuationToken");
  HttpResponse second = Call("POST", "/query", ToJson(next_spec), {{"max-items-per-page", "2"}});
  ASSERT_EQ(second.status, 200) << second.body;
  json::value page2 = Json(second);
  ASSERT_EQ(page2.at("value").as_array().size(), 1u);
  EXPECT_TRUE(page2.at("continuationToken").is_null()) << second.body;

  std::set<std::string> ids;
  for (const auto* page : {&page1, &page2}) {
    for (const auto& row : page->at("value").as_array()) ids.insert(std::string(row.at("$dtId").as_string()));
  }
  EXPECT_EQ(ids, (std::set<std::string>{"a", "b", "c"}));
}

TEST_F(ApiGraphTest, QueryFiltersAndReportsSyntaxErrors) {
  HttpResponse r = Call("POST", "/query", R"({"query": "SELECT * FROM DIGITALTWINS T WHERE T.temperature > 20.5"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r).at("value").as_array().size(), 2u);

  HttpResponse bad = Call("POST", "/query", R"({"query": "SELECT * FORM DIGITALTWINS"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(ErrorMessage(bad).find("column"), std::string::npos) << bad.body;

  HttpResponse empty = Call("POST", "/query", "{}");
  EXPECT_EQ(empty.status, 400);
  EXPECT_NE(ErrorMessage(empty).find("'query'"), std::string::npos) << empty.body;
  HttpResponse wrong_type = Call("POST", "/query", R"({"query": 42})");
  EXPECT_EQ(wrong_type.status, 400);
}

TEST_F(ApiTest, MalformedJsonIs400WithPosition) {
  HttpResponse r = Call("POST", "/query", "{\"query\": \n  \"x\" 1}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("line 2, column"), std::string::npos) << r.body;
  EXPECT_NE(ErrorMessage(r).find("request body"), std::string::npos) << r.body;
}

TEST_F(ApiTest, EmptyBodyIs400SayingWhatWasExpected) {
  HttpResponse r = Call("PUT", "/digitaltwins/x", "");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("request body is empty"), std::string::npos) << r.body;
}

TEST_F(ApiTest, InvalidUtf8BodyIs400) {
  HttpResponse r = Call("POST", "/query", "{\"query\": \"\xC3\x28\"}");
  EXPECT_EQ(r.status, 400) << r.body;
}

class SmallLimitsApiTest : public ApiTest {
 protected:
  SmallLimitsApiTest() : ApiTest(ApiOptions{.max_body_bytes = 1000, .max_json_depth = 8}) {}
};

TEST_F(SmallLimitsApiTest, BodyOverTheLimitIs413) {
  HttpResponse r = Call("POST", "/models", "[" + std::string(2000, ' ') + "]");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorCode(r), "PayloadTooLarge");
  EXPECT_NE(ErrorMessage(r).find("2002 bytes exceeds the limit of 1000 bytes"), std::string::npos) << r.body;
}

TEST_F(SmallLimitsApiTest, NestingDeeperThanTheLimitIs400) {
  HttpResponse r = Call("POST", "/models", std::string(20, '[') + std::string(20, ']'));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("nesting deeper than the limit of 8"), std::string::npos) << r.body;
}

TEST_F(ApiTest, UnknownRouteIs404NamingThePath) {
  HttpResponse r = Call("GET", "/digitaltwinz/x");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "RouteNotFound");
  EXPECT_NE(ErrorMessage(r).find("/digitaltwinz/x"), std::string::npos);
}

TEST_F(ApiTest, WrongMethodIs405WithAllowHeader) {
  HttpResponse r = Call("POST", "/digitaltwins/x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "DELETE, GET, PATCH, PUT");
  EXPECT_EQ(ErrorCode(r), "MethodNotAllowed");
  EXPECT_EQ(Call("DELETE", "/query").Header("Allow"), "POST");
}

TEST_F(ApiTest, BadUrlEncodingIs400) {
  HttpResponse r = Call("GET", "/digitaltwins/a%G1");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorMessage(r).find("bad URL encoding"), std::string::npos) << r.body;
  HttpResponse q = Call("GET", "/models?dependenciesFor=%");
  EXPECT_EQ(q.status, 400);
  EXPECT_NE(ErrorMessage(q).find("dependenciesFor"), std::string::npos) << q.body;
}

TEST_F(ApiTest, ApiVersionMayBeOmittedButMustBeKnownWhenGiven) {
  AddModels();
  EXPECT_EQ(Call("GET", "/models").status, 200);
  EXPECT_EQ(Call("GET", "/models?api-version=2020-10-31").status, 200);
  HttpResponse r = Call("GET", "/models?api-version=1999-01-01");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "UnsupportedApiVersion");
  EXPECT_NE(ErrorMessage(r).find("2023-10-31"), std::string::npos);
  EXPECT_EQ(Call("GET", "/healthz?api-version=whatever").status, 200);  // not an ADT route
}

TEST_F(ApiGraphTest, HealthzReportsCounts) {
  Relate("a", "r1", "b");
  HttpResponse r = Call("GET", "/healthz");
  ASSERT_EQ(r.status, 200);
  json::value v = Json(r);
  EXPECT_EQ(v.at("status").as_string(), "ok");
  EXPECT_EQ(v.at("twins").to_number<int>(), 3);
  EXPECT_EQ(v.at("models").to_number<int>(), 2);
  EXPECT_EQ(v.at("relationships").to_number<int>(), 1);
  EXPECT_GT(v.at("eventSequence").to_number<int>(), 0);
  EXPECT_TRUE(v.as_object().contains("uptimeSeconds"));
}

TEST_F(ApiGraphTest, MetricsCountRequestsByRouteAndExposeGraphGauges) {
  Call("GET", "/digitaltwins/a");
  Call("GET", "/digitaltwins/b");
  Call("GET", "/digitaltwins/zz");
  Call("GET", "/no/such/route");
  HttpResponse r = Call("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  const std::string& text = r.body;
  EXPECT_NE(text.find("doppel_http_requests_total{method=\"GET\",route=\"/digitaltwins/{id}\",status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("doppel_http_requests_total{method=\"GET\",route=\"/digitaltwins/{id}\",status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("doppel_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n"),
            std::string::npos);
  // The histogram is per route, all methods: 3 PUTs in SetUp and the 3 GETs here.
  EXPECT_NE(text.find("doppel_http_request_duration_seconds_count{route=\"/digitaltwins/{id}\"} 6\n"),
            std::string::npos);
  EXPECT_NE(text.find("\ndoppel_twins 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ndoppel_models 2\n"), std::string::npos);
  EXPECT_NE(text.find("\ndoppel_relationships 0\n"), std::string::npos);
  EXPECT_NE(text.find("\ndoppel_event_sequence "), std::string::npos);
}

TEST_F(ApiTest, HostileInputsGetJsonErrorsNotCrashes) {
  AddModels();
  const std::pair<std::string, std::string> requests[] = {
      {"GET", ""}, {"GET", "*"}, {"GET", "models"}, {"GET", "/%"}, {"GET", "/digitaltwins/%FF"},
      {"GET", "/" + std::string(100000, 'a')}, {"", "/models"}, {"GET", "/models?%"},
      {"GET", "/digitaltwins/x/relationships/%2"}, {"PUT", "/digitaltwins/x"},
      {"GET", "http://evil/models/x"}, {"GET", "/models/\xC0\x80"}};
  for (const auto& [method, target] : requests) {
    HttpResponse r = Call(method, target, "{\"a\": [1, {\"b\": nul");
    EXPECT_GE(r.status, 400) << method << " " << target.substr(0, 40);
    EXPECT_LT(r.status, 500) << method << " " << target.substr(0, 40);
    EXPECT_FALSE(ErrorCode(r).empty());
  }
  const std::string bodies[] = {"\xEF\xBB\xBF", "nul", "{\"$metadata\": 5}", "{\"$metadata\": {\"$model\": 5}}",
                                "{\"$metadata\": {\"$model\": \"dtmi:example:Room;1\"}, \"thermostat\": 7}",
                                std::string(1, '\0'), "[" + std::string(10000, '[')};
  for (const std::string& body : bodies) {
    HttpResponse r = Call("PUT", "/digitaltwins/x", body);
    EXPECT_EQ(r.status / 100, 4) << body.substr(0, 40) << " → " << r.body;
  }
}

TEST_F(ApiTest, MetricsBoundTheMethodLabel) {
  Call("BREW", "/models");
  EXPECT_EQ(api_.metrics().RequestCount("OTHER", "unmatched", 405), 1u);
}

}  // namespace
}  // namespace doppel::server::testing
