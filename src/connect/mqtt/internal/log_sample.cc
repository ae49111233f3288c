#include "connect/mqtt/internal/log_sample.h"

#include "connect/mqtt/internal/topic_pattern.h"

namespace doppel::connect::mqtt::internal {
namespace {

// Length of the well-formed, printable UTF-8 sequence starting at text[i] (2..4 bytes), or 0.
std::size_t Utf8SequenceAt(std::string_view text, std::size_t i) {
  const unsigned char lead = static_cast<unsigned char>(text[i]);
  const std::size_t n = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > text.size() || !IsValidUtf8(text.substr(i, n))) return 0;
  // C1 controls (U+0080..U+009F) are encoded as C2 80..C2 9F.
  if (lead == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) return 0;
  return n;
}

}  // namespace

std::string LogSample(std::string_view bytes, std::size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t i = 0;
  while (i < bytes.size() && i < max_bytes) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\\') {
      out += "\\\\";
      ++i;
    } else if (std::size_t n = c >= 0x80 ? Utf8SequenceAt(bytes, i) : 0; n > 0) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
      ++i;
    }
  }
  if (i < bytes.size()) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace doppel::connect::mqtt::internal
