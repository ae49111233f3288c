#include "base/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace doppel {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Internal("cannot write " + path + ": " + ErrnoText());
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot create " + temp + ": " + ErrnoText());
  Status written = WriteAll(fd, contents, temp);
  // A temporary left by a crash keeps its old mode through O_TRUNC.
  if (written.ok() && ::fchmod(fd, 0600) != 0) written = Status::Internal("cannot chmod " + temp + ": " + ErrnoText());
  if (written.ok() && ::fsync(fd) != 0) written = Status::Internal("cannot fsync " + temp + ": " + ErrnoText());
  ::close(fd);
  if (written.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    written = Status::Internal("cannot rename " + temp + " to " + path + ": " + ErrnoText());
  }
  if (!written.ok()) {
    ::unlink(temp.c_str());
    return written;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Status::Internal("cannot open " + dir + ": " + ErrnoText());
  int synced = ::fsync(dir_fd);
  ::close(dir_fd);
  if (synced != 0) return Status::Internal("cannot fsync " + dir + ": " + ErrnoText());
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no such file: " + path);
    return Status::Unavailable("cannot open " + path + ": " + ErrnoText());
  }
  std::string contents;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = Status::Unavailable("cannot read " + path + ": " + ErrnoText());
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return contents;
}

}  // namespace doppel
