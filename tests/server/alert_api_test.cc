// /alerts through the API, over a memory-only AlertService: the lifecycle, filters, errors,
// 503 without the service, the audit trail, and who sees and changes which alert.
#include <fmt/format.h>
#include <gmock/gmock.h>

#include "alerts/alert_service.h"
#include "api_test_fixture.h"
#include "audit/audit_log.h"
#include "auth/api_keys.h"
#include "auth/authenticator.h"
#include "auth/classification.h"
#include "auth/policy.h"

namespace doppel::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kUnknownId[] = "0123456789abcdef0123456789abcdef";

std::string RaiseBody(std::string_view twin, std::string_view severity, std::string_view extra = "") {
  return fmt::format(R"({{"twinId": "{}", "severity": "{}", "title": "Too warm"{}}})", twin, severity, extra);
}

std::vector<std::string> IdsOf(const json::value& list) {
  std::vector<std::string> ids;
  for (const json::value& a : list.at("value").as_array()) ids.emplace_back(a.at("alertId").as_string());
  return ids;
}

class AlertApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiServices services;
    services.alerts = alerts_.get();
    services.audit = audit_.get();
    api_ = std::make_unique<DigitalTwinsApi>(graph_, clock_, ApiOptions{}, services);
    ASSERT_EQ(Call("POST", "/models", ModelsJson()).status, 201);
    for (const char* id : {"room-1", "room-2"}) ASSERT_EQ(Call("PUT", fmt::format("/digitaltwins/{}", id), RoomJson(20)).status, 200);
  }
  HttpResponse Call(std::string method, std::string target, std::string body = "") {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    return api_->Handle(req);
  }
  std::string Raise(std::string_view twin, std::string_view severity, std::string_view extra = "") {
    HttpResponse r = Call("POST", "/alerts", RaiseBody(twin, severity, extra));
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(Json(r).at("alertId").as_string());
  }
  static json::value Json(const HttpResponse& r) { return ParseJson(r.body).value(); }
  static std::string ErrorCode(const HttpResponse& r) {
    return std::string(ParseJson(r.body).value().at("error").at("code").as_string());
  }

  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<alerts::AlertService> alerts_ = alerts::AlertService::Open({}, clock_).value();
  std::unique_ptr<audit::AuditLog> audit_ = audit::AuditLog::InMemory();
  std::unique_ptr<DigitalTwinsApi> api_;
};

TEST_F(AlertApiTest, RaiseAcknowledgeCommentClear) {
  HttpResponse raised = Call("POST", "/alerts",
                             RaiseBody("room-1", "major", R"(, "message": "22 °C and rising", "evidence": {"t": 22})"));
  ASSERT_EQ(raised.status, 201) << raised.body;
  json::value alert = Json(raised);
  const std::string id(alert.at("alertId").as_string());
  EXPECT_EQ(raised.Header("Location"), "/alerts/" + id);
  EXPECT_EQ(alert.at("twinId"), json::value("room-1"));
  EXPECT_EQ(alert.at("severity"), json::value("major"));
  EXPECT_EQ(alert.at("message"), json::value("22 °C and rising"));
  EXPECT_EQ(alert.at("evidence").at("t"), json::value(22));
  EXPECT_EQ(alert.at("state"), json::value("raised"));
  EXPECT_FALSE(alert.as_object().contains("rule"));  // raised by a person
  EXPECT_EQ(alert.at("history").at(0).at("by"), json::value("anonymous"));  // dev mode's caller

  HttpResponse acked = Call("POST", "/alerts/" + id + "/acknowledge", R"({"comment": "on my way"})");
  ASSERT_EQ(acked.status, 200) << acked.body;
  EXPECT_EQ(Json(acked).at("state"), json::value("acknowledged"));
  EXPECT_EQ(Json(acked).at("acknowledgedBy"), json::value("anonymous"));
  EXPECT_EQ(Json(acked).at("comments").at(0).at("text"), json::value("on my way"));

  HttpResponse commented = Call("POST", "/alerts/" + id + "/comments", R"({"text": "window was open"})");
  ASSERT_EQ(commented.status, 201) << commented.body;
  EXPECT_EQ(Json(commented).at("comments").as_array().size(), 2u);

  HttpResponse cleared = Call("POST", "/alerts/" + id + "/clear", R"({"reason": "window closed"})");
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(Json(cleared).at("state"), json::value("cleared"));
  EXPECT_EQ(Json(cleared).at("history").as_array().back().at("detail"), json::value("window closed"));

  HttpResponse got = Call("GET", "/alerts/" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Json(got), Json(cleared));

  // Once cleared, it cannot be acknowledged; bodies are optional.
  HttpResponse late = Call("POST", "/alerts/" + id + "/acknowledge");
  EXPECT_EQ(late.status, 409);
  EXPECT_EQ(ErrorCode(late), "AlertCleared");
  EXPECT_EQ(Call("POST", "/alerts/" + Raise("room-2", "info") + "/acknowledge").status, 200);
}

TEST_F(AlertApiTest, ARepeatedKeyCountsOnTheOpenAlert) {
  const std::string id = Raise("room-1", "minor", R"(, "dedupKey": "warm/room-1")");
  HttpResponse again = Call("POST", "/alerts", RaiseBody("room-1", "critical", R"(, "dedupKey": "warm/room-1")"));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again).at("alertId"), json::value(id));
  EXPECT_EQ(Json(again).at("count"), json::value(2u));
  EXPECT_EQ(Json(again).at("severity"), json::value("critical"));
  // The key is room-1's: another twin's alert may not borrow it.
  HttpResponse other = Call("POST", "/alerts", RaiseBody("room-2", "minor", R"(, "dedupKey": "warm/room-1")"));
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(ErrorCode(other), "AlertKeyInUse");
}

TEST_F(AlertApiTest, ListFilters) {
  const std::string a = Raise("room-1", "warning");
  clock_.Advance(std::chrono::minutes(1));
  const std::string b = Raise("room-2", "critical");
  clock_.Advance(std::chrono::minutes(1));
  const std::string c = Raise("room-1", "major");
  ASSERT_EQ(Call("POST", "/alerts/" + b + "/acknowledge").status, 200);
  ASSERT_EQ(Call("POST", "/alerts/" + c + "/clear").status, 200);
  auto ids = [&](const std::string& query) {
    HttpResponse r = Call("GET", "/alerts" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    return r.status == 200 ? IdsOf(Json(r)) : std::vector<std::string>{};
  };
  EXPECT_EQ(ids(""), (std::vector<std::string>{c, b, a}));
  EXPECT_EQ(ids("?state=acknowledged"), (std::vector<std::string>{b}));
  EXPECT_EQ(ids("?state=open"), (std::vector<std::string>{b, a}));
  EXPECT_EQ(ids("?state=cleared"), (std::vector<std::string>{c}));
  EXPECT_EQ(ids("?severity=major"), (std::vector<std::string>{c, b}));
  EXPECT_EQ(ids("?twinId=room-1"), (std::vector<std::string>{c, a}));
  EXPECT_EQ(ids("?rule=bearing"), (std::vector<std::string>{}));
  EXPECT_EQ(ids("?since=" + FormatRfc3339(clock_.Now() - std::chrono::seconds(90))), (std::vector<std::string>{c, b}));
  EXPECT_EQ(ids("?limit=1"), (std::vector<std::string>{c}));
  EXPECT_EQ(ids("?limit=5000").size(), 3u);  // clamped to 1000, not refused
  for (const char* bad : {"?state=closed", "?severity=severe", "?since=yesterday", "?limit=0", "?limit=ten"}) {
    HttpResponse r = Call("GET", std::string("/alerts") + bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
  EXPECT_THAT(Call("GET", "/alerts?severity=severe").body, HasSubstr("info, warning, minor, major, critical"));
}

TEST_F(AlertApiTest, UnknownAlertsAndTwinsAre404) {
  for (const char* suffix : {"", "/acknowledge", "/clear", "/comments"}) {
    HttpResponse r = Call(*suffix == '\0' ? "GET" : "POST", fmt::format("/alerts/{}{}", kUnknownId, suffix),
                          std::string(suffix) == "/comments" ? R"({"text": "x"})" : "");
    EXPECT_EQ(r.status, 404) << suffix;
    EXPECT_EQ(ErrorCode(r), "AlertNotFound") << suffix;
  }
  HttpResponse ghost = Call("POST", "/alerts", RaiseBody("ghost", "major"));
  EXPECT_EQ(ghost.status, 404);
  EXPECT_EQ(ErrorCode(ghost), "DigitalTwinNotFound");
}

TEST_F(AlertApiTest, BadBodiesAre400AndSayWhy) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "request body is empty"},
      {"[1]", "must be a JSON object"},
      {"{", "invalid JSON"},
      {R"({"severity": "major", "title": "t"})", "'twinId' is required"},
      {R"({"twinId": "room-1", "title": "t"})", "'severity' is required"},
      {R"({"twinId": "room-1", "severity": "huge", "title": "t"})", "unknown severity 'huge'"},
      {R"({"twinId": "room-1", "severity": "major"})", "'title' is required"},
      {R"({"twinId": "room-1", "severity": "major", "title": 7})", "'title' must be a string"},
      {RaiseBody("room-1", "major", R"(, "colour": "red")"), "unknown member 'colour'"},
      {R"({"twinId": "room-1", "severity": "major", "title": ")" + std::string(201, 'x') + R"("})",
       "'title' is too long"},
  };
  for (const auto& [body, why] : cases) {
    HttpResponse r = Call("POST", "/alerts", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_THAT(r.body, HasSubstr(why)) << body;
  }
  const std::string id = Raise("room-1", "major");
  for (const auto& [route, body, why] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"/comments", "", "'text' is required"},
           {"/comments", R"({"text": "  "})", "'text' is required"},
           {"/comments", R"({"text": 5})", "'text' must be a string"},
           {"/acknowledge", R"({"note": "x"})", "unknown member 'note'"},
           {"/clear", R"("done")", "must be a JSON object"}}) {
    HttpResponse r = Call("POST", "/alerts/" + id + route, body);
    EXPECT_EQ(r.status, 400) << route << " " << body;
    EXPECT_THAT(r.body, HasSubstr(why)) << route << " " << body;
  }
  EXPECT_EQ(Json(Call("GET", "/alerts/" + id)).at("state"), json::value("raised"));
}

TEST_F(AlertApiTest, ChangesAreAudited) {
  const std::string id = Raise("room-1", "major");
  ASSERT_EQ(Call("POST", "/alerts/" + id + "/acknowledge").status, 200);
  ASSERT_EQ(Call("POST", "/alerts/" + id + "/comments", R"({"text": "x"})").status, 201);
  ASSERT_EQ(Call("POST", "/alerts/" + id + "/clear").status, 200);
  ASSERT_EQ(Call("GET", "/alerts/" + id).status, 200);  // reads are not
  std::vector<std::string> actions;
  const std::vector<audit::AuditRecord> records = audit_->Query({.action_prefix = "alert."}).value();
  for (const audit::AuditRecord& record : records) {
    actions.push_back(record.event.action);
    EXPECT_EQ(record.event.outcome, "ok");
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"alert.raise", "alert.acknowledge", "alert.comment", "alert.clear"}));
}

TEST_F(AlertApiTest, WithoutTheServiceEveryRouteIs503) {
  DigitalTwinsApi bare(graph_, clock_, ApiOptions{}, ApiServices{});
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/alerts"},
           {"POST", "/alerts"},
           {"GET", fmt::format("/alerts/{}", kUnknownId)},
           {"POST", fmt::format("/alerts/{}/acknowledge", kUnknownId)},
           {"POST", fmt::format("/alerts/{}/clear", kUnknownId)},
           {"POST", fmt::format("/alerts/{}/comments", kUnknownId)}}) {
    HttpRequest req;
    req.method = method;
    req.target = target;
    req.body = RaiseBody("room-1", "major");
    HttpResponse r = bare.Handle(req);
    EXPECT_EQ(r.status, 503) << method << " " << target;
    EXPECT_THAT(r.body, HasSubstr("alerts are not enabled on this server"));
  }
}

// With credentials: a caller sees the alerts of the twins it may read, and changes those of the
// twins it may write.
class AlertAccessTest : public AlertApiTest {
 protected:
  void SetUp() override {
    auto policy = auth::ParsePolicyConfig(ParseJson(R"({"roles": {
        "room1-operator": [{"actions": ["read", "writeProperties"], "twins": ["room-1"]}],
        "room1-viewer": [{"actions": ["read"], "twins": ["room-1"]}]}})").value());
    ASSERT_TRUE(policy.ok()) << policy.status().ToString();
    authorizer_ = std::make_unique<auth::Authorizer>(*policy, &graph_, &events_);
    auto classified = auth::ParseClassificationConfig(
        ParseJson(R"({"classes": {"confidential": {}},
                      "fields": [{"model": "dtmi:example:Room;1", "path": "temperature", "class": "confidential"}]})")
            .value(),
        [](std::string_view, std::string_view) -> Result<std::chrono::nanoseconds> {
          return Status::InvalidArgument("no retention here");
        });
    ASSERT_TRUE(classified.ok()) << classified.status().ToString();
    classification_ = std::make_unique<auth::DataClassification>(std::move(*classified), graph_, events_);
    ApiServices services;
    services.alerts = alerts_.get();
    services.classification = classification_.get();
    services.authenticator = &authenticator_;
    services.authorizer = authorizer_.get();
    services.api_keys = keys_.get();
    api_ = std::make_unique<DigitalTwinsApi>(graph_, clock_, ApiOptions{}, services);
    admin_ = Key("admin", {"admin"}, {"*"});
    operator_ = Key("op", {"room1-operator"}, {"*"});
    viewer_ = Key("viewer", {"room1-viewer"});  // no clearance for the rooms' temperature
    ASSERT_EQ(As(admin_, "POST", "/models", ModelsJson()).status, 201);
    for (const char* id : {"room-1", "room-2"}) {
      ASSERT_EQ(As(admin_, "PUT", fmt::format("/digitaltwins/{}", id), RoomJson(20)).status, 200);
    }
    room1_ = std::string(
        Json(As(admin_, "POST", "/alerts", RaiseBody("room-1", "major", R"(, "evidence": {"temperature": 31})")))
            .at("alertId")
            .as_string());
    clock_.Advance(std::chrono::seconds(1));  // room-2's is the newest
    room2_ = std::string(Json(As(admin_, "POST", "/alerts", RaiseBody("room-2", "major"))).at("alertId").as_string());
  }
  std::string Key(const std::string& name, std::vector<std::string> roles, std::vector<std::string> clearances = {}) {
    auto created =
        keys_->Create({.name = name, .roles = std::move(roles), .clearances = std::move(clearances)}, clock_.Now());
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created->token;
  }
  HttpResponse As(const std::string& token, std::string method, std::string target, std::string body = "") {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.AddHeader("Authorization", "Bearer " + token);
    return api_->Handle(req);
  }

  std::unique_ptr<auth::ApiKeyStore> keys_ = auth::ApiKeyStore::InMemory();
  auth::Authenticator authenticator_{{.api_keys = keys_.get()}};
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<auth::DataClassification> classification_;
  std::string admin_, operator_, viewer_, room1_, room2_;
};

TEST_F(AlertAccessTest, ACallerSeesOnlyTheAlertsOfTwinsItMayRead) {
  EXPECT_EQ(IdsOf(Json(As(viewer_, "GET", "/alerts"))), (std::vector<std::string>{room1_}));
  EXPECT_EQ(IdsOf(Json(As(admin_, "GET", "/alerts"))), (std::vector<std::string>{room2_, room1_}));
  // The limit counts visible alerts only: the newest alert (room-2's) does not use up the page.
  EXPECT_EQ(IdsOf(Json(As(viewer_, "GET", "/alerts?limit=1"))), (std::vector<std::string>{room1_}));
  EXPECT_EQ(As(viewer_, "GET", "/alerts/" + room1_).status, 200);
  // A hidden alert is answered exactly as one that does not exist.
  HttpResponse hidden = As(viewer_, "GET", "/alerts/" + room2_);
  HttpResponse unknown = As(viewer_, "GET", std::string("/alerts/") + kUnknownId);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(ErrorCode(hidden), "AlertNotFound");
  std::string as_unknown = unknown.body;
  as_unknown.replace(as_unknown.find(kUnknownId), room2_.size(), room2_);
  EXPECT_EQ(hidden.body, as_unknown);
  EXPECT_EQ(As(operator_, "POST", "/alerts/" + room2_ + "/clear").status, 404);
  EXPECT_EQ(Json(As(admin_, "GET", "/alerts/" + room2_)).at("state"), json::value("raised"));
}

TEST_F(AlertAccessTest, EvidenceIsWithheldFromCallersWhoseClearancesHideValuesOfTheTwin) {
  EXPECT_EQ(Json(As(admin_, "GET", "/alerts/" + room1_)).at("evidence").at("temperature"), json::value(31));
  EXPECT_TRUE(Json(As(viewer_, "GET", "/alerts/" + room1_)).at("evidence").is_null());
  json::value listed = Json(As(viewer_, "GET", "/alerts"));
  ASSERT_EQ(listed.at("value").as_array().size(), 1u);
  EXPECT_TRUE(listed.at("value").at(0).at("evidence").is_null());
  EXPECT_EQ(listed.at("value").at(0).at("title"), json::value("Too warm"));  // the rest is shown
}

TEST_F(AlertAccessTest, ChangingAnAlertNeedsWritePropertiesOnItsTwin) {
  for (const char* route : {"/acknowledge", "/comments", "/clear"}) {
    const std::string body = std::string(route) == "/comments" ? R"({"text": "x"})" : "";
    HttpResponse refused = As(viewer_, "POST", "/alerts/" + room1_ + route, body);
    EXPECT_EQ(refused.status, 403) << route << ": " << refused.body;
    EXPECT_THAT(refused.body, HasSubstr("may not writeProperties on twin 'room-1'"));
    EXPECT_EQ(As(operator_, "POST", "/alerts/" + room1_ + route, body).status, std::string(route) == "/comments" ? 201 : 200)
        << route;
  }
  EXPECT_THAT(std::string(Json(As(admin_, "GET", "/alerts/" + room1_)).at("acknowledgedBy").as_string()),
              StartsWith("key:"));  // the operator's key
  EXPECT_EQ(As(viewer_, "POST", "/alerts", RaiseBody("room-1", "minor")).status, 403);
  EXPECT_EQ(As(operator_, "POST", "/alerts", RaiseBody("room-1", "minor")).status, 201);
  // A twin the caller may not read is answered as a twin that does not exist.
  HttpResponse hidden = As(operator_, "POST", "/alerts", RaiseBody("room-2", "minor"));
  HttpResponse ghost = As(operator_, "POST", "/alerts", RaiseBody("room-0", "minor"));
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(ErrorCode(hidden), "DigitalTwinNotFound");
  EXPECT_EQ(ParseJson(hidden.body).value().at("error").at("message").as_string(),
            std::string("no digital twin 'room-2'"));
  EXPECT_EQ(ParseJson(ghost.body).value().at("error").at("message").as_string(), std::string("no digital twin 'room-0'"));
}

}  // namespace
}  // namespace doppel::server::testing
