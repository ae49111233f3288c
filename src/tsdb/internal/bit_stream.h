// Bit-granular writer and reader for the Gorilla codecs. Bits are packed MSB-first, so the
// encoded stream reads left to right in a hex dump (docs/format/tsdb.md).
//
// BitReader never reads past its span: every read reports failure instead, which the codecs
// turn into a "corrupt chunk" Status.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace doppel::tsdb::internal {

inline uint64_t LowBits(uint64_t v, int n) { return n >= 64 ? v : v & ((uint64_t{1} << n) - 1); }

class BitWriter {
 public:
  // Appends the low `n` bits of `value` (0 <= n <= 64), most significant first.
  void Write(uint64_t value, int n) {
    if (n == 0) return;
    value = LowBits(value, n);
    if (used_ + n <= 64) {
      acc_ |= (n == 64) ? value : value << (64 - used_ - n);
      used_ += n;
      if (used_ == 64) FlushWord();
      return;
    }
    const int first = 64 - used_;  // 1..63 bits fit in this word, the rest start the next
    acc_ |= value >> (n - first);
    used_ = 64;
    FlushWord();
    used_ = n - first;
    acc_ = value << (64 - used_);
  }
  void WriteBit(bool bit) { Write(bit ? 1 : 0, 1); }

  size_t bit_count() const { return bytes_.size() * 8 + used_; }

  // The stream so far, zero-padded to a whole byte. Non-destructive: writing may continue.
  std::vector<uint8_t> Bytes() const {
    std::vector<uint8_t> out = bytes_;
    for (int i = 0; i < (used_ + 7) / 8; ++i) out.push_back(static_cast<uint8_t>(acc_ >> (56 - 8 * i)));
    return out;
  }

 private:
  void FlushWord() {
    // Grow by an eighth (at least 32 bytes) instead of doubling: head chunks live in memory
    // for hours, and doubling leaves a quarter of the buffer empty on average (this: ~6%).
    // Still geometric, so appends stay amortised O(1).
    const size_t at = bytes_.size();
    if (bytes_.capacity() - at < 8) bytes_.reserve(at + std::max<size_t>(32, at / 8));
    bytes_.resize(at + 8);
    for (int i = 0; i < 8; ++i) bytes_[at + i] = static_cast<uint8_t>(acc_ >> (56 - 8 * i));
    acc_ = 0;
    used_ = 0;
  }

  std::vector<uint8_t> bytes_;
  uint64_t acc_ = 0;  // pending bits, left-aligned
  int used_ = 0;      // valid bits in acc_, 0..63 between calls
};

class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> data) : data_(data), size_bits_(data.size() * 8) {}

  // Reads `n` bits (1 <= n <= 64) into *out. False (and *out untouched) if fewer remain.
  bool Read(int n, uint64_t* out) {
    if (pos_ + n > size_bits_) return false;
    const size_t byte = pos_ >> 3;
    const int off = static_cast<int>(pos_ & 7);
    if (off + n <= 64 && byte + 8 <= data_.size()) {  // fast path: one unaligned word
      uint64_t word = 0;
      for (int i = 0; i < 8; ++i) word = (word << 8) | data_[byte + i];
      *out = (word << off) >> (64 - n);
      pos_ += n;
      return true;
    }
    return ReadSlow(n, out);
  }
  bool ReadBit(bool* bit) {
    if (pos_ >= size_bits_) return false;
    *bit = (data_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1;
    ++pos_;
    return true;
  }

 private:
  bool ReadSlow(int n, uint64_t* out) {
    uint64_t v = 0;
    for (int left = n; left > 0;) {
      const int off = static_cast<int>(pos_ & 7);
      const int take = std::min(8 - off, left);
      const uint64_t bits = (data_[pos_ >> 3] >> (8 - off - take)) & ((1u << take) - 1);
      v = (v << take) | bits;
      left -= take;
      pos_ += take;
    }
    *out = v;
    return true;
  }

  std::span<const uint8_t> data_;
  size_t size_bits_;
  size_t pos_ = 0;
};

}  // namespace doppel::tsdb::internal
