#include "sim/binding.h"

#include <cmath>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "model/dtdl_parser.h"

namespace doppel::sim {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

Status Invalid(std::string_view member, std::string_view message) {
  return Status::InvalidArgument(fmt::format("{}: {}", member, message));
}

Result<const json::object*> ObjectMember(const json::object& body, std::string_view key) {
  const json::value* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) return nullptr;
  if (!v->is_object()) return Invalid(key, fmt::format("must be an object, got {}", JsonTypeName(*v)));
  return &v->get_object();
}

Result<std::string> StringValue(const json::value& v, std::string_view member) {
  if (!v.is_string()) return Invalid(member, fmt::format("must be a string, got {}", JsonTypeName(v)));
  return std::string(v.get_string());
}

Result<double> PositiveNumber(const json::object& obj, std::string_view key, std::string_view member,
                              bool required) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) {
    if (required) return Invalid(fmt::format("{}.{}", member, key), "is required");
    return 0.0;
  }
  if (!v->is_number()) return Invalid(fmt::format("{}.{}", member, key), "must be a finite number > 0");
  const double d = v->to_number<double>();
  if (!std::isfinite(d) || d <= 0.0) {
    return Invalid(fmt::format("{}.{}", member, key), "must be a finite number > 0");
  }
  return d;
}

Status CheckKeys(const json::object& obj, std::string_view member, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : obj) {
    bool ok = false;
    for (auto k : known) ok = ok || k == key;
    if (!ok) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return Invalid(member.empty() ? std::string_view(key) : member,
                     fmt::format("unknown member '{}' (known: {})", std::string_view(key), list));
    }
  }
  return Status::Ok();
}

// The variable `name` of the simulation model, with one of the allowed causalities.
Status CheckVariable(const ModelInfo& model, std::string_view member, std::string_view name,
                     std::initializer_list<Causality> allowed) {
  auto index = model.Find(name);
  if (!index) return Invalid(member, fmt::format("model '{}' has no variable '{}'", model.name, name));
  const Causality c = model.variables[*index].causality;
  for (auto a : allowed) {
    if (a == c) return Status::Ok();
  }
  const auto article = [](Causality k) {
    return fmt::format("{} {}", k == Causality::kInput || k == Causality::kOutput ? "an" : "a", CausalityName(k));
  };
  std::string names;
  for (auto a : allowed) names += (names.empty() ? "" : " or ") + article(a);
  return Invalid(member, fmt::format("'{}' is {} of model '{}', not {}", name, article(c), model.name, names));
}

Result<TwinPath> PathMember(const json::value& v, std::string_view member) {
  DOPPEL_ASSIGN_OR_RETURN(std::string text, StringValue(v, member));
  auto path = ParseTwinPath(text);
  if (!path.ok()) return Invalid(member, path.status().message());
  return *path;
}

Result<std::string> DerivedPath(const json::object& obj, std::string_view key, std::string_view member) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) return std::string();
  const std::string where = fmt::format("{}.{}", member, key);
  DOPPEL_ASSIGN_OR_RETURN(std::string path, StringValue(*v, where));
  if (!model::IsValidDtdlName(path)) return Invalid(where, fmt::format("'{}' is not a telemetry name of the bound twin", path));
  return path;
}

Status ParseTwins(const json::object& body, Binding& binding) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* twins, ObjectMember(body, "twins"));
  if (twins == nullptr) return Invalid("twins", "is required: {\"model\": \"dtmi:...\"} or {\"ids\": [...]}");
  DOPPEL_RETURN_IF_ERROR(CheckKeys(*twins, "twins", {"model", "ids"}));
  if (twins->contains("model") == twins->contains("ids")) {
    return Invalid("twins", "needs exactly one of \"model\" or \"ids\"");
  }
  if (const json::value* m = twins->if_contains("model")) {
    DOPPEL_ASSIGN_OR_RETURN(binding.twin_model, StringValue(*m, "twins.model"));
    if (!binding.twin_model.starts_with("dtmi:")) return Invalid("twins.model", "must be a DTMI");
    return Status::Ok();
  }
  const json::value& ids = twins->at("ids");
  if (!ids.is_array() || ids.get_array().empty() || ids.get_array().size() > 10000) {
    return Invalid("twins.ids", "must be an array of 1 to 10000 twin ids");
  }
  std::set<std::string> seen;
  for (const auto& id : ids.get_array()) {
    DOPPEL_ASSIGN_OR_RETURN(std::string s, StringValue(id, "twins.ids[]"));
    if (s.empty() || !seen.insert(s).second) return Invalid("twins.ids", fmt::format("empty or repeated id '{}'", s));
    binding.twin_ids.push_back(std::move(s));
  }
  return Status::Ok();
}

Status ParsePathMap(const json::object& body, std::string_view key, const ModelInfo& model,
                    std::initializer_list<Causality> allowed, std::map<std::string, TwinPath>& out) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* obj, ObjectMember(body, key));
  if (obj == nullptr) return Status::Ok();
  for (const auto& [name, value] : *obj) {
    const std::string member = fmt::format("{}.{}", key, std::string_view(name));
    DOPPEL_RETURN_IF_ERROR(CheckVariable(model, member, name, allowed));
    DOPPEL_ASSIGN_OR_RETURN(TwinPath path, PathMember(value, member));
    out.emplace(std::string(name), std::move(path));
  }
  return Status::Ok();
}

Status ParseMeasurements(const json::object& body, const ModelInfo& model, Binding& binding) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* obj, ObjectMember(body, "measurements"));
  if (obj == nullptr) return Status::Ok();
  for (const auto& [name, value] : *obj) {
    const std::string member = fmt::format("measurements.{}", std::string_view(name));
    DOPPEL_RETURN_IF_ERROR(CheckVariable(model, member, name, {Causality::kOutput, Causality::kState}));
    if (!value.is_object()) return Invalid(member, "must be an object {\"path\", \"noise\", ...}");
    const json::object& m = value.get_object();
    DOPPEL_RETURN_IF_ERROR(CheckKeys(m, member, {"path", "noise", "residual", "expected"}));
    if (!m.contains("path")) return Invalid(member + ".path", "is required");
    Measurement measurement;
    DOPPEL_ASSIGN_OR_RETURN(measurement.source, PathMember(m.at("path"), member + ".path"));
    DOPPEL_ASSIGN_OR_RETURN(measurement.noise, PositiveNumber(m, "noise", member, true));
    DOPPEL_ASSIGN_OR_RETURN(measurement.residual, DerivedPath(m, "residual", member));
    DOPPEL_ASSIGN_OR_RETURN(measurement.expected, DerivedPath(m, "expected", member));
    binding.measurements.emplace(std::string(name), std::move(measurement));
  }
  return Status::Ok();
}

Status ParseEstimate(const json::object& body, const ModelInfo& model, Binding& binding) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* obj, ObjectMember(body, "estimate"));
  if (obj == nullptr) return Status::Ok();
  for (const auto& [name, value] : *obj) {
    const std::string member = fmt::format("estimate.{}", std::string_view(name));
    DOPPEL_RETURN_IF_ERROR(CheckVariable(model, member, name, {Causality::kState, Causality::kParameter}));
    if (!value.is_object()) return Invalid(member, "must be an object {\"stddev\", \"drift\"}");
    const json::object& e = value.get_object();
    DOPPEL_RETURN_IF_ERROR(CheckKeys(e, member, {"stddev", "drift"}));
    Estimated estimated;
    DOPPEL_ASSIGN_OR_RETURN(estimated.stddev, PositiveNumber(e, "stddev", member, true));
    DOPPEL_ASSIGN_OR_RETURN(estimated.drift, PositiveNumber(e, "drift", member, false));
    binding.estimate.emplace(std::string(name), estimated);
  }
  return Status::Ok();
}

Status ParseVirtualSensors(const json::object& body, const ModelInfo& model, Binding& binding) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* obj, ObjectMember(body, "virtualSensors"));
  if (obj == nullptr) return Status::Ok();
  for (const auto& [name, value] : *obj) {
    const std::string member = fmt::format("virtualSensors.{}", std::string_view(name));
    DOPPEL_RETURN_IF_ERROR(CheckVariable(model, member, name,
                                         {Causality::kOutput, Causality::kState, Causality::kParameter}));
    if (!value.is_object()) return Invalid(member, "must be an object {\"path\", \"stddevPath\"}");
    const json::object& v = value.get_object();
    DOPPEL_RETURN_IF_ERROR(CheckKeys(v, member, {"path", "stddevPath"}));
    VirtualSensor sensor;
    DOPPEL_ASSIGN_OR_RETURN(sensor.path, DerivedPath(v, "path", member));
    if (sensor.path.empty()) return Invalid(member + ".path", "is required");
    DOPPEL_ASSIGN_OR_RETURN(sensor.stddev_path, DerivedPath(v, "stddevPath", member));
    binding.virtual_sensors.emplace(std::string(name), std::move(sensor));
  }
  return Status::Ok();
}

// Derived paths are distinct, and none is a path the binding reads (it would feed itself).
Status CheckDerivedPaths(const Binding& binding) {
  std::set<std::string> read;
  for (const auto* map : {&binding.parameters, &binding.inputs}) {
    for (const auto& [name, path] : *map) {
      if (path.relationship.empty()) read.insert(path.path);
    }
  }
  for (const auto& [name, m] : binding.measurements) {
    if (m.source.relationship.empty()) read.insert(m.source.path);
  }
  std::set<std::string> written;
  for (const std::string& path : binding.DerivedPaths()) {
    if (read.contains(path)) return Invalid(path, "is both read and written by the binding");
    if (!written.insert(path).second) return Invalid(path, "is written twice by the binding");
  }
  return Status::Ok();
}

json::object PathsToJson(const std::map<std::string, TwinPath>& paths) {
  json::object out;
  for (const auto& [name, path] : paths) out[name] = path.ToString();
  return out;
}

}  // namespace

std::string TwinPath::ToString() const {
  return relationship.empty() ? path : relationship + ">" + path;
}

Result<TwinPath> ParseTwinPath(std::string_view text) {
  TwinPath out;
  std::string_view rest = text;
  if (auto gt = rest.find('>'); gt != std::string_view::npos) {
    out.relationship = std::string(rest.substr(0, gt));
    rest = rest.substr(gt + 1);
    if (!model::IsValidDtdlName(out.relationship)) {
      return Status::InvalidArgument(fmt::format("'{}' is not a relationship name", out.relationship));
    }
  }
  const auto slash = rest.find('/');
  const bool ok = slash == std::string_view::npos
                      ? model::IsValidDtdlName(rest)
                      : model::IsValidDtdlName(rest.substr(0, slash)) && model::IsValidDtdlName(rest.substr(slash + 1));
  if (!ok) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a twin path (name, component/name or relationship>name)", text));
  }
  out.path = std::string(rest);
  return out;
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!IsNameChar(c) && c != '-') return false;
  }
  return true;
}

std::vector<std::string> Binding::DerivedPaths() const {
  std::vector<std::string> out;
  for (const auto& [var, m] : measurements) {
    if (!m.residual.empty()) out.push_back(m.residual);
    if (!m.expected.empty()) out.push_back(m.expected);
  }
  for (const auto& [var, v] : virtual_sensors) {
    out.push_back(v.path);
    if (!v.stddev_path.empty()) out.push_back(v.stddev_path);
  }
  return out;
}

json::object Binding::ToJson() const {
  json::object out;
  out["name"] = name;
  out["model"] = model;
  json::object twins;
  if (!twin_model.empty()) {
    twins["model"] = twin_model;
  } else {
    json::array ids;
    for (const auto& id : twin_ids) ids.emplace_back(id);
    twins["ids"] = std::move(ids);
  }
  out["twins"] = std::move(twins);
  out["parameters"] = PathsToJson(parameters);
  out["inputs"] = PathsToJson(inputs);
  json::object ms;
  for (const auto& [var, m] : measurements) {
    json::object o{{"path", m.source.ToString()}, {"noise", m.noise}};
    if (!m.residual.empty()) o["residual"] = m.residual;
    if (!m.expected.empty()) o["expected"] = m.expected;
    ms[var] = std::move(o);
  }
  out["measurements"] = std::move(ms);
  json::object es;
  for (const auto& [var, e] : estimate) {
    json::object o{{"stddev", e.stddev}};
    if (e.drift > 0) o["drift"] = e.drift;
    es[var] = std::move(o);
  }
  out["estimate"] = std::move(es);
  json::object vs;
  for (const auto& [var, v] : virtual_sensors) {
    json::object o{{"path", v.path}};
    if (!v.stddev_path.empty()) o["stddevPath"] = v.stddev_path;
    vs[var] = std::move(o);
  }
  out["virtualSensors"] = std::move(vs);
  out["shadow"] = shadow;
  return out;
}

Result<Binding> ParseBinding(std::string_view name, const json::value& body, const ModelInfo& model) {
  if (!IsValidName(name)) {
    return Status::InvalidArgument(fmt::format("binding name '{}' must be 1-64 of A-Z a-z 0-9 _ -", name));
  }
  if (!body.is_object()) return Status::InvalidArgument("a binding must be a JSON object");
  const json::object& obj = body.get_object();
  DOPPEL_RETURN_IF_ERROR(CheckKeys(obj, "", {"name", "model", "twins", "parameters", "inputs", "measurements",
                                             "estimate", "virtualSensors", "shadow"}));
  Binding binding;
  binding.name = std::string(name);
  if (const json::value* n = obj.if_contains("name")) {
    if (!n->is_string() || n->get_string() != name) return Invalid("name", "must equal the name in the URL");
  }
  if (!obj.contains("model")) return Invalid("model", "is required (a simulation model name)");
  DOPPEL_ASSIGN_OR_RETURN(binding.model, StringValue(obj.at("model"), "model"));
  if (binding.model != model.name) {
    return Invalid("model", fmt::format("'{}' is not the model '{}' it was checked against", binding.model, model.name));
  }
  DOPPEL_RETURN_IF_ERROR(ParseTwins(obj, binding));
  DOPPEL_RETURN_IF_ERROR(ParsePathMap(obj, "parameters", model, {Causality::kParameter}, binding.parameters));
  DOPPEL_RETURN_IF_ERROR(ParsePathMap(obj, "inputs", model, {Causality::kInput}, binding.inputs));
  DOPPEL_RETURN_IF_ERROR(ParseMeasurements(obj, model, binding));
  DOPPEL_RETURN_IF_ERROR(ParseEstimate(obj, model, binding));
  DOPPEL_RETURN_IF_ERROR(ParseVirtualSensors(obj, model, binding));
  if (const json::value* s = obj.if_contains("shadow")) {
    if (!s->is_bool()) return Invalid("shadow", "must be true or false");
    binding.shadow = s->get_bool();
  }
  if (binding.shadow && binding.inputs.empty()) {
    return Invalid("inputs", "a shadow binding needs at least one input to follow the live data");
  }
  DOPPEL_RETURN_IF_ERROR(CheckDerivedPaths(binding));
  return binding;
}

}  // namespace doppel::sim
