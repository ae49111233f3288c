#include "app/remote_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace doppel::app {
namespace fs = std::filesystem;

int ReportError(const Status& status, const CommandIo& io) {
  io.err << "error: " << status.error_code() << ": " << status.message() << "\n";
  return 1;
}

Result<std::unique_ptr<client::ApiClient>> OpenApi(const std::string& url) {
  client::HttpClientOptions options;
  if (const char* ca = std::getenv("DOPPEL_CA_FILE"); ca != nullptr) options.ca_file = ca;  // https:// servers
  DOPPEL_ASSIGN_OR_RETURN(auto api, client::ApiClient::Create(url, options));
  // The CLI's credentials come from the environment, never from the command line (where
  // every user of the machine could read them in the process list).
  if (const char* token = std::getenv("DOPPEL_TOKEN"); token != nullptr) api->set_token(token);
  return api;
}

Result<std::string> ReadFileOrStdin(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return Status::NotFound(fmt::format("{}: no such file", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(fmt::format("{}: cannot be opened", path));
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

namespace {

// The .json files under `path` (itself, if it is a file), sorted.
std::vector<std::string> ExpandPath(const std::string& path, std::vector<std::string>& errors) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return {path};
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".json")
      files.push_back(it->path().string());
  }
  if (ec) errors.push_back(fmt::format("{}: {}", path, ec.message()));
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

std::vector<JsonFile> ReadJsonFiles(const std::vector<std::string>& paths,
                                    std::vector<std::string>& errors) {
  std::vector<JsonFile> files;
  for (const auto& path : paths) {
    for (auto& file : ExpandPath(path, errors)) {
      auto text = ReadFileOrStdin(file);
      if (!text.ok()) {
        errors.push_back(text.status().message());
        continue;
      }
      auto document = ParseJson(*text);
      if (!document.ok()) {
        errors.push_back(fmt::format("{}: {}", file, document.status().message()));
        continue;
      }
      files.push_back({std::move(file), std::move(document).value()});
    }
  }
  return files;
}

}  // namespace doppel::app
