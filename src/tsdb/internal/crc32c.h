// CRC-32C (Castagnoli), the checksum that ends every sealed chunk. Uses the SSE4.2
// instruction where the CPU has it (checked at run time), else a table.
#pragma once

#include <cstdint>
#include <span>

namespace doppel::tsdb::internal {

uint32_t Crc32c(std::span<const uint8_t> data);
// The table version, always: lets tests check both paths agree.
uint32_t Crc32cPortableForTest(std::span<const uint8_t> data);

}  // namespace doppel::tsdb::internal
