// The Gorilla codecs (Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory Time Series
// Database", VLDB 2015), adapted to 64-bit nanosecond timestamps:
//
//  * DeltaOfDeltaEncoder: int64 sequences (timestamps, integer values). The first value is
//    stored raw; each later one as the zigzagged delta-of-delta behind a prefix code:
//      0                  dod == 0
//      10    + 7 bits     zigzag(dod) < 2^7
//      110   + 9 bits     zigzag(dod) < 2^9
//      1110  + 12 bits    zigzag(dod) < 2^12
//      11110 + 32 bits    zigzag(dod) < 2^32
//      11111 + 64 bits    anything else (the full escape: 64-bit extremes round-trip)
//    Deltas are computed with wrapping uint64 arithmetic, so equal, decreasing and extreme
//    values (INT64_MIN after INT64_MAX) all round-trip exactly.
//  * XorEncoder: doubles, by bit pattern (NaN payloads, ±inf, subnormals, -0.0 are exact).
//      0                                    same bits as the previous value
//      10 + meaningful bits                 XOR fits the previous leading/trailing window
//      11 + 5 bits leading + 6 bits length  new window (length 64 is written as 0)
//         + meaningful bits
//
// Encoders are streaming (Append one value at a time) so head chunks stay compressed in
// memory; Bytes() snapshots without ending the stream. Decoders must be told the count (it is
// in the chunk header) and report corrupt input by returning false, never by crashing.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tsdb/internal/bit_stream.h"

namespace doppel::tsdb::internal {

class DeltaOfDeltaEncoder {
 public:
  // second_order=false encodes plain deltas with the same prefix code: better for noisy
  // values (the decimal double column), where a delta-of-delta doubles the noise.
  explicit DeltaOfDeltaEncoder(bool second_order = true) : second_order_(second_order) {}
  void Append(int64_t v);
  std::vector<uint8_t> Bytes() const { return writer_.Bytes(); }
  size_t count() const { return count_; }

 private:
  BitWriter writer_;
  bool second_order_;
  uint64_t prev_ = 0;
  uint64_t prev_delta_ = 0;
  size_t count_ = 0;
};

class DeltaOfDeltaDecoder {
 public:
  explicit DeltaOfDeltaDecoder(std::span<const uint8_t> data, bool second_order = true)
      : reader_(data), second_order_(second_order) {}
  // The next value, or false if the stream is truncated.
  bool Next(int64_t* v);

 private:
  BitReader reader_;
  bool second_order_;
  uint64_t prev_ = 0;
  uint64_t prev_delta_ = 0;
  bool started_ = false;
};

class XorEncoder {
 public:
  void Append(double v);
  std::vector<uint8_t> Bytes() const { return writer_.Bytes(); }

 private:
  BitWriter writer_;
  uint64_t prev_ = 0;
  int prev_leading_ = 64;  // 64/64 = no window yet, so the first XOR opens one
  int prev_trailing_ = 64;
  bool started_ = false;
};

class XorDecoder {
 public:
  explicit XorDecoder(std::span<const uint8_t> data) : reader_(data) {}
  bool Next(double* v);

 private:
  BitReader reader_;
  uint64_t prev_ = 0;
  int leading_ = 64;  // no window until a "11" code opens one
  int trailing_ = 0;
  bool started_ = false;
};

// Convenience for tests and whole-column use: decode exactly `count` values.
bool DecodeDeltaOfDelta(std::span<const uint8_t> data, size_t count, std::vector<int64_t>* out,
                        bool second_order = true);
bool DecodeXor(std::span<const uint8_t> data, size_t count, std::vector<double>* out);

}  // namespace doppel::tsdb::internal
