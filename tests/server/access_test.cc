// Authentication and authorisation around every route (docs/security.md). The route list comes
// from openapi.json, so a new route cannot escape: each is called with no token, a malformed
// token, an unknown key, an expired key and a key without the needed permission, and must be
// refused — unless the document marks it public (security: []). Routes that answer many twins
// at once must answer a caller without rights with nothing rather than an error, and the test
// says which those are, so a new one must be classified here.
#include <gmock/gmock.h>

#include <map>
#include <memory>
#include <set>

#include "api_test_fixture.h"
#include "alerts/alert_service.h"
#include "analytics/analytics_service.h"
#include "audit/audit_log.h"
#include "auth/api_keys.h"
#include "auth/authenticator.h"
#include "auth/policy.h"
#include "automation/automation_service.h"
#include "maintenance/work_order_service.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "sim/simulation_service.h"
#include "sim/thermal_test_model.h"
#include "server/url.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"

namespace doppel::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::set<std::string> kHttpMethods = {"get", "put", "post", "patch", "delete"};

// Routes that serve many twins at once: a caller without rights gets an empty answer (200)
// or, for writes naming a twin it may not touch, 403.
const std::set<std::string> kFilteredReads = {"POST /query", "GET /timeseries", "POST /timeseries/query",
                                              "GET /timeseries/query", "GET /analytics/anomalies",
                                              // Alerts follow their twin: a hidden one is answered as an unknown one.
                                              "GET /alerts", "POST /alerts", "GET /alerts/{alertId}",
                                              "POST /alerts/{alertId}/acknowledge", "POST /alerts/{alertId}/clear",
                                              "POST /alerts/{alertId}/comments",
                                              // Work orders and records follow their twin the same way.
                                              "GET /workorders", "POST /workorders", "GET /workorders/{workOrderId}",
                                              "PATCH /workorders/{workOrderId}", "GET /maintenance/history",
                                              "GET /production/orders",
                                              // Automation's records follow their twin too.
                                              "GET /rules/{name}/instances", "GET /automation/actions",
                                              "GET /recommendations", "GET /recommendations/{recommendationId}"};
// Routes any authenticated caller may use: who am I, and the models (a schema is not data).
const std::set<std::string> kAnyCaller = {"GET /auth/whoami", "GET /models", "GET /models/{id}",
                                          "GET /simulation/models", "GET /simulation/models/{name}",
                                          "GET /simulation/bindings", "GET /simulation/bindings/{name}",
                                          "GET /analytics/detectors", "GET /analytics/detectors/{name}",
                                          "GET /analytics/rul", "GET /analytics/rul/{name}",
                                          "GET /analytics/kpis", "GET /analytics/kpis/{name}",
                                          // Rules and the envelope are configuration, like detectors.
                                          "GET /rules", "GET /rules/{name}", "GET /automation/envelope"};

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}

std::string ErrorMessage(const HttpResponse& r) {
  auto v = ParseJson(r.body);
  return v.ok() && v->is_object() && v->as_object().contains("error")
             ? std::string(v->at("error").at("message").as_string())
             : r.body;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = tsdb::SeriesStore::Open(dir_.path(), {.sync = false});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    auto policy = auth::ParsePolicyConfig(ParseJson(R"({"roles": {
        "wing-a": [{"actions": ["read", "writeProperties", "ingest"], "scope": "room-1"}],
        "lobby-reader": [{"actions": ["read"], "twins": ["lobby*"]}]}})").value());
    ASSERT_TRUE(policy.ok()) << policy.status().ToString();
    authorizer_ = std::make_unique<auth::Authorizer>(*policy, &graph_, &events_);
    ApiServices& services = services_;
    services.ingestor = ingestor_.get();
    services.history = store_.get();
    services.authenticator = &authenticator_;
    services.authorizer = authorizer_.get();
    services.api_keys = keys_.get();
    services.audit = audit_.get();
    services.backup = [](const std::string&) { return Status::Ok(); };
    catalog_.Register(sim::testing::ThermalTestModel::Info(), []() -> Result<std::unique_ptr<sim::Simulation>> {
      return std::unique_ptr<sim::Simulation>(std::make_unique<sim::testing::ThermalTestModel>());
    });
    simulation_ = sim::SimulationService::Open({}, catalog_, graph_, events_, *ingestor_, live_, clock_).value();
    services.simulation = simulation_.get();
    analytics_ = analytics::AnalyticsService::Open({}, graph_, events_, *ingestor_, live_, clock_).value();
    services.analytics = analytics_.get();
    services.alerts = alerts_.get();
    services.work_orders = work_orders_.get();
    automation_ = automation::AutomationService::Open(
                      {}, {.graph = &graph_, .events = &events_, .ingestor = ingestor_.get(), .alerts = alerts_.get()}, clock_)
                      .value();
    services.automation = automation_.get();
    api_ = std::make_unique<DigitalTwinsApi>(graph_, clock_, ApiOptions{}, services);

    admin_ = Key("admin", {"admin"});
    viewer_ = Key("viewer", {"viewer"});
    wing_ = Key("wing", {"wing-a"});
    lobby_ = Key("lobby", {"lobby-reader"});
    expiring_ = Key("soon", {"admin"}, std::chrono::seconds(60));
    ASSERT_EQ(As(admin_, "POST", "/models", ModelsJson()).status, 201);
    for (const char* id : {"room-1", "room-2", "room-9"}) {
      ASSERT_EQ(As(admin_, "PUT", std::string("/digitaltwins/") + id, RoomJson(20)).status, 200);
    }
    ASSERT_TRUE(simulation_->PutBinding("none", ParseJson(R"({"model": "thermalTest", "twins": {"ids": ["room-1"]},
                                                              "shadow": false})").value()).ok());
    for (const auto& [label, body] : std::map<std::string, std::string>{
             {"PUT /analytics/detectors/{name}", BodyFor("PUT /analytics/detectors/{name}")},
             {"PUT /analytics/rul/{name}", BodyFor("PUT /analytics/rul/{name}")},
             {"PUT /analytics/kpis/{name}", BodyFor("PUT /analytics/kpis/{name}")},
             {"PUT /rules/{name}", BodyFor("PUT /rules/{name}")}}) {
      ASSERT_EQ(As(admin_, "PUT", label.substr(4, label.size() - 10) + "none", body).status, 201) << label;
    }
    ASSERT_EQ(As(admin_, "POST", "/alerts", BodyFor("POST /alerts")).status, 201);  // one to hide from lobby
    ASSERT_EQ(As(admin_, "POST", "/workorders", BodyFor("POST /workorders")).status, 201);  // the same
    Relate("room-1", "r1", "room-2");  // room-2 is in room-1's scope
    Relate("room-2", "r2", "room-9");  // ... and so is room-9, through room-2
    Relate("room-9", "r9", "room-1");
    ASSERT_EQ(As(admin_, "DELETE", "/digitaltwins/room-2/relationships/r2").status, 204);  // room-9 leaves
  }

  std::string Key(const std::string& name, std::vector<std::string> roles,
                  std::optional<std::chrono::seconds> ttl = std::nullopt) {
    auth::ApiKeySpec spec{.name = name, .roles = std::move(roles)};
    if (ttl) spec.expires = clock_.Now() + *ttl;
    auto created = keys_->Create(spec, clock_.Now());
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    key_ids_[name] = created->info.id;
    return created->token;
  }

  void Relate(const std::string& source, const std::string& rel, const std::string& target) {
    HttpResponse r = As(admin_, "PUT", "/digitaltwins/" + source + "/relationships/" + rel,
                        R"({"$targetId": ")" + target + R"(", "$relationshipName": "adjacentTo"})");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // A well-formed key token whose id was never issued (the admin's secret, another id).
  std::string UnknownKey() const { return "dpk_aaaaaaaaaaaa" + admin_.substr(16); }

  HttpResponse Call(std::string method, std::string target, std::string body,
                    std::vector<std::pair<std::string, std::string>> headers) {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.remote_address = "192.0.2.7:50000";
    for (auto& [name, value] : headers) req.AddHeader(name, std::move(value));
    HttpResponse res = api_->Handle(req);
    if (res.stream) {
      EXPECT_TRUE(res.CollectStream().ok());
    }
    return res;
  }
  HttpResponse As(const std::string& token, std::string method, std::string target, std::string body = "") {
    return Call(std::move(method), std::move(target), std::move(body), {{"Authorization", "Bearer " + token}});
  }

  // One request per documented operation, with path parameters filled and a body that would
  // be valid for an administrator.
  struct Operation {
    std::string label;  // "GET /digitaltwins/{id}"
    std::string method;
    std::string target;
    std::string body;
    bool is_public = false;
  };
  std::vector<Operation> Operations() {
    json::value doc = ParseJson(OpenApiDocument()).value();
    std::vector<Operation> ops;
    for (const auto& [path, item] : doc.at("paths").as_object()) {
      for (const auto& [verb, op] : item.as_object()) {
        if (!kHttpMethods.count(std::string(verb))) continue;
        Operation o;
        o.method = Upper(std::string(verb));
        o.label = o.method + " " + std::string(path);
        std::string target(path);
        auto fill = [&](const std::string& name, const std::string& value) {
          if (auto at = target.find("{" + name + "}"); at != std::string::npos) target.replace(at, name.size() + 2, value);
        };
        fill("id", target.starts_with("/models") ? PercentEncode(kRoom) : "room-1");
        fill("componentPath", "thermostat");
        fill("relationshipId", "r1");
        fill("keyId", key_ids_["viewer"]);
        fill("name", "none");
        fill("alertId", "0123456789abcdef0123456789abcdef");  // unknown: a hidden one answers the same
        fill("workOrderId", "WO-99999999");                   // the same
        if (o.label == "GET /timeseries/query") target += "?twin=room-1&start=0&end=now";
        if (o.label == "GET /simulation/models/{name}") target = "/simulation/models/thermalTest";
        o.target = target;
        o.body = BodyFor(o.label);
        const json::value* security = op.as_object().if_contains("security");
        o.is_public = security != nullptr && security->as_array().empty();
        ops.push_back(std::move(o));
      }
    }
    return ops;
  }
  static std::string BodyFor(const std::string& label) {
    static const std::map<std::string, std::string> kBodies = {
        {"POST /query", R"({"query": "SELECT * FROM DIGITALTWINS"})"},
        {"POST /timeseries/query", R"({"twins": ["room-1"], "start": 0, "end": "now"})"},
        {"POST /alerts", R"({"twinId": "room-1", "severity": "minor", "title": "Too warm"})"},
        {"POST /workorders", R"({"twinId": "room-1", "title": "Check the thermostat"})"},
        {"PATCH /workorders/{workOrderId}", R"({"comment": "parts ordered"})"},
        {"POST /write", "room,twin=room-1 temperature=21"},
        {"POST /api/v2/write", "room,twin=room-1 temperature=21"},
        {"POST /digitaltwins/{id}/telemetry", R"({"temperature": 21})"},
        {"PATCH /digitaltwins/{id}", R"([{"op": "replace", "path": "/temperature", "value": 22}])"},
        {"POST /auth/apikeys", R"({"name": "x", "roles": ["viewer"]})"},
        {"POST /backup", R"({"path": "/tmp/doppel-access-test-backup"})"},
        {"PUT /simulation/bindings/{name}", R"({"model": "thermalTest", "twins": {"ids": ["room-1"]}, "shadow": false})"},
        {"POST /digitaltwins/{id}/scenarios",
         R"({"base": "hold", "horizon": "1h", "resolution": "1m", "scenarios": [{"name": "a"}]})"},
        {"PUT /analytics/detectors/{name}", R"({"twins": ["room-1"], "kind": "mad", "signals": ["temperature"]})"},
        {"PUT /analytics/rul/{name}",
         R"({"model": "dtmi:example:Room;1", "signals": ["temperature"], "failure": "temperature"})"},
        {"PUT /analytics/kpis/{name}", R"({"model": "dtmi:example:Room;1", "rollUp": ["adjacentTo"]})"},
        {"PUT /rules/{name}", R"({"scope": {"model": "dtmi:example:Room;1"}, "condition": "temperature > 30",
                                  "actions": [{"type": "alert", "title": "{twinId} is warm"}]})"},
        {"PUT /connectors/{name}",
         R"({"broker": "mqtt://127.0.0.1:1", "clientId": "access-test", "mappings": [{"topic": "t/{twinId}"}]})"},
    };
    auto it = kBodies.find(label);
    return it == kBodies.end() ? "" : it->second;
  }

  tsdb::testing::TempDir dir_;
  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<auth::ApiKeyStore> keys_ = auth::ApiKeyStore::InMemory();
  auth::Authenticator authenticator_{{.api_keys = keys_.get()}};
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<audit::AuditLog> audit_ = audit::AuditLog::InMemory();
  ingest::LiveState live_;
  sim::ModelCatalog catalog_;
  std::unique_ptr<sim::SimulationService> simulation_;  // outlives the API
  std::unique_ptr<analytics::AnalyticsService> analytics_;  // outlives the API
  std::unique_ptr<alerts::AlertService> alerts_ = alerts::AlertService::Open({}).value();  // outlives the API
  std::unique_ptr<maintenance::WorkOrderService> work_orders_ =
      maintenance::WorkOrderService::Open({}, clock_).value();  // outlives the API
  std::unique_ptr<automation::AutomationService> automation_;  // outlives the API
  ApiServices services_;
  std::unique_ptr<DigitalTwinsApi> api_;
  std::map<std::string, std::string> key_ids_;
  std::string admin_, viewer_, wing_, lobby_, expiring_;
};

TEST_F(AccessTest, OnlyTheHealthProbeAndTheApiDescriptionArePublic) {
  std::set<std::string> public_routes;
  for (const Operation& op : Operations()) {
    if (op.is_public) public_routes.insert(op.label);
  }
  EXPECT_EQ(public_routes, (std::set<std::string>{"GET /healthz", "GET /openapi.json"}));
}

TEST_F(AccessTest, EveryRouteRefusesAMissingABadAnUnknownAndAnExpiredToken) {
  clock_.Set(clock_.Now() + std::chrono::seconds(61));  // the "soon" key has expired
  const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> attempts = {
      {"missing bearer token", {}},
      {"malformed Authorization header", {{"Authorization", "Basic YWRtaW46YWRtaW4="}}},
      {"unknown API key", {{"Authorization", "Bearer " + UnknownKey()}}},
      {"expired", {{"Authorization", "Bearer " + expiring_}}},
  };
  for (const Operation& op : Operations()) {
    for (const auto& [why, headers] : attempts) {
      HttpResponse r = Call(op.method, op.target, op.body, headers);
      if (op.is_public) {
        EXPECT_EQ(r.status, 200) << op.label << " (" << why << ") is public: " << r.body;
        continue;
      }
      EXPECT_EQ(r.status, 401) << op.label << " with " << why << ": " << r.body;
      EXPECT_THAT(r.body, HasSubstr(why)) << op.label;
      EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer realm=\"doppel\"") << op.label;
    }
  }
}

TEST_F(AccessTest, EveryRouteRefusesACallerWithoutThePermission) {
  for (const Operation& op : Operations()) {
    if (op.is_public) continue;
    HttpResponse r = As(lobby_, op.method, op.target, op.body);
    if (kAnyCaller.count(op.label)) {
      EXPECT_EQ(r.status, 200) << op.label << ": " << r.body;
    } else if (kFilteredReads.count(op.label)) {
      if (r.status == 404) {  // a twin named in the request is answered as an unknown one
        HttpResponse as_unknown = As(admin_, op.method, ReplaceAll(op.target, "room-1", "room-0"),
                                     ReplaceAll(op.body, "room-1", "room-0"));
        EXPECT_EQ(ErrorMessage(r), ReplaceAll(ErrorMessage(as_unknown), "room-0", "room-1")) << op.label;
        continue;
      }
      ASSERT_EQ(r.status, 200) << op.label << ": " << r.body;
      EXPECT_THAT(r.body, Not(HasSubstr("room-"))) << op.label << " leaks a twin the caller may not read";
    } else {
      EXPECT_EQ(r.status, 403) << op.label << " is not refused to a caller without rights: " << r.body;
      EXPECT_THAT(r.body, HasSubstr("'key:" + key_ids_["lobby"] + "' (roles: lobby-reader) may not")) << op.label;
    }
  }
}

TEST_F(AccessTest, AdministratorsReachEveryRoute) {
  for (const Operation& op : Operations()) {
    HttpResponse r = As(admin_, op.method, op.target, op.body);
    EXPECT_NE(r.status, 401) << op.label << ": " << r.body;
    EXPECT_NE(r.status, 403) << op.label << ": " << r.body;
  }
}

TEST_F(AccessTest, AScopedRoleReachesItsSubtreeOnly) {
  EXPECT_EQ(As(wing_, "GET", "/digitaltwins/room-2").status, 200);
  EXPECT_EQ(As(wing_, "GET", "/digitaltwins/room-9").status, 403);
  EXPECT_EQ(As(wing_, "PATCH", "/digitaltwins/room-2", R"([{"op": "replace", "path": "/temperature", "value": 5}])").status,
            204);
  EXPECT_EQ(As(wing_, "PATCH", "/digitaltwins/room-9", R"([{"op": "replace", "path": "/temperature", "value": 5}])").status,
            403);
  EXPECT_EQ(As(wing_, "DELETE", "/models/" + PercentEncode(kRoom)).status, 403);
  // Ingest: a batch touching one twin out of scope is refused whole.
  EXPECT_EQ(As(wing_, "POST", "/write", "room,twin=room-1 temperature=21 1\nroom,twin=room-2 temperature=22 1").status,
            204);
  HttpResponse mixed = As(wing_, "POST", "/write", "room,twin=room-1 temperature=23 2\nroom,twin=room-9 temperature=24 2");
  EXPECT_EQ(mixed.status, 403);
  EXPECT_THAT(mixed.body, HasSubstr("twin 'room-9'"));
  // Relationship lists hide the ends the caller may not see: room-9 → room-1 is invisible.
  HttpResponse incoming = As(wing_, "GET", "/digitaltwins/room-1/incomingrelationships");
  ASSERT_EQ(incoming.status, 200);
  EXPECT_THAT(incoming.body, Not(HasSubstr("room-9")));
  EXPECT_THAT(As(admin_, "GET", "/digitaltwins/room-1/incomingrelationships").body, HasSubstr("room-9"));
}

TEST_F(AccessTest, QueriesNeverRevealAnInvisibleTwin) {
  auto rows = [&](const std::string& token, const std::string& query) {
    HttpResponse r = As(token, "POST", "/query", R"({"query": ")" + query + R"("})");
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r.body).value().at("value").as_array();
  };
  EXPECT_EQ(rows(wing_, "SELECT COUNT() FROM DIGITALTWINS")[0].at("COUNT").to_number<int64_t>(), 2);
  EXPECT_EQ(rows(admin_, "SELECT COUNT() FROM DIGITALTWINS")[0].at("COUNT").to_number<int64_t>(), 3);
  EXPECT_TRUE(rows(wing_, "SELECT * FROM DIGITALTWINS WHERE $dtId = 'room-9'").empty());
  // room-9 → room-1 exists, but room-9 is invisible: no JOIN row through it.
  EXPECT_TRUE(rows(wing_, "SELECT T, CT FROM DIGITALTWINS T JOIN CT RELATED T.adjacentTo WHERE CT.$dtId = 'room-1'").empty());
  EXPECT_EQ(rows(admin_, "SELECT T, CT FROM DIGITALTWINS T JOIN CT RELATED T.adjacentTo WHERE CT.$dtId = 'room-1'").size(), 1u);
  EXPECT_TRUE(rows(lobby_, "SELECT COUNT() FROM DIGITALTWINS")[0].at("COUNT").to_number<int64_t>() == 0);
}

TEST_F(AccessTest, ChangesDenialsAndFailedLoginsAreAudited) {
  ASSERT_EQ(As(wing_, "PATCH", "/digitaltwins/room-1", R"([{"op": "replace", "path": "/temperature", "value": 7}])").status,
            204);
  ASSERT_EQ(As(wing_, "DELETE", "/digitaltwins/room-9").status, 403);
  ASSERT_EQ(As(UnknownKey(), "GET", "/digitaltwins/room-1").status, 401);
  ASSERT_EQ(As(wing_, "GET", "/digitaltwins/room-1").status, 200);  // reads are not changes

  HttpResponse log = As(admin_, "GET", "/audit?after=0&limit=10000");
  ASSERT_EQ(log.status, 200) << log.body;
  json::array records = ParseJson(log.body).value().at("value").as_array();
  std::vector<std::string> tail;
  for (std::size_t i = records.size() - 3; i < records.size(); ++i) {
    const json::object& r = records[i].as_object();
    tail.push_back(std::string(r.at("actor").as_string()) + " " + std::string(r.at("action").as_string()) + " " +
                   std::string(r.at("target").as_string()) + " " + std::string(r.at("outcome").as_string()) + " " +
                   std::string(r.at("source").as_string()));
  }
  const std::string wing = "key:" + key_ids_["wing"];
  EXPECT_EQ(tail, (std::vector<std::string>{wing + " twin.patch room-1 ok 192.0.2.7:50000",
                                           wing + " auth.denied room-9 denied 192.0.2.7:50000",
                                           "unauthenticated auth.login_failed room-1 denied 192.0.2.7:50000"}));
  HttpResponse verified = As(admin_, "GET", "/audit/verify");
  EXPECT_THAT(verified.body, HasSubstr("\"ok\":true"));
}

TEST_F(AccessTest, ApiKeysAreManagedThroughTheApiAndRevocationIsImmediate) {
  HttpResponse created = As(admin_, "POST", "/auth/apikeys", R"({"name": "historian", "roles": ["engineer"], "expiresInSeconds": 3600})");
  ASSERT_EQ(created.status, 201) << created.body;
  json::value key = ParseJson(created.body).value();
  std::string token(key.at("token").as_string());
  std::string id(key.at("id").as_string());
  EXPECT_EQ(As(token, "GET", "/auth/whoami").status, 200);
  EXPECT_THAT(As(admin_, "GET", "/auth/apikeys").body, Not(HasSubstr(token.substr(17))));  // the secret is never listed
  EXPECT_EQ(As(admin_, "POST", "/auth/apikeys", R"({"name": "x", "roles": ["pilot"]})").status, 400);
  EXPECT_EQ(As(admin_, "DELETE", "/auth/apikeys/" + id).status, 204);
  HttpResponse after = As(token, "GET", "/auth/whoami");
  EXPECT_EQ(after.status, 401);
  EXPECT_THAT(after.body, HasSubstr("revoked"));
}

TEST_F(AccessTest, EachCallerHasItsOwnRateLimit) {
  api_ = std::make_unique<DigitalTwinsApi>(
      graph_, clock_, ApiOptions{.requests_per_second_per_caller = 2, .request_burst_per_caller = 3}, services_);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(As(viewer_, "GET", "/digitaltwins/room-1").status, 200) << i;
  HttpResponse over = As(viewer_, "GET", "/digitaltwins/room-1");
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(over.Header("Retry-After"), "1");
  EXPECT_THAT(ErrorMessage(over), HasSubstr("over its limit of 2 requests per second"));
  EXPECT_EQ(As(wing_, "GET", "/digitaltwins/room-1").status, 200);  // another caller is not affected
  clock_.Set(clock_.Now() + std::chrono::milliseconds(500));      // one token back
  EXPECT_EQ(As(viewer_, "GET", "/digitaltwins/room-1").status, 200);
  EXPECT_EQ(As(viewer_, "GET", "/digitaltwins/room-1").status, 429);
}

TEST_F(AccessTest, HealthzTellsStrangersOnlyThatItIsUp) {
  HttpResponse stranger = Call("GET", "/healthz", "", {});
  ASSERT_EQ(stranger.status, 200);
  EXPECT_THAT(stranger.body, HasSubstr("\"mode\":\"enforced\""));
  EXPECT_THAT(stranger.body, Not(HasSubstr("twins")));
  EXPECT_THAT(As(viewer_, "GET", "/healthz").body, HasSubstr("\"twins\":3"));
}

}  // namespace
}  // namespace doppel::server::testing
