#include "tsdb/internal/double_column.h"

#include <bit>
#include <cmath>

#include "tsdb/internal/gorilla.h"

namespace doppel::tsdb::internal {
namespace {

constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
constexpr int kMaxDigits = 6;
constexpr double kMaxExact = 9007199254740992.0;  // 2^53
enum Scheme : uint8_t { kXor = 0, kDecimal = 1 };

bool FitsDigits(std::span<const double> values, int d) {
  for (double v : values) {
    const double x = v * kPow10[d];
    if (!(std::fabs(x) < kMaxExact)) return false;  // also false for NaN and inf
    const double back = static_cast<double>(std::llround(x)) / kPow10[d];
    if (std::bit_cast<uint64_t>(back) != std::bit_cast<uint64_t>(v)) return false;
  }
  return true;
}

// k with v == k / 10^d bit for bit, if there is one. Per point on the write path, so no
// llround (a libm call): any nearby integer will do, as the division checks it exactly; a
// miss only means trying more digits.
std::optional<int64_t> Scaled(double v, int d) {
  const double x = v * kPow10[d];
  if (!(std::fabs(x) < kMaxExact)) return std::nullopt;  // also NaN and inf
  const int64_t k = static_cast<int64_t>(x + std::copysign(0.5, x));
  if (std::bit_cast<uint64_t>(static_cast<double>(k) / kPow10[d]) != std::bit_cast<uint64_t>(v)) return std::nullopt;
  return k;
}

// The column from both candidate encodings: decimal only if it is the smaller.
std::vector<uint8_t> ChooseColumn(std::optional<int> digits, std::vector<uint8_t> decimal_bytes,
                                  std::vector<uint8_t> xor_bytes) {
  if (digits && decimal_bytes.size() + 2 < xor_bytes.size() + 1) {
    decimal_bytes.insert(decimal_bytes.begin(), {kDecimal, static_cast<uint8_t>(*digits)});
    return decimal_bytes;
  }
  xor_bytes.insert(xor_bytes.begin(), kXor);
  return xor_bytes;
}

}  // namespace

std::optional<int> DecimalDigits(std::span<const double> values) {
  for (int d = 0; d <= kMaxDigits; ++d) {
    if (FitsDigits(values, d)) return d;
  }
  return std::nullopt;
}

std::vector<uint8_t> EncodeDoubleColumn(std::span<const double> values, std::vector<uint8_t> xor_bytes) {
  const std::optional<int> d = DecimalDigits(values);
  if (!d) return ChooseColumn(d, {}, std::move(xor_bytes));
  DeltaOfDeltaEncoder ints(/*second_order=*/false);
  for (double v : values) ints.Append(std::llround(v * kPow10[*d]));
  return ChooseColumn(d, ints.Bytes(), std::move(xor_bytes));
}

bool DecodeDoubleColumn(std::span<const uint8_t> data, size_t count, std::vector<double>* out) {
  if (data.empty()) return false;
  if (data[0] == kXor) return DecodeXor(data.subspan(1), count, out);
  if (data[0] != kDecimal || data.size() < 2 || data[1] > kMaxDigits) return false;
  const double scale = kPow10[data[1]];
  std::vector<int64_t> ints;
  if (!DecodeDeltaOfDelta(data.subspan(2), count, &ints, /*second_order=*/false)) return false;
  out->reserve(out->size() + ints.size());
  for (int64_t k : ints) out->push_back(static_cast<double>(k) / scale);
  return true;
}

void DoubleHeadEncoder::Append(double v) {
  if (!is_xor_) {
    // The common case inline (Scaled at the current digits): this runs per point written.
    const double x = v * kPow10[digits_];
    if (std::fabs(x) < kMaxExact) {
      const int64_t k = static_cast<int64_t>(x + std::copysign(0.5, x));
      if (std::bit_cast<uint64_t>(static_cast<double>(k) / kPow10[digits_]) == std::bit_cast<uint64_t>(v)) {
        ints_.Append(k);
        ++count_;
        return;
      }
    }
    if (const std::optional<int64_t> k = Fit(v)) {
      ints_.Append(*k);
      ++count_;
      return;
    }
    SwitchToXor();
  }
  xor_->Append(v);
  ++count_;
}

// v's integer at the current digits, widening them if v needs more; nullopt if no d fits or
// the stream would overflow 2^53 at the wider d.
std::optional<int64_t> DoubleHeadEncoder::Fit(double v) {
  if (const std::optional<int64_t> k = Scaled(v, digits_)) return k;
  for (int d = digits_ + 1; d <= kMaxDigits; ++d) {
    if (const std::optional<int64_t> k = Scaled(v, d)) return Widen(d) ? k : std::nullopt;
  }
  return std::nullopt;
}

// k / 10^d and k·10^j / 10^(d+j) are the same rational, so (both numerators and 10^(d+j)
// being exact doubles) they divide to the same double: widening never changes a value.
bool DoubleHeadEncoder::Widen(int digits) {
  std::vector<int64_t> ints;
  if (!DecodeDeltaOfDelta(ints_.Bytes(), count_, &ints, /*second_order=*/false)) return false;
  const int64_t factor = static_cast<int64_t>(kPow10[digits - digits_]);
  DeltaOfDeltaEncoder wider(/*second_order=*/false);
  for (int64_t k : ints) {
    if (std::abs(static_cast<double>(k) * static_cast<double>(factor)) >= kMaxExact) return false;
    wider.Append(k * factor);
  }
  ints_ = std::move(wider);
  digits_ = digits;
  return true;
}

void DoubleHeadEncoder::SwitchToXor() {
  xor_ = std::make_unique<XorEncoder>();
  for (double v : Values()) xor_->Append(v);
  ints_ = DeltaOfDeltaEncoder(/*second_order=*/false);
  is_xor_ = true;
}

std::vector<double> DoubleHeadEncoder::Values() const {
  std::vector<double> out;
  if (is_xor_) {
    DecodeXor(xor_->Bytes(), count_, &out);
    return out;
  }
  std::vector<int64_t> ints;
  DecodeDeltaOfDelta(ints_.Bytes(), count_, &ints, /*second_order=*/false);
  out.reserve(ints.size());
  for (int64_t k : ints) out.push_back(static_cast<double>(k) / kPow10[digits_]);
  return out;
}

// In decimal mode the stream already holds the integers at the fewest digits every value
// needed (digits only widen when a value needs them), which is what EncodeDoubleColumn would
// pick; only the XOR size for the comparison remains to be computed.
std::vector<uint8_t> DoubleHeadEncoder::Column() const {
  if (is_xor_) return EncodeDoubleColumn(Values(), xor_->Bytes());
  XorEncoder x;
  for (double v : Values()) x.Append(v);
  return ChooseColumn(digits_, ints_.Bytes(), x.Bytes());
}

}  // namespace doppel::tsdb::internal
