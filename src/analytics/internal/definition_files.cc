// AnalyticsService's definitions on disk and in the config file: detectors.json, rul.json and
// kpis.json (API-defined, {name: body}), trained RUL models (rul_models/<name>.json), the saved
// detector states, and the config file's "analytics" section (read-only through the API).
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "analytics/internal/service_state.h"
#include "base/file_io.h"

namespace doppel::analytics {
namespace {

using service_internal::DetectorDef;
using service_internal::RulDef;
using service_internal::RulEntry;
namespace fs = std::filesystem;

// A JSON object file; an absent file is an empty object.
Result<json::object> ReadObjectFile(const std::string& path) {
  if (path.empty()) return json::object{};
  auto text = ReadFile(path);
  if (text.status().code() == StatusCode::kNotFound) return json::object{};
  DOPPEL_RETURN_IF_ERROR(text.status());
  auto doc = ParseJson(*text, JsonLimits{.max_bytes = 1u << 30, .max_depth = 256});
  if (!doc.ok() || !doc->is_object()) return Status::InvalidArgument(fmt::format("{}: not a JSON object", path));
  return std::move(doc->get_object());
}

Status WriteObjectFile(const std::string& path, const json::object& object) {
  if (path.empty()) return Status::Ok();
  return WriteFileAtomically(path, ToPrettyJson(object));
}

}  // namespace

Status AnalyticsService::State::LoadDefinitions() {
  DOPPEL_ASSIGN_OR_RETURN(json::object saved_detectors, ReadObjectFile(PathIn(service_internal::kDetectorsFile)));
  for (const auto& [name, body] : saved_detectors) {
    auto def = service_internal::ParseDetectorDef(name, body);
    if (!def.ok()) {  // a detector kind this build no longer has: keep the others running
      spdlog::error("analytics detector '{}' skipped: {}", std::string_view(name), def.status().message());
      continue;
    }
    detectors[std::string(name)] = std::make_shared<const DetectorDef>(std::move(*def));
  }
  DOPPEL_ASSIGN_OR_RETURN(json::object saved_rul, ReadObjectFile(PathIn(service_internal::kRulFile)));
  for (const auto& [name, body] : saved_rul) {
    auto def = service_internal::ParseRulDef(name, body);
    if (!def.ok()) {
      spdlog::error("analytics RUL model '{}' skipped: {}", std::string_view(name), def.status().message());
      continue;
    }
    rul[std::string(name)] = RulEntry{.def = std::make_shared<const RulDef>(std::move(*def))};
  }
  DOPPEL_ASSIGN_OR_RETURN(json::object kpis, ReadObjectFile(PathIn(service_internal::kKpisFile)));
  if (!kpis.empty()) {
    if (Status loaded = kpi->LoadDefinitions(kpis); !loaded.ok()) {  // e.g. a model deleted since
      spdlog::error("analytics: {}", loaded.message());
    }
  }
  auto states = ReadObjectFile(PathIn(service_internal::kStatesFile));
  if (states.ok()) {
    saved_states = std::move(*states);
  } else {
    spdlog::warn("analytics: detector states not restored ({}); detectors warm up from history",
                 states.status().message());
  }
  return Status::Ok();
}

std::string AnalyticsService::State::RulModelFile(std::string_view name) const {
  if (options.dir.empty()) return {};
  return (fs::path(PathIn(service_internal::kRulModelDir)) / fmt::format("{}.json", name)).string();
}

void AnalyticsService::State::LoadTrainedModel(RulEntry& entry) {
  const std::string file = RulModelFile(entry.def->name);
  if (file.empty()) return;
  auto text = ReadFile(file);
  if (!text.ok()) return;
  auto doc = ParseJson(*text, JsonLimits{.max_bytes = 1u << 30, .max_depth = 256});
  if (!doc.ok()) return;
  auto model = RulModel::Load(*doc);
  if (!model.ok()) {
    spdlog::warn("analytics: trained RUL model '{}' not loaded: {}", entry.def->name, model.status().message());
    return;
  }
  if (ToJson(RulSpecToJson((*model)->spec())) != ToJson(RulSpecToJson(entry.def->spec))) {
    spdlog::warn("analytics: trained RUL model '{}' was trained for another definition; train it again",
                 entry.def->name);
    return;
  }
  entry.model = std::move(*model);
  entry.status = "trained";
  entry.progress = 1;
}

Status AnalyticsService::State::LoadConfig() {
  for (const auto& [key, value] : options.config) {
    if (key != "detectors" && key != "rul" && key != "kpis") {
      return Status::InvalidArgument(fmt::format(
          "analytics.{}: unknown key (expected detectors, rul, kpis)", std::string_view(key)));
    }
    if (!value.is_object()) {
      return Status::InvalidArgument(fmt::format("analytics.{}: must be an object of name: definition",
                                                 std::string_view(key)));
    }
    for (const auto& [name, body] : value.get_object()) {
      const auto fail = [&](const Status& s) {
        return Status::InvalidArgument(
            fmt::format("analytics.{}.{}: {}", std::string_view(key), std::string_view(name), s.message()));
      };
      if (Status s = service_internal::CheckName(name, "a definition's"); !s.ok()) return fail(s);
      const std::string id(name);
      if (key == "detectors") {
        auto def = service_internal::ParseDetectorDef(name, body);
        if (!def.ok()) return fail(def.status());
        detectors[id] = std::make_shared<const DetectorDef>(std::move(*def));
        config_detectors.insert(id);
      } else if (key == "rul") {
        auto def = service_internal::ParseRulDef(name, body);
        if (!def.ok()) return fail(def.status());
        rul[id] = RulEntry{.def = std::make_shared<const RulDef>(std::move(*def))};
        config_rul.insert(id);
      } else {
        auto put = kpi->Put(name, body);
        if (put.status().code() == StatusCode::kNotFound) {
          // A server may start before its models are uploaded: defined once they are.
          spdlog::info("analytics.kpis.{}: waiting for its model ({})", id, put.status().message());
          pending_kpis[id] = body;
        } else if (!put.ok()) {
          return fail(put.status());
        }
        config_kpis.insert(id);
      }
    }
  }
  return Status::Ok();
}

void AnalyticsService::State::RetryPendingKpis() {
  std::lock_guard lock(defs_mu);
  for (auto it = pending_kpis.begin(); it != pending_kpis.end();) {
    auto put = kpi->Put(it->key(), it->value());
    if (put.status().code() == StatusCode::kNotFound) {
      ++it;
      continue;
    }
    if (!put.ok()) spdlog::error("analytics.kpis.{}: {}", std::string_view(it->key()), put.status().message());
    it = pending_kpis.erase(it);
  }
}

Status AnalyticsService::State::SaveDetectorsLocked() const {
  json::object all;
  for (const auto& [name, def] : detectors) {
    if (!config_detectors.contains(name)) all[name] = def->body;
  }
  return WriteObjectFile(PathIn(service_internal::kDetectorsFile), all);
}

Status AnalyticsService::State::SaveRulLocked() const {
  json::object all;
  for (const auto& [name, entry] : rul) {
    if (!config_rul.contains(name)) all[name] = entry.def->body;
  }
  return WriteObjectFile(PathIn(service_internal::kRulFile), all);
}

Status AnalyticsService::State::SaveKpis() const {
  json::object all = kpi->SaveDefinitions();
  for (const auto& name : config_kpis) all.erase(name);  // the config file has them
  return WriteObjectFile(PathIn(service_internal::kKpisFile), all);
}

}  // namespace doppel::analytics
