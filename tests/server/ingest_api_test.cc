// The write endpoints over a real Ingestor and SeriesStore: ADT telemetry and line protocol.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "server/api_test_fixture.h"
#include "support/gzip.h"
#include "tsdb/query.h"
#include "tsdb/temp_dir.h"

namespace doppel::server::testing {
namespace {

using doppel::testing::Gzip;

class IngestApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Call("POST", "/models", ModelsJson()).status, 201);
    ASSERT_EQ(Call("PUT", "/digitaltwins/room-1", RoomJson(20)).status, 200);
  }

  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest req{.method = std::move(method), .target = std::move(target), .headers = {}, .body = std::move(body)};
    for (auto& [name, value] : headers) req.AddHeader(name, std::move(value));
    return api_.Handle(req);
  }

  std::vector<tsdb::Point> Points(std::string_view twin, std::string_view path) {
    auto id = store_->Find(twin, path);
    if (!id.ok()) return {};
    return tsdb::QueryRaw(*store_, *id, INT64_MIN, INT64_MAX).value();
  }

  static std::string Message(const HttpResponse& r) {
    return std::string(ParseJson(r.body).value().at("error").at("message").as_string());
  }

  tsdb::testing::TempDir dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
  ingest::Ingestor ingestor_{graph_, *store_};
  ingest::LiveState live_;
  uint64_t live_feed_ = ingestor_.Subscribe([this](std::span<const ingest::Reading> b) { live_.Apply(b); });
  DigitalTwinsApi api_{graph_, clock_, {}, Services()};

  ApiServices Services() {
    ApiServices services;
    services.ingestor = &ingestor_;
    services.history = store_.get();
    services.live = &live_;
    return services;
  }
};

TEST_F(IngestApiTest, LineProtocolWritesReachHistory) {
  HttpResponse r = Call("POST", "/write?db=plant&precision=s",
                        "room,twin=room-1 temperature=21.5 1700000000\n"
                        "room,twin=room-1,component=thermostat setpoint=22 1700000001\n");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Points("room-1", "temperature"), (std::vector<tsdb::Point>{{1'700'000'000'000'000'000, 21.5}}));
  EXPECT_EQ(Points("room-1", "thermostat/setpoint"), (std::vector<tsdb::Point>{{1'700'000'001'000'000'000, 22.0}}));
}

TEST_F(IngestApiTest, TheV2EndpointAndGzipBodiesWork) {
  HttpResponse r = Call("POST", "/api/v2/write?org=o&bucket=b&precision=ms", Gzip("room-1 temperature=19 1700000000000"),
                        {{"Content-Encoding", "gzip"}});
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Points("room-1", "temperature"), (std::vector<tsdb::Point>{{1'700'000'000'000'000'000, 19.0}}));
}

TEST_F(IngestApiTest, ALineWithoutATimestampTakesTheServersClock) {
  ASSERT_EQ(Call("POST", "/write", "room,twin=room-1 temperature=18").status, 204);
  EXPECT_EQ(Points("room-1", "temperature"),
            (std::vector<tsdb::Point>{{clock_.Now().time_since_epoch().count(), 18.0}}));
}

TEST_F(IngestApiTest, BadWritesAreRefusedWithTheReasonAndStoreNothing) {
  struct Case {
    std::string target, body;
    std::vector<std::pair<std::string, std::string>> headers;
    int status;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {"/write", "room,twin=room-1 temperature=21.5 1\nroom,twin=room-1 temperature=", {}, 400, "line 2"},
      {"/write", "room,twin=ghost temperature=1 1", {}, 404, "twin 'ghost' not found"},
      {"/write", "# header\nroom,twin=room-1 temperature=1 1\n\nroom,twin=room-1 temperature=2,humidity=1 2", {}, 400,
       "line 4: twin 'room-1'"},
      {"/write", "room,twin=room-1 humidity=1 1", {}, 400, "no telemetry or property 'humidity'"},
      {"/write", "room,twin=room-1 temperature=\"warm\" 1", {}, 400, "expects a double, got a string"},
      {"/write?precision=fortnights", "room,twin=room-1 temperature=1 1", {}, 400, "precision"},
      {"/write", "room,twin=room-1 temperature=1 1", {{"Content-Encoding", "br"}}, 400, "unsupported Content-Encoding"},
      {"/write", "not gzip at all", {{"Content-Encoding", "gzip"}}, 400, "gzip body"},
  };
  for (const Case& c : cases) {
    HttpResponse r = Call("POST", c.target, c.body, c.headers);
    EXPECT_EQ(r.status, c.status) << c.body << " → " << r.body;
    EXPECT_NE(Message(r).find(c.message_part), std::string::npos) << Message(r);
  }
  EXPECT_TRUE(store_->ListSeries().empty());
  EXPECT_EQ(ingestor_.accepted(), 0u);
  EXPECT_EQ(ingestor_.rejected(ingest::RejectReason::kMalformed), 4u);
  EXPECT_EQ(ingestor_.rejected(ingest::RejectReason::kUnknownTwin), 1u);
}

TEST_F(IngestApiTest, AdtTelemetryUsesDtTimestamp) {
  HttpResponse r = Call("POST", "/digitaltwins/room-1/telemetry?api-version=2023-10-31", R"({"temperature": 23})",
                        {{"Message-Id", "m-1"}, {"dt-timestamp", "2026-11-25T10:00:00.5Z"}});
  ASSERT_EQ(r.status, 204) << r.body;
  TimePoint t = ParseRfc3339("2026-11-25T10:00:00.5Z").value();
  EXPECT_EQ(Points("room-1", "temperature"), (std::vector<tsdb::Point>{{t.time_since_epoch().count(), 23.0}}));

  r = Call("POST", "/digitaltwins/room-1/components/thermostat/telemetry", R"({"setpoint": 20.5})");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Points("room-1", "thermostat/setpoint"),
            (std::vector<tsdb::Point>{{clock_.Now().time_since_epoch().count(), 20.5}}));
}

TEST_F(IngestApiTest, AdtTelemetryRefusalsAreSpecific) {
  EXPECT_EQ(Call("POST", "/digitaltwins/room-1/telemetry", R"({"temperature": 1})", {{"dt-timestamp", "yesterday"}}).status,
            400);
  EXPECT_EQ(Call("POST", "/digitaltwins/room-1/telemetry", R"([1, 2])").status, 400);
  EXPECT_EQ(Call("POST", "/digitaltwins/room-1/telemetry", R"({"temperature": {"c": 1}})").status, 400);
  EXPECT_EQ(Call("POST", "/digitaltwins/ghost/telemetry", R"({"temperature": 1})").status, 404);
  EXPECT_TRUE(store_->ListSeries().empty());
}

TEST_F(IngestApiTest, MetricsCountReadingsAndRejections) {
  ASSERT_EQ(Call("POST", "/write", "room,twin=room-1 temperature=1 1\nroom,twin=room-1 temperature=2 2").status, 204);
  ASSERT_EQ(Call("POST", "/write", "room,twin=room-1 humidity=1 1").status, 400);
  std::string metrics = Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("doppel_ingest_readings_total 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("doppel_ingest_rejected_total{reason=\"unknown_path\"} 1\n"), std::string::npos);
}

TEST_F(IngestApiTest, LiveTelemetryShowsTheNewestValueOfEachPath) {
  ASSERT_EQ(Call("POST", "/write?precision=s",
                 "room,twin=room-1 temperature=21.5 1700000060\n"
                 "room,twin=room-1 temperature=20.0 1700000000\n"
                 "room,twin=room-1,component=thermostat setpoint=22i 1700000001\n").status, 204);
  HttpResponse r = Call("GET", "/digitaltwins/room-1/telemetry?api-version=2023-10-31");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value body = ParseJson(r.body).value();
  EXPECT_EQ(body.at("$dtId").as_string(), "room-1");
  const json::object& telemetry = body.at("telemetry").as_object();
  ASSERT_EQ(telemetry.size(), 2u);
  EXPECT_EQ(telemetry.at("temperature").at("value").to_number<double>(), 21.5);
  EXPECT_EQ(telemetry.at("temperature").at("time").as_string(), "2023-11-14T22:14:20Z");
  EXPECT_EQ(telemetry.at("thermostat/setpoint").at("value").to_number<double>(), 22.0);

  EXPECT_EQ(Call("GET", "/digitaltwins/ghost/telemetry").status, 404);
  ASSERT_EQ(Call("PUT", "/digitaltwins/room-2", RoomJson(20)).status, 200);
  r = Call("GET", "/digitaltwins/room-2/telemetry");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(ParseJson(r.body).value().at("telemetry").as_object().empty());
}

TEST_F(IngestApiTest, HealthzSummarisesHistory) {
  ASSERT_EQ(Call("POST", "/write", "room,twin=room-1 temperature=1 1\nroom,twin=room-1 temperature=2 2").status, 204);
  json::value health = ParseJson(Call("GET", "/healthz").body).value();
  EXPECT_EQ(health.at("history").at("series").to_number<int64_t>(), 1);
  EXPECT_EQ(health.at("history").at("points").to_number<int64_t>(), 2);
  EXPECT_FALSE(health.as_object().contains("connectors"));  // none configured in this API
}

TEST(IngestBackpressureTest, WritesBeyondTheInFlightLimitGet503WithRetryAfter) {
  tsdb::testing::TempDir dir;
  twin::MemoryJournal journal;
  ManualClock clock;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  auto store = tsdb::SeriesStore::Open(dir.path(), {.sync = false}).value();
  ingest::Ingestor ingestor(graph, *store);
  ApiServices services;
  services.ingestor = &ingestor;
  ApiOptions options;
  options.max_ingest_in_flight = 1;
  DigitalTwinsApi api(graph, clock, options, services);
  auto call = [&api](std::string target, std::string body) {
    HttpRequest req{.method = "POST", .target = std::move(target), .headers = {}, .body = std::move(body)};
    return api.Handle(req);
  };
  ASSERT_EQ(call("/models", ModelsJson()).status, 201);
  HttpRequest put{.method = "PUT", .target = "/digitaltwins/room-1", .headers = {}, .body = RoomJson(20)};
  ASSERT_EQ(api.Handle(put).status, 200);

  // Hold the first write inside the Ingestor (listeners run within Write) while a second comes.
  std::mutex mu;
  std::condition_variable cv;
  bool inside = false, release = false;
  ingestor.Subscribe([&](std::span<const ingest::Reading>) {
    std::unique_lock lock(mu);
    inside = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  std::thread first([&] { EXPECT_EQ(call("/write", "room,twin=room-1 temperature=1 1").status, 204); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return inside; });
  }
  HttpResponse refused = call("/write", "room,twin=room-1 temperature=2 2");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.Header("Retry-After"), "1");
  EXPECT_NE(refused.body.find("saturated"), std::string::npos) << refused.body;
  EXPECT_EQ(call("/digitaltwins/room-1/telemetry", R"({"temperature": 3})").status, 503);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  first.join();
  // The slot is free again.
  EXPECT_EQ(call("/write", "room,twin=room-1 temperature=4 4").status, 204);
}

TEST(IngestApiWithoutHistoryTest, WritesAnswer503) {
  twin::MemoryJournal journal;
  ManualClock clock;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  DigitalTwinsApi api(graph, clock);
  HttpRequest req{.method = "POST", .target = "/write", .headers = {}, .body = "m,twin=a x=1"};
  HttpResponse r = api.Handle(req);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("ingest is not enabled"), std::string::npos);
}

}  // namespace
}  // namespace doppel::server::testing
