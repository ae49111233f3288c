// The /analytics routes and a twin's analytics over a real Ingestor, SeriesStore and
// AnalyticsService: definitions created, listed, refused with the library's message, unknown
// names answered 404, readings written over HTTP scored by the time GET .../analytics answers.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "analytics/analytics_service.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "server/api_test_fixture.h"
#include "tsdb/temp_dir.h"

namespace doppel::server::testing {
namespace {

class AnalyticsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    analytics_->Start();
    ASSERT_EQ(Call("POST", "/models", ModelsJson()).status, 201);
    ASSERT_EQ(Call("PUT", "/digitaltwins/room-1", RoomJson(20)).status, 200);
  }
  void TearDown() override { analytics_->Stop(); }

  HttpResponse Call(std::string method, std::string target, std::string body = "") {
    HttpRequest req{.method = std::move(method), .target = std::move(target), .headers = {}, .body = std::move(body)};
    return api_.Handle(req);
  }
  static json::value Body(const HttpResponse& r) { return ParseJson(r.body).value(); }
  static std::string Message(const HttpResponse& r) {
    return std::string(Body(r).at("error").at("message").as_string());
  }

  tsdb::testing::TempDir dir_, analytics_dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_{TimePoint(std::chrono::seconds(1'700'100'000))};
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
  ingest::Ingestor ingestor_{graph_, *store_};
  ingest::LiveState live_;
  std::unique_ptr<analytics::AnalyticsService> analytics_ =
      analytics::AnalyticsService::Open({.dir = analytics_dir_.path(), .kpi_interval = std::chrono::seconds(0)}, graph_,
                                        events_, ingestor_, live_, clock_)
          .value();
  DigitalTwinsApi api_{graph_, clock_, {}, Services()};

  ApiServices Services() {
    ApiServices services;
    services.ingestor = &ingestor_;
    services.history = store_.get();
    services.live = &live_;
    services.analytics = analytics_.get();
    return services;
  }
};

TEST_F(AnalyticsApiTest, DetectorsAreDefinedOverHttpAndScoreReadingsWrittenOverHttp) {
  const std::string detector = R"({"twins": ["room-1"], "kind": "mad", "signals": ["temperature"]})";
  HttpResponse put = Call("PUT", "/analytics/detectors/temp", detector);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(Body(put).at("coveredTwins").to_number<int64_t>(), 1);
  EXPECT_EQ(Call("PUT", "/analytics/detectors/temp", detector).status, 200);
  EXPECT_EQ(Body(Call("GET", "/analytics/detectors")).at("value").as_array().size(), 1u);
  EXPECT_EQ(Body(Call("GET", "/analytics/detectors/temp")).at("kind").as_string(), "mad");

  std::string lines;
  for (int i = 0; i < 200; ++i) {
    lines += fmt::format("room,twin=room-1 temperature={} {}\n", 20 + 0.1 * (i % 7), 1'700'000'000 + i);
  }
  lines += "room,twin=room-1 temperature=45 1700000200\n";
  ASSERT_EQ(Call("POST", "/write?precision=s", lines).status, 204);

  // The GET answers as of every reading written before it: the spike is scored.
  HttpResponse twin = Call("GET", "/digitaltwins/room-1/analytics");
  ASSERT_EQ(twin.status, 200) << twin.body;
  EXPECT_EQ(Body(twin).at("anomaly").at("temp").at("observed").to_number<int64_t>(), 201);
  EXPECT_GE(Body(twin).at("anomaly").at("temp").at("score").to_number<double>(), 0.9);
  HttpResponse anomalies = Call("GET", "/analytics/anomalies?twin=room-1&limit=5");
  ASSERT_EQ(anomalies.status, 200) << anomalies.body;
  ASSERT_EQ(Body(anomalies).at("value").as_array().size(), 1u);
  EXPECT_DOUBLE_EQ(Body(anomalies).at("value").at(0).at("evidence").at("value").to_number<double>(), 45);
  EXPECT_TRUE(Body(Call("GET", "/analytics/anomalies?since=2030-01-01T00:00:00Z")).at("value").as_array().empty());

  EXPECT_EQ(Call("DELETE", "/analytics/detectors/temp").status, 204);
  EXPECT_EQ(Call("DELETE", "/analytics/detectors/temp").status, 404);
}

TEST_F(AnalyticsApiTest, BadBodiesAreRefusedWithTheReasonAndUnknownNamesAre404) {
  HttpResponse bad = Call("PUT", "/analytics/detectors/d", R"({"twins": ["room-1"], "kind": "nope", "signals": ["x"]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(Message(bad).find("unknown detector kind 'nope'"), std::string::npos) << bad.body;
  HttpResponse bad_rul = Call("PUT", "/analytics/rul/r", R"({"model": "dtmi:example:Room;1", "signals": []})");
  EXPECT_EQ(bad_rul.status, 400) << bad_rul.body;
  HttpResponse bad_kpi = Call("PUT", "/analytics/kpis/k", R"({"model": "dtmi:example:Room;1", "good": "nothing"})");
  EXPECT_EQ(bad_kpi.status, 400) << bad_kpi.body;
  EXPECT_EQ(Call("PUT", "/analytics/detectors/d", "not json").status, 400);
  for (const char* target : {"/analytics/detectors/x", "/analytics/rul/x", "/analytics/kpis/x"}) {
    EXPECT_EQ(Call("GET", target).status, 404) << target;
    EXPECT_EQ(Call("DELETE", target).status, 404) << target;
  }
  EXPECT_EQ(Call("POST", "/analytics/rul/x/train").status, 404);
  EXPECT_EQ(Call("GET", "/digitaltwins/nobody/analytics").status, 404);
  EXPECT_EQ(Call("GET", "/digitaltwins/room-1/kpis?from=yesterday").status, 400);
  EXPECT_EQ(Call("GET", "/analytics/anomalies?limit=0").status, 400);
}

TEST_F(AnalyticsApiTest, RulModelsAndKpiDefinitionsHaveTheirRoutes) {
  HttpResponse put = Call("PUT", "/analytics/rul/wear", R"({"model": "dtmi:example:Room;1", "signals": ["temperature"],
                                                             "cycle": "1h", "failure": "temperature"})");
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(Body(put).at("status").as_string(), "untrained");
  HttpResponse train = Call("POST", "/analytics/rul/wear/train");
  ASSERT_EQ(train.status, 202) << train.body;
  EXPECT_EQ(Body(train).at("status").as_string(), "training");
  EXPECT_EQ(Body(Call("GET", "/analytics/rul")).at("value").as_array().size(), 1u);

  HttpResponse kpi = Call("PUT", "/analytics/kpis/rooms", R"({"model": "dtmi:example:Room;1", "rollUp": ["adjacentTo"]})");
  ASSERT_EQ(kpi.status, 201) << kpi.body;
  EXPECT_EQ(Body(Call("GET", "/analytics/kpis/rooms")).at("source").as_string(), "api");
  HttpResponse window = Call("GET", "/digitaltwins/room-1/kpis?from=2023-11-15T00:00:00Z&to=2023-11-15T08:00:00Z");
  ASSERT_EQ(window.status, 200) << window.body;
  EXPECT_EQ(Body(window).at("twin").as_string(), "room-1");
  EXPECT_EQ(Call("DELETE", "/analytics/kpis/rooms").status, 204);
}

}  // namespace
}  // namespace doppel::server::testing
