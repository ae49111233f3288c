#include "app/twins_command.h"

#include <fmt/format.h>

#include <ostream>

#include "app/query_command.h"

namespace doppel::app {
namespace {

std::string TwinPath(const std::string& id) {
  return "/digitaltwins/" + client::EncodePathSegment(id);
}

// The patch argument is inline JSON when it looks like JSON, else the name of a file.
Result<std::string> PatchText(const std::string& patch_or_file) {
  auto first = patch_or_file.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (patch_or_file[first] == '[' || patch_or_file[first] == '{')) {
    return patch_or_file;
  }
  return ReadFileOrStdin(patch_or_file);
}

}  // namespace

int GetTwin(const std::string& url, const std::string& id, const CommandIo& io) {
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  auto twin = (*api)->Call("GET", TwinPath(id));
  if (!twin.ok()) return ReportError(twin.status(), io);
  io.out << ToPrettyJson(*twin) << "\n";
  return 0;
}

int PutTwin(const std::string& url, const std::string& id, const std::string& file,
            const CommandIo& io) {
  auto text = ReadFileOrStdin(file);
  if (!text.ok()) return ReportError(text.status(), io);
  // Checked here so a typo in the file is reported with its position before any request.
  auto document = ParseJson(*text);
  if (!document.ok())
    return ReportError(Status::InvalidArgument(file + ": " + document.status().message()), io);
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  auto twin = (*api)->Call("PUT", TwinPath(id), &*document);
  if (!twin.ok()) return ReportError(twin.status(), io);
  io.out << ToPrettyJson(*twin) << "\n";
  return 0;
}

int PatchTwin(const std::string& url, const std::string& id, const std::string& patch_or_file,
              const CommandIo& io) {
  auto text = PatchText(patch_or_file);
  if (!text.ok()) return ReportError(text.status(), io);
  auto patch = ParseJson(*text);
  if (!patch.ok())
    return ReportError(Status::InvalidArgument("patch: " + patch.status().message()), io);
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  auto patched = (*api)->Call("PATCH", TwinPath(id), &*patch,
                              {{"Content-Type", "application/json-patch+json"}});
  if (!patched.ok()) return ReportError(patched.status(), io);
  io.out << "patched " << id << "\n";
  return 0;
}

int DeleteTwin(const std::string& url, const std::string& id, const CommandIo& io) {
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  auto deleted = (*api)->Call("DELETE", TwinPath(id));
  if (!deleted.ok()) return ReportError(deleted.status(), io);
  io.out << "deleted " << id << "\n";
  return 0;
}

int ListRelationships(const std::string& url, const std::string& id, bool as_json,
                      const CommandIo& io) {
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  auto relationships = (*api)->ListAll(TwinPath(id) + "/relationships");
  if (!relationships.ok()) return ReportError(relationships.status(), io);
  if (as_json) {
    io.out << ToPrettyJson(*relationships) << "\n";
  } else {
    io.out << FormatTable(*relationships);
  }
  return 0;
}

}  // namespace doppel::app
