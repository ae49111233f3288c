#include "app/backup_command.h"

#include <filesystem>
#include <ostream>
#include <vector>

namespace doppel::app {
namespace {

namespace fs = std::filesystem;

// The stores of a data directory, as app/serve.cc lays it out; the optional ones are absent
// from backups of servers that never had API keys, an audit log or API-defined connectors
// (connectors.json, a file; the others are directories).
constexpr const char* kStores[] = {"graph", "history"};
constexpr const char* kOptionalStores[] = {"auth", "audit", "connectors.json"};

Status Restore(const fs::path& backup, const fs::path& data) {
  std::error_code ec;
  for (const char* store : kStores) {
    if (!fs::is_directory(backup / store, ec)) {
      return Status::InvalidArgument(backup.string() + " is not a Doppel backup: it has no " + store + "/ directory");
    }
    if (fs::exists(data / store, ec)) {
      return Status::AlreadyExists((data / store).string() +
                                   " already exists; restore into an empty data directory (move the old one aside)");
    }
  }
  fs::create_directories(data, ec);
  if (ec) return Status::Unavailable("cannot create " + data.string() + ": " + ec.message());
  std::vector<const char*> present(std::begin(kStores), std::end(kStores));
  for (const char* store : kOptionalStores) {
    if (!fs::exists(backup / store, ec)) continue;
    if (fs::exists(data / store, ec)) {
      return Status::AlreadyExists((data / store).string() + " already exists; restore into an empty data directory");
    }
    present.push_back(store);
  }
  for (const char* store : present) {
    fs::copy(backup / store, data / store, fs::copy_options::recursive, ec);
    if (ec) {
      for (const char* written : present) fs::remove_all(data / written, ec);
      return Status::Unavailable("copying " + (backup / store).string() + " failed: " + ec.message());
    }
  }
  return Status::Ok();
}

}  // namespace

int RunBackup(const std::string& url, const std::string& dir, const CommandIo& io) {
  std::string absolute = fs::path(dir).is_absolute() ? dir : fs::absolute(dir).lexically_normal().string();
  auto api = OpenApi(url);
  if (!api.ok()) return ReportError(api.status(), io);
  json::value body = json::object{{"path", absolute}};
  auto answer = (*api)->Call("POST", "/backup", &body);
  if (!answer.ok()) return ReportError(answer.status(), io);
  double seconds = answer->is_object() && answer->as_object().contains("seconds")
                       ? answer->as_object().at("seconds").to_number<double>()
                       : 0;
  io.out << "backup written to " << absolute << " in " << seconds << " s\n";
  return 0;
}

int RunRestore(const std::string& backup_dir, const std::string& data_dir, const CommandIo& io) {
  Status restored = Restore(backup_dir, data_dir);
  if (!restored.ok()) return ReportError(restored, io);
  io.out << "restored " << backup_dir << " into " << data_dir << "; start the server with --data-dir " << data_dir
         << "\n";
  return 0;
}

}  // namespace doppel::app
