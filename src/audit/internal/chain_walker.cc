#include "audit/internal/chain_walker.h"

#include <fmt/format.h>

#include "audit/internal/record_codec.h"

namespace doppel::audit::internal {

ChainWalker::ChainWalker(bool check_hashes) : check_hashes_(check_hashes), hash_(kZeroHash) {}

std::optional<AuditRecord> ChainWalker::Next(std::string_view line, std::string_view file,
                                             uint64_t line_no) {
  if (failed()) return std::nullopt;
  auto parsed = ParseRecordLine(line);
  if (!parsed.ok()) {
    return FailAt(fmt::format("not a record ({})", parsed.status().message()), file, line_no);
  }
  AuditRecord& record = parsed.value();
  uint64_t expected = seq_ + 1;
  if (record.seq != expected) {
    return FailAt(fmt::format("expected here, found record {} instead (records removed, "
                              "reordered or duplicated)",
                              record.seq),
                  file, line_no);
  }
  if (record.prev_hash != hash_) {
    return FailAt(fmt::format("prev does not match the hash of record {}", seq_), file, line_no);
  }
  if (check_hashes_ && RecomputeHash(record.prev_hash, line) != record.hash) {
    return FailAt("hash does not match its content", file, line_no);
  }
  seq_ = record.seq;
  hash_ = record.hash;
  return std::move(record);
}

std::optional<AuditRecord> ChainWalker::FailAt(std::string_view reason, std::string_view file,
                                               uint64_t line_no) {
  if (file.empty()) {
    Fail(reason);
  } else {
    Fail(fmt::format("{} ({} line {})", reason, file, line_no));
  }
  return std::nullopt;
}

void ChainWalker::Fail(std::string_view reason) {
  if (failed()) return;
  bad_seq_ = seq_ + 1;
  problem_ = fmt::format("record {}: {}", bad_seq_, reason);
}

AuditVerification ChainWalker::Finish(uint64_t head_seq, std::string_view head_hash) {
  if (!failed() && seq_ < head_seq) {
    Fail(fmt::format("missing (the log ends at record {}; this process appended up to {})", seq_,
                     head_seq));
  }
  if (!failed() && seq_ == head_seq && hash_ != head_hash) {
    bad_seq_ = head_seq;
    problem_ = fmt::format(
        "record {}: hash is not the head this process appended (the log "
        "was rewritten)",
        head_seq);
  }
  AuditVerification result;
  result.records = seq_ - (failed() && bad_seq_ <= seq_ ? 1 : 0);
  result.ok = !failed();
  result.first_bad_seq = failed() ? bad_seq_ : 0;
  result.problem = problem_;
  return result;
}

}  // namespace doppel::audit::internal
