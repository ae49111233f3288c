// The wind farm behind a broker, for the suites that drive the physical side (command_test.cc,
// closed_loop_test.cc — issue #7's seed scenario): child processes with their output in a file
// (`doppel devsim`, `mosquitto_sub`), the MQTT connector configuration the wind-farm example
// needs, its models and twins loaded, a healthy vibration history recorded from the device
// simulator, and the timeline the closed-loop suite prints.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "client/http_client.h"
#include "support/eventually.h"  // Eventually

namespace doppel::testing {

// A child process (argv[0] is the program's path) with stdout and stderr in `log`; SIGTERMed
// (then SIGKILLed after 5 s) and reaped on destruction or Stop().
class ChildProcess {
 public:
  // nullptr when the spawn fails.
  static std::unique_ptr<ChildProcess> Spawn(std::vector<std::string> argv, std::string log);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void Stop();
  std::string Log() const;

 private:
  ChildProcess(pid_t pid, std::string log) : pid_(pid), log_(std::move(log)) {}
  pid_t pid_;
  std::string log_;
};

// `doppel devsim` on the wind-farm example against `broker_url`, with `extra` options appended.
std::unique_ptr<ChildProcess> StartDevsim(const std::string& broker_url, const std::string& client_id,
                                          const std::vector<std::string>& extra, const std::string& log);

// The server configuration of scripts/demo.sh and command_test: one MQTT connector for the
// simulator's telemetry and properties, with commands and desired properties back to it.
std::string WindFarmConnectorConfig(const std::string& broker_url, const std::string& client_id);

// Loads examples/wind-farm's models and twins (not its analytics, rules or envelope: the suite
// puts those itself) with `doppel load`. Empty on success, else what went wrong.
std::string LoadWindFarmTwins(const std::string& url, const std::string& scratch_dir);


// GET `target` as JSON (null when the answer is not 200 JSON).
json::value GetJson(client::HttpClient& http, const std::string& target);
// The members of {"value": [...]} or of a bare array (empty otherwise).
json::array Items(const json::value& answer);
// The value of an unlabelled metric in GET /metrics, or -1.
double Metric(client::HttpClient& http, const std::string& name);
// A number member of an object, or NaN.
double NumberAt(const json::value& object, std::string_view key);
// Nanoseconds since the epoch of an RFC 3339 time (0 when it does not parse).
int64_t TimeNs(const json::value& rfc3339);

// The healthy main bearings' telemetry recorded from the simulator, replayed as history that
// ends just before now, so an anomaly detector attached afterwards starts from a healthy
// baseline (docs/analytics.md, "Warm-up and state") — the device simulator's faults are
// present from its start, so without this a detector would learn the fault as normal.
struct BearingHistory {
  // Line protocol, one line per reading: bearing,twin=<id> vibrationRms=…,bearingTemperature=… <ns>
  std::vector<std::string> lines;
  std::size_t readings = 0;
};
// Parses `mosquitto_sub -v` output of doppel/+/+/telemetry, keeps the main bearings' readings
// and shifts their times so the newest is `end_ns`.
BearingHistory BearingHistoryFrom(const std::string& captured, int64_t end_ns);

// Each step of the loop as the suite saw it: wall time since the fault was injected (when the
// test observed the step, or when it happened if derived) and the simulated time of the
// reading behind it.
class Timeline {
 public:
  explicit Timeline(std::chrono::steady_clock::time_point origin) : origin_(origin) {}
  // Records `step` observed now; `sim_ns` 0 = no simulated time. Answers the wall offset.
  std::chrono::milliseconds Mark(const std::string& step, int64_t sim_ns, const std::string& detail = "");
  // Records a step that happened at `wall` (derived, e.g. from its simulated time).
  void Record(const std::string& step, std::chrono::milliseconds wall, int64_t sim_ns, const std::string& detail = "");
  // Every step in order of wall time.
  void Print(const std::string& title) const;

 private:
  struct Entry {
    std::string step;
    std::chrono::milliseconds wall{};
    int64_t sim_ns = 0;
    std::string detail;
  };
  std::chrono::steady_clock::time_point origin_;
  std::vector<Entry> entries_;
};

}  // namespace doppel::testing
