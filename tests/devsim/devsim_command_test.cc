// `doppel devsim` as a process: it publishes the demo twins on the contract topics, stops
// cleanly on SIGTERM or --duration, and prints its summary line. Skips when the doppel binary
// has not been built (devsim_tests does not depend on it).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mqtt_listener.h"
#include "support/mosquitto_broker.h"

namespace doppel::devsim {
namespace {

using testing::Listener;

class DevsimProcess {
 public:
  // Starts `doppel devsim ARGS...`, its stderr into a scratch file.
  explicit DevsimProcess(std::vector<std::string> args) {
    log_ = (std::filesystem::temp_directory_path() / ("devsim-" + std::to_string(getpid()) + ".log")).string();
    args.insert(args.begin(), {DOPPEL_BINARY, "devsim"});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) dup2(fd, STDERR_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~DevsimProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove(log_);
  }

  // Sends `signal` (0: none) and returns the exit code.
  int Finish(int signal) {
    if (signal != 0) kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

bool BinaryBuilt() { return std::filesystem::exists(DOPPEL_BINARY); }

TEST(DevsimCommandTest, SimulatesTheDemoTwinsUntilSigterm) {
  if (!BinaryBuilt()) GTEST_SKIP() << "doppel not built: " << DOPPEL_BINARY;
  auto broker = doppel::testing::MosquittoBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  Listener listener((*broker)->port(), "listener-cli");
  const std::string src = DOPPEL_SOURCE_DIR;
  DevsimProcess devsim({"--broker", (*broker)->url(), "--twins", src + "/examples/wind-farm/twins.json",
                        "--twins", src + "/examples/production-line/twins.json", "--fault", "kr-wtg-03",
                        "--rate", "10", "--seed", "3"});
  ASSERT_TRUE(listener.WaitFor("doppel/kestrel-ridge/kr-wtg-03-mainbearing/telemetry"));
  ASSERT_TRUE(listener.WaitFor("doppel/halden/halden-l2-op10-robot/telemetry"));
  listener.Publish("doppel/kestrel-ridge/kr-wtg-04/commands/stop", json::object{{"correlationId", "x"}});
  ASSERT_TRUE(listener.WaitFor("doppel/kestrel-ridge/kr-wtg-04/commands/stop/response"));
  EXPECT_EQ(devsim.Finish(SIGTERM), 0) << devsim.Log();
  const std::string log = devsim.Log();
  EXPECT_NE(log.find("messages published"), std::string::npos) << log;
  EXPECT_NE(log.find("1 commands handled"), std::string::npos) << log;
}

TEST(DevsimCommandTest, SyntheticFleetStopsAfterTheDuration) {
  if (!BinaryBuilt()) GTEST_SKIP() << "doppel not built: " << DOPPEL_BINARY;
  auto broker = doppel::testing::MosquittoBroker::Start();
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  Listener listener((*broker)->port(), "listener-synthetic");
  DevsimProcess devsim({"--broker", (*broker)->url(), "--turbines", "3", "--machines", "2",
                        "--rate", "5", "--duration", "1"});
  EXPECT_EQ(devsim.Finish(0), 0) << devsim.Log();
  // 5 ticks × (3 turbines × 4 twins + 2 machines) telemetry messages, plus the properties.
  EXPECT_NE(devsim.Log().find("5 ticks"), std::string::npos) << devsim.Log();
  EXPECT_TRUE(listener.WaitFor("doppel/sim-farm/wtg-0003-gearbox/telemetry"));
  EXPECT_TRUE(listener.WaitFor("doppel/sim-plant/m-0002/properties"));
}

TEST(DevsimCommandTest, RefusesToStartWithNothingToSimulate) {
  if (!BinaryBuilt()) GTEST_SKIP() << "doppel not built: " << DOPPEL_BINARY;
  DevsimProcess devsim({"--broker", "mqtt://127.0.0.1:1"});
  EXPECT_EQ(devsim.Finish(0), 2);
  EXPECT_NE(devsim.Log().find("nothing to simulate"), std::string::npos) << devsim.Log();
}

}  // namespace
}  // namespace doppel::devsim
