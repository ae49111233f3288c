// The value column of a sealed double chunk: one scheme byte, then
//   0  Gorilla XOR stream (gorilla.h) — any doubles, bit-exact
//   1  decimal: one byte d (0..6), then the integers k = v * 10^d as a first-order delta
//      stream (DeltaOfDeltaEncoder with second_order=false); v is decoded as k / 10^d.
// Sensors report at a fixed resolution (0.01 °C, 0.1 bar): their noise makes XOR windows
// wide (~6 bytes/point) while the decimal deltas are small integers (~1 byte/point).
// Decimal is used only when every value round-trips bit-exactly through k / 10^d (so NaN,
// ±inf and -0.0 force XOR) and the result is smaller.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tsdb/internal/gorilla.h"

namespace doppel::tsdb::internal {

// The smallest d in [0, 6] with every value exactly representable as k / 10^d, |k| < 2^53.
std::optional<int> DecimalDigits(std::span<const double> values);

// `xor_bytes` is the XOR stream of the same values (the head chunk already has it).
std::vector<uint8_t> EncodeDoubleColumn(std::span<const double> values, std::vector<uint8_t> xor_bytes);
// False on corrupt input.
bool DecodeDoubleColumn(std::span<const uint8_t> data, size_t count, std::vector<double>* out);

// The head chunk's streaming double encoder. While every value so far is k / 10^d for one
// d <= 6 (a sensor at a fixed resolution), it keeps the k as a first-order delta stream: ~1
// byte/point where XOR takes ~6 on noisy 0.01-resolution data, and the head is most of an
// active series' memory. A value needing more digits re-encodes the stream at the wider d (at
// most 6 times per chunk); one that fits no d (NaN, ±inf, -0.0, more digits) switches the
// chunk to XOR for good. The sealed column is EncodeDoubleColumn's, byte for byte.
class DoubleHeadEncoder {
 public:
  DoubleHeadEncoder() = default;
  DoubleHeadEncoder(const DoubleHeadEncoder& other)
      : ints_(other.ints_), xor_(other.xor_ ? std::make_unique<XorEncoder>(*other.xor_) : nullptr),
        count_(other.count_), digits_(other.digits_), is_xor_(other.is_xor_) {}
  DoubleHeadEncoder(DoubleHeadEncoder&&) = default;
  DoubleHeadEncoder& operator=(DoubleHeadEncoder&&) = default;
  DoubleHeadEncoder& operator=(const DoubleHeadEncoder& other) { return *this = DoubleHeadEncoder(other); }
  void Append(double v);
  size_t count() const { return count_; }
  std::vector<double> Values() const;
  // The sealed value column (scheme byte included).
  std::vector<uint8_t> Column() const;

 private:
  std::optional<int64_t> Fit(double v);
  bool Widen(int digits);
  void SwitchToXor();

  DeltaOfDeltaEncoder ints_{/*second_order=*/false};  // decimal mode
  std::unique_ptr<XorEncoder> xor_;  // XOR mode only: saves 56 bytes in every decimal head
  size_t count_ = 0;
  int digits_ = 0;
  bool is_xor_ = false;
};

}  // namespace doppel::tsdb::internal
