// OPC UA binary encoding of the built-in types (OPC UA Part 6, 5.2), internal to connect/opcua.
//
// Encoder appends little-endian bytes to a string. Decoder reads from a borrowed byte range
// with a sticky error: the first problem (truncation, a length over the limits, an unknown
// type id) is kept, every later read answers a default value and consumes nothing, and the
// caller checks status() once at the end of a message. Every length, array size and string
// read from the wire is checked against the Limits and against the bytes that remain before
// anything is allocated, so a hostile peer cannot make us allocate more than it sent.
//
//   Decoder d(body, limits);
//   uint32_t id = d.UInt32();
//   std::string name = d.String();
//   DOPPEL_RETURN_IF_ERROR(d.status());
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "connect/opcua/opcua_client.h"

namespace doppel::connect::opcua::internal {

struct Limits {
  uint32_t max_array_length = 1'000'000;
  uint32_t max_string_bytes = 1u << 20;
  uint32_t max_depth = 16;  // nested Variants / DiagnosticInfos / ExtensionObjects
};

// Built-in type ids (Part 6, Table 1).
enum class BuiltinType : uint8_t {
  kNull = 0, kBoolean = 1, kSByte = 2, kByte = 3, kInt16 = 4, kUInt16 = 5, kInt32 = 6, kUInt32 = 7,
  kInt64 = 8, kUInt64 = 9, kFloat = 10, kDouble = 11, kString = 12, kDateTime = 13, kGuid = 14,
  kByteString = 15, kXmlElement = 16, kNodeId = 17, kExpandedNodeId = 18, kStatusCode = 19,
  kQualifiedName = 20, kLocalizedText = 21, kExtensionObject = 22, kDataValue = 23, kVariant = 24,
  kDiagnosticInfo = 25,
};

// DateTime: 100 ns ticks since 1601-01-01 UTC; 0 means "no time".
int64_t UnixNanosFromTicks(int64_t ticks);
int64_t TicksFromUnixNanos(int64_t unix_ns);

// Opaque NodeIds are written as base64 text (ns=1;b=...) and carried on the wire as bytes.
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);  // nullopt when malformed

// A numeric NodeId in namespace 0 (the type ids of the standard messages).
inline NodeId Ns0(uint32_t id) { return NodeId{.namespace_index = 0, .identifier = id}; }

// The header of an ExtensionObject whose body is decoded separately.
struct ExtensionObjectHeader {
  NodeId type_id;
  uint8_t encoding = 0;   // 0 no body, 1 ByteString body, 2 XmlElement body
  std::string_view body;  // borrowed from the decoder's input
};

class Encoder {
 public:
  void Boolean(bool v) { Byte(v ? 1 : 0); }
  void Byte(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void SByte(int8_t v) { Byte(static_cast<uint8_t>(v)); }
  void UInt16(uint16_t v) { Raw(v, 2); }
  void Int16(int16_t v) { Raw(static_cast<uint16_t>(v), 2); }
  void UInt32(uint32_t v) { Raw(v, 4); }
  void Int32(int32_t v) { Raw(static_cast<uint32_t>(v), 4); }
  void UInt64(uint64_t v) { Raw(v, 8); }
  void Int64(int64_t v) { Raw(static_cast<uint64_t>(v), 8); }
  void Float(float v);
  void Double(double v);
  void String(std::string_view v) { ByteString(v); }
  void NullString() { Int32(-1); }
  void ByteString(std::string_view v);
  void DateTime(int64_t ticks) { Int64(ticks); }
  void Guid(std::string_view text);  // "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; zeros when malformed
  void NodeId(const opcua::NodeId& id);
  void ExpandedNodeId(const opcua::NodeId& id) { NodeId(id); }  // no URI, no server index
  void QualifiedName(uint16_t ns, std::string_view name);
  void LocalizedText(std::string_view text);
  void NullExtensionObject();
  // An ExtensionObject with a binary body of type `type_id`.
  void ExtensionObject(uint32_t type_id, std::string_view body);
  // Scalars and arrays of the types Variant names; kOther encodes as null.
  void Variant(const opcua::Variant& v);
  void DataValue(const opcua::DataValue& v);
  void Append(std::string_view bytes) { out_.append(bytes); }
  void PatchUInt32(std::size_t offset, uint32_t v);

  std::size_t size() const { return out_.size(); }
  const std::string& bytes() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Raw(uint64_t v, int n);
  void VariantElement(opcua::Variant::Type type, const opcua::Variant& v, std::size_t i);
  std::string out_;
};

class Decoder {
 public:
  Decoder(std::string_view in, const Limits& limits) : in_(in), limits_(limits) {}

  bool Boolean() { return Byte() != 0; }
  uint8_t Byte() { return static_cast<uint8_t>(Raw(1)); }
  int8_t SByte() { return static_cast<int8_t>(Raw(1)); }
  uint16_t UInt16() { return static_cast<uint16_t>(Raw(2)); }
  int16_t Int16() { return static_cast<int16_t>(Raw(2)); }
  uint32_t UInt32() { return static_cast<uint32_t>(Raw(4)); }
  int32_t Int32() { return static_cast<int32_t>(Raw(4)); }
  uint64_t UInt64() { return Raw(8); }
  int64_t Int64() { return static_cast<int64_t>(Raw(8)); }
  float Float();
  double Double();
  std::string String() { return std::string(StringView()); }
  std::string_view StringView();  // null and empty both answer ""
  std::string ByteString() { return String(); }
  int64_t DateTime() { return Int64(); }
  std::string Guid();  // text form
  opcua::NodeId NodeId();
  opcua::NodeId ExpandedNodeId();  // namespace URI and server index are read and dropped
  std::string QualifiedName();     // "ns:name", or "name" in namespace 0
  std::string LocalizedText();     // the text; the locale is dropped
  ExtensionObjectHeader ExtensionObject();
  opcua::Variant Variant();
  opcua::DataValue DataValue();
  void SkipDiagnosticInfo();
  // An array length: -1 (null) answers 0; more than the limit, or than the bytes left allow
  // (each element takes at least `min_element_bytes`), is an error.
  uint32_t ArrayLength(std::string_view what, uint32_t min_element_bytes = 1);
  void SkipDiagnosticInfos();  // DiagnosticInfo[]
  std::vector<uint32_t> StatusCodes();  // StatusCode[]
  std::vector<std::string> Strings();   // String[]

  void Fail(std::string message);
  const Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }
  std::size_t remaining() const { return in_.size() - pos_; }
  std::size_t position() const { return pos_; }
  std::string_view Bytes(std::size_t n);  // n raw bytes, borrowed
  const Limits& limits() const { return limits_; }

 private:
  uint64_t Raw(int n);
  void VariantValue(BuiltinType type, opcua::Variant& out);
  opcua::Variant::Type PublicType(BuiltinType type);

  std::string_view in_;
  std::size_t pos_ = 0;
  const Limits& limits_;
  uint32_t depth_ = 0;
  Status status_;
};

}  // namespace doppel::connect::opcua::internal
