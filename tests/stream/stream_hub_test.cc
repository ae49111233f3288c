// The hub without sockets: a real TwinGraph, EventBus and Ingestor (SeriesStore in a temp
// dir), sessions driven through HandleMessage/Take as the transport drives them.
#include "stream/stream_hub.h"

#include <gtest/gtest.h>

#include <atomic>

#include "base/clock.h"
#include "stream/internal/messages.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"

namespace doppel::stream {
namespace {

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kMachine = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Machine;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "temperature", "schema": "double"},
    {"@type": "Telemetry", "name": "vibration", "schema": "double"},
    {"@type": "Telemetry", "name": "count", "schema": "integer"},
    {"@type": "Property", "name": "site", "schema": "string", "writable": true},
    {"@type": "Relationship", "name": "feeds"}
  ]})";
constexpr std::string_view kTurbine = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Turbine;1", "@type": "Interface",
  "extends": "dtmi:test:Machine;1",
  "contents": [{"@type": "Telemetry", "name": "power", "schema": "double"}]})";
constexpr std::string_view kPump = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Pump;1", "@type": "Interface",
  "contents": [{"@type": "Telemetry", "name": "flow", "schema": "double"}]})";

class StreamHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(graph_.AddModels({J(kMachine), J(kTurbine), J(kPump)}).ok());
    PutTwin("machine-1", "dtmi:test:Machine;1");
    PutTwin("turbine-1", "dtmi:test:Turbine;1");
    PutTwin("pump-1", "dtmi:test:Pump;1");
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
  }

  void MakeHub(StreamLimits limits = {}) {
    hub_ = std::make_unique<StreamHub>(graph_, events_, *ingestor_, limits);
  }

  void PutTwin(const std::string& id, const std::string& model) {
    auto put = graph_.PutTwin(id, J(R"({"$metadata": {"$model": ")" + model + R"("}})"), {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  std::shared_ptr<StreamSession> Connect() {
    auto session = hub_->Connect([this] { wakes_.fetch_add(1); });
    EXPECT_TRUE(session.ok());
    return *session;
  }

  // Everything queued for the session, parsed.
  static std::vector<json::object> Take(StreamSession& session, Outbox* out_box = nullptr) {
    Outbox out;
    session.Take(out);
    std::vector<json::object> messages;
    for (const std::string& frame : out.frames) messages.push_back(J(frame).as_object());
    if (out_box) *out_box = std::move(out);
    return messages;
  }

  // Sends `request` and returns the single reply.
  static json::object Ask(StreamSession& session, std::string_view request) {
    session.HandleMessage(request);
    auto replies = Take(session);
    EXPECT_EQ(replies.size(), 1u) << request;
    return replies.empty() ? json::object() : replies.front();
  }

  void Write(std::vector<ingest::Reading> readings) {
    Status s = ingestor_->Write(readings);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<std::string> TelemetryTwins(const std::vector<json::object>& messages) {
    std::vector<std::string> out;
    for (const auto& m : messages) {
      if (m.at("type") == "telemetry") out.push_back(std::string(m.at("twin").as_string()));
    }
    return out;
  }

  tsdb::testing::TempDir dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<StreamHub> hub_;
  std::atomic<int> wakes_{0};
};

TEST_F(StreamHubTest, SubscribeByIdDeliversTelemetryWithExactValueAndTime) {
  MakeHub();
  auto s = Connect();
  json::object reply = Ask(*s, R"({"op":"subscribe","id":"s1","twins":["machine-1"]})");
  EXPECT_EQ(reply, J(R"({"type":"subscribed","id":"s1","twins":1})").as_object());
  Write({{"machine-1", "temperature", 1'700'000'000'123'456'789, 21.5},
         {"pump-1", "flow", 1'700'000'000'000'000'000, 3.0},
         {"machine-1", "count", 1'700'000'001'000'000'000, 7.0}});
  auto messages = Take(*s);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], J(R"({"type":"telemetry","subscription":"s1","twin":"machine-1","path":"temperature",
                               "time":"2023-11-14T22:13:20.123456789Z","value":21.5})").as_object());
  // Stored as the series' type: an integer telemetry written as 7.0 arrives as 7.
  EXPECT_EQ(messages[1].at("value"), json::value(7));
  EXPECT_EQ(messages[1].at("time"), "2023-11-14T22:13:21.000000000Z");
}

TEST_F(StreamHubTest, SubscriptionIdIsTheFirstMemberAfterType) {
  MakeHub();
  auto s = Connect();
  Ask(*s, R"({"op":"subscribe","id":"a\"b","twins":["machine-1"]})");
  Write({{"machine-1", "temperature", 0, 1.0}});
  Outbox out;
  s->Take(out);
  ASSERT_EQ(out.frames.size(), 1u);
  EXPECT_EQ(out.frames[0].rfind(R"({"type":"telemetry","subscription":"a\"b","twin":"machine-1")", 0), 0u)
      << out.frames[0];
}

TEST_F(StreamHubTest, PathsFilterKeepsOnlyNamedTelemetry) {
  MakeHub();
  auto s = Connect();
  Ask(*s, R"({"op":"subscribe","id":"s","twins":["machine-1"],"paths":["vibration"]})");
  Write({{"machine-1", "temperature", 1, 20.0}, {"machine-1", "vibration", 2, 0.5}});
  auto messages = Take(*s);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].at("path"), "vibration");
}

TEST_F(StreamHubTest, EventsFilterSelectsKinds) {
  MakeHub();
  auto props = Connect();
  auto telemetry = Connect();
  Ask(*props, R"({"op":"subscribe","id":"p","twins":["machine-1"],"events":["properties"]})");
  Ask(*telemetry, R"({"op":"subscribe","id":"t","twins":["machine-1"],"events":["telemetry"]})");
  Write({{"machine-1", "temperature", 1, 20.0}});
  ASSERT_TRUE(graph_.PatchTwin("machine-1", J(R"([{"op":"add","path":"/site","value":"north"}])"), {}).ok());
  auto p = Take(*props);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].at("type"), "twin");
  EXPECT_EQ(p[0].at("event"), "Twin.Update");
  EXPECT_EQ(p[0].at("twin"), "machine-1");
  EXPECT_EQ(p[0].at("patch"), J(R"([{"op":"add","path":"/site","value":"north"}])"));
  EXPECT_EQ(p[0].at("seq"), json::value(graph_.last_event_seq()));
  auto t = Take(*telemetry);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].at("type"), "telemetry");
}

TEST_F(StreamHubTest, ModelSubscriptionCoversDerivedModelsAndJoinsLaterTwins) {
  MakeHub();
  auto s = Connect();
  json::object reply = Ask(*s, R"({"op":"subscribe","id":"m","model":"dtmi:test:Machine;1"})");
  EXPECT_EQ(reply.at("twins"), json::value(2));  // machine-1 and turbine-1 (Turbine extends Machine)
  PutTwin("turbine-2", "dtmi:test:Turbine;1");
  PutTwin("pump-2", "dtmi:test:Pump;1");
  auto created = Take(*s);
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].at("event"), "Twin.Create");
  EXPECT_EQ(created[0].at("twin"), "turbine-2");
  EXPECT_EQ(created[0].at("doc").at("$dtId"), "turbine-2");
  Write({{"machine-1", "temperature", 1, 1.0}, {"turbine-2", "power", 2, 2.0}, {"pump-2", "flow", 3, 3.0},
         {"turbine-1", "power", 4, 4.0}});
  EXPECT_EQ(TelemetryTwins(Take(*s)), (std::vector<std::string>{"machine-1", "turbine-2", "turbine-1"}));
}

TEST_F(StreamHubTest, DeletedTwinLeavesAModelSubscription) {
  MakeHub();
  auto s = Connect();
  Ask(*s, R"({"op":"subscribe","id":"m","model":"dtmi:test:Turbine;1"})");
  ASSERT_TRUE(graph_.DeleteTwin("turbine-1", {}).ok());
  auto deleted = Take(*s);
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].at("event"), "Twin.Delete");
  EXPECT_EQ(deleted[0].at("doc").at("$dtId"), "turbine-1");
  s->HandleMessage(R"({"op":"list"})");
  EXPECT_EQ(Take(*s)[0].at("subscriptions"), J(R"([{"id":"m","twins":0}])"));
}

TEST_F(StreamHubTest, QuerySubscriptionIsEvaluatedAtSubscribeTimeAndOnRefresh) {
  MakeHub();
  auto s = Connect();
  const std::string query = R"(SELECT T FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, 'machine'))";
  json::object reply = Ask(*s, R"({"op":"subscribe","id":"q","query":")" + query + R"("})");
  EXPECT_EQ(reply.at("twins"), json::value(1));
  PutTwin("machine-2", "dtmi:test:Machine;1");
  EXPECT_TRUE(Take(*s).empty());  // not re-evaluated on its own
  Write({{"machine-2", "temperature", 1, 1.0}});
  EXPECT_TRUE(Take(*s).empty());
  reply = Ask(*s, R"({"op":"refresh","id":"q"})");
  EXPECT_EQ(reply, J(R"({"type":"subscribed","id":"q","twins":2})").as_object());
  Write({{"machine-2", "temperature", 2, 2.0}, {"machine-1", "temperature", 3, 3.0}});
  EXPECT_EQ(TelemetryTwins(Take(*s)), (std::vector<std::string>{"machine-2", "machine-1"}));
}

TEST_F(StreamHubTest, RelationshipEventsReachBothEnds) {
  MakeHub();
  auto source = Connect();
  auto target = Connect();
  Ask(*source, R"({"op":"subscribe","id":"src","twins":["machine-1"]})");
  Ask(*target, R"({"op":"subscribe","id":"dst","twins":["turbine-1"],"events":["graph"]})");
  auto put = graph_.PutRelationship("machine-1", "r1",
                                    J(R"({"$targetId":"turbine-1","$relationshipName":"feeds"})"), {});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  for (auto* session : {source.get(), target.get()}) {
    auto messages = Take(*session);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].at("type"), "relationship");
    EXPECT_EQ(messages[0].at("event"), "Relationship.Create");
    EXPECT_EQ(messages[0].at("relationship"), "r1");
    EXPECT_EQ(messages[0].at("source"), "machine-1");
    EXPECT_EQ(messages[0].at("target"), "turbine-1");
    EXPECT_EQ(messages[0].at("name"), "feeds");
  }
}

TEST_F(StreamHubTest, BadClientMessagesGetErrorsNamingTheProblem) {
  MakeHub();
  auto s = Connect();
  auto error = [&](std::string_view request) {
    json::object reply = Ask(*s, request);
    EXPECT_EQ(reply.at("type"), "error") << request;
    return std::string(reply.at("message").as_string());
  };
  EXPECT_NE(error("{not json").find("invalid JSON"), std::string::npos);
  EXPECT_NE(error("[1,2]").find("JSON object"), std::string::npos);
  EXPECT_NE(error(R"({"op":"dance"})").find("unknown op \"dance\""), std::string::npos);
  EXPECT_NE(error(R"({"op":"subscribe","twins":["x"]})").find("\"id\""), std::string::npos);
  EXPECT_NE(error(R"({"op":"subscribe","id":"a"})").find("exactly one of"), std::string::npos);
  EXPECT_NE(error(R"({"op":"subscribe","id":"a","twins":["x"],"model":"dtmi:x;1"})").find("exactly one of"),
            std::string::npos);
  EXPECT_NE(error(R"({"op":"subscribe","id":"a","model":"dtmi:test:Nope;1"})").find("unknown model"),
            std::string::npos);
  EXPECT_NE(error(R"({"op":"subscribe","id":"a","twins":["x"],"events":["weather"]})").find("weather"),
            std::string::npos);
  EXPECT_NE(error(R"({"op":"subscribe","id":"a","twins":["x"],"colour":1})").find("colour"), std::string::npos);
  EXPECT_NE(error(R"({"op":"subscribe","id":"a","query":"SELECT T FORM DIGITALTWINS T"})").find("line 1, column"),
            std::string::npos);
  EXPECT_NE(error(R"({"op":"subscribe","id":"a","query":"SELECT COUNT() FROM DIGITALTWINS"})").find("rows must be twins"),
            std::string::npos);
  EXPECT_NE(error(R"({"op":"unsubscribe","id":"ghost"})").find("no subscription \"ghost\""), std::string::npos);
  Ask(*s, R"({"op":"subscribe","id":"a","twins":["x"]})");
  EXPECT_NE(error(R"({"op":"subscribe","id":"a","twins":["y"]})").find("already exists"), std::string::npos);
  // The request is echoed so the client can tell which one failed.
  json::object reply = Ask(*s, R"({"op":"dance","n":1})");
  EXPECT_EQ(reply.at("request"), J(R"({"op":"dance","n":1})"));
  EXPECT_EQ(hub_->counters().client_errors, 14u);
}

TEST_F(StreamHubTest, LimitsOnSubscriptionsMessageSizeAndConnections) {
  MakeHub({.max_connections = 2, .max_subscriptions = 2, .max_message_bytes = 100});
  auto s = Connect();
  Ask(*s, R"({"op":"subscribe","id":"1","twins":["x"]})");
  Ask(*s, R"({"op":"subscribe","id":"2","twins":["x"]})");
  EXPECT_NE(std::string(Ask(*s, R"({"op":"subscribe","id":"3","twins":["x"]})").at("message").as_string())
                .find("too many subscriptions"),
            std::string::npos);
  std::string big = R"({"op":"subscribe","id":"4","twins":[")" + std::string(200, 'x') + R"("]})";
  EXPECT_EQ(Ask(*s, big).at("type"), "error");
  auto second = Connect();
  auto third = hub_->Connect([] {});
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  hub_->Disconnect(*second);
  EXPECT_TRUE(hub_->Connect([] {}).ok());
  EXPECT_EQ(hub_->counters().connections_refused, 1u);
}

TEST_F(StreamHubTest, OverflowDropsNewestAndReportsTheExactCount) {
  MakeHub({.queue_capacity = 4});
  auto s = Connect();
  Ask(*s, R"({"op":"subscribe","id":"s","twins":["machine-1"]})");
  std::vector<ingest::Reading> batch;
  for (int i = 0; i < 10; ++i) batch.push_back({"machine-1", "temperature", i, static_cast<double>(i)});
  Write(batch);
  auto messages = Take(*s);
  ASSERT_EQ(messages.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(messages[i].at("time").as_string(), internal::FormatTimeNs(i));
  EXPECT_EQ(messages[4], J(R"({"type":"dropped","count":6,"reason":"slow consumer"})").as_object());
  EXPECT_EQ(hub_->counters().messages_dropped, 6u);
  // Drained: the next message gets through again, without another notice.
  Write({{"machine-1", "temperature", 99, 99.0}});
  messages = Take(*s);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].at("value").to_number<double>(), 99.0);
}

TEST_F(StreamHubTest, AClientThatNeverReadsNeverBlocksThePublisherAndIsDisconnected) {
  MakeHub({.queue_capacity = 32, .disconnect_after_drops = 100});
  auto stalled = Connect();
  auto healthy = Connect();
  Ask(*stalled, R"({"op":"subscribe","id":"s","twins":["machine-1"]})");
  Ask(*healthy, R"({"op":"subscribe","id":"h","twins":["machine-1"]})");
  std::size_t healthy_got = 0;
  for (int round = 0; round < 50; ++round) {
    std::vector<ingest::Reading> batch;
    for (int i = 0; i < 20; ++i) batch.push_back({"machine-1", "temperature", round * 20 + i, 1.0});
    Write(batch);  // returns although `stalled` never takes anything
    healthy_got += TelemetryTwins(Take(*healthy)).size();
  }
  EXPECT_EQ(healthy_got, 1000u);
  StreamHub::Counters c = hub_->counters();
  EXPECT_EQ(c.messages_dropped, 100u);  // 32 queued, then 100 drops close the session
  EXPECT_EQ(c.slow_disconnects, 1u);
  Outbox out;
  EXPECT_TRUE(Take(*stalled, &out).empty());
  EXPECT_TRUE(out.close);
  EXPECT_EQ(out.close_code, 1008);
  EXPECT_NE(out.close_reason.find("slow consumer"), std::string::npos);
}

TEST_F(StreamHubTest, UnsubscribeWithdrawsQueuedMessagesAndStopsNewOnes) {
  MakeHub();
  auto s = Connect();
  Ask(*s, R"({"op":"subscribe","id":"a","twins":["machine-1"]})");
  Ask(*s, R"({"op":"subscribe","id":"b","twins":["machine-1"]})");
  Write({{"machine-1", "temperature", 1, 1.0}});
  s->HandleMessage(R"({"op":"unsubscribe","id":"a"})");
  auto messages = Take(*s);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], J(R"({"type":"unsubscribed","id":"a"})").as_object());
  EXPECT_EQ(messages[1].at("subscription"), "b");
  Write({{"machine-1", "temperature", 2, 2.0}});
  messages = Take(*s);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].at("subscription"), "b");
  EXPECT_EQ(hub_->counters().subscriptions, 1u);
}

TEST_F(StreamHubTest, WakeIsCalledOnceWhenAnEmptyTakeArmedIt) {
  MakeHub();
  auto s = Connect();
  Ask(*s, R"({"op":"subscribe","id":"a","twins":["machine-1"]})");
  EXPECT_TRUE(Take(*s).empty());  // arms
  int before = wakes_.load();
  Write({{"machine-1", "temperature", 1, 1.0}, {"machine-1", "temperature", 2, 2.0}});
  Write({{"machine-1", "temperature", 3, 3.0}});
  EXPECT_EQ(wakes_.load(), before + 1);
  EXPECT_EQ(Take(*s).size(), 3u);
}

TEST_F(StreamHubTest, DisconnectedSessionsGetNothingAndMetricsAreRendered) {
  MakeHub();
  auto s = Connect();
  Ask(*s, R"({"op":"subscribe","id":"a","twins":["machine-1"]})");
  hub_->Disconnect(*s);
  hub_->Disconnect(*s);  // idempotent
  Write({{"machine-1", "temperature", 1, 1.0}});
  EXPECT_TRUE(Take(*s).empty());
  std::string metrics;
  hub_->RenderMetrics(metrics);
  EXPECT_NE(metrics.find("doppel_ws_connections 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("doppel_ws_connections_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("doppel_ws_messages_sent_total 1\n"), std::string::npos);  // "subscribed"
  EXPECT_NE(metrics.find("# TYPE doppel_ws_messages_dropped_total counter\n"), std::string::npos);
  EXPECT_NE(metrics.find("doppel_ws_subscriptions 0\n"), std::string::npos);
}

TEST(StreamMessagesTest, FormatsNanosecondTimes) {
  EXPECT_EQ(internal::FormatTimeNs(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(internal::FormatTimeNs(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(internal::FormatTimeNs(1'764'000'000'000'000'001), "2025-11-24T16:00:00.000000001Z");
}

}  // namespace
}  // namespace doppel::stream
