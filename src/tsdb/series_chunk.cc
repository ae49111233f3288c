#include "tsdb/series_chunk.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "tsdb/internal/byte_io.h"
#include "tsdb/internal/crc32c.h"
#include "tsdb/internal/double_column.h"

namespace doppel::tsdb {
namespace {

using internal::AsBytes;
using internal::ByteReader;

Status Corrupt(const std::string& what) { return Status::InvalidArgument("corrupt chunk: " + what); }

Status ParseStats(ByteReader& r, ChunkStats* s) {
  for (double* field : {&s->min, &s->max, &s->sum, &s->m2, &s->first, &s->last}) {
    uint64_t bits;
    if (!r.Fixed64(&bits)) return Corrupt("truncated stats");
    *field = std::bit_cast<double>(bits);
  }
  return Status::Ok();
}

}  // namespace

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kDouble: return "double";
    case ValueType::kInt64: return "int64";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
  }
  return "unknown";
}

Result<SeriesChunk> SeriesChunk::Parse(std::string bytes) {
  SeriesChunk c;
  c.bytes_ = std::move(bytes);
  const auto all = AsBytes(c.bytes_);
  if (all.size() < 4) return Corrupt("too short");
  ByteReader crc_reader(all.subspan(all.size() - 4));
  uint32_t stored_crc = 0;
  (void)crc_reader.Fixed32(&stored_crc);
  if (internal::Crc32c(all.first(all.size() - 4)) != stored_crc) return Corrupt("checksum mismatch");

  ByteReader r(all.first(all.size() - 4));
  uint8_t version = 0, type = 0;
  uint64_t min_time = 0, max_time = 0;
  if (!r.Byte(&version)) return Corrupt("empty");
  if (version != kChunkFormatVersion) return Corrupt("unsupported version " + std::to_string(version));
  if (!r.Byte(&type) || type > 3) return Corrupt("bad value type");
  ChunkHeader& h = c.header_;
  h.type = static_cast<ValueType>(type);
  if (!r.Fixed32(&h.count) || !r.Fixed64(&min_time) || !r.Fixed64(&max_time)) return Corrupt("truncated header");
  h.min_time = static_cast<TimeNs>(min_time);
  h.max_time = static_cast<TimeNs>(max_time);
  if (h.count == 0 || h.min_time > h.max_time) return Corrupt("bad header");
  if (IsNumeric(h.type)) DOPPEL_RETURN_IF_ERROR(ParseStats(r, &h.stats));
  uint32_t times_size = 0, values_size = 0;
  std::span<const uint8_t> col;
  if (!r.Fixed32(&times_size) || !r.Bytes(times_size, &col)) return Corrupt("truncated times");
  c.times_offset_ = r.position() - times_size;
  c.times_size_ = times_size;
  if (!r.Fixed32(&values_size) || !r.Bytes(values_size, &col)) return Corrupt("truncated values");
  c.values_offset_ = r.position() - values_size;
  c.values_size_ = values_size;
  if (r.remaining() != 0) return Corrupt("trailing bytes");
  // Every time after the first takes at least one bit: bounds what a decoder will allocate.
  if (uint64_t{times_size} * 8 < 63 + uint64_t{h.count}) return Corrupt("count exceeds the time column");
  return c;
}

Status SeriesChunk::DecodeColumns(std::vector<TimeNs>* times, std::vector<Point>* points,
                                  std::vector<double>* numbers) const {
  const auto all = AsBytes(bytes_);
  const auto t_bytes = all.subspan(times_offset_, times_size_);
  const auto v_bytes = all.subspan(values_offset_, values_size_);
  const size_t n = header_.count;
  const size_t base = times->size();
  if (!internal::DecodeDeltaOfDelta(t_bytes, n, times)) return Corrupt("bad time column");
  if ((*times)[base] != header_.min_time || times->back() != header_.max_time ||
      !std::is_sorted(times->begin() + static_cast<std::ptrdiff_t>(base), times->end())) {
    return Corrupt("times disagree with the header");
  }
  bool ok = true;
  auto emit = [&](auto&& values) {
    if (numbers) {
      for (const auto& v : values) numbers->push_back(static_cast<double>(v));
    } else {
      for (size_t i = 0; i < n; ++i) points->push_back({(*times)[base + i], Value(values[i])});
    }
  };
  switch (header_.type) {
    case ValueType::kDouble: {
      std::vector<double> v;
      if ((ok = internal::DecodeDoubleColumn(v_bytes, n, &v))) {
        if (numbers) numbers->insert(numbers->end(), v.begin(), v.end()); else emit(v);
      }
      break;
    }
    case ValueType::kInt64: {
      std::vector<int64_t> v;
      if ((ok = internal::DecodeDeltaOfDelta(v_bytes, n, &v))) emit(v);
      break;
    }
    case ValueType::kBool: {
      std::vector<bool> v;
      if ((ok = internal::DecodeBoolRuns(v_bytes, n, &v))) {
        for (size_t i = 0; i < n; ++i) points->push_back({(*times)[base + i], Value(bool(v[i]))});
      }
      break;
    }
    case ValueType::kString: {
      std::vector<std::string> v;
      if ((ok = internal::DecodeStringDict(v_bytes, n, &v))) {
        for (size_t i = 0; i < n; ++i) points->push_back({(*times)[base + i], Value(std::move(v[i]))});
      }
      break;
    }
  }
  return ok ? Status::Ok() : Corrupt("bad value column");
}

Status SeriesChunk::Decode(std::vector<Point>* out) const {
  std::vector<TimeNs> times;
  return DecodeColumns(&times, out, nullptr);
}

Status SeriesChunk::DecodeNumeric(std::vector<TimeNs>* times, std::vector<double>* values) const {
  DOPPEL_CHECK(IsNumeric(header_.type));
  return DecodeColumns(times, nullptr, values);
}

HeadChunk::HeadChunk(ValueType type) : type_(type) {
  switch (type) {
    case ValueType::kDouble: values_.emplace<internal::DoubleHeadEncoder>(); break;
    case ValueType::kInt64: values_.emplace<internal::DeltaOfDeltaEncoder>(); break;
    case ValueType::kBool: values_.emplace<internal::BoolRunEncoder>(); break;
    case ValueType::kString: values_.emplace<internal::StringDictEncoder>(); break;
  }
}

void HeadChunk::Append(TimeNs time, const Value& value) {
  DOPPEL_CHECK(TypeOf(value) == type_);
  if (pending_) {
    DOPPEL_CHECK(time >= pending_->time);
    if (time == pending_->time) {  // last write wins
      pending_->value = value;
      return;
    }
    Commit(*pending_);
  } else {
    min_time_ = time;
  }
  pending_ = Point{time, value};
}

void HeadChunk::Commit(const Point& p) {
  times_.Append(p.time);
  switch (type_) {
    case ValueType::kDouble: std::get<0>(values_).Append(std::get<double>(p.value)); break;
    case ValueType::kInt64: std::get<1>(values_).Append(std::get<int64_t>(p.value)); break;
    case ValueType::kBool: std::get<2>(values_).Append(std::get<bool>(p.value)); break;
    case ValueType::kString: std::get<3>(values_).Append(std::get<std::string>(p.value)); break;
  }
  ++committed_;
  if (!IsNumeric(type_)) return;
  const double v = NumericValue(p.value);
  if (committed_ == 1) {
    stats_ = ChunkStats{v, v, v, 0, v, v};
    return;
  }
  // Welford's update of the running mean and m2.
  const double mean_before = stats_.sum / static_cast<double>(committed_ - 1);
  stats_.sum += v;
  const double mean_after = stats_.sum / static_cast<double>(committed_);
  stats_.m2 += (v - mean_before) * (v - mean_after);
  stats_.min = std::min(stats_.min, v);
  stats_.max = std::max(stats_.max, v);
  stats_.last = v;
}

std::vector<Point> HeadChunk::Points() const {
  std::vector<Point> out;
  if (!pending_) return out;
  if (committed_ > 0) {
    DOPPEL_CHECK(HeadChunk(*this).Seal().Decode(&out).ok());  // our own encoding of a copy
    return out;
  }
  out.push_back(*pending_);
  return out;
}

SeriesChunk HeadChunk::Seal() {
  DOPPEL_CHECK(!empty());
  Commit(*pending_);
  SeriesChunk c;
  ChunkHeader& h = c.header_;
  h.type = type_;
  h.count = static_cast<uint32_t>(committed_);
  h.min_time = min_time_;
  h.max_time = pending_->time;
  h.stats = stats_;

  std::vector<uint8_t> out;
  out.push_back(kChunkFormatVersion);
  out.push_back(static_cast<uint8_t>(type_));
  internal::PutFixed32(out, h.count);
  internal::PutFixed64(out, static_cast<uint64_t>(h.min_time));
  internal::PutFixed64(out, static_cast<uint64_t>(h.max_time));
  if (IsNumeric(type_)) {
    for (double d : {h.stats.min, h.stats.max, h.stats.sum, h.stats.m2, h.stats.first, h.stats.last}) {
      internal::PutFixed64(out, std::bit_cast<uint64_t>(d));
    }
  }
  const std::vector<uint8_t> t_bytes = times_.Bytes();
  std::vector<uint8_t> v_bytes;
  switch (type_) {
    case ValueType::kDouble: v_bytes = std::get<0>(values_).Column(); break;
    case ValueType::kInt64: v_bytes = std::get<1>(values_).Bytes(); break;
    case ValueType::kBool: v_bytes = std::get<2>(values_).Bytes(); break;
    case ValueType::kString: v_bytes = std::get<3>(values_).Bytes(); break;
  }
  internal::PutFixed32(out, static_cast<uint32_t>(t_bytes.size()));
  c.times_offset_ = out.size();
  c.times_size_ = t_bytes.size();
  internal::PutBytes(out, t_bytes);
  internal::PutFixed32(out, static_cast<uint32_t>(v_bytes.size()));
  c.values_offset_ = out.size();
  c.values_size_ = v_bytes.size();
  internal::PutBytes(out, v_bytes);
  internal::PutFixed32(out, internal::Crc32c(out));
  c.bytes_.assign(out.begin(), out.end());

  *this = HeadChunk(type_);
  return c;
}

}  // namespace doppel::tsdb
