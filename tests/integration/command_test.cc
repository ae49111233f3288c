// Commands and desired properties end to end (docs/commands.md): the real binary, a real
// Mosquitto, and the real device simulator (`doppel devsim`) simulating the wind-farm example.
// A command invoked through the API reaches the simulated turbine over MQTT and its answer
// completes the invocation; a rotor-speed limit written with PATCH reaches it as a desired
// property and its report acknowledges it in the twin's $metadata.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "server_process.h"
#include "support/mosquitto_broker.h"
#include "test_models.h"

extern char** environ;

namespace doppel::testing {
namespace {

namespace fs = std::filesystem;

// Polls `probe` until it returns true or `timeout` passes.
bool Eventually(const std::function<bool()>& probe, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return probe();
}

// `doppel devsim` as a child process; SIGTERM and reaped on destruction. Its log goes to a file.
class Devsim {
 public:
  Devsim(const std::vector<std::string>& args, std::string log) : log_(std::move(log)) {
    std::vector<std::string> argv = {DOPPEL_BINARY, "devsim"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, DOPPEL_BINARY, &actions, nullptr, cargv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Devsim() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  bool running() const { return pid_ > 0 && kill(pid_, 0) == 0; }
  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The wind-farm example's models (one batch) and twins, through the API.
void LoadWindFarm(client::HttpClient& http) {
  const fs::path root = fs::path(DOPPEL_SOURCE_DIR) / "examples" / "wind-farm";
  json::array models;
  for (const auto& entry : fs::directory_iterator(root / "models")) {
    if (entry.path().extension() == ".json") models.push_back(Json(ReadText(entry.path())));
  }
  auto added = Send(http, "POST", "/models", ToJson(models));
  ASSERT_EQ(added.status, 201) << added.body;
  json::value twins = Json(ReadText(root / "twins.json"));
  for (const json::value& twin : twins.at("twins").as_array()) {
    std::string id(twin.at("$dtId").as_string());
    auto put = Send(http, "PUT", "/digitaltwins/" + id, ToJson(twin));
    ASSERT_EQ(put.status, 200) << id << ": " << put.body;
  }
  for (const json::value& rel : twins.at("relationships").as_array()) {
    std::string path = "/digitaltwins/" + std::string(rel.at("$sourceId").as_string()) + "/relationships/" +
                       std::string(rel.at("$relationshipId").as_string());
    auto put = Send(http, "PUT", path, ToJson(rel));
    ASSERT_EQ(put.status, 200) << path << ": " << put.body;
  }
}

double MetricValue(const std::string& metrics, const std::string& name) {
  std::size_t at = metrics.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(metrics.substr(at + name.size() + 2));
}

class CommandEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = MosquittoBroker::Start();
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(*broker);
    config_ = dir_.Sub("doppel.json");
    const std::string& config = config_;
    // As scripts/demo.sh: the site level of the topics is learned from where each device
    // publishes; "values" is the fallback for a twin not heard from.
    WriteFile(config, R"({"connectors": [{"name": "it", "broker": ")" + broker_->url() +
                          R"(", "clientId": "doppel-cmd-it", "mappings": [
        {"topic": "doppel/+/{twinId}/telemetry", "timestamp": {"field": "ts", "format": "rfc3339"}},
        {"topic": "doppel/+/{twinId}/properties", "target": "properties"}],
      "commands": {
        "request": "doppel/{site}/{twinId}/commands/{commandName}",
        "response": "doppel/+/{twinId}/commands/{commandName}/response",
        "desired": "doppel/{site}/{twinId}/desired",
        "learn": ["doppel/{site}/{twinId}/telemetry", "doppel/{site}/{twinId}/properties"],
        "values": {"site": "kestrel-ridge"}}}]})");
    auto server = ServerProcess::Start(dir_.Sub("data"), {"--config", config});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    http_ = Connect(server_->url());
    LoadWindFarm(*http_);
    // A turbine Doppel knows and the simulator does not.
    auto ghost = Send(*http_, "PUT", "/digitaltwins/ghost-wtg",
                      R"({"$metadata": {"$model": "dtmi:doppel:example:windfarm:WindTurbine;1"},
                          "nacelle": {"$metadata": {}}})");
    ASSERT_EQ(ghost.status, 200) << ghost.body;
    ASSERT_TRUE(Eventually([&] {
      std::string metrics = Send(*http_, "GET", "/metrics").body;
      return MetricValue(metrics, "doppel_command_transport_subscribed") == 1;
    })) << server_->Output();
    devsim_ = std::make_unique<Devsim>(
        std::vector<std::string>{"--broker", broker_->url(), "--client-id", "doppel-devsim-cmd-it", "--twins",
                                 std::string(DOPPEL_SOURCE_DIR) + "/examples/wind-farm/twins.json", "--log-level",
                                 "info"},
        dir_.Sub("devsim.log"));
    // Learned from its telemetry: Doppel now knows on which site each turbine listens.
    ASSERT_TRUE(Eventually([&] {
      return MetricValue(Send(*http_, "GET", "/metrics").body, "doppel_command_transport_learned_twins") >= 4;
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
  std::unique_ptr<Devsim> devsim_;
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
