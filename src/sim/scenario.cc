#include "sim/scenario.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace doppel::sim {
namespace {

// ---------------------------------------------------------------------------------------------
// Parsing helpers. Every error names the JSON path of the offending field.

Status FieldError(std::string_view path, std::string_view message) {
  return Status::InvalidArgument(fmt::format("{}: {}", path, message));
}

Result<double> ParseNumber(const json::value& v, std::string_view path) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double() && std::isfinite(v.get_double())) return v.get_double();
  return FieldError(path, "must be a finite number");
}

Result<uint64_t> ParseSeed(const json::value& v, std::string_view path) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<uint64_t>(v.get_int64());
  return FieldError(path, "must be a non-negative integer");
}

// Seconds as a number, or "<number><unit>" with unit s, m, h, d or w ("90s", "1.5h", "7d").
Result<double> ParseDuration(const json::value& v, std::string_view path) {
  static constexpr std::string_view kHint = "must be seconds or a duration like \"30m\", \"12h\", \"7d\"";
  if (v.is_number()) {
    auto seconds = ParseNumber(v, path);
    if (!seconds.ok() || *seconds <= 0) return FieldError(path, kHint);
    return *seconds;
  }
  if (!v.is_string() || v.get_string().size() < 2) return FieldError(path, kHint);
  std::string_view text = v.get_string();
  double amount = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, amount);
  if (ec != std::errc() || end != text.data() + text.size() - 1 || !(amount > 0) || !std::isfinite(amount)) {
    return FieldError(path, kHint);
  }
  double unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return FieldError(path, kHint);
  }
  // "1e308w" is past the range of a double in seconds.
  if (!std::isfinite(amount * unit)) return FieldError(path, "is longer than any simulation can run");
  return amount * unit;
}

Result<const json::object*> ParseObject(const json::value& v, std::string_view path,
                                        std::initializer_list<std::string_view> allowed) {
  if (!v.is_object()) return FieldError(path, fmt::format("must be an object, not {}", JsonTypeName(v)));
  for (const auto& [key, value] : v.get_object()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return FieldError(fmt::format("{}.{}", path, std::string_view(key)), "unknown field");
    }
  }
  return &v.get_object();
}

Result<InputProfile> ParseProfile(const json::value& v, std::string_view path) {
  if (!v.is_array() || v.get_array().empty()) return FieldError(path, "must be a non-empty array of [t_seconds, value]");
  InputProfile profile;
  for (std::size_t i = 0; i < v.get_array().size(); ++i) {
    const json::value& point = v.get_array()[i];
    std::string point_path = fmt::format("{}[{}]", path, i);
    if (!point.is_array() || point.get_array().size() != 2) return FieldError(point_path, "must be [t_seconds, value]");
    DOPPEL_ASSIGN_OR_RETURN(double t, ParseNumber(point.get_array()[0], point_path + "[0]"));
    DOPPEL_ASSIGN_OR_RETURN(double value, ParseNumber(point.get_array()[1], point_path + "[1]"));
    if (!profile.points.empty() && t <= profile.points.back().first) {
      return FieldError(point_path, fmt::format("time {} is not after the previous {}", t, profile.points.back().first));
    }
    profile.points.emplace_back(t, value);
  }
  return profile;
}

Result<InputProfile::Interpolation> ParseInterpolation(const json::value& v, std::string_view path) {
  if (v.is_string() && v.get_string() == "linear") return InputProfile::Interpolation::kLinear;
  if (v.is_string() && v.get_string() == "step") return InputProfile::Interpolation::kStep;
  return FieldError(path, "must be \"linear\" or \"step\"");
}

// A number is shorthand for {"value": number}. Otherwise exactly one of value, profile (inputs
// only) or scale/offset.
Result<Modification> ParseModification(const json::value& v, const std::string& path, bool allow_profile) {
  Modification mod;
  if (v.is_number()) {
    DOPPEL_ASSIGN_OR_RETURN(mod.value, ParseNumber(v, path));
    return mod;
  }
  DOPPEL_ASSIGN_OR_RETURN(const json::object* object,
                          allow_profile ? ParseObject(v, path, {"value", "scale", "offset", "profile", "interpolation"})
                                        : ParseObject(v, path, {"value", "scale", "offset"}));
  for (const auto& [key, value] : *object) {
    std::string field_path = fmt::format("{}.{}", path, std::string_view(key));
    if (key == "value") {
      DOPPEL_ASSIGN_OR_RETURN(mod.value, ParseNumber(value, field_path));
    } else if (key == "scale") {
      DOPPEL_ASSIGN_OR_RETURN(mod.scale, ParseNumber(value, field_path));
    } else if (key == "offset") {
      DOPPEL_ASSIGN_OR_RETURN(mod.offset, ParseNumber(value, field_path));
    } else if (key == "profile") {
      DOPPEL_ASSIGN_OR_RETURN(mod.profile, ParseProfile(value, field_path));
    }
  }
  if (const json::value* interpolation = object->if_contains("interpolation")) {
    if (!mod.profile) return FieldError(path + ".interpolation", "only applies to a profile");
    DOPPEL_ASSIGN_OR_RETURN(mod.profile->interpolation, ParseInterpolation(*interpolation, path + ".interpolation"));
  }
  bool scaled = object->contains("scale") || object->contains("offset");
  if (int(mod.value.has_value()) + int(mod.profile.has_value()) + int(scaled) != 1) {
    return FieldError(path, allow_profile ? "give exactly one of value, profile, or scale/offset"
                                          : "give either value, or scale/offset");
  }
  return mod;
}

Result<std::map<std::string, Modification>> ParseModifications(const json::value& v, const std::string& path,
                                                               bool allow_profile) {
  if (!v.is_object()) return FieldError(path, "must be an object of variable name → modification");
  std::map<std::string, Modification> mods;
  for (const auto& [name, value] : v.get_object()) {
    DOPPEL_ASSIGN_OR_RETURN(mods[std::string(name)],
                            ParseModification(value, fmt::format("{}.{}", path, std::string_view(name)), allow_profile));
  }
  return mods;
}

Result<Distribution> ParseDistribution(const json::value& v, const std::string& path) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* object,
                          ParseObject(v, path, {"distribution", "mean", "stddev", "min", "max"}));
  const json::value* kind = object->if_contains("distribution");
  bool normal = kind && kind->is_string() && kind->get_string() == "normal";
  bool uniform = kind && kind->is_string() && kind->get_string() == "uniform";
  if (!normal && !uniform) return FieldError(path + ".distribution", "must be \"normal\" or \"uniform\"");
  auto first = normal ? std::string_view("mean") : "min";
  auto second = normal ? std::string_view("stddev") : "max";
  for (const auto& [key, value] : *object) {
    if (key != "distribution" && key != first && key != second) {
      return FieldError(fmt::format("{}.{}", path, std::string_view(key)),
                        fmt::format("not a field of a {} distribution", normal ? "normal" : "uniform"));
    }
  }
  Distribution d{.kind = normal ? Distribution::Kind::kNormal : Distribution::Kind::kUniform};
  for (auto [name, target] : {std::pair{first, &d.a}, std::pair{second, &d.b}}) {
    const json::value* field = object->if_contains(name);
    std::string field_path = fmt::format("{}.{}", path, name);
    if (!field) return FieldError(field_path, "is required");
    DOPPEL_ASSIGN_OR_RETURN(*target, ParseNumber(*field, field_path));
  }
  return d;
}

Status ParseMonteCarlo(const json::value& v, const std::string& path, ScenarioSpec& spec) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* object, ParseObject(v, path, {"samples", "seed", "parameters"}));
  MonteCarloSpec mc;
  const json::value* samples = object->if_contains("samples");
  if (!samples || !samples->is_int64() || samples->get_int64() < 1 || samples->get_int64() > INT32_MAX) {
    return FieldError(path + ".samples", "must be a positive integer");
  }
  mc.samples = static_cast<int>(samples->get_int64());
  if (const json::value* seed = object->if_contains("seed")) {
    DOPPEL_ASSIGN_OR_RETURN(spec.seed, ParseSeed(*seed, path + ".seed"));
  }
  if (const json::value* parameters = object->if_contains("parameters")) {
    if (!parameters->is_object()) return FieldError(path + ".parameters", "must be an object of variable name → distribution");
    for (const auto& [name, value] : parameters->get_object()) {
      DOPPEL_ASSIGN_OR_RETURN(mc.distributions[std::string(name)],
                              ParseDistribution(value, fmt::format("{}.parameters.{}", path, std::string_view(name))));
    }
  }
  spec.monte_carlo = std::move(mc);
  return Status::Ok();
}

Result<std::vector<std::string>> ParseOutputs(const json::value& v, std::string_view path) {
  if (!v.is_array() || v.get_array().empty()) return FieldError(path, "must be a non-empty array of variable names");
  std::vector<std::string> outputs;
  std::set<std::string_view> seen;  // views into `v`: a linear search per name was quadratic
  for (std::size_t i = 0; i < v.get_array().size(); ++i) {
    const json::value& name = v.get_array()[i];
    std::string item_path = fmt::format("{}[{}]", path, i);
    if (!name.is_string()) return FieldError(item_path, "must be a string");
    if (!seen.insert(std::string_view(name.get_string())).second) {
      return FieldError(item_path, fmt::format("'{}' is listed twice", std::string_view(name.get_string())));
    }
    outputs.emplace_back(name.get_string());
  }
  return outputs;
}

// Fields a request may set for all its scenarios; a scenario's own value wins.
Status ParseSharedField(std::string_view key, const json::value& value, const std::string& path, ScenarioSpec& spec) {
  if (key == "horizon") {
    DOPPEL_ASSIGN_OR_RETURN(spec.horizon_s, ParseDuration(value, path));
  } else if (key == "resolution") {
    DOPPEL_ASSIGN_OR_RETURN(spec.resolution_s, ParseDuration(value, path));
  } else if (key == "step") {
    DOPPEL_ASSIGN_OR_RETURN(spec.step_s, ParseDuration(value, path));
  } else if (key == "outputs") {
    DOPPEL_ASSIGN_OR_RETURN(spec.outputs, ParseOutputs(value, path));
  } else if (key == "seed") {
    DOPPEL_ASSIGN_OR_RETURN(spec.seed, ParseSeed(value, path));
  }
  return Status::Ok();
}

Result<ScenarioSpec> ParseScenario(const json::value& v, const std::string& path, ScenarioSpec spec) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* object,
                          ParseObject(v, path, {"name", "horizon", "resolution", "step", "outputs", "seed", "inputs",
                                                "parameters", "states", "monteCarlo"}));
  for (const auto& [key, value] : *object) {
    std::string field_path = fmt::format("{}.{}", path, std::string_view(key));
    DOPPEL_RETURN_IF_ERROR(ParseSharedField(key, value, field_path, spec));
    if (key == "name") {
      if (!value.is_string() || value.get_string().empty() || value.get_string().size() > 200) {
        return FieldError(field_path, "must be a string of 1 to 200 characters");
      }
      spec.name = value.get_string();
    } else if (key == "inputs") {
      DOPPEL_ASSIGN_OR_RETURN(spec.inputs, ParseModifications(value, field_path, true));
    } else if (key == "parameters") {
      DOPPEL_ASSIGN_OR_RETURN(spec.parameters, ParseModifications(value, field_path, false));
    } else if (key == "states") {
      DOPPEL_ASSIGN_OR_RETURN(spec.states, ParseModifications(value, field_path, false));
    }
  }
  // After the loop: monteCarlo.seed overrides the scenario's seed whatever the field order.
  if (const json::value* mc = object->if_contains("monteCarlo")) {
    DOPPEL_RETURN_IF_ERROR(ParseMonteCarlo(*mc, path + ".monteCarlo", spec));
  }
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Checks that need no model.

bool IsMultiple(double whole, double part) {
  double ratio = whole / part;
  return ratio >= 1 - 1e-9 && std::abs(ratio - std::round(ratio)) <= 1e-9 * ratio;
}

Status CheckTiming(const ScenarioSpec& spec, std::string_view path, const ScenarioLimits& limits) {
  if (!(spec.horizon_s > 0) || !std::isfinite(spec.horizon_s)) return FieldError(fmt::format("{}.horizon", path), "is required");
  if (!(spec.resolution_s > 0) || !std::isfinite(spec.resolution_s)) {
    return FieldError(fmt::format("{}.resolution", path), "is required");
  }
  if (!(spec.step() >= limits.min_step_s) || !std::isfinite(spec.step())) {
    return FieldError(fmt::format("{}.step", path), fmt::format("must be at least {} s", limits.min_step_s));
  }
  if (!IsMultiple(spec.resolution_s, spec.step())) {
    return FieldError(fmt::format("{}.resolution", path),
                      fmt::format("{} s is not a multiple of the step {} s", spec.resolution_s, spec.step()));
  }
  if (!IsMultiple(spec.horizon_s, spec.resolution_s)) {
    return FieldError(fmt::format("{}.horizon", path),
                      fmt::format("{} s is not a multiple of the resolution {} s", spec.horizon_s, spec.resolution_s));
  }
  if (spec.horizon_s / spec.resolution_s > static_cast<double>(limits.max_points)) {
    return FieldError(fmt::format("{}.resolution", path),
                      fmt::format("{} points per output (horizon / resolution) is over the limit of {}",
                                  std::llround(spec.horizon_s / spec.resolution_s), limits.max_points));
  }
  if (spec.horizon_s / spec.step() > static_cast<double>(limits.max_work_steps)) {
    return FieldError(fmt::format("{}.step", path), "too many steps for the horizon");
  }
  return Status::Ok();
}

Status CheckProfiles(const std::map<std::string, Modification>& inputs, std::string_view path,
                     const ScenarioLimits& limits) {
  for (const auto& [name, mod] : inputs) {
    if (!mod.profile) continue;
    std::string profile_path = fmt::format("{}.inputs.{}.profile", path, name);
    Status status = mod.profile->Validate();
    if (!status.ok()) return FieldError(profile_path, status.message());
    if (mod.profile->points.size() > limits.max_profile_points) {
      return FieldError(profile_path, fmt::format("has more than {} points", limits.max_profile_points));
    }
  }
  return Status::Ok();
}

Status CheckMonteCarlo(const ScenarioSpec& spec, std::string_view path, const ScenarioLimits& limits) {
  if (!spec.monte_carlo) return Status::Ok();
  const MonteCarloSpec& mc = *spec.monte_carlo;
  if (mc.samples < 1 || static_cast<std::size_t>(mc.samples) > limits.max_samples) {
    return FieldError(fmt::format("{}.monteCarlo.samples", path),
                      fmt::format("must be from 1 to {}", limits.max_samples));
  }
  for (const auto& [name, d] : mc.distributions) {
    std::string d_path = fmt::format("{}.monteCarlo.parameters.{}", path, name);
    if (!std::isfinite(d.a) || !std::isfinite(d.b)) return FieldError(d_path, "bounds must be finite numbers");
    if (d.kind == Distribution::Kind::kNormal && d.b < 0) return FieldError(d_path + ".stddev", "must not be negative");
    if (d.kind == Distribution::Kind::kUniform && d.a > d.b) return FieldError(d_path + ".max", "must not be below min");
    // A draw is min + (max − min) × u: a width past the double range would draw NaN for u = 0.
    if (d.kind == Distribution::Kind::kUniform && !std::isfinite(d.b - d.a)) {
      return FieldError(d_path + ".max", "is too far from min (max − min is past the range of a double)");
    }
    if (spec.parameters.contains(name) || spec.states.contains(name)) {
      return FieldError(d_path, "is also overridden in the scenario; give one or the other");
    }
  }
  return Status::Ok();
}

Status CheckSpec(const ScenarioSpec& spec, std::string_view path, const ScenarioLimits& limits) {
  DOPPEL_RETURN_IF_ERROR(CheckTiming(spec, path, limits));
  DOPPEL_RETURN_IF_ERROR(CheckProfiles(spec.inputs, path, limits));
  return CheckMonteCarlo(spec, path, limits);
}

Status CheckNames(const ScenarioRequest& request) {
  for (std::size_t i = 0; i < request.scenarios.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (request.scenarios[i].name == request.scenarios[j].name) {
        return FieldError(fmt::format("scenarios[{}].name", i),
                          fmt::format("'{}' is already used by scenarios[{}]", request.scenarios[i].name, j));
      }
    }
  }
  return Status::Ok();
}

Status CheckRequest(const ScenarioRequest& request, const ScenarioLimits& limits) {
  if (request.scenarios.empty()) return FieldError("scenarios", "at least one scenario is needed");
  if (request.scenarios.size() > limits.max_scenarios) {
    return FieldError("scenarios", fmt::format("more than {} scenarios", limits.max_scenarios));
  }
  for (std::size_t i = 0; i < request.scenarios.size(); ++i) {
    DOPPEL_RETURN_IF_ERROR(CheckSpec(request.scenarios[i], fmt::format("scenarios[{}]", i), limits));
  }
  return CheckNames(request);
}

// ---------------------------------------------------------------------------------------------
// Checks against the model.

Status CheckVariable(const ModelInfo& info, const std::string& name, std::string_view path,
                     std::initializer_list<Causality> allowed) {
  auto index = info.Find(name);
  if (!index) return FieldError(path, fmt::format("model '{}' has no variable '{}'", info.name, name));
  Causality causality = info.variables[*index].causality;
  if (std::find(allowed.begin(), allowed.end(), causality) != allowed.end()) return Status::Ok();
  std::string wanted;
  for (Causality c : allowed) wanted += fmt::format("{}{}", wanted.empty() ? "" : " or ", CausalityName(c));
  return FieldError(path, fmt::format("'{}' is {} {}, not {} {}", name, causality == Causality::kInput ? "an" : "a",
                                      CausalityName(causality), wanted.front() == 'i' ? "an" : "a", wanted));
}

Status CheckModelNames(const ScenarioSpec& spec, std::string_view path, const ModelInfo& info) {
  for (const auto& [name, mod] : spec.inputs) {
    DOPPEL_RETURN_IF_ERROR(CheckVariable(info, name, fmt::format("{}.inputs.{}", path, name), {Causality::kInput}));
  }
  for (const auto& [name, mod] : spec.parameters) {
    DOPPEL_RETURN_IF_ERROR(
        CheckVariable(info, name, fmt::format("{}.parameters.{}", path, name), {Causality::kParameter}));
  }
  for (const auto& [name, mod] : spec.states) {
    DOPPEL_RETURN_IF_ERROR(CheckVariable(info, name, fmt::format("{}.states.{}", path, name), {Causality::kState}));
  }
  if (spec.monte_carlo) {
    for (const auto& [name, d] : spec.monte_carlo->distributions) {
      DOPPEL_RETURN_IF_ERROR(CheckVariable(info, name, fmt::format("{}.monteCarlo.parameters.{}", path, name),
                                           {Causality::kParameter, Causality::kState}));
    }
  }
  for (std::size_t i = 0; i < spec.outputs.size(); ++i) {
    if (!info.Find(spec.outputs[i])) {
      return FieldError(fmt::format("{}.outputs[{}]", path, i),
                        fmt::format("model '{}' has no variable '{}'", info.name, spec.outputs[i]));
    }
  }
  return Status::Ok();
}

// Applies parameter then state overrides (a scale is relative to the forked value).
Status ApplyOverrides(Simulation& sim, const std::map<std::string, Modification>& mods, std::string_view path) {
  for (const auto& [name, mod] : mods) {
    std::size_t index = *sim.info().Find(name);
    Status status = sim.Set(index, mod.Apply(sim.Get(index)));
    if (!status.ok()) return FieldError(fmt::format("{}.{}", path, name), status.message());
  }
  return Status::Ok();
}

std::vector<std::size_t> RecordedVariables(const ScenarioSpec& spec, const ModelInfo& info) {
  std::vector<std::size_t> recorded;
  if (spec.outputs.empty()) {
    for (std::size_t i = 0; i < info.variables.size(); ++i) {
      if (info.variables[i].causality == Causality::kOutput) recorded.push_back(i);
    }
  } else {
    for (const std::string& name : spec.outputs) recorded.push_back(*info.Find(name));
  }
  return recorded;
}

Status CheckTotals(const ScenarioRequest& request, const ModelInfo& info, const ScenarioLimits& limits) {
  double work = 0, stored = 0;
  for (const ScenarioSpec& spec : request.scenarios) {
    work += static_cast<double>(spec.runs()) * static_cast<double>(spec.steps());
    stored += static_cast<double>(spec.runs()) * static_cast<double>(spec.points()) *
              static_cast<double>(RecordedVariables(spec, info).size());
  }
  if (work > static_cast<double>(limits.max_work_steps)) {
    return Status::InvalidArgument(fmt::format(
        "request needs {:.3g} model steps (scenarios × samples × horizon / step), over the limit of {:.3g}: "
        "shorten the horizon, lengthen the step, or use fewer scenarios or samples",
        work, static_cast<double>(limits.max_work_steps)));
  }
  if (stored > static_cast<double>(limits.max_stored_values)) {
    return Status::InvalidArgument(fmt::format(
        "request needs {:.3g} recorded values (scenarios × samples × points × outputs), over the limit of {:.3g}: "
        "record fewer outputs, coarsen the resolution, or use fewer samples",
        stored, static_cast<double>(limits.max_stored_values)));
  }
  return Status::Ok();
}

Status CheckBaseProfiles(const BaseProfiles& profiles, const ModelInfo& info) {
  for (const auto& [name, profile] : profiles) {
    std::string path = fmt::format("base profile '{}'", name);
    DOPPEL_RETURN_IF_ERROR(CheckVariable(info, name, path, {Causality::kInput}));
    Status status = profile.Validate();
    if (!status.ok()) return FieldError(path, status.message());
  }
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

double InputProfile::At(double t_s) const {
  std::size_t hint = 0;
  return At(t_s, &hint);
}

double InputProfile::At(double t_s, std::size_t* hint) const {
  if (t_s <= points.front().first) return points.front().second;
  if (t_s >= points.back().first) return points.back().second;
  std::size_t i = *hint;
  if (i + 1 >= points.size() || points[i].first > t_s) {
    auto after = std::upper_bound(points.begin(), points.end(), t_s,
                                  [](double t, const auto& point) { return t < point.first; });
    i = static_cast<std::size_t>(after - points.begin()) - 1;
  }
  while (points[i + 1].first <= t_s) ++i;  // now points[i].first <= t_s < points[i + 1].first
  *hint = i;
  const auto& [t0, v0] = points[i];
  if (interpolation == Interpolation::kStep) return v0;
  const auto& [t1, v1] = points[i + 1];
  return v0 + (v1 - v0) * (t_s - t0) / (t1 - t0);
}

Status InputProfile::Validate() const {
  if (points.empty()) return Status::InvalidArgument("profile has no points");
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (!std::isfinite(points[i].first) || !std::isfinite(points[i].second)) {
      return Status::InvalidArgument(fmt::format("profile point {} is not finite", i));
    }
    if (i > 0 && points[i].first <= points[i - 1].first) {
      return Status::InvalidArgument(fmt::format("profile point {}: time {} is not after the previous {}", i,
                                                 points[i].first, points[i - 1].first));
    }
    // Interpolation divides by the gap and scales by the step: a gap past the double range
    // would make the value NaN between these points (and every later input NaN).
    if (i > 0 && (!std::isfinite(points[i].first - points[i - 1].first) ||
                  !std::isfinite(points[i].second - points[i - 1].second))) {
      return Status::InvalidArgument(
          fmt::format("profile point {}: the change from the previous point is past the range of a double", i));
    }
  }
  return Status::Ok();
}

std::size_t ScenarioSpec::points() const {
  return static_cast<std::size_t>(std::llround(horizon_s / resolution_s)) + 1;
}

std::size_t ScenarioSpec::steps() const { return static_cast<std::size_t>(std::llround(horizon_s / step())); }

Result<ScenarioRequest> ParseScenarioRequest(const json::value& body, const ScenarioLimits& limits) {
  DOPPEL_ASSIGN_OR_RETURN(const json::object* object,
                          ParseObject(body, "request", {"scenarios", "horizon", "resolution", "step", "outputs", "seed"}));
  ScenarioSpec defaults;
  for (const auto& [key, value] : *object) {
    DOPPEL_RETURN_IF_ERROR(ParseSharedField(key, value, std::string(key), defaults));
  }
  const json::value* scenarios = object->if_contains("scenarios");
  if (!scenarios || !scenarios->is_array()) return FieldError("scenarios", "must be an array of scenarios");
  if (scenarios->get_array().size() > limits.max_scenarios) {
    return FieldError("scenarios", fmt::format("more than {} scenarios", limits.max_scenarios));
  }
  ScenarioRequest request;
  for (std::size_t i = 0; i < scenarios->get_array().size(); ++i) {
    defaults.name = fmt::format("scenario {}", i + 1);
    DOPPEL_ASSIGN_OR_RETURN(ScenarioSpec spec,
                            ParseScenario(scenarios->get_array()[i], fmt::format("scenarios[{}]", i), defaults));
    request.scenarios.push_back(std::move(spec));
  }
  DOPPEL_RETURN_IF_ERROR(CheckRequest(request, limits));
  return request;
}

Result<ScenarioRequest> ParseScenarioRequest(std::string_view json_text, const ScenarioLimits& limits) {
  DOPPEL_ASSIGN_OR_RETURN(json::value body, ParseJson(json_text));
  return ParseScenarioRequest(body, limits);
}

Status ValidateScenarioRequest(const ScenarioRequest& request, const Simulation& base, const BaseProfiles& profiles,
                               const ScenarioLimits& limits) {
  DOPPEL_RETURN_IF_ERROR(CheckRequest(request, limits));
  const ModelInfo& info = base.info();
  DOPPEL_RETURN_IF_ERROR(CheckBaseProfiles(profiles, info));
  for (std::size_t i = 0; i < request.scenarios.size(); ++i) {
    DOPPEL_RETURN_IF_ERROR(CheckModelNames(request.scenarios[i], fmt::format("scenarios[{}]", i), info));
  }
  DOPPEL_RETURN_IF_ERROR(CheckTotals(request, info, limits));
  // Overrides that land outside a variable's range are refused now rather than failing a job.
  for (std::size_t i = 0; i < request.scenarios.size(); ++i) {
    const ScenarioSpec& spec = request.scenarios[i];
    if (spec.parameters.empty() && spec.states.empty()) continue;
    DOPPEL_ASSIGN_OR_RETURN(std::unique_ptr<Simulation> fork, base.Clone());
    DOPPEL_RETURN_IF_ERROR(ApplyOverrides(*fork, spec.parameters, fmt::format("scenarios[{}].parameters", i)));
    DOPPEL_RETURN_IF_ERROR(ApplyOverrides(*fork, spec.states, fmt::format("scenarios[{}].states", i)));
  }
  return Status::Ok();
}

const OutputSeries* ScenarioResult::Find(std::string_view output) const {
  for (const OutputSeries& series : outputs) {
    if (series.name == output) return &series;
  }
  return nullptr;
}

}  // namespace doppel::sim
