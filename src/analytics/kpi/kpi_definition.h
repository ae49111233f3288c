// A KPI definition (the body of PUT /analytics/kpis/{name}, described in kpi_engine.h and
// docs/analytics-kpi.md) parsed and checked against its DTDL model. Nothing outside
// src/analytics includes it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/kpi/equipment_state.h"
#include "analytics/kpi/kpi.h"
#include "base/json.h"
#include "base/status.h"
#include "model/model_registry.h"

namespace doppel::analytics {

// A number read from the twin (a property in its document, else its latest reading) or given
// as a constant in the definition; `scale` converts the model's unit to the KPI's unit.
struct ValueSource {
  std::string path = {};                 // "" when constant
  std::optional<double> constant = {};
  double scale = 1;
  bool configured() const { return !path.empty() || constant.has_value(); }
};

struct KpiDefinition {
  std::string name;
  json::object body = {};  // as given: echoed by GET and persisted
  std::string model = {};
  // State from a reported string ("state") or inferred from signals ("classify"), not both.
  std::string state_path = {};
  std::optional<StateRules> classify = {};
  // Reported or classified state name → class; names not here use DefaultStateClass.
  std::map<std::string, StateClass, std::less<>> state_map = {};
  std::string good = {}, scrap = {};  // counter paths
  ValueSource ideal_cycle_s = {};     // seconds per part
  std::string power = {};             // telemetry path
  double power_scale_kw = 1;          // the power telemetry's unit in kW
  ValueSource rated_power_kw = {};
  int64_t max_gap_ns = 0;  // 0: a state holds until the next reading, however far
  int64_t shift_length_ns = int64_t{86'400} * 1'000'000'000;
  int64_t shift_offset_ns = 0;  // shift start, ns after 00:00 UTC
  std::vector<std::string> roll_up = {};

  bool has_state() const { return !state_path.empty() || classify.has_value(); }
  // True when the twins it covers have data of their own (not just a roll-up).
  bool has_sources() const { return has_state() || !good.empty() || !scrap.empty() || !power.empty(); }
  StateClass Classify(std::string_view state) const;
  // The start of the shift holding `now`: shifts of shift_length_ns follow each other from
  // shift_offset_ns after every midnight UTC (exactly, when the length divides a day).
  int64_t ShiftStart(int64_t now_ns) const;
};

// "running" → kRunning, "idle"/"blocked"/"starved" → kIdle, "down"/"fault"/"faulted"/
// "unplannedStop" → kUnplannedStop, "stopped"/"maintenance"/"plannedStop" → kPlannedStop,
// anything else → kUnknown.
StateClass DefaultStateClass(std::string_view state);
// "running", "idle", "unplannedStop", "plannedStop", "unknown".
std::string_view StateClassName(StateClass state);

// Parses and checks `body`: InvalidArgument naming the field ("'good': model 'dtmi:..;1' has
// no property or telemetry 'goodCnt'"); NotFound for an unknown model.
Result<KpiDefinition> ParseKpiDefinition(std::string_view name, const json::value& body,
                                         const model::ModelRegistry& models);

}  // namespace doppel::analytics
