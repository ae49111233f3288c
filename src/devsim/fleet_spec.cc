// Building a FleetSpec: from the demo's twins.json documents, or synthetic for load tests.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>

#include "devsim/fleet.h"

namespace doppel::devsim {
namespace {

struct Relationship {
  std::string source, name, target;
};

// The twins and relationships of all documents, in document order.
struct TwinSet {
  std::vector<std::string> order;
  std::map<std::string, json::object, std::less<>> twins;
  std::vector<Relationship> relationships;
};

// "dtmi:doppel:example:windfarm:WindTurbine;1" → "WindTurbine": models are recognised by their
// last path segment, so a copy of the examples under another namespace still simulates.
std::string ModelName(const json::object& twin) {
  const auto* metadata = twin.if_contains("$metadata");
  if (!metadata || !metadata->is_object()) return "";
  const auto* model = metadata->as_object().if_contains("$model");
  if (!model || !model->is_string()) return "";
  std::string id(model->as_string());
  const auto semi = id.rfind(';');
  if (semi != std::string::npos) id.resize(semi);
  const auto colon = id.rfind(':');
  return colon == std::string::npos ? id : id.substr(colon + 1);
}

std::optional<double> Number(const json::object& twin, std::string_view name) {
  const auto* v = twin.if_contains(name);
  if (!v || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

std::optional<std::string> String(const json::object& twin, std::string_view name) {
  const auto* v = twin.if_contains(name);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::string StringMember(const json::object& o, std::string_view name) {
  return String(o, name).value_or("");
}

Status AddDocument(const json::value& document, TwinSet& set) {
  if (!document.is_object()) return Status::InvalidArgument("a twins document must be a JSON object");
  const auto* twins = document.as_object().if_contains("twins");
  if (!twins || !twins->is_array()) return Status::InvalidArgument("a twins document needs a \"twins\" array");
  for (const auto& twin : twins->as_array()) {
    if (!twin.is_object()) return Status::InvalidArgument("every twin must be a JSON object");
    const std::string id = StringMember(twin.as_object(), "$dtId");
    if (id.empty()) return Status::InvalidArgument("a twin has no $dtId");
    if (set.twins.emplace(id, twin.as_object()).second) set.order.push_back(id);
  }
  if (const auto* rels = document.as_object().if_contains("relationships")) {
    if (!rels->is_array()) return Status::InvalidArgument("\"relationships\" must be an array");
    for (const auto& rel : rels->as_array()) {
      if (!rel.is_object()) return Status::InvalidArgument("every relationship must be a JSON object");
      const auto& r = rel.as_object();
      set.relationships.push_back({StringMember(r, "$sourceId"), StringMember(r, "$relationshipName"),
                                   StringMember(r, "$targetId")});
    }
  }
  return Status::Ok();
}

std::string Target(const TwinSet& set, const std::string& source, std::string_view name) {
  for (const Relationship& r : set.relationships) {
    if (r.source == source && r.name == name && set.twins.contains(r.target)) return r.target;
  }
  return "";
}

// The Plant above a machine (Plant → hasLine → hasStation → hasMachine), as a site name.
std::string PlantSite(const TwinSet& set, const std::string& machine_id) {
  std::string current = machine_id;
  for (int depth = 0; depth < 8; ++depth) {
    auto parent = std::find_if(set.relationships.begin(), set.relationships.end(),
                               [&](const Relationship& r) { return r.target == current; });
    if (parent == set.relationships.end()) break;
    current = parent->source;
    auto it = set.twins.find(current);
    if (it == set.twins.end()) break;
    if (ModelName(it->second) == "Plant") {
      std::string city = StringMember(it->second, "city");
      std::transform(city.begin(), city.end(), city.begin(),
                     [](unsigned char c) { return std::isspace(c) ? '-' : std::tolower(c); });
      return city.empty() ? current : city;
    }
  }
  return "plant";
}

TurbineSpec MakeTurbine(const TwinSet& set, const std::string& id, const json::object& twin) {
  TurbineSpec t;
  t.id = id;
  t.site = "wind";
  t.bearing_id = Target(set, id, "hasMainBearing");
  t.gearbox_id = Target(set, id, "hasGearbox");
  t.generator_id = Target(set, id, "hasGenerator");
  t.rotor_speed_limit_rpm = Number(twin, "rotorSpeedLimit").value_or(t.rotor_speed_limit_rpm);
  t.state = String(twin, "state").value_or(t.state);
  t.active_fault_code = String(twin, "activeFaultCode").value_or("");
  if (!t.bearing_id.empty()) {
    const json::object& bearing = set.twins.find(t.bearing_id)->second;
    t.cumulative_damage = Number(bearing, "cumulativeDamage").value_or(0.0);
    t.rated_life_h = Number(bearing, "ratedLife").value_or(t.rated_life_h);
  }
  return t;
}

MachineSpec MakeMachine(const TwinSet& set, const std::string& id, const json::object& twin,
                        bool cnc) {
  MachineSpec m;
  m.id = id;
  m.site = PlantSite(set, id);
  m.cnc = cnc;
  m.state = String(twin, "state").value_or(m.state);
  m.good_count = static_cast<int64_t>(Number(twin, "goodCount").value_or(0));
  m.scrap_count = static_cast<int64_t>(Number(twin, "scrapCount").value_or(0));
  m.ideal_cycle_time_s = Number(twin, "idealCycleTime");
  m.run_time_min = Number(twin, "runTime").value_or(0.0);
  m.planned_production_time_min = Number(twin, "plannedProductionTime").value_or(0.0);
  return m;
}

}  // namespace

Result<FleetSpec> FleetSpecFromTwins(const std::vector<json::value>& documents) {
  TwinSet set;
  for (const json::value& document : documents) DOPPEL_RETURN_IF_ERROR(AddDocument(document, set));
  FleetSpec spec;
  std::map<std::string, std::size_t> turbine_index;
  for (const std::string& id : set.order) {
    const json::object& twin = set.twins.find(id)->second;
    const std::string model = ModelName(twin);
    if (model == "WindTurbine") {
      turbine_index[id] = spec.turbines.size();
      spec.turbines.push_back(MakeTurbine(set, id, twin));
      spec.turbines.back().index = static_cast<int>(spec.turbines.size());
    } else if (model == "Machine" || model == "CncMachine" || model == "Robot") {
      spec.machines.push_back(MakeMachine(set, id, twin, model == "CncMachine"));
    }
  }
  // A farm's turbines take its id as their site and their position in it as their index
  // (the history script's i = 1..4).
  for (const std::string& id : set.order) {
    if (ModelName(set.twins.find(id)->second) != "WindFarm") continue;
    FarmSpec farm{id, id, {}};
    for (const Relationship& r : set.relationships) {
      auto it = turbine_index.find(r.target);
      if (r.source != id || r.name != "hasTurbine" || it == turbine_index.end()) continue;
      farm.turbine_ids.push_back(r.target);
      spec.turbines[it->second].site = id;
      spec.turbines[it->second].index = static_cast<int>(farm.turbine_ids.size());
    }
    spec.farms.push_back(std::move(farm));
  }
  if (spec.turbines.empty() && spec.machines.empty()) {
    return Status::InvalidArgument("no WindTurbine, Machine, CncMachine or Robot twins to simulate");
  }
  return spec;
}

FleetSpec SyntheticFleetSpec(int turbines, int machines) {
  FleetSpec spec;
  char id[32];
  for (int i = 1; i <= turbines; ++i) {
    std::snprintf(id, sizeof id, "wtg-%04d", i);
    TurbineSpec t;
    t.id = id;
    t.site = "sim-farm";
    t.index = i % 5;
    t.bearing_id = t.id + "-mainbearing";
    t.gearbox_id = t.id + "-gearbox";
    t.generator_id = t.id + "-generator";
    spec.turbines.push_back(std::move(t));
  }
  for (int i = 1; i <= machines; ++i) {
    std::snprintf(id, sizeof id, "m-%04d", i);
    MachineSpec m;
    m.id = id;
    m.site = "sim-plant";
    m.cnc = i % 3 == 1;
    spec.machines.push_back(std::move(m));
  }
  return spec;
}

Status MarkBearingFault(FleetSpec& spec, const std::string& id) {
  for (TurbineSpec& t : spec.turbines) {
    if (t.id == id || (!t.bearing_id.empty() && t.bearing_id == id)) {
      t.bearing_fault = true;
      return Status::Ok();
    }
  }
  return Status::NotFound("no simulated turbine " + id);
}

}  // namespace doppel::devsim
