// The audit log's files (audit/ internal): segment names, line-by-line scanning, the one
// append-only file being written, reads at an offset, and the directory lock.
//
// POSIX underneath; every failure is an Internal Status naming the path and errno text.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace doppel::audit::internal {

// "audit-00000000000000000001.jsonl"
std::string SegmentFileName(uint64_t first_seq);

struct SegmentFile {
  uint64_t first_seq = 0;  // from the name
  std::string path;
};

// The segment files in `dir`, oldest first. Other files are ignored.
Result<std::vector<SegmentFile>> ListSegments(const std::string& dir);

// Where the complete lines of a file end. Bytes in [lines_end, file_size) are an unterminated
// last line: torn by a crash (or cut by hand).
struct LineScan {
  uint64_t lines_end = 0;
  uint64_t file_size = 0;
  bool stopped = false;  // the visitor asked to stop
};

// Calls visit(line without '\n', its offset) for every complete line, in order, until it
// returns false. Reads in 1 MiB chunks: memory stays bounded by the longest line.
using LineVisitor = std::function<bool(std::string_view line, uint64_t offset)>;
Result<LineScan> ScanLines(const std::string& path, const LineVisitor& visit);

// Cuts `path` to `size` bytes and syncs it.
Status TruncateFile(const std::string& path, uint64_t size);

// Makes entries created in `dir` durable (new files survive a crash only once it is synced).
Status SyncDirectory(const std::string& dir);

// Creates `dir` and its parents if missing.
Status CreateDirectories(const std::string& dir);

// The file records are appended to. Move-only; closes on destruction.
class AppendFile {
 public:
  // Opens `path` for appending, creating it (mode 0600) if `create`.
  static Result<AppendFile> Open(const std::string& path, bool create);
  AppendFile() = default;
  AppendFile(AppendFile&& other) noexcept;
  AppendFile& operator=(AppendFile&& other) noexcept;
  ~AppendFile();

  bool is_open() const { return fd_ >= 0; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Writes all of `data` and fdatasyncs. After a failure the file's tail is unknown.
  Status AppendAndSync(std::string_view data);

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

// A file opened for reads at offsets. Move-only; closes on destruction.
class ReadFile {
 public:
  static Result<ReadFile> Open(const std::string& path);
  ReadFile() = default;
  ReadFile(ReadFile&& other) noexcept;
  ReadFile& operator=(ReadFile&& other) noexcept;
  ~ReadFile();

  // Exactly `length` bytes at `offset`; Internal when the file is shorter.
  Result<std::string> ReadAt(uint64_t offset, uint32_t length) const;

 private:
  int fd_ = -1;
  std::string path_;
};

// An exclusive advisory lock (flock) on a file, held while the object lives: two processes
// appending to one log would fork its chain.
class DirectoryLock {
 public:
  // Unavailable when another process holds it.
  static Result<DirectoryLock> Acquire(const std::string& lock_path);
  DirectoryLock() = default;
  DirectoryLock(DirectoryLock&& other) noexcept;
  DirectoryLock& operator=(DirectoryLock&& other) noexcept;
  ~DirectoryLock();

 private:
  int fd_ = -1;
};

}  // namespace doppel::audit::internal
