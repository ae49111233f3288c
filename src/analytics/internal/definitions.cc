#include "analytics/internal/definitions.h"

#include <algorithm>

#include <fmt/format.h>

#include "analytics/kpi/duration_text.h"
#include "model/model_registry.h"

namespace doppel::analytics::service_internal {
namespace {

Result<std::string> OptionalString(const json::object& body, std::string_view key, std::string_view what) {
  const json::value* v = body.if_contains(key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string() || v->get_string().empty()) {
    return Status::InvalidArgument(fmt::format("{} '{}' must be a non-empty string", what, key));
  }
  return std::string(v->get_string());
}

Result<Coverage> ParseCoverage(const json::object& body, std::string_view what) {
  Coverage coverage;
  const json::value* model = body.if_contains("model");
  const json::value* twins = body.if_contains("twins");
  if ((model == nullptr) == (twins == nullptr)) {
    return Status::InvalidArgument(
        fmt::format("{} needs exactly one of 'model' (a DTMI) or 'twins' (an array of twin ids)", what));
  }
  if (model != nullptr) {
    if (!model->is_string() || !model->get_string().starts_with("dtmi:")) {
      return Status::InvalidArgument(fmt::format("{} 'model' must be a DTMI string (\"dtmi:...;1\")", what));
    }
    coverage.model = model->get_string();
    return coverage;
  }
  if (!twins->is_array() || twins->get_array().empty()) {
    return Status::InvalidArgument(fmt::format("{} 'twins' must be a non-empty array of twin ids", what));
  }
  for (const json::value& id : twins->get_array()) {
    if (!id.is_string() || id.get_string().empty()) {
      return Status::InvalidArgument(fmt::format("{} 'twins' must hold twin ids (strings)", what));
    }
    coverage.twins.emplace_back(id.get_string());
  }
  std::sort(coverage.twins.begin(), coverage.twins.end());
  coverage.twins.erase(std::unique(coverage.twins.begin(), coverage.twins.end()), coverage.twins.end());
  return coverage;
}

}  // namespace

Status CheckName(std::string_view name, std::string_view what) {
  const bool valid = !name.empty() && name.size() <= 64 &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
                     });
  if (valid) return Status::Ok();
  return Status::InvalidArgument(fmt::format("{} name '{}' must be 1-64 of A-Z a-z 0-9 _ -", what, name));
}

bool Coverage::Covers(const twin::GraphState& graph, std::string_view twin_id) const {
  const twin::Twin* twin = graph.FindTwin(twin_id);
  if (twin == nullptr) return false;
  if (model.empty()) return std::binary_search(twins.begin(), twins.end(), twin_id);
  return graph.models().IsOfModel(twin->model_id, model);
}

std::vector<std::string> Coverage::Resolve(const twin::GraphState& graph) const {
  std::vector<std::string> ids;
  if (model.empty()) {
    for (const auto& id : twins) {
      if (graph.FindTwin(id) != nullptr) ids.push_back(id);
    }
    return ids;
  }
  for (const auto& [model_id, entry] : graph.models().entries()) {
    if (!graph.models().IsOfModel(model_id, model)) continue;
    if (const auto* of_model = graph.TwinsOfExactModel(model_id)) ids.insert(ids.end(), of_model->begin(), of_model->end());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

json::object Without(const json::object& body, std::initializer_list<std::string_view> keys) {
  json::object out;
  for (const auto& [key, value] : body) {
    if (std::find(keys.begin(), keys.end(), std::string_view(key)) == keys.end()) out[key] = value;
  }
  return out;
}

Status CheckModelPaths(const twin::GraphState& graph, const Coverage& coverage, std::string_view what,
                       const std::vector<NamedPath>& reads, const std::vector<NamedPath>& writes) {
  if (coverage.model.empty()) return Status::Ok();
  model::InterfacePtr iface = graph.models().Get(coverage.model);
  if (iface == nullptr) return Status::Ok();
  for (const NamedPath& read : reads) {
    if (graph.models().FindValue(*iface, read.path) == nullptr) {
      return Status::InvalidArgument(fmt::format("{} '{}': model '{}' has no property or telemetry '{}'", what,
                                                 read.field, coverage.model, read.path));
    }
  }
  for (const NamedPath& write : writes) {
    const model::Content* content = graph.models().FindValue(*iface, write.path);
    const bool numeric = content != nullptr && content->kind == model::ContentKind::kTelemetry &&
                         content->schema->kind == model::Schema::Kind::kPrimitive &&
                         (content->schema->primitive == model::PrimitiveType::kDouble ||
                          content->schema->primitive == model::PrimitiveType::kFloat);
    if (!numeric) {
      return Status::InvalidArgument(fmt::format("{} '{}': model '{}' has no double or float telemetry '{}'", what,
                                                 write.field, coverage.model, write.path));
    }
  }
  return Status::Ok();
}

Result<DetectorDef> ParseDetectorDef(std::string_view name, const json::value& body) {
  if (!body.is_object()) return Status::InvalidArgument("a detector must be a JSON object");
  const json::object& o = body.get_object();
  DetectorDef def{.name = std::string(name), .body = o};
  DOPPEL_ASSIGN_OR_RETURN(def.coverage, ParseCoverage(o, "detector"));
  DOPPEL_ASSIGN_OR_RETURN(def.output, OptionalString(o, "output", "detector"));
  DOPPEL_ASSIGN_OR_RETURN(def.spec, ParseDetectorSpec(Without(o, {"model", "twins", "output"})));
  if (def.spec.signals.empty()) return Status::InvalidArgument("detector 'signals' must name at least one signal");
  def.fingerprint = ToJson(def.body);
  return def;
}

std::vector<std::string> RulDef::Columns() const {
  std::vector<std::string> columns = spec.signals;
  columns.insert(columns.end(), spec.settings.begin(), spec.settings.end());
  return columns;
}

Result<RulDef> ParseRulDef(std::string_view name, const json::value& body) {
  if (!body.is_object()) return Status::InvalidArgument("a RUL model must be a JSON object");
  const json::object& o = body.get_object();
  RulDef def{.name = std::string(name), .body = o};
  DOPPEL_ASSIGN_OR_RETURN(def.coverage, ParseCoverage(o, "RUL model"));
  DOPPEL_ASSIGN_OR_RETURN(def.spec, ParseRulSpec(Without(o, {"model", "twins", "cycle", "failure", "outputs"})));
  if (def.spec.signals.empty()) return Status::InvalidArgument("RUL model 'signals' must name at least one signal");
  DOPPEL_ASSIGN_OR_RETURN(std::string cycle, OptionalString(o, "cycle", "RUL model"));
  if (!cycle.empty() && cycle != "reading") {
    DOPPEL_ASSIGN_OR_RETURN(def.bucket_ns, ParseDurationText(cycle, "cycle"));
  }
  DOPPEL_ASSIGN_OR_RETURN(def.failure, OptionalString(o, "failure", "RUL model"));
  if (def.failure.empty()) {
    return Status::InvalidArgument("RUL model 'failure' is required: the boolean telemetry or property that is true "
                                   "where a unit failed");
  }
  if (const json::value* outputs = o.if_contains("outputs"); outputs != nullptr && !outputs->is_null()) {
    if (!outputs->is_object()) {
      return Status::InvalidArgument("RUL model 'outputs' must be an object {\"rul\", \"low\", \"high\", \"health\"}");
    }
    const json::object& out = outputs->get_object();
    for (const auto& [key, value] : out) {
      if (key != "rul" && key != "low" && key != "high" && key != "health") {
        return Status::InvalidArgument(fmt::format(
            "RUL model 'outputs' has an unknown key '{}' (expected rul, low, high, health)", std::string_view(key)));
      }
    }
    DOPPEL_ASSIGN_OR_RETURN(def.outputs.rul, OptionalString(out, "rul", "RUL model output"));
    DOPPEL_ASSIGN_OR_RETURN(def.outputs.low, OptionalString(out, "low", "RUL model output"));
    DOPPEL_ASSIGN_OR_RETURN(def.outputs.high, OptionalString(out, "high", "RUL model output"));
    DOPPEL_ASSIGN_OR_RETURN(def.outputs.health, OptionalString(out, "health", "RUL model output"));
  }
  return def;
}

}  // namespace doppel::analytics::service_internal
