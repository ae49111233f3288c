#include "wind_farm_rig.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <thread>

#include "base/clock.h"
#include "server_process.h"

extern char** environ;

namespace doppel::testing {

namespace fs = std::filesystem;

std::unique_ptr<ChildProcess> ChildProcess::Spawn(std::vector<std::string> argv, std::string log) {
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return nullptr;
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, std::move(log)));
}

ChildProcess::~ChildProcess() { Stop(); }

void ChildProcess::Stop() {
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
  pid_ = -1;
}

std::string ChildProcess::Log() const {
  std::ifstream in(log_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::unique_ptr<ChildProcess> StartDevsim(const std::string& broker_url, const std::string& client_id,
                                          const std::vector<std::string>& extra, const std::string& log) {
  std::vector<std::string> argv = {DOPPEL_BINARY, "devsim", "--broker", broker_url, "--client-id", client_id,
                                   "--twins", std::string(DOPPEL_SOURCE_DIR) + "/examples/wind-farm/twins.json",
                                   "--log-level", "info"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return ChildProcess::Spawn(std::move(argv), log);
}

std::string WindFarmConnectorConfig(const std::string& broker_url, const std::string& client_id) {
  // The site level of the topics is learned from where each device publishes ("learn");
  // "values" is the fallback for a twin not heard from.
  return fmt::format(R"({{"connectors": [{{"name": "windfarm", "broker": "{}", "clientId": "{}", "mappings": [
      {{"topic": "doppel/+/{{twinId}}/telemetry", "timestamp": {{"field": "ts", "format": "rfc3339"}}}},
      {{"topic": "doppel/+/{{twinId}}/properties", "target": "properties"}}],
    "commands": {{
      "request": "doppel/{{site}}/{{twinId}}/commands/{{commandName}}",
      "response": "doppel/+/{{twinId}}/commands/{{commandName}}/response",
      "desired": "doppel/{{site}}/{{twinId}}/desired",
      "learn": ["doppel/{{site}}/{{twinId}}/telemetry", "doppel/{{site}}/{{twinId}}/properties"],
      "values": {{"site": "kestrel-ridge"}}}}}}]}})",
                     broker_url, client_id);
}

std::string LoadWindFarmTwins(const std::string& url, const std::string& scratch_dir) {
  // A directory holding only the example's models and twins: `doppel load` of the whole example
  // would also put its detectors, rules and envelope, which the suite chooses itself.
  const fs::path example = fs::path(DOPPEL_SOURCE_DIR) / "examples" / "wind-farm";
  const fs::path dir = fs::path(scratch_dir) / "wind-farm";
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::create_directory_symlink(example / "models", dir / "models", ec);
  if (ec) return "cannot link the models: " + ec.message();
  fs::create_symlink(example / "twins.json", dir / "twins.json", ec);
  if (ec) return "cannot link twins.json: " + ec.message();
  CommandResult loaded = RunDoppel({"load", dir.string(), "--url", url});
  if (loaded.exit_code != 0) return fmt::format("doppel load exited {}: {}{}", loaded.exit_code, loaded.out, loaded.err);
  return "";
}

json::value GetJson(client::HttpClient& http, const std::string& target) {
  auto r = http.Send("GET", target, {}, {});
  if (!r.ok() || r->status != 200) return nullptr;
  auto parsed = ParseJson(r->body);
  return parsed.ok() ? std::move(parsed).value() : json::value(nullptr);
}

json::array Items(const json::value& answer) {
  if (answer.is_array()) return answer.as_array();
  if (answer.is_object()) {
    if (const auto* value = answer.as_object().if_contains("value"); value && value->is_array()) return value->as_array();
  }
  return {};
}

double Metric(client::HttpClient& http, const std::string& name) {
  auto r = http.Send("GET", "/metrics", {}, {});
  if (!r.ok()) return -1;
  const std::size_t at = r->body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(r->body.substr(at + name.size() + 2));
}

double NumberAt(const json::value& object, std::string_view key) {
  if (!object.is_object()) return std::numeric_limits<double>::quiet_NaN();
  const auto* v = object.as_object().if_contains(key);
  if (v == nullptr || !(v->is_double() || v->is_int64() || v->is_uint64())) return std::numeric_limits<double>::quiet_NaN();
  return v->to_number<double>();
}

int64_t TimeNs(const json::value& rfc3339) {
  if (!rfc3339.is_string()) return 0;
  auto t = ParseRfc3339(rfc3339.as_string());
  return t.ok() ? std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch()).count() : 0;
}

BearingHistory BearingHistoryFrom(const std::string& captured, int64_t end_ns) {
  struct Point {
    std::string twin;
    int64_t time_ns = 0;
    double vibration = 0, temperature = 0;
  };
  std::vector<Point> points;
  std::istringstream in(captured);
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    const std::string topic = line.substr(0, space);  // doppel/<site>/<twin>/telemetry
    const std::size_t twin_end = topic.rfind('/');
    const std::size_t twin_begin = topic.rfind('/', twin_end - 1);
    if (twin_end == std::string::npos || twin_begin == std::string::npos) continue;
    const std::string twin = topic.substr(twin_begin + 1, twin_end - twin_begin - 1);
    if (!twin.ends_with("-mainbearing")) continue;
    auto payload = ParseJson(line.substr(space + 1));
    if (!payload.ok() || !payload->is_object()) continue;
    const double vibration = NumberAt(*payload, "vibrationRms"), temperature = NumberAt(*payload, "bearingTemperature");
    const int64_t time_ns = TimeNs(payload->as_object().contains("ts") ? payload->at("ts") : json::value());
    if (std::isnan(vibration) || std::isnan(temperature) || time_ns == 0) continue;
    points.push_back({twin, time_ns, vibration, temperature});
  }
  BearingHistory history;
  if (points.empty()) return history;
  int64_t newest = 0;
  for (const Point& p : points) newest = std::max(newest, p.time_ns);
  const int64_t shift = end_ns - newest;
  for (const Point& p : points) {
    history.lines.push_back(fmt::format("bearing,twin={} vibrationRms={},bearingTemperature={} {}", p.twin, p.vibration,
                                        p.temperature, p.time_ns + shift));
  }
  history.readings = points.size();
  return history;
}

std::chrono::milliseconds Timeline::Mark(const std::string& step, int64_t sim_ns, const std::string& detail) {
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - origin_);
  Record(step, wall, sim_ns, detail);
  return wall;
}

void Timeline::Record(const std::string& step, std::chrono::milliseconds wall, int64_t sim_ns,
                      const std::string& detail) {
  entries_.push_back({step, wall, sim_ns, detail});
}

void Timeline::Print(const std::string& title) const {
  std::printf("\n%s\n  %-52s %10s  %-24s %s\n", title.c_str(), "step", "wall (s)", "simulated time", "detail");
  std::vector<Entry> entries = entries_;
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.wall < b.wall; });
  for (const Entry& e : entries) {
    const std::string sim = e.sim_ns == 0 ? "-" : FormatRfc3339(TimePoint(std::chrono::nanoseconds(e.sim_ns)));
    std::printf("  %-52s %10.2f  %-24s %s\n", e.step.c_str(), static_cast<double>(e.wall.count()) / 1000.0,
                sim.substr(0, 19).c_str(), e.detail.c_str());
  }
  std::fflush(stdout);
}

}  // namespace doppel::testing
