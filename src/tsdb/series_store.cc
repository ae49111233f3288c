#include "tsdb/series_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <bit>

#include "tsdb/internal/byte_io.h"
#include "tsdb/internal/store_state.h"

namespace doppel::tsdb {
namespace {

using internal::AppendBE;
using internal::AsBytes;
using internal::AsString;
using internal::ByteReader;
using internal::ChunkKey;
using internal::EncodeIndexEntry;
using internal::FromRocks;
using internal::ReadBE;
using internal::ReadTimeBE;
using internal::SeriesKey;

// Present once every chunk has its "h/" index entry (docs/format/tsdb.md); a store written
// before the index existed gets one built at its first open.
constexpr std::string_view kLayoutKey = "m/layout";
constexpr std::string_view kLayoutChunkIndex = "2";
constexpr size_t kChunkKeySize = 26;  // space, '/', series id, min time, seq
std::string WalKey(SeriesId id, uint64_t seq) {
  std::string key = SeriesKey('w', id);
  AppendBE(key, seq);
  return key;
}


void PutString(std::vector<uint8_t>& out, std::string_view s) {
  internal::PutVarint(out, s.size());
  internal::PutBytes(out, AsBytes(s));
}
bool GetString(ByteReader& r, std::string* s) {
  uint64_t n;
  std::span<const uint8_t> bytes;
  if (!r.Varint(&n) || !r.Bytes(n, &bytes)) return false;
  s->assign(bytes.begin(), bytes.end());
  return true;
}

std::string EncodeSpec(const SeriesSpec& spec) {
  std::vector<uint8_t> out{static_cast<uint8_t>(spec.type)};
  for (const std::string* f : {&spec.twin_id, &spec.path, &spec.model_id, &spec.unit, &spec.semantic_type}) {
    PutString(out, *f);
  }
  return AsString(out);
}
bool DecodeSpec(std::string_view bytes, SeriesSpec* spec) {
  ByteReader r(AsBytes(bytes));
  uint8_t type;
  if (!r.Byte(&type) || type > 3) return false;
  spec->type = static_cast<ValueType>(type);
  for (std::string* f : {&spec->twin_id, &spec->path, &spec->model_id, &spec->unit, &spec->semantic_type}) {
    if (!GetString(r, f)) return false;
  }
  return r.remaining() == 0;
}

// A WAL record: varint count, then (fixed64 time, value) per point; the value's encoding
// follows the series' type (fixed64 bits, fixed64, one byte, or varint length + bytes).
void EncodeValue(std::vector<uint8_t>& out, const Value& v) {
  switch (TypeOf(v)) {
    case ValueType::kDouble: internal::PutFixed64(out, std::bit_cast<uint64_t>(std::get<double>(v))); break;
    case ValueType::kInt64: internal::PutFixed64(out, static_cast<uint64_t>(std::get<int64_t>(v))); break;
    case ValueType::kBool: out.push_back(std::get<bool>(v) ? 1 : 0); break;
    case ValueType::kString: PutString(out, std::get<std::string>(v)); break;
  }
}
void EncodePoint(std::vector<uint8_t>& out, TimeNs time, const Value& v) {
  internal::PutFixed64(out, static_cast<uint64_t>(time));
  EncodeValue(out, v);
}
bool DecodeValue(ByteReader& r, ValueType type, Value* v) {
  uint64_t bits;
  switch (type) {
    case ValueType::kDouble:
      if (!r.Fixed64(&bits)) return false;
      *v = std::bit_cast<double>(bits);
      return true;
    case ValueType::kInt64:
      if (!r.Fixed64(&bits)) return false;
      *v = static_cast<int64_t>(bits);
      return true;
    case ValueType::kBool: {
      uint8_t b;
      if (!r.Byte(&b) || b > 1) return false;
      *v = b == 1;
      return true;
    }
    case ValueType::kString: {
      std::string s;
      if (!GetString(r, &s)) return false;
      *v = std::move(s);
      return true;
    }
  }
  return false;
}
bool DecodePoint(ByteReader& r, ValueType type, Point* p) {
  uint64_t t;
  if (!r.Fixed64(&t)) return false;
  p->time = static_cast<TimeNs>(t);
  return DecodeValue(r, type, &p->value);
}

// Index entries carry the chunk's last value only up to this size (a long string is left out,
// and Last decodes that chunk once after Open instead): Open reads every entry.
constexpr size_t kMaxIndexedValueBytes = 64;

// The "h/" value of a chunk whose point at max_time holds `last` (see EncodeIndexEntry).
std::string IndexEntry(TimeNs max_time, uint32_t count, uint32_t bytes, const Value& last) {
  std::vector<uint8_t> value;
  EncodeValue(value, last);
  if (value.size() > kMaxIndexedValueBytes) value.clear();
  return EncodeIndexEntry(max_time, count, bytes, AsString(value));
}

}  // namespace

SeriesStore::SeriesStore(std::unique_ptr<rocksdb::DB> db, SeriesStoreOptions options)
    : options_(options), db_(std::move(db)) {}
SeriesStore::~SeriesStore() = default;

Result<std::unique_ptr<SeriesStore>> SeriesStore::Open(const std::string& dir, SeriesStoreOptions options) {
  if (options.max_head_points == 0 || options.partition <= 0) {
    return Status::InvalidArgument("max_head_points and partition must be positive");
  }
  rocksdb::Options rocks_options;
  rocks_options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  DOPPEL_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(rocks_options, dir, &raw)));
  std::unique_ptr<SeriesStore> store(new SeriesStore(std::unique_ptr<rocksdb::DB>(raw), options));
  std::lock_guard lock(store->mu_);
  DOPPEL_RETURN_IF_ERROR(store->LoadCatalog());
  DOPPEL_RETURN_IF_ERROR(store->EnsureChunkIndex());
  DOPPEL_RETURN_IF_ERROR(store->LoadChunks());
  DOPPEL_RETURN_IF_ERROR(store->LoadRollupFloors());
  DOPPEL_RETURN_IF_ERROR(store->ReplayWal());
  return store;
}

Status SeriesStore::LoadCatalog() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  for (it->Seek("s/"); it->Valid() && it->key().starts_with("s/"); it->Next()) {
    SeriesInfo info;
    info.id = ReadBE(it->key().ToStringView().substr(2));
    if (!DecodeSpec(it->value().ToStringView(), &info.spec)) return Status::Internal("corrupt series catalog entry");
    next_id_ = std::max(next_id_, info.id + 1);
    AddSeries(std::move(info));
  }
  return FromRocks(it->status());
}

// A store from before the "h/" index: read every chunk once (checking its CRC) and write its
// index entry, all in one batch with the layout marker, so a crash just redoes it.
Status SeriesStore::EnsureChunkIndex() {
  std::string layout;
  const rocksdb::Status got = db_->Get({}, kLayoutKey, &layout);
  if (got.ok() && layout == kLayoutChunkIndex) return Status::Ok();
  if (!got.ok() && !got.IsNotFound()) return FromRocks(got);
  if (got.ok()) return Status::Internal("history store has an unknown layout " + layout);
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  for (it->Seek("c/"); it->Valid() && it->key().starts_with("c/"); it->Next()) {
    std::string key = it->key().ToString();
    if (key.size() != kChunkKeySize) return Status::Internal("malformed chunk key");
    Result<SeriesChunk> chunk = SeriesChunk::Parse(it->value().ToString());
    if (!chunk.ok()) return Status::Internal(chunk.status().message());
    const ChunkHeader& h = chunk->header();
    key[0] = 'h';
    batch.Put(key, EncodeIndexEntry(h.max_time, h.count, static_cast<uint32_t>(chunk->bytes().size())));
  }
  DOPPEL_RETURN_IF_ERROR(FromRocks(it->status()));
  batch.Put(kLayoutKey, kLayoutChunkIndex);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, &batch));
}

// Reads only the "h/" index (16-byte values), not the chunks: open time grows with the number
// of chunks, not with the bytes stored. Chunks are validated (CRC) when a query reads them.
Status SeriesStore::LoadChunks() {
  rocksdb::ReadOptions one_pass;
  one_pass.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(one_pass));
  Series* s = nullptr;  // entries come grouped by series: look each up once
  // The series' newest chunk so far (greatest max time, then seq) and its last value if the
  // entry has one: the series' newest point before the log is replayed.
  struct Newest {
    TimeNs time;
    uint64_t seq;
    std::optional<Value> value;
  };
  std::optional<Newest> newest;
  auto finish_series = [&] {
    if (s == nullptr || !newest) return;
    s->last_known = newest->value.has_value();
    if (s->last_known) s->last = Point{newest->time, std::move(*newest->value)};
    newest.reset();
  };
  for (it->Seek("h/"); it->Valid() && it->key().starts_with("h/"); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (key.size() != kChunkKeySize) return Status::Internal("malformed chunk index key");
    const SeriesId id = ReadBE(key.substr(2));
    if (s == nullptr || s->info.id != id) {
      finish_series();
      s = Lookup(id);
    }
    if (s == nullptr) return Status::Internal("chunk of unknown series");
    ByteReader r(AsBytes(it->value().ToStringView()));
    ChunkRef ref;
    uint64_t max_time = 0;
    ref.min_time = ReadTimeBE(key.substr(10));
    std::optional<Value> last;
    if (!r.Fixed64(&max_time) || !r.Fixed32(&ref.count) || !r.Fixed32(&ref.bytes) ||
        (r.remaining() != 0 && !DecodeValue(r, s->info.spec.type, &last.emplace())) || r.remaining() != 0) {
      return Status::Internal("corrupt chunk index entry (series " + s->info.spec.path + ")");
    }
    ref.max_time = static_cast<TimeNs>(max_time);
    const uint64_t seq = ReadBE(key.substr(18));
    if (!newest || ref.max_time > newest->time || (ref.max_time == newest->time && seq > newest->seq)) {
      newest = Newest{ref.max_time, seq, std::move(last)};
    }
    s->newest_time = s->has_points ? std::max(s->newest_time, ref.max_time) : ref.max_time;
    s->has_points = true;
    s->AddChunk(seq, std::move(ref));
    next_chunk_seq_ = std::max(next_chunk_seq_, seq + 1);
  }
  finish_series();
  return FromRocks(it->status());
}

Status SeriesStore::ReplayWal() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}));
  std::vector<Series*> touched;
  for (it->Seek("w/"); it->Valid() && it->key().starts_with("w/"); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    Series* s = Lookup(ReadBE(key.substr(2)));
    if (s == nullptr || key.size() != 18) return Status::Internal("log record of unknown series");
    next_wal_seq_ = std::max(next_wal_seq_, ReadBE(key.substr(10)) + 1);
    ByteReader r(AsBytes(it->value().ToStringView()));
    s->log_bytes += it->value().size();
    uint64_t n;
    if (!r.Varint(&n)) return Status::Internal("corrupt log record");
    for (uint64_t i = 0; i < n; ++i) {
      Point p;
      if (!DecodePoint(r, s->info.spec.type, &p)) return Status::Internal("corrupt log record");
      Apply(*s, p.time, p.value);
    }
    if (touched.empty() || touched.back() != s) touched.push_back(s);
  }
  DOPPEL_RETURN_IF_ERROR(FromRocks(it->status()));
  return Persist(touched);
}

SeriesStore::Series* SeriesStore::Lookup(SeriesId id) const {
  auto it = series_.find(id);
  return it == series_.end() ? nullptr : it->second.get();
}

Result<SeriesId> SeriesStore::CreateSeries(const SeriesSpec& spec) {
  if (spec.twin_id.empty() || spec.path.empty()) return Status::InvalidArgument("series needs a twin id and a path");
  std::lock_guard lock(mu_);
  SeriesId id = next_id_;
  if (auto it = by_key_.find(SeriesKeyView(spec.twin_id, spec.path)); it != by_key_.end()) {
    id = it->second;
    const SeriesSpec& old = series_[id]->info.spec;
    if (old.type != spec.type) {
      return Status::Conflict("series " + spec.twin_id + "/" + spec.path + " holds " +
                              std::string(ValueTypeName(old.type)) + " values");
    }
    if (old.model_id == spec.model_id && old.unit == spec.unit && old.semantic_type == spec.semantic_type) return id;
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  DOPPEL_RETURN_IF_ERROR(FromRocks(db_->Put(wo, SeriesKey('s', id), EncodeSpec(spec))));
  if (id == next_id_) {
    ++next_id_;
    AddSeries(SeriesInfo{id, spec});
  } else {  // twin_id and path stay: by_key_ views them
    SeriesSpec& old = series_[id]->info.spec;
    old.model_id = spec.model_id;
    old.unit = spec.unit;
    old.semantic_type = spec.semantic_type;
  }
  return id;
}

// by_key_ views the Series' own twin_id and path (a Series never moves, and those two never
// change): no second copy of every series' key.
void SeriesStore::AddSeries(SeriesInfo info) {
  const SeriesId id = info.id;
  auto series = std::make_unique<Series>(std::move(info));
  by_key_[SeriesKeyView(series->info.spec.twin_id, series->info.spec.path)] = id;
  series_[id] = std::move(series);
}

Result<SeriesId> SeriesStore::Find(std::string_view twin_id, std::string_view path) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(SeriesKeyView(twin_id, path));
  if (it == by_key_.end()) return Status::NotFound("unknown series " + std::string(twin_id) + "/" + std::string(path));
  return it->second;
}

Result<SeriesInfo> SeriesStore::Info(SeriesId id) const {
  std::lock_guard lock(mu_);
  const Series* s = Lookup(id);
  if (s == nullptr) return Status::NotFound("unknown series id " + std::to_string(id));
  return s->info;
}

std::vector<SeriesInfo> SeriesStore::ListSeries() const {
  std::lock_guard lock(mu_);
  std::vector<SeriesInfo> out;
  for (const auto& [id, s] : series_) out.push_back(s->info);
  return out;
}

std::vector<SeriesInfo> SeriesStore::ListSeriesOfTwin(std::string_view twin_id) const {
  std::lock_guard lock(mu_);
  std::vector<SeriesInfo> out;
  // by_key_ is ordered by (twin, path) and "" is the least path: a range scan.
  for (auto it = by_key_.lower_bound(SeriesKeyView(twin_id, {})); it != by_key_.end() && it->first.first == twin_id;
       ++it) {
    out.push_back(series_.at(it->second)->info);
  }
  return out;
}

size_t SeriesStore::ChunkCount(SeriesId id) const {
  std::lock_guard lock(mu_);
  const Series* s = Lookup(id);
  return s == nullptr ? 0 : s->chunks.size();
}

Status SeriesStore::Write(std::span<const SeriesPoint> points) {
  std::lock_guard lock(mu_);
  std::map<SeriesId, std::vector<const SeriesPoint*>> by_series;
  for (const SeriesPoint& p : points) {
    const Series* s = Lookup(p.series);
    if (s == nullptr) return Status::InvalidArgument("unknown series id " + std::to_string(p.series));
    if (TypeOf(p.value) != s->info.spec.type) {
      return Status::InvalidArgument("series " + s->info.spec.path + " takes " +
                                     std::string(ValueTypeName(s->info.spec.type)) + " values");
    }
    by_series[p.series].push_back(&p);
  }
  // Durable first, then visible: a failed log write leaves memory untouched.
  DOPPEL_RETURN_IF_ERROR(WriteWal(by_series));
  std::vector<Series*> touched;
  for (const auto& [id, list] : by_series) {
    Series& s = *Lookup(id);
    for (const SeriesPoint* p : list) Apply(s, p->time, p->value);
    touched.push_back(&s);
  }
  Status st = Persist(touched);
  if (!st.ok()) return Status::Internal("points are logged but sealing failed: " + st.message());
  return Status::Ok();
}

Status SeriesStore::WriteWal(const std::map<SeriesId, std::vector<const SeriesPoint*>>& by_series) {
  rocksdb::WriteBatch batch;
  std::vector<std::pair<Series*, size_t>> sizes;
  sizes.reserve(by_series.size());
  for (const auto& [id, list] : by_series) {
    std::vector<uint8_t> record;
    record.reserve(10 + 17 * list.size());  // exact for numeric and bool points
    internal::PutVarint(record, list.size());
    for (const SeriesPoint* p : list) EncodePoint(record, p->time, p->value);
    batch.Put(WalKey(id, next_wal_seq_++), AsString(record));
    sizes.emplace_back(Lookup(id), record.size());
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  DOPPEL_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch)));
  for (auto [s, bytes] : sizes) s->log_bytes += bytes;
  return Status::Ok();
}

void SeriesStore::Apply(Series& s, TimeNs time, const Value& value) {
  UpdateLast(s, time, value);
  if (!s.has_points || time > s.newest_time) {
    if (!s.head.empty() && (s.head.count() >= options_.max_head_points ||
                            FloorDiv(time, options_.partition) != FloorDiv(s.head.min_time(), options_.partition))) {
      SealInMemory(s);
    }
    s.head.Append(time, value);
    s.has_points = true;
    s.newest_time = time;
  } else if (!s.head.empty() && time == s.head.last_time()) {
    s.head.Append(time, value);
  } else {
    s.out_of_order.insert_or_assign(time, value);
    if (s.out_of_order.size() >= options_.max_head_points) SealInMemory(s);
  }
}

// A point at or after the newest one held is the new newest (on an equal time it is the later
// write). While the newest point is unknown, only a point at or after the high-water mark is
// surely the newest (nothing held is newer than the mark).
void SeriesStore::UpdateLast(Series& s, TimeNs time, const Value& value) {
  const bool newest = s.last_known ? !s.last || time >= s.last->time : !s.has_points || time >= s.newest_time;
  if (!newest) return;
  s.last = Point{time, value};
  s.last_known = true;
}

// The head and the out-of-order buffer seal together, head first: out-of-order points were
// written after the head's points with the same time, so their chunk must get the later seq.
void SeriesStore::SealInMemory(Series& s) {
  auto add = [&](HeadChunk& from) {
    Value last = from.newest().value;
    SeriesChunk chunk = from.Seal();
    const ChunkHeader& h = chunk.header();
    ChunkRef ref{h.min_time, h.max_time, h.count, static_cast<uint32_t>(chunk.bytes().size()), nullptr};
    ref.unpersisted = std::make_unique<const ChunkRef::Pending>(ChunkRef::Pending{std::move(chunk), std::move(last)});
    s.AddChunk(next_chunk_seq_++, std::move(ref));
  };
  if (!s.head.empty()) add(s.head);
  if (!s.out_of_order.empty()) {
    HeadChunk late(s.info.spec.type);
    for (const auto& [t, v] : s.out_of_order) late.Append(t, v);
    add(late);
    s.out_of_order.clear();
  }
  s.dirty = true;
}

// Writes unpersisted chunks (with their index entries) and replaces the series' log records
// with one holding exactly what is still in memory, in one atomic batch: a crash leaves either
// the old log (and no chunk) or the chunks and the shorter log, never a point in neither or a
// stale duplicate.
void SeriesStore::StagePersist(Series& s, rocksdb::WriteBatch& batch) {
  for (const auto& [seq, ref] : s.chunks) {
    if (!ref.unpersisted) continue;
    batch.Put(s.Key('c', seq, ref), ref.unpersisted->chunk.bytes());
    batch.Put(s.Key('h', seq, ref), IndexEntry(ref.max_time, ref.count, ref.bytes, ref.unpersisted->last));
  }
  batch.DeleteRange(SeriesKey('w', s.info.id), SeriesKey('w', s.info.id + 1));
  s.log_bytes = 0;
  const std::vector<Point> head = s.head.Points();
  if (head.empty() && s.out_of_order.empty()) return;
  std::vector<uint8_t> record;
  internal::PutVarint(record, head.size() + s.out_of_order.size());
  for (const Point& p : head) EncodePoint(record, p.time, p.value);
  for (const auto& [t, v] : s.out_of_order) EncodePoint(record, t, v);
  s.log_bytes = record.size();
  batch.Put(WalKey(s.info.id, next_wal_seq_++), AsString(record));
}

// All series that sealed share one synced write: a batch touching 100 series that all seal
// costs one fsync, not 100.
Status SeriesStore::Persist(std::span<Series* const> series) {
  rocksdb::WriteBatch batch;
  for (Series* s : series) {
    if (s->dirty) StagePersist(*s, batch);
  }
  if (batch.Count() == 0) return Status::Ok();
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  DOPPEL_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch)));
  for (Series* s : series) {
    if (!s->dirty) continue;
    for (auto& [seq, ref] : s->chunks) ref.unpersisted.reset();
    s->dirty = false;
  }
  return Status::Ok();
}

Result<SeriesChunk> SeriesStore::LoadChunk(const Series& s, uint64_t seq, const ChunkRef& ref) const {
  if (ref.unpersisted) return ref.unpersisted->chunk;
  std::string bytes;
  DOPPEL_RETURN_IF_ERROR(FromRocks(db_->Get({}, s.Key('c', seq, ref), &bytes)));
  Result<SeriesChunk> chunk = SeriesChunk::Parse(std::move(bytes));
  if (!chunk.ok()) return Status::Internal(chunk.status().message());
  return chunk;
}

Result<SeriesData> SeriesStore::Read(SeriesId id, TimeNs start, TimeNs end) const {
  std::lock_guard lock(mu_);
  const Series* s = Lookup(id);
  if (s == nullptr) return Status::NotFound("unknown series id " + std::to_string(id));
  return ReadLocked(*s, start, end);
}

Result<SeriesData> SeriesStore::ReadLocked(const Series& series, TimeNs start, TimeNs end) const {
  const Series* s = &series;
  SeriesData data;
  data.type = s->info.spec.type;
  for (const auto& [seq, ref] : s->chunks) {
    if (ref.max_time < start || ref.min_time >= end) continue;
    DOPPEL_ASSIGN_OR_RETURN(SeriesChunk chunk, LoadChunk(*s, seq, ref));
    data.chunks.push_back(std::move(chunk));
  }
  // A sorted merge of head and out-of-order buffer; on equal times the out-of-order point
  // is the later write (the head only takes times newer than everything before).
  std::vector<Point> head = s->head.Points();
  auto h = head.begin();
  for (const auto& [t, v] : s->out_of_order) {
    for (; h != head.end() && h->time <= t; ++h) {
      if (h->time >= start && h->time < end && h->time != t) data.recent.push_back(std::move(*h));
    }
    if (t >= start && t < end) data.recent.push_back({t, v});
  }
  for (; h != head.end(); ++h) {
    if (h->time >= start && h->time < end) data.recent.push_back(std::move(*h));
  }
  return data;
}

// From the data: the head, else the newest of the out-of-order buffer and the chunks (whose
// last point this decodes). Last caches the answer in Series::last.
Result<std::optional<Point>> SeriesStore::LastOf(const Series& s) const {
  if (!s.head.empty()) return std::optional<Point>(s.head.newest());
  const ChunkRef* newest = nullptr;  // greatest max_time; on ties the later seq wins
  uint64_t newest_seq = 0;
  for (const auto& [seq, ref] : s.chunks) {
    if (newest == nullptr || ref.max_time >= newest->max_time) newest = &ref, newest_seq = seq;
  }
  const auto late = s.out_of_order.rbegin();
  if (late != s.out_of_order.rend() && (newest == nullptr || late->first >= newest->max_time)) {
    return std::optional<Point>(Point{late->first, late->second});
  }
  if (newest == nullptr) return std::optional<Point>();
  DOPPEL_ASSIGN_OR_RETURN(SeriesChunk chunk, LoadChunk(s, newest_seq, *newest));
  std::vector<Point> points;
  Status decoded = chunk.Decode(&points);
  if (!decoded.ok()) return Status::Internal(decoded.message());
  return std::optional<Point>(points.back());
}

Result<std::vector<std::optional<Point>>> SeriesStore::Last(std::span<const SeriesId> ids) const {
  std::lock_guard lock(mu_);
  std::vector<std::optional<Point>> out;
  out.reserve(ids.size());
  for (SeriesId id : ids) {
    Series* s = Lookup(id);
    if (s == nullptr) return Status::NotFound("unknown series id " + std::to_string(id));
    if (!s->last_known) {  // once per series after Open or retention, at most
      DOPPEL_ASSIGN_OR_RETURN(s->last, LastOf(*s));
      s->last_known = true;
    }
    out.push_back(s->last);
  }
  return out;
}

Status SeriesStore::Flush() {
  std::lock_guard lock(mu_);
  std::vector<Series*> all;
  for (auto& [id, s] : series_) {
    if (!s->head.empty() || !s->out_of_order.empty()) SealInMemory(*s);
    all.push_back(s.get());
  }
  return Persist(all);
}

Result<size_t> SeriesStore::Compact(SeriesId id) {
  std::lock_guard lock(mu_);
  Series* s = Lookup(id);
  if (s == nullptr) return Status::NotFound("unknown series id " + std::to_string(id));
  Series* const one[] = {s};
  DOPPEL_RETURN_IF_ERROR(Persist(one));  // every chunk on disk before keys are rewritten
  // Sweep the chunks in min-time order; a group ends where the next chunk starts after the
  // greatest max time seen so far.
  std::vector<std::pair<TimeNs, uint64_t>> by_start;
  for (const auto& [seq, ref] : s->chunks) by_start.emplace_back(ref.min_time, seq);
  std::sort(by_start.begin(), by_start.end());
  rocksdb::WriteBatch batch;
  std::vector<std::pair<uint64_t, ChunkRef>> fresh;
  std::vector<uint64_t> group, replaced;
  TimeNs reach = 0;
  auto close_group = [&]() -> Status {
    if (group.size() > 1) {
      DOPPEL_RETURN_IF_ERROR(CompactGroup(*s, group, batch, &fresh));
      replaced.insert(replaced.end(), group.begin(), group.end());
    }
    group.clear();
    return Status::Ok();
  };
  for (const auto& [min_time, seq] : by_start) {
    if (!group.empty() && min_time > reach) DOPPEL_RETURN_IF_ERROR(close_group());
    const TimeNs max_time = s->chunks.at(seq).max_time;
    reach = group.empty() ? max_time : std::max(reach, max_time);
    group.push_back(seq);
  }
  DOPPEL_RETURN_IF_ERROR(close_group());
  if (replaced.empty()) return size_t{0};
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  DOPPEL_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch)));
  for (uint64_t seq : replaced) s->chunks.erase(seq);
  for (auto& [seq, ref] : fresh) s->chunks.emplace(seq, std::move(ref));
  s->Recount();
  return replaced.size();
}

// Merges one overlapping group (older seq first, so a stable sort by time leaves the last
// write last among equal times) and re-chunks it by the usual size and partition rules.
Status SeriesStore::CompactGroup(const Series& s, const std::vector<uint64_t>& seqs, rocksdb::WriteBatch& batch,
                                 std::vector<std::pair<uint64_t, ChunkRef>>* fresh) {
  std::vector<uint64_t> by_seq = seqs;
  std::sort(by_seq.begin(), by_seq.end());
  std::vector<Point> all;
  for (uint64_t seq : by_seq) {
    const ChunkRef& ref = s.chunks.at(seq);
    DOPPEL_ASSIGN_OR_RETURN(SeriesChunk chunk, LoadChunk(s, seq, ref));
    Status decoded = chunk.Decode(&all);
    if (!decoded.ok()) return Status::Internal(decoded.message());
    batch.Delete(s.Key('c', seq, ref));
    batch.Delete(s.Key('h', seq, ref));
  }
  std::stable_sort(all.begin(), all.end(), [](const Point& a, const Point& b) { return a.time < b.time; });
  HeadChunk head(s.info.spec.type);
  auto seal = [&] {
    const Value last = head.newest().value;
    SeriesChunk chunk = head.Seal();
    const uint64_t seq = next_chunk_seq_++;
    const ChunkHeader& h = chunk.header();
    ChunkRef ref{h.min_time, h.max_time, h.count, static_cast<uint32_t>(chunk.bytes().size()), nullptr};
    batch.Put(s.Key('c', seq, ref), chunk.bytes());
    batch.Put(s.Key('h', seq, ref), IndexEntry(ref.max_time, ref.count, ref.bytes, last));
    fresh->emplace_back(seq, std::move(ref));
  };
  for (size_t i = 0; i < all.size(); ++i) {
    if (i + 1 < all.size() && all[i + 1].time == all[i].time) continue;  // a later write follows
    if (!head.empty() && (head.count() >= options_.max_head_points ||
                          FloorDiv(all[i].time, options_.partition) != FloorDiv(head.min_time(), options_.partition))) {
      seal();
    }
    head.Append(all[i].time, all[i].value);
  }
  if (!head.empty()) seal();
  return Status::Ok();
}

}  // namespace doppel::tsdb
