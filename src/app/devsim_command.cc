#include "app/devsim_command.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "devsim/fleet.h"
#include "devsim/mqtt_link.h"

namespace doppel::app {
namespace {

struct DevsimFlags {
  std::string broker = "mqtt://127.0.0.1:1883";
  std::vector<std::string> twins;
  int turbines = 0;
  int machines = 0;
  double rate_hz = 1.0;
  uint64_t seed = 1;
  std::vector<std::string> faults;
  double duration_s = 0.0;
  double speed = 1.0;
  int telemetry_qos = 0;
  double scrap_rate = 0.02;
  std::string client_id;
  std::string log_level = "info";
};

// Set from the signal handler; the link's loop polls it at least every 100 ms.
std::atomic<bool> g_stop{false};

extern "C" void RequestStop(int) { g_stop.store(true); }

Result<json::value> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ParseJson(text.str());
  if (!parsed.ok()) return Status::InvalidArgument(path + ": " + parsed.status().message());
  return parsed;
}

Result<devsim::FleetSpec> BuildSpec(const DevsimFlags& flags) {
  devsim::FleetSpec spec;
  if (!flags.twins.empty()) {
    std::vector<json::value> documents;
    for (const std::string& path : flags.twins) {
      DOPPEL_ASSIGN_OR_RETURN(json::value document, ReadJsonFile(path));
      documents.push_back(std::move(document));
    }
    DOPPEL_ASSIGN_OR_RETURN(spec, devsim::FleetSpecFromTwins(documents));
  }
  devsim::FleetSpec synthetic = devsim::SyntheticFleetSpec(flags.turbines, flags.machines);
  for (auto& t : synthetic.turbines) spec.turbines.push_back(std::move(t));
  for (auto& m : synthetic.machines) spec.machines.push_back(std::move(m));
  if (spec.turbines.empty() && spec.machines.empty()) {
    return Status::InvalidArgument("nothing to simulate: give --twins, --turbines or --machines");
  }
  for (const std::string& id : flags.faults) DOPPEL_RETURN_IF_ERROR(devsim::MarkBearingFault(spec, id));
  return spec;
}

int RunDevsim(const DevsimFlags& flags) {
  if (spdlog::get("devsim") == nullptr) spdlog::set_default_logger(spdlog::stderr_color_mt("devsim"));
  spdlog::set_level(spdlog::level::from_str(flags.log_level));
  auto broker = devsim::ParseBrokerUrl(flags.broker);
  if (!broker.ok()) {
    std::cerr << "error: " << broker.status().message() << "\n";
    return 2;
  }
  auto spec = BuildSpec(flags);
  if (!spec.ok()) {
    std::cerr << "error: " << spec.status().message() << "\n";
    return 2;
  }
  devsim::FleetOptions fleet_options;
  fleet_options.seed = flags.seed;
  fleet_options.machine.scrap_rate = flags.scrap_rate;
  SystemClock& clock = SystemClock::Instance();
  devsim::Fleet fleet(std::move(spec).value(), fleet_options, clock.Now());

  devsim::LinkOptions link_options;
  link_options.broker = *broker;
  link_options.client_id = flags.client_id;
  link_options.telemetry_qos = flags.telemetry_qos;
  link_options.rate_hz = flags.rate_hz;
  link_options.speed = flags.speed;
  link_options.duration_s = flags.duration_s;
  auto link = devsim::FleetLink::Create(fleet, link_options, clock);
  if (!link.ok()) {
    std::cerr << "error: " << link.status().message() << "\n";
    return 2;
  }
  spdlog::info("devsim: {} turbines, {} machines on {}; {} Hz, speed {}x, seed {}",
               fleet.turbines().size(), fleet.machines().size(), flags.broker, flags.rate_hz,
               flags.speed, flags.seed);
  g_stop.store(false);
  std::signal(SIGINT, RequestStop);
  std::signal(SIGTERM, RequestStop);
  Status status = (*link)->Run(g_stop);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  const devsim::LinkStats& stats = (*link)->stats();
  std::cerr << "devsim: " << stats.ticks << " ticks, " << stats.published << " messages published, "
            << stats.dropped << " dropped, " << stats.commands_handled << " commands handled, "
            << stats.desired_applied << " desired updates applied, " << stats.connects
            << " connections\n";
  if (!status.ok()) {
    std::cerr << "error: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

void AddDevsimCommand(CLI::App& app, const std::function<void(std::function<int()>)>& set_action) {
  auto flags = std::make_shared<DevsimFlags>();
  auto* devsim = app.add_subcommand(
      "devsim", "Simulate wind turbines and production machines over MQTT (until SIGINT/SIGTERM)");
  devsim->add_option("--broker", flags->broker, "MQTT broker, mqtt://host:port")->capture_default_str();
  devsim->add_option("--twins", flags->twins,
                     "twins.json to simulate (WindTurbine and its parts, Machine, CncMachine, "
                     "Robot); repeatable")
      ->check(CLI::ExistingFile);
  devsim->add_option("--turbines", flags->turbines, "Synthetic turbines wtg-0001.. (site sim-farm)")
      ->check(CLI::NonNegativeNumber);
  devsim->add_option("--machines", flags->machines, "Synthetic machines m-0001.. (site sim-plant)")
      ->check(CLI::NonNegativeNumber);
  devsim->add_option("--rate", flags->rate_hz, "Ticks per second: one telemetry message per twin per tick")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1000.0));
  devsim->add_option("--seed", flags->seed, "Random seed: the same seed replays the same signals")
      ->capture_default_str();
  devsim->add_option("--fault", flags->faults,
                     "Turbine (or main bearing) id with a developing bearing fault; repeatable");
  devsim->add_option("--duration", flags->duration_s, "Stop after this many real seconds (0: run until stopped)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  devsim->add_option("--speed", flags->speed, "Simulated seconds per real second")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  devsim->add_option("--telemetry-qos", flags->telemetry_qos, "QoS of telemetry messages (0 or 1)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1));
  devsim->add_option("--scrap-rate", flags->scrap_rate, "Probability that a machine's part is scrap")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  devsim->add_option("--client-id", flags->client_id, "MQTT client id (default doppel-devsim-<pid>)");
  devsim->add_option("--log-level", flags->log_level, "trace|debug|info|warn|error|critical|off")
      ->capture_default_str();
  devsim->callback([flags, set_action] { set_action([flags] { return RunDevsim(*flags); }); });
}

}  // namespace doppel::app
