#include "base/record_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "base/file_io.h"

namespace doppel {
namespace {

namespace fs = std::filesystem;

Status ErrnoStatus(std::string_view what, const std::string& path) {
  return Status::Unavailable(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

}  // namespace

Result<std::unique_ptr<RecordJournal>> RecordJournal::Open(const std::string& dir, const std::string& file_name) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Unavailable(fmt::format("cannot create {}: {}", dir, ec.message()));
  std::unique_ptr<RecordJournal> journal(new RecordJournal((fs::path(dir) / file_name).string()));
  DOPPEL_RETURN_IF_ERROR(journal->OpenForAppend());
  return journal;
}

RecordJournal::~RecordJournal() {
  if (fd_ >= 0) ::close(fd_);
}

Status RecordJournal::OpenForAppend() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return ErrnoStatus("cannot open", path_);
  lines_ = 0;
  return Status::Ok();
}

Result<std::vector<json::object>> RecordJournal::ReadAll() const {
  Result<std::string> text = ReadFile(path_);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return std::vector<json::object>{};
    return text.status();
  }
  std::vector<json::object> records;
  std::map<std::string, std::size_t, std::less<>> index;
  std::string_view rest = *text;
  while (!rest.empty()) {
    std::size_t end = rest.find('\n');
    // A line without its newline is a torn append: the crash came before the write finished.
    if (end == std::string_view::npos) break;
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    auto parsed = ParseJson(line);
    if (!parsed.ok() || !parsed->is_object()) continue;
    const json::value* key = parsed->as_object().if_contains("key");
    if (key == nullptr || !key->is_string()) continue;
    std::string k(key->as_string());
    auto [it, inserted] = index.emplace(k, records.size());
    if (inserted) {
      records.push_back(std::move(parsed->as_object()));
    } else {
      records[it->second] = std::move(parsed->as_object());
    }
  }
  return records;
}

Status RecordJournal::Append(const json::object& record, bool sync) {
  std::string line = ToJson(record);
  line += '\n';
  // A write that fails part-way (a full disk) must not leave a fragment the next record would
  // be glued to — ReadAll would skip that joined line, losing an acknowledged record.
  const off_t start = ::lseek(fd_, 0, SEEK_END);
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Status failed = ErrnoStatus("cannot append to", path_);
      if (start >= 0 && ::ftruncate(fd_, start) != 0) {
        return Status::Unavailable(fmt::format("{}; and cannot cut the partial line: {}", failed.message(),
                                               std::strerror(errno)));
      }
      return failed;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (sync && ::fdatasync(fd_) != 0) return ErrnoStatus("cannot sync", path_);
  ++lines_;
  return Status::Ok();
}

Status RecordJournal::Rewrite(const std::vector<json::object>& records) {
  std::string text;
  for (const json::object& record : records) {
    text += ToJson(record);
    text += '\n';
  }
  DOPPEL_RETURN_IF_ERROR(WriteFileAtomically(path_, text));
  return OpenForAppend();
}

}  // namespace doppel
