// The OPC UA command transport (src/command/opcua_command_transport.h) against node-opcua's
// simulated machine: method calls, node writes and desired properties, and what it refuses.
// (In connect_tests, which already links doppel_command, rather than a command_tests of its own.)
#include "command/opcua_command_transport.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "opcua_test_server.h"
#include "support/eventually.h"

namespace doppel::command {
namespace {

using doppel::testing::Eventually;

using namespace std::chrono_literals;
using connect::opcua::NodeId;
using connect::opcua::OpcUaClient;

json::value J(std::string_view text) { return ParseJson(text).value(); }

class OpcUaCommandTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::OpcUaTestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    auto config = connect::opcua::ParseOpcUaConnectorConfig(J(fmt::format(R"({{
        "type": "opcua", "name": "press-1", "endpoint": "{}", "requestTimeoutMs": 2000,
        "nodes": [{{"browsePath": "Machine/Setpoint", "twin": "m1", "property": "targetSpeed", "write": true}},
                  {{"node": "ns=1;s=Temperature", "twin": "m2", "telemetry": "temperature"}}],
        "commands": [
          {{"twin": "m1", "command": "reset", "method": {{"object": "ns=1;s=Machine", "method": "ns=1;s=Reset", "inputs": ["String"]}}}},
          {{"twin": "m1", "command": "resetUntyped", "method": {{"object": "ns=1;s=Machine", "method": "ns=1;s=Reset"}}}},
          {{"twin": "m1", "command": "setSpeed", "write": {{"node": "ns=1;s=Setpoint"}}}},
          {{"twin": "m1", "command": "setState", "write": {{"node": "ns=1;s=State"}}}}
        ]}})",
                                                                           server_->url())));
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    transport_ = OpcUaCommandTransport::Create(*config).value();
    transport_->SetResponseHandler([this](const CommandResponse& response) {
      std::lock_guard lock(mu_);
      responses_[response.correlation_id] = response;
      cv_.notify_all();
    });
    ASSERT_TRUE(transport_->Start().ok());
    ASSERT_TRUE(Eventually([&] { return transport_->connected(); }));
  }

  // Sends and waits for the response.
  CommandResponse Invoke(const std::string& command, const json::value& payload) {
    const std::string id = fmt::format("c{}", ++sent_);
    Status sent = transport_->SendCommand({.twin_id = "m1", .command = command, .correlation_id = id, .payload = payload});
    EXPECT_TRUE(sent.ok()) << sent.ToString();
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 30s, [&] { return responses_.contains(id); });
    return responses_.contains(id) ? responses_[id] : CommandResponse{};
  }

  std::optional<double> ServerNumber(std::string_view node) {
    OpcUaClient client({.endpoint = server_->url()});
    if (!client.Connect().ok()) return std::nullopt;
    const NodeId nodes[] = {NodeId::Parse(node).value()};
    auto values = client.Read(nodes);
    return values.ok() && !values->empty() ? values->front().value.AsNumber() : std::nullopt;
  }

  std::unique_ptr<testing::OpcUaTestServer> server_;
  std::unique_ptr<OpcUaCommandTransport> transport_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, CommandResponse> responses_;  // guarded by mu_
  int sent_ = 0;
};

TEST_F(OpcUaCommandTransportTest, AMethodCallAnswersItsOutputArgument) {
  CommandResponse ok = Invoke("reset", json::value("shift change"));
  EXPECT_EQ(ok.status, 200) << ToJson(ok.payload);
  EXPECT_EQ(ok.payload, json::value(true));
  CommandResponse refused = Invoke("reset", json::value(""));
  EXPECT_EQ(refused.status, 200);
  EXPECT_EQ(refused.payload, json::value(false));  // the machine's own answer
  // Without "inputs" a string still goes as a String.
  EXPECT_EQ(Invoke("resetUntyped", json::value("again")).payload, json::value(true));
}

TEST_F(OpcUaCommandTransportTest, BadArgumentsAre400AndABadStatusIs500WithItsName) {
  CommandResponse wrong_type = Invoke("reset", json::value(42));
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_NE(ToJson(wrong_type.payload).find("expected a string for String"), std::string::npos) << ToJson(wrong_type.payload);
  CommandResponse too_many = Invoke("reset", J(R"(["a", "b"])"));
  EXPECT_EQ(too_many.status, 400);
  // The server refuses the call (no argument where one is required).
  CommandResponse missing = Invoke("resetUntyped", nullptr);
  EXPECT_EQ(missing.status, 500);
  EXPECT_NE(ToJson(missing.payload).find("Bad"), std::string::npos) << ToJson(missing.payload);
}

TEST_F(OpcUaCommandTransportTest, AWriteCommandWritesThePayloadToTheNode) {
  CommandResponse written = Invoke("setSpeed", json::value(1750));
  EXPECT_EQ(written.status, 200) << ToJson(written.payload);
  EXPECT_EQ(ServerNumber("ns=1;s=Setpoint"), 1750.0);
  // State is read-only on the machine: the server's refusal is the answer.
  CommandResponse refused = Invoke("setState", json::value("Stopped"));
  EXPECT_EQ(refused.status, 500);
  EXPECT_NE(ToJson(refused.payload).find("BadNotWritable"), std::string::npos) << ToJson(refused.payload);
}

TEST_F(OpcUaCommandTransportTest, DesiredPropertiesAreWrittenToTheirNodes) {
  ASSERT_TRUE(transport_->SendDesired({.twin_id = "m1", .properties = {{"targetSpeed", 1620.5}}, .version = 1}).ok());
  EXPECT_EQ(ServerNumber("ns=1;s=Setpoint"), 1620.5);
  // An integer JSON value goes as the node's type (Double), not as an Int64 the server refuses.
  ASSERT_TRUE(transport_->SendDesired({.twin_id = "m1", .properties = {{"targetSpeed", 1500}}, .version = 2}).ok());
  EXPECT_EQ(ServerNumber("ns=1;s=Setpoint"), 1500.0);
  Status unmapped = transport_->SendDesired({.twin_id = "m1", .properties = {{"other", 1}}, .version = 3});
  EXPECT_EQ(unmapped.code(), StatusCode::kUnavailable);
  Status wrong = transport_->SendDesired({.twin_id = "m1", .properties = {{"targetSpeed", "fast"}}, .version = 4});
  EXPECT_FALSE(wrong.ok());
}

TEST_F(OpcUaCommandTransportTest, ServesOnlyTheTwinsItMapsCommandsOrWritesFor) {
  EXPECT_TRUE(transport_->Serves("m1"));
  EXPECT_FALSE(transport_->Serves("m2")) << "telemetry only";
  EXPECT_FALSE(transport_->Serves("m3"));
  Status unknown = transport_->SendCommand({.twin_id = "m1", .command = "explode", .correlation_id = "x"});
  EXPECT_EQ(unknown.code(), StatusCode::kUnavailable);
  EXPECT_NE(unknown.message().find("maps no command 'explode'"), std::string::npos);
  std::string metrics;
  transport_->RenderMetrics(metrics);
  EXPECT_NE(metrics.find("doppel_opcua_command_transport_connected{connector=\"press-1\"} 1"), std::string::npos);
}

TEST_F(OpcUaCommandTransportTest, ASendWhileTheServerIsDownFailsAtOnce) {
  server_->Kill();
  ASSERT_TRUE(Eventually([&] { return !transport_->connected(); }));
  Status sent = transport_->SendCommand({.twin_id = "m1", .command = "reset", .correlation_id = "y", .payload = "z"});
  EXPECT_EQ(sent.code(), StatusCode::kUnavailable);
  EXPECT_EQ(transport_->SendDesired({.twin_id = "m1", .properties = {{"targetSpeed", 1.0}}}).code(),
            StatusCode::kUnavailable);
  transport_->Stop();
  transport_->Stop();  // idempotent
}

}  // namespace
}  // namespace doppel::command
