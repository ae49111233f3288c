#include "connect/mqtt/internal/mqtt_codec.h"

#include <cstdio>
#include <utility>

namespace doppel::connect::mqtt::internal {
namespace {

Status Malformed(std::string message) {
  return Status::InvalidArgument("malformed packet: " + std::move(message), std::to_string(kReasonMalformedPacket));
}
Status ProtocolError(std::string message) {
  return Status::InvalidArgument("protocol error: " + std::move(message), std::to_string(kReasonProtocolError));
}

// Reads big-endian integers, variable byte integers and length-prefixed fields off a packet
// body, refusing to read past its end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool done() const { return pos_ == bytes_.size(); }
  std::size_t left() const { return bytes_.size() - pos_; }

  Result<uint8_t> U8(std::string_view what) {
    if (left() < 1) return Malformed("truncated " + std::string(what));
    return static_cast<uint8_t>(bytes_[pos_++]);
  }
  Result<uint16_t> U16(std::string_view what) {
    if (left() < 2) return Malformed("truncated " + std::string(what));
    const auto hi = static_cast<uint8_t>(bytes_[pos_]), lo = static_cast<uint8_t>(bytes_[pos_ + 1]);
    pos_ += 2;
    return static_cast<uint16_t>(hi << 8 | lo);
  }
  Result<uint32_t> U32(std::string_view what) {
    if (left() < 4) return Malformed("truncated " + std::string(what));
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<uint8_t>(bytes_[pos_++]);
    return v;
  }
  Result<uint32_t> VariableByteInteger(std::string_view what) {
    uint32_t value = 0;
    for (int shift = 0; shift < 28; shift += 7) {
      DOPPEL_ASSIGN_OR_RETURN(uint8_t byte, U8(what));
      value |= static_cast<uint32_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    return Malformed(std::string(what) + " is longer than 4 bytes");
  }
  // Binary data or a UTF-8 string: a 2-byte length, then the bytes.
  Result<std::string_view> Bytes(std::string_view what) {
    DOPPEL_ASSIGN_OR_RETURN(uint16_t n, U16(what));
    if (left() < n) return Malformed("truncated " + std::string(what));
    std::string_view v = bytes_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string_view Rest() {
    std::string_view v = bytes_.substr(pos_);
    pos_ = bytes_.size();
    return v;
  }
  // A sub-reader over the next `n` bytes (a property block).
  Result<Reader> Take(std::size_t n, std::string_view what) {
    if (left() < n) return Malformed("truncated " + std::string(what));
    Reader r(bytes_.substr(pos_, n));
    pos_ += n;
    return r;
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

// RFC 3629 UTF-8 without U+0000 (§1.5.4: both are malformed in an MQTT string).
bool ValidMqttString(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c == 0) return false;
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0xFF >> (n + 1));
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

Result<std::string_view> ReadString(Reader& r, std::string_view what) {
  DOPPEL_ASSIGN_OR_RETURN(std::string_view s, r.Bytes(what));
  if (!ValidMqttString(s)) return Malformed(std::string(what) + " is not valid UTF-8");
  return s;
}

// §2.2.2.2: the type of each property identifier.
enum class PropertyType : uint8_t { kNone, kByte, kU16, kU32, kVarInt, kString, kBinary, kStringPair };

PropertyType TypeOfProperty(uint32_t id) {
  switch (id) {
    case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A:
      return PropertyType::kByte;
    case 0x13: case 0x21: case 0x22: case 0x23:
      return PropertyType::kU16;
    case 0x02: case 0x11: case 0x18: case 0x27:
      return PropertyType::kU32;
    case 0x0B:
      return PropertyType::kVarInt;
    case 0x03: case 0x08: case 0x12: case 0x15: case 0x1A: case 0x1C: case 0x1F:
      return PropertyType::kString;
    case 0x09: case 0x16:
      return PropertyType::kBinary;
    case 0x26:
      return PropertyType::kStringPair;
    default:
      return PropertyType::kNone;
  }
}

struct Property {
  uint32_t id = 0;
  uint32_t number = 0;     // byte, two/four-byte and variable byte integers
  std::string_view text;   // strings and binary data (a pair's name)
};

// Reads the property block (length, then properties) and calls `on(property)` for each; `on`
// returns a Status to refuse one that does not belong in this packet.
template <typename OnProperty>
Status ReadProperties(Reader& r, OnProperty&& on) {
  DOPPEL_ASSIGN_OR_RETURN(uint32_t length, r.VariableByteInteger("property length"));
  DOPPEL_ASSIGN_OR_RETURN(Reader props, r.Take(length, "properties"));
  while (!props.done()) {
    Property p;
    DOPPEL_ASSIGN_OR_RETURN(p.id, props.VariableByteInteger("property identifier"));
    switch (TypeOfProperty(p.id)) {
      case PropertyType::kNone:
        return Malformed("unknown property identifier " + std::to_string(p.id));
      case PropertyType::kByte: { DOPPEL_ASSIGN_OR_RETURN(p.number, props.U8("property")); break; }
      case PropertyType::kU16: { DOPPEL_ASSIGN_OR_RETURN(p.number, props.U16("property")); break; }
      case PropertyType::kU32: { DOPPEL_ASSIGN_OR_RETURN(p.number, props.U32("property")); break; }
      case PropertyType::kVarInt: { DOPPEL_ASSIGN_OR_RETURN(p.number, props.VariableByteInteger("property")); break; }
      case PropertyType::kString: { DOPPEL_ASSIGN_OR_RETURN(p.text, ReadString(props, "property")); break; }
      case PropertyType::kBinary: { DOPPEL_ASSIGN_OR_RETURN(p.text, props.Bytes("property")); break; }
      case PropertyType::kStringPair: {
        DOPPEL_ASSIGN_OR_RETURN(p.text, ReadString(props, "user property name"));
        DOPPEL_ASSIGN_OR_RETURN(std::string_view value, ReadString(props, "user property value"));
        (void)value;
        break;
      }
    }
    DOPPEL_RETURN_IF_ERROR(on(p));
  }
  return Status::Ok();
}

Status CheckFlags(uint8_t flags, uint8_t expected, std::string_view packet) {
  if (flags == expected) return Status::Ok();
  return Malformed("reserved flags " + std::to_string(flags) + " in " + std::string(packet));
}

void AppendU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}
void AppendU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}
void AppendString(std::string& out, std::string_view s) {
  AppendU16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}
// The whole packet: first byte, remaining length, then `body`.
std::string Packet(uint8_t first_byte, std::string_view body) {
  std::string out(1, static_cast<char>(first_byte));
  AppendVariableByteInteger(out, static_cast<uint32_t>(body.size()));
  out.append(body);
  return out;
}
// A property block from its encoded properties.
void AppendProperties(std::string& out, std::string_view properties) {
  AppendVariableByteInteger(out, static_cast<uint32_t>(properties.size()));
  out.append(properties);
}

}  // namespace

std::string ReasonCodeText(uint8_t code) {
  switch (code) {
    case 0x00: return "success";
    case 0x04: return "disconnect with will message";
    case 0x80: return "unspecified error";
    case 0x81: return "malformed packet";
    case 0x82: return "protocol error";
    case 0x83: return "implementation specific error";
    case 0x84: return "unsupported protocol version";
    case 0x85: return "client identifier not valid";
    case 0x86: return "bad user name or password";
    case 0x87: return "not authorized";
    case 0x88: return "server unavailable";
    case 0x89: return "server busy";
    case 0x8A: return "banned";
    case 0x8B: return "server shutting down";
    case 0x8C: return "bad authentication method";
    case 0x8D: return "keep alive timeout";
    case 0x8E: return "session taken over";
    case 0x8F: return "topic filter invalid";
    case 0x90: return "topic name invalid";
    case 0x93: return "receive maximum exceeded";
    case 0x94: return "topic alias invalid";
    case 0x95: return "packet too large";
    case 0x97: return "quota exceeded";
    case 0x98: return "administrative action";
    case 0x99: return "payload format invalid";
    case 0x9A: return "retain not supported";
    case 0x9B: return "qos not supported";
    case 0x9C: return "use another server";
    case 0x9D: return "server moved";
    case 0x9E: return "shared subscriptions not supported";
    case 0x9F: return "connection rate exceeded";
    case 0xA0: return "maximum connect time";
    case 0xA1: return "subscription identifiers not supported";
    case 0xA2: return "wildcard subscriptions not supported";
    default: break;
  }
  char text[24];
  std::snprintf(text, sizeof(text), "reason code 0x%02X", code);
  return text;
}

uint8_t DisconnectReasonOf(const Status& status) {
  const std::string code = status.error_code();
  if (code == std::to_string(kReasonProtocolError)) return kReasonProtocolError;
  if (code == std::to_string(kReasonPacketTooLarge)) return kReasonPacketTooLarge;
  if (code == std::to_string(kReasonTopicAliasInvalid)) return kReasonTopicAliasInvalid;
  return kReasonMalformedPacket;
}

void AppendVariableByteInteger(std::string& out, uint32_t value) {
  do {
    uint8_t byte = value & 0x7F;
    value >>= 7;
    if (value > 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (value > 0);
}

Result<std::optional<Frame>> FrameReader::Next(std::string_view bytes) const {
  if (bytes.empty()) return std::optional<Frame>();
  const auto first = static_cast<uint8_t>(bytes[0]);
  if ((first >> 4) == 0) return Malformed("reserved packet type 0");
  uint32_t remaining = 0;
  std::size_t i = 1;
  for (int shift = 0;; shift += 7) {
    if (shift == 28) return Malformed("remaining length is longer than 4 bytes");
    if (i >= bytes.size()) return std::optional<Frame>();  // the length is not all here yet
    const auto byte = static_cast<uint8_t>(bytes[i++]);
    remaining |= static_cast<uint32_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) break;
  }
  const std::size_t size = i + remaining;
  if (size > max_packet_size_) {
    return Status::InvalidArgument("packet of " + std::to_string(size) + " bytes is over the maximum of " +
                                       std::to_string(max_packet_size_),
                                   std::to_string(kReasonPacketTooLarge));
  }
  if (bytes.size() < size) return std::optional<Frame>();
  return std::optional<Frame>(
      Frame{static_cast<PacketType>(first >> 4), static_cast<uint8_t>(first & 0x0F), bytes.substr(i, remaining), size});
}

std::string EncodeConnect(const ConnectOptions& o) {
  std::string body;
  AppendString(body, "MQTT");
  body.push_back(5);  // protocol version
  uint8_t flags = o.clean_start ? 0x02 : 0;
  if (o.username) flags |= 0x80;
  if (o.password) flags |= 0x40;
  body.push_back(static_cast<char>(flags));
  AppendU16(body, o.keep_alive_seconds);
  std::string props;
  if (o.session_expiry_seconds > 0) {
    props.push_back(0x11);
    AppendU32(props, o.session_expiry_seconds);
  }
  props.push_back(0x21);
  AppendU16(props, o.receive_maximum);
  if (o.maximum_packet_size > 0) {
    props.push_back(0x27);
    AppendU32(props, o.maximum_packet_size);
  }
  if (o.topic_alias_maximum > 0) {
    props.push_back(0x22);
    AppendU16(props, o.topic_alias_maximum);
  }
  AppendProperties(body, props);
  AppendString(body, o.client_id);
  if (o.username) AppendString(body, *o.username);
  if (o.password) AppendString(body, *o.password);
  return Packet(0x10, body);
}

std::string EncodeSubscribe(uint16_t packet_id, std::span<const SubscribeRequest> filters) {
  std::string body;
  AppendU16(body, packet_id);
  AppendProperties(body, "");
  for (const SubscribeRequest& f : filters) {
    AppendString(body, f.filter);
    body.push_back(static_cast<char>(f.qos & 0x03));  // retain handling 0, no-local off
  }
  return Packet(0x82, body);
}

std::string EncodePublish(std::string_view topic, std::string_view payload, uint8_t qos, uint16_t packet_id) {
  std::string body;
  body.reserve(topic.size() + payload.size() + 5);
  AppendString(body, topic);
  if (qos > 0) AppendU16(body, packet_id);
  AppendProperties(body, "");
  body.append(payload);
  return Packet(static_cast<uint8_t>(0x30 | (qos & 0x03) << 1), body);
}

void AppendPuback(std::string& out, uint16_t packet_id) {
  out.push_back(0x40);
  out.push_back(2);
  AppendU16(out, packet_id);
}

std::string EncodePingreq() { return std::string("\xC0\x00", 2); }

std::string EncodeDisconnect(uint8_t reason_code) {
  if (reason_code == kReasonSuccess) return std::string("\xE0\x00", 2);
  std::string body(1, static_cast<char>(reason_code));
  return Packet(0xE0, body);
}

Result<Connack> DecodeConnack(uint8_t flags, std::string_view body) {
  DOPPEL_RETURN_IF_ERROR(CheckFlags(flags, 0, "CONNACK"));
  Reader r(body);
  Connack c;
  DOPPEL_ASSIGN_OR_RETURN(uint8_t ack_flags, r.U8("CONNACK flags"));
  if ((ack_flags & 0xFE) != 0) return Malformed("reserved CONNACK flags");
  c.session_present = (ack_flags & 1) != 0;
  DOPPEL_ASSIGN_OR_RETURN(c.reason_code, r.U8("CONNACK reason code"));
  if (c.reason_code != 0 && c.session_present) return ProtocolError("session present on a refused CONNACK");
  if (r.done()) return c;  // §3.2.2.3: no properties means a property length of 0
  DOPPEL_RETURN_IF_ERROR(ReadProperties(r, [&](const Property& p) -> Status {
    switch (p.id) {
      case 0x13: c.server_keep_alive = static_cast<uint16_t>(p.number); break;
      case 0x21:
        if (p.number == 0) return ProtocolError("receive maximum 0");
        c.receive_maximum = static_cast<uint16_t>(p.number);
        break;
      case 0x27:
        if (p.number == 0) return ProtocolError("maximum packet size 0");
        c.maximum_packet_size = p.number;
        break;
      case 0x24: c.maximum_qos = static_cast<uint8_t>(p.number); break;
      case 0x12: c.assigned_client_id = p.text; break;
      case 0x1F: c.reason_string = p.text; break;
      case 0x11: case 0x22: case 0x25: case 0x26: case 0x28: case 0x29: case 0x2A:
      case 0x1A: case 0x1C: case 0x15: case 0x16:
        break;
      default: return ProtocolError("property " + std::to_string(p.id) + " in CONNACK");
    }
    return Status::Ok();
  }));
  if (!r.done()) return Malformed("bytes after the CONNACK properties");
  return c;
}

Result<Suback> DecodeSuback(uint8_t flags, std::string_view body) {
  DOPPEL_RETURN_IF_ERROR(CheckFlags(flags, 0, "SUBACK"));
  Reader r(body);
  Suback s;
  DOPPEL_ASSIGN_OR_RETURN(s.packet_id, r.U16("SUBACK packet identifier"));
  DOPPEL_RETURN_IF_ERROR(ReadProperties(r, [&](const Property& p) -> Status {
    if (p.id == 0x1F) s.reason_string = p.text;
    else if (p.id != 0x26) return ProtocolError("property " + std::to_string(p.id) + " in SUBACK");
    return Status::Ok();
  }));
  for (char c : r.Rest()) s.reason_codes.push_back(static_cast<uint8_t>(c));
  if (s.reason_codes.empty()) return ProtocolError("SUBACK without reason codes");
  return s;
}

Result<Publish> DecodePublish(uint8_t flags, std::string_view body) {
  Publish p;
  p.retain = (flags & 0x01) != 0;
  p.qos = (flags >> 1) & 0x03;
  p.dup = (flags & 0x08) != 0;
  if (p.qos == 3) return Malformed("PUBLISH with QoS 3");
  if (p.qos == 2) return ProtocolError("PUBLISH with QoS 2 (subscribed with at most 1)");
  if (p.qos == 0 && p.dup) return Malformed("DUP set on a QoS 0 PUBLISH");
  Reader r(body);
  DOPPEL_ASSIGN_OR_RETURN(p.topic, ReadString(r, "topic name"));
  if (p.topic.find_first_of("+#") != std::string_view::npos) return ProtocolError("wildcard in a topic name");
  if (p.qos > 0) {
    DOPPEL_ASSIGN_OR_RETURN(p.packet_id, r.U16("packet identifier"));
    if (p.packet_id == 0) return ProtocolError("packet identifier 0");
  }
  bool alias_seen = false;
  DOPPEL_RETURN_IF_ERROR(ReadProperties(r, [&](const Property& prop) -> Status {
    switch (prop.id) {
      case 0x23:
        if (prop.number == 0) {
          return Status::InvalidArgument("protocol error: topic alias 0", std::to_string(kReasonTopicAliasInvalid));
        }
        if (alias_seen) return ProtocolError("topic alias twice");
        alias_seen = true;
        p.topic_alias = static_cast<uint16_t>(prop.number);
        break;
      case 0x01: case 0x02: case 0x03: case 0x08: case 0x09: case 0x0B: case 0x26:
        break;  // payload format, expiry, content type, response topic, correlation, subscription id, user
      default: return ProtocolError("property " + std::to_string(prop.id) + " in PUBLISH");
    }
    return Status::Ok();
  }));
  if (p.topic.empty() && p.topic_alias == 0) return ProtocolError("PUBLISH without topic name or alias");
  p.payload = r.Rest();
  return p;
}

Result<Puback> DecodePuback(uint8_t flags, std::string_view body) {
  DOPPEL_RETURN_IF_ERROR(CheckFlags(flags, 0, "PUBACK"));
  Reader r(body);
  Puback a;
  DOPPEL_ASSIGN_OR_RETURN(a.packet_id, r.U16("PUBACK packet identifier"));
  if (r.done()) return a;
  DOPPEL_ASSIGN_OR_RETURN(a.reason_code, r.U8("PUBACK reason code"));
  if (r.done()) return a;
  DOPPEL_RETURN_IF_ERROR(ReadProperties(r, [](const Property& p) -> Status {
    if (p.id != 0x1F && p.id != 0x26) return ProtocolError("property " + std::to_string(p.id) + " in PUBACK");
    return Status::Ok();
  }));
  if (!r.done()) return Malformed("bytes after the PUBACK properties");
  return a;
}

Status DecodePingresp(uint8_t flags, std::string_view body) {
  DOPPEL_RETURN_IF_ERROR(CheckFlags(flags, 0, "PINGRESP"));
  if (!body.empty()) return Malformed("PINGRESP with a body");
  return Status::Ok();
}

Result<Disconnect> DecodeDisconnect(uint8_t flags, std::string_view body) {
  DOPPEL_RETURN_IF_ERROR(CheckFlags(flags, 0, "DISCONNECT"));
  Reader r(body);
  Disconnect d;
  if (r.done()) return d;
  DOPPEL_ASSIGN_OR_RETURN(d.reason_code, r.U8("DISCONNECT reason code"));
  if (r.done()) return d;
  DOPPEL_RETURN_IF_ERROR(ReadProperties(r, [&](const Property& p) -> Status {
    if (p.id == 0x1F) d.reason_string = p.text;
    else if (p.id != 0x26 && p.id != 0x1C && p.id != 0x11) {
      return ProtocolError("property " + std::to_string(p.id) + " in DISCONNECT");
    }
    return Status::Ok();
  }));
  if (!r.done()) return Malformed("bytes after the DISCONNECT properties");
  return d;
}

Result<std::string_view> TopicAliases::Resolve(const Publish& publish) {
  if (publish.topic_alias == 0) return publish.topic;
  if (publish.topic_alias > maximum_) {
    return Status::InvalidArgument("topic alias " + std::to_string(publish.topic_alias) + " is over the maximum of " +
                                       std::to_string(maximum_),
                                   std::to_string(kReasonTopicAliasInvalid));
  }
  std::string& slot = topics_[publish.topic_alias - 1];
  if (!publish.topic.empty()) {
    slot.assign(publish.topic);
  } else if (slot.empty()) {
    return Status::InvalidArgument("topic alias " + std::to_string(publish.topic_alias) + " was never set",
                                   std::to_string(kReasonTopicAliasInvalid));
  }
  return std::string_view(slot);
}

}  // namespace doppel::connect::mqtt::internal
