#include "command/routing_command_transport.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace doppel::command {
namespace {

// Records what reaches it, answers with `answer`.
class RecordingTransport final : public CommandTransport {
 public:
  explicit RecordingTransport(Status answer = Status::Ok()) : answer_(std::move(answer)) {}
  Status SendCommand(const CommandRequest& request) override {
    commands.push_back(request.twin_id);
    return answer_;
  }
  Status SendDesired(const DesiredUpdate& update) override {
    desired.push_back(update.twin_id);
    return answer_;
  }
  void SetResponseHandler(std::function<void(const CommandResponse&)> h) override { handler = std::move(h); }

  std::vector<std::string> commands;
  std::vector<std::string> desired;
  std::function<void(const CommandResponse&)> handler;

 private:
  Status answer_;
};

TEST(RoutingCommandTransportTest, EachTwinGoesToTheFirstRouteThatServesItElseTheFallback) {
  RecordingTransport opcua, modbus, mqtt;
  RoutingCommandTransport routes;
  routes.Add(&opcua, [](std::string_view twin) { return twin.starts_with("press-"); });
  routes.Add(&modbus, [](std::string_view twin) { return twin.starts_with("press-") || twin == "pump-1"; });
  routes.SetFallback(&mqtt);

  ASSERT_TRUE(routes.SendCommand({.twin_id = "press-1", .command = "reset", .correlation_id = "c1"}).ok());
  ASSERT_TRUE(routes.SendDesired({.twin_id = "pump-1", .version = 1}).ok());
  ASSERT_TRUE(routes.SendCommand({.twin_id = "kr-wtg-01", .command = "stop", .correlation_id = "c2"}).ok());

  EXPECT_EQ(opcua.commands, std::vector<std::string>{"press-1"});  // first match wins over modbus
  EXPECT_TRUE(modbus.commands.empty());
  EXPECT_EQ(modbus.desired, std::vector<std::string>{"pump-1"});
  EXPECT_EQ(mqtt.commands, std::vector<std::string>{"kr-wtg-01"});
}

TEST(RoutingCommandTransportTest, ATwinNoConnectorServesIsRefusedByName) {
  RecordingTransport opcua;
  RoutingCommandTransport routes;
  routes.Add(&opcua, [](std::string_view twin) { return twin == "press-1"; });
  Status refused = routes.SendCommand({.twin_id = "kr-wtg-01", .command = "stop", .correlation_id = "c"});
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.message(), "no connector carries commands for twin 'kr-wtg-01'");
  EXPECT_EQ(routes.SendDesired({.twin_id = "kr-wtg-01"}).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(opcua.commands.empty());
}

TEST(RoutingCommandTransportTest, ResponsesOfEveryTransportReachTheOneHandlerAndErrorsPassThrough) {
  RecordingTransport opcua(Status::Unavailable("server not connected")), mqtt;
  RoutingCommandTransport routes;
  routes.Add(&opcua, [](std::string_view twin) { return twin == "press-1"; });
  routes.SetFallback(&mqtt);
  std::vector<std::string> answered;
  routes.SetResponseHandler([&](const CommandResponse& r) { answered.push_back(r.correlation_id); });
  ASSERT_TRUE(opcua.handler && mqtt.handler);
  opcua.handler({.correlation_id = "a", .status = 200});
  mqtt.handler({.correlation_id = "b", .status = 500});
  EXPECT_EQ(answered, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(routes.SendCommand({.twin_id = "press-1", .command = "reset", .correlation_id = "c"}).message(),
            "server not connected");
}

}  // namespace
}  // namespace doppel::command
