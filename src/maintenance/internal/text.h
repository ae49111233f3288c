// UTF-8 checks for the text that work orders and imports store. Internal to src/maintenance.
#pragma once

#include <cstddef>
#include <string_view>

namespace doppel::maintenance::internal {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
// Stored records are JSON lines that must read back: invalid bytes would be refused then.
bool IsValidUtf8(std::string_view text);

// Characters (code points) in well-formed UTF-8: what "≤ 200 characters" counts.
std::size_t CountCharacters(std::string_view utf8);

}  // namespace doppel::maintenance::internal
