#include "tsdb/internal/gorilla.h"

#include <bit>

namespace doppel::tsdb::internal {
namespace {

uint64_t ZigZag(uint64_t v) { return (v << 1) ^ static_cast<uint64_t>(static_cast<int64_t>(v) >> 63); }
uint64_t UnZigZag(uint64_t z) { return (z >> 1) ^ (~(z & 1) + 1); }

}  // namespace

void DeltaOfDeltaEncoder::Append(int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  if (count_++ == 0) {
    writer_.Write(u, 64);
    prev_ = u;
    return;
  }
  const uint64_t delta = u - prev_;
  const uint64_t z = ZigZag(delta - prev_delta_);
  if (z == 0) {
    writer_.Write(0, 1);
  } else if (z < (1u << 7)) {
    writer_.Write((uint64_t{0b10} << 7) | z, 9);
  } else if (z < (1u << 9)) {
    writer_.Write((uint64_t{0b110} << 9) | z, 12);
  } else if (z < (1u << 12)) {
    writer_.Write((uint64_t{0b1110} << 12) | z, 16);
  } else if (z < (uint64_t{1} << 32)) {
    writer_.Write(0b11110, 5);
    writer_.Write(z, 32);
  } else {
    writer_.Write(0b11111, 5);
    writer_.Write(z, 64);
  }
  if (second_order_) prev_delta_ = delta;
  prev_ = u;
}

bool DeltaOfDeltaDecoder::Next(int64_t* v) {
  if (!started_) {
    if (!reader_.Read(64, &prev_)) return false;
    started_ = true;
    *v = static_cast<int64_t>(prev_);
    return true;
  }
  // Count leading 1 bits of the prefix (at most 5 are significant).
  int ones = 0;
  for (bool bit = true; ones < 5; ++ones) {
    if (!reader_.ReadBit(&bit)) return false;
    if (!bit) break;
  }
  static constexpr int kPayloadBits[] = {0, 7, 9, 12, 32, 64};
  uint64_t z = 0;
  if (ones > 0 && !reader_.Read(kPayloadBits[ones], &z)) return false;
  const uint64_t delta = prev_delta_ + UnZigZag(z);
  if (second_order_) prev_delta_ = delta;
  prev_ += delta;
  *v = static_cast<int64_t>(prev_);
  return true;
}

void XorEncoder::Append(double v) {
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  if (!started_) {
    writer_.Write(bits, 64);
    prev_ = bits;
    started_ = true;
    return;
  }
  const uint64_t x = bits ^ prev_;
  prev_ = bits;
  if (x == 0) {
    writer_.Write(0, 1);
    return;
  }
  const int leading = std::min(std::countl_zero(x), 31);  // 5 bits hold at most 31
  const int trailing = std::countr_zero(x);
  if (leading >= prev_leading_ && trailing >= prev_trailing_) {
    writer_.Write(0b10, 2);
    writer_.Write(x >> prev_trailing_, 64 - prev_leading_ - prev_trailing_);
    return;
  }
  const int meaningful = 64 - leading - trailing;
  writer_.Write((uint64_t{0b11} << 11) | (uint64_t(leading) << 6) | (meaningful & 63), 13);
  writer_.Write(x >> trailing, meaningful);
  prev_leading_ = leading;
  prev_trailing_ = trailing;
}

bool XorDecoder::Next(double* v) {
  if (!started_) {
    if (!reader_.Read(64, &prev_)) return false;
    started_ = true;
    *v = std::bit_cast<double>(prev_);
    return true;
  }
  bool bit;
  if (!reader_.ReadBit(&bit)) return false;
  if (bit) {
    if (!reader_.ReadBit(&bit)) return false;
    if (bit) {  // new window
      uint64_t header;
      if (!reader_.Read(11, &header)) return false;
      leading_ = static_cast<int>(header >> 6);
      int meaningful = static_cast<int>(header & 63);
      if (meaningful == 0) meaningful = 64;
      if (leading_ + meaningful > 64) return false;  // corrupt: window past the word
      trailing_ = 64 - leading_ - meaningful;
    }
    const int meaningful = 64 - leading_ - trailing_;
    if (meaningful <= 0) return false;  // a "reuse window" code before any window was opened
    uint64_t x;
    if (!reader_.Read(meaningful, &x)) return false;
    prev_ ^= x << trailing_;
  }
  *v = std::bit_cast<double>(prev_);
  return true;
}

bool DecodeDeltaOfDelta(std::span<const uint8_t> data, size_t count, std::vector<int64_t>* out,
                        bool second_order) {
  DeltaOfDeltaDecoder decoder(data, second_order);
  out->reserve(out->size() + std::min(count, data.size() * 8));  // count may be corrupt
  for (size_t i = 0; i < count; ++i) {
    int64_t v;
    if (!decoder.Next(&v)) return false;
    out->push_back(v);
  }
  return true;
}

bool DecodeXor(std::span<const uint8_t> data, size_t count, std::vector<double>* out) {
  XorDecoder decoder(data);
  out->reserve(out->size() + std::min(count, data.size() * 8));  // count may be corrupt
  for (size_t i = 0; i < count; ++i) {
    double v;
    if (!decoder.Next(&v)) return false;
    out->push_back(v);
  }
  return true;
}

}  // namespace doppel::tsdb::internal
