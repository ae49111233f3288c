#include "server/url.h"

#include <algorithm>

namespace doppel::server {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the UTF-8 sequence starting at s[i] if well-formed (RFC 3629: no overlongs, no
// surrogates, at most U+10FFFF), else 0.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("malformed percent-encoding at offset " + std::to_string(i) +
                                       ": '%' must be followed by two hex digits");
      }
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') {
        return Status::InvalidArgument("percent-encoded NUL (%00) at offset " + std::to_string(i) +
                                       " is not allowed");
      }
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    } else if (c == '\0') {
      // A raw NUL is refused like an encoded one: otherwise "%00" and "\0" would decode
      // differently, and the re-encoded form of an accepted value would not decode.
      return Status::InvalidArgument("NUL byte at offset " + std::to_string(i) +
                                     " is not allowed");
    }
    out.push_back(c);
  }
  for (std::size_t i = 0; i < out.size();) {
    std::size_t n = Utf8SequenceLength(out, i);
    if (n == 0) {
      return Status::InvalidArgument("percent-decoded text is not valid UTF-8 (byte " +
                                     std::to_string(i) + " of the decoded value)");
    }
    i += n;
  }
  return out;
}

std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = Utf8SequenceLength(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

Result<QueryParams> QueryParams::Parse(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    auto eq = piece.find('=');
    std::string_view raw_name = piece.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    auto name = PercentDecode(raw_name, /*plus_is_space=*/true);
    if (!name.ok()) {
      return Status::InvalidArgument("bad query parameter name '" + std::string(raw_name) +
                                     "': " + name.status().message());
    }
    auto value = PercentDecode(raw_value, /*plus_is_space=*/true);
    if (!value.ok()) {
      return Status::InvalidArgument("bad value for query parameter '" + *name +
                                     "': " + value.status().message());
    }
    params.items_.emplace_back(std::move(*name), std::move(*value));
  }
  return params;
}

const std::string* QueryParams::Find(std::string_view name) const {
  for (const auto& [key, value] : items_) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::vector<std::string> QueryParams::All(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : items_) {
    if (key == name) values.push_back(value);
  }
  return values;
}

void QueryParams::Set(std::string_view name, std::string value) {
  Remove(name);
  items_.emplace_back(std::string(name), std::move(value));
}

void QueryParams::Remove(std::string_view name) {
  std::erase_if(items_, [&](const auto& item) { return item.first == name; });
}

std::string QueryParams::Encode() const {
  std::string out;
  for (const auto& [key, value] : items_) {
    if (!out.empty()) out.push_back('&');
    out += PercentEncode(key);
    out.push_back('=');
    out += PercentEncode(value);
  }
  return out;
}

}  // namespace doppel::server
