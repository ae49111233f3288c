// One series' points over a time range, compressed: the unit of storage, retention and
// (for chunks whose range lies inside a query bucket) of aggregation without decoding.
//
//   HeadChunk head(ValueType::kDouble);
//   head.Append(t0, 21.5);
//   head.Append(t1, 21.6);          // times must not decrease; an equal time overwrites
//   SeriesChunk chunk = head.Seal();
//   std::string bytes = chunk.bytes();                  // the on-disk form
//   Result<SeriesChunk> again = SeriesChunk::Parse(bytes);  // validates version and CRC
//
// The byte layout is documented in docs/format/tsdb.md (version 1).
// Thread-safety: a SeriesChunk is immutable and may be shared by any threads; a HeadChunk is
// not synchronised (its owner, the SeriesStore, serialises access).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"
#include "tsdb/internal/double_column.h"
#include "tsdb/internal/gorilla.h"
#include "tsdb/internal/run_length.h"
#include "tsdb/types.h"

namespace doppel::tsdb {

inline constexpr uint8_t kChunkFormatVersion = 1;

// Summary of a numeric chunk (int64 values as doubles), enough for count/sum/avg/min/max/
// first/last/stddev over the chunk without decoding. m2 is the sum of squared deviations from
// the mean (Welford), which merges stably across chunks (Chan et al.).
struct ChunkStats {
  double min = 0, max = 0, sum = 0, m2 = 0, first = 0, last = 0;
};

struct ChunkHeader {
  ValueType type = ValueType::kDouble;
  uint32_t count = 0;
  TimeNs min_time = 0;  // time of the first point
  TimeNs max_time = 0;  // time of the last point (inclusive)
  ChunkStats stats;     // meaningful only when IsNumeric(type)
};

class SeriesChunk {
 public:
  // Validates the framing: version, type, header, column sizes and the CRC, which catches
  // any accidental damage. Cheap (no decoding), so headers can be used without decoding.
  // Errors: InvalidArgument "corrupt chunk: ..." for anything malformed.
  static Result<SeriesChunk> Parse(std::string bytes);

  const ChunkHeader& header() const { return header_; }
  const std::string& bytes() const { return bytes_; }

  // Appends the chunk's points, in time order. Content that passed the CRC but does not decode
  // consistently with the header (a bug or a crafted file) is InvalidArgument "corrupt chunk",
  // and `out` may then hold a partial result.
  Status Decode(std::vector<Point>* out) const;
  // Appends times and values as doubles (int64 converted). Precondition: numeric type.
  Status DecodeNumeric(std::vector<TimeNs>* times, std::vector<double>* values) const;

 private:
  friend class HeadChunk;
  SeriesChunk() = default;
  Status DecodeColumns(std::vector<TimeNs>* times, std::vector<Point>* points,
                       std::vector<double>* numbers) const;

  ChunkHeader header_;
  std::string bytes_;
  size_t times_offset_ = 0, times_size_ = 0;
  size_t values_offset_ = 0, values_size_ = 0;
};

// The open, append-only end of a series, kept compressed in memory. The newest point stays
// unencoded ("pending") so that a repeated timestamp can replace it (last write wins).
class HeadChunk {
 public:
  explicit HeadChunk(ValueType type);

  // Precondition (checked): TypeOf(value) == type(), and empty() or time >= last_time().
  void Append(TimeNs time, const Value& value);

  ValueType type() const { return type_; }
  bool empty() const { return !pending_.has_value(); }
  size_t count() const { return committed_ + (pending_ ? 1 : 0); }
  TimeNs min_time() const { return min_time_; }  // precondition: !empty()
  TimeNs last_time() const { return pending_->time; }  // precondition: !empty()
  const Point& newest() const { return *pending_; }     // precondition: !empty()

  // Every point, in time order.
  std::vector<Point> Points() const;
  // Encodes the head into an immutable chunk and resets it to empty. Precondition: !empty().
  SeriesChunk Seal();

 private:
  using ValueEncoder = std::variant<internal::DoubleHeadEncoder, internal::DeltaOfDeltaEncoder,
                                    internal::BoolRunEncoder, internal::StringDictEncoder>;
  void Commit(const Point& p);

  ValueType type_;
  internal::DeltaOfDeltaEncoder times_;
  ValueEncoder values_;
  size_t committed_ = 0;
  TimeNs min_time_ = 0;
  std::optional<Point> pending_;
  ChunkStats stats_;  // over committed points
};

}  // namespace doppel::tsdb
