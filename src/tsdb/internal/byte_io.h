// Little-endian fixed-width and LEB128 varint helpers for the byte-oriented parts of the chunk
// format. ByteReader is bounds-checked: a failed read means the input is corrupt.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace doppel::tsdb::internal {

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// One resize and one store rather than a push_back per byte: these run per point on the
// write path (the write-ahead records).
template <typename T>
inline void PutLittleEndian(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof v);
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out.data() + at, &v, sizeof v);
  } else {
    for (size_t i = 0; i < sizeof v; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * i));
  }
}
inline void PutFixed32(std::vector<uint8_t>& out, uint32_t v) { PutLittleEndian(out, v); }
inline void PutFixed64(std::vector<uint8_t>& out, uint64_t v) { PutLittleEndian(out, v); }
inline void PutVarint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}
inline void PutBytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  bool Fixed32(uint32_t* v) { return FixedN(4, v); }
  bool Fixed64(uint64_t* v) { return FixedN(8, v); }
  bool Byte(uint8_t* v) {
    if (pos_ >= data_.size()) return false;
    *v = data_[pos_++];
    return true;
  }
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!Byte(&b)) return false;
      result |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;  // more than 10 bytes: not a varint we wrote
  }
  // Borrows the next `n` bytes.
  bool Bytes(size_t n, std::span<const uint8_t>* out) {
    if (n > remaining()) return false;
    *out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  template <typename T>
  bool FixedN(int n, T* v) {
    if (remaining() < static_cast<size_t>(n)) return false;
    T r = 0;
    for (int i = n - 1; i >= 0; --i) r = (r << 8) | data_[pos_ + i];
    pos_ += n;
    *v = r;
    return true;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace doppel::tsdb::internal
