// /timeseries over DigitalTwinsApi (no sockets): JSON, CSV, the GET form, listing, errors,
// streaming of large answers.
#include <gmock/gmock.h>

#include <limits>
#include <memory>

#include "api_test_fixture.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"

namespace doppel::server::testing {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'764'028'800'000'000'000;  // 2025-11-25T00:00:00Z
constexpr int64_t kSecond = 1'000'000'000;

class TimeSeriesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = tsdb::SeriesStore::Open(dir_.path(), {.sync = false});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ApiServices services;
    services.history = store_.get();
    api_ = std::make_unique<DigitalTwinsApi>(graph_, clock_, ApiOptions{}, services);
    ASSERT_EQ(Call("POST", "/models", ModelsJson()).status, 201);
    for (const char* id : {"room-1", "room-2"})
      ASSERT_EQ(Call("PUT", std::string("/digitaltwins/") + id, RoomJson(20)).status, 200);
    t1_ = Series("room-1", "temperature");
    t2_ = Series("room-2", "temperature");
    Write(t1_, {{kT0, 20.5}, {kT0 + 30 * kSecond, 21.5}, {kT0 + 90 * kSecond, 23.0}});
    Write(t2_, {{kT0 + 10 * kSecond, 18.0}});
  }

  tsdb::SeriesId Series(const std::string& twin, const std::string& path) {
    auto id = store_->CreateSeries(
        {twin, path, tsdb::ValueType::kDouble, kRoom, "degreeCelsius", "Temperature"});
    EXPECT_TRUE(id.ok());
    return *id;
  }
  void Write(tsdb::SeriesId id, std::vector<std::pair<int64_t, double>> points) {
    std::vector<tsdb::SeriesPoint> batch;
    for (auto [t, v] : points) batch.push_back({id, t, v});
    ASSERT_TRUE(store_->Write(batch).ok());
  }

  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    for (auto& [name, value] : headers) req.AddHeader(name, std::move(value));
    HttpResponse res = api_->Handle(req);
    if (res.stream) {
      streamed_ = true;
      EXPECT_TRUE(res.body.empty());
      Status s = res.CollectStream();
      EXPECT_TRUE(s.ok()) << s.ToString();
    } else {
      streamed_ = false;
    }
    return res;
  }
  HttpResponse Post(const std::string& body,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    return Call("POST", "/timeseries/query", body, std::move(headers));
  }
  static json::value Json(const HttpResponse& r) {
    auto v = ParseJson(r.body);
    EXPECT_TRUE(v.ok()) << r.body.substr(0, 500);
    return v.ok() ? *v : json::value();
  }
  static std::string Message(const HttpResponse& r) {
    return std::string(Json(r).at("error").at("message").as_string());
  }

  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  tsdb::testing::TempDir dir_;
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<DigitalTwinsApi> api_;
  tsdb::SeriesId t1_ = 0, t2_ = 0;
  bool streamed_ = false;
};

TEST_F(TimeSeriesApiTest, RawPointsAsJsonWithRfc3339Times) {
  HttpResponse r = Post(
      R"({"twins": ["room-1"], "start": "2025-11-25T00:00:00Z", "end": "2025-11-25T00:01:00Z"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_EQ(
      r.body,
      R"({"series":[{"twin":"room-1","path":"temperature","model":"dtmi:example:Room;1","unit":"degreeCelsius",)"
      R"("type":"double","points":[["2025-11-25T00:00:00Z",20.5],["2025-11-25T00:00:30Z",21.5]]}]})");
}

TEST_F(TimeSeriesApiTest, AggregatesWithNanosecondTimes) {
  HttpResponse r = Post(
      R"({"model": "dtmi:example:Room;1", "start": )" + std::to_string(kT0) +
      R"(, "end": "2025-11-25T00:02:00Z", "step": "1m", "aggregations": ["count", "avg", "max"],
                           "timeFormat": "ns"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value v = Json(r);
  const json::array& series = v.at("series").as_array();
  ASSERT_EQ(series.size(), 2u);
  const json::array& buckets = series[0].at("buckets").as_array();
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0].at("time").as_int64(), kT0);
  EXPECT_EQ(buckets[0].at("count").as_int64(), 2);
  EXPECT_DOUBLE_EQ(buckets[0].at("avg").to_number<double>(), 21.0);
  EXPECT_DOUBLE_EQ(buckets[1].at("max").to_number<double>(), 23.0);
  EXPECT_EQ(series[1].at("twin").as_string(), "room-2");
}

TEST_F(TimeSeriesApiTest, RelativeTimesUseTheServerClock) {
  clock_.Set(TimePoint(std::chrono::nanoseconds(kT0 + 60 * kSecond)));
  HttpResponse r =
      Post(R"({"twins": ["room-1"], "start": "now-45s", "end": "now", "timeFormat": "ns"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value v = Json(r);
  const json::array& points = v.at("series").at(0).at("points").as_array();
  ASSERT_EQ(points.size(), 1u);  // [kT0 + 15 s, kT0 + 60 s) holds only the point at 30 s
  EXPECT_EQ(points[0].at(0).as_int64(), kT0 + 30 * kSecond);
}

TEST_F(TimeSeriesApiTest, CsvByFormatOrAcceptHeader) {
  const std::string body = R"({"twins": ["room-1", "room-2"], "start": 0, "end": )" +
                           std::to_string(kT0 + 60 * kSecond) + R"(, "timeFormat": "ns")";
  HttpResponse by_format = Post(body + R"(, "format": "csv"})");
  ASSERT_EQ(by_format.status, 200) << by_format.body;
  EXPECT_EQ(by_format.Header("Content-Type"), "text/csv; charset=utf-8");
  const std::string t = std::to_string(kT0);
  EXPECT_EQ(by_format.body,
            "twin,path,time,value\r\nroom-1,temperature," + t + ",20.5\r\nroom-1,temperature," +
                std::to_string(kT0 + 30 * kSecond) + ",21.5\r\nroom-2,temperature," +
                std::to_string(kT0 + 10 * kSecond) + ",18\r\n");
  HttpResponse by_accept = Post(body + "}", {{"Accept", "text/csv"}});
  EXPECT_EQ(by_accept.body, by_format.body);
  // An explicit format wins over Accept.
  HttpResponse json = Post(body + R"(, "format": "json"})", {{"Accept", "text/csv"}});
  EXPECT_EQ(json.Header("Content-Type"), "application/json");
}

TEST_F(TimeSeriesApiTest, GetFormMatchesPost) {
  HttpResponse post = Post(
      R"({"twins": ["room-1", "room-2"], "paths": ["temperature"], "start": "2025-11-25T00:00:00Z",
                              "end": "2025-11-26T00:00:00Z", "step": "1h", "aggregations": ["avg", "max"],
                              "groupBy": "twin"})");
  ASSERT_EQ(post.status, 200) << post.body;
  HttpResponse get =
      Call("GET",
           "/timeseries/query?twin=room-1&twin=room-2&path=temperature&start=2025-11-25T00:00:00Z"
           "&end=2025-11-26T00:00:00Z&step=1h&agg=avg,max&groupBy=twin");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.body, post.body);
  EXPECT_EQ(Json(get).at("twins").as_array().size(), 2u);
  HttpResponse csv =
      Call("GET", "/timeseries/query?series=room-2/temperature&mode=last&format=csv&timeFormat=ns");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.body, "twin,path,time,value\r\nroom-2,temperature," +
                          std::to_string(kT0 + 10 * kSecond) + ",18\r\n");
}

TEST_F(TimeSeriesApiTest, GroupByPropertyOverHttp) {
  HttpResponse r =
      Call("GET",
           "/timeseries/query?model=dtmi:example:Room;1&start=0&end=2025-11-26T00:00:00Z"
           "&step=1d&agg=count,min&groupBy=property:name&format=csv");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "group,path,time,count,min\r\nroom,temperature,2025-11-25T00:00:00Z,4,18\r\n");
  // By relationship: room-2 is adjacent to (the target of) room-1; room-1 has no such parent.
  ASSERT_EQ(Call("PUT", "/digitaltwins/room-1/relationships/r1",
                 R"({"$targetId": "room-2", "$relationshipName": "adjacentTo", "distance": 3})")
                .status,
            200);
  HttpResponse rel =
      Post(R"({"model": "dtmi:example:Room;1", "start": 0, "end": "2025-11-26T00:00:00Z",
                              "step": "1d", "aggregations": ["count"], "groupBy": {"relationship": "adjacentTo"}})");
  ASSERT_EQ(rel.status, 200) << rel.body;
  EXPECT_EQ(
      rel.body,
      R"({"groups":[{"relationship":"adjacentTo","value":"room-1","path":"temperature","unit":"degreeCelsius",)"
      R"("twins":["room-2"],"buckets":[{"time":"2025-11-25T00:00:00Z","count":1}]},)"
      R"({"relationship":"adjacentTo","value":null,"path":"temperature","unit":"degreeCelsius",)"
      R"("twins":["room-1"],"buckets":[{"time":"2025-11-25T00:00:00Z","count":3}]}]})");
  HttpResponse get =
      Call("GET",
           "/timeseries/query?model=dtmi:example:Room;1&start=0&end=2025-11-26T00:00:00Z"
           "&step=1d&agg=count&groupBy=relationship:adjacentTo");
  EXPECT_EQ(get.body, rel.body);
}

TEST_F(TimeSeriesApiTest, NonFiniteValuesAreNullInJson) {
  Write(t1_, {{kT0 + 5 * kSecond, std::numeric_limits<double>::quiet_NaN()},
              {kT0 + 6 * kSecond, std::numeric_limits<double>::infinity()}});
  HttpResponse r =
      Post(R"({"series": [{"twin": "room-1", "path": "temperature"}], "start": 0, "end": )" +
           std::to_string(kT0 + 7 * kSecond) + R"(, "timeFormat": "ns"})");
  ASSERT_EQ(r.status, 200);
  json::value v = Json(r);
  const json::array& points = v.at("series").at(0).at("points").as_array();
  ASSERT_EQ(points.size(), 3u);
  EXPECT_TRUE(points[1].at(1).is_null());
  EXPECT_TRUE(points[2].at(1).is_null());
}

TEST_F(TimeSeriesApiTest, ErrorsAreClear) {
  struct Case {
    std::string body;
    int status;
    std::string message;
  } cases[] = {
      {R"({"twins": ["room-1"], "start": 10, "end": 10})", 400, "must be before end"},
      {R"({"twins": ["room-1"], "start": 0})", 400, "'start' and 'end' are required"},
      {R"({"twins": ["room-1"], "start": 0, "end": 10, "step": "0s"})", 400,
       "'step': must be positive"},
      {R"({"twins": ["room-1"], "start": 0, "end": 10, "aggregations": ["mean"]})", 400,
       "unknown aggregation 'mean'"},
      {R"({"twins": ["room-1"], "stat": 0})", 400, "unknown member 'stat'"},
      {R"({"twins": ["room-9"], "start": 0, "end": 10})", 404, "twin 'room-9' not found"},
      {R"({"series": [{"twin": "room-1", "path": "humidity"}], "start": 0, "end": 10})", 404,
       "'room-1'/'humidity'"},
      {R"({"model": "dtmi:example:Nope;1", "mode": "last"})", 404,
       "model 'dtmi:example:Nope;1' not found"},
      {R"({"twins": ["room-1"], "start": 0, "end": 1000000, "step": 1})", 413, "raise 'step'"},
      {R"({"query": "SELECT COUNT() FROM DIGITALTWINS", "mode": "last"})", 400,
       "must project twins"},
      {R"([1, 2])", 400, "JSON object"},
      {"", 400, "empty"},
  };
  const auto before = store_->ListSeries().size();
  for (const Case& c : cases) {
    HttpResponse r = Post(c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " → " << r.body;
    EXPECT_THAT(Message(r), HasSubstr(c.message)) << c.body;
  }
  HttpResponse get = Call("GET", "/timeseries/query?twin=room-1&start=0&end=10&bogus=1");
  EXPECT_EQ(get.status, 400);
  EXPECT_THAT(Message(get), HasSubstr("unknown query parameter 'bogus'"));
  // Bad requests changed nothing: same series, same data.
  EXPECT_EQ(store_->ListSeries().size(), before);
  HttpResponse r = Post(R"({"twins": ["room-1"], "mode": "last", "timeFormat": "ns"})");
  EXPECT_EQ(Json(r).at("series").at(0).at("last").at("value").to_number<double>(), 23.0);
}

TEST_F(TimeSeriesApiTest, UnavailableWithoutHistory) {
  DigitalTwinsApi bare(graph_, clock_);
  HttpRequest req;
  req.method = "POST";
  req.target = "/timeseries/query";
  req.body = R"({"twins": ["room-1"], "mode": "last"})";
  HttpResponse r = bare.Handle(req);
  EXPECT_EQ(r.status, 503);
  req.method = "GET";
  req.target = "/timeseries";
  EXPECT_EQ(bare.Handle(req).status, 503);
}

TEST_F(TimeSeriesApiTest, ListsSeriesPagedAndFiltered) {
  Series("room-2", "humidity");
  HttpResponse all = Call("GET", "/timeseries");
  ASSERT_EQ(all.status, 200) << all.body;
  const json::value listed = Json(all);
  const json::array& value = listed.at("value").as_array();
  ASSERT_EQ(value.size(), 3u);
  EXPECT_EQ(
      ToJson(value[0]),
      R"({"twin":"room-1","path":"temperature","model":"dtmi:example:Room;1","unit":"degreeCelsius",)"
      R"("type":"double","semanticType":"Temperature"})");
  HttpResponse page = Call("GET", "/timeseries?twin=room-2", "", {{"max-items-per-page", "1"}});
  json::value p = Json(page);
  ASSERT_EQ(p.at("value").as_array().size(), 1u);
  EXPECT_EQ(p.at("value").at(0).at("path").as_string(), "humidity");
  ASSERT_TRUE(p.as_object().contains("nextLink"));
  std::string next(p.at("nextLink").as_string());
  HttpResponse rest = Call("GET", next.substr(next.find("/timeseries")));
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(Json(rest).at("value").at(0).at("path").as_string(), "temperature");
  EXPECT_FALSE(Json(rest).as_object().contains("nextLink"));
  EXPECT_EQ(Json(Call("GET", "/timeseries?path=humidity")).at("value").as_array().size(), 1u);
  EXPECT_EQ(Json(Call("GET", "/timeseries?model=dtmi:example:Thermostat;1"))
                .at("value")
                .as_array()
                .size(),
            0u);
}

TEST_F(TimeSeriesApiTest, LargeAnswersAreStreamedAndComplete) {
  const tsdb::SeriesId big = Series("room-1", "big");
  constexpr int kPoints = 120'000;  // ~5.8 MB estimated: over the 4 MiB streaming threshold
  std::vector<std::pair<int64_t, double>> points;
  for (int i = 0; i < kPoints; ++i) points.push_back({kT0 + i, i * 0.5});
  Write(big, points);
  HttpResponse r = Post(R"({"series": [{"twin": "room-1", "path": "big"}], "start": 0,
                            "end": "2026-01-01T00:00:00Z", "timeFormat": "ns"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(streamed_);
  json::value v = Json(r);
  const json::array& got = v.at("series").at(0).at("points").as_array();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kPoints));
  for (int i = 0; i < kPoints; i += 997) {
    EXPECT_EQ(got[i].at(0).as_int64(), kT0 + i);
    EXPECT_DOUBLE_EQ(got[i].at(1).to_number<double>(), i * 0.5);
  }
  // A small answer is not streamed.
  Post(R"({"twins": ["room-2"], "mode": "last"})");
  EXPECT_FALSE(streamed_);
}

}  // namespace
}  // namespace doppel::server::testing
