// A journal of records: an append-only file of JSON lines, each the whole new state of one
// record, keyed by its "key" member — the last line of a key wins. Replaced atomically by a
// compacted copy (base/file_io.h) when the owner decides. A torn last line (a crash
// mid-append) is skipped when reading. The stores of small, slowly changing records use it
// (command invocations, alerts, work orders, rules, recommendations).
//
//   auto journal = RecordJournal::Open("/data/alerts");            // /data/alerts/journal.jsonl
//   journal->Append({{"key", "a1"}, {"state", "raised"}}, /*sync=*/true);
//   auto records = journal->ReadAll();                             // last line per key
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

namespace doppel {

class RecordJournal {
 public:
  // Creates `dir` if needed and opens <dir>/<file_name> for appending. Unavailable on I/O.
  static Result<std::unique_ptr<RecordJournal>> Open(const std::string& dir,
                                                     const std::string& file_name = "journal.jsonl");
  ~RecordJournal();
  RecordJournal(const RecordJournal&) = delete;
  RecordJournal& operator=(const RecordJournal&) = delete;

  // Every record, the last line per key, in the order their keys first appeared.
  Result<std::vector<json::object>> ReadAll() const;
  // Appends one record (it must have a string "key"); `sync` = fdatasync before returning.
  Status Append(const json::object& record, bool sync);
  // Replaces the file with exactly `records`.
  Status Rewrite(const std::vector<json::object>& records);
  std::size_t lines() const { return lines_; }  // lines appended since the last Rewrite/Open

  const std::string& path() const { return path_; }

 private:
  explicit RecordJournal(std::string path) : path_(std::move(path)) {}
  Status OpenForAppend();

  const std::string path_;
  int fd_ = -1;
  std::size_t lines_ = 0;
};

}  // namespace doppel
