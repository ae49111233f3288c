#include "server/http_message.h"

#include <gtest/gtest.h>

#include "server/metrics.h"

namespace doppel::server {
namespace {

json::value Body(const HttpResponse& r) { return *ParseJson(r.body); }

TEST(HttpResponseError, HasAdtShapeHeaderAndStatus) {
  struct Case {
    Status status;
    int http;
    std::string code;
  };
  const Case cases[] = {
      {Status::NotFound("no twin x", "DigitalTwinNotFound"), 404, "DigitalTwinNotFound"},
      {Status::PreconditionFailed("etag mismatch"), 412, "PreconditionFailed"},
      {Status::InvalidArgument("bad"), 400, "BadRequest"},
      {Status::PayloadTooLarge("big"), 413, "PayloadTooLarge"},
      {Status::Conflict("refs", "ModelReferencesNotDeleted"), 409, "ModelReferencesNotDeleted"},
      {Status::MethodNotAllowed("no"), 405, "MethodNotAllowed"},
      {Status::Internal("boom"), 500, "InternalServerError"},
  };
  for (const auto& c : cases) {
    HttpResponse r = HttpResponse::Error(c.status);
    EXPECT_EQ(r.status, c.http) << c.code;
    EXPECT_EQ(r.Header("x-ms-error-code"), c.code);
    EXPECT_EQ(r.Header("content-type"), "application/json; charset=utf-8");
    json::value body = Body(r);
    EXPECT_EQ(body.at("error").at("code").as_string(), c.code);
    EXPECT_EQ(body.at("error").at("message").as_string(), c.status.message());
  }
}

TEST(HttpResponseError, MessageWithInvalidUtf8StaysValidJson) {
  HttpResponse r = HttpResponse::Error(Status::NotFound("no route for /models/\xC0\x80"));
  auto body = ParseJson(r.body);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(body->at("error").at("message").as_string(), "no route for /models/\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(HttpResponse, SetHeaderReplacesCaseInsensitively) {
  HttpResponse r;
  r.SetHeader("ETag", "a");
  r.SetHeader("etag", "b");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.Header("ETAG"), "b");
}

TEST(HttpRequest, HeadersAreCaseInsensitiveAndTargetSplits) {
  HttpRequest req;
  req.AddHeader("If-Match", "W/\"1\"");
  req.target = "/models/x?api-version=2023-10-31&a=b";
  EXPECT_EQ(req.Header("if-match"), "W/\"1\"");
  EXPECT_TRUE(req.HasHeader("IF-MATCH"));
  EXPECT_EQ(req.Header("if-none-match"), "");
  EXPECT_EQ(req.RawPath(), "/models/x");
  EXPECT_EQ(req.RawQuery(), "api-version=2023-10-31&a=b");
  req.target = "/healthz";
  EXPECT_EQ(req.RawQuery(), "");
}

TEST(HttpMetrics, RendersCountersAndCumulativeHistogram) {
  HttpMetrics m;
  m.Record("GET", "/digitaltwins/{id}", 200, 0.0003);
  m.Record("GET", "/digitaltwins/{id}", 200, 0.02);
  m.Record("GET", "/digitaltwins/{id}", 404, 20.0);
  EXPECT_EQ(m.RequestCount("GET", "/digitaltwins/{id}", 200), 2u);
  std::string out;
  m.Render(out);
  EXPECT_NE(out.find("# TYPE doppel_http_requests_total counter"), std::string::npos);
  EXPECT_NE(out.find("doppel_http_requests_total{method=\"GET\",route=\"/digitaltwins/{id}\",status=\"200\"} 2\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("doppel_http_requests_total{method=\"GET\",route=\"/digitaltwins/{id}\",status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find("doppel_http_request_duration_seconds_bucket{route=\"/digitaltwins/{id}\",le=\"0.0005\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("doppel_http_request_duration_seconds_bucket{route=\"/digitaltwins/{id}\",le=\"0.025\"} 2\n"),
            std::string::npos);
  EXPECT_NE(out.find("doppel_http_request_duration_seconds_bucket{route=\"/digitaltwins/{id}\",le=\"10\"} 2\n"),
            std::string::npos);
  EXPECT_NE(out.find("doppel_http_request_duration_seconds_bucket{route=\"/digitaltwins/{id}\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(out.find("doppel_http_request_duration_seconds_count{route=\"/digitaltwins/{id}\"} 3\n"),
            std::string::npos);
}

TEST(HttpMetrics, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  std::string out;
  AppendGauge(out, "doppel_twins", "Twins.", 42);
  EXPECT_EQ(out, "# HELP doppel_twins Twins.\n# TYPE doppel_twins gauge\ndoppel_twins 42\n");
}

}  // namespace
}  // namespace doppel::server
