#include "app/models_command.h"

#include <fmt/format.h>

#include <cctype>
#include <optional>
#include <ostream>

#include "model/dtdl_parser.h"

namespace doppel::app {
namespace {

// "$[3].contents[1]" → 3, when the path starts with a document index.
std::optional<std::size_t> DocumentIndex(std::string_view json_path) {
  if (!json_path.starts_with("$[")) return std::nullopt;
  std::size_t index = 0, i = 2;
  for (; i < json_path.size() && std::isdigit(static_cast<unsigned char>(json_path[i])); ++i) {
    index = index * 10 + static_cast<std::size_t>(json_path[i] - '0');
  }
  if (i == 2 || i >= json_path.size() || json_path[i] != ']') return std::nullopt;
  return index;
}

std::string DisplayName(const json::value& model) {
  const auto* name = model.is_object() ? model.as_object().if_contains("displayName") : nullptr;
  if (!name) return "";
  if (name->is_string()) return std::string(name->as_string());
  if (name->is_object()) {
    const auto& texts = name->as_object();
    if (const auto* en = texts.if_contains("en"); en && en->is_string())
      return std::string(en->as_string());
    if (!texts.empty() && texts.begin()->value().is_string())
      return std::string(texts.begin()->value().as_string());
  }
  return "";
}

// A model listing names the model "id" (ADT's DigitalTwinsModelData); a bare DTDL
// document names it "@id".
std::string ListedModelId(const json::value& model) {
  const auto* id = model.is_object() ? model.as_object().if_contains("id") : nullptr;
  if (id && id->is_string()) return std::string(id->as_string());
  return ModelId(model);
}

std::string ModelPath(const std::string& id) { return "/models/" + client::EncodePathSegment(id); }

}  // namespace

std::string ModelId(const json::value& model) {
  if (!model.is_object()) return "";
  const auto* id = model.as_object().if_contains("@id");
  return id && id->is_string() ? std::string(id->as_string()) : "";
}

json::array FlattenModels(const std::vector<JsonFile>& files) {
  json::array models;
  for (const auto& file : files) {
    if (file.document.is_array()) {
      for (const auto& model : file.document.as_array()) models.push_back(model);
    } else {
      models.push_back(file.document);
    }
  }
  return models;
}

int ValidateModels(const ValidateModelsOptions& options, const CommandIo& io) {
  std::vector<std::string> file_errors;
  std::vector<JsonFile> files = ReadJsonFiles(options.paths, file_errors);
  for (const auto& error : file_errors) io.err << "error: " << error << "\n";
  if (files.empty() && file_errors.empty()) {
    io.err << "error: no .json files found\n";
    return 1;
  }
  std::vector<json::value> documents;
  for (const auto& file : files) documents.push_back(file.document);
  model::ParseOptions parse_options;
  parse_options.allow_undefined_extensions = options.allow_undefined_extensions;
  model::ParseResult result = model::DtdlParser(parse_options).Parse(documents);
  for (const auto& e : result.errors) {
    std::string where = e.json_path;
    if (auto index = DocumentIndex(e.json_path); index && *index < files.size()) {
      where += " in " + files[*index].path;
    }
    io.err << fmt::format("error: {} at {}: {}: {}\n", e.model_id.empty() ? "<no id>" : e.model_id,
                          where, e.rule, e.message);
  }
  if (!result.ok() || !file_errors.empty()) {
    io.err << fmt::format("{} error(s) in {} file(s)\n", result.errors.size() + file_errors.size(),
                          files.size() + file_errors.size());
    return 1;
  }
  io.out << fmt::format("{} models valid ({} files)\n", result.interfaces.size(), files.size());
  return 0;
}

int UploadModels(const std::string& url, const std::vector<std::string>& paths,
                 const CommandIo& io) {
  std::vector<std::string> file_errors;
  json::value models = FlattenModels(ReadJsonFiles(paths, file_errors));
  for (const auto& error : file_errors) io.err << "error: " << error << "\n";
  if (!file_errors.empty()) return 1;
  if (models.as_array().empty()) {
    io.err << "error: no models found\n";
    return 1;
  }
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  auto created = (*api)->Call("POST", "/models", &models);
  if (!created.ok()) return ReportError(created.status(), io);
  io.out << fmt::format("uploaded {} models\n", models.as_array().size());
  return 0;
}

int ListModels(const std::string& url, const CommandIo& io) {
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  auto models = (*api)->ListAll("/models");
  if (!models.ok()) return ReportError(models.status(), io);
  for (const auto& model : *models) {
    const auto* decommissioned =
        model.is_object() ? model.as_object().if_contains("decommissioned") : nullptr;
    bool retired = decommissioned && decommissioned->is_bool() && decommissioned->as_bool();
    io.out << fmt::format("{}  {}{}\n", ListedModelId(model), DisplayName(model),
                          retired ? "  (decommissioned)" : "");
  }
  io.out << fmt::format("{} models\n", models->size());
  return 0;
}

int GetModel(const std::string& url, const std::string& id, const CommandIo& io) {
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  auto model = (*api)->Call("GET", ModelPath(id) + "?includeModelDefinition=true");
  if (!model.ok()) return ReportError(model.status(), io);
  io.out << ToPrettyJson(*model) << "\n";
  return 0;
}

int DeleteModel(const std::string& url, const std::string& id, const CommandIo& io) {
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  auto deleted = (*api)->Call("DELETE", ModelPath(id));
  if (!deleted.ok()) return ReportError(deleted.status(), io);
  io.out << "deleted " << id << "\n";
  return 0;
}

int DecommissionModel(const std::string& url, const std::string& id, const CommandIo& io) {
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  json::value patch =
      json::array{json::object{{"op", "replace"}, {"path", "/decommissioned"}, {"value", true}}};
  auto patched = (*api)->Call("PATCH", ModelPath(id), &patch,
                              {{"Content-Type", "application/json-patch+json"}});
  if (!patched.ok()) return ReportError(patched.status(), io);
  io.out << "decommissioned " << id << "\n";
  return 0;
}

}  // namespace doppel::app
