// Data classification (docs/security.md, "Data classification"): a caller without the
// clearance for a value's class sees it nowhere — twin and component documents, query
// projections, SELECT *, WHERE conditions, live telemetry, history, streams — while a cleared
// caller sees everything, and writing needs no clearance.
#include "auth/classification.h"

#include <gmock/gmock.h>

#include <memory>
#include <string>
#include <vector>

#include "api_test_fixture.h"
#include "auth/api_keys.h"
#include "auth/authenticator.h"
#include "auth/policy.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "stream/stream_hub.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"

namespace doppel::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kModels[] = R"([
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Vitals;1", "@type": "Interface",
   "contents": [{"@type": "Property", "name": "pulse", "schema": "double", "writable": true},
                {"@type": "Property", "name": "posture", "schema": "string", "writable": true}]},
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Operator;1", "@type": "Interface",
   "contents": [{"@type": "Property", "name": "badgeId", "schema": "string", "writable": true},
                {"@type": "Property", "name": "name", "schema": "string", "writable": true},
                {"@type": "Telemetry", "name": "heartRate", "schema": "double"},
                {"@type": "Telemetry", "name": "steps", "schema": "double"},
                {"@type": "Component", "name": "vitals", "schema": "dtmi:test:Vitals;1"}]}
])";

// Uploaded after the classification was set up: it inherits Operator's classified fields.
constexpr char kTraineeModel[] = R"([
  {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Trainee;1", "@type": "Interface",
   "extends": "dtmi:test:Operator;1"}
])";

constexpr char kClassification[] = R"({
  "classes": {"personal": {"retention": "30d"}, "confidential": {}},
  "fields": [
    {"model": "dtmi:test:Operator;1", "path": "badgeId", "class": "personal"},
    {"model": "dtmi:test:Operator;1", "path": "heartRate", "class": "personal"},
    {"model": "dtmi:test:Operator;1", "path": "vitals/pulse", "class": "personal"}
  ]})";

std::string OperatorJson(const std::string& model, const std::string& badge) {
  return R"({"$metadata": {"$model": ")" + model + R"("}, "badgeId": ")" + badge +
         R"(", "name": "Ada", "vitals": {"$metadata": {}, "pulse": 61, "posture": "upright"}})";
}

Result<std::chrono::nanoseconds> Days(std::string_view text, std::string_view) {
  return std::chrono::nanoseconds(std::chrono::hours(24 * std::stol(std::string(text))));
}

class ClassificationApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set(TimePoint(std::chrono::seconds(1'764'028'800)));  // 2025-11-25T00:00:00Z
    auto store = tsdb::SeriesStore::Open(dir_.path(), {.sync = false});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    ingestor_->Subscribe([this](std::span<const ingest::Reading> batch) { live_.Apply(batch); });
    auto config = auth::ParseClassificationConfig(ParseJson(kClassification).value(), Days);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    classification_ =
        std::make_unique<auth::DataClassification>(std::move(*config), graph_, events_);
    authorizer_ = std::make_unique<auth::Authorizer>(auth::PolicyConfig{}, &graph_, &events_);
    ApiServices services;
    services.ingestor = ingestor_.get();
    services.history = store_.get();
    services.live = &live_;
    services.authenticator = &authenticator_;
    services.authorizer = authorizer_.get();
    services.api_keys = keys_.get();
    services.classification = classification_.get();
    api_ = std::make_unique<DigitalTwinsApi>(graph_, clock_, ApiOptions{}, services);

    admin_ = Key("admin", {"admin"}, {"*"});
    viewer_ = Key("viewer", {"viewer"}, {});
    cleared_ = Key("cleared", {"viewer"}, {"personal"});
    confidential_ = Key("confidential", {"viewer"}, {"confidential"});
    operator_ = Key("operator", {"operator"}, {});
    ASSERT_EQ(As(admin_, "POST", "/models", kModels).status, 201);
    ASSERT_EQ(As(admin_, "POST", "/models", kTraineeModel).status, 201);
    ASSERT_EQ(As(admin_, "PUT", "/digitaltwins/op-1", OperatorJson("dtmi:test:Operator;1", "B-17"))
                  .status,
              200);
    ASSERT_EQ(
        As(admin_, "PUT", "/digitaltwins/tr-1", OperatorJson("dtmi:test:Trainee;1", "T-1")).status,
        200);
    HttpResponse sent =
        As(admin_, "POST", "/digitaltwins/op-1/telemetry", R"({"heartRate": 71, "steps": 1200})");
    ASSERT_EQ(sent.status, 204) << sent.body;
  }

  std::string Key(const std::string& name, std::vector<std::string> roles,
                  std::vector<std::string> clearances) {
    auto created = keys_->Create(
        {.name = name, .roles = std::move(roles), .clearances = std::move(clearances)},
        clock_.Now());
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->token : "";
  }

  HttpResponse As(const std::string& token, std::string method, std::string target,
                  std::string body = "") {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.AddHeader("Authorization", "Bearer " + token);
    HttpResponse res = api_->Handle(req);
    if (res.stream) {
      EXPECT_TRUE(res.CollectStream().ok());
    }
    return res;
  }

  json::value Get(const std::string& token, const std::string& target) {
    HttpResponse r = As(token, "GET", target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    auto body = ParseJson(r.body);
    return body.ok() ? std::move(body).value() : json::value();
  }

  json::array Query(const std::string& token, const std::string& query) {
    HttpResponse r = As(token, "POST", "/query", ToJson(json::object{{"query", query}}));
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    auto body = ParseJson(r.body);
    return body.ok() ? body->at("value").as_array() : json::array();
  }

  auth::Principal PrincipalOf(std::vector<std::string> clearances) {
    return auth::Principal{.subject = "key:x",
                           .roles = {"viewer"},
                           .method = auth::AuthMethod::kApiKey,
                           .clearances = std::move(clearances)};
  }

  static const json::value kMaskedPersonal;

  tsdb::testing::TempDir dir_;
  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  ingest::LiveState live_;
  std::unique_ptr<auth::DataClassification> classification_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<auth::ApiKeyStore> keys_ = auth::ApiKeyStore::InMemory();
  auth::Authenticator authenticator_{{.api_keys = keys_.get()}};
  std::unique_ptr<DigitalTwinsApi> api_;
  std::string admin_, viewer_, cleared_, confidential_, operator_;
};

const json::value ClassificationApiTest::kMaskedPersonal = json::object{{"masked", "personal"}};

TEST_F(ClassificationApiTest, TwinGetRemovesTheValueAndMarksItsMetadata) {
  for (const char* id : {"op-1", "tr-1"}) {  // tr-1: a model extending the classified one
    for (const std::string* token : {&viewer_, &confidential_}) {
      json::value twin = Get(*token, std::string("/digitaltwins/") + id);
      EXPECT_FALSE(twin.as_object().contains("badgeId")) << id << ": " << ToJson(twin);
      EXPECT_EQ(twin.at("$metadata").at("badgeId"), kMaskedPersonal);
      EXPECT_EQ(twin.at("name"), "Ada");
      EXPECT_FALSE(twin.at("vitals").as_object().contains("pulse"));
      EXPECT_EQ(twin.at("vitals").at("$metadata").at("pulse"), kMaskedPersonal);
      EXPECT_EQ(twin.at("vitals").at("posture"), "upright");
    }
  }
  for (const std::string* token : {&cleared_, &admin_}) {
    json::value twin = Get(*token, "/digitaltwins/op-1");
    EXPECT_EQ(twin.at("badgeId"), "B-17");
    EXPECT_EQ(twin.at("vitals").at("pulse"), 61);
    EXPECT_TRUE(twin.at("$metadata").at("badgeId").as_object().contains("lastUpdateTime"));
  }
}

TEST_F(ClassificationApiTest, ComponentGetIsMaskedToo) {
  json::value vitals = Get(viewer_, "/digitaltwins/op-1/components/vitals");
  EXPECT_FALSE(vitals.as_object().contains("pulse")) << ToJson(vitals);
  EXPECT_EQ(vitals.at("$metadata").at("pulse"), kMaskedPersonal);
  EXPECT_EQ(vitals.at("posture"), "upright");
  EXPECT_EQ(Get(cleared_, "/digitaltwins/op-1/components/vitals").at("pulse"), 61);
}

TEST_F(ClassificationApiTest, QueryProjectionsAndSelectStarLeaveHiddenValuesOut) {
  json::array rows = Query(
      viewer_,
      "SELECT T.badgeId, T.name, T.vitals.pulse AS p FROM DIGITALTWINS T WHERE T.$dtId = 'op-1'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], json::value(json::object{{"name", "Ada"}}));
  rows = Query(
      cleared_,
      "SELECT T.badgeId, T.name, T.vitals.pulse AS p FROM DIGITALTWINS T WHERE T.$dtId = 'op-1'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], json::value(json::object{{"badgeId", "B-17"}, {"name", "Ada"}, {"p", 61}}));

  for (const char* query : {"SELECT * FROM DIGITALTWINS", "SELECT T FROM DIGITALTWINS T"}) {
    rows = Query(viewer_, query);
    ASSERT_EQ(rows.size(), 2u) << query;
    for (const json::value& row : rows) {
      const json::value& twin = row.as_object().contains("T") ? row.at("T") : row;
      EXPECT_FALSE(twin.as_object().contains("badgeId")) << query << ": " << ToJson(row);
      EXPECT_EQ(twin.at("$metadata").at("badgeId"), kMaskedPersonal);
      EXPECT_FALSE(twin.at("vitals").as_object().contains("pulse"));
    }
  }
  rows = Query(cleared_, "SELECT * FROM DIGITALTWINS");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("badgeId"), "B-17");
}

TEST_F(ClassificationApiTest, WhereOnAHiddenValueMatchesNothingSoItCannotProbe) {
  const std::vector<std::string> probes = {
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.badgeId = 'B-17'",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE STARTSWITH(T.badgeId, 'B')",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE IS_DEFINED(T.badgeId)",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.vitals.pulse > 60",
      "SELECT T.$dtId FROM DIGITALTWINS T WHERE NOT (T.badgeId = 'nobody')",
  };
  for (const std::string& probe : probes) {
    EXPECT_THAT(Query(viewer_, probe), ::testing::IsEmpty()) << probe;
    EXPECT_EQ(Query(cleared_, probe).size(), probe.find("IS_DEFINED") != std::string::npos ||
                                                     probe.find("NOT") != std::string::npos ||
                                                     probe.find("pulse") != std::string::npos
                                                 ? 2u
                                                 : 1u)
        << probe;
  }
  EXPECT_EQ(
      Query(viewer_, "SELECT COUNT() FROM DIGITALTWINS T WHERE T.badgeId = 'B-17'")[0].at("COUNT"),
      0);
  EXPECT_EQ(
      Query(cleared_, "SELECT COUNT() FROM DIGITALTWINS T WHERE T.badgeId = 'B-17'")[0].at("COUNT"),
      1);
  // Unclassified values still select.
  EXPECT_EQ(Query(viewer_, "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.name = 'Ada'").size(), 2u);
}

TEST_F(ClassificationApiTest, LiveTelemetryLeavesHiddenReadingsOut) {
  json::value viewer = Get(viewer_, "/digitaltwins/op-1/telemetry");
  EXPECT_FALSE(viewer.at("telemetry").as_object().contains("heartRate")) << ToJson(viewer);
  EXPECT_EQ(viewer.at("telemetry").at("steps").at("value"), 1200);
  json::value cleared = Get(cleared_, "/digitaltwins/op-1/telemetry");
  EXPECT_EQ(cleared.at("telemetry").at("heartRate").at("value"), 71);
}

TEST_F(ClassificationApiTest, HistoryTreatsHiddenSeriesAsAbsent) {
  const std::string range = "&start=2025-11-24T00:00:00Z&end=2025-11-26T00:00:00Z";
  // Named explicitly: the very answer a series that does not exist gets.
  auto named = [&](const std::string& path) {
    return As(viewer_, "POST", "/timeseries/query",
              R"({"series": [{"twin": "op-1", "path": ")" + path +
                  R"("}], "start": "2025-11-24T00:00:00Z", "end": "2025-11-26T00:00:00Z"})");
  };
  HttpResponse hidden = named("heartRate");
  HttpResponse missing = named("noSuchThing");
  EXPECT_EQ(hidden.status, 404) << hidden.body;
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_THAT(hidden.body, HasSubstr("no series"));
  EXPECT_EQ(
      As(cleared_, "POST", "/timeseries/query",
         R"({"series": [{"twin": "op-1", "path": "heartRate"}], "start": "2025-11-24T00:00:00Z",
                   "end": "2025-11-26T00:00:00Z"})")
          .status,
      200);
  // Filtered by path: as empty as for a path that was never written.
  EXPECT_EQ(As(viewer_, "GET", "/timeseries/query?twin=op-1&path=heartRate" + range).body,
            As(viewer_, "GET", "/timeseries/query?twin=op-1&path=noSuchThing" + range).body);
  // By twin, by model, by query: only the series the caller may see.
  for (const std::string& selector :
       {std::string("twin=op-1"), std::string("model=dtmi:test:Operator;1")}) {
    json::value body = Get(viewer_, "/timeseries/query?" + selector + range);
    std::vector<std::string> paths;
    for (const json::value& s : body.at("series").as_array())
      paths.emplace_back(s.at("path").as_string());
    EXPECT_THAT(paths, ElementsAre("steps")) << selector << ": " << ToJson(body);
    body = Get(cleared_, "/timeseries/query?" + selector + range);
    paths.clear();
    for (const json::value& s : body.at("series").as_array())
      paths.emplace_back(s.at("path").as_string());
    EXPECT_THAT(paths, ElementsAre("heartRate", "steps")) << selector;
  }
  // The series list, too.
  auto listed = [&](const std::string& token) {
    const json::value list = Get(token, "/timeseries");
    std::vector<std::string> paths;
    for (const json::value& s : list.at("value").as_array())
      paths.emplace_back(s.at("path").as_string());
    return paths;
  };
  EXPECT_THAT(listed(viewer_), ElementsAre("steps"));
  EXPECT_THAT(listed(cleared_), UnorderedElementsAre("heartRate", "steps"));
}

TEST_F(ClassificationApiTest, WritingNeedsNoClearanceButTheAnswerIsMasked) {
  HttpResponse patched = As(operator_, "PATCH", "/digitaltwins/op-1",
                            R"([{"op": "replace", "path": "/badgeId", "value": "B-18"}])");
  EXPECT_EQ(patched.status, 204) << patched.body;
  EXPECT_EQ(Get(cleared_, "/digitaltwins/op-1").at("badgeId"), "B-18");
  HttpResponse put =
      As(operator_, "PUT", "/digitaltwins/op-2", OperatorJson("dtmi:test:Operator;1", "B-99"));
  ASSERT_EQ(put.status, 200) << put.body;
  json::value answer = ParseJson(put.body).value();
  EXPECT_FALSE(answer.as_object().contains("badgeId"));
  EXPECT_EQ(answer.at("$metadata").at("badgeId"), kMaskedPersonal);
  EXPECT_EQ(Get(cleared_, "/digitaltwins/op-2").at("badgeId"), "B-99");
}

TEST_F(ClassificationApiTest, ModelsUploadedLaterAreClassifiedBeforeTheirTwinsAreRead) {
  ASSERT_EQ(As(admin_, "POST", "/models",
               R"([{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Lead;1",
      "@type": "Interface", "extends": "dtmi:test:Trainee;1"}])")
                .status,
            201);
  ASSERT_EQ(
      As(admin_, "PUT", "/digitaltwins/lead-1", OperatorJson("dtmi:test:Lead;1", "L-1")).status,
      200);
  EXPECT_FALSE(Get(viewer_, "/digitaltwins/lead-1").as_object().contains("badgeId"));
  EXPECT_THAT(Query(viewer_, "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.badgeId = 'L-1'"),
              ::testing::IsEmpty());
}

// Streams: a session connected with the caller's mask (as the /ws endpoint does it,
// app/serve_security.cc) gets no hidden reading and no hidden value in twin events.
TEST_F(ClassificationApiTest, StreamsDropHiddenReadingsAndMaskTwinEvents) {
  stream::StreamHub hub(graph_, events_, *ingestor_);
  auto take = [](stream::StreamSession& session) {
    stream::Outbox out;
    session.Take(out);
    std::vector<json::object> messages;
    for (const std::string& frame : out.frames)
      messages.push_back(ParseJson(frame).value().as_object());
    return messages;
  };
  auto viewer = hub.Connect([] {}, nullptr, classification_->MaskFor(PrincipalOf({})));
  auto cleared = hub.Connect([] {}, nullptr, classification_->MaskFor(PrincipalOf({"personal"})));
  ASSERT_TRUE(viewer.ok() && cleared.ok());
  for (auto* session : {&*viewer, &*cleared}) {
    (*session)->HandleMessage(R"({"op": "subscribe", "id": "s", "twins": ["op-1"]})");
    ASSERT_EQ(take(**session).size(), 1u);  // "subscribed"
  }

  ASSERT_EQ(
      As(admin_, "POST", "/digitaltwins/op-1/telemetry", R"({"heartRate": 90, "steps": 1300})")
          .status,
      204);
  ASSERT_EQ(As(admin_, "PATCH", "/digitaltwins/op-1",
               R"([{"op": "replace", "path": "/badgeId", "value": "B-20"}])")
                .status,
            204);
  ASSERT_EQ(
      As(admin_, "PATCH", "/digitaltwins/op-1",
         R"([{"op": "replace", "path": "/badgeId", "value": "B-21"}, {"op": "replace", "path": "/name", "value": "Bo"}])")
          .status,
      204);

  std::vector<std::string> seen;
  for (const json::object& m : take(**viewer)) {
    seen.push_back(ToJson(m));
    EXPECT_THAT(seen.back(), ::testing::Not(HasSubstr("heartRate")));
    EXPECT_THAT(seen.back(), ::testing::Not(HasSubstr("B-2")));
  }
  // steps; the update of name only (the badge-only update is not sent at all).
  ASSERT_EQ(seen.size(), 2u) << ::testing::PrintToString(seen);
  EXPECT_THAT(seen[0], HasSubstr(R"("path":"steps")"));
  EXPECT_THAT(seen[1], HasSubstr(R"("patch":[{"op":"replace","path":"/name","value":"Bo"}])"));

  std::vector<std::string> all;
  for (const json::object& m : take(**cleared)) all.push_back(ToJson(m));
  ASSERT_EQ(all.size(), 4u) << ::testing::PrintToString(all);
  EXPECT_THAT(all[0] + all[1], HasSubstr("heartRate"));
  EXPECT_THAT(all[2], HasSubstr("B-20"));
  EXPECT_THAT(all[3], HasSubstr("B-21"));
  hub.Disconnect(**viewer);
  hub.Disconnect(**cleared);
}

}  // namespace
}  // namespace doppel::server::testing
