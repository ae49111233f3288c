// CommandService with a fake transport: validation, the invocation lifecycle, correlation,
// timeouts, persistence across a restart, and desired properties acknowledged by reports.
#include "command/command_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "base/json.h"
#include "tsdb/temp_dir.h"
#include "twin/journal.h"
#include "twin/twin_graph.h"

namespace doppel::command {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr const char* kTurbine = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Turbine;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "rotorSpeedLimit", "schema": "double", "writable": true},
    {"@type": "Property", "name": "serialNumber", "schema": "string"},
    {"@type": "Command", "name": "stop",
     "request": {"name": "reason", "schema": "string"},
     "response": {"name": "result", "schema": {"@type": "Object", "fields": [
        {"name": "accepted", "schema": "boolean"}, {"name": "message", "schema": "string"}]}}},
    {"@type": "Command", "name": "start"},
    {"@type": "Command", "name": "curtail", "request": {"name": "powerLimit", "schema": "double"}},
    {"@type": "Component", "name": "nacelle", "schema": "dtmi:test:Nacelle;1"}
  ]})";
constexpr const char* kNacelle = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Nacelle;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "yawTarget", "schema": "double", "writable": true},
    {"@type": "Command", "name": "yaw", "request": {"name": "angle", "schema": "double"}}
  ]})";

// Records what it is asked to send; answers with `send_status`.
class FakeTransport final : public CommandTransport {
 public:
  Status SendCommand(const CommandRequest& request) override {
    std::lock_guard lock(mu);
    requests.push_back(request);
    return send_status;
  }
  Status SendDesired(const DesiredUpdate& update) override {
    std::lock_guard lock(mu);
    desired.push_back(update);
    return send_status;
  }
  void SetResponseHandler(std::function<void(const CommandResponse&)> h) override { handler = std::move(h); }
  void Respond(const std::string& correlation_id, int status, json::value payload) {
    handler({.correlation_id = correlation_id, .status = status, .payload = std::move(payload)});
  }
  CommandRequest last() {
    std::lock_guard lock(mu);
    return requests.back();
  }

  std::mutex mu;
  std::vector<CommandRequest> requests;
  std::vector<DesiredUpdate> desired;
  Status send_status = Status::Ok();
  std::function<void(const CommandResponse&)> handler;
};

class CommandServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto added = graph_.AddModels({ParseJson(kNacelle).value(), ParseJson(kTurbine).value()});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    auto twin = graph_.PutTwin("wtg-1", ParseJson(R"({"$metadata": {"$model": "dtmi:test:Turbine;1"},
        "rotorSpeedLimit": 14.0, "serialNumber": "A1", "nacelle": {"$metadata": {}}})").value(), {});
    ASSERT_TRUE(twin.ok()) << twin.status().ToString();
    Reopen();
  }

  void Reopen() {
    service_.reset();
    auto service = CommandService::Open({.dir = dir_.path(), .sync = false}, graph_, events_, &transport_, clock_);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
  }

  Invocation Invoke(InvokeRequest request) {
    auto inv = service_->Invoke(request);
    EXPECT_TRUE(inv.ok()) << inv.status().ToString();
    return inv.ok() ? *inv : Invocation{};
  }

  // What the device (through the MQTT connector) does when it reports a property.
  void Report(const std::string& patch) {
    auto patched = graph_.PatchTwin("wtg-1", ParseJson(patch).value(), {});
    ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  }
  // What PATCH /digitaltwins/wtg-1 does.
  void PatchThroughApi(const std::string& patch, std::string_view component = "") {
    json::value ops = ParseJson(patch).value();
    {
      CommandService::DesiredWrite scope;
      auto patched = component.empty() ? graph_.PatchTwin("wtg-1", ops, {})
                                       : graph_.PatchComponent("wtg-1", component, ops, {});
      ASSERT_TRUE(patched.ok()) << patched.status().ToString();
    }
    service_->OnPatched("wtg-1", component, ops);
  }

  tsdb::testing::TempDir dir_;
  ManualClock clock_;
  twin::MemoryJournal journal_;
  twin::EventBus events_;
  twin::TwinGraph graph_{journal_, clock_, events_};
  FakeTransport transport_;
  std::unique_ptr<CommandService> service_;
};

TEST_F(CommandServiceTest, DeliveredThenSucceededWithTheDevicesResponse) {
  Invocation inv = Invoke({.twin_id = "wtg-1", .command = "stop", .payload = "high wind", .caller = "key:ops"});
  EXPECT_EQ(inv.status, InvocationStatus::kDelivered);
  ASSERT_EQ(transport_.requests.size(), 1u);
  CommandRequest sent = transport_.last();
  EXPECT_EQ(sent.twin_id, "wtg-1");
  EXPECT_EQ(sent.command, "stop");
  EXPECT_EQ(sent.payload, json::value("high wind"));
  EXPECT_EQ(sent.correlation_id, inv.correlation_id);
  EXPECT_NE(inv.correlation_id, inv.id);

  clock_.Advance(250ms);
  transport_.Respond(inv.correlation_id, 200, ParseJson(R"({"accepted": true, "message": "stopped"})").value());
  Invocation done = service_->Await(inv.id).value();
  EXPECT_EQ(done.status, InvocationStatus::kSucceeded);
  EXPECT_EQ(done.response_status, 200);
  EXPECT_EQ(done.response.at("message"), json::value("stopped"));
  EXPECT_EQ(*done.completed - done.created, 250ms);
  json::object j = InvocationJson(done);
  EXPECT_EQ(j.at("status"), json::value("succeeded"));
  EXPECT_EQ(j.at("caller"), json::value("key:ops"));
}

TEST_F(CommandServiceTest, ANon2xxResponseFailsTheInvocation) {
  Invocation inv = Invoke({.twin_id = "wtg-1", .command = "start"});
  transport_.Respond(inv.correlation_id, 409, "a fault is latched");
  Invocation done = service_->Find("wtg-1", inv.id).value();
  EXPECT_EQ(done.status, InvocationStatus::kFailed);
  EXPECT_EQ(done.response_status, 409);
}

TEST_F(CommandServiceTest, ResponsesAreMatchedByCorrelationIdOnly) {
  Invocation a = Invoke({.twin_id = "wtg-1", .command = "start"});
  Invocation b = Invoke({.twin_id = "wtg-1", .command = "stop"});
  transport_.Respond("not-a-correlation-id", 200, nullptr);
  transport_.Respond(b.correlation_id, 200, "b");
  EXPECT_EQ(service_->Find("wtg-1", a.id)->status, InvocationStatus::kDelivered);
  EXPECT_EQ(service_->Find("wtg-1", b.id)->status, InvocationStatus::kSucceeded);
  // A second response for a finished invocation changes nothing.
  transport_.Respond(b.correlation_id, 500, "late");
  EXPECT_EQ(service_->Find("wtg-1", b.id)->response_status, 200);
}

TEST_F(CommandServiceTest, TimesOutAtItsDeadline) {
  Invocation inv = Invoke({.twin_id = "wtg-1", .command = "start", .timeout = 5s});
  clock_.Advance(4999ms);
  service_->ExpireDue();
  EXPECT_EQ(service_->Find("wtg-1", inv.id)->status, InvocationStatus::kDelivered);
  clock_.Advance(1ms);
  service_->ExpireDue();
  Invocation done = service_->Find("wtg-1", inv.id).value();
  EXPECT_EQ(done.status, InvocationStatus::kTimedOut);
  EXPECT_THAT(done.error, HasSubstr("did not answer"));
  transport_.Respond(inv.correlation_id, 200, nullptr);  // too late
  EXPECT_EQ(service_->Find("wtg-1", inv.id)->status, InvocationStatus::kTimedOut);
}

TEST_F(CommandServiceTest, DefaultTimeoutIsThirtySecondsAndBoundsAreEnforced) {
  Invocation inv = Invoke({.twin_id = "wtg-1", .command = "start"});
  EXPECT_EQ(inv.deadline - inv.created, 30s);
  auto too_long = service_->Invoke({.twin_id = "wtg-1", .command = "start", .timeout = 301s});
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.status().message(), HasSubstr("timeout"));
}

TEST_F(CommandServiceTest, AwaitReturnsWhenTheWorkerTimesItOut) {
  Invocation inv = Invoke({.twin_id = "wtg-1", .command = "start", .timeout = 1s});
  clock_.Advance(2s);
  service_->Start();  // its first tick sees the deadline passed (the clock is not touched after)
  Invocation done = service_->Await(inv.id).value();
  EXPECT_EQ(done.status, InvocationStatus::kTimedOut);
  service_->Stop();
}

TEST_F(CommandServiceTest, ATransportThatCannotSendFailsTheInvocation) {
  transport_.send_status = Status::Unavailable("not connected to the broker");
  Invocation inv = Invoke({.twin_id = "wtg-1", .command = "start"});
  EXPECT_EQ(inv.status, InvocationStatus::kFailed);
  EXPECT_THAT(inv.error, HasSubstr("not connected"));
  EXPECT_FALSE(inv.response_status.has_value());
}

TEST_F(CommandServiceTest, UnknownTwinComponentOrCommandIsNotFound) {
  auto twin = service_->Invoke({.twin_id = "nope", .command = "stop"});
  EXPECT_EQ(twin.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(twin.status().error_code(), "DigitalTwinNotFound");
  auto command = service_->Invoke({.twin_id = "wtg-1", .command = "explode"});
  EXPECT_EQ(command.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(command.status().error_code(), "CommandNotFound");
  auto property = service_->Invoke({.twin_id = "wtg-1", .command = "serialNumber"});
  EXPECT_EQ(property.status().error_code(), "CommandNotFound");
  auto component = service_->Invoke({.twin_id = "wtg-1", .component = "hub", .command = "yaw"});
  EXPECT_EQ(component.status().error_code(), "ComponentNotFound");
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(CommandServiceTest, ABadPayloadIsRefusedNamingTheField) {
  auto wrong_type = service_->Invoke({.twin_id = "wtg-1", .command = "curtail", .payload = "lots"});
  EXPECT_EQ(wrong_type.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_type.status().message(), HasSubstr("powerLimit"));
  auto no_request = service_->Invoke({.twin_id = "wtg-1", .command = "start", .payload = 3});
  EXPECT_EQ(no_request.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_request.status().message(), HasSubstr("takes no request payload"));
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(CommandServiceTest, ComponentCommandsAreValidatedAgainstTheComponentsModel) {
  Invocation inv = Invoke({.twin_id = "wtg-1", .component = "nacelle", .command = "yaw", .payload = 270.0});
  EXPECT_EQ(transport_.last().component, "nacelle");
  EXPECT_EQ(inv.component, "nacelle");
  auto bad = service_->Invoke({.twin_id = "wtg-1", .component = "nacelle", .command = "yaw", .payload = "west"});
  EXPECT_THAT(bad.status().message(), HasSubstr("angle"));
  auto twins_own = service_->Invoke({.twin_id = "wtg-1", .component = "nacelle", .command = "stop"});
  EXPECT_EQ(twins_own.status().error_code(), "CommandNotFound");
}

TEST_F(CommandServiceTest, ListsNewestFirstPerTwin) {
  Invocation first = Invoke({.twin_id = "wtg-1", .command = "stop"});
  clock_.Advance(1s);
  Invocation second = Invoke({.twin_id = "wtg-1", .command = "start"});
  std::vector<Invocation> list = service_->List("wtg-1", 10);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, second.id);
  EXPECT_EQ(list[1].id, first.id);
  EXPECT_EQ(service_->List("wtg-1", 1).size(), 1u);
  EXPECT_TRUE(service_->List("other", 10).empty());
  EXPECT_EQ(service_->Find("other", first.id).status().code(), StatusCode::kNotFound);
}

TEST_F(CommandServiceTest, ARestartKeepsFinishedInvocationsAndMarksOpenOnesUnknown) {
  Invocation done = Invoke({.twin_id = "wtg-1", .command = "stop", .payload = "x"});
  transport_.Respond(done.correlation_id, 200, ParseJson(R"({"accepted": true})").value());
  Invocation open = Invoke({.twin_id = "wtg-1", .command = "start"});
  Reopen();
  Invocation kept = service_->Find("wtg-1", done.id).value();
  EXPECT_EQ(kept.status, InvocationStatus::kSucceeded);
  EXPECT_EQ(kept.request, json::value("x"));
  EXPECT_EQ(kept.response.at("accepted"), json::value(true));
  Invocation interrupted = service_->Find("wtg-1", open.id).value();
  EXPECT_EQ(interrupted.status, InvocationStatus::kUnknown);
  EXPECT_THAT(interrupted.error, HasSubstr("may or may not"));
  // Its response, should it still come, completes nothing.
  transport_.Respond(open.correlation_id, 200, nullptr);
  EXPECT_EQ(service_->Find("wtg-1", open.id)->status, InvocationStatus::kUnknown);
}

TEST_F(CommandServiceTest, ATornLastLineIsIgnoredAtRestart) {
  Invocation done = Invoke({.twin_id = "wtg-1", .command = "start"});
  transport_.Respond(done.correlation_id, 200, nullptr);
  service_.reset();
  {
    std::ofstream out(std::filesystem::path(dir_.path()) / "journal.jsonl", std::ios::app);
    out << R"({"key": "inv:torn", "kind": "invoc)";
  }
  Reopen();
  EXPECT_EQ(service_->Find("wtg-1", done.id)->status, InvocationStatus::kSucceeded);
  EXPECT_EQ(service_->List("wtg-1", 10).size(), 1u);
}

TEST_F(CommandServiceTest, KeepsAtMostMaxInvocations) {
  service_.reset();
  auto service = CommandService::Open({.dir = dir_.path(), .max_invocations = 3, .sync = false}, graph_, events_,
                                      &transport_, clock_);
  ASSERT_TRUE(service.ok());
  service_ = std::move(*service);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1s);
    Invocation inv = Invoke({.twin_id = "wtg-1", .command = "start"});
    transport_.Respond(inv.correlation_id, 200, nullptr);
    ids.push_back(inv.id);
  }
  service_.reset();
  service = CommandService::Open({.dir = dir_.path(), .max_invocations = 3, .sync = false}, graph_, events_,
                                 &transport_, clock_);
  ASSERT_TRUE(service.ok());
  service_ = std::move(*service);
  std::vector<Invocation> kept = service_->List("wtg-1", 10);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].id, ids[4]);
  EXPECT_EQ(kept[2].id, ids[2]);
}

TEST_F(CommandServiceTest, WithoutATransportInvokeIsUnavailable) {
  service_.reset();
  auto service = CommandService::Open({}, graph_, events_, nullptr, clock_);
  ASSERT_TRUE(service.ok());
  auto inv = (*service)->Invoke({.twin_id = "wtg-1", .command = "start"});
  EXPECT_EQ(inv.status().code(), StatusCode::kUnavailable);
}

// ---- desired properties ----

TEST_F(CommandServiceTest, APatchOfAWritablePropertyIsSentAndAcknowledgedByTheReport) {
  PatchThroughApi(R"([{"op": "replace", "path": "/rotorSpeedLimit", "value": 12}])");
  ASSERT_EQ(transport_.desired.size(), 1u);
  EXPECT_EQ(transport_.desired[0].twin_id, "wtg-1");
  EXPECT_EQ(transport_.desired[0].version, 1u);
  EXPECT_EQ(transport_.desired[0].properties.at("rotorSpeedLimit").to_number<double>(), 12.0);
  DesiredState state = service_->DesiredStates("wtg-1").at("rotorSpeedLimit");
  EXPECT_EQ(state.ack_code, 202);
  EXPECT_EQ(state.desired_version, 1u);

  clock_.Advance(2s);
  Report(R"([{"op": "add", "path": "/rotorSpeedLimit", "value": 12.0}])");
  state = service_->DesiredStates("wtg-1").at("rotorSpeedLimit");
  EXPECT_EQ(state.ack_code, 200);
  EXPECT_EQ(state.ack_version, 1u);
  EXPECT_EQ(state.reported_value.to_number<double>(), 12.0);
  EXPECT_EQ(*state.reported_time - state.desired_time, 2s);

  // In GET /digitaltwins/{id}'s $metadata, beside lastUpdateTime.
  json::object twin = graph_.GetTwin("wtg-1").value();
  service_->AddDesiredMetadata("wtg-1", twin);
  const json::object& meta = twin.at("$metadata").at("rotorSpeedLimit").as_object();
  EXPECT_EQ(meta.at("ackCode"), json::value(200));
  EXPECT_EQ(meta.at("desiredVersion"), json::value(1u));
  EXPECT_TRUE(meta.contains("lastUpdateTime"));
  EXPECT_EQ(twin.at("$metadata").at("$model"), json::value("dtmi:test:Turbine;1"));
}

TEST_F(CommandServiceTest, AReportOfAnotherValueLeavesItPendingUntilTheDesiredTimeout) {
  PatchThroughApi(R"([{"op": "replace", "path": "/rotorSpeedLimit", "value": 50}])");
  Report(R"([{"op": "add", "path": "/rotorSpeedLimit", "value": 14.0}])");
  DesiredState state = service_->DesiredStates("wtg-1").at("rotorSpeedLimit");
  EXPECT_EQ(state.ack_code, 202);
  EXPECT_EQ(state.reported_value.to_number<double>(), 14.0);
  clock_.Advance(31s);
  service_->ExpireDue();
  EXPECT_EQ(service_->DesiredStates("wtg-1").at("rotorSpeedLimit").ack_code, 408);
}

TEST_F(CommandServiceTest, ReadOnlyPropertiesAreNotDesiredAndVersionsIncrease) {
  PatchThroughApi(R"([{"op": "replace", "path": "/serialNumber", "value": "B2"}])");
  EXPECT_TRUE(transport_.desired.empty());
  PatchThroughApi(R"([{"op": "replace", "path": "/rotorSpeedLimit", "value": 11}])");
  PatchThroughApi(R"([{"op": "add", "path": "/yawTarget", "value": 90}])", "nacelle");
  ASSERT_EQ(transport_.desired.size(), 2u);
  EXPECT_EQ(transport_.desired[1].version, 2u);
  EXPECT_EQ(transport_.desired[1].properties.at("nacelle").at("yawTarget").to_number<double>(), 90.0);
  EXPECT_EQ(service_->DesiredStates("wtg-1").at("nacelle/yawTarget").desired_version, 2u);
  json::object twin = graph_.GetTwin("wtg-1").value();
  service_->AddDesiredMetadata("wtg-1", twin);
  EXPECT_EQ(twin.at("nacelle").at("$metadata").at("yawTarget").at("ackCode"), json::value(202));
}

TEST_F(CommandServiceTest, AFailedSendIsAck503AndDesiredStateSurvivesARestart) {
  transport_.send_status = Status::Unavailable("broker down");
  PatchThroughApi(R"([{"op": "replace", "path": "/rotorSpeedLimit", "value": 10}])");
  DesiredState state = service_->DesiredStates("wtg-1").at("rotorSpeedLimit");
  EXPECT_EQ(state.ack_code, 503);
  EXPECT_THAT(state.ack_description, HasSubstr("broker down"));
  transport_.send_status = Status::Ok();
  Reopen();
  EXPECT_EQ(service_->DesiredStates("wtg-1").at("rotorSpeedLimit").ack_code, 503);
  PatchThroughApi(R"([{"op": "replace", "path": "/rotorSpeedLimit", "value": 9}])");
  EXPECT_EQ(transport_.desired.back().version, 2u);  // versions continue after the restart
}

TEST_F(CommandServiceTest, AWriterWithoutTheRightToSendGetsAck403AndNothingIsSent) {
  {
    CommandService::DesiredWrite scope;
    ASSERT_TRUE(graph_.PatchTwin("wtg-1", ParseJson(R"([{"op": "replace", "path": "/rotorSpeedLimit", "value": 8}])").value(), {}).ok());
  }
  service_->OnPatched("wtg-1", "", ParseJson(R"([{"op": "replace", "path": "/rotorSpeedLimit", "value": 8}])").value(),
                      Status::PermissionDenied("key:x may not invokeCommands on twin 'wtg-1'"));
  EXPECT_TRUE(transport_.desired.empty());
  DesiredState state = service_->DesiredStates("wtg-1").at("rotorSpeedLimit");
  EXPECT_EQ(state.ack_code, 403);
  EXPECT_THAT(state.ack_description, HasSubstr("invokeCommands"));
}

}  // namespace
}  // namespace doppel::command
