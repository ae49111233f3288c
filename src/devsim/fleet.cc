#include "devsim/fleet.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>
#include <utility>

namespace doppel::devsim {

std::string FormatTimestamp(TimePoint t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - static_cast<int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

Fleet::Fleet(FleetSpec spec, const FleetOptions& options, TimePoint start)
    : farms_(std::move(spec.farms)), now_(start) {
  turbines_.reserve(spec.turbines.size());
  for (TurbineSpec& t : spec.turbines) {
    const std::size_t index = turbines_.size();
    for (const std::string* id : {&t.id, &t.bearing_id, &t.gearbox_id, &t.generator_id}) {
      if (!id->empty()) owners_[*id] = Owner{Owner::kTurbine, index};
    }
    turbines_.emplace_back(std::move(t), options.turbine, options.seed, start);
  }
  machines_.reserve(spec.machines.size());
  for (MachineSpec& m : spec.machines) {
    owners_[m.id] = Owner{Owner::kMachine, machines_.size()};
    machines_.emplace_back(std::move(m), options.machine, options.seed);
  }
  for (std::size_t i = 0; i < farms_.size(); ++i) owners_[farms_[i].id] = Owner{Owner::kFarm, i};
}

void Fleet::Step(std::chrono::duration<double> dt) {
  now_ += std::chrono::duration_cast<std::chrono::nanoseconds>(dt);
  const double dt_s = dt.count();
  for (Turbine& t : turbines_) t.Step(now_, dt_s);
  for (Machine& m : machines_) m.Step(dt_s);
}

std::vector<TwinMessage> Fleet::Telemetry() const {
  const std::string ts = FormatTimestamp(now_);
  std::vector<TwinMessage> out;
  out.reserve(turbines_.size() * 4 + machines_.size() + farms_.size());
  for (const Turbine& t : turbines_) t.AppendTelemetry(ts, out);
  for (const Machine& m : machines_) m.AppendTelemetry(ts, out);
  for (const FarmSpec& farm : farms_) {
    double kw = 0.0;
    for (const std::string& id : farm.turbine_ids) {
      if (const Turbine* t = FindTurbine(id)) kw += t->active_power_kw();
    }
    out.push_back({farm.site, farm.id, {{"ts", ts}, {"activePower", std::round(kw) / 1000.0}}});
  }
  return out;
}

std::vector<TwinMessage> Fleet::TakeReported() {
  std::vector<TwinMessage> out;
  for (Turbine& t : turbines_) t.TakeReported(out);
  for (Machine& m : machines_) m.TakeReported(out);
  return out;
}

void Fleet::ForgetReported() {
  for (Turbine& t : turbines_) t.ForgetReported();
  for (Machine& m : machines_) m.ForgetReported();
}

Status Fleet::ApplyDesired(const std::string& twin_id, const json::value& desired) {
  auto it = owners_.find(twin_id);
  if (it == owners_.end()) return Status::NotFound("no simulated twin " + twin_id);
  if (!desired.is_object()) return Status::InvalidArgument("desired properties must be a JSON object");
  // "$"-members ($version, $metadata) are bookkeeping of the sender, not properties.
  json::object properties;
  for (const auto& [name, value] : desired.as_object()) {
    if (!name.starts_with("$")) properties[name] = value;
  }
  switch (it->second.kind) {
    case Owner::kTurbine: return turbines_[it->second.index].ApplyDesired(twin_id, properties);
    case Owner::kMachine: return machines_[it->second.index].ApplyDesired(properties);
    case Owner::kFarm: break;
  }
  return Status::InvalidArgument(twin_id + " has no writable properties");
}

CommandResult Fleet::HandleCommand(const std::string& twin_id, const std::string& name,
                                   const json::value& payload) {
  auto it = owners_.find(twin_id);
  if (it == owners_.end()) return Answer(404, "no simulated twin " + twin_id);
  switch (it->second.kind) {
    case Owner::kTurbine: return turbines_[it->second.index].HandleCommand(twin_id, name, payload);
    case Owner::kMachine: return machines_[it->second.index].HandleCommand(name, payload);
    case Owner::kFarm: break;
  }
  return Answer(404, twin_id + " has no commands");
}

const Turbine* Fleet::FindTurbine(const std::string& id) const {
  auto it = owners_.find(id);
  if (it == owners_.end() || it->second.kind != Owner::kTurbine) return nullptr;
  return &turbines_[it->second.index];
}

const Machine* Fleet::FindMachine(const std::string& id) const {
  auto it = owners_.find(id);
  if (it == owners_.end() || it->second.kind != Owner::kMachine) return nullptr;
  return &machines_[it->second.index];
}

std::vector<std::string> Fleet::Sites() const {
  std::set<std::string> sites;
  for (const Turbine& t : turbines_) sites.insert(t.spec().site);
  for (const Machine& m : machines_) sites.insert(m.spec().site);
  for (const FarmSpec& f : farms_) sites.insert(f.site);
  return {sites.begin(), sites.end()};
}

}  // namespace doppel::devsim
