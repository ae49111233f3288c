// What every command of the operator's command line shares: reaching the server, reading
// JSON from files, and reporting errors the same way.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "client/api_client.h"

namespace doppel::app {

// Where a command's output goes; the CLI passes std::cout/std::cerr, tests their own.
struct CommandIo {
  std::ostream& out;
  std::ostream& err;
};

// Prints "error: <code>: <message>" to io.err and returns exit code 1.
int ReportError(const Status& status, const CommandIo& io);

// Connects lazily to `url`. Errors: InvalidArgument for a malformed URL.
Result<std::unique_ptr<client::ApiClient>> OpenApi(const std::string& url);

// The whole content of `path`, or of standard input when `path` is "-".
// Errors: NotFound / InvalidArgument naming the file.
Result<std::string> ReadFileOrStdin(const std::string& path);

// A JSON document read from disk, with the file it came from.
struct JsonFile {
  std::string path;
  json::value document;
};

// Reads every .json file named in `paths`, walking directories recursively (in sorted order,
// so runs are repeatable). Every unreadable or malformed file is reported in `errors` as
// "<file>: <reason>"; the files that parsed are returned.
std::vector<JsonFile> ReadJsonFiles(const std::vector<std::string>& paths,
                                    std::vector<std::string>& errors);

}  // namespace doppel::app
