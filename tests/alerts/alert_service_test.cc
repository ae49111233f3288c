// AlertService: lifecycle, de-duplication, comments and history, filters, persistence across
// reopen (with a torn last line), retention, limits and validation.
#include "alerts/alert_service.h"

#include <gmock/gmock.h>

#include <fmt/format.h>

#include <fstream>
#include <thread>

#include "base/record_journal.h"
#include "tsdb/temp_dir.h"

namespace doppel::alerts {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using std::chrono::minutes;
using std::chrono::seconds;

RaiseRequest Bearing(Severity severity = Severity::kMajor, std::string twin = "kr-wtg-03") {
  return {.twin_id = twin,
          .dedup_key = "bearing/" + twin,
          .severity = severity,
          .title = "Main bearing wear",
          .message = "vibration above the shadow's expectation",
          .rule = "bearing",
          .raised_by = "rule bearing",
          .evidence = json::object{{"score", 0.91}}};
}

std::vector<std::string> Events(const Alert& alert) {
  std::vector<std::string> events;
  for (const AlertEvent& e : alert.history) events.push_back(e.event);
  return events;
}

std::vector<std::string> Ids(const std::vector<Alert>& alerts) {
  std::vector<std::string> ids;
  for (const Alert& a : alerts) ids.push_back(a.id);
  return ids;
}

class AlertServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen(AlertServiceOptions options = {}) {
    alerts_.reset();
    options.dir = dir_.path() + "/alerts";
    options.sync = false;
    auto opened = AlertService::Open(options, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    alerts_ = std::move(*opened);
    alerts_->Subscribe([this](const Alert& a) { announced_.push_back(a); });
  }
  Alert Raise(const RaiseRequest& request) {
    auto raised = alerts_->Raise(request);
    EXPECT_TRUE(raised.ok()) << raised.status().ToString();
    return raised.ok() ? *raised : Alert{};
  }

  tsdb::testing::TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<AlertService> alerts_;
  std::vector<Alert> announced_;
};

TEST_F(AlertServiceTest, RaiseAcknowledgeClear) {
  const TimePoint t0 = clock_.Now();
  Alert a = Raise(Bearing());
  EXPECT_EQ(a.id.size(), 32u);
  EXPECT_EQ(a.id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a.state, AlertState::kRaised);
  EXPECT_EQ(a.raised, t0);
  EXPECT_EQ(a.count, 1u);
  EXPECT_EQ(a.evidence.at("score").as_double(), 0.91);

  clock_.Advance(minutes(2));
  Alert acked = alerts_->Acknowledge(a.id, "operator@plant", "looking at it").value();
  EXPECT_EQ(acked.state, AlertState::kAcknowledged);
  EXPECT_EQ(acked.acknowledged, t0 + minutes(2));
  EXPECT_EQ(acked.acknowledged_by, "operator@plant");
  ASSERT_EQ(acked.comments.size(), 1u);
  EXPECT_EQ(acked.comments[0].text, "looking at it");

  // Acknowledging again changes nothing and is not an error.
  clock_.Advance(minutes(1));
  Alert again = alerts_->Acknowledge(a.id, "someone-else", "").value();
  EXPECT_EQ(again.acknowledged_by, "operator@plant");
  EXPECT_EQ(again.history.size(), acked.history.size());

  Alert cleared = alerts_->Clear(a.id, "operator@plant", "bearing replaced").value();
  EXPECT_EQ(cleared.state, AlertState::kCleared);
  EXPECT_EQ(cleared.cleared, t0 + minutes(3));
  EXPECT_EQ(cleared.cleared_by, "operator@plant");
  EXPECT_THAT(Events(cleared), ElementsAre("raised", "acknowledged", "cleared"));
  EXPECT_EQ(cleared.history.back().detail, "bearing replaced");
  EXPECT_EQ(cleared.history.front().by, "rule bearing");

  // Clearing a cleared alert answers it unchanged; acknowledging it is a conflict.
  clock_.Advance(minutes(1));
  EXPECT_EQ(alerts_->Clear(a.id, "x", "").value().cleared, t0 + minutes(3));
  Result<Alert> late = alerts_->Acknowledge(a.id, "x", "");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), StatusCode::kConflict);
  EXPECT_EQ(late.status().error_code(), "AlertCleared");

  // Every change was announced once, in order; no-ops were not.
  ASSERT_EQ(announced_.size(), 3u);
  EXPECT_EQ(announced_[0].state, AlertState::kRaised);
  EXPECT_EQ(announced_[1].state, AlertState::kAcknowledged);
  EXPECT_EQ(announced_[2].state, AlertState::kCleared);
}

TEST_F(AlertServiceTest, ClearWithoutAcknowledging) {
  Alert a = Raise(Bearing());
  Alert cleared = alerts_->Clear(a.id, "rule bearing", "condition cleared").value();
  EXPECT_EQ(cleared.state, AlertState::kCleared);
  EXPECT_FALSE(cleared.acknowledged.has_value());
  EXPECT_THAT(Events(cleared), ElementsAre("raised", "cleared"));
}

TEST_F(AlertServiceTest, UnknownIdsAreAlertNotFound) {
  for (const Status& s : {alerts_->Get("nope").status(), alerts_->Acknowledge("nope", "x", "").status(),
                          alerts_->Clear("nope", "x", "").status(), alerts_->Comment("nope", "x", "hi").status()}) {
    EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
    EXPECT_EQ(s.error_code(), "AlertNotFound");
  }
}

TEST_F(AlertServiceTest, RepeatsAreDeduplicatedAndSeverityOnlyRises) {
  Alert first = Raise(Bearing(Severity::kMinor));
  clock_.Advance(seconds(30));
  RaiseRequest worse = Bearing(Severity::kCritical);
  worse.evidence = json::object{{"score", 0.99}};
  Alert second = Raise(worse);
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.count, 2u);
  EXPECT_EQ(second.severity, Severity::kCritical);
  EXPECT_EQ(second.raised, first.raised);
  EXPECT_EQ(second.last_raised, first.raised + seconds(30));
  EXPECT_EQ(second.evidence.at("score").as_double(), 0.99);
  EXPECT_EQ(second.history.back().event, "repeated");
  EXPECT_EQ(second.history.back().detail, "severity minor → critical");

  clock_.Advance(seconds(30));
  Alert third = Raise(Bearing(Severity::kWarning));
  EXPECT_EQ(third.count, 3u);
  EXPECT_EQ(third.severity, Severity::kCritical);  // never falls
  EXPECT_EQ(third.evidence.at("score").as_double(), 0.91);  // the newest evidence
  EXPECT_EQ(alerts_->List({}).size(), 1u);
  EXPECT_EQ(alerts_->FindOpen("bearing/kr-wtg-03")->id, first.id);

  // An acknowledged alert still takes the repeats.
  ASSERT_TRUE(alerts_->Acknowledge(first.id, "op", "").ok());
  EXPECT_EQ(Raise(Bearing()).id, first.id);

  // After it is cleared, the same key opens a new alert.
  ASSERT_TRUE(alerts_->Clear(first.id, "op", "").ok());
  EXPECT_FALSE(alerts_->FindOpen("bearing/kr-wtg-03").has_value());
  Alert fresh = Raise(Bearing(Severity::kMinor));
  EXPECT_NE(fresh.id, first.id);
  EXPECT_EQ(fresh.count, 1u);
  EXPECT_EQ(fresh.severity, Severity::kMinor);
  EXPECT_EQ(alerts_->List({}).size(), 2u);
}

TEST_F(AlertServiceTest, ARepeatWithoutEvidenceKeepsTheLastEvidence) {
  Alert first = Raise(Bearing());
  RaiseRequest bare = Bearing();
  bare.evidence = nullptr;
  EXPECT_EQ(Raise(bare).evidence, first.evidence);
}

TEST_F(AlertServiceTest, WithoutAKeyEveryRaiseIsANewAlert) {
  RaiseRequest person{.twin_id = "kr-wtg-01", .severity = Severity::kInfo, .title = "Blade inspection due"};
  Alert a = Raise(person);
  Alert b = Raise(person);
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(a.dedup_key, a.id);
  EXPECT_EQ(alerts_->List({}).size(), 2u);
}

TEST_F(AlertServiceTest, ClearByKeyClearsTheOpenAlertOnly) {
  EXPECT_FALSE(alerts_->ClearByKey("bearing/kr-wtg-03", "rule bearing", "").value().has_value());
  Alert a = Raise(Bearing());
  std::optional<Alert> cleared = alerts_->ClearByKey("bearing/kr-wtg-03", "rule bearing", "condition cleared").value();
  ASSERT_TRUE(cleared.has_value());
  EXPECT_EQ(cleared->id, a.id);
  EXPECT_EQ(cleared->state, AlertState::kCleared);
  EXPECT_EQ(cleared->cleared_by, "rule bearing");
  EXPECT_FALSE(alerts_->ClearByKey("bearing/kr-wtg-03", "rule bearing", "").value().has_value());
  EXPECT_EQ(alerts_->Get(a.id)->state, AlertState::kCleared);
}

TEST_F(AlertServiceTest, CommentsAndHistory) {
  Alert a = Raise(Bearing());
  clock_.Advance(seconds(5));
  Alert commented = alerts_->Comment(a.id, "tech@plant", "ordered a spare bearing").value();
  ASSERT_EQ(commented.comments.size(), 1u);
  EXPECT_EQ(commented.comments[0].author, "tech@plant");
  EXPECT_EQ(commented.comments[0].text, "ordered a spare bearing");
  EXPECT_EQ(commented.comments[0].time, a.raised + seconds(5));
  EXPECT_EQ(commented.history.back().event, "commented");
  // A cleared alert still takes notes (the post-mortem).
  ASSERT_TRUE(alerts_->Clear(a.id, "op", "").ok());
  EXPECT_EQ(alerts_->Comment(a.id, "tech@plant", "root cause: lubrication").value().comments.size(), 2u);
}

TEST_F(AlertServiceTest, HistoryKeepsTheNewestHundredEntries) {
  Alert a = Raise(Bearing());
  for (int i = 0; i < 150; ++i) {
    clock_.Advance(seconds(1));
    Raise(Bearing());
  }
  Alert got = alerts_->Get(a.id).value();
  EXPECT_EQ(got.count, 151u);
  ASSERT_EQ(got.history.size(), 100u);
  EXPECT_EQ(got.history.front().event, "repeated");
  EXPECT_EQ(got.history.front().time, a.raised + seconds(51));
  EXPECT_EQ(got.history.back().time, a.raised + seconds(150));
}

TEST_F(AlertServiceTest, Filters) {
  Alert wtg1 = Raise(Bearing(Severity::kWarning, "kr-wtg-01"));
  clock_.Advance(minutes(1));
  Alert wtg2 = Raise(Bearing(Severity::kCritical, "kr-wtg-02"));
  clock_.Advance(minutes(1));
  RaiseRequest manual{.twin_id = "kr-wtg-02", .severity = Severity::kMinor, .title = "Door open"};
  Alert door = Raise(manual);
  clock_.Advance(minutes(1));
  Alert wtg3 = Raise(Bearing(Severity::kMajor, "kr-wtg-03"));
  ASSERT_TRUE(alerts_->Acknowledge(wtg2.id, "op", "").ok());
  ASSERT_TRUE(alerts_->Clear(wtg3.id, "op", "").ok());

  EXPECT_THAT(Ids(alerts_->List({})), ElementsAre(wtg3.id, door.id, wtg2.id, wtg1.id));  // newest first
  EXPECT_THAT(Ids(alerts_->List({.state = AlertState::kAcknowledged})), ElementsAre(wtg2.id));
  EXPECT_THAT(Ids(alerts_->List({.state = AlertState::kCleared})), ElementsAre(wtg3.id));
  EXPECT_THAT(Ids(alerts_->List({.open_only = true})), ElementsAre(door.id, wtg2.id, wtg1.id));
  EXPECT_THAT(Ids(alerts_->List({.min_severity = Severity::kMajor})), ElementsAre(wtg3.id, wtg2.id));
  EXPECT_THAT(Ids(alerts_->List({.twin_id = "kr-wtg-02"})), ElementsAre(door.id, wtg2.id));
  EXPECT_THAT(Ids(alerts_->List({.rule = "bearing"})), ElementsAre(wtg3.id, wtg2.id, wtg1.id));
  EXPECT_THAT(Ids(alerts_->List({.since = wtg1.raised + minutes(2)})), ElementsAre(wtg3.id, door.id));
  EXPECT_THAT(Ids(alerts_->List({.limit = 2})), ElementsAre(wtg3.id, door.id));

  // A repeat moves an alert to the front: the order is by the latest raise.
  clock_.Advance(minutes(1));
  Raise(Bearing(Severity::kWarning, "kr-wtg-01"));
  EXPECT_EQ(alerts_->List({.limit = 1})[0].id, wtg1.id);
  EXPECT_THAT(Ids(alerts_->List({.since = wtg1.raised + minutes(4)})), ElementsAre(wtg1.id));
}

TEST_F(AlertServiceTest, TheWherePredicateNarrowsBeforeTheLimit) {
  Alert old = Raise(Bearing(Severity::kMajor, "visible"));
  clock_.Advance(seconds(1));
  Raise(Bearing(Severity::kMajor, "hidden"));
  AlertFilter filter{.where = [](const Alert& a) { return a.twin_id == "visible"; }, .limit = 1};
  EXPECT_THAT(Ids(alerts_->List(filter)), ElementsAre(old.id));
}

TEST_F(AlertServiceTest, ListenersHearOfAChangeOnlyOnceItIsInTheJournal) {
  std::vector<std::string> seen_on_disk;
  alerts_->Subscribe([&](const Alert& a) {
    auto journal = RecordJournal::Open(dir_.path() + "/alerts").value();
    const std::vector<json::object> records = journal->ReadAll().value();
    for (const json::object& record : records) {
      if (record.at("alertId") == json::value(a.id)) seen_on_disk.emplace_back(record.at("state").as_string());
    }
  });
  Alert a = Raise(Bearing());
  ASSERT_TRUE(alerts_->Acknowledge(a.id, "op", "").ok());
  ASSERT_TRUE(alerts_->Clear(a.id, "op", "").ok());
  EXPECT_THAT(seen_on_disk, ElementsAre("raised", "acknowledged", "cleared"));
}

TEST_F(AlertServiceTest, ConcurrentRepeatsAreAllCountedAndAnnouncedInOrder) {
  constexpr int kThreads = 4, kRaises = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < kRaises; ++i) ASSERT_TRUE(alerts_->Raise(Bearing()).ok());
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<Alert> all = alerts_->List({});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].count, uint64_t{kThreads * kRaises});
  ASSERT_EQ(announced_.size(), std::size_t{kThreads * kRaises});
  for (std::size_t i = 0; i < announced_.size(); ++i) EXPECT_EQ(announced_[i].count, i + 1);
}

TEST_F(AlertServiceTest, EverythingSurvivesAReopen) {
  Alert a = Raise(Bearing());
  clock_.Advance(seconds(10));
  Raise(Bearing(Severity::kCritical));
  ASSERT_TRUE(alerts_->Acknowledge(a.id, "op", "on it").ok());
  ASSERT_TRUE(alerts_->Comment(a.id, "tech", "spare ordered").ok());
  Alert b = Raise(Bearing(Severity::kMinor, "kr-wtg-01"));
  ASSERT_TRUE(alerts_->Clear(b.id, "op", "false alarm").ok());
  const json::object before_a = AlertJson(alerts_->Get(a.id).value());
  const json::object before_b = AlertJson(alerts_->Get(b.id).value());

  Reopen();
  EXPECT_EQ(AlertJson(alerts_->Get(a.id).value()), before_a);
  EXPECT_EQ(AlertJson(alerts_->Get(b.id).value()), before_b);
  // The key index came back too: a repeat finds the open alert, the cleared key is free.
  EXPECT_EQ(Raise(Bearing()).id, a.id);
  EXPECT_NE(Raise(Bearing(Severity::kMinor, "kr-wtg-01")).id, b.id);
}

TEST_F(AlertServiceTest, ATornLastLineIsSkippedAndLaterChangesAreKept) {
  Alert a = Raise(Bearing());
  alerts_.reset();
  {
    // A crash in the middle of appending: half a record, no newline.
    std::ofstream journal(dir_.path() + "/alerts/journal.jsonl", std::ios::app);
    journal << R"({"key":")" << a.id << R"(","alertId":")" << a.id << R"(","state":"clea)";
  }
  Reopen();
  EXPECT_EQ(alerts_->Get(a.id)->state, AlertState::kRaised);
  ASSERT_TRUE(alerts_->Acknowledge(a.id, "op", "").ok());
  Reopen();
  EXPECT_EQ(alerts_->Get(a.id)->state, AlertState::kAcknowledged);
}

TEST_F(AlertServiceTest, RetentionKeepsTheNewestClearedAndEveryOpenAlert) {
  Reopen({.max_closed = 2});
  std::vector<std::string> cleared;
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(seconds(1));
    Alert a = Raise(Bearing(Severity::kMajor, fmt::format("t{}", i)));
    ASSERT_TRUE(alerts_->Clear(a.id, "op", "").ok());
    cleared.push_back(a.id);
  }
  clock_.Advance(seconds(1));
  Alert open = Raise(Bearing(Severity::kMajor, "still-open"));
  Reopen({.max_closed = 2});  // opening compacts
  EXPECT_THAT(Ids(alerts_->List({.limit = 100})), ElementsAre(open.id, cleared[4], cleared[3]));
  EXPECT_EQ(alerts_->Get(cleared[0]).status().code(), StatusCode::kNotFound);
}

TEST_F(AlertServiceTest, MemoryOnlyRetentionIsBoundedToo) {
  auto memory = AlertService::Open({.max_closed = 0}, clock_).value();
  for (int i = 0; i < 200; ++i) {
    Alert a = memory->Raise(Bearing(Severity::kMajor, fmt::format("t{}", i))).value();
    ASSERT_TRUE(memory->Clear(a.id, "op", "").ok());
  }
  EXPECT_LE(memory->List({.limit = 1000}).size(), 65u);
}

TEST_F(AlertServiceTest, MaxOpenRefusesNewAlertsButNotRepeats) {
  Reopen({.max_open = 2});
  Alert a = Raise(Bearing(Severity::kMajor, "t1"));
  Raise(Bearing(Severity::kMajor, "t2"));
  Result<Alert> third = alerts_->Raise(Bearing(Severity::kMajor, "t3"));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Raise(Bearing(Severity::kMajor, "t1")).count, 2u);
  ASSERT_TRUE(alerts_->Clear(a.id, "op", "").ok());
  EXPECT_TRUE(alerts_->Raise(Bearing(Severity::kMajor, "t3")).ok());
}

TEST_F(AlertServiceTest, ValidationNamesTheField) {
  auto refused = [&](RaiseRequest r) {
    Result<Alert> raised = alerts_->Raise(r);
    EXPECT_EQ(raised.status().code(), StatusCode::kInvalidArgument);
    return raised.status().message();
  };
  RaiseRequest r = Bearing();
  r.title = "";
  EXPECT_THAT(refused(r), HasSubstr("'title' is required"));
  r.title = std::string(201, 'x');
  EXPECT_THAT(refused(r), HasSubstr("'title' is too long: at most 200 characters"));
  r.title = "";
  for (int i = 0; i < 200; ++i) r.title += "é";  // 200 characters, 400 bytes: fine
  EXPECT_TRUE(alerts_->Raise(r).ok());
  r = Bearing();
  r.message = std::string(4001, 'x');
  EXPECT_THAT(refused(r), HasSubstr("'message' is too long: at most 4000 characters"));
  r = Bearing();
  r.evidence = json::object{{"blob", std::string(70'000, 'x')}};
  EXPECT_THAT(refused(r), HasSubstr("'evidence' is too large: at most 64 KiB"));

  Alert a = Raise(Bearing());
  EXPECT_THAT(alerts_->Comment(a.id, "x", "").status().message(), HasSubstr("'text' is required"));
  EXPECT_THAT(alerts_->Comment(a.id, "x", "   ").status().message(), HasSubstr("'text' is required"));
  EXPECT_THAT(alerts_->Comment(a.id, "x", std::string(4001, 'x')).status().message(),
              HasSubstr("'text' is too long"));
  EXPECT_THAT(alerts_->Acknowledge(a.id, "x", std::string(4001, 'x')).status().message(),
              HasSubstr("'comment' is too long"));
  EXPECT_THAT(alerts_->Clear(a.id, "x", std::string(4001, 'x')).status().message(), HasSubstr("'reason' is too long"));
  EXPECT_EQ(alerts_->Get(a.id)->state, AlertState::kRaised);  // nothing was half-done

  // Comment text per alert is bounded (each change journals the whole alert): 65 comments of
  // 4,000 characters fit in 256 KiB, the 66th does not.
  for (int i = 0; i < 65; ++i) ASSERT_TRUE(alerts_->Comment(a.id, "x", std::string(4000, 'c')).ok()) << i;
  Status full = alerts_->Comment(a.id, "x", std::string(4000, 'c')).status();
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("the most one alert keeps is 256 KiB"));
  EXPECT_EQ(alerts_->Get(a.id)->comments.size(), 65u);
}

TEST_F(AlertServiceTest, NamesParseBackAndUnknownOnesAreRefused) {
  for (Severity s : {Severity::kInfo, Severity::kWarning, Severity::kMinor, Severity::kMajor, Severity::kCritical}) {
    EXPECT_EQ(ParseSeverity(SeverityName(s)).value(), s);
  }
  EXPECT_THAT(ParseSeverity("severe").status().message(), HasSubstr("info, warning, minor, major, critical"));
  EXPECT_EQ(ParseAlertState("acknowledged").value(), AlertState::kAcknowledged);
  EXPECT_FALSE(ParseAlertState("open").ok());
}

TEST_F(AlertServiceTest, JsonHasTheDocumentedShape) {
  Alert a = Raise(Bearing());
  json::object j = AlertJson(a);
  EXPECT_EQ(j.at("alertId"), json::value(a.id));
  EXPECT_EQ(j.at("dedupKey"), json::value("bearing/kr-wtg-03"));
  EXPECT_EQ(j.at("twinId"), json::value("kr-wtg-03"));
  EXPECT_EQ(j.at("rule"), json::value("bearing"));
  EXPECT_EQ(j.at("severity"), json::value("major"));
  EXPECT_EQ(j.at("state"), json::value("raised"));
  EXPECT_EQ(j.at("raisedTime"), json::value(FormatRfc3339(a.raised)));
  EXPECT_EQ(j.at("count"), json::value(1u));
  EXPECT_FALSE(j.contains("acknowledgedTime"));
  EXPECT_FALSE(j.contains("clearedBy"));
  EXPECT_TRUE(j.at("comments").as_array().empty());
  EXPECT_EQ(j.at("history").at(0).at("event"), json::value("raised"));
  EXPECT_EQ(j.at("history").at(0).at("by"), json::value("rule bearing"));
  // A person's alert has no "rule".
  EXPECT_FALSE(AlertJson(Raise({.twin_id = "x", .title = "t"})).contains("rule"));
}

TEST_F(AlertServiceTest, MetricsCountOpenAlertsBySeverityAndNewRaises) {
  Alert a = Raise(Bearing(Severity::kMajor, "t1"));
  Raise(Bearing(Severity::kMajor, "t1"));  // a repeat: not a new alert
  Raise(Bearing(Severity::kCritical, "t2"));
  Alert c = Raise(Bearing(Severity::kMajor, "t3"));
  ASSERT_TRUE(alerts_->Clear(c.id, "op", "").ok());
  std::string out;
  alerts_->RenderMetrics(out);
  EXPECT_THAT(out, HasSubstr("# TYPE doppel_alerts_open gauge\n"));
  EXPECT_THAT(out, HasSubstr("doppel_alerts_open{severity=\"major\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("doppel_alerts_open{severity=\"critical\"} 1\n"));
  EXPECT_THAT(out, HasSubstr("doppel_alerts_open{severity=\"info\"} 0\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE doppel_alerts_raised_total counter\ndoppel_alerts_raised_total 3\n"));
}

}  // namespace
}  // namespace doppel::alerts
