// Commands and desired properties end to end (docs/commands.md): the real binary, a real
// Mosquitto, and the real device simulator (`doppel devsim`) simulating the wind-farm example.
// A command invoked through the API reaches the simulated turbine over MQTT and its answer
// completes the invocation; a rotor-speed limit written with PATCH reaches it as a desired
// property and its report acknowledges it in the twin's $metadata.
#include <gtest/gtest.h>

#include <chrono>

#include "server_process.h"
#include "support/mosquitto_broker.h"
#include "test_models.h"
#include "wind_farm_rig.h"

namespace doppel::testing {
namespace {

class CommandEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = MosquittoBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
    config_ = dir_.Sub("doppel.json");
    WriteFile(config_, WindFarmConnectorConfig(broker_->url(), "doppel-cmd-it"));
    auto server = ServerProcess::Start(dir_.Sub("data"), {"--config", config_});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    http_ = Connect(server_->url());
    ASSERT_EQ(LoadWindFarmTwins(server_->url(), dir_.Sub("load")), "");
    // A turbine Doppel knows and the simulator does not.
    auto ghost = Send(*http_, "PUT", "/digitaltwins/ghost-wtg",
                      R"({"$metadata": {"$model": "dtmi:doppel:example:windfarm:WindTurbine;1"},
                          "nacelle": {"$metadata": {}}})");
    ASSERT_EQ(ghost.status, 200) << ghost.body;
    ASSERT_TRUE(Eventually([&] { return Metric(*http_, "doppel_command_transport_subscribed") == 1; }))
        << server_->Output();
    devsim_ = StartDevsim(broker_->url(), "doppel-devsim-cmd-it", {}, dir_.Sub("devsim.log"));
    ASSERT_NE(devsim_, nullptr);
    // Learned from its telemetry: Doppel now knows on which site each turbine listens.
    ASSERT_TRUE(Eventually([&] {
      return Metric(*http_, "doppel_command_transport_learned_twins") >= 4;
    })) << devsim_->Log();
  }

  json::value Invoke(const std::string& twin, const std::string& command, const std::string& body = "") {
    auto r = Send(*http_, "POST", "/digitaltwins/" + twin + "/commands/" + command + "?timeout=10s", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }

  TempDir dir_;
  std::string config_;
  std::unique_ptr<MosquittoBroker> broker_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<client::HttpClient> http_;
  std::unique_ptr<ChildProcess> devsim_;
};

TEST_F(CommandEndToEndTest, StopAndStartSucceedWithTheSimulatorsAnswer) {
  json::value stopped = Invoke("kr-wtg-01", "stop", R"("integration test")");
  EXPECT_EQ(stopped.at("status"), json::value("succeeded")) << ToJson(stopped) << devsim_->Log();
  EXPECT_EQ(stopped.at("responseStatus"), json::value(200));
  EXPECT_EQ(stopped.at("response").at("accepted"), json::value(true));
  EXPECT_EQ(stopped.at("response").at("message"), json::value("stopped"));
  EXPECT_EQ(stopped.at("request"), json::value("integration test"));
  // The turbine obeys: it reports itself stopped, through the connector.
  EXPECT_TRUE(Eventually([&] {
    return Json(Send(*http_, "GET", "/digitaltwins/kr-wtg-01").body).at("state") == json::value("stopped");
  })) << Send(*http_, "GET", "/digitaltwins/kr-wtg-01").body;

  json::value started = Invoke("kr-wtg-01", "start");
  EXPECT_EQ(started.at("status"), json::value("succeeded")) << ToJson(started);
  EXPECT_EQ(started.at("responseStatus"), json::value(200));

  // Both are kept, newest first, and readable one by one.
  json::value list = Json(Send(*http_, "GET", "/digitaltwins/kr-wtg-01/commands").body);
  ASSERT_EQ(list.at("value").as_array().size(), 2u);
  EXPECT_EQ(list.at("value").at(0).at("command"), json::value("start"));
  std::string id(stopped.at("invocationId").as_string());
  auto one = Send(*http_, "GET", "/digitaltwins/kr-wtg-01/commands/invocations/" + id);
  EXPECT_EQ(Json(one.body).at("status"), json::value("succeeded"));
}

TEST_F(CommandEndToEndTest, ARotorSpeedLimitWrittenWithPatchIsAcknowledgedByTheSimulatorsReport) {
  auto patched = Send(*http_, "PATCH", "/digitaltwins/kr-wtg-02",
                      R"([{"op": "replace", "path": "/rotorSpeedLimit", "value": 10.5}])");
  ASSERT_EQ(patched.status, 204) << patched.body;
  json::value meta;
  ASSERT_TRUE(Eventually([&] {
    meta = Json(Send(*http_, "GET", "/digitaltwins/kr-wtg-02").body).at("$metadata").at("rotorSpeedLimit");
    return meta.at("ackCode") == json::value(200);
  })) << ToJson(meta) << devsim_->Log();
  EXPECT_EQ(meta.at("reportedValue").to_number<double>(), 10.5);
  EXPECT_EQ(meta.at("desiredValue").to_number<double>(), 10.5);
  EXPECT_EQ(meta.at("ackVersion"), meta.at("desiredVersion"));
  EXPECT_TRUE(meta.as_object().contains("lastUpdateTime"));
  EXPECT_EQ(Json(Send(*http_, "GET", "/digitaltwins/kr-wtg-02").body).at("rotorSpeedLimit").to_number<double>(), 10.5);
}

TEST_F(CommandEndToEndTest, UnknownTwinsAndCommandsAreRefusedOrAnsweredAsDocumented) {
  // Unknown to Doppel: 404 before anything is sent.
  auto nowhere = Send(*http_, "POST", "/digitaltwins/no-such-twin/commands/stop");
  EXPECT_EQ(nowhere.status, 404);
  EXPECT_EQ(ErrorCode(nowhere), "DigitalTwinNotFound");
  // Not a command of the model: 404 CommandNotFound; a wrong payload: 400 naming the field.
  auto unknown = Send(*http_, "POST", "/digitaltwins/kr-wtg-01/commands/selfDestruct");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(ErrorCode(unknown), "CommandNotFound");
  auto bad = Send(*http_, "POST", "/digitaltwins/kr-wtg-01/commands/curtail", R"("lots")");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(ErrorMessage(bad).find("powerLimit"), std::string::npos) << bad.body;
  // Known to Doppel, unknown to the simulator: it answers 404, so the invocation failed.
  json::value ghost = Invoke("ghost-wtg", "stop");
  EXPECT_EQ(ghost.at("status"), json::value("failed")) << ToJson(ghost);
  EXPECT_EQ(ghost.at("responseStatus"), json::value(404));
  // The simulator is gone: the request reaches the broker (delivered) and nobody answers.
  devsim_.reset();
  auto r = Send(*http_, "POST", "/digitaltwins/kr-wtg-01/commands/start?timeout=1500ms");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).at("status"), json::value("timedOut")) << r.body;
  EXPECT_TRUE(Json(r.body).as_object().contains("deliveredTime")) << r.body;
}

TEST_F(CommandEndToEndTest, AfterAKillAnInvocationInFlightIsUnknownAndFinishedOnesAreKept) {
  json::value done = Invoke("kr-wtg-01", "start");
  ASSERT_EQ(done.at("status"), json::value("succeeded")) << ToJson(done);
  devsim_.reset();  // nobody will answer the next one
  auto pending = Send(*http_, "POST", "/digitaltwins/kr-wtg-01/commands/stop?wait=false&timeout=5m");
  ASSERT_EQ(pending.status, 202) << pending.body;
  EXPECT_EQ(Json(pending.body).at("status"), json::value("delivered"));
  server_->Kill();

  auto restarted = ServerProcess::Start(dir_.Sub("data"), {"--config", config_});
  ASSERT_TRUE(restarted.ok()) << restarted.status().ToString();
  server_ = std::move(*restarted);
  http_ = Connect(server_->url());
  const std::string base = "/digitaltwins/kr-wtg-01/commands/invocations/";
  json::value lost = Json(Send(*http_, "GET", base + std::string(Json(pending.body).at("invocationId").as_string())).body);
  EXPECT_EQ(lost.at("status"), json::value("unknown")) << ToJson(lost);
  EXPECT_EQ(lost.at("request"), json::value(nullptr));
  json::value kept = Json(Send(*http_, "GET", base + std::string(done.at("invocationId").as_string())).body);
  EXPECT_EQ(kept.at("status"), json::value("succeeded"));
  EXPECT_EQ(kept.at("response").at("message"), done.at("response").at("message"));
}

}  // namespace
}  // namespace doppel::testing
