// Fuzzes the MQTT 5 packet codec (connect/mqtt/internal/mqtt_codec.h) on what a broker sends:
// the input is a byte stream cut into packets by FrameReader and each packet decoded by its
// type (CONNACK, SUBACK, PUBLISH through TopicAliases, PUBACK, PINGRESP, DISCONNECT).
//
// Framing: a frame lies inside the stream, its body is the last `body.size()` bytes of its
// `size`, it is never over the maximum, and every proper prefix of it asks for more bytes.
// Errors: InvalidArgument whose error_code is a DISCONNECT reason code (129, 130, 148, 149)
// that DisconnectReasonOf gives back. Decoded strings point into the packet body.
// Round trips: a decoded PUBLISH with a topic re-encoded by EncodePublish decodes to the same
// topic, payload, QoS and packet id; PUBACK and DISCONNECT likewise through AppendPuback and
// EncodeDisconnect; the frame header's variable byte integer re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "connect/mqtt/internal/mqtt_codec.h"
#include "fuzz_util.h"

namespace {

using doppel::Status;
using doppel::StatusCode;
namespace mqtt = doppel::connect::mqtt::internal;

constexpr std::size_t kMaxPacket = 2048;

// An error of a decoder: InvalidArgument carrying one of the reason codes as text.
void CheckDecoderError(const Status& s) {
  FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument, s.ToString());
  const std::string& code = s.error_code();
  FUZZ_CHECK(code == "129" || code == "130" || code == "148" || code == "149", s.ToString());
  FUZZ_CHECK(std::to_string(mqtt::DisconnectReasonOf(s)) == code, s.ToString());
  FUZZ_CHECK(!s.message().empty(), "error without a message");
}

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// The single frame of an encoded packet.
mqtt::Frame OnlyFrame(const std::string& packet) {
  auto frame = mqtt::FrameReader(packet.size()).Next(packet);
  FUZZ_CHECK(frame.ok() && frame->has_value(), "encoded packet does not frame");
  FUZZ_CHECK((*frame)->size == packet.size(), "encoded packet frames to another size");
  return **frame;
}

void CheckPublishRoundTrip(const mqtt::Publish& p) {
  if (p.topic.empty()) {
    // An alias-only publish re-encoded without its alias has neither: refused.
    std::string packet = mqtt::EncodePublish(p.topic, p.payload, p.qos, p.packet_id);
    mqtt::Frame f = OnlyFrame(packet);
    FUZZ_CHECK(!mqtt::DecodePublish(f.flags, f.body).ok(), "PUBLISH without topic or alias accepted");
    return;
  }
  std::string packet = mqtt::EncodePublish(p.topic, p.payload, p.qos, p.packet_id);
  mqtt::Frame f = OnlyFrame(packet);
  FUZZ_CHECK(f.type == mqtt::PacketType::kPublish, "EncodePublish framed as another type");
  auto again = mqtt::DecodePublish(f.flags, f.body);
  FUZZ_CHECK(again.ok(), again.status().ToString());
  FUZZ_CHECK(again->topic == p.topic, std::string(again->topic));
  FUZZ_CHECK(again->payload == p.payload, "payload changed");
  FUZZ_CHECK(again->qos == p.qos && again->packet_id == p.packet_id, "qos/packet id changed");
  FUZZ_CHECK(!again->retain && !again->dup && again->topic_alias == 0, "flags appeared");
}

void DecodeOne(const mqtt::Frame& frame, mqtt::TopicAliases& aliases) {
  switch (frame.type) {
    case mqtt::PacketType::kConnack: {
      auto c = mqtt::DecodeConnack(frame.flags, frame.body);
      if (!c.ok()) return CheckDecoderError(c.status());
      FUZZ_CHECK(c->reason_code < 0x80 || !c->session_present, "session present on a refusal");
      FUZZ_CHECK(c->receive_maximum > 0, "receive maximum 0 accepted");
      return;
    }
    case mqtt::PacketType::kSuback: {
      auto s = mqtt::DecodeSuback(frame.flags, frame.body);
      if (!s.ok()) return CheckDecoderError(s.status());
      FUZZ_CHECK(!s->reason_codes.empty(), "SUBACK without reason codes accepted");
      FUZZ_CHECK(s->reason_codes.size() <= frame.body.size(), "more reason codes than bytes");
      return;
    }
    case mqtt::PacketType::kPublish: {
      auto p = mqtt::DecodePublish(frame.flags, frame.body);
      if (!p.ok()) return CheckDecoderError(p.status());
      FUZZ_CHECK(Inside(p->topic, frame.body) && Inside(p->payload, frame.body), "view outside the body");
      FUZZ_CHECK(p->qos <= 1, "QoS 2/3 accepted");
      FUZZ_CHECK(p->qos == 0 || p->packet_id != 0, "packet id 0 accepted");
      FUZZ_CHECK(p->topic.find_first_of("+#") == std::string_view::npos, "wildcard topic accepted");
      FUZZ_CHECK(p->topic.find('\0') == std::string_view::npos, "NUL in topic accepted");
      FUZZ_CHECK(!p->topic.empty() || p->topic_alias != 0, "no topic and no alias accepted");
      CheckPublishRoundTrip(*p);
      auto topic = aliases.Resolve(*p);
      if (!topic.ok()) {
        CheckDecoderError(topic.status());
        FUZZ_CHECK(topic.status().error_code() == "148", topic.status().ToString());
        return;
      }
      FUZZ_CHECK(!topic->empty(), "an alias resolved to an empty topic");
      if (!p->topic.empty()) FUZZ_CHECK(*topic == p->topic, "alias changed an explicit topic");
      return;
    }
    case mqtt::PacketType::kPuback: {
      auto a = mqtt::DecodePuback(frame.flags, frame.body);
      if (!a.ok()) return CheckDecoderError(a.status());
      std::string packet;
      mqtt::AppendPuback(packet, a->packet_id);
      mqtt::Frame f = OnlyFrame(packet);
      auto again = mqtt::DecodePuback(f.flags, f.body);
      FUZZ_CHECK(again.ok() && again->packet_id == a->packet_id && again->reason_code == 0, "PUBACK round trip");
      return;
    }
    case mqtt::PacketType::kPingresp: {
      Status s = mqtt::DecodePingresp(frame.flags, frame.body);
      if (!s.ok()) return CheckDecoderError(s);
      FUZZ_CHECK(frame.body.empty() && frame.flags == 0, "odd PINGRESP accepted");
      return;
    }
    case mqtt::PacketType::kDisconnect: {
      auto d = mqtt::DecodeDisconnect(frame.flags, frame.body);
      if (!d.ok()) return CheckDecoderError(d.status());
      const std::string packet = mqtt::EncodeDisconnect(d->reason_code);
      mqtt::Frame f = OnlyFrame(packet);  // views into `packet`
      auto again = mqtt::DecodeDisconnect(f.flags, f.body);
      FUZZ_CHECK(again.ok() && again->reason_code == d->reason_code, "DISCONNECT round trip");
      FUZZ_CHECK(!mqtt::ReasonCodeText(d->reason_code).empty(), "reason without text");
      return;
    }
    default:
      return;  // packets a broker does not send to a client: the client refuses them by type
  }
}

// The frame's header re-encoded from its body size is the bytes before the body.
void CheckFrameHeader(std::string_view stream, const mqtt::Frame& frame) {
  FUZZ_CHECK(frame.size <= stream.size() && frame.size <= kMaxPacket, "frame past the stream or limit");
  FUZZ_CHECK(frame.body.size() < frame.size, "frame without a header");
  FUZZ_CHECK(frame.body.data() == stream.data() + (frame.size - frame.body.size()), "body not at the end");
  FUZZ_CHECK(static_cast<uint8_t>(stream[0]) == (static_cast<uint8_t>(frame.type) << 4 | frame.flags),
             "first byte changed");
  std::string header(1, stream[0]);
  mqtt::AppendVariableByteInteger(header, static_cast<uint32_t>(frame.body.size()));
  // A non-minimal length (0x80 0x00 for 0) is legal on the wire; compare by value then.
  if (header.size() == frame.size - frame.body.size()) {
    FUZZ_CHECK(stream.substr(0, header.size()) == header, "remaining length re-encodes differently");
  }
  // Every proper prefix is "need more bytes", never an error or a shorter frame.
  auto prefix = mqtt::FrameReader(kMaxPacket).Next(stream.substr(0, frame.size - 1));
  FUZZ_CHECK(prefix.ok() && !prefix->has_value(), "a truncated packet framed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  mqtt::FrameReader frames(kMaxPacket);
  mqtt::TopicAliases aliases(4);
  for (int packets = 0; packets < 64 && !stream.empty(); ++packets) {
    auto frame = frames.Next(stream);
    if (!frame.ok()) {
      CheckDecoderError(frame.status());
      return 0;
    }
    if (!frame->has_value()) return 0;  // the rest is an incomplete packet
    CheckFrameHeader(stream, **frame);
    DecodeOne(**frame, aliases);
    stream.remove_prefix((*frame)->size);
  }
  return 0;
}
