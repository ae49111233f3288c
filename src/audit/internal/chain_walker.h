// Walks a log's lines in order and checks that they form one chain (audit/ internal): each
// line a record, seq contiguous from 1, each prev equal to the previous record's hash, and
// (when asked) each hash equal to the SHA-256 of prev and the line's canonical content.
// Open walks without hashing (continuity only, fast); Verify walks with it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "audit/audit_log.h"

namespace doppel::audit::internal {

class ChainWalker {
 public:
  explicit ChainWalker(bool check_hashes);

  // Checks the next line (at `file` line `line_no`, for messages; file "" in memory) and
  // returns its record, or nullopt once a check failed (then and afterwards).
  std::optional<AuditRecord> Next(std::string_view line, std::string_view file, uint64_t line_no);

  // Records a problem found outside a line (a missing segment, an unreadable file) at the
  // record expected next. The first problem wins.
  void Fail(std::string_view reason);

  bool failed() const { return !problem_.empty(); }
  const std::string& problem() const { return problem_; }  // "record 42: ..." when failed
  uint64_t last_seq() const { return seq_; }
  const std::string& last_hash() const { return hash_; }

  // The verdict once the walk is done: also fails when the walk ended before `head_seq` or
  // its last hash is not `head_hash` (what the running log holds).
  AuditVerification Finish(uint64_t head_seq, std::string_view head_hash);

 private:
  std::optional<AuditRecord> FailAt(std::string_view reason, std::string_view file,
                                    uint64_t line_no);

  const bool check_hashes_;
  uint64_t seq_ = 0;
  std::string hash_;
  uint64_t bad_seq_ = 0;
  std::string problem_;
};

}  // namespace doppel::audit::internal
