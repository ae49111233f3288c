// MQTT 5.0 packets as bytes (internal to connect/mqtt): the encoders for what Doppel sends as a
// client (CONNECT, SUBSCRIBE, PUBLISH, PUBACK, PINGREQ, DISCONNECT) and strict decoders for
// what a broker sends (CONNACK, SUBACK, PUBLISH, PUBACK, PINGRESP, DISCONNECT). Section numbers
// refer to the OASIS MQTT Version 5.0 specification.
//
//   FrameReader frames(max_packet_size);
//   Result<std::optional<Frame>> frame = frames.Next(buffered_bytes);  // nullopt: need more
//   if (frame->type == PacketType::kPublish) DecodePublish(frame->flags, frame->body);
//
// Every decoder checks lengths before reading, the fixed-header flags (§2.1.3), property
// identifiers and types (§2.2.2) and the rules of its packet; it never reads past `body`.
// Errors are InvalidArgument whose error_code() is the DISCONNECT reason code to send, as text
// ("129" Malformed Packet, "130" Protocol Error, "149" Packet too large, "148" Topic Alias
// invalid), and whose message says what was wrong. Decoded string_views point into the
// caller's bytes. Pure functions; TopicAliases is per connection and not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace doppel::connect::mqtt::internal {

enum class PacketType : uint8_t {
  kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kPubrec = 5, kPubrel = 6, kPubcomp = 7,
  kSubscribe = 8, kSuback = 9, kUnsubscribe = 10, kUnsuback = 11, kPingreq = 12, kPingresp = 13,
  kDisconnect = 14, kAuth = 15,
};

// Reason codes used by name (§2.4).
inline constexpr uint8_t kReasonSuccess = 0x00;
inline constexpr uint8_t kReasonMalformedPacket = 0x81;
inline constexpr uint8_t kReasonProtocolError = 0x82;
inline constexpr uint8_t kReasonTopicAliasInvalid = 0x94;
inline constexpr uint8_t kReasonPacketTooLarge = 0x95;
// "Not authorized", "Bad user name or password", ... ; "reason code 0xNN" for unknown ones.
std::string ReasonCodeText(uint8_t code);
// The reason code a decoder error carries (see above), Malformed Packet when it has none.
uint8_t DisconnectReasonOf(const Status& status);

// ---- framing -------------------------------------------------------------------------------

// The largest value of a variable byte integer (4 bytes, §1.5.5).
inline constexpr uint32_t kMaxVariableByteInteger = 268'435'455;

struct Frame {
  PacketType type;
  uint8_t flags;          // low nibble of the first byte
  std::string_view body;  // variable header + payload (remaining length bytes)
  std::size_t size;       // whole packet: fixed header + body
};

// Cuts packets off the front of a byte stream. Errors: a remaining length that is not a valid
// variable byte integer (a 5th continuation byte), a packet over max_packet_size ("149"), a
// reserved packet type 0.
class FrameReader {
 public:
  explicit FrameReader(std::size_t max_packet_size) : max_packet_size_(max_packet_size) {}
  // The first packet of `bytes` if it is complete, nullopt if more bytes are needed.
  Result<std::optional<Frame>> Next(std::string_view bytes) const;

 private:
  std::size_t max_packet_size_;
};

// Appends `value` (≤ kMaxVariableByteInteger) as a variable byte integer.
void AppendVariableByteInteger(std::string& out, uint32_t value);

// ---- client → broker -----------------------------------------------------------------------

struct ConnectOptions {
  std::string client_id;
  std::optional<std::string> username;
  std::optional<std::string> password;
  uint16_t keep_alive_seconds = 30;
  bool clean_start = false;
  uint32_t session_expiry_seconds = 0;  // 0: the session ends with the connection
  uint16_t receive_maximum = 1024;      // QoS 1 messages the broker may have unacknowledged
  uint32_t maximum_packet_size = 0;     // 0: not sent (no limit announced)
  uint16_t topic_alias_maximum = 0;     // aliases the broker may use towards us
};
std::string EncodeConnect(const ConnectOptions& options);

struct SubscribeRequest {
  std::string filter;
  uint8_t qos = 1;
};
std::string EncodeSubscribe(uint16_t packet_id, std::span<const SubscribeRequest> filters);

// QoS 0 (packet_id ignored) or 1.
std::string EncodePublish(std::string_view topic, std::string_view payload, uint8_t qos, uint16_t packet_id);
// Appends a PUBACK with reason Success (the 2-byte short form, §3.4.2.1).
void AppendPuback(std::string& out, uint16_t packet_id);
std::string EncodePingreq();
std::string EncodeDisconnect(uint8_t reason_code = kReasonSuccess);

// ---- broker → client -----------------------------------------------------------------------

struct Connack {
  bool session_present = false;
  uint8_t reason_code = 0;                  // ≥ 0x80: refused
  std::optional<uint16_t> server_keep_alive;  // the keep alive the broker imposes
  uint16_t receive_maximum = 65535;         // QoS 1 publishes we may have in flight
  uint32_t maximum_packet_size = 0;         // 0: no limit
  uint8_t maximum_qos = 2;
  std::string assigned_client_id;
  std::string reason_string;
};
Result<Connack> DecodeConnack(uint8_t flags, std::string_view body);

struct Suback {
  uint16_t packet_id = 0;
  std::vector<uint8_t> reason_codes;  // per filter: granted QoS 0..2, or ≥ 0x80 refused
  std::string reason_string;
};
Result<Suback> DecodeSuback(uint8_t flags, std::string_view body);

struct Publish {
  std::string_view topic;  // empty when the broker uses a topic alias alone
  std::string_view payload;
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  uint16_t packet_id = 0;    // QoS 1 only
  uint16_t topic_alias = 0;  // 0: none
};
// QoS 2 is refused (we subscribe with at most QoS 1), as are a zero packet id, a topic with
// U+0000 or invalid UTF-8, wildcards in the topic, and topic alias 0 (all Protocol Error or
// Malformed Packet).
Result<Publish> DecodePublish(uint8_t flags, std::string_view body);

struct Puback {
  uint16_t packet_id = 0;
  uint8_t reason_code = 0;
};
Result<Puback> DecodePuback(uint8_t flags, std::string_view body);

Status DecodePingresp(uint8_t flags, std::string_view body);

struct Disconnect {
  uint8_t reason_code = 0;
  std::string reason_string;
};
Result<Disconnect> DecodeDisconnect(uint8_t flags, std::string_view body);

// The broker's topic aliases on one connection (§3.3.2.3.4): a PUBLISH with a topic and an
// alias sets it, one with an alias alone uses it. Aliases above `maximum` (what we announced
// in CONNECT), and an alias alone that was never set, are errors ("148").
class TopicAliases {
 public:
  explicit TopicAliases(uint16_t maximum) : maximum_(maximum), topics_(maximum) {}
  // The publish's topic, recording or resolving its alias. The view stays valid until the
  // alias is set again.
  Result<std::string_view> Resolve(const Publish& publish);

 private:
  uint16_t maximum_;
  std::vector<std::string> topics_;  // [alias - 1]
};

}  // namespace doppel::connect::mqtt::internal
