#include "connect/opcua/internal/ua_codec.h"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace doppel::connect::opcua::internal {
namespace {

// 1601-01-01 to 1970-01-01 in 100 ns ticks.
constexpr int64_t kEpochDeltaTicks = 116'444'736'000'000'000;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Guid text to its 16 bytes in wire order (Data1..3 little-endian, Data4 as is).
bool ParseGuid(std::string_view text, uint8_t (&out)[16]) {
  if (text.size() != 36) return false;
  uint8_t raw[16];
  int n = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    const int hi = HexValue(text[i]), lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    raw[n++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  for (int i = 0; i < 16; ++i) out[i] = raw[order[i]];
  return true;
}

double ElementNumber(const Variant& v, std::size_t i) {
  if (i >= v.values.size()) return 0;
  const auto& e = v.values[i];
  if (const double* d = std::get_if<double>(&e)) return *d;
  if (const int64_t* n = std::get_if<int64_t>(&e)) return static_cast<double>(*n);
  if (const bool* b = std::get_if<bool>(&e)) return *b ? 1 : 0;
  return 0;
}

int64_t ElementInteger(const Variant& v, std::size_t i) {
  if (i < v.values.size()) {
    if (const int64_t* n = std::get_if<int64_t>(&v.values[i])) return *n;
  }
  const double d = ElementNumber(v, i);
  if (!(d > -9.2e18 && d < 9.2e18)) return 0;  // NaN and out of range
  return static_cast<int64_t>(d);
}

std::string_view ElementText(const Variant& v, std::size_t i) {
  if (i < v.values.size()) {
    if (const std::string* s = std::get_if<std::string>(&v.values[i])) return *s;
  }
  return {};
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  const char* p = std::strchr(kBase64, c);
  return (c != '\0' && p != nullptr) ? static_cast<int>(p - kBase64) : -1;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
    if (i + 1 < bytes.size()) n |= uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kBase64[(n >> 18) & 63]);
    out.push_back(kBase64[(n >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kBase64[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kBase64[n & 63] : '=');
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    uint32_t n = 0;
    for (int k = 0; k < 4; ++k) {
      const int v = k >= 4 - pad ? 0 : Base64Value(text[i + k]);
      if (v < 0) return std::nullopt;
      n = n << 6 | static_cast<uint32_t>(v);
    }
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

int64_t UnixNanosFromTicks(int64_t ticks) {
  if (ticks < std::numeric_limits<int64_t>::min() + kEpochDeltaTicks) return std::numeric_limits<int64_t>::min();
  const int64_t since_epoch = ticks - kEpochDeltaTicks;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 100;
  if (since_epoch > kMax) return std::numeric_limits<int64_t>::max();
  if (since_epoch < -kMax) return std::numeric_limits<int64_t>::min();
  return since_epoch * 100;
}

int64_t TicksFromUnixNanos(int64_t unix_ns) { return unix_ns / 100 + kEpochDeltaTicks; }

// ---------------------------------------------------------------------------------------------
// Encoder

void Encoder::Raw(uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Encoder::Float(float v) { UInt32(std::bit_cast<uint32_t>(v)); }
void Encoder::Double(double v) { UInt64(std::bit_cast<uint64_t>(v)); }

void Encoder::ByteString(std::string_view v) {
  Int32(static_cast<int32_t>(v.size()));
  out_.append(v);
}

void Encoder::Guid(std::string_view text) {
  uint8_t bytes[16] = {};
  if (!ParseGuid(text, bytes)) std::memset(bytes, 0, sizeof bytes);
  out_.append(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

void Encoder::NodeId(const opcua::NodeId& id) {
  using Kind = opcua::NodeId::Kind;
  if (id.kind == Kind::kNumeric) {
    const uint32_t* n = std::get_if<uint32_t>(&id.identifier);
    const uint32_t value = n ? *n : 0;
    if (id.namespace_index == 0 && value <= 0xff) {
      Byte(0x00);
      Byte(static_cast<uint8_t>(value));
    } else if (id.namespace_index <= 0xff && value <= 0xffff) {
      Byte(0x01);
      Byte(static_cast<uint8_t>(id.namespace_index));
      UInt16(static_cast<uint16_t>(value));
    } else {
      Byte(0x02);
      UInt16(id.namespace_index);
      UInt32(value);
    }
    return;
  }
  const std::string* text = std::get_if<std::string>(&id.identifier);
  const std::string_view s = text ? std::string_view(*text) : std::string_view();
  Byte(id.kind == Kind::kString ? 0x03 : id.kind == Kind::kGuid ? 0x04 : 0x05);
  UInt16(id.namespace_index);
  if (id.kind == Kind::kGuid) {
    Guid(s);
  } else if (id.kind == Kind::kOpaque) {
    ByteString(Base64Decode(s).value_or(std::string()));
  } else {
    ByteString(s);
  }
}

void Encoder::QualifiedName(uint16_t ns, std::string_view name) {
  UInt16(ns);
  String(name);
}

void Encoder::LocalizedText(std::string_view text) {
  Byte(0x02);
  String(text);
}

void Encoder::NullExtensionObject() {
  NodeId(Ns0(0));
  Byte(0x00);
}

void Encoder::ExtensionObject(uint32_t type_id, std::string_view body) {
  NodeId(Ns0(type_id));
  Byte(0x01);
  ByteString(body);
}

static BuiltinType WireType(Variant::Type type) {
  switch (type) {
    case Variant::Type::kBoolean: return BuiltinType::kBoolean;
    case Variant::Type::kSByte: return BuiltinType::kSByte;
    case Variant::Type::kByte: return BuiltinType::kByte;
    case Variant::Type::kInt16: return BuiltinType::kInt16;
    case Variant::Type::kUInt16: return BuiltinType::kUInt16;
    case Variant::Type::kInt32: return BuiltinType::kInt32;
    case Variant::Type::kUInt32: return BuiltinType::kUInt32;
    case Variant::Type::kInt64: return BuiltinType::kInt64;
    case Variant::Type::kUInt64: return BuiltinType::kUInt64;
    case Variant::Type::kFloat: return BuiltinType::kFloat;
    case Variant::Type::kDouble: return BuiltinType::kDouble;
    case Variant::Type::kString: return BuiltinType::kString;
    case Variant::Type::kDateTime: return BuiltinType::kDateTime;
    case Variant::Type::kStatusCode: return BuiltinType::kStatusCode;
    case Variant::Type::kByteString: return BuiltinType::kByteString;
    case Variant::Type::kLocalizedText: return BuiltinType::kLocalizedText;
    case Variant::Type::kQualifiedName: return BuiltinType::kQualifiedName;
    case Variant::Type::kNodeId: return BuiltinType::kNodeId;
    case Variant::Type::kNull:
    case Variant::Type::kOther: return BuiltinType::kNull;
  }
  return BuiltinType::kNull;
}

void Encoder::VariantElement(Variant::Type type, const opcua::Variant& v, std::size_t i) {
  switch (type) {
    case Variant::Type::kBoolean: return Boolean(ElementNumber(v, i) != 0);
    case Variant::Type::kSByte: return SByte(static_cast<int8_t>(ElementInteger(v, i)));
    case Variant::Type::kByte: return Byte(static_cast<uint8_t>(ElementInteger(v, i)));
    case Variant::Type::kInt16: return Int16(static_cast<int16_t>(ElementInteger(v, i)));
    case Variant::Type::kUInt16: return UInt16(static_cast<uint16_t>(ElementInteger(v, i)));
    case Variant::Type::kInt32: return Int32(static_cast<int32_t>(ElementInteger(v, i)));
    case Variant::Type::kUInt32:
    case Variant::Type::kStatusCode: return UInt32(static_cast<uint32_t>(ElementInteger(v, i)));
    case Variant::Type::kInt64: return Int64(ElementInteger(v, i));
    case Variant::Type::kUInt64: {
      // Above Int64's range only a double can carry the value.
      const double d = ElementNumber(v, i);
      return UInt64(d >= 9.2e18 && d < 1.8446744073709552e19 ? static_cast<uint64_t>(d)
                                                              : static_cast<uint64_t>(ElementInteger(v, i)));
    }
    case Variant::Type::kFloat: return Float(static_cast<float>(ElementNumber(v, i)));
    case Variant::Type::kDouble: return Double(ElementNumber(v, i));
    case Variant::Type::kString:
    case Variant::Type::kByteString: return String(ElementText(v, i));
    case Variant::Type::kDateTime: return DateTime(TicksFromUnixNanos(ElementInteger(v, i)));
    case Variant::Type::kLocalizedText: return LocalizedText(ElementText(v, i));
    case Variant::Type::kQualifiedName: return QualifiedName(0, ElementText(v, i));
    case Variant::Type::kNodeId: {
      auto id = opcua::NodeId::Parse(ElementText(v, i));
      return NodeId(id.ok() ? *id : Ns0(0));
    }
    case Variant::Type::kNull:
    case Variant::Type::kOther: return;
  }
}

void Encoder::Variant(const opcua::Variant& v) {
  const BuiltinType wire = WireType(v.type);
  if (wire == BuiltinType::kNull) {
    Byte(0);
    return;
  }
  if (!v.is_array) {
    Byte(static_cast<uint8_t>(wire));
    VariantElement(v.type, v, 0);
    return;
  }
  Byte(static_cast<uint8_t>(wire) | 0x80);
  Int32(static_cast<int32_t>(v.values.size()));
  for (std::size_t i = 0; i < v.values.size(); ++i) VariantElement(v.type, v, i);
}

void Encoder::DataValue(const opcua::DataValue& v) {
  uint8_t mask = 0x01;
  if (v.status != 0) mask |= 0x02;
  if (v.source_time_ns) mask |= 0x04;
  if (v.server_time_ns) mask |= 0x08;
  Byte(mask);
  Variant(v.value);
  if (v.status != 0) UInt32(v.status);
  if (v.source_time_ns) DateTime(TicksFromUnixNanos(*v.source_time_ns));
  if (v.server_time_ns) DateTime(TicksFromUnixNanos(*v.server_time_ns));
}

void Encoder::PatchUInt32(std::size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) out_[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// ---------------------------------------------------------------------------------------------
// Decoder

void Decoder::Fail(std::string message) {
  if (status_.ok()) status_ = Status::InvalidArgument(std::move(message));
  pos_ = in_.size();  // nothing more is read after an error
}

uint64_t Decoder::Raw(int n) {
  if (!status_.ok()) return 0;
  if (remaining() < static_cast<std::size_t>(n)) {
    Fail(fmt::format("truncated: {} bytes needed at offset {}, {} left", n, pos_, remaining()));
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t{static_cast<uint8_t>(in_[pos_ + i])} << (8 * i);
  pos_ += n;
  return v;
}

float Decoder::Float() { return std::bit_cast<float>(UInt32()); }
double Decoder::Double() { return std::bit_cast<double>(UInt64()); }

std::string_view Decoder::Bytes(std::size_t n) {
  if (!status_.ok()) return {};
  if (remaining() < n) {
    Fail(fmt::format("truncated: {} bytes needed at offset {}, {} left", n, pos_, remaining()));
    return {};
  }
  std::string_view out = in_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::string_view Decoder::StringView() {
  const int32_t length = Int32();
  if (length <= 0) {
    if (length < -1) Fail(fmt::format("negative string length {}", length));
    return {};
  }
  if (static_cast<uint32_t>(length) > limits_.max_string_bytes) {
    Fail(fmt::format("string of {} bytes exceeds {}", length, limits_.max_string_bytes));
    return {};
  }
  return Bytes(static_cast<std::size_t>(length));
}

uint32_t Decoder::ArrayLength(std::string_view what, uint32_t min_element_bytes) {
  const int32_t length = Int32();
  if (length <= 0) {
    if (length < -1) Fail(fmt::format("{}: negative array length {}", what, length));
    return 0;
  }
  const auto n = static_cast<uint32_t>(length);
  if (n > limits_.max_array_length) {
    Fail(fmt::format("{}: array of {} elements exceeds {}", what, n, limits_.max_array_length));
    return 0;
  }
  if (uint64_t{n} * std::max<uint32_t>(min_element_bytes, 1) > remaining()) {
    Fail(fmt::format("{}: array of {} elements is longer than the {} bytes left", what, n, remaining()));
    return 0;
  }
  return n;
}

std::string Decoder::Guid() {
  std::string_view b = Bytes(16);
  if (b.size() != 16) return {};
  auto u = [&](int i) { return static_cast<uint8_t>(b[i]); };
  return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                     u(3), u(2), u(1), u(0), u(5), u(4), u(7), u(6), u(8), u(9), u(10), u(11), u(12), u(13),
                     u(14), u(15));
}

opcua::NodeId Decoder::NodeId() {
  using Kind = opcua::NodeId::Kind;
  opcua::NodeId id;
  const uint8_t encoding = Byte();
  switch (encoding & 0x3f) {
    case 0x00:
      id.identifier = uint32_t{Byte()};
      break;
    case 0x01:
      id.namespace_index = Byte();
      id.identifier = uint32_t{UInt16()};
      break;
    case 0x02:
      id.namespace_index = UInt16();
      id.identifier = UInt32();
      break;
    case 0x03:
      id.namespace_index = UInt16();
      id.kind = Kind::kString;
      id.identifier = String();
      break;
    case 0x04:
      id.namespace_index = UInt16();
      id.kind = Kind::kGuid;
      id.identifier = Guid();
      break;
    case 0x05:
      id.namespace_index = UInt16();
      id.kind = Kind::kOpaque;
      id.identifier = Base64Encode(StringView());
      break;
    default:
      Fail(fmt::format("unknown NodeId encoding 0x{:02x}", encoding));
  }
  return id;
}

opcua::NodeId Decoder::ExpandedNodeId() {
  if (!ok() || remaining() == 0) return NodeId();
  const uint8_t flags = static_cast<uint8_t>(in_[pos_]);
  opcua::NodeId id = NodeId();
  if (flags & 0x80) StringView();  // namespace URI
  if (flags & 0x40) UInt32();      // server index
  return id;
}

std::string Decoder::QualifiedName() {
  const uint16_t ns = UInt16();
  std::string name = String();
  return ns == 0 ? name : fmt::format("{}:{}", ns, name);
}

std::string Decoder::LocalizedText() {
  const uint8_t mask = Byte();
  if (mask & 0x01) StringView();
  return (mask & 0x02) ? String() : std::string();
}

ExtensionObjectHeader Decoder::ExtensionObject() {
  ExtensionObjectHeader h;
  h.type_id = NodeId();
  h.encoding = Byte();
  if (h.encoding == 1 || h.encoding == 2) {
    const int32_t length = Int32();
    if (length > 0) {
      h.body = Bytes(static_cast<std::size_t>(length));
    } else if (length < -1) {
      Fail(fmt::format("ExtensionObject: negative body length {}", length));
    }
  } else if (h.encoding != 0) {
    Fail(fmt::format("ExtensionObject: unknown encoding 0x{:02x}", h.encoding));
  }
  return h;
}

opcua::Variant::Type Decoder::PublicType(BuiltinType type) {
  switch (type) {
    case BuiltinType::kNull: return Variant::Type::kNull;
    case BuiltinType::kBoolean: return Variant::Type::kBoolean;
    case BuiltinType::kSByte: return Variant::Type::kSByte;
    case BuiltinType::kByte: return Variant::Type::kByte;
    case BuiltinType::kInt16: return Variant::Type::kInt16;
    case BuiltinType::kUInt16: return Variant::Type::kUInt16;
    case BuiltinType::kInt32: return Variant::Type::kInt32;
    case BuiltinType::kUInt32: return Variant::Type::kUInt32;
    case BuiltinType::kInt64: return Variant::Type::kInt64;
    case BuiltinType::kUInt64: return Variant::Type::kUInt64;
    case BuiltinType::kFloat: return Variant::Type::kFloat;
    case BuiltinType::kDouble: return Variant::Type::kDouble;
    case BuiltinType::kString: return Variant::Type::kString;
    case BuiltinType::kDateTime: return Variant::Type::kDateTime;
    case BuiltinType::kStatusCode: return Variant::Type::kStatusCode;
    case BuiltinType::kByteString: return Variant::Type::kByteString;
    case BuiltinType::kNodeId:
    case BuiltinType::kExpandedNodeId: return Variant::Type::kNodeId;
    case BuiltinType::kLocalizedText: return Variant::Type::kLocalizedText;
    case BuiltinType::kQualifiedName: return Variant::Type::kQualifiedName;
    default: return Variant::Type::kOther;
  }
}

// Reads one element of `type` and appends it to out.values.
void Decoder::VariantValue(BuiltinType type, opcua::Variant& out) {
  auto& values = out.values;
  switch (type) {
    case BuiltinType::kBoolean: values.emplace_back(Boolean()); return;
    case BuiltinType::kSByte: values.emplace_back(static_cast<double>(SByte())); return;
    case BuiltinType::kByte: values.emplace_back(static_cast<double>(Byte())); return;
    case BuiltinType::kInt16: values.emplace_back(static_cast<double>(Int16())); return;
    case BuiltinType::kUInt16: values.emplace_back(static_cast<double>(UInt16())); return;
    case BuiltinType::kInt32: values.emplace_back(static_cast<double>(Int32())); return;
    case BuiltinType::kUInt32: values.emplace_back(static_cast<double>(UInt32())); return;
    case BuiltinType::kInt64: values.emplace_back(static_cast<double>(Int64())); return;
    case BuiltinType::kUInt64: values.emplace_back(static_cast<double>(UInt64())); return;
    case BuiltinType::kFloat: values.emplace_back(static_cast<double>(Float())); return;
    case BuiltinType::kDouble: values.emplace_back(Double()); return;
    case BuiltinType::kString:
    case BuiltinType::kByteString:
    case BuiltinType::kXmlElement: values.emplace_back(String()); return;
    case BuiltinType::kDateTime: values.emplace_back(UnixNanosFromTicks(DateTime())); return;
    case BuiltinType::kGuid: values.emplace_back(Guid()); return;
    case BuiltinType::kNodeId: values.emplace_back(NodeId().ToString()); return;
    case BuiltinType::kExpandedNodeId: values.emplace_back(ExpandedNodeId().ToString()); return;
    case BuiltinType::kStatusCode: values.emplace_back(int64_t{UInt32()}); return;
    case BuiltinType::kQualifiedName: values.emplace_back(QualifiedName()); return;
    case BuiltinType::kLocalizedText: values.emplace_back(LocalizedText()); return;
    case BuiltinType::kExtensionObject: ExtensionObject(); values.emplace_back(std::monostate{}); return;
    case BuiltinType::kDataValue: DataValue(); values.emplace_back(std::monostate{}); return;
    case BuiltinType::kVariant: Variant(); values.emplace_back(std::monostate{}); return;
    case BuiltinType::kDiagnosticInfo: SkipDiagnosticInfo(); values.emplace_back(std::monostate{}); return;
    case BuiltinType::kNull: values.emplace_back(std::monostate{}); return;
  }
  Fail(fmt::format("Variant: unknown built-in type id {}", static_cast<int>(type)));
}

opcua::Variant Decoder::Variant() {
  opcua::Variant v;
  if (++depth_ > limits_.max_depth) {
    Fail(fmt::format("Variant nested deeper than {}", limits_.max_depth));
    --depth_;
    return v;
  }
  const uint8_t mask = Byte();
  const auto type = static_cast<BuiltinType>(mask & 0x3f);
  if ((mask & 0x3f) > static_cast<uint8_t>(BuiltinType::kDiagnosticInfo)) {
    Fail(fmt::format("Variant: unknown built-in type id {}", mask & 0x3f));
  }
  v.type = PublicType(type);
  if (ok() && type != BuiltinType::kNull) {
    if (mask & 0x80) {
      v.is_array = true;
      // A Null-typed element takes no bytes; every other at least one.
      const uint32_t n = ArrayLength("Variant", 1);
      v.values.reserve(n);
      for (uint32_t i = 0; i < n && ok(); ++i) VariantValue(type, v);
      if (mask & 0x40) {
        const uint32_t dims = ArrayLength("Variant dimensions", 4);
        for (uint32_t i = 0; i < dims && ok(); ++i) Int32();
      }
    } else {
      VariantValue(type, v);
    }
  }
  --depth_;
  if (!ok()) v = opcua::Variant{};
  return v;
}

opcua::DataValue Decoder::DataValue() {
  opcua::DataValue v;
  if (++depth_ > limits_.max_depth) {
    Fail(fmt::format("DataValue nested deeper than {}", limits_.max_depth));
    --depth_;
    return v;
  }
  const uint8_t mask = Byte();
  if (mask & 0x01) v.value = Variant();
  if (mask & 0x02) v.status = UInt32();
  if (mask & 0x04) v.source_time_ns = UnixNanosFromTicks(DateTime());
  if (mask & 0x10) UInt16();  // source picoseconds
  if (mask & 0x08) v.server_time_ns = UnixNanosFromTicks(DateTime());
  if (mask & 0x20) UInt16();  // server picoseconds
  --depth_;
  return v;
}

void Decoder::SkipDiagnosticInfo() {
  if (++depth_ > limits_.max_depth) {
    Fail(fmt::format("DiagnosticInfo nested deeper than {}", limits_.max_depth));
    --depth_;
    return;
  }
  const uint8_t mask = Byte();
  if (mask & 0x01) Int32();   // symbolic id
  if (mask & 0x02) Int32();   // namespace URI
  if (mask & 0x08) Int32();   // locale
  if (mask & 0x04) Int32();   // localized text
  if (mask & 0x10) StringView();  // additional info
  if (mask & 0x20) UInt32();  // inner status code
  if (mask & 0x40) SkipDiagnosticInfo();
  --depth_;
}

void Decoder::SkipDiagnosticInfos() {
  const uint32_t n = ArrayLength("DiagnosticInfo[]", 1);
  for (uint32_t i = 0; i < n && ok(); ++i) SkipDiagnosticInfo();
}

std::vector<uint32_t> Decoder::StatusCodes() {
  std::vector<uint32_t> out;
  const uint32_t n = ArrayLength("StatusCode[]", 4);
  out.reserve(n);
  for (uint32_t i = 0; i < n && ok(); ++i) out.push_back(UInt32());
  return out;
}

std::vector<std::string> Decoder::Strings() {
  std::vector<std::string> out;
  const uint32_t n = ArrayLength("String[]", 4);
  out.reserve(n);
  for (uint32_t i = 0; i < n && ok(); ++i) out.push_back(String());
  return out;
}

}  // namespace doppel::connect::opcua::internal
