// SeriesStore operations: statistics for /metrics, retention (with roll-ups) and checkpoints.
// The write and read paths are in series_store.cc.
#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <limits>

#include "tsdb/internal/store_state.h"
#include "tsdb/query.h"
#include "tsdb/series_store.h"

namespace doppel::tsdb {
namespace {

using internal::AppendBE;
using internal::AsBytes;
using internal::AsString;
using internal::ByteReader;
using internal::FromRocks;
using internal::ReadBE;
using internal::ReadTimeBE;
using internal::SeriesKey;

std::string RollupKey(SeriesId id, RollupLevel level, TimeNs bucket) {
  std::string key = SeriesKey('u', id);
  key.push_back(static_cast<char>(level));
  AppendBE(key, static_cast<uint64_t>(bucket) ^ (uint64_t{1} << 63));
  return key;
}
constexpr size_t kRollupKeySize = 19;  // 'u', '/', series id, level, bucket start

// A roll-up row's value: count (u64 LE), then sum, min, max (IEEE-754 bits, u64 LE).
std::string EncodeRollupRow(const RollupRow& row) {
  std::vector<uint8_t> out;
  internal::PutFixed64(out, row.count);
  for (double d : {row.sum, row.min, row.max}) internal::PutFixed64(out, std::bit_cast<uint64_t>(d));
  return std::string(out.begin(), out.end());
}
bool DecodeRollupRow(std::string_view value, RollupRow* row) {
  ByteReader r(AsBytes(value));
  uint64_t bits[3];
  if (!r.Fixed64(&row->count) || !r.Fixed64(&bits[0]) || !r.Fixed64(&bits[1]) || !r.Fixed64(&bits[2])) return false;
  row->sum = std::bit_cast<double>(bits[0]);
  row->min = std::bit_cast<double>(bits[1]);
  row->max = std::bit_cast<double>(bits[2]);
  return r.remaining() == 0 && row->count > 0;
}

// k * step for the bucket k holding t (+ buckets_after), saturated to the TimeNs range: the
// times of the extreme buckets are not representable.
TimeNs BucketStart(TimeNs t, TimeNs step, int buckets_after = 0) {
  const __int128 start = (__int128{FloorDiv(t, step)} + buckets_after) * step;
  return static_cast<TimeNs>(std::clamp<__int128>(start, std::numeric_limits<TimeNs>::min(),
                                                  std::numeric_limits<TimeNs>::max()));
}

// Folds time-ordered points (numeric) into rows of width `step`.
void AddToRows(const std::vector<Point>& points, TimeNs step, std::map<TimeNs, RollupRow>* rows) {
  for (const Point& p : points) {
    const TimeNs start = BucketStart(p.time, step);
    const double v = NumericValue(p.value);
    RollupRow& row = (*rows)[start];
    if (row.count == 0) row = RollupRow{start, 0, 0, v, v};
    ++row.count;
    row.sum += v;
    row.min = std::min(row.min, v);
    row.max = std::max(row.max, v);
  }
}

}  // namespace

Status SeriesStore::LoadRollupFloors() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  for (it->Seek("f/"); it->Valid() && it->key().starts_with("f/"); it->Next()) {
    Series* s = it->key().size() == 10 ? Lookup(ReadBE(it->key().ToStringView().substr(2))) : nullptr;
    ByteReader r(AsBytes(it->value().ToStringView()));
    uint64_t floor = 0;
    if (s == nullptr || !r.Fixed64(&floor)) return Status::Internal("corrupt roll-up floor");
    s->rollup_floor = static_cast<TimeNs>(floor);
  }
  return FromRocks(it->status());
}

// What retention does to one series: drop chunks older than `cutoff`; with roll-ups, first
// write them up to the dropped data, and delete rows whose bucket ended before rollup_cutoff.
struct SeriesStore::DropPlan {
  Series* series;
  TimeNs cutoff;
  bool rollups = false;
  TimeNs rollup_cutoff = 0;
};

Result<size_t> SeriesStore::DropBefore(std::optional<SeriesId> id, TimeNs cutoff) {
  std::lock_guard lock(mu_);
  if (id && Lookup(*id) == nullptr) return Status::NotFound("unknown series id " + std::to_string(*id));
  std::vector<DropPlan> plans;
  for (auto& [sid, s] : series_) {
    if (!id || sid == *id) plans.push_back({s.get(), cutoff});
  }
  return DropLocked(plans);
}

// One atomic batch per call: roll-ups, the floor, chunk and index deletions together, so a
// crash never leaves dropped data that no roll-up holds.
Result<size_t> SeriesStore::DropLocked(std::span<const DropPlan> plans) {
  std::vector<Series*> selected;
  for (const DropPlan& p : plans) selected.push_back(p.series);
  DOPPEL_RETURN_IF_ERROR(Persist(selected));  // so no dropped chunk lives on in the log
  rocksdb::WriteBatch batch;
  std::vector<std::pair<Series*, uint64_t>> doomed;
  std::vector<std::pair<Series*, TimeNs>> floors;
  std::vector<Series*> lose_last;  // a dropped chunk may hold the series' newest point
  for (const DropPlan& p : plans) {
    Series* s = p.series;
    std::optional<TimeNs> newest_dropped;
    for (const auto& [seq, ref] : s->chunks) {
      if (ref.max_time >= p.cutoff) continue;
      batch.Delete(s->Key('c', seq, ref));
      batch.Delete(s->Key('h', seq, ref));
      doomed.emplace_back(s, seq);
      newest_dropped = std::max(newest_dropped.value_or(ref.max_time), ref.max_time);
    }
    if (newest_dropped && s->last && *newest_dropped >= s->last->time) lose_last.push_back(s);
    if (!p.rollups || !IsNumeric(s->info.spec.type)) continue;
    // The floor only moves forward: a dropped late chunk below it is already rolled up.
    const TimeNs floor = newest_dropped ? BucketStart(*newest_dropped, RollupStep(RollupLevel::kHour), 1) : 0;
    if (newest_dropped && (!s->rollup_floor || floor > *s->rollup_floor)) {
      DOPPEL_RETURN_IF_ERROR(StageRollups(*s, floor, batch));
      floors.emplace_back(s, floor);
    }
    for (RollupLevel level : {RollupLevel::kMinute, RollupLevel::kHour}) {
      TimeNs end;  // rows with start + step <= rollup_cutoff
      if (__builtin_sub_overflow(p.rollup_cutoff, RollupStep(level) - 1, &end)) continue;
      batch.DeleteRange(RollupKey(s->info.id, level, std::numeric_limits<TimeNs>::min()),
                        RollupKey(s->info.id, level, end));
    }
  }
  if (batch.Count() == 0) return size_t{0};
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  DOPPEL_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch)));
  for (auto [s, seq] : doomed) s->chunks.erase(seq);
  for (Series* s : lose_last) s->last_known = false;  // Last recomputes it from what is left
  for (auto [s, floor] : floors) s->rollup_floor = floor;
  for (const DropPlan& p : plans) p.series->Recount();
  return doomed.size();
}

// Rolls up [old floor, new_floor) from the merged data (chunks and memory, last write
// winning), a day at a time so memory stays bounded, skipping spans without chunks.
Status SeriesStore::StageRollups(Series& s, TimeNs new_floor, rocksdb::WriteBatch& batch) {
  constexpr TimeNs kHour = RollupStep(RollupLevel::kHour);
  constexpr TimeNs kDay = 24 * kHour;
  TimeNs from = s.rollup_floor.value_or(std::numeric_limits<TimeNs>::min());
  auto next_data = [&](TimeNs after) {  // hour-aligned start of the first data at or after `after`
    std::optional<TimeNs> next;
    auto consider = [&](TimeNs t) { next = std::min(next.value_or(t), t); };
    for (const auto& [seq, ref] : s.chunks) {
      if (ref.max_time >= after) consider(ref.min_time);
    }
    if (auto late = s.out_of_order.lower_bound(after); late != s.out_of_order.end()) consider(late->first);
    if (!s.head.empty() && s.head.last_time() >= after) consider(s.head.min_time());
    return next ? std::max(after, BucketStart(*next, kHour)) : new_floor;
  };
  for (from = next_data(from); from < new_floor; from = next_data(from)) {
    const TimeNs to = __int128{new_floor} - from > kDay ? from + kDay : new_floor;
    DOPPEL_ASSIGN_OR_RETURN(const SeriesData data, ReadLocked(s, from, to));
    DOPPEL_ASSIGN_OR_RETURN(const std::vector<Point> points, MergePoints(data, from, to));
    for (RollupLevel level : {RollupLevel::kMinute, RollupLevel::kHour}) {
      std::map<TimeNs, RollupRow> rows;
      AddToRows(points, RollupStep(level), &rows);
      for (const auto& [start, row] : rows) batch.Put(RollupKey(s.info.id, level, start), EncodeRollupRow(row));
    }
    from = to;
  }
  std::vector<uint8_t> floor;
  internal::PutFixed64(floor, static_cast<uint64_t>(new_floor));
  batch.Put(SeriesKey('f', s.info.id), AsString(floor));
  return Status::Ok();
}

Result<RollupData> SeriesStore::ReadRollups(SeriesId id, RollupLevel level, TimeNs start, TimeNs end) const {
  RollupData out;
  {
    std::lock_guard lock(mu_);
    const Series* s = Lookup(id);
    if (s == nullptr) return Status::NotFound("unknown series id " + std::to_string(id));
    out.floor = s->rollup_floor;
  }
  if (!out.floor || start >= end) return out;
  const TimeNs step = RollupStep(level);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  const std::string prefix = RollupKey(id, level, 0).substr(0, 11);
  for (it->Seek(RollupKey(id, level, BucketStart(start, step))); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix) || key.size() != kRollupKeySize) break;
    RollupRow row;
    row.start = ReadTimeBE(key.substr(11));
    if (row.start >= end) break;
    if (!DecodeRollupRow(it->value().ToStringView(), &row)) return Status::Internal("corrupt roll-up row");
    out.rows.push_back(row);
  }
  DOPPEL_RETURN_IF_ERROR(FromRocks(it->status()));
  return out;
}

namespace {

// The most specific rule covering each kind of series (see RetentionRule).
struct RetentionPlan {
  std::map<std::pair<std::string, std::string>, const RetentionRule*, std::less<>> by_series;
  std::map<std::pair<std::string, std::string>, const RetentionRule*, std::less<>> by_model_path;
  std::map<std::string, const RetentionRule*, std::less<>> by_model;
  const RetentionRule* fallback = nullptr;

  const RetentionRule* RuleFor(const SeriesSpec& spec) const {
    if (auto it = by_series.find(std::pair(spec.twin_id, spec.path)); it != by_series.end()) return it->second;
    if (!spec.model_id.empty()) {
      auto it = by_model_path.find(std::pair(spec.model_id, spec.path));
      if (it != by_model_path.end()) return it->second;
    }
    if (auto it = by_model.find(spec.model_id); it != by_model.end() && !spec.model_id.empty()) return it->second;
    return fallback;
  }
};

Result<RetentionPlan> PlanRetention(std::span<const RetentionRule> rules) {
  RetentionPlan plan;
  for (const RetentionRule& r : rules) {
    if (r.keep <= 0) return Status::InvalidArgument("retention keep must be positive");
    if (!r.twin_id.empty() && r.path.empty()) {
      return Status::InvalidArgument("a series retention rule needs both twin_id and path");
    }
    if (!r.path.empty() && r.twin_id.empty() && r.model_id.empty()) {
      return Status::InvalidArgument("a retention rule with a path needs a twin_id or a model_id");
    }
    bool fresh = true;
    if (!r.twin_id.empty()) {
      if (!r.model_id.empty()) return Status::InvalidArgument("a series retention rule names no model");
      fresh = plan.by_series.emplace(std::pair(r.twin_id, r.path), &r).second;
    } else if (!r.path.empty()) {
      fresh = plan.by_model_path.emplace(std::pair(r.model_id, r.path), &r).second;
    } else if (!r.model_id.empty()) {
      fresh = plan.by_model.emplace(r.model_id, &r).second;
    } else {
      fresh = plan.fallback == nullptr;
      plan.fallback = &r;
    }
    if (!fresh) return Status::InvalidArgument("two retention rules cover the same series");
    if (r.keep_rollups < 0 || (r.keep_rollups > 0 && r.keep_rollups < r.keep)) {
      return Status::InvalidArgument("keep_rollups must be 0 (none) or at least keep");
    }
  }
  return plan;
}

// now - keep, saturating: a keep reaching before the start of time drops nothing.
TimeNs Cutoff(TimeNs now, TimeNs keep) {
  TimeNs cutoff;
  return __builtin_sub_overflow(now, keep, &cutoff) ? std::numeric_limits<TimeNs>::min() : cutoff;
}

}  // namespace

Result<size_t> SeriesStore::ApplyRetention(std::span<const RetentionRule> rules, TimeNs now) {
  DOPPEL_ASSIGN_OR_RETURN(const RetentionPlan plan, PlanRetention(rules));
  std::lock_guard lock(mu_);
  std::vector<DropPlan> plans;
  for (auto& [id, s] : series_) {
    const RetentionRule* rule = plan.RuleFor(s->info.spec);
    if (rule == nullptr) continue;
    DropPlan p{s.get(), Cutoff(now, rule->keep), rule->keep_rollups > 0, Cutoff(now, rule->keep_rollups)};
    // Skip series with nothing to do so the Persist inside DropLocked stays small.
    const bool drops = !s->chunks.empty() && s->sealed_min < p.cutoff;
    if (drops || (p.rollups && s->rollup_floor)) plans.push_back(p);
  }
  return DropLocked(plans);
}

// No lock: every acknowledged write is already in RocksDB (log records or chunks, each batch
// atomic), and a RocksDB checkpoint is a consistent cut of it taken while writes go on.
Status SeriesStore::Checkpoint(const std::string& dir) const {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return Status::AlreadyExists("checkpoint directory exists: " + dir);
  rocksdb::Checkpoint* raw = nullptr;
  DOPPEL_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw)));
  const std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir));
}

SeriesStats SeriesStore::StatsOf(const Series& s) {
  SeriesStats st;
  st.chunks = s.chunks.size();
  st.memory_points = s.head.count() + s.out_of_order.size();
  st.points = s.sealed_points + st.memory_points;
  st.disk_bytes = s.sealed_bytes + s.log_bytes;
  auto widen = [&st](TimeNs lo, TimeNs hi) {
    st.oldest = st.oldest ? std::min(*st.oldest, lo) : lo;
    st.newest = st.newest ? std::max(*st.newest, hi) : hi;
  };
  if (!s.chunks.empty()) widen(s.sealed_min, s.sealed_max);
  if (!s.head.empty()) widen(s.head.min_time(), s.head.last_time());
  if (!s.out_of_order.empty()) widen(s.out_of_order.begin()->first, s.out_of_order.rbegin()->first);
  return st;
}

Result<SeriesStats> SeriesStore::Stats(SeriesId id) const {
  std::lock_guard lock(mu_);
  const Series* s = Lookup(id);
  if (s == nullptr) return Status::NotFound("unknown series id " + std::to_string(id));
  return StatsOf(*s);
}

std::vector<std::pair<SeriesId, SeriesStats>> SeriesStore::AllStats() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<SeriesId, SeriesStats>> out;
  out.reserve(series_.size());
  for (const auto& [id, s] : series_) out.emplace_back(id, StatsOf(*s));
  return out;
}

StoreStats SeriesStore::TotalStats() const {
  StoreStats out;
  {
    std::lock_guard lock(mu_);
    out.series = series_.size();
    for (const auto& [id, s] : series_) {
      const SeriesStats st = StatsOf(*s);
      out.points += st.points;
      out.chunks += st.chunks;
      out.disk_bytes += st.disk_bytes;
    }
  }
  // RocksDB's properties are thread-safe; a missing one leaves 0.
  (void)db_->GetIntProperty("rocksdb.live-sst-files-size", &out.sst_bytes);
  (void)db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &out.memtable_bytes);
  return out;
}

}  // namespace doppel::tsdb
