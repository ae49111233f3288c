// /rules, /automation/envelope, /automation/actions, /recommendations and a twin's envelope
// through DigitalTwinsApi::Handle, over a real AutomationService whose device actions go to a
// transport that records them.
#include <gmock/gmock.h>

#include "alerts/alert_service.h"
#include "audit/audit_log.h"
#include "automation/automation_service.h"
#include "command/command_service.h"
#include "ingest/ingestor.h"
#include "server/api.h"
#include "tsdb/series_store.h"
#include "tsdb/temp_dir.h"
#include "twin/journal.h"

namespace doppel::server::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kPumpModel = R"([{
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:auto:Pump;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "speedLimit", "schema": "double", "writable": true},
    {"@type": "Property", "name": "serial", "schema": "string"},
    {"@type": "Telemetry", "name": "temperature", "schema": "double"},
    {"@type": "Command", "name": "stop", "request": {"name": "reason", "schema": "string"}}]}])";

constexpr const char* kHotRule = R"({
  "scope": {"model": "dtmi:test:auto:Pump;1"},
  "condition": "temperature > 90", "clearCondition": "temperature < 80",
  "mode": "recommend",
  "actions": [{"type": "alert", "severity": "major", "title": "{twinId} is hot"},
              {"type": "setProperty", "property": "speedLimit", "value": 2000}]})";

class Recorder final : public command::CommandTransport {
 public:
  Status SendCommand(const command::CommandRequest& r) override {
    commands.push_back(r);
    return Status::Ok();
  }
  Status SendDesired(const command::DesiredUpdate& u) override {
    desired.push_back(u);
    return Status::Ok();
  }
  void SetResponseHandler(std::function<void(const command::CommandResponse&)>) override {}
  std::vector<command::CommandRequest> commands;
  std::vector<command::DesiredUpdate> desired;
};

class AutomationApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = tsdb::SeriesStore::Open(dir_.path(), {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    commands_ = command::CommandService::Open({.sync = false}, graph_, events_, &transport_, clock_).value();
    automation_ = automation::AutomationService::Open({.sync = false},
                                                      {.graph = &graph_,
                                                       .events = &events_,
                                                       .ingestor = ingestor_.get(),
                                                       .commands = commands_.get(),
                                                       .alerts = alerts_.get()},
                                                      clock_)
                      .value();
    automation_->Start();
    ApiServices services;
    services.commands = commands_.get();
    services.alerts = alerts_.get();
    services.automation = automation_.get();
    services.audit = audit_.get();
    api_ = std::make_unique<DigitalTwinsApi>(graph_, clock_, ApiOptions{}, services);
    ASSERT_EQ(Call("POST", "/models", kPumpModel).status, 201);
    for (const char* id : {"p1", "p2"}) {
      ASSERT_EQ(Call("PUT", std::string("/digitaltwins/") + id,
                     R"({"$metadata": {"$model": "dtmi:test:auto:Pump;1"}, "speedLimit": 3000, "serial": "S1"})")
                    .status,
                200);
    }
  }
  void TearDown() override {
    api_.reset();
    automation_.reset();
  }

  HttpResponse Call(std::string method, std::string target, std::string body = "") {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    return api_->Handle(req);
  }
  static json::value Json(const HttpResponse& r) { return ParseJson(r.body).value(); }
  static std::string Code(const HttpResponse& r) { return std::string(Json(r).at("error").at("code").as_string()); }
  static std::string Message(const HttpResponse& r) {
    return std::string(Json(r).at("error").at("message").as_string());
  }

  void Temperature(const std::string& twin, double value) {
    ASSERT_TRUE(ingestor_->Write(std::vector<ingest::Reading>{
                                     {twin, "temperature", clock_.Now().time_since_epoch().count(), value}})
                    .ok());
    automation_->Flush();
  }

  tsdb::testing::TempDir dir_;
  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  Recorder transport_;
  std::unique_ptr<audit::AuditLog> audit_ = audit::AuditLog::InMemory();
  std::unique_ptr<alerts::AlertService> alerts_ = alerts::AlertService::Open({.sync = false}).value();
  std::unique_ptr<command::CommandService> commands_;
  std::unique_ptr<automation::AutomationService> automation_;
  std::unique_ptr<DigitalTwinsApi> api_;
};

TEST_F(AutomationApiTest, RulesAreCreatedReplacedListedAndDeleted) {
  HttpResponse created = Call("PUT", "/rules/hot", kHotRule);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Json(created).at("name"), "hot");
  EXPECT_EQ(Json(created).at("status").at("activeTwins"), 0);
  EXPECT_EQ(Call("PUT", "/rules/hot", kHotRule).status, 200);
  HttpResponse listed = Call("GET", "/rules");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(Json(listed).at("value").as_array().size(), 1u);
  EXPECT_EQ(Json(Call("GET", "/rules/hot")).at("condition"), "temperature > 90");
  HttpResponse instances = Call("GET", "/rules/hot/instances?limit=10");
  ASSERT_EQ(instances.status, 200) << instances.body;
  EXPECT_EQ(Json(instances).at("value").as_array().size(), 2u);

  EXPECT_EQ(Call("DELETE", "/rules/hot").status, 204);
  HttpResponse gone = Call("GET", "/rules/hot");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(Code(gone), "RuleNotFound");
  EXPECT_EQ(Call("DELETE", "/rules/hot").status, 404);

  auto records = audit_->Query({.action_prefix = "rule.", .outcome = "ok"}).value();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].event.action, "rule.put");
  EXPECT_EQ(records[2].event.action, "rule.delete");
}

TEST_F(AutomationApiTest, ABadRuleIsA400NamingTheMember) {
  HttpResponse bad = Call("PUT", "/rules/hot", R"({"scope": {"model": "dtmi:test:auto:Pump;1"},
      "condition": "temperature > 90", "actions": [{"type": "setProperty", "property": "serial", "value": "x"}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(Message(bad), HasSubstr("actions[0].property: serial is not a writable property of dtmi:test:auto:Pump;1"));
  HttpResponse syntax = Call("PUT", "/rules/hot", R"({"condition": "temperature >", "actions": [{"type": "alert", "title": "x"}]})");
  EXPECT_EQ(syntax.status, 400);
  EXPECT_THAT(Message(syntax), HasSubstr("condition: at 1:"));
  EXPECT_EQ(Call("PUT", "/rules/hot", "[1]").status, 400);
  HttpResponse webhook = Call("PUT", "/rules/hot", R"({"condition": "temperature > 1",
      "actions": [{"type": "webhook", "url": "https://x.example/h"}]})");
  EXPECT_EQ(webhook.status, 400);
  EXPECT_THAT(Message(webhook), HasSubstr("webhooks, which are not enabled on this server"));
}

TEST_F(AutomationApiTest, TheEnvelopeIsReadWrittenAndShownBesideATwin) {
  HttpResponse put = Call("PUT", "/automation/envelope", R"({"mode": "auto", "maxCommandsPerTwinPerHour": 4,
      "properties": [{"model": "dtmi:test:auto:Pump;1", "property": "speedLimit", "min": 500, "max": 2500,
                      "maxRatePerMinute": 100}]})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Json(Call("GET", "/automation/envelope")).at("maxCommandsPerTwinPerHour"), 4);
  HttpResponse twin = Call("GET", "/digitaltwins/p1/envelope");
  ASSERT_EQ(twin.status, 200) << twin.body;
  EXPECT_EQ(Json(twin).at("speedLimit").at("max").to_number<double>(), 2500);
  EXPECT_EQ(Call("GET", "/digitaltwins/nope/envelope").status, 404);
  HttpResponse bad = Call("PUT", "/automation/envelope", R"({"properties": [{"model": "dtmi:test:auto:Pump;1",
      "property": "serial", "min": 1}]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(audit_->Query({.action_prefix = "envelope."}).value().size(), 2u);
}

TEST_F(AutomationApiTest, ARecommendationIsApprovedOnceThroughTheApi) {
  ASSERT_EQ(Call("PUT", "/rules/hot", kHotRule).status, 201);
  Temperature("p1", 95);
  EXPECT_TRUE(transport_.desired.empty());
  HttpResponse listed = Call("GET", "/recommendations?status=pending&twinId=p1");
  ASSERT_EQ(listed.status, 200) << listed.body;
  json::array pending = Json(listed).at("value").as_array();
  ASSERT_EQ(pending.size(), 1u);
  const std::string id(pending[0].at("recommendationId").as_string());
  EXPECT_EQ(Json(Call("GET", "/recommendations/" + id)).at("status"), "pending");

  HttpResponse approved = Call("POST", "/recommendations/" + id + "/approve", R"({"comment": "ok, derate"})");
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(Json(approved).at("status"), "executed");
  EXPECT_EQ(Json(approved).at("comment"), "ok, derate");
  EXPECT_FALSE(Json(approved).at("decidedBy").as_string().empty());
  ASSERT_EQ(transport_.desired.size(), 1u);
  EXPECT_EQ(transport_.desired[0].properties.at("speedLimit").to_number<double>(), 2000);

  HttpResponse again = Call("POST", "/recommendations/" + id + "/reject");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Code(again), "NotPending");
  HttpResponse unknown = Call("POST", "/recommendations/0123/approve");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Code(unknown), "RecommendationNotFound");
  EXPECT_EQ(Call("GET", "/recommendations?status=maybe").status, 400);

  HttpResponse actions = Call("GET", "/automation/actions?rule=hot&twinId=p1&limit=10");
  ASSERT_EQ(actions.status, 200);
  json::array log = Json(actions).at("value").as_array();
  ASSERT_EQ(log.size(), 3u);  // alert, recommended setProperty, approved setProperty (newest first)
  EXPECT_EQ(log[0].at("mode"), "approved");
  EXPECT_EQ(log[0].at("outcome"), "executed");
  EXPECT_EQ(Json(Call("GET", "/automation/actions?limit=1")).at("value").as_array().size(), 1u);
  EXPECT_EQ(Call("GET", "/automation/actions?limit=0").status, 400);
  EXPECT_EQ(audit_->Query({.action_prefix = "recommendation."}).value().size(), 3u);
}

TEST_F(AutomationApiTest, WithoutAutomationTheRoutesAnswer503) {
  DigitalTwinsApi bare(graph_, clock_);
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/rules"}, {"GET", "/automation/envelope"}, {"GET", "/recommendations"},
           {"GET", "/digitaltwins/p1/envelope"}, {"POST", "/recommendations/x/approve"}}) {
    HttpRequest req;
    req.method = method;
    req.target = target;
    HttpResponse r = bare.Handle(req);
    EXPECT_EQ(r.status, 503) << target;
    EXPECT_THAT(Message(r), HasSubstr("automation is not enabled on this server")) << target;
  }
}

}  // namespace
}  // namespace doppel::server::testing
