// /digitaltwins/{id}/commands and desired properties through the API, over a CommandService
// with a transport that records what it sends (the MQTT side is tests/integration/).
#include <gmock/gmock.h>

#include "audit/audit_log.h"
#include "command/command_service.h"
#include "server/api.h"
#include "twin/journal.h"

namespace doppel::server::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kPumpModel = R"([{
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Pump;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "speedLimit", "schema": "double", "writable": true},
    {"@type": "Property", "name": "serial", "schema": "string"},
    {"@type": "Command", "name": "stop", "request": {"name": "reason", "schema": "string"}},
    {"@type": "Component", "name": "valve", "schema": "dtmi:test:Valve;1"}
  ]}, {
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Valve;1", "@type": "Interface",
  "contents": [{"@type": "Command", "name": "close"}]}])";

class RecordingTransport final : public command::CommandTransport {
 public:
  Status SendCommand(const command::CommandRequest& r) override {
    requests.push_back(r);
    // A device quicker than the PUBACK: the response arrives before the send returns.
    if (answer_with != 0) respond({.correlation_id = r.correlation_id, .status = answer_with, .payload = "no"});
    return Status::Ok();
  }
  Status SendDesired(const command::DesiredUpdate& u) override {
    desired.push_back(u);
    return Status::Ok();
  }
  void SetResponseHandler(std::function<void(const command::CommandResponse&)> h) override { respond = std::move(h); }
  std::vector<command::CommandRequest> requests;
  std::vector<command::DesiredUpdate> desired;
  std::function<void(const command::CommandResponse&)> respond;
  int answer_with = 0;  // != 0: answer every request at once with this status
};

class CommandApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    commands_ = command::CommandService::Open({.sync = false}, graph_, events_, &transport_, clock_).value();
    ApiServices services;
    services.commands = commands_.get();
    services.audit = audit_.get();
    api_ = std::make_unique<DigitalTwinsApi>(graph_, clock_, ApiOptions{}, services);
    ASSERT_EQ(Call("POST", "/models", kPumpModel).status, 201);
    ASSERT_EQ(Call("PUT", "/digitaltwins/p1",
                   R"({"$metadata": {"$model": "dtmi:test:Pump;1"}, "speedLimit": 3000, "serial": "S1",
                       "valve": {"$metadata": {}}})").status, 200);
  }
  HttpResponse Call(std::string method, std::string target, std::string body = "") {
    HttpRequest req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    return api_->Handle(req);
  }
  static json::value Json(const HttpResponse& r) { return ParseJson(r.body).value(); }

  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  RecordingTransport transport_;
  std::unique_ptr<audit::AuditLog> audit_ = audit::AuditLog::InMemory();
  std::unique_ptr<command::CommandService> commands_;
  std::unique_ptr<DigitalTwinsApi> api_;
};

TEST_F(CommandApiTest, InvokeWithoutWaitingThenReadTheOutcome) {
  HttpResponse r = Call("POST", "/digitaltwins/p1/commands/stop?wait=false", R"("maintenance")");
  ASSERT_EQ(r.status, 202) << r.body;
  json::value inv = Json(r);
  EXPECT_EQ(inv.at("status"), json::value("delivered"));
  const std::string id(inv.at("invocationId").as_string());
  EXPECT_EQ(std::string(r.Header("Location")), "/digitaltwins/p1/commands/invocations/" + id);
  ASSERT_EQ(transport_.requests.size(), 1u);
  EXPECT_EQ(transport_.requests[0].payload, json::value("maintenance"));

  transport_.respond({.correlation_id = transport_.requests[0].correlation_id, .status = 200, .payload = "ok"});
  HttpResponse got = Call("GET", "/digitaltwins/p1/commands/invocations/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Json(got).at("status"), json::value("succeeded"));
  EXPECT_EQ(Json(got).at("responseStatus"), json::value(200));
  EXPECT_EQ(Json(got).at("response"), json::value("ok"));

  HttpResponse list = Call("GET", "/digitaltwins/p1/commands");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(Json(list).at("value").as_array().size(), 1u);
  EXPECT_EQ(Call("GET", "/digitaltwins/p1/commands/invocations/nope").status, 404);
  EXPECT_EQ(Call("GET", "/digitaltwins/ghost/commands").status, 404);
}

TEST_F(CommandApiTest, AWaitingInvocationAnswersWithTheDevicesResponse) {
  transport_.answer_with = 409;
  HttpResponse r = Call("POST", "/digitaltwins/p1/commands/stop", R"("x")");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r).at("status"), json::value("failed"));
  EXPECT_EQ(Json(r).at("responseStatus"), json::value(409));
  EXPECT_EQ(Json(r).at("response"), json::value("no"));
  EXPECT_EQ(std::string(r.Header("x-ms-command-statuscode")), "409");
}

TEST_F(CommandApiTest, ValidationErrorsAndUnknownNames) {
  HttpResponse bad = Call("POST", "/digitaltwins/p1/commands/stop", "42");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("reason"));
  HttpResponse unknown = Call("POST", "/digitaltwins/p1/commands/explode");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.body, HasSubstr("CommandNotFound"));
  EXPECT_EQ(Call("POST", "/digitaltwins/ghost/commands/stop").status, 404);
  EXPECT_EQ(Call("POST", "/digitaltwins/p1/commands/stop?timeout=forever").status, 400);
  EXPECT_EQ(Call("POST", "/digitaltwins/p1/commands/stop?timeout=10m").status, 400);
  HttpResponse component = Call("POST", "/digitaltwins/p1/components/valve/commands/close?wait=false");
  ASSERT_EQ(component.status, 202) << component.body;
  EXPECT_EQ(Json(component).at("component"), json::value("valve"));
  EXPECT_TRUE(transport_.requests.size() == 1 && transport_.requests[0].component == "valve");
}

TEST_F(CommandApiTest, InvocationsAreAudited) {
  ASSERT_EQ(Call("POST", "/digitaltwins/p1/commands/stop?wait=false").status, 202);
  auto records = audit_->Query({.action_prefix = "command."}).value();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].event.action, "command.invoke");
  EXPECT_EQ(records[0].event.target, "p1");
  EXPECT_EQ(records[0].event.outcome, "ok");
}

TEST_F(CommandApiTest, PatchOfAWritablePropertySendsItAndGetShowsTheAck) {
  HttpResponse patched = Call("PATCH", "/digitaltwins/p1", R"([{"op": "replace", "path": "/speedLimit", "value": 2500}])");
  ASSERT_EQ(patched.status, 204) << patched.body;
  ASSERT_EQ(transport_.desired.size(), 1u);
  EXPECT_EQ(transport_.desired[0].properties.at("speedLimit").to_number<double>(), 2500.0);

  json::value twin = Json(Call("GET", "/digitaltwins/p1"));
  EXPECT_EQ(twin.at("speedLimit").to_number<double>(), 2500.0);  // the desired value, as ADT shows it
  const json::object& meta = twin.at("$metadata").at("speedLimit").as_object();
  EXPECT_EQ(meta.at("ackCode"), json::value(202));
  EXPECT_EQ(meta.at("desiredVersion"), json::value(1u));
  EXPECT_TRUE(meta.contains("lastUpdateTime"));
  EXPECT_FALSE(twin.at("$metadata").as_object().contains("serial") &&
               twin.at("$metadata").at("serial").as_object().contains("ackCode"));

  // The device reports it (as the MQTT connector applies a property message).
  ASSERT_TRUE(graph_.PatchTwin("p1", ParseJson(R"([{"op": "add", "path": "/speedLimit", "value": 2500}])").value(), {}).ok());
  twin = Json(Call("GET", "/digitaltwins/p1"));
  EXPECT_EQ(twin.at("$metadata").at("speedLimit").at("ackCode"), json::value(200));
  EXPECT_EQ(twin.at("$metadata").at("speedLimit").at("reportedValue").to_number<double>(), 2500.0);

  // A read-only property is written as before, and nothing goes to the device.
  ASSERT_EQ(Call("PATCH", "/digitaltwins/p1", R"([{"op": "replace", "path": "/serial", "value": "S2"}])").status, 204);
  EXPECT_EQ(transport_.desired.size(), 1u);
}

}  // namespace
}  // namespace doppel::server::testing
