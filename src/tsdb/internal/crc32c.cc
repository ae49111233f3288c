#include "tsdb/internal/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace doppel::tsdb::internal {
namespace {

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

uint32_t Crc32cPortable(uint32_t crc, std::span<const uint8_t> data) {
  for (uint8_t b : data) crc = kTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// SSE4.2 has a CRC-32C instruction (8 bytes per ~cycle vs ~1 byte per few cycles for the
// table); chunks are checksummed on every read from disk, so this is on the query path.
__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(uint32_t crc, std::span<const uint8_t> data) {
  size_t i = 0;
  uint64_t c = crc;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, data.data() + i, 8);
    c = _mm_crc32_u64(c, word);
  }
  crc = static_cast<uint32_t>(c);
  for (; i < data.size(); ++i) crc = _mm_crc32_u8(crc, data[i]);
  return crc;
}
const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t Crc32c(std::span<const uint8_t> data) {
#if defined(__x86_64__)
  if (kHaveSse42) return Crc32cSse42(0xFFFFFFFFu, data) ^ 0xFFFFFFFFu;
#endif
  return Crc32cPortable(0xFFFFFFFFu, data) ^ 0xFFFFFFFFu;
}

uint32_t Crc32cPortableForTest(std::span<const uint8_t> data) {
  return Crc32cPortable(0xFFFFFFFFu, data) ^ 0xFFFFFFFFu;
}

}  // namespace doppel::tsdb::internal
