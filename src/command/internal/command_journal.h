// The command service's journal (internal to src/command): an append-only file of JSON lines,
// each the whole new state of one record, keyed by its "key" member — the last line of a key
// wins. Replaced atomically by a compacted copy (base/file_io.h) when the owner decides.
// A torn last line (a crash mid-append) is skipped when reading.
//
// Not thread-safe: the owner serialises calls.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace doppel::command::internal {

class CommandJournal {
 public:
  // Creates `dir` if needed and opens <dir>/journal.jsonl for appending. Unavailable on I/O.
  static Result<std::unique_ptr<CommandJournal>> Open(const std::string& dir);
  ~CommandJournal();
  CommandJournal(const CommandJournal&) = delete;
  CommandJournal& operator=(const CommandJournal&) = delete;

  // Every record, the last line per key, in the order their keys first appeared.
  Result<std::vector<json::object>> ReadAll() const;
  // Appends one record (it must have a string "key"); `sync` = fdatasync before returning.
  Status Append(const json::object& record, bool sync);
  // Replaces the file with exactly `records`.
  Status Rewrite(const std::vector<json::object>& records);
  std::size_t lines() const { return lines_; }  // lines appended since the last Rewrite/Open

  const std::string& path() const { return path_; }

 private:
  explicit CommandJournal(std::string path) : path_(std::move(path)) {}
  Status OpenForAppend();

  const std::string path_;
  int fd_ = -1;
  std::size_t lines_ = 0;
};

}  // namespace doppel::command::internal
