#include "store/rocks_journal.h"

#include <fmt/format.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <vector>

namespace doppel::store {
namespace {

// One-byte record prefixes (see docs/format/store.md). The '/' keeps keys readable in
// `ldb scan` output; '/'+1 == '0' bounds each prefix's range.
constexpr std::string_view kModelPrefix = "m/";
constexpr std::string_view kTwinPrefix = "t/";
constexpr std::string_view kRelationshipPrefix = "r/";
constexpr std::string_view kSeqKey = "s/seq";

std::string_view PrefixOf(twin::Mutation::Kind kind) {
  switch (kind) {
    case twin::Mutation::Kind::kPutModel:
    case twin::Mutation::Kind::kDeleteModel:
      return kModelPrefix;
    case twin::Mutation::Kind::kPutTwin:
    case twin::Mutation::Kind::kDeleteTwin:
      return kTwinPrefix;
    case twin::Mutation::Kind::kPutRelationship:
    case twin::Mutation::Kind::kDeleteRelationship:
      return kRelationshipPrefix;
  }
  return kTwinPrefix;
}

bool IsDelete(twin::Mutation::Kind kind) {
  return kind == twin::Mutation::Kind::kDeleteModel || kind == twin::Mutation::Kind::kDeleteTwin ||
         kind == twin::Mutation::Kind::kDeleteRelationship;
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  return Status::Internal(fmt::format("{}: RocksDB: {}", what, s.ToString()));
}

// LZ4 is cheap to decompress on replay and shrinks JSON well; fall back to what is linked.
rocksdb::CompressionType PickCompression() {
  auto supported = rocksdb::GetSupportedCompressions();
  for (auto preferred : {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    if (std::find(supported.begin(), supported.end(), preferred) != supported.end())
      return preferred;
  }
  return rocksdb::kNoCompression;
}

rocksdb::Options MakeOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;
  // Bulk loads (a million twins) stream through the memtable: a larger buffer means fewer,
  // larger flushes and less write amplification, at the cost of up to 3×64 MiB of RAM.
  options.write_buffer_size = 64u << 20;
  options.max_write_buffer_number = 3;
  options.target_file_size_base = 64u << 20;
  options.max_background_jobs = 2;
  options.compression = PickCompression();
  // The info LOG is for post-mortems, not archives.
  options.keep_log_file_num = 4;
  options.max_log_file_size = 16u << 20;
  return options;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

}  // namespace

Result<std::unique_ptr<RocksJournal>> RocksJournal::Open(const std::string& dir,
                                                         StoreOptions options) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(MakeOptions(), dir, &raw);
  if (!s.ok()) {
    // RocksDB reports a held LOCK file as an I/O error ("lock hold by current process" in the
    // same process, "Resource temporarily unavailable" from another one).
    if (s.IsIOError() && s.ToString().find("LOCK") != std::string::npos) {
      return Status::Unavailable(
          fmt::format("data directory {} is in use by another doppel process (RocksDB: {})", dir,
                      s.ToString()));
    }
    return Status::Internal(
        fmt::format("cannot open data directory {}: RocksDB: {}", dir, s.ToString()));
  }
  return std::unique_ptr<RocksJournal>(
      new RocksJournal(std::unique_ptr<rocksdb::DB>(raw), options));
}

RocksJournal::RocksJournal(std::unique_ptr<rocksdb::DB> db, StoreOptions options)
    : db_(std::move(db)), options_(options) {}

RocksJournal::~RocksJournal() {
  if (db_) {
    // Close flushes nothing we need (the WAL holds every write) but releases the LOCK file
    // before the object goes, so a reopen in the same process succeeds.
    db_->Close().PermitUncheckedError();
  }
}

Status RocksJournal::Commit(std::span<const twin::Mutation> mutations, uint64_t last_event_seq) {
  rocksdb::WriteBatch batch;
  std::string key;
  for (const auto& m : mutations) {
    key.assign(PrefixOf(m.kind));
    key += m.key;
    rocksdb::Status s = IsDelete(m.kind) ? batch.Delete(key) : batch.Put(key, m.value);
    DOPPEL_RETURN_IF_ERROR(FromRocks(s, "journal batch"));
  }
  std::string seq = std::to_string(last_event_seq);
  DOPPEL_RETURN_IF_ERROR(FromRocks(batch.Put(std::string(kSeqKey), seq), "journal batch"));
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  return FromRocks(db_->Write(write_options, &batch), "journal commit");
}

Status RocksJournal::Replay(
    const std::function<Status(twin::Mutation::Kind, std::string_view, std::string_view)>& visit,
    uint64_t& last_event_seq) {
  const std::pair<std::string_view, twin::Mutation::Kind> sections[] = {
      {kModelPrefix, twin::Mutation::Kind::kPutModel},
      {kTwinPrefix, twin::Mutation::Kind::kPutTwin},
      {kRelationshipPrefix, twin::Mutation::Kind::kPutRelationship},
  };
  // One snapshot for the whole replay, so the three sections and the sequence agree.
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  Status result = Status::Ok();
  for (const auto& [prefix, kind] : sections) {
    std::string upper = PrefixEnd(prefix);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions read_options;
    read_options.snapshot = snapshot;
    read_options.iterate_upper_bound = &upper_slice;
    read_options.fill_cache = false;  // a one-pass scan would only evict hot blocks
    read_options.readahead_size = 4u << 20;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
    for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
      rocksdb::Slice k = it->key(), v = it->value();
      std::string_view key(k.data() + prefix.size(), k.size() - prefix.size());
      result = visit(kind, key, std::string_view(v.data(), v.size()));
      if (!result.ok()) break;
    }
    if (result.ok()) result = FromRocks(it->status(), "journal replay");
    if (!result.ok()) break;
  }
  if (result.ok()) {
    rocksdb::ReadOptions read_options;
    read_options.snapshot = snapshot;
    std::string seq;
    rocksdb::Status s = db_->Get(read_options, std::string(kSeqKey), &seq);
    if (s.IsNotFound()) {
      last_event_seq = 0;
    } else if (!s.ok()) {
      result = FromRocks(s, "journal replay");
    } else {
      uint64_t parsed = 0;
      auto [end, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), parsed);
      if (ec != std::errc() || end != seq.data() + seq.size()) {
        result = Status::Internal(fmt::format("journal replay: corrupt sequence record '{}'", seq));
      } else {
        last_event_seq = parsed;
      }
    }
  }
  db_->ReleaseSnapshot(snapshot);
  return result;
}

// Per key while there are few (each compaction rewrites only the files holding that key);
// past that, once over the span they cover in each record kind, so a twin with many
// relationships rewrites a file once rather than once per relationship.
Status RocksJournal::Purge(std::span<const twin::Mutation> deleted) {
  constexpr std::size_t kMaxSingleKeyCompactions = 8;
  std::map<std::string_view, std::vector<std::string>> by_prefix;
  for (const auto& m : deleted) {
    if (!IsDelete(m.kind)) continue;
    by_prefix[PrefixOf(m.kind)].push_back(std::string(PrefixOf(m.kind)) + m.key);
  }
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  options.exclusive_manual_compaction = false;  // background flushes and compactions go on
  auto compact = [&](const std::string& first, const std::string& last) {
    const rocksdb::Slice begin(first), end(last);  // both inclusive
    return FromRocks(db_->CompactRange(options, &begin, &end), "journal purge");
  };
  for (auto& [prefix, keys] : by_prefix) {
    std::sort(keys.begin(), keys.end());
    if (keys.size() > kMaxSingleKeyCompactions) {
      DOPPEL_RETURN_IF_ERROR(compact(keys.front(), keys.back()));
      continue;
    }
    for (const std::string& key : keys) DOPPEL_RETURN_IF_ERROR(compact(key, key));
  }
  return Status::Ok();
}

Status RocksJournal::Checkpoint(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return Status::AlreadyExists("checkpoint directory " + dir + " already exists");
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  if (s.ok()) s = checkpoint->CreateCheckpoint(dir);
  if (!s.ok()) return Status::Internal("graph store checkpoint into " + dir + " failed: " + s.ToString());
  return Status::Ok();
}

}  // namespace doppel::store
