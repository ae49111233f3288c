#include "analytics/kpi/kpi_definition.h"

#include <fmt/format.h>

#include <charconv>
#include <utility>

#include "analytics/kpi/json_fields.h"
#include "tsdb/types.h"

namespace doppel::analytics {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kNsPerDay = 86'400 * kNsPerSecond;

struct StateName {
  std::string_view name;
  StateClass state;
};
constexpr StateName kDefaultStates[] = {
    {"running", StateClass::kRunning},       {"idle", StateClass::kIdle},
    {"blocked", StateClass::kIdle},          {"starved", StateClass::kIdle},
    {"down", StateClass::kUnplannedStop},    {"fault", StateClass::kUnplannedStop},
    {"faulted", StateClass::kUnplannedStop}, {"unplannedStop", StateClass::kUnplannedStop},
    {"stopped", StateClass::kPlannedStop},   {"maintenance", StateClass::kPlannedStop},
    {"plannedStop", StateClass::kPlannedStop}, {"unknown", StateClass::kUnknown},
};

class Parser {
 public:
  Parser(const json::object& body, const model::ModelRegistry& models, const model::Interface& iface)
      : body_(body), models_(models), iface_(iface) {}

  // A path member naming a property or telemetry of the model; "" when absent.
  Result<std::string> Path(std::string_view key, const model::Content** content = nullptr) const {
    const json::value* v = body_.if_contains(key);
    if (v == nullptr) return std::string();
    if (!v->is_string() || v->get_string().empty()) {
      return Status::InvalidArgument(fmt::format("'{}' must name a property or telemetry of the model", key));
    }
    return CheckPath(key, v->get_string(), content);
  }

  Result<std::string> CheckPath(std::string_view where, std::string_view path, const model::Content** content) const {
    const model::Content* c = models_.FindValue(iface_, path);
    if (c == nullptr) {
      return Status::InvalidArgument(
          fmt::format("'{}': model '{}' has no property or telemetry '{}'", where, iface_.id, path));
    }
    if (content != nullptr) *content = c;
    return std::string(path);
  }

  // A path or a constant number, scaled from the content's unit by `unit_scale`.
  Result<ValueSource> Value(std::string_view key, double (*unit_scale)(std::string_view)) const {
    ValueSource source;
    const json::value* v = body_.if_contains(key);
    if (v == nullptr) return source;
    if (v->is_number()) {
      source.constant = v->to_number<double>();
      if (!(*source.constant > 0)) return Status::InvalidArgument(fmt::format("'{}' must be positive", key));
      return source;
    }
    const model::Content* content = nullptr;
    DOPPEL_ASSIGN_OR_RETURN(source.path, Path(key, &content));
    source.scale = unit_scale(content->unit);
    return source;
  }

 private:
  const json::object& body_;
  const model::ModelRegistry& models_;
  const model::Interface& iface_;
};

double SecondsPerUnit(std::string_view unit) {
  if (unit == "millisecond") return 1e-3;
  if (unit == "minute") return 60;
  if (unit == "hour") return 3600;
  return 1;  // "second", or no unit: seconds as documented
}

double KilowattsPerUnit(std::string_view unit) {
  if (unit == "watt") return 1e-3;
  if (unit == "megawatt") return 1e3;
  if (unit == "gigawatt") return 1e6;
  return 1;  // "kilowatt", or no unit: kW as documented
}

Result<StateClass> ClassByName(std::string_view name, std::string_view where) {
  for (StateClass c : {StateClass::kRunning, StateClass::kIdle, StateClass::kUnplannedStop, StateClass::kPlannedStop,
                       StateClass::kUnknown}) {
    if (StateClassName(c) == name) return c;
  }
  return Status::InvalidArgument(fmt::format(
      "'{}': '{}' is not a state class (running, idle, unplannedStop, plannedStop, unknown)", where, name));
}

Status ParseState(const json::value& v, Parser& parser, KpiDefinition& def) {
  if (!v.is_object()) return Status::InvalidArgument("'state' must be an object {\"path\", \"map\"}");
  const json::object& o = v.get_object();
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, "'state': ", {"path", "map"}));
  const json::value* path = o.if_contains("path");
  if (path == nullptr || !path->is_string() || path->get_string().empty()) {
    return Status::InvalidArgument("'state.path' must name the property or telemetry holding the state");
  }
  DOPPEL_ASSIGN_OR_RETURN(def.state_path, parser.CheckPath("state.path", path->get_string(), nullptr));
  const json::value* map = o.if_contains("map");
  if (map == nullptr) return Status::Ok();
  if (!map->is_object()) return Status::InvalidArgument("'state.map' must be an object {\"reported\": \"class\"}");
  for (const auto& [reported, cls] : map->get_object()) {
    const std::string where = fmt::format("state.map.{}", std::string_view(reported));
    if (!cls.is_string()) return Status::InvalidArgument(fmt::format("'{}' must be a string", where));
    DOPPEL_ASSIGN_OR_RETURN(StateClass c, ClassByName(cls.get_string(), where));
    def.state_map[std::string(reported)] = c;
  }
  return Status::Ok();
}

Status ParseClassify(const json::value& v, Parser& parser, KpiDefinition& def) {
  auto rules = ParseStateRules(v);
  if (!rules.ok()) return Status::InvalidArgument(fmt::format("'classify': {}", rules.status().message()));
  for (size_t i = 0; i < rules->rules.size(); ++i) {
    const StateRule& rule = rules->rules[i];
    if (DefaultStateClass(rule.state) == StateClass::kUnknown && rule.state != "unknown") {
      return Status::InvalidArgument(fmt::format(
          "'classify': rules[{}]: state '{}' has no KPI meaning (running, idle, stopped, faulted, or a state class)",
          i, rule.state));
    }
    for (size_t j = 0; j < rule.when.size(); ++j) {
      DOPPEL_RETURN_IF_ERROR(
          parser.CheckPath(fmt::format("classify.rules[{}].when[{}].signal", i, j), rule.when[j].signal, nullptr)
              .status());
    }
  }
  def.classify = std::move(*rules);
  return Status::Ok();
}

// "06:00" or "06:00:00" → ns after midnight.
Result<int64_t> ParseTimeOfDay(std::string_view text) {
  int fields[3] = {0, 0, 0};
  size_t n = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  while (n < 3) {
    auto [next, ec] = std::from_chars(p, end, fields[n]);
    if (ec != std::errc() || next - p != 2) break;
    ++n;
    p = next;
    if (p == end || *p != ':') break;
    ++p;
  }
  if (n < 2 || p != end || fields[0] > 23 || fields[1] > 59 || fields[2] > 59) {
    return Status::InvalidArgument(fmt::format("'shift.start' must be a UTC time of day \"HH:MM\", got \"{}\"", text));
  }
  return ((fields[0] * 60 + fields[1]) * int64_t{60} + fields[2]) * kNsPerSecond;
}

Status ParseShift(const json::value& v, KpiDefinition& def) {
  if (!v.is_object()) return Status::InvalidArgument("'shift' must be an object {\"length\": \"8h\", \"start\": \"06:00\"}");
  const json::object& o = v.get_object();
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, "'shift': ", {"length", "start"}));
  DOPPEL_ASSIGN_OR_RETURN(const int64_t length, OptionalDuration(o, "length"));
  if (length > 0) def.shift_length_ns = length;
  if (const json::value* start = o.if_contains("start"); start != nullptr) {
    if (!start->is_string()) return Status::InvalidArgument("'shift.start' must be a string \"HH:MM\"");
    DOPPEL_ASSIGN_OR_RETURN(def.shift_offset_ns, ParseTimeOfDay(start->get_string()));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ParseRollUp(const json::value& v) {
  std::vector<std::string> names;
  if (!v.is_array()) return Status::InvalidArgument("'rollUp' must be an array of relationship names");
  for (const json::value& name : v.get_array()) {
    if (!name.is_string() || name.get_string().empty()) {
      return Status::InvalidArgument("'rollUp' must be an array of relationship names");
    }
    names.emplace_back(name.get_string());
  }
  return names;
}

}  // namespace

StateClass DefaultStateClass(std::string_view state) {
  for (const StateName& s : kDefaultStates) {
    if (s.name == state) return s.state;
  }
  return StateClass::kUnknown;
}

std::string_view StateClassName(StateClass state) {
  switch (state) {
    case StateClass::kRunning: return "running";
    case StateClass::kIdle: return "idle";
    case StateClass::kUnplannedStop: return "unplannedStop";
    case StateClass::kPlannedStop: return "plannedStop";
    case StateClass::kUnknown: break;
  }
  return "unknown";
}

StateClass KpiDefinition::Classify(std::string_view state) const {
  auto it = state_map.find(state);
  return it != state_map.end() ? it->second : DefaultStateClass(state);
}

int64_t KpiDefinition::ShiftStart(int64_t now_ns) const {
  const int64_t day_start = tsdb::FloorDiv(now_ns, kNsPerDay) * kNsPerDay;
  int64_t first = day_start + shift_offset_ns;
  if (first > now_ns) first -= kNsPerDay;  // before today's first shift: in yesterday's last
  return first + (now_ns - first) / shift_length_ns * shift_length_ns;
}

Result<KpiDefinition> ParseKpiDefinition(std::string_view name, const json::value& body,
                                         const model::ModelRegistry& models) {
  if (!body.is_object()) return Status::InvalidArgument("a KPI definition must be a JSON object");
  const json::object& o = body.get_object();
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, "",
                                      {"model", "state", "classify", "good", "scrap", "idealCycleTime", "power",
                                       "ratedPower", "maxGap", "shift", "rollUp"}));
  KpiDefinition def{.name = std::string(name), .body = o};
  const json::value* model = o.if_contains("model");
  if (model == nullptr || !model->is_string() || !model->get_string().starts_with("dtmi:")) {
    return Status::InvalidArgument("'model' must be a DTMI string (\"dtmi:...;1\")");
  }
  def.model = std::string(model->get_string());
  model::InterfacePtr iface = models.Get(def.model);
  if (iface == nullptr) return Status::NotFound(fmt::format("model '{}' not found", def.model), "ModelNotFound");
  Parser parser(o, models, *iface);
  if (o.contains("state") && o.contains("classify")) {
    return Status::InvalidArgument("'state' (reported) and 'classify' (inferred) exclude each other");
  }
  if (const json::value* v = o.if_contains("state")) {
    DOPPEL_RETURN_IF_ERROR(ParseState(*v, parser, def));
  }
  if (const json::value* v = o.if_contains("classify")) {
    DOPPEL_RETURN_IF_ERROR(ParseClassify(*v, parser, def));
  }
  DOPPEL_ASSIGN_OR_RETURN(def.good, parser.Path("good"));
  DOPPEL_ASSIGN_OR_RETURN(def.scrap, parser.Path("scrap"));
  DOPPEL_ASSIGN_OR_RETURN(def.ideal_cycle_s, parser.Value("idealCycleTime", SecondsPerUnit));
  const model::Content* power = nullptr;
  DOPPEL_ASSIGN_OR_RETURN(def.power, parser.Path("power", &power));
  if (power != nullptr) def.power_scale_kw = KilowattsPerUnit(power->unit);
  DOPPEL_ASSIGN_OR_RETURN(def.rated_power_kw, parser.Value("ratedPower", KilowattsPerUnit));
  DOPPEL_ASSIGN_OR_RETURN(def.max_gap_ns, OptionalDuration(o, "maxGap"));
  if (const json::value* v = o.if_contains("shift")) {
    DOPPEL_RETURN_IF_ERROR(ParseShift(*v, def));
  }
  if (const json::value* v = o.if_contains("rollUp")) {
    DOPPEL_ASSIGN_OR_RETURN(def.roll_up, ParseRollUp(*v));
  }
  if (!def.has_sources() && def.roll_up.empty()) {
    return Status::InvalidArgument(
        "a KPI definition needs data ('state', 'classify', 'good', 'scrap' or 'power') or 'rollUp'");
  }
  return def;
}

}  // namespace doppel::analytics
