// Fuzzes what an OPC UA server sends to Doppel's client (connect/opcua/internal): the input is a
// byte stream cut into UA TCP chunks (ParseChunkHeader), ACK and ERR decoded, OPN/MSG/CLO chunks
// taken apart (ParseSecureChunk), re-assembled (MessageAssembler) and every complete message
// decoded as a service response by its type id (DecodeAnyResponse): Read, Write, Browse(Next),
// Call, CreateSession, ActivateSession, CreateSubscription, CreateMonitoredItems, Publish,
// OpenSecureChannel, ServiceFault.
//
// Errors: every failure is a Status with a message, InvalidArgument for malformed input (the
// client closes the connection on those), Unavailable/PermissionDenied for a server's Bad
// result; never a crash, and never an allocation beyond the limits (ASan's allocator limit
// catches an unbounded one under libFuzzer).
// Round trips: a decoded ReadResponse's DataValues re-encode to bytes that decode and
// re-encode to the same bytes; an assembled message is no larger than the chunks it came from.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connect/opcua/internal/ua_codec.h"
#include "connect/opcua/internal/ua_messages.h"
#include "connect/opcua/internal/ua_transport.h"
#include "fuzz_util.h"

namespace {

using doppel::Status;
using doppel::StatusCode;
namespace ua = doppel::connect::opcua::internal;
using doppel::connect::opcua::DataValue;
using doppel::connect::opcua::Variant;

constexpr uint32_t kMaxChunk = 1 << 16;
const ua::Limits kLimits{.max_array_length = 4096, .max_string_bytes = 1 << 14};

void CheckError(const Status& s) {
  FUZZ_CHECK(!s.ok(), "an error without a code");
  FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kUnavailable ||
                 s.code() == StatusCode::kPermissionDenied,
             s.ToString());
  FUZZ_CHECK(!s.message().empty(), "error without a message");
}

bool HasFloat(const Variant& v) { return v.type == Variant::Type::kFloat; }

// Encoding a decoded DataValue is stable after one round: encode, decode, encode gives the same bytes.
void CheckDataValueRoundTrip(const DataValue& v) {
  if (HasFloat(v.value)) return;  // float NaN payloads may change once through double
  ua::Encoder first;
  first.DataValue(v);
  ua::Decoder d(first.bytes(), kLimits);
  const DataValue again = d.DataValue();
  FUZZ_CHECK(d.ok(), d.status().ToString());
  FUZZ_CHECK(d.remaining() == 0, "DataValue re-encoding left bytes over");
  ua::Encoder second;
  second.DataValue(again);
  FUZZ_CHECK(first.bytes() == second.bytes(), "DataValue encoding is not stable");
}

void DecodeMessage(const ua::AssembledMessage& m) {
  if (!m.abort.ok()) return CheckError(m.abort);
  const Status s = ua::DecodeAnyResponse(m.body, kLimits);
  if (!s.ok()) return CheckError(s);
  auto route = ua::PeekResponse(m.body, kLimits);
  FUZZ_CHECK(route.ok(), "a decoded response has no header");
  if (route->type_id == ua::type_id::kReadResponse) {
    auto values = ua::DecodeRead(m.body, kLimits);
    FUZZ_CHECK(values.ok(), values.status().ToString());
    FUZZ_CHECK(values->size() <= kLimits.max_array_length, "more values than the limit");
    for (const DataValue& v : *values) CheckDataValueRoundTrip(v);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  ua::MessageAssembler assembler(/*max_chunk_count=*/8, /*max_message_bytes=*/1 << 18);
  std::size_t chunk_bytes = 0;
  for (int chunks = 0; chunks < 64 && stream.size() >= ua::kChunkHeaderBytes; ++chunks) {
    auto header = ua::ParseChunkHeader(stream, kMaxChunk);
    if (!header.ok()) return CheckError(header.status()), 0;
    FUZZ_CHECK(header->size >= ua::kChunkHeaderBytes && header->size <= kMaxChunk, "chunk size outside the bounds");
    if (header->size > stream.size()) return 0;  // the rest is an incomplete chunk
    const std::string_view chunk = stream.substr(0, header->size);
    const std::string_view body = chunk.substr(ua::kChunkHeaderBytes);
    stream.remove_prefix(header->size);
    if (header->type == "ACK") {
      auto ack = ua::DecodeAcknowledge(body);
      if (!ack.ok()) CheckError(ack.status());
      else FUZZ_CHECK(ack->receive_buffer_size >= 8192 && ack->send_buffer_size >= 8192, "tiny buffers accepted");
      continue;
    }
    if (header->type == "ERR") {
      const Status s = ua::DecodeErrorMessage(body);
      FUZZ_CHECK(s.code() == StatusCode::kUnavailable, s.ToString());
      continue;
    }
    auto secure = ua::ParseSecureChunk(chunk, kLimits.max_string_bytes);
    if (!secure.ok()) {
      CheckError(secure.status());
      continue;
    }
    FUZZ_CHECK(secure->body.data() >= chunk.data() && secure->body.data() + secure->body.size() == chunk.data() + chunk.size(),
               "chunk body outside the chunk");
    chunk_bytes += secure->body.size();
    auto message = assembler.Add(*secure);
    if (!message.ok()) return CheckError(message.status()), 0;  // the client closes the connection
    if (!message->has_value()) continue;
    FUZZ_CHECK((*message)->body.size() <= chunk_bytes, "a message larger than its chunks");
    DecodeMessage(**message);
  }
  return 0;
}
