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

}  // namespace doppel::tsdb::internal
