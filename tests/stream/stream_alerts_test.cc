// Alerts over the stream (StreamHub::PublishAlert): to {"alerts": true} subscriptions and to the
// subscriptions covering the alert's twin, with the session's visibility filter and field mask.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "stream/stream_hub.h"
#include "tsdb/temp_dir.h"
#include "twin/events.h"
#include "twin/journal.h"

namespace doppel::stream {
namespace {

json::value J(std::string_view text) { return ParseJson(text).value(); }

constexpr std::string_view kMachine = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Machine;1", "@type": "Interface",
  "contents": [{"@type": "Telemetry", "name": "temperature", "schema": "double"}]})";
constexpr std::string_view kTurbine = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Turbine;1", "@type": "Interface",
  "extends": "dtmi:test:Machine;1", "contents": []})";
constexpr std::string_view kPump = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Pump;1", "@type": "Interface", "contents": []})";

// What alerts::AlertJson makes, in short.
json::object AlertOf(std::string_view twin, std::string_view id = "a0") {
  return json::object{{"alertId", id}, {"twinId", twin}, {"severity", "major"}, {"state", "raised"},
                      {"evidence", json::object{{"temperature", 97.5}}}};
}

class StreamAlertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(graph_.AddModels({J(kMachine), J(kTurbine), J(kPump)}).ok());
    for (auto [id, model] : {std::pair{"machine-1", "dtmi:test:Machine;1"}, {"turbine-1", "dtmi:test:Turbine;1"},
                             {"pump-1", "dtmi:test:Pump;1"}}) {
      auto put = graph_.PutTwin(id, J(fmt::format(R"({{"$metadata": {{"$model": "{}"}}}})", model)), {});
      ASSERT_TRUE(put.ok()) << put.status().ToString();
    }
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    hub_ = std::make_unique<StreamHub>(graph_, events_, *ingestor_);
  }

  std::shared_ptr<StreamSession> Connect(twin::TwinFilter visible = nullptr, twin::FieldMask masked = {}) {
    auto session = hub_->Connect([] {}, std::move(visible), std::move(masked));
    EXPECT_TRUE(session.ok());
    return *session;
  }

  static std::vector<json::object> Take(StreamSession& session) {
    Outbox out;
    session.Take(out);
    std::vector<json::object> messages;
    for (const std::string& frame : out.frames) messages.push_back(J(frame).as_object());
    return messages;
  }

  static json::object Ask(StreamSession& session, std::string_view request) {
    session.HandleMessage(request);
    auto replies = Take(session);
    EXPECT_EQ(replies.size(), 1u) << request;
    return replies.empty() ? json::object() : replies.front();
  }

  // "<subscription>:<alert id>" of each alert message taken.
  static std::vector<std::string> Alerts(StreamSession& session) {
    std::vector<std::string> out;
    for (const json::object& m : Take(session)) {
      EXPECT_EQ(m.at("type"), "alert");
      out.push_back(fmt::format("{}:{}", std::string_view(m.at("subscription").as_string()),
                                std::string_view(m.at("alert").at("alertId").as_string())));
    }
    return out;
  }

  using Ids = std::vector<std::string>;

  tsdb::testing::TempDir dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<StreamHub> hub_;
};

TEST_F(StreamAlertsTest, AnAlertsSubscriptionGetsEveryAlert) {
  auto s = Connect();
  EXPECT_EQ(Ask(*s, R"({"op":"subscribe","id":"all","alerts":true})"),
            J(R"({"type":"subscribed","id":"all","twins":0,"alerts":true})").as_object());
  hub_->PublishAlert("machine-1", AlertOf("machine-1", "a1"));
  hub_->PublishAlert("no-such-twin", AlertOf("no-such-twin", "a2"));
  hub_->PublishAlert("", AlertOf("", "a3"));  // about no twin
  std::vector<json::object> got = Take(*s);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], J(R"({"type":"alert","subscription":"all","alert":{"alertId":"a1","twinId":"machine-1",
      "severity":"major","state":"raised","evidence":{"temperature":97.5}}})").as_object());
  EXPECT_EQ(got[2].at("alert").at("alertId"), "a3");
  // Unsubscribed, nothing more comes.
  Ask(*s, R"({"op":"unsubscribe","id":"all"})");
  hub_->PublishAlert("machine-1", AlertOf("machine-1", "a4"));
  EXPECT_TRUE(Take(*s).empty());
}

TEST_F(StreamAlertsTest, TwinSubscriptionsGetTheirTwinsAlerts) {
  auto s = Connect();
  Ask(*s, R"({"op":"subscribe","id":"ids","twins":["machine-1"]})");
  Ask(*s, R"({"op":"subscribe","id":"machines","model":"dtmi:test:Machine;1"})");
  Ask(*s, R"({"op":"subscribe","id":"telemetry-only","twins":["pump-1"],"events":["telemetry"]})");
  Ask(*s, R"({"op":"subscribe","id":"pump-alerts","twins":["pump-1"],"events":["alerts"]})");
  hub_->PublishAlert("machine-1", AlertOf("machine-1", "a1"));
  hub_->PublishAlert("turbine-1", AlertOf("turbine-1", "a2"));  // a Machine by extension
  hub_->PublishAlert("pump-1", AlertOf("pump-1", "a3"));
  EXPECT_EQ(Alerts(*s), (Ids{"ids:a1", "machines:a1", "machines:a2", "pump-alerts:a3"}));
}

TEST_F(StreamAlertsTest, ASessionSeesOnlyAlertsOfTwinsItMaySee) {
  auto s = Connect([](std::string_view, std::string_view model) { return model == "dtmi:test:Machine;1"; });
  Ask(*s, R"({"op":"subscribe","id":"all","alerts":true})");
  Ask(*s, R"({"op":"subscribe","id":"pump","twins":["pump-1"]})");
  hub_->PublishAlert("machine-1", AlertOf("machine-1", "a1"));
  hub_->PublishAlert("turbine-1", AlertOf("turbine-1", "a2"));
  hub_->PublishAlert("pump-1", AlertOf("pump-1", "a3"));
  hub_->PublishAlert("", AlertOf("", "a4"));  // server-wide: only for sessions that see everything
  EXPECT_EQ(Alerts(*s), (Ids{"all:a1"}));
}

TEST_F(StreamAlertsTest, AMaskedSessionGetsTheAlertWithoutItsEvidence) {
  twin::FieldMask mask{.hidden = [](std::string_view, std::string_view) { return std::string_view("confidential"); },
                       .hides_any = [](std::string_view model) { return model == "dtmi:test:Machine;1"; }};
  auto masked = Connect(nullptr, mask);
  auto clear = Connect();
  for (auto* s : {masked.get(), clear.get()}) Ask(*s, R"({"op":"subscribe","id":"all","alerts":true})");
  hub_->PublishAlert("machine-1", AlertOf("machine-1", "a1"));
  hub_->PublishAlert("pump-1", AlertOf("pump-1", "a2"));
  std::vector<json::object> got = Take(*masked);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].at("alert").at("evidence").is_null());
  EXPECT_EQ(got[0].at("alert").at("severity"), "major");
  EXPECT_EQ(got[1].at("alert").at("evidence").at("temperature"), 97.5);
  got = Take(*clear);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].at("alert").at("evidence").at("temperature"), 97.5);
}

TEST_F(StreamAlertsTest, BadAlertSubscriptionsAreErrors) {
  auto s = Connect();
  for (const char* bad : {R"({"op":"subscribe","id":"x","alerts":false})",
                          R"({"op":"subscribe","id":"x","alerts":"yes"})",
                          R"({"op":"subscribe","id":"x","alerts":true,"twins":["machine-1"]})",
                          R"({"op":"subscribe","id":"x","alerts":true,"events":["alerts"]})",
                          R"({"op":"subscribe","id":"x","twins":["machine-1"],"events":["alarms"]})"}) {
    json::object reply = Ask(*s, bad);
    EXPECT_EQ(reply.at("type"), "error") << bad;
  }
  EXPECT_EQ(s->subscription_count(), 0u);
  // Refresh keeps an alerts subscription what it was.
  Ask(*s, R"({"op":"subscribe","id":"all","alerts":true})");
  EXPECT_EQ(Ask(*s, R"({"op":"refresh","id":"all"})"), J(R"({"type":"subscribed","id":"all","twins":0,"alerts":true})").as_object());
  hub_->PublishAlert("pump-1", AlertOf("pump-1", "a1"));
  EXPECT_EQ(Alerts(*s), (Ids{"all:a1"}));
}

}  // namespace
}  // namespace doppel::stream
