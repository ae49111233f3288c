#include "audit/internal/segment_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace doppel::audit::internal {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "audit-";
constexpr std::string_view kSuffix = ".jsonl";
constexpr std::size_t kSeqDigits = 20;
constexpr std::size_t kReadChunk = 1u << 20;

Status IoError(std::string_view what, const std::string& path) {
  return Status::Internal(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

// The first seq encoded in a segment file name, or 0 when it is not one.
uint64_t SeqFromName(std::string_view name) {
  if (name.size() != kPrefix.size() + kSeqDigits + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return 0;
  }
  uint64_t seq = 0;
  for (char c : name.substr(kPrefix.size(), kSeqDigits)) {
    if (c < '0' || c > '9') return 0;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Calls visit for each complete line in buf[0, end); returns the offset (within buf) just past
// the last newline consumed. Sets *stopped when visit says stop.
std::size_t VisitLines(std::string_view buf, uint64_t base, const LineVisitor& visit,
                       bool* stopped) {
  std::size_t start = 0;
  for (std::size_t nl; (nl = buf.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    if (!visit(buf.substr(start, nl - start), base + start)) {
      *stopped = true;
      return nl + 1;
    }
  }
  return start;
}

}  // namespace

std::string SegmentFileName(uint64_t first_seq) {
  return fmt::format("{}{:020}{}", kPrefix, first_seq, kSuffix);
}

Result<std::vector<SegmentFile>> ListSegments(const std::string& dir) {
  std::error_code ec;
  std::vector<SegmentFile> segments;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    uint64_t seq = SeqFromName(it->path().filename().string());
    if (seq != 0) segments.push_back({seq, it->path().string()});
  }
  if (ec) return Status::Internal(fmt::format("cannot list {}: {}", dir, ec.message()));
  std::sort(segments.begin(), segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.first_seq < b.first_seq; });
  return segments;
}

Result<LineScan> ScanLines(const std::string& path, const LineVisitor& visit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path);
  LineScan scan;
  std::string buf;  // bytes from offset `buf_base` on, not yet consumed
  uint64_t buf_base = 0;
  std::string chunk(kReadChunk, '\0');
  while (!scan.stopped) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = IoError("cannot read", path);
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    scan.file_size += static_cast<uint64_t>(n);
    buf.append(chunk.data(), static_cast<std::size_t>(n));
    std::size_t consumed = VisitLines(buf, buf_base, visit, &scan.stopped);
    buf.erase(0, consumed);
    buf_base += consumed;
  }
  ::close(fd);
  scan.lines_end = buf_base;
  return scan;
}

Status TruncateFile(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path);
  Status status;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) status = IoError("cannot truncate", path);
  if (status.ok() && ::fsync(fd) != 0) status = IoError("cannot sync", path);
  ::close(fd);
  return status;
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", dir);
  Status status;
  if (::fsync(fd) != 0) status = IoError("cannot sync", dir);
  ::close(fd);
  return status;
}

Status CreateDirectories(const std::string& dir) {
  std::error_code ec;
  bool created = fs::create_directories(dir, ec);
  if (ec) return Status::Internal(fmt::format("cannot create {}: {}", dir, ec.message()));
  // The new directory's own entry must be durable too, or a crash could lose the whole log.
  fs::path path = fs::absolute(fs::path(dir), ec).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // "a/b/" names b
  if (created && !ec) return SyncDirectory(path.parent_path().string());
  return Status::Ok();
}

// --- AppendFile ---

Result<AppendFile> AppendFile::Open(const std::string& path, bool create) {
  int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
  AppendFile file;
  file.fd_ = ::open(path.c_str(), flags, 0600);
  if (file.fd_ < 0) return IoError(create ? "cannot create" : "cannot open", path);
  off_t end = ::lseek(file.fd_, 0, SEEK_END);
  if (end < 0) return IoError("cannot seek", path);
  file.size_ = static_cast<uint64_t>(end);
  file.path_ = path;
  return file;
}

AppendFile::AppendFile(AppendFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_), path_(std::move(other.path_)) {}

AppendFile& AppendFile::operator=(AppendFile&& other) noexcept {
  if (this != &other) {
    CloseFd(fd_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    path_ = std::move(other.path_);
  }
  return *this;
}

AppendFile::~AppendFile() { CloseFd(fd_); }

Status AppendFile::AppendAndSync(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot write", path_);
    data.remove_prefix(static_cast<std::size_t>(n));
    size_ += static_cast<uint64_t>(n);
  }
  if (::fdatasync(fd_) != 0) return IoError("cannot sync", path_);
  return Status::Ok();
}

// --- ReadFile ---

Result<ReadFile> ReadFile::Open(const std::string& path) {
  ReadFile file;
  file.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd_ < 0) return IoError("cannot open", path);
  file.path_ = path;
  return file;
}

ReadFile::ReadFile(ReadFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

ReadFile& ReadFile::operator=(ReadFile&& other) noexcept {
  if (this != &other) {
    CloseFd(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

ReadFile::~ReadFile() { CloseFd(fd_); }

Result<std::string> ReadFile::ReadAt(uint64_t offset, uint32_t length) const {
  std::string out(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read", path_);
    if (n == 0) {
      return Status::Internal(
          fmt::format("{} is shorter than expected (offset {})", path_, offset + done));
    }
    done += static_cast<std::size_t>(n);
  }
  return out;
}

// --- DirectoryLock ---

Result<DirectoryLock> DirectoryLock::Acquire(const std::string& lock_path) {
  DirectoryLock lock;
  lock.fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock.fd_ < 0) return IoError("cannot open", lock_path);
  if (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::Unavailable(
          fmt::format("{} is in use by another process (a running server?)", lock_path));
    }
    return IoError("cannot lock", lock_path);
  }
  return lock;
}

DirectoryLock::DirectoryLock(DirectoryLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DirectoryLock& DirectoryLock::operator=(DirectoryLock&& other) noexcept {
  if (this != &other) {
    CloseFd(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DirectoryLock::~DirectoryLock() { CloseFd(fd_); }

}  // namespace doppel::audit::internal
