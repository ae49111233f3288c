// A session's TwinFilter: it sees telemetry, property changes and graph events only of twins
// it may see, subscribing to an invisible twin looks exactly like subscribing to an unknown
// one, and the WebSocket endpoint's authorizer decides the filter (or refuses) at upgrade.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "server/http_message.h"
#include "stream/stream_hub.h"
#include "stream/websocket_endpoint.h"
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
    {"@type": "Property", "name": "site", "schema": "string", "writable": true},
    {"@type": "Relationship", "name": "feeds"}
  ]})";
constexpr std::string_view kTurbine = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Turbine;1", "@type": "Interface",
  "extends": "dtmi:test:Machine;1",
  "contents": [{"@type": "Telemetry", "name": "power", "schema": "double"}]})";
constexpr std::string_view kPump = R"({
  "@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:Pump;1", "@type": "Interface",
  "contents": [{"@type": "Telemetry", "name": "flow", "schema": "double"},
               {"@type": "Relationship", "name": "feeds"}]})";

twin::TwinFilter Only(std::set<std::string> ids) {
  return [ids = std::move(ids)](std::string_view id, std::string_view) {
    return ids.contains(std::string(id));
  };
}

twin::TwinFilter OfModel(std::string model) {
  return [model = std::move(model)](std::string_view, std::string_view m) { return m == model; };
}

class StreamVisibilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(graph_.AddModels({J(kMachine), J(kTurbine), J(kPump)}).ok());
    PutTwin("machine-1", "dtmi:test:Machine;1");
    PutTwin("turbine-1", "dtmi:test:Turbine;1");
    PutTwin("pump-1", "dtmi:test:Pump;1");
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    hub_ = std::make_unique<StreamHub>(graph_, events_, *ingestor_);
  }

  void PutTwin(const std::string& id, const std::string& model) {
    auto put = graph_.PutTwin(id, J(R"({"$metadata": {"$model": ")" + model + R"("}})"), {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  void Relate(const std::string& source, const std::string& rel, const std::string& target) {
    auto put = graph_.PutRelationship(
        source, rel, J(R"({"$targetId":")" + target + R"(","$relationshipName":"feeds"})"), {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  std::shared_ptr<StreamSession> Connect(twin::TwinFilter visible) {
    auto session = hub_->Connect([] {}, std::move(visible));
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

  void Write(std::vector<ingest::Reading> readings) {
    Status s = ingestor_->Write(readings);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // "type:twin" (telemetry, twin events) or "event:source>target" (relationships).
  static std::vector<std::string> Summary(const std::vector<json::object>& messages) {
    std::vector<std::string> out;
    for (const json::object& m : messages) {
      const std::string type(m.at("type").as_string());
      if (type == "relationship") {
        out.push_back(std::string(m.at("event").as_string()) + ":" +
                      std::string(m.at("source").as_string()) + ">" +
                      std::string(m.at("target").as_string()));
      } else if (type == "telemetry") {
        out.push_back("telemetry:" + std::string(m.at("twin").as_string()));
      } else if (m.contains("event")) {
        out.push_back(std::string(m.at("event").as_string()) + ":" +
                      std::string(m.at("twin").as_string()));
      } else {
        out.push_back(type);
      }
    }
    return out;
  }

  using Strings = std::vector<std::string>;

  tsdb::testing::TempDir dir_;
  twin::MemoryJournal journal_;
  ManualClock clock_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<StreamHub> hub_;
};

TEST_F(StreamVisibilityTest, TelemetryOnlyOfVisibleTwins) {
  auto s = Connect(Only({"machine-1", "turbine-1"}));
  json::object reply =
      Ask(*s, R"({"op":"subscribe","id":"all","twins":["machine-1","pump-1","turbine-1"]})");
  EXPECT_EQ(reply.at("twins"), json::value(3));
  Write({{"machine-1", "temperature", 1, 1.0},
         {"pump-1", "flow", 2, 2.0},
         {"turbine-1", "power", 3, 3.0}});
  EXPECT_EQ(Summary(Take(*s)), (Strings{"telemetry:machine-1", "telemetry:turbine-1"}));
}

TEST_F(StreamVisibilityTest, EachSessionSeesItsOwnTwinsOfOneEvent) {
  auto pumps = Connect(OfModel("dtmi:test:Pump;1"));
  auto machines = Connect(OfModel("dtmi:test:Machine;1"));
  auto everything = Connect(nullptr);
  for (auto* s : {pumps.get(), machines.get(), everything.get()}) {
    Ask(*s, R"({"op":"subscribe","id":"all","twins":["machine-1","pump-1","turbine-1"]})");
  }
  Write({{"machine-1", "temperature", 1, 1.0},
         {"pump-1", "flow", 2, 2.0},
         {"turbine-1", "power", 3, 3.0}});
  EXPECT_EQ(Summary(Take(*pumps)), (Strings{"telemetry:pump-1"}));
  EXPECT_EQ(Summary(Take(*machines)), (Strings{"telemetry:machine-1"}));  // turbine: exact model
  EXPECT_EQ(Summary(Take(*everything)),
            (Strings{"telemetry:machine-1", "telemetry:pump-1", "telemetry:turbine-1"}));
}

TEST_F(StreamVisibilityTest, SubscribingToAnInvisibleTwinIsLikeSubscribingToAnUnknownOne) {
  auto s = Connect(Only({"machine-1"}));
  json::object invisible = Ask(*s, R"({"op":"subscribe","id":"a","twins":["pump-1"]})");
  json::object unknown = Ask(*s, R"({"op":"subscribe","id":"b","twins":["nobody"]})");
  invisible["id"] = "b";
  EXPECT_EQ(invisible, unknown);
  s->HandleMessage(R"({"op":"list"})");
  EXPECT_EQ(Take(*s)[0].at("subscriptions"),
            J(R"([{"id":"a","twins":1},{"id":"b","twins":1}])"));
  // Nothing about it ever arrives: telemetry, property changes, deletion.
  Write({{"pump-1", "flow", 1, 1.0}});
  ASSERT_TRUE(graph_.DeleteTwin("pump-1", {}).ok());
  EXPECT_TRUE(Take(*s).empty());
}

TEST_F(StreamVisibilityTest, TwinEventsFollowTheTwinsModelAsItChanges) {
  auto s = Connect(OfModel("dtmi:test:Machine;1"));
  Ask(*s, R"({"op":"subscribe","id":"ids","twins":["machine-2","pump-2","machine-1"]})");
  PutTwin("machine-2", "dtmi:test:Machine;1");
  PutTwin("pump-2", "dtmi:test:Pump;1");
  auto patched = graph_.PatchTwin(
      "machine-1", J(R"([{"op":"add","path":"/site","value":"north"}])"), {});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(Summary(Take(*s)), (Strings{"Twin.Create:machine-2", "Twin.Update:machine-1"}));
  // Telemetry is judged by the model the hub tracked from machine-2's creation.
  Write({{"machine-2", "temperature", 1, 1.0}, {"pump-2", "flow", 1, 1.0}});
  EXPECT_EQ(Summary(Take(*s)), (Strings{"telemetry:machine-2"}));
  // machine-2 becomes a pump: from then on the session does not see it, not even its
  // telemetry or its deletion (the hub tracks the new model).
  PutTwin("machine-2", "dtmi:test:Pump;1");
  Write({{"machine-2", "flow", 2, 2.0}, {"machine-1", "temperature", 2, 2.0}});
  ASSERT_TRUE(graph_.DeleteTwin("machine-2", {}).ok());
  EXPECT_EQ(Summary(Take(*s)), (Strings{"telemetry:machine-1"}));
}

TEST_F(StreamVisibilityTest, ModelSubscriptionCoversAndJoinsOnlyVisibleTwins) {
  auto s = Connect(Only({"machine-1", "machine-3"}));
  json::object reply = Ask(*s, R"({"op":"subscribe","id":"m","model":"dtmi:test:Machine;1"})");
  EXPECT_EQ(reply.at("twins"), json::value(1));  // turbine-1 extends Machine but is hidden
  PutTwin("machine-2", "dtmi:test:Machine;1");   // hidden
  PutTwin("machine-3", "dtmi:test:Machine;1");   // visible
  EXPECT_EQ(Summary(Take(*s)), (Strings{"Twin.Create:machine-3"}));
  s->HandleMessage(R"({"op":"list"})");
  EXPECT_EQ(Take(*s)[0].at("subscriptions"), J(R"([{"id":"m","twins":2}])"));
  Write({{"machine-2", "temperature", 1, 1.0}, {"machine-3", "temperature", 2, 2.0}});
  EXPECT_EQ(Summary(Take(*s)), (Strings{"telemetry:machine-3"}));
}

TEST_F(StreamVisibilityTest, QuerySubscriptionResolvesOnlyVisibleTwins) {
  auto s = Connect(Only({"turbine-1"}));
  json::object reply =
      Ask(*s, R"({"op":"subscribe","id":"q","query":"SELECT T FROM DIGITALTWINS T"})");
  EXPECT_EQ(reply.at("twins"), json::value(1));
  Write({{"machine-1", "temperature", 1, 1.0}, {"turbine-1", "power", 2, 2.0}});
  EXPECT_EQ(Summary(Take(*s)), (Strings{"telemetry:turbine-1"}));
}

TEST_F(StreamVisibilityTest, RelationshipEventsNeedBothEndsVisible) {
  PutTwin("machine-2", "dtmi:test:Machine;1");  // before the session: loaded with the graph
  auto s = Connect(Only({"machine-1", "turbine-1", "turbine-2"}));
  Ask(*s, R"({"op":"subscribe","id":"g","twins":["machine-1","machine-2","pump-1"],)"
          R"("events":["graph"]})");
  PutTwin("turbine-2", "dtmi:test:Turbine;1");  // after: tracked from its event
  Relate("machine-1", "to-turbine", "turbine-1");
  Relate("machine-1", "to-machine-2", "machine-2");  // hidden target
  Relate("machine-2", "to-machine-1", "machine-1");  // hidden source
  Relate("pump-1", "to-machine-1", "machine-1");     // hidden source
  Relate("machine-1", "to-turbine-2", "turbine-2");
  ASSERT_TRUE(graph_.DeleteRelationship("machine-1", "to-machine-2", {}).ok());
  ASSERT_TRUE(graph_.DeleteRelationship("machine-1", "to-turbine", {}).ok());
  EXPECT_EQ(Summary(Take(*s)),
            (Strings{"Relationship.Create:machine-1>turbine-1",
                     "Relationship.Create:machine-1>turbine-2",
                     "Relationship.Delete:machine-1>turbine-1"}));
  // Without a filter the same subscription sees them all.
  auto all = Connect(nullptr);
  Ask(*all, R"({"op":"subscribe","id":"g","twins":["machine-2"],"events":["graph"]})");
  Relate("machine-2", "again", "turbine-1");
  EXPECT_EQ(Summary(Take(*all)), (Strings{"Relationship.Create:machine-2>turbine-1"}));
  EXPECT_TRUE(Take(*s).empty());
}

// ---------------------------------------------------------------- the endpoint's authorizer

server::HttpRequest Upgrade(std::string token) {
  server::HttpRequest request;
  request.method = "GET";
  request.target = "/ws";
  request.headers.emplace_back("authorization", std::move(token));
  return request;
}

// Tokens: "pumps" sees pumps, "admin" everything, "guest" is forbidden, none is refused.
Result<twin::TwinFilter> Authorize(const server::HttpRequest& request) {
  std::string token;
  for (const auto& [name, value] : request.headers) {
    if (name == "authorization") token = value;
  }
  if (token == "pumps") return OfModel("dtmi:test:Pump;1");
  if (token == "admin") return twin::TwinFilter();
  if (token == "guest") return Status::PermissionDenied("streams are not for guests");
  return Status::Unauthenticated("a token is required");
}

// The endpoint's handler as the transport drives it: a request in, the frames out.
std::vector<json::object> Exchange(server::WebSocketHandler& handler, std::string_view request) {
  if (!request.empty()) handler.OnMessage(request);
  server::WebSocketOutbox out;
  handler.Take(out);
  std::vector<json::object> messages;
  for (const std::string& frame : out.frames) messages.push_back(J(frame).as_object());
  return messages;
}

TEST_F(StreamVisibilityTest, AuthorizerErrorsRefuseTheUpgrade) {
  server::WebSocketEndpoint endpoint = WebSocketEndpointFor(*hub_, Authorize);
  EXPECT_EQ(endpoint.path, "/ws");
  auto anonymous = endpoint.open(Upgrade(""), [] {});
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), StatusCode::kUnauthenticated);
  auto guest = endpoint.open(Upgrade("guest"), [] {});
  ASSERT_FALSE(guest.ok());
  EXPECT_EQ(guest.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(hub_->counters().connections_total, 0u);  // no session was created
}

TEST_F(StreamVisibilityTest, AuthorizerGivesTheSessionItsFilter) {
  server::WebSocketEndpoint endpoint = WebSocketEndpointFor(*hub_, Authorize, "/live");
  EXPECT_EQ(endpoint.path, "/live");
  auto pumps = endpoint.open(Upgrade("pumps"), [] {});
  auto admin = endpoint.open(Upgrade("admin"), [] {});
  ASSERT_TRUE(pumps.ok() && admin.ok());
  const std::string subscribe =
      R"({"op":"subscribe","id":"q","query":"SELECT * FROM DIGITALTWINS"})";
  EXPECT_EQ(Exchange(**pumps, subscribe).at(0).at("twins"), json::value(1));
  EXPECT_EQ(Exchange(**admin, subscribe).at(0).at("twins"), json::value(3));
  Write({{"machine-1", "temperature", 1, 1.0}, {"pump-1", "flow", 2, 2.0}});
  EXPECT_EQ(Summary(Exchange(**pumps, "")), (Strings{"telemetry:pump-1"}));
  EXPECT_EQ(Summary(Exchange(**admin, "")), (Strings{"telemetry:machine-1", "telemetry:pump-1"}));
  (*pumps)->OnClose();
  (*admin)->OnClose();
  EXPECT_EQ(hub_->counters().connections, 0u);
}

TEST_F(StreamVisibilityTest, EndpointWithoutAuthorizerShowsEverything) {
  server::WebSocketEndpoint endpoint = WebSocketEndpointFor(*hub_);
  auto handler = endpoint.open(Upgrade(""), [] {});
  ASSERT_TRUE(handler.ok()) << handler.status().ToString();
  EXPECT_EQ(Exchange(**handler, R"({"op":"subscribe","id":"m","model":"dtmi:test:Machine;1"})")
                .at(0)
                .at("twins"),
            json::value(2));
}

}  // namespace
}  // namespace doppel::stream
