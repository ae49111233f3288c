#include "app/load_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <set>

#include "app/models_command.h"

namespace doppel::app {
namespace {

struct LoadSummary {
  std::size_t models_uploaded = 0;
  std::size_t models_present = 0;
  std::size_t twins = 0;
  std::size_t relationships = 0;
  std::size_t bindings = 0;
  std::size_t analytics = 0;  // detectors, KPI definitions and RUL models
  bool envelope = false;      // automation/envelope.json
  std::size_t rules = 0;
};

std::string StringField(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value && value->is_string() ? std::string(value->as_string()) : "";
}

// Uploads the models the server does not have yet, in one request. Knowing what exists
// first (rather than reacting to 409) keeps a partly loaded directory loadable: the new
// models go up, the old ones are left alone.
Status LoadModels(client::ApiClient& api, const std::string& models_dir, LoadSummary& summary) {
  std::vector<std::string> file_errors;
  json::array models = FlattenModels(ReadJsonFiles({models_dir}, file_errors));
  if (!file_errors.empty()) return Status::InvalidArgument(file_errors.front());
  DOPPEL_ASSIGN_OR_RETURN(json::array existing, api.ListAll("/models"));
  std::set<std::string> known;
  for (const auto& model : existing) {
    if (model.is_object()) known.insert(StringField(model.as_object(), "id"));
  }
  json::value missing = json::array();
  for (auto& model : models) {
    if (known.contains(ModelId(model))) {
      ++summary.models_present;
    } else {
      missing.as_array().push_back(model);
    }
  }
  if (missing.as_array().empty()) return Status::Ok();
  auto created = api.Call("POST", "/models", &missing);
  // Someone else uploaded them between our listing and our upload: still what we wanted.
  if (!created.ok() && created.status().error_code() == "ModelAlreadyExists") {
    summary.models_present += missing.as_array().size();
    return Status::Ok();
  }
  if (!created.ok()) return created.status();
  summary.models_uploaded = missing.as_array().size();
  return Status::Ok();
}

Status PutTwins(client::ApiClient& api, const json::array& twins, LoadSummary& summary) {
  for (const auto& twin : twins) {
    if (!twin.is_object()) return Status::InvalidArgument("twins.json: a twin is not an object");
    std::string id = StringField(twin.as_object(), "$dtId");
    if (id.empty()) return Status::InvalidArgument("twins.json: a twin has no \"$dtId\"");
    json::value body = twin;
    body.as_object().erase("$etag");
    auto put = api.Call("PUT", "/digitaltwins/" + client::EncodePathSegment(id), &body);
    if (!put.ok())
      return Status(put.status().code(), put.status().error_code(),
                    "twin " + id + ": " + put.status().message());
    ++summary.twins;
  }
  return Status::Ok();
}

Status PutRelationships(client::ApiClient& api, const json::array& relationships,
                        LoadSummary& summary) {
  for (const auto& relationship : relationships) {
    if (!relationship.is_object())
      return Status::InvalidArgument("twins.json: a relationship is not an object");
    const auto& object = relationship.as_object();
    std::string source = StringField(object, "$sourceId"),
                id = StringField(object, "$relationshipId");
    if (source.empty() || id.empty()) {
      return Status::InvalidArgument(
          "twins.json: a relationship lacks \"$sourceId\" or \"$relationshipId\"");
    }
    json::value body = relationship;
    for (auto key : {"$sourceId", "$relationshipId", "$etag"}) body.as_object().erase(key);
    auto put =
        api.Call("PUT",
                 fmt::format("/digitaltwins/{}/relationships/{}", client::EncodePathSegment(source),
                             client::EncodePathSegment(id)),
                 &body);
    if (!put.ok()) {
      return Status(put.status().code(), put.status().error_code(),
                    fmt::format("relationship {} of {}: {}", id, source, put.status().message()));
    }
    ++summary.relationships;
  }
  return Status::Ok();
}

// <dir>/<name>.json: one definition each, PUT to <route>/<name> (`what` names it in errors);
// answers how many.
Result<std::size_t> PutDefinitions(client::ApiClient& api, const std::filesystem::path& dir, std::string_view route,
                                   std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return std::size_t{0};
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    DOPPEL_ASSIGN_OR_RETURN(std::string text, ReadFileOrStdin(file.string()));
    auto body = ParseJson(text);
    if (!body.ok()) return Status::InvalidArgument(file.string() + ": " + body.status().message());
    const std::string name = file.stem().string();
    auto put = api.Call("PUT", fmt::format("{}/{}", route, client::EncodePathSegment(name)), &*body);
    if (!put.ok()) {
      return Status(put.status().code(), put.status().error_code(),
                    fmt::format("{} {}: {}", what, name, put.status().message()));
    }
  }
  return files.size();
}

// automation/envelope.json: the safety envelope, PUT before the rules it bounds
// (docs/automation.md).
Status PutEnvelope(client::ApiClient& api, const std::filesystem::path& file, LoadSummary& summary) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(std::string text, ReadFileOrStdin(file.string()));
  auto body = ParseJson(text);
  if (!body.ok()) return Status::InvalidArgument(file.string() + ": " + body.status().message());
  auto put = api.Call("PUT", "/automation/envelope", &*body);
  if (!put.ok()) {
    return Status(put.status().code(), put.status().error_code(),
                  fmt::format("safety envelope {}: {}", file.string(), put.status().message()));
  }
  summary.envelope = true;
  return Status::Ok();
}

// simulation/<name>.json: simulation bindings (docs/simulation.md); analytics/detectors,
// analytics/kpis and analytics/rul/<name>.json: analytics definitions (docs/analytics.md);
// automation/envelope.json and rules/<name>.json: the safety envelope and the rules
// (docs/automation.md), last — rules read what analytics derives.
Status PutAllDefinitions(client::ApiClient& api, const std::filesystem::path& dir, LoadSummary& summary) {
  DOPPEL_ASSIGN_OR_RETURN(summary.bindings,
                          PutDefinitions(api, dir / "simulation", "/simulation/bindings", "simulation binding"));
  const std::filesystem::path analytics = dir / "analytics";
  DOPPEL_ASSIGN_OR_RETURN(std::size_t detectors,
                          PutDefinitions(api, analytics / "detectors", "/analytics/detectors", "detector"));
  DOPPEL_ASSIGN_OR_RETURN(std::size_t kpis, PutDefinitions(api, analytics / "kpis", "/analytics/kpis", "KPI definition"));
  DOPPEL_ASSIGN_OR_RETURN(std::size_t rul, PutDefinitions(api, analytics / "rul", "/analytics/rul", "RUL model"));
  summary.analytics = detectors + kpis + rul;
  DOPPEL_RETURN_IF_ERROR(PutEnvelope(api, dir / "automation" / "envelope.json", summary));
  DOPPEL_ASSIGN_OR_RETURN(summary.rules, PutDefinitions(api, dir / "rules", "/rules", "rule"));
  return Status::Ok();
}

Status Load(client::ApiClient& api, const std::filesystem::path& dir, LoadSummary& summary) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return Status::NotFound(dir.string() + ": no such directory");
  if (std::filesystem::is_directory(dir / "models", ec)) {
    DOPPEL_RETURN_IF_ERROR(LoadModels(api, (dir / "models").string(), summary));
  }
  if (!std::filesystem::exists(dir / "twins.json", ec)) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(std::string text, ReadFileOrStdin((dir / "twins.json").string()));
  auto document = ParseJson(text);
  if (!document.ok()) return Status::InvalidArgument("twins.json: " + document.status().message());
  if (!document->is_object()) return Status::InvalidArgument("twins.json: expected an object");
  const auto& graph = document->as_object();
  if (const auto* twins = graph.if_contains("twins"); twins && twins->is_array()) {
    DOPPEL_RETURN_IF_ERROR(PutTwins(api, twins->as_array(), summary));
  }
  if (const auto* relationships = graph.if_contains("relationships");
      relationships && relationships->is_array()) {
    DOPPEL_RETURN_IF_ERROR(PutRelationships(api, relationships->as_array(), summary));
  }
  // Bindings and analytics last: they cover twins that now exist.
  return PutAllDefinitions(api, dir, summary);
}

}  // namespace

int LoadDirectory(const std::string& url, const std::string& dir, const CommandIo& io) {
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  LoadSummary summary;
  Status loaded = Load(**api, dir, summary);
  if (!loaded.ok()) return ReportError(loaded, io);
  io.out << fmt::format(
      "loaded {}: {} models uploaded ({} already present), {} twins, {} relationships, {} simulation bindings, {} "
      "analytics definitions, {} rules{}\n",
      dir, summary.models_uploaded, summary.models_present, summary.twins, summary.relationships, summary.bindings,
      summary.analytics, summary.rules, summary.envelope ? ", the safety envelope" : "");
  return 0;
}

}  // namespace doppel::app
