// The wire form: request parsing, times, durations; and the JSON/CSV writers.
#include "history/history_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "history/history_format.h"

namespace doppel::history {
namespace {

using ::testing::HasSubstr;

constexpr TimeNs kNow = 1'764'028'800'000'000'000;  // 2025-11-25T00:00:00Z

Result<ParsedRequest> Parse(std::string_view text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text;
  return ParseHistoryRequest(v->as_object(), kNow);
}

std::string ErrorOf(std::string_view text) {
  auto r = Parse(text);
  EXPECT_FALSE(r.ok()) << text;
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
  return r.status().message();
}

TEST(ParseHistoryRequest, FullBody) {
  auto r = Parse(R"({"series": [{"twin": "a", "path": "x"}], "twins": ["b"], "model": "dtmi:m;1",
                     "query": "SELECT T FROM DIGITALTWINS T", "paths": ["x", "y"],
                     "start": "2025-11-25T00:00:00Z", "end": 1764028800000000001, "step": "1h30m",
                     "aggregations": ["max", "p99", "max"], "groupBy": {"property": "line"},
                     "format": "csv", "timeFormat": "ns"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const HistoryRequest& q = r->request;
  ASSERT_EQ(q.series.size(), 1u);
  EXPECT_EQ(q.series[0].twin, "a");
  EXPECT_EQ(q.twins, std::vector<std::string>{"b"});
  EXPECT_EQ(q.model, "dtmi:m;1");
  EXPECT_EQ(q.paths, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(q.mode, Mode::kAggregate);  // inferred from step
  EXPECT_EQ(*q.start, 1764028800000000000);
  EXPECT_EQ(*q.end, 1764028800000000001);
  EXPECT_EQ(q.step, 5400'000'000'000);
  EXPECT_EQ(q.aggregations, (std::vector<Aggregation>{Aggregation::kMax, Aggregation::kP99}));
  EXPECT_EQ(q.group_by.kind, GroupBy::Kind::kProperty);
  EXPECT_EQ(q.group_by.name, "line");
  EXPECT_EQ(r->output.format, OutputFormat::kCsv);
  EXPECT_TRUE(r->output.format_given);
  EXPECT_EQ(r->output.time_format, TimeFormat::kNs);
}

TEST(ParseHistoryRequest, ModeDefaultsAndExplicit) {
  EXPECT_EQ(Parse(R"({"twins": ["a"]})")->request.mode, Mode::kRaw);
  EXPECT_EQ(Parse(R"({"twins": ["a"], "aggregations": ["sum"]})")->request.mode, Mode::kAggregate);
  EXPECT_EQ(Parse(R"({"twins": ["a"], "mode": "last"})")->request.mode, Mode::kLast);
  EXPECT_EQ(Parse(R"({"twins": ["a"], "groupBy": "twin"})")->request.group_by.kind,
            GroupBy::Kind::kTwin);
  EXPECT_FALSE(Parse(R"({"twins": ["a"]})")->output.format_given);
}

TEST(ParseHistoryRequest, ErrorsNameTheMember) {
  EXPECT_THAT(ErrorOf(R"({"twins": ["a"], "aggregation": ["avg"]})"),
              HasSubstr("unknown member 'aggregation'"));
  EXPECT_THAT(ErrorOf(R"({"twins": "a"})"), HasSubstr("'twins': expected an array of strings"));
  EXPECT_THAT(ErrorOf(R"({"series": [{"twin": "a"}]})"), HasSubstr("'series': each entry must be"));
  EXPECT_THAT(ErrorOf(R"({"mode": "fast"})"), HasSubstr("unknown mode 'fast'"));
  EXPECT_THAT(ErrorOf(R"({"start": "yesterday"})"),
              HasSubstr("'start': expected an RFC 3339 time"));
  EXPECT_THAT(ErrorOf(R"({"end": 1.5})"),
              HasSubstr("'end': expected an RFC 3339 string or integer ns"));
  EXPECT_THAT(ErrorOf(R"({"step": "5x"})"), HasSubstr("'step': expected a duration"));
  EXPECT_THAT(ErrorOf(R"({"step": 0})"), HasSubstr("'step': must be positive"));
  EXPECT_THAT(ErrorOf(R"({"step": "0s"})"), HasSubstr("'step': must be positive"));
  EXPECT_THAT(ErrorOf(R"({"aggregations": ["avg", "median"]})"),
              HasSubstr("unknown aggregation 'median'"));
  EXPECT_THAT(ErrorOf(R"({"aggregations": []})"), HasSubstr("at least one"));
  EXPECT_THAT(ErrorOf(R"({"groupBy": "line"})"), HasSubstr("'groupBy': expected"));
  EXPECT_THAT(ErrorOf(R"({"format": "xml"})"), HasSubstr("unknown format 'xml'"));
  EXPECT_THAT(ErrorOf(R"({"timeFormat": "unix"})"), HasSubstr("unknown time format 'unix'"));
}

TEST(ParseDuration, UnitsAndCompounds) {
  struct Case {
    const char* text;
    TimeNs ns;
  } cases[] = {{"500ms", 500'000'000},
               {"30s", 30'000'000'000},
               {"1m", 60'000'000'000},
               {"1h", 3'600'000'000'000},
               {"1d", 86'400'000'000'000},
               {"250us", 250'000},
               {"7ns", 7},
               {"1h30m", 5'400'000'000'000},
               {"42", 42}};
  for (const Case& c : cases) {
    auto d = ParseDurationText(c.text, "step");
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().ToString();
    EXPECT_EQ(*d, c.ns) << c.text;
  }
  for (const char* bad :
       {"", "s", "1.5h", "-1s", "1 h", "1H", "99999999999999999999d", "1y", "0"}) {
    EXPECT_FALSE(ParseDurationText(bad, "step").ok()) << bad;
  }
}

TEST(FormatTime, ExactToTheNanosecond) {
  EXPECT_EQ(FormatTimeRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimeRfc3339(1764028800'500000000), "2025-11-25T00:00:00.5Z");
  EXPECT_EQ(FormatTimeRfc3339(1764028800'000000001), "2025-11-25T00:00:00.000000001Z");
  EXPECT_EQ(FormatTimeRfc3339(-1), "1969-12-31T23:59:59.999999999Z");
  for (TimeNs t : {TimeNs{0}, TimeNs{1764028800'123456789}, TimeNs{-86'400'000'000'001}}) {
    auto back = ParseTime(json::value(FormatTimeRfc3339(t)), "t", kNow);
    ASSERT_TRUE(back.ok()) << FormatTimeRfc3339(t);
    EXPECT_EQ(*back, t);
  }
  auto offset = ParseTime(json::value("2026-11-25T01:00:00+01:00"), "t", kNow);
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(FormatTimeRfc3339(*offset), "2026-11-25T00:00:00Z");
}

TEST(ParseTime, RelativeToNow) {
  EXPECT_EQ(*ParseTime(json::value("now"), "start", kNow), kNow);
  EXPECT_EQ(*ParseTime(json::value("now-1h"), "start", kNow), kNow - 3'600'000'000'000);
  EXPECT_EQ(*ParseTime(json::value("now+90s"), "end", kNow), kNow + 90'000'000'000);
  for (const char* bad : {"nowish", "now-", "now*1h", "now-1x"}) {
    auto r = ParseTime(json::value(bad), "start", kNow);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("'start'")) << bad;
  }
}

TEST(AppendCsvField, QuotesOnlyWhenNeeded) {
  std::string out;
  AppendCsvField(out, "plain");
  out += '|';
  AppendCsvField(out, "a,b");
  out += '|';
  AppendCsvField(out, "say \"hi\"");
  out += '|';
  AppendCsvField(out, "two\nlines");
  EXPECT_EQ(out, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"");
}

HistoryResult RawResult() {
  HistoryResult r;
  r.plan.request.mode = Mode::kRaw;
  tsdb::SeriesInfo info{1, {"t,1", "x", tsdb::ValueType::kDouble, "dtmi:m;1", "volt", ""}};
  r.plan.series = {info};
  SeriesResult s;
  s.info = info;
  s.points = {{1'000'000'000, 1.5},
              {2'000'000'000, std::numeric_limits<double>::quiet_NaN()},
              {3'000'000'000, -std::numeric_limits<double>::infinity()}};
  r.series = {s};
  return r;
}

TEST(FormatResult, NonFiniteValuesAreNullInJsonAndNamedInCsv) {
  HistoryResult r = RawResult();
  const std::string json = FormatResult(r, {});
  auto parsed = ParseJson(json);
  ASSERT_TRUE(parsed.ok()) << json;
  EXPECT_EQ(
      json,
      R"({"series":[{"twin":"t,1","path":"x","model":"dtmi:m;1","unit":"volt","type":"double","points":[)"
      R"(["1970-01-01T00:00:01Z",1.5],["1970-01-01T00:00:02Z",null],["1970-01-01T00:00:03Z",null]]}]})");
  OutputOptions csv{
      .format = OutputFormat::kCsv, .format_given = true, .time_format = TimeFormat::kNs};
  EXPECT_EQ(FormatResult(r, csv),
            "twin,path,time,value\r\n\"t,1\",x,1000000000,1.5\r\n\"t,1\",x,2000000000,NaN\r\n"
            "\"t,1\",x,3000000000,-Inf\r\n");
}

TEST(FormatResult, AggregatesGroupedByTwinAndByProperty) {
  HistoryResult r;
  r.plan.request.mode = Mode::kAggregate;
  r.plan.request.aggregations = {Aggregation::kCount, Aggregation::kMax};
  r.plan.request.group_by.kind = GroupBy::Kind::kTwin;
  for (const char* path : {"a", "b"}) {
    SeriesResult s;
    s.info = {1, {"tw", path, tsdb::ValueType::kInt64, "m", "", ""}};
    tsdb::Bucket b;
    b.start = 60;
    b.count = 2;
    b.max = 7;
    s.buckets = {b};
    r.series.push_back(s);
  }
  OutputOptions ns{.time_format = TimeFormat::kNs};
  EXPECT_EQ(
      FormatResult(r, ns),
      R"({"twins":[{"twin":"tw","model":"m","series":[)"
      R"({"twin":"tw","path":"a","model":"m","unit":"","type":"int64","buckets":[{"time":60,"count":2,"max":7}]},)"
      R"({"twin":"tw","path":"b","model":"m","unit":"","type":"int64","buckets":[{"time":60,"count":2,"max":7}]}]}]})");

  HistoryResult g;
  g.plan.request = r.plan.request;
  g.plan.request.group_by = {GroupBy::Kind::kProperty, "line"};
  PropertyGroup group;
  group.value = "L,1";
  group.path = "p";
  group.twins = {"x", "y"};
  group.buckets = r.series[0].buckets;
  g.groups = {group};
  EXPECT_EQ(FormatResult(g, ns),
            R"({"groups":[{"property":"line","value":"L,1","path":"p","unit":"","twins":["x","y"],)"
            R"("buckets":[{"time":60,"count":2,"max":7}]}]})");
  OutputOptions csv{
      .format = OutputFormat::kCsv, .format_given = true, .time_format = TimeFormat::kRfc3339};
  EXPECT_EQ(FormatResult(g, csv),
            "group,path,time,count,max\r\n\"L,1\",p,1970-01-01T00:00:00.00000006Z,2,7\r\n");
}

TEST(FormatResult, LastWithAndWithoutPoint) {
  HistoryResult r;
  r.plan.request.mode = Mode::kLast;
  SeriesResult a, b;
  a.info = {1, {"a", "s", tsdb::ValueType::kString, "", "", ""}};
  a.last = tsdb::Point{5, std::string("x\"y")};
  b.info = {2, {"b", "s", tsdb::ValueType::kBool, "", "", ""}};
  r.series = {a, b};
  OutputOptions ns{.time_format = TimeFormat::kNs};
  EXPECT_EQ(
      FormatResult(r, ns),
      R"({"series":[{"twin":"a","path":"s","model":"","unit":"","type":"string","last":{"time":5,"value":"x\"y"}},)"
      R"({"twin":"b","path":"s","model":"","unit":"","type":"bool","last":null}]})");
  OutputOptions csv{
      .format = OutputFormat::kCsv, .format_given = true, .time_format = TimeFormat::kNs};
  EXPECT_EQ(FormatResult(r, csv), "twin,path,time,value\r\na,s,5,\"x\"\"y\"\r\nb,s,,\r\n");
}

}  // namespace
}  // namespace doppel::history
