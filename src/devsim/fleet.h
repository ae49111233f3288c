// The simulated fleet: wind turbines (with their parts), the farms that sum them, and production
// machines, all stepped together on one simulated clock. Deterministic for a given seed and
// sequence of Step/ApplyDesired/HandleCommand calls; knows nothing about MQTT.
//
//   FleetSpec spec = SyntheticFleetSpec(4, 3);
//   Fleet fleet(std::move(spec), FleetOptions{.seed = 7}, start);
//   fleet.Step(std::chrono::seconds(1));
//   for (const TwinMessage& m : fleet.Telemetry()) ...
//
// Not thread-safe: one thread owns the fleet (the MQTT link's loop, or a test).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "base/status.h"
#include "devsim/machine.h"
#include "devsim/messages.h"
#include "devsim/turbine.h"

namespace doppel::devsim {

// A wind farm twin: its activePower telemetry (MW) is the sum of its turbines'.
struct FarmSpec {
  std::string id;
  std::string site;
  std::vector<std::string> turbine_ids;
};

struct FleetSpec {
  std::vector<FarmSpec> farms;
  std::vector<TurbineSpec> turbines;
  std::vector<MachineSpec> machines;
};

// Builds the fleet of the twins in `documents` (each a twins.json: {"twins": [...],
// "relationships": [...]}), by model: WindTurbine (parts through hasMainBearing, hasGearbox,
// hasGenerator; farm through WindFarm's hasTurbine), Machine, CncMachine and Robot. Initial
// property values (state, rotorSpeedLimit, counts, cumulativeDamage, ...) come from the twins.
// Site: the farm's id for turbines, the lower-cased city of the Plant (else its id) for
// machines. InvalidArgument if a document is malformed or holds nothing to simulate.
Result<FleetSpec> FleetSpecFromTwins(const std::vector<json::value>& documents);

// `turbines` turbines wtg-0001.. (each with -mainbearing, -gearbox, -generator parts) on site
// "sim-farm" and `machines` machines m-0001.. on site "sim-plant", every third one a CNC.
FleetSpec SyntheticFleetSpec(int turbines, int machines);

// Gives the turbine `id` (or the turbine whose main bearing is `id`) a developing bearing fault.
// NotFound if there is no such turbine.
Status MarkBearingFault(FleetSpec& spec, const std::string& id);

struct FleetOptions {
  uint64_t seed = 1;
  TurbineParams turbine;
  MachineParams machine;
};

class Fleet {
 public:
  // The simulated clock starts at `start` (the first telemetry is stamped with it).
  Fleet(FleetSpec spec, const FleetOptions& options, TimePoint start);

  // Advances every unit by `dt` of simulated time.
  void Step(std::chrono::duration<double> dt);
  TimePoint now() const { return now_; }

  // One message per simulated twin with telemetry, stamped now() ("ts", RFC 3339 UTC, ms).
  std::vector<TwinMessage> Telemetry() const;
  // Reported properties that changed since the previous call (everything on the first call).
  std::vector<TwinMessage> TakeReported();
  // Makes the next TakeReported repeat every property (after a reconnect the broker's
  // subscribers may have missed changes).
  void ForgetReported();

  // Applies a desired-properties document to `twin_id`: all members or none. NotFound for an
  // unknown twin, InvalidArgument for a read-only or ill-typed property.
  Status ApplyDesired(const std::string& twin_id, const json::value& desired);
  // Runs command `name` on `twin_id`: 404 for an unknown twin or command.
  CommandResult HandleCommand(const std::string& twin_id, const std::string& name,
                              const json::value& payload);

  // Lookup for tests and tools; nullptr when there is no such unit.
  const Turbine* FindTurbine(const std::string& id) const;
  const Machine* FindMachine(const std::string& id) const;
  const std::vector<Turbine>& turbines() const { return turbines_; }
  const std::vector<Machine>& machines() const { return machines_; }
  // Every site with at least one twin, sorted.
  std::vector<std::string> Sites() const;

 private:
  struct Owner {
    enum Kind { kTurbine, kMachine, kFarm } kind;
    std::size_t index;
  };

  std::vector<FarmSpec> farms_;
  std::vector<Turbine> turbines_;
  std::vector<Machine> machines_;
  std::map<std::string, Owner, std::less<>> owners_;  // every twin id → the unit that plays it
  TimePoint now_;
};

// "2026-11-25T19:34:17.123Z": RFC 3339 UTC with milliseconds, the telemetry "ts" format.
std::string FormatTimestamp(TimePoint t);

}  // namespace doppel::devsim
