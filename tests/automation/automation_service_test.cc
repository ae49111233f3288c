// AutomationService over the real graph, ingest, alerts, work orders and commands, with a
// command transport that records what would reach a device and a manual clock: rules firing on
// telemetry, every bound of the safety envelope under attack, recommendations and approval,
// clearing, a restart in the middle, and the errors a bad rule gets.
#include "automation/automation_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "alerts/alert_service.h"
#include "client/webhook_sender.h"
#include "command/command_service.h"
#include "ingest/ingestor.h"
#include "ingest/live_state.h"
#include "maintenance/work_order_service.h"
#include "tsdb/temp_dir.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::automation {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr const char* kTurbineModel = "dtmi:test:loop:Turbine;1";

constexpr const char* kModels = R"([{
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:loop:Bearing;1", "@type": "Interface",
  "contents": [
    {"@type": "Telemetry", "name": "vibrationAnomalyScore", "schema": "double"},
    {"@type": "Telemetry", "name": "rul", "schema": "double"},
    {"@type": "Telemetry", "name": "rulLow", "schema": "double"},
    {"@type": "Telemetry", "name": "rulHigh", "schema": "double"}]
}, {
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:loop:Turbine;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "rotorSpeedLimit", "schema": "double", "writable": true},
    {"@type": "Property", "name": "serialNumber", "schema": "string"},
    {"@type": "Telemetry", "name": "bearingTemperature", "schema": "double"},
    {"@type": "Command", "name": "curtail", "request": {"name": "powerLimit", "schema": "double"}},
    {"@type": "Relationship", "name": "hasMainBearing", "target": "dtmi:test:loop:Bearing;1", "maxMultiplicity": 1}]
}, {
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:loop:Farm;1", "@type": "Interface",
  "contents": [{"@type": "Relationship", "name": "hasTurbine", "target": "dtmi:test:loop:Turbine;1"}]
}])";

constexpr const char* kEnvelope = R"({
  "mode": "auto", "maxCommandsPerTwinPerHour": 12,
  "properties": [{"model": "dtmi:test:loop:Turbine;1", "property": "rotorSpeedLimit", "min": 6, "max": 16}],
  "commandArguments": [{"model": "dtmi:test:loop:Turbine;1", "command": "curtail", "argument": "",
                        "min": 0, "max": 3600}]})";

// The bearing rule of the wind-farm example, on the test models.
constexpr const char* kBearingRule = R"({
  "description": "Derate a turbine whose main bearing is wearing",
  "scope": {"model": "dtmi:test:loop:Turbine;1", "under": "farm"},
  "condition": "hasMainBearing>vibrationAnomalyScore > 0.9 or hasMainBearing>rul < 250",
  "clearCondition": "hasMainBearing>vibrationAnomalyScore < 0.5 and hasMainBearing>rul > 300",
  "actions": [
    {"type": "alert", "severity": "major", "title": "Main bearing wear on {twinId}",
     "message": "rule {rule} at {time}"},
    {"type": "setProperty", "property": "rotorSpeedLimit", "value": 9},
    {"type": "workOrder", "title": "Inspect main bearing of {twinId}", "priority": "high",
     "asset": "hasMainBearing", "rul": "hasMainBearing>rul"},
    {"type": "command", "command": "curtail", "payload": 2000},
    {"type": "webhook", "url": "https://ops.example/hook", "secret": "s3cret"}]})";

// Records what would reach a device, and when.
class RecordingTransport final : public command::CommandTransport {
 public:
  explicit RecordingTransport(const Clock& clock) : clock_(clock) {}
  Status SendCommand(const command::CommandRequest& request) override {
    std::lock_guard lock(mu);
    commands.push_back(request);
    return Status::Ok();
  }
  Status SendDesired(const command::DesiredUpdate& update) override {
    std::lock_guard lock(mu);
    desired.push_back(update);
    desired_times.push_back(clock_.Now());
    return Status::Ok();
  }
  void SetResponseHandler(std::function<void(const command::CommandResponse&)>) override {}
  std::size_t sends() {
    std::lock_guard lock(mu);
    return commands.size() + desired.size();
  }
  // The rotorSpeedLimit values sent, in order.
  std::vector<double> Setpoints() {
    std::lock_guard lock(mu);
    std::vector<double> out;
    for (const auto& d : desired) {
      if (const json::value* v = d.properties.if_contains("rotorSpeedLimit")) out.push_back(v->to_number<double>());
    }
    return out;
  }

  std::mutex mu;
  std::vector<command::CommandRequest> commands;
  std::vector<command::DesiredUpdate> desired;
  std::vector<TimePoint> desired_times;

 private:
  const Clock& clock_;
};

class AutomationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const json::value documents = ParseJson(kModels).value();
    std::vector<json::value> models(documents.as_array().begin(), documents.as_array().end());
    ASSERT_TRUE(graph_.AddModels(models).ok());
    PutTwin("farm", R"({"$metadata": {"$model": "dtmi:test:loop:Farm;1"}})");
    for (const char* id : {"wtg-1", "wtg-2"}) {
      PutTwin(id, R"({"$metadata": {"$model": "dtmi:test:loop:Turbine;1"}, "rotorSpeedLimit": 12.6, "serialNumber": "S"})");
      PutTwin(std::string(id) + "-bearing", R"({"$metadata": {"$model": "dtmi:test:loop:Bearing;1"}})");
      Relate(id, "hasMainBearing", std::string(id) + "-bearing");
      Relate("farm", "hasTurbine", id);
    }
    store_ = tsdb::SeriesStore::Open(dir_.path() + "/history", {.sync = false}).value();
    ingestor_ = std::make_unique<ingest::Ingestor>(graph_, *store_);
    ingestor_->Subscribe([this](std::span<const ingest::Reading> batch) { live_.Apply(batch); });
    alerts_ = alerts::AlertService::Open({.sync = false}, clock_).value();
    work_orders_ = maintenance::WorkOrderService::Open({.sync = false}, clock_).value();
    webhooks_ = client::WebhookSender::Open({.sync = false}, clock_).value();  // not started: deliveries wait
    commands_ = command::CommandService::Open({.sync = false}, graph_, events_, &transport_, clock_).value();
    Open();
    ASSERT_TRUE(automation_->PutEnvelope(ParseJson(kEnvelope).value()).ok());
  }

  void TearDown() override { automation_.reset(); }

  void Open(AutomationOptions options = {}) {
    automation_.reset();
    options.dir = dir_.path() + "/automation";
    options.sync = false;
    options.ramp_step = ramp_step_;
    auto opened = AutomationService::Open(options,
                                          {.graph = &graph_,
                                           .events = &events_,
                                           .ingestor = ingestor_.get(),
                                           .live = &live_,
                                           .commands = commands_.get(),
                                           .alerts = alerts_.get(),
                                           .work_orders = work_orders_.get(),
                                           .webhooks = webhooks_.get()},
                                          clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    automation_ = std::move(*opened);
    automation_->Start();
  }

  void PutTwin(const std::string& id, const std::string& body) {
    auto put = graph_.PutTwin(id, ParseJson(body).value(), {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }
  void Relate(const std::string& from, const std::string& name, const std::string& to) {
    auto put = graph_.PutRelationship(
        from, from + "-" + name + "-" + to,
        json::object{{"$relationshipName", name}, {"$targetId", to}}, {});
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  void PutRule(const std::string& name, const std::string& body) {
    auto put = automation_->PutRule(name, ParseJson(body).value());
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }
  Status PutRuleStatus(const std::string& body, const std::string& name = "r") {
    return automation_->PutRule(name, ParseJson(body).value()).status();
  }
  void PutEnvelope(const std::string& body) {
    Status put = automation_->PutEnvelope(ParseJson(body).value());
    ASSERT_TRUE(put.ok()) << put.ToString();
  }

  // Bearing telemetry at the clock's time, then waits until the rules have acted on it.
  void Bearing(const std::string& turbine, double score, double rul, double low = NAN, double high = NAN) {
    const int64_t t = clock_.Now().time_since_epoch().count();
    const std::string id = turbine + "-bearing";
    std::vector<ingest::Reading> batch{{id, "vibrationAnomalyScore", t, score}, {id, "rul", t, rul}};
    if (!std::isnan(low)) batch.push_back({id, "rulLow", t, low});
    if (!std::isnan(high)) batch.push_back({id, "rulHigh", t, high});
    ASSERT_TRUE(ingestor_->Write(batch).ok());
    automation_->Flush();
  }
  void Wear(const std::string& turbine = "wtg-1") { Bearing(turbine, 0.95, 200, 150, 260); }
  void Heal(const std::string& turbine = "wtg-1") { Bearing(turbine, 0.2, 900, 800, 1000); }

  json::array Actions(const std::string& rule = "", const std::string& twin = "") {
    return automation_->ListActions({.rule = rule, .twin_id = twin, .limit = 1000});
  }
  // The outcomes of the log's records of one type, oldest first.
  std::vector<std::string> Outcomes(const std::string& type) {
    std::vector<std::string> out;
    json::array actions = Actions();
    for (auto it = actions.rbegin(); it != actions.rend(); ++it) {
      if (it->at("type").as_string() == type) out.emplace_back(it->at("outcome").as_string());
    }
    return out;
  }
  double SpeedLimit(const std::string& twin = "wtg-1") {
    return graph_.GetTwin(twin).value().at("rotorSpeedLimit").to_number<double>();
  }

  std::chrono::milliseconds ramp_step_{10'000};
  tsdb::testing::TempDir dir_;
  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  std::unique_ptr<tsdb::SeriesStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  ingest::LiveState live_;
  RecordingTransport transport_{clock_};
  std::unique_ptr<alerts::AlertService> alerts_;
  std::unique_ptr<maintenance::WorkOrderService> work_orders_;
  std::unique_ptr<client::WebhookSender> webhooks_;
  std::unique_ptr<command::CommandService> commands_;
  std::unique_ptr<AutomationService> automation_;
};

TEST_F(AutomationServiceTest, ARuleFiringOnTelemetryRaisesAnAlertOpensAWorkOrderAndSendsTheSetpoint) {
  PutRule("bearing", kBearingRule);
  Heal();
  EXPECT_EQ(transport_.sends(), 0u);
  Wear();

  // The alert: de-duplicated per rule and twin, with the evidence and the history window.
  std::optional<alerts::Alert> alert = alerts_->FindOpen("bearing/wtg-1");
  ASSERT_TRUE(alert.has_value());
  EXPECT_EQ(alert->title, "Main bearing wear on wtg-1");
  EXPECT_EQ(alert->severity, alerts::Severity::kMajor);
  EXPECT_EQ(alert->rule, "bearing");
  EXPECT_THAT(alert->message, HasSubstr("rule bearing at "));
  EXPECT_EQ(alert->evidence.at("signals").at("hasMainBearing>vibrationAnomalyScore").to_number<double>(), 0.95);
  EXPECT_THAT(std::string(alert->evidence.at("history").as_string()), HasSubstr("/timeseries/query?twin=wtg-1&start="));
  EXPECT_FALSE(alerts_->FindOpen("bearing/wtg-2").has_value());

  // The work order: for the bearing, due at the RUL's lower bound, with the RUL as evidence.
  auto orders = work_orders_->List({.rule = "bearing"});
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].twin_id, "wtg-1-bearing");
  EXPECT_EQ(orders[0].priority, maintenance::Priority::kHigh);
  EXPECT_EQ(orders[0].title, "Inspect main bearing of wtg-1");
  ASSERT_TRUE(orders[0].due.has_value());
  EXPECT_EQ(*orders[0].due, clock_.Now() + 150h);
  const json::value& rul = orders[0].evidence.at("rul");
  EXPECT_EQ(rul.at("value").to_number<double>(), 200);
  EXPECT_EQ(rul.at("low").to_number<double>(), 150);
  EXPECT_EQ(rul.at("high").to_number<double>(), 260);
  EXPECT_EQ(rul.at("unit"), "h");
  EXPECT_TRUE(orders[0].evidence.at("signals").is_object());

  // The device: the setpoint as a desired property, the command with the rule as caller.
  EXPECT_EQ(transport_.Setpoints(), std::vector<double>{9});
  EXPECT_EQ(SpeedLimit(), 9);
  ASSERT_EQ(transport_.commands.size(), 1u);
  EXPECT_EQ(transport_.commands[0].command, "curtail");
  EXPECT_EQ(transport_.commands[0].payload.to_number<double>(), 2000);
  auto invocations = commands_->List("wtg-1", 10);
  ASSERT_EQ(invocations.size(), 1u);
  EXPECT_EQ(invocations[0].caller, "rule bearing");

  // One record per action, each with its reference.
  json::array actions = Actions("bearing");
  ASSERT_EQ(actions.size(), 5u);
  std::map<std::string, json::object> by_type;
  for (const json::value& a : actions) {
    EXPECT_EQ(a.at("outcome"), "executed") << ToJson(a);
    EXPECT_EQ(a.at("mode"), "auto");
    EXPECT_EQ(a.at("twinId"), "wtg-1");
    EXPECT_TRUE(a.at("evidence").at("signals").is_object());
    by_type[std::string(a.at("type").as_string())] = a.as_object();
  }
  EXPECT_EQ(by_type["alert"].at("ref").at("alertId").as_string(), alert->id);
  EXPECT_EQ(by_type["workOrder"].at("ref").at("workOrderId").as_string(), orders[0].id);
  EXPECT_EQ(by_type["command"].at("ref").at("invocationId").as_string(), invocations[0].id);
  EXPECT_TRUE(by_type["webhook"].at("ref").at("deliveryId").is_string());
  EXPECT_EQ(by_type["setProperty"].at("applied").at("value").to_number<double>(), 9);

  // Still true: de-duplicated, nothing repeats.
  Wear();
  EXPECT_EQ(Actions("bearing").size(), 5u);
  EXPECT_EQ(transport_.sends(), 2u);

  json::object rule = automation_->GetRule("bearing").value();
  EXPECT_EQ(rule.at("status").at("activeTwins"), 1);
  EXPECT_TRUE(rule.at("status").as_object().contains("lastFired"));
  json::array instances = automation_->RuleInstances("bearing", 10).value();
  EXPECT_EQ(instances.size(), 2u);
}

TEST_F(AutomationServiceTest, ClearingTheRuleClearsItsAlert) {
  PutRule("bearing", kBearingRule);
  Wear();
  ASSERT_TRUE(alerts_->FindOpen("bearing/wtg-1").has_value());
  Bearing("wtg-1", 0.7, 400);  // between the thresholds: hysteresis keeps it active
  EXPECT_TRUE(alerts_->FindOpen("bearing/wtg-1").has_value());
  Heal();
  EXPECT_FALSE(alerts_->FindOpen("bearing/wtg-1").has_value());
  auto cleared = alerts_->List({.rule = "bearing"});
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_EQ(cleared[0].state, alerts::AlertState::kCleared);
  EXPECT_EQ(cleared[0].cleared_by, "rule bearing");
  EXPECT_EQ(automation_->GetRule("bearing").value().at("status").at("activeTwins"), 0);
  EXPECT_EQ(Outcomes("alert"), (std::vector<std::string>{"executed", "executed"}));
  // A clear sends nothing to the device and opens no work order.
  EXPECT_EQ(transport_.sends(), 2u);
  EXPECT_EQ(work_orders_->List({}).size(), 1u);
}

// ---- automation never exceeds an envelope ----

TEST_F(AutomationServiceTest, ASetpointAboveTheEnvelopeIsClampedToItsBound) {
  PutRule("overspeed", R"({"scope": {"model": "dtmi:test:loop:Turbine;1"},
      "condition": "hasMainBearing>rul < 250",
      "actions": [{"type": "setProperty", "property": "rotorSpeedLimit", "value": 30}]})");
  Wear();
  EXPECT_EQ(transport_.Setpoints(), std::vector<double>{16});
  EXPECT_EQ(SpeedLimit(), 16);
  json::array actions = Actions("overspeed");
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].at("outcome"), "clamped");
  EXPECT_EQ(actions[0].at("request").at("value").to_number<double>(), 30);
  EXPECT_EQ(actions[0].at("applied").at("value").to_number<double>(), 16);
  EXPECT_FALSE(actions[0].at("reason").as_string().empty());
}

TEST_F(AutomationServiceTest, ACommandArgumentOutsideTheEnvelopeIsBlockedAndNeverSent) {
  PutRule("curtail", R"({"scope": {"model": "dtmi:test:loop:Turbine;1"},
      "condition": "hasMainBearing>rul < 250",
      "actions": [{"type": "command", "command": "curtail", "payload": 5000}]})");
  Wear();
  EXPECT_TRUE(transport_.commands.empty());
  EXPECT_TRUE(commands_->List("wtg-1", 10).empty());
  EXPECT_EQ(Outcomes("command"), std::vector<std::string>{"blocked"});
}

TEST_F(AutomationServiceTest, TheRateLimitBlocksDeviceActionsPastItsCount) {
  PutEnvelope(R"({"mode": "auto", "maxCommandsPerTwinPerHour": 2,
      "properties": [{"model": "dtmi:test:loop:Turbine;1", "property": "rotorSpeedLimit", "min": 6, "max": 16}]})");
  PutRule("flap", R"({"scope": {"model": "dtmi:test:loop:Turbine;1"},
      "condition": "hasMainBearing>rul < 250", "clearCondition": "hasMainBearing>rul > 300",
      "actions": [{"type": "setProperty", "property": "rotorSpeedLimit", "value": 9}]})");
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(1min);
    Wear();
    clock_.Advance(1min);
    Heal();
  }
  EXPECT_EQ(Outcomes("setProperty"), (std::vector<std::string>{"executed", "executed", "blocked", "blocked"}));
  EXPECT_EQ(transport_.desired.size(), 2u);
  // A sliding hour: once the first actions are an hour old, one may run again.
  clock_.Advance(1h);
  Wear();
  EXPECT_EQ(Outcomes("setProperty").back(), "executed");
  EXPECT_EQ(transport_.desired.size(), 3u);
}

TEST_F(AutomationServiceTest, ALargeSetpointChangeRampsNeverFasterThanTheEnvelopesRate) {
  PutEnvelope(R"({"mode": "auto", "maxCommandsPerTwinPerHour": 12,
      "properties": [{"model": "dtmi:test:loop:Turbine;1", "property": "rotorSpeedLimit",
                      "min": 6, "max": 16, "maxRatePerMinute": 2}]})");
  // Asks for 2, below the minimum: clamped to 6, reached from 12.6 at ≤ 2 rpm per minute.
  PutRule("derate", R"({"scope": {"model": "dtmi:test:loop:Turbine;1"},
      "condition": "hasMainBearing>rul < 250",
      "actions": [{"type": "setProperty", "property": "rotorSpeedLimit", "value": 2}]})");
  Wear();
  const double max_step = 2.0 * 10 / 60;  // rate × ramp step (10 s)
  ASSERT_EQ(transport_.Setpoints().size(), 1u);
  automation_->Flush();  // no time has passed: no step
  EXPECT_EQ(transport_.Setpoints().size(), 1u);
  for (int i = 0; i < 40 && SpeedLimit() != 6; ++i) {
    clock_.Advance(10s);
    automation_->Flush();
  }
  std::vector<double> sent = transport_.Setpoints();
  ASSERT_GT(sent.size(), 2u);
  EXPECT_EQ(sent.back(), 6);
  double previous = 12.6;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_LE(std::abs(sent[i] - previous), max_step + 1e-9) << "step " << i;
    EXPECT_GE(sent[i], 6) << "step " << i;
    if (i > 0) {
      EXPECT_GE(transport_.desired_times[i] - transport_.desired_times[i - 1], 10s) << "step " << i;
    }
    previous = sent[i];
  }
  EXPECT_EQ(sent.size(), static_cast<std::size_t>(std::ceil((12.6 - 6) / max_step - 1e-9)));
  json::array actions = Actions("derate");
  EXPECT_EQ(actions.size(), sent.size());
  EXPECT_EQ(Outcomes("setProperty").front(), "clamped");
}

TEST_F(AutomationServiceTest, TheTwinViewShowsTheBoundsOfItsProperties) {
  PutEnvelope(R"({"properties": [{"model": "dtmi:test:loop:Turbine;1", "property": "rotorSpeedLimit",
                                  "min": 6, "max": 16, "maxRatePerMinute": 2}]})");
  json::object bounds = automation_->TwinEnvelope("wtg-1").value();
  EXPECT_EQ(ToJson(bounds), R"({"rotorSpeedLimit":{"min":6,"max":16,"maxRatePerMinute":2}})");
  EXPECT_TRUE(automation_->TwinEnvelope("wtg-1-bearing").value().empty());
  EXPECT_EQ(automation_->TwinEnvelope("nope").status().code(), StatusCode::kNotFound);
}

// ---- recommendations ----

TEST_F(AutomationServiceTest, InRecommendModeNothingReachesTheDeviceUntilApproved) {
  std::string rule = kBearingRule;
  rule.replace(rule.find("\"scope\""), 0, R"("mode": "recommend", )");
  PutRule("bearing", rule);
  Wear();
  EXPECT_EQ(transport_.sends(), 0u);
  EXPECT_TRUE(alerts_->FindOpen("bearing/wtg-1").has_value());  // alerts and work orders still run
  EXPECT_EQ(work_orders_->List({}).size(), 1u);
  EXPECT_EQ(SpeedLimit(), 12.6);

  json::array pending = automation_->ListRecommendations({.status = "pending"});
  ASSERT_EQ(pending.size(), 1u);
  const std::string id(pending[0].at("recommendationId").as_string());
  EXPECT_EQ(pending[0].at("twinId"), "wtg-1");
  EXPECT_EQ(pending[0].at("actions").as_array().size(), 2u);
  EXPECT_EQ(Outcomes("setProperty"), std::vector<std::string>{"recommended"});
  EXPECT_EQ(Outcomes("command"), std::vector<std::string>{"recommended"});

  json::object done = automation_->Approve(id, "operator@plant", "go").value();
  EXPECT_EQ(done.at("status"), "executed");
  EXPECT_EQ(done.at("decidedBy"), "operator@plant");
  EXPECT_EQ(done.at("comment"), "go");
  EXPECT_EQ(done.at("results").as_array().size(), 2u);
  EXPECT_EQ(transport_.Setpoints(), std::vector<double>{9});
  ASSERT_EQ(transport_.commands.size(), 1u);
  json::array approved = Actions("bearing", "wtg-1");
  EXPECT_EQ(approved[0].at("mode"), "approved");
  EXPECT_EQ(approved[0].at("approvedBy"), "operator@plant");

  Status again = automation_->Approve(id, "operator@plant", "").status();
  EXPECT_EQ(again.code(), StatusCode::kConflict);
  EXPECT_EQ(again.error_code(), "NotPending");
  EXPECT_EQ(automation_->Approve("0123", "x", "").status().error_code(), "RecommendationNotFound");
  EXPECT_EQ(transport_.sends(), 2u);
}

TEST_F(AutomationServiceTest, TheEnvelopesRecommendModeOverridesAnAutoRuleAndApprovalStillPassesTheEnvelope) {
  PutEnvelope(R"({"mode": "recommend", "maxCommandsPerTwinPerHour": 12,
      "properties": [{"model": "dtmi:test:loop:Turbine;1", "property": "rotorSpeedLimit", "min": 6, "max": 16}]})");
  PutRule("overspeed", R"({"scope": {"model": "dtmi:test:loop:Turbine;1"}, "condition": "hasMainBearing>rul < 250",
      "actions": [{"type": "setProperty", "property": "rotorSpeedLimit", "value": 30}]})");
  Wear();
  EXPECT_EQ(transport_.sends(), 0u);
  json::array pending = automation_->ListRecommendations({.status = "pending"});
  ASSERT_EQ(pending.size(), 1u);
  json::object done = automation_->Approve(std::string(pending[0].at("recommendationId").as_string()), "op", "")
                          .value();
  EXPECT_EQ(done.at("status"), "executed");
  EXPECT_EQ(done.at("results").at(0).at("outcome"), "clamped");
  EXPECT_EQ(transport_.Setpoints(), std::vector<double>{16});
}

TEST_F(AutomationServiceTest, RejectedAndExpiredRecommendationsNeverSend) {
  PutRule("derate", R"({"scope": {"model": "dtmi:test:loop:Turbine;1"},
      "condition": "hasMainBearing>rul < 250", "mode": "recommend", "recommendationTtl": "30m",
      "actions": [{"type": "setProperty", "property": "rotorSpeedLimit", "value": 9}]})");
  Wear("wtg-1");
  Wear("wtg-2");
  json::array pending = automation_->ListRecommendations({.status = "pending"});
  ASSERT_EQ(pending.size(), 2u);
  const std::string second(pending[0].at("recommendationId").as_string());  // newest first: wtg-2
  const std::string first(pending[1].at("recommendationId").as_string());

  json::object rejected = automation_->Reject(first, "operator@plant", "not now").value();
  EXPECT_EQ(rejected.at("status"), "rejected");
  EXPECT_EQ(automation_->Approve(first, "operator@plant", "").status().error_code(), "NotPending");

  clock_.Advance(31min);
  automation_->Flush();
  EXPECT_EQ(automation_->GetRecommendation(second).value().at("status"), "expired");
  EXPECT_EQ(automation_->Approve(second, "operator@plant", "").status().error_code(), "NotPending");
  EXPECT_EQ(automation_->Reject(second, "operator@plant", "").status().error_code(), "NotPending");
  EXPECT_EQ(transport_.sends(), 0u);
  EXPECT_EQ(SpeedLimit("wtg-1"), 12.6);
  EXPECT_EQ(SpeedLimit("wtg-2"), 12.6);
}

// ---- persistence ----

TEST_F(AutomationServiceTest, ARestartKeepsRulesRecommendationsAndActiveStateWithoutRepeating) {
  PutRule("bearing", kBearingRule);
  PutRule("ask", R"({"scope": {"model": "dtmi:test:loop:Turbine;1"}, "condition": "hasMainBearing>rul < 250",
      "mode": "recommend", "actions": [{"type": "setProperty", "property": "rotorSpeedLimit", "value": 10}]})");
  PutEnvelope(R"({"mode": "auto", "maxCommandsPerTwinPerHour": 7})");
  Wear();
  const std::size_t actions = Actions().size();
  const std::size_t sends = transport_.sends();
  ASSERT_EQ(automation_->ListRecommendations({}).size(), 1u);

  Open();  // a restart of the automation service
  EXPECT_EQ(automation_->ListRules().size(), 2u);
  EXPECT_EQ(automation_->GetEnvelope().at("maxCommandsPerTwinPerHour"), 7);
  EXPECT_EQ(automation_->GetRule("bearing").value().at("status").at("activeTwins"), 1);
  json::array recommendations = automation_->ListRecommendations({.status = "pending"});
  ASSERT_EQ(recommendations.size(), 1u);
  EXPECT_EQ(Actions().size(), actions);

  Wear();  // still true after the restart: already active, nothing repeats
  EXPECT_EQ(Actions().size(), actions);
  EXPECT_EQ(transport_.sends(), sends);
  EXPECT_EQ(automation_->ListRecommendations({}).size(), 1u);

  Heal();  // and it still clears
  EXPECT_FALSE(alerts_->FindOpen("bearing/wtg-1").has_value());
  json::object approved =
      automation_->Approve(std::string(recommendations[0].at("recommendationId").as_string()), "op", "").value();
  EXPECT_EQ(approved.at("status"), "executed");
  EXPECT_EQ(SpeedLimit(), 10);

  ASSERT_TRUE(automation_->DeleteRule("ask").ok());
  Open();
  EXPECT_EQ(automation_->ListRules().size(), 1u);
  EXPECT_EQ(automation_->GetRule("ask").status().error_code(), "RuleNotFound");
  EXPECT_EQ(automation_->GetRecommendation(std::string(recommendations[0].at("recommendationId").as_string()))
                .value()
                .at("status"),
            "executed");
}

// ---- validation ----

TEST_F(AutomationServiceTest, BadRulesAreRefusedNamingTheMember) {
  struct Case {
    std::string body;
    std::string message;
  };
  const std::string scope = R"("scope": {"model": "dtmi:test:loop:Turbine;1"}, )";
  const std::vector<Case> cases = {
      {R"({"condition": "rul <", "actions": [{"type": "alert", "title": "x"}]})", "condition: at 1:"},
      {"{" + scope + R"("condition": "bearingTemperature > 1", "actions": [
          {"type": "alert", "title": "x"}, {"type": "setProperty", "property": "serialNumber", "value": "x"}]})",
       "actions[1].property: serialNumber is not a writable property of dtmi:test:loop:Turbine;1"},
      {"{" + scope + R"("condition": "bearingTemperature > 1", "actions": [
          {"type": "setProperty", "property": "rotorSpeedLimit", "value": "fast"}]})",
       "actions[0].value"},
      {"{" + scope + R"("condition": "bearingTemperature > 1", "actions": [{"type": "command", "command": "stop"}]})",
       "actions[0].command: stop is not a command of dtmi:test:loop:Turbine;1"},
      {"{" + scope + R"("condition": "bearingTemperature > 1", "actions": [
          {"type": "workOrder", "title": "x", "asset": "hasGearbox"}]})",
       "actions[0].asset: hasGearbox is not a relationship of dtmi:test:loop:Turbine;1"},
      {R"({"condition": "x > 1", "cooldown": "soon", "actions": [{"type": "alert", "title": "x"}]})",
       "cooldown: 'soon' is not a duration"},
      {R"({"condition": "x > 1", "actions": [{"type": "alert", "title": "x on {twin}"}]})",
       "actions[0].title: unknown placeholder {twin}"},
      {R"({"condition": "x > 1", "actions": [{"type": "alert"}]})", "actions[0].title: required"},
      {R"({"condition": "x > 1", "actions": [{"type": "alert", "title": "x", "severity": "huge"}]})",
       "actions[0].severity"},
      {R"({"condition": "x > 1", "actions": [{"type": "page", "title": "x"}]})", "actions[0].type: unknown action type"},
      {R"({"condition": "x > 1", "actions": []})", "actions: required"},
      {R"({"condition": "x > 1", "mode": "yolo", "actions": [{"type": "alert", "title": "x"}]})", "mode: must be"},
      {R"({"condition": "x > 1", "clearcondition": "x < 1", "actions": [{"type": "alert", "title": "x"}]})",
       "unknown member 'clearcondition'"},
      {R"({"condition": "x > 1", "actions": [{"type": "webhook", "url": "ftp://x"}]})", "actions[0].url"},
      {R"({"scope": {"model": "dtmi:test:loop:Nope;1"}, "condition": "x > 1", "actions": [{"type": "alert", "title": "x"}]})",
       "scope.model"},
      {R"({"actions": [{"type": "alert", "title": "x"}]})", "condition: required"},
  };
  for (const Case& c : cases) {
    Status s = PutRuleStatus(c.body);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.body;
    EXPECT_THAT(s.message(), HasSubstr(c.message)) << c.body;
  }
  EXPECT_THAT(PutRuleStatus(R"({"condition": "x > 1", "actions": [{"type": "alert", "title": "x"}]})", "a/b").message(),
              HasSubstr("rule name"));
  EXPECT_TRUE(automation_->ListRules().empty());
  EXPECT_EQ(automation_->GetRule("r").status().error_code(), "RuleNotFound");
  EXPECT_EQ(automation_->DeleteRule("r").error_code(), "RuleNotFound");
  EXPECT_EQ(automation_->RuleInstances("r", 10).status().error_code(), "RuleNotFound");
}

TEST_F(AutomationServiceTest, ActionsNeedTheirServiceAndSecretsAreNeverShown) {
  PutRule("bearing", kBearingRule);
  json::object shown = automation_->GetRule("bearing").value();
  const json::object& hook = shown.at("actions").at(4).as_object();
  EXPECT_FALSE(hook.contains("secret"));
  EXPECT_EQ(hook.at("secretSet"), true);
  EXPECT_EQ(ToJson(automation_->ListRules()).find("s3cret"), std::string::npos);

  // A server without webhooks refuses the rule that needs one.
  auto bare = AutomationService::Open({}, {.graph = &graph_, .events = &events_, .ingestor = ingestor_.get()}, clock_);
  ASSERT_TRUE(bare.ok());
  Status s = (*bare)->PutRule("bearing", ParseJson(kBearingRule).value()).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("actions[0].type: alert actions need alerts, which are not enabled on this server"));
}


// The wind-farm example's envelope and rule (docs/automation.md's worked example) are valid
// against the example's models.
TEST(AutomationExampleTest, TheWindFarmEnvelopeAndBearingRuleAreAccepted) {
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return ParseJson(text.str());
  };
  const std::string example = std::string(DOPPEL_SOURCE_DIR) + "/examples/wind-farm";
  ManualClock clock;
  twin::MemoryJournal journal;
  twin::EventBus events;
  twin::TwinGraph graph(journal, clock, events);
  std::vector<json::value> models;
  for (const auto& entry : std::filesystem::directory_iterator(example + "/models")) {
    auto model = read(entry.path().string());
    ASSERT_TRUE(model.ok()) << entry.path();
    models.push_back(std::move(*model));
  }
  ASSERT_TRUE(graph.AddModels(models).ok());
  tsdb::testing::TempDir dir;
  auto store = tsdb::SeriesStore::Open(dir.path(), {.sync = false}).value();
  ingest::Ingestor ingestor(graph, *store);
  auto alerts = alerts::AlertService::Open({.sync = false}, clock).value();
  auto orders = maintenance::WorkOrderService::Open({.sync = false}, clock).value();
  auto commands = command::CommandService::Open({.sync = false}, graph, events, nullptr, clock).value();
  auto automation = AutomationService::Open({}, {.graph = &graph, .events = &events, .ingestor = &ingestor,
                                                 .commands = commands.get(), .alerts = alerts.get(),
                                                 .work_orders = orders.get()}, clock).value();
  Status envelope = automation->PutEnvelope(read(example + "/automation/envelope.json").value());
  EXPECT_TRUE(envelope.ok()) << envelope.ToString();
  auto rule = automation->PutRule("bearing-wear", read(example + "/rules/bearing-wear.json").value());
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  EXPECT_TRUE(rule->first);
}

// The envelope as it is at each ramp step binds the ramp: an operator who tightens the bounds,
// switches to recommend-only and deletes the rule stops a ramp under way (found in review).
TEST_F(AutomationServiceTest, ARampUnderWayObeysTheEnvelopeAsItIsNow) {
  PutEnvelope(R"({"mode": "auto", "maxCommandsPerTwinPerHour": 12,
      "properties": [{"model": "dtmi:test:loop:Turbine;1", "property": "rotorSpeedLimit",
                      "min": 6, "max": 16, "maxRatePerMinute": 2}]})");
  PutRule("up", R"({"scope": {"model": "dtmi:test:loop:Turbine;1"},
      "condition": "hasMainBearing>rul < 250",
      "actions": [{"type": "setProperty", "property": "rotorSpeedLimit", "value": 16}]})");
  Wear();
  PutEnvelope(R"({"mode": "auto", "maxCommandsPerTwinPerHour": 12,
      "properties": [{"model": "dtmi:test:loop:Turbine;1", "property": "rotorSpeedLimit",
                      "min": 6, "max": 13, "maxRatePerMinute": 2}]})");
  for (int i = 0; i < 40; ++i) {
    clock_.Advance(10s);
    automation_->Flush();
  }
  EXPECT_LE(SpeedLimit(), 13.0) << "the tightened max holds for the rest of the ramp";
  for (double v : transport_.Setpoints()) EXPECT_LE(v, 16.0);

  // Recommend-only stops it where it is.
  PutRule("up-again", R"({"scope": {"model": "dtmi:test:loop:Turbine;1"},
      "condition": "hasMainBearing>rul < 250",
      "actions": [{"type": "setProperty", "property": "rotorSpeedLimit", "value": 6}]})");
  automation_->Flush();
  PutEnvelope(R"({"mode": "recommend", "maxCommandsPerTwinPerHour": 12,
      "properties": [{"model": "dtmi:test:loop:Turbine;1", "property": "rotorSpeedLimit",
                      "min": 6, "max": 13, "maxRatePerMinute": 2}]})");
  const double before = SpeedLimit();
  const std::size_t sent = transport_.Setpoints().size();
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(10s);
    automation_->Flush();
  }
  EXPECT_EQ(SpeedLimit(), before);
  EXPECT_EQ(transport_.Setpoints().size(), sent);
}

// The rate holds across separate writes: four rules activating together move the setpoint by
// one step, not four (found in review).
TEST_F(AutomationServiceTest, TheRateOfChangeHoldsAcrossRulesWritingTogether) {
  PutEnvelope(R"({"mode": "auto", "maxCommandsPerTwinPerHour": 12,
      "properties": [{"model": "dtmi:test:loop:Turbine;1", "property": "rotorSpeedLimit",
                      "min": 6, "max": 16, "maxRatePerMinute": 2}]})");
  for (const char* name : {"a", "b", "c", "d"}) {
    PutRule(name, R"({"scope": {"model": "dtmi:test:loop:Turbine;1"},
      "condition": "hasMainBearing>rul < 250",
      "actions": [{"type": "setProperty", "property": "rotorSpeedLimit", "value": 6}]})");
  }
  Wear();
  const double step = 2.0 * 10 / 60;  // maxRatePerMinute × the 10 s ramp interval
  for (double v : transport_.Setpoints()) EXPECT_LE(std::abs(v - 12.6), step + 1e-9) << v;
  double previous = SpeedLimit();
  for (int i = 0; i < 60; ++i) {
    clock_.Advance(10s);
    automation_->Flush();
    EXPECT_LE(std::abs(SpeedLimit() - previous), step + 1e-9);
    previous = SpeedLimit();
  }
  EXPECT_EQ(SpeedLimit(), 6.0);
}

// A recommendation past its expiry is not approvable, even before the worker's sweep ran.
TEST_F(AutomationServiceTest, AnExpiredRecommendationCannotBeApproved) {
  Open({.tick = 1h});
  ASSERT_TRUE(automation_->PutEnvelope(ParseJson(kEnvelope).value()).ok());
  std::string rule = kBearingRule;
  rule.replace(rule.find("\"scope\""), 0, R"("mode": "recommend", "recommendationTtl": "1h", )");
  PutRule("bearing", rule);
  Wear();
  json::array pending = automation_->ListRecommendations({.status = "pending"});
  ASSERT_EQ(pending.size(), 1u);
  clock_.Advance(3h);
  const std::string id(pending[0].at("recommendationId").as_string());
  auto done = automation_->Approve(id, "op", "");
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().error_code(), "NotPending");
  EXPECT_EQ(transport_.sends(), 0u);
  EXPECT_EQ(automation_->GetRecommendation(id)->at("status"), json::value("expired"));
}

}  // namespace
}  // namespace doppel::automation
