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

// k with v == k / 10^d bit for bit, if there is one.
std::optional<int64_t> Scaled(double v, int d) {
  const double x = v * kPow10[d];
  if (!(std::fabs(x) < kMaxExact)) return std::nullopt;  // also NaN and inf
  const int64_t k = std::llround(x);
  if (std::bit_cast<uint64_t>(static_cast<double>(k) / kPow10[d]) != std::bit_cast<uint64_t>(v)) return std::nullopt;
  return k;
}

}  // namespace

std::optional<int> DecimalDigits(std::span<const double> values) {
  for (int d = 0; d <= kMaxDigits; ++d) {
    if (FitsDigits(values, d)) return d;
  }
  return std::nullopt;
}

std::vector<uint8_t> EncodeDoubleColumn(std::span<const double> values, std::vector<uint8_t> xor_bytes) {
  if (const std::optional<int> d = DecimalDigits(values)) {
    DeltaOfDeltaEncoder ints(/*second_order=*/false);
    for (double v : values) ints.Append(std::llround(v * kPow10[*d]));
    std::vector<uint8_t> out = ints.Bytes();
    if (out.size() + 2 < xor_bytes.size() + 1) {
      out.insert(out.begin(), {kDecimal, static_cast<uint8_t>(*d)});
      return out;
    }
  }
  xor_bytes.insert(xor_bytes.begin(), kXor);
  return xor_bytes;
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
    if (const std::optional<int64_t> k = Fit(v)) {
      ints_.Append(*k);
      ++count_;
      return;
    }
    SwitchToXor();
  }
  xor_.Append(v);
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
  for (double v : Values()) xor_.Append(v);
  ints_ = DeltaOfDeltaEncoder(/*second_order=*/false);
  is_xor_ = true;
}

std::vector<double> DoubleHeadEncoder::Values() const {
  std::vector<double> out;
  if (is_xor_) {
    DecodeXor(xor_.Bytes(), count_, &out);
    return out;
  }
  std::vector<int64_t> ints;
  DecodeDeltaOfDelta(ints_.Bytes(), count_, &ints, /*second_order=*/false);
  out.reserve(ints.size());
  for (int64_t k : ints) out.push_back(static_cast<double>(k) / kPow10[digits_]);
  return out;
}

std::vector<uint8_t> DoubleHeadEncoder::Column() const {
  const std::vector<double> values = Values();
  if (is_xor_) return EncodeDoubleColumn(values, xor_.Bytes());
  XorEncoder x;
  for (double v : values) x.Append(v);
  return EncodeDoubleColumn(values, x.Bytes());
}

}  // namespace doppel::tsdb::internal
