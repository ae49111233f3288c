#include "audit/audit_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "audit/internal/chain_walker.h"
#include "audit/internal/record_codec.h"
#include "audit/internal/segment_files.h"

namespace doppel::audit {

namespace {

using internal::ChainWalker;
using internal::SegmentFile;

constexpr std::size_t kMaxQueryLimit = 10000;
constexpr std::size_t kMaxSegmentBytes = 1u << 30;

// Each distinct actor/action/target/outcome string stored once; the index holds ids.
class StringPool {
 public:
  uint32_t Intern(std::string_view s) {
    auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    auto id = static_cast<uint32_t>(names_.size());
    auto [inserted, _] = ids_.emplace(std::string(s), id);
    names_.push_back(inserted->first);  // node-based map: the key's address is stable
    return id;
  }
  std::optional<uint32_t> Find(std::string_view s) const {
    auto it = ids_.find(s);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  std::string_view Name(uint32_t id) const { return names_[id]; }
  std::size_t size() const { return names_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> ids_;
  std::vector<std::string_view> names_;
};

// One record in the index; entries[i] is record seq i + 1. 32 bytes.
struct IndexEntry {
  int64_t time_ns = 0;
  uint32_t offset = 0;  // of its line within its segment (unused in memory)
  uint32_t length = 0;  // of its line without the newline
  uint32_t actor = 0, action = 0, target = 0, outcome = 0;  // StringPool ids
};
static_assert(sizeof(IndexEntry) == 32, "the memory figure in audit_log.h");

// A record Query will return: where its line is (segment index, offset, length), or the
// line itself for the in-memory log.
struct Hit {
  uint64_t seq = 0;
  std::size_t segment = 0;
  IndexEntry entry;
  std::string line;
};

int64_t Nanos(TimePoint t) { return t.time_since_epoch().count(); }

// The exact-match filters resolved to ids; a filter on a string never seen matches nothing.
class Matcher {
 public:
  Matcher(const AuditQuery& q, const StringPool& strings) : q_(q), strings_(strings) {
    impossible_ =
        !Resolve(q.actor, actor_) || !Resolve(q.target, target_) || !Resolve(q.outcome, outcome_);
  }
  bool impossible() const { return impossible_; }

  bool Matches(const IndexEntry& e) {
    if (q_.since && e.time_ns < Nanos(*q_.since)) return false;
    if (q_.until && e.time_ns >= Nanos(*q_.until)) return false;
    if (!Is(e.actor, actor_) || !Is(e.target, target_) || !Is(e.outcome, outcome_)) return false;
    return q_.action_prefix.empty() || ActionMatches(e.action);
  }

 private:
  static constexpr uint32_t kAny = std::numeric_limits<uint32_t>::max();

  static bool Is(uint32_t id, uint32_t wanted) { return wanted == kAny || id == wanted; }
  bool Resolve(const std::string& value, uint32_t& id) {
    if (value.empty()) return true;
    auto found = strings_.Find(value);
    if (found) id = *found;
    return found.has_value();
  }
  // Few distinct actions: each is compared with the prefix once per query.
  bool ActionMatches(uint32_t action) {
    if (action >= action_match_.size()) action_match_.resize(strings_.size(), -1);
    int8_t& m = action_match_[action];
    if (m < 0) m = strings_.Name(action).starts_with(q_.action_prefix) ? 1 : 0;
    return m == 1;
  }

  const AuditQuery& q_;
  const StringPool& strings_;
  bool impossible_ = false;
  uint32_t actor_ = kAny, target_ = kAny, outcome_ = kAny;
  std::vector<int8_t> action_match_;
};

}  // namespace

struct AuditLog::State {
  // Immutable after construction.
  AuditLogOptions options;
  std::string dir;  // "" = in memory
  internal::DirectoryLock dir_lock;

  // Guarded by append_mu: one appender at a time.
  std::mutex append_mu;
  internal::AppendFile current;  // the newest segment
  bool broken = false;           // a write or sync failed; see the header

  // Guarded by mu. Changed only with append_mu held too, so the appender reads them without mu.
  mutable std::shared_mutex mu;
  std::vector<SegmentFile> segments;
  std::vector<IndexEntry> entries;
  std::vector<std::string> lines;  // the in-memory log's lines; empty on disk
  StringPool strings;
  uint64_t head_seq = 0;
  std::string head_hash{internal::kZeroHash};

  void Index(const AuditRecord& r, uint64_t offset, std::size_t length) {
    const AuditEvent& e = r.event;
    entries.push_back({Nanos(r.time), static_cast<uint32_t>(offset), static_cast<uint32_t>(length),
                       strings.Intern(e.actor), strings.Intern(e.action), strings.Intern(e.target),
                       strings.Intern(e.outcome)});
    head_seq = r.seq;
    head_hash = r.hash;
  }

  Status Load();
  Status LoadSegment(const SegmentFile& file, bool last, ChainWalker& walker);
  // Writes `line` (with its newline) to the newest segment, starting a new one when it is
  // full, and syncs; returns the line's offset in its segment.
  Result<uint64_t> Write(const std::string& line, uint64_t seq);
  // Makes an appended record visible to Query and Head.
  void Commit(std::string line, const AuditRecord& record, uint64_t offset);
  std::vector<Hit> Match(const AuditQuery& q, std::vector<SegmentFile>& segments_out) const;
  void WalkFiles(ChainWalker& walker, uint64_t head) const;
};

namespace {

// Reads the lines of `hits` (in seq order) from their segments and parses them.
Result<std::vector<AuditRecord>> ReadHits(std::vector<Hit>& hits,
                                          const std::vector<SegmentFile>& segments) {
  std::vector<AuditRecord> records;
  records.reserve(hits.size());
  internal::ReadFile file;
  std::size_t open_segment = std::numeric_limits<std::size_t>::max();
  for (Hit& hit : hits) {
    if (!segments.empty()) {
      if (hit.segment != open_segment) {
        DOPPEL_ASSIGN_OR_RETURN(file, internal::ReadFile::Open(segments[hit.segment].path));
        open_segment = hit.segment;
      }
      DOPPEL_ASSIGN_OR_RETURN(hit.line, file.ReadAt(hit.entry.offset, hit.entry.length));
    }
    auto record = internal::ParseRecordLine(hit.line);
    if (!record.ok() || record->seq != hit.seq) {
      return Status::Internal(
          fmt::format("audit record {} changed on disk under the running log", hit.seq));
    }
    records.push_back(std::move(record).value());
  }
  return records;
}

}  // namespace

// --- Open ---

Status AuditLog::State::Load() {
  DOPPEL_ASSIGN_OR_RETURN(std::vector<SegmentFile> files, internal::ListSegments(dir));
  ChainWalker walker(/*check_hashes=*/false);
  for (std::size_t i = 0; i < files.size(); ++i) {
    DOPPEL_RETURN_IF_ERROR(LoadSegment(files[i], i + 1 == files.size(), walker));
  }
  if (!files.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(current, internal::AppendFile::Open(files.back().path, false));
  }
  return Status::Ok();
}

Status AuditLog::State::LoadSegment(const SegmentFile& file, bool last, ChainWalker& walker) {
  auto damaged = [&](std::string_view why) {
    return Status::Internal(fmt::format("audit log is damaged: {}", why));
  };
  if (file.first_seq != walker.last_seq() + 1) {
    walker.Fail(fmt::format("missing ({} starts at record {})", file.path, file.first_seq));
    return damaged(walker.problem());
  }
  uint64_t line_no = 0;
  bool too_large = false;
  DOPPEL_ASSIGN_OR_RETURN(
      internal::LineScan scan,
      internal::ScanLines(file.path, [&](std::string_view line, uint64_t offset) {
        auto record = walker.Next(line, file.path, ++line_no);
        too_large = offset + line.size() > std::numeric_limits<uint32_t>::max();
        if (!record || too_large) return false;
        Index(*record, offset, line.size());
        return true;
      }));
  if (too_large) return damaged(fmt::format("{} is larger than 4 GiB", file.path));
  if (walker.failed()) return damaged(walker.problem());
  if (line_no == 0 && !last) return damaged(fmt::format("{} is empty", file.path));
  segments.push_back(file);
  if (scan.file_size == scan.lines_end) return Status::Ok();
  if (!last) {
    return damaged(fmt::format("{} line {} is incomplete", file.path, line_no + 1));
  }
  // A line without its newline was being written when the process died; its Append never
  // returned, so nobody was told it is durable. Cut it off so the chain continues cleanly.
  spdlog::warn("audit log: {} ends in an incomplete line ({} bytes at offset {}), truncated",
               file.path, scan.file_size - scan.lines_end, scan.lines_end);
  return internal::TruncateFile(file.path, scan.lines_end);
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& dir,
                                                 const AuditLogOptions& options) {
  std::unique_ptr<AuditLog> log(new AuditLog());
  State& s = *log->state_;
  s.options = options;
  s.options.segment_bytes = std::clamp<std::size_t>(options.segment_bytes, 1, kMaxSegmentBytes);
  if (dir.empty()) return Status::InvalidArgument("no audit log directory (InMemory() keeps none)");
  s.dir = dir;
  DOPPEL_RETURN_IF_ERROR(internal::CreateDirectories(s.dir));
  DOPPEL_ASSIGN_OR_RETURN(s.dir_lock, internal::DirectoryLock::Acquire(s.dir + "/LOCK"));
  DOPPEL_RETURN_IF_ERROR(s.Load());
  return log;
}

std::unique_ptr<AuditLog> AuditLog::InMemory() { return std::unique_ptr<AuditLog>(new AuditLog()); }

AuditLog::AuditLog() : state_(std::make_unique<State>()) {}
AuditLog::~AuditLog() = default;

// --- Append ---

Result<uint64_t> AuditLog::State::Write(const std::string& line, uint64_t seq) {
  if (!current.is_open() ||
      (current.size() > 0 && current.size() + line.size() > options.segment_bytes)) {
    DOPPEL_ASSIGN_OR_RETURN(
        current, internal::AppendFile::Open(dir + "/" + internal::SegmentFileName(seq), true));
    DOPPEL_RETURN_IF_ERROR(internal::SyncDirectory(dir));
  }
  uint64_t offset = current.size();
  Status written = current.AppendAndSync(line);
  if (!written.ok()) {
    broken = true;
    return written;
  }
  return offset;
}

void AuditLog::State::Commit(std::string line, const AuditRecord& record, uint64_t offset) {
  std::unique_lock mu_lock(mu);
  if (dir.empty()) {
    Index(record, 0, 0);
    lines.push_back(std::move(line));
    return;
  }
  // Compared by path rather than flagged by Write: a segment created by an Append that then
  // failed (directory sync) is the one the next Append writes into.
  if (segments.empty() || segments.back().path != current.path()) {
    segments.push_back({record.seq, current.path()});
  }
  Index(record, offset, line.size() - 1);  // without the newline
}

Result<AuditRecord> AuditLog::Append(AuditEvent event, TimePoint now) {
  State& s = *state_;
  std::lock_guard append_lock(s.append_mu);
  if (s.broken) {
    return Status::Internal(
        "the audit log refuses appends after an earlier write failure; "
        "restart to recover");
  }
  internal::SanitizeEvent(event);
  AuditRecord record{.seq = s.head_seq + 1,
                     .time = now,
                     .event = std::move(event),
                     .prev_hash = s.head_hash,
                     .hash = ""};
  std::string line = internal::SealRecord(record);
  // Read the line back as Open will: what Append returns is exactly what Query and a restart
  // see, and a record that could not be read back is refused instead of corrupting the log.
  auto stored = internal::ParseRecordLine(line);
  if (!stored.ok()) {
    return Status::InvalidArgument("audit record cannot be stored: " + stored.status().message());
  }
  uint64_t offset = 0;
  if (!s.dir.empty()) {
    line += '\n';
    DOPPEL_ASSIGN_OR_RETURN(offset, s.Write(line, record.seq));
  }
  s.Commit(std::move(line), stored.value(), offset);
  return std::move(stored).value();
}

// --- Query ---

std::vector<Hit> AuditLog::State::Match(const AuditQuery& q,
                                        std::vector<SegmentFile>& segments_out) const {
  std::shared_lock lock(mu);
  std::vector<Hit> hits;
  Matcher matcher(q, strings);
  std::size_t limit = std::min(q.limit, kMaxQueryLimit);
  if (matcher.impossible() || limit == 0) return hits;
  std::size_t segment = 0;
  for (uint64_t i = q.after_seq; i < entries.size() && hits.size() < limit; ++i) {
    if (!matcher.Matches(entries[i])) continue;
    uint64_t seq = i + 1;
    while (segment + 1 < segments.size() && segments[segment + 1].first_seq <= seq) ++segment;
    hits.push_back({seq, segment, entries[i], dir.empty() ? lines[i] : std::string()});
  }
  segments_out = segments;
  return hits;
}

Result<std::vector<AuditRecord>> AuditLog::Query(const AuditQuery& query) const {
  std::vector<SegmentFile> segments;
  std::vector<Hit> hits = state_->Match(query, segments);
  // Read outside the lock: segment files only grow, so the located lines stay put while
  // appends go on.
  return ReadHits(hits, segments);
}

// --- Verify and Head ---

void AuditLog::State::WalkFiles(ChainWalker& walker, uint64_t head) const {
  auto files = internal::ListSegments(dir);
  if (!files.ok()) return walker.Fail(files.status().message());
  for (const SegmentFile& file : *files) {
    if (walker.last_seq() >= head) return;
    if (file.first_seq != walker.last_seq() + 1) {
      return walker.Fail(
          fmt::format("missing ({} starts at record {})", file.path, file.first_seq));
    }
    uint64_t line_no = 0;
    // Stop at the head seen when Verify started: lines past it may be half-written appends.
    auto scan = internal::ScanLines(file.path, [&](std::string_view line, uint64_t) {
      return walker.last_seq() < head && walker.Next(line, file.path, ++line_no).has_value();
    });
    if (!scan.ok()) return walker.Fail(scan.status().message());
    if (walker.failed()) return;
    if (!scan->stopped && scan->file_size > scan->lines_end && walker.last_seq() < head) {
      return walker.Fail(fmt::format("incomplete line ({} line {})", file.path, line_no + 1));
    }
  }
}

AuditVerification AuditLog::Verify() const {
  const State& s = *state_;
  ChainWalker walker(/*check_hashes=*/true);
  if (s.dir.empty()) {
    std::shared_lock lock(s.mu);
    for (std::size_t i = 0; i < s.lines.size(); ++i) {
      if (!walker.Next(s.lines[i], "", i + 1)) break;
    }
    return walker.Finish(s.head_seq, s.head_hash);
  }
  auto [head_seq, head_hash] = Head();
  s.WalkFiles(walker, head_seq);
  return walker.Finish(head_seq, head_hash);
}

std::pair<uint64_t, std::string> AuditLog::Head() const {
  std::shared_lock lock(state_->mu);
  return {state_->head_seq, state_->head_hash};
}

}  // namespace doppel::audit
