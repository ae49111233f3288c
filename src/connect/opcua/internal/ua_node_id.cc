// NodeId text forms and the Variant helpers of opcua_client.h.
#include <fmt/format.h>

#include <cctype>
#include <charconv>

#include "connect/opcua/internal/ua_codec.h"
#include "connect/opcua/opcua_client.h"

namespace doppel::connect::opcua {
namespace {

template <typename T>
bool ParseUnsigned(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

bool IsGuidText(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (text[i] == '-')) return false;
    if (!dash && !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

}  // namespace

Result<NodeId> NodeId::Parse(std::string_view text) {
  NodeId id;
  std::string_view rest = text;
  if (rest.substr(0, 3) == "ns=") {
    const std::size_t semi = rest.find(';');
    if (semi == std::string_view::npos || !ParseUnsigned(rest.substr(3, semi - 3), id.namespace_index)) {
      return Status::InvalidArgument(fmt::format("NodeId '{}': bad namespace index", text));
    }
    rest = rest.substr(semi + 1);
  }
  if (rest.size() < 2 || rest[1] != '=') {
    return Status::InvalidArgument(fmt::format("NodeId '{}': expected i=, s=, g= or b=", text));
  }
  const std::string_view value = rest.substr(2);
  switch (rest[0]) {
    case 'i': {
      uint32_t n = 0;
      if (!ParseUnsigned(value, n)) return Status::InvalidArgument(fmt::format("NodeId '{}': bad number", text));
      id.identifier = n;
      return id;
    }
    case 's':
      if (value.empty()) return Status::InvalidArgument(fmt::format("NodeId '{}': empty string identifier", text));
      id.kind = Kind::kString;
      id.identifier = std::string(value);
      return id;
    case 'g':
      if (!IsGuidText(value)) return Status::InvalidArgument(fmt::format("NodeId '{}': bad GUID", text));
      id.kind = Kind::kGuid;
      id.identifier = std::string(value);
      return id;
    case 'b':
      if (!internal::Base64Decode(value)) return Status::InvalidArgument(fmt::format("NodeId '{}': bad base64", text));
      id.kind = Kind::kOpaque;
      id.identifier = std::string(value);
      return id;
    default:
      return Status::InvalidArgument(fmt::format("NodeId '{}': expected i=, s=, g= or b=", text));
  }
}

std::string NodeId::ToString() const {
  const std::string prefix = namespace_index == 0 ? std::string() : fmt::format("ns={};", namespace_index);
  if (const uint32_t* n = std::get_if<uint32_t>(&identifier)) return fmt::format("{}i={}", prefix, *n);
  const std::string& text = std::get<std::string>(identifier);
  const char letter = kind == Kind::kGuid ? 'g' : kind == Kind::kOpaque ? 'b' : 's';
  return fmt::format("{}{}={}", prefix, letter, text);
}

Variant Variant::Double(double v) { return Variant{.type = Type::kDouble, .values = {v}}; }
Variant Variant::Boolean(bool v) { return Variant{.type = Type::kBoolean, .values = {v}}; }
Variant Variant::String(std::string v) { return Variant{.type = Type::kString, .values = {std::move(v)}}; }

std::optional<double> Variant::AsNumber() const {
  if (is_array || values.size() != 1) return std::nullopt;
  if (const double* d = std::get_if<double>(&values[0])) return *d;
  if (const bool* b = std::get_if<bool>(&values[0])) return *b ? 1.0 : 0.0;
  if (type != Type::kDateTime) {
    if (const int64_t* n = std::get_if<int64_t>(&values[0])) return static_cast<double>(*n);
  }
  return std::nullopt;
}

}  // namespace doppel::connect::opcua
