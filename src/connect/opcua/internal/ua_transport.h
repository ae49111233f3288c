// UA TCP (OPC UA Part 6, 7.1) and the SecurityPolicy None secure channel framing, internal to
// connect/opcua.
//
// Every message on the wire is one or more chunks: an 8-byte header (3-byte type HEL / ACK /
// ERR / OPN / MSG / CLO, 1-byte chunk type 'F' final, 'C' continued, 'A' abort, UInt32 size
// including the header), then for OPN/MSG/CLO the secure channel id, a security header
// (asymmetric for OPN: policy URI, certificate, thumbprint; symmetric for MSG/CLO: token id), a
// sequence header (sequence number, request id) and a piece of the body. With SecurityPolicy
// None nothing is signed or encrypted. Chunks are re-assembled per request id up to the
// negotiated chunk count and message size; an abort chunk ends that request with the server's
// reason.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace doppel::connect::opcua::internal {

inline constexpr char kSecurityPolicyNoneUri[] = "http://opcfoundation.org/UA/SecurityPolicy#None";
inline constexpr uint32_t kChunkHeaderBytes = 8;

struct EndpointAddress {
  std::string host;
  uint16_t port = 4840;
  std::string path;  // with its leading '/', or ""
};
// "opc.tcp://host:port/path", "opc.tcp://[::1]:4840"; InvalidArgument otherwise.
Result<EndpointAddress> ParseEndpointUrl(std::string_view url);

// Buffer sizes and limits of one side of a connection (Hello / Acknowledge).
struct TransportLimits {
  uint32_t receive_buffer_size = 1u << 16;
  uint32_t send_buffer_size = 1u << 16;
  uint32_t max_message_size = 16u << 20;  // 0 = no limit
  uint32_t max_chunk_count = 64;          // 0 = no limit
};

std::string EncodeHello(std::string_view endpoint_url, const TransportLimits& ours);
// The body of an ACK chunk (after the 8-byte header); the server's sizes.
Result<TransportLimits> DecodeAcknowledge(std::string_view body);
// The body of an ERR chunk, or of an abort chunk's payload: always an error, Unavailable
// "server error BadTcpEndpointUrlInvalid: <reason>".
Status DecodeErrorMessage(std::string_view body);

struct ChunkHeader {
  std::string_view type;  // "MSG", "OPN", ...
  char chunk_type = 'F';
  uint32_t size = 0;
};
// The first 8 bytes of a chunk; a size below the header or over `max_chunk_size` is an error.
Result<ChunkHeader> ParseChunkHeader(std::string_view bytes, uint32_t max_chunk_size);

// One OPN/MSG/CLO chunk taken apart. `body` borrows from the chunk.
struct SecureChunk {
  std::string_view type;
  char chunk_type = 'F';
  uint32_t channel_id = 0;
  uint32_t token_id = 0;  // MSG/CLO
  uint32_t sequence_number = 0;
  uint32_t request_id = 0;
  std::string_view body;
};
Result<SecureChunk> ParseSecureChunk(std::string_view chunk, uint32_t max_string_bytes);

// Encodes `body` as chunks of at most `max_chunk_size` bytes (OPN: one chunk, asymmetric
// header with SecurityPolicy None). `sequence_number` is the last one used; it is advanced.
std::string EncodeSecureMessage(std::string_view type, uint32_t channel_id, uint32_t token_id,
                                uint32_t request_id, std::string_view body, uint32_t max_chunk_size,
                                uint32_t& sequence_number);

struct AssembledMessage {
  std::string type;  // "MSG", "OPN", "CLO"
  uint32_t request_id = 0;
  std::string body = {};
  Status abort = {};  // set for an abort chunk: the server's reason
};

// Re-assembles chunks into messages, per request id, within the limits.
class MessageAssembler {
 public:
  MessageAssembler(uint32_t max_chunk_count, uint32_t max_message_bytes)
      : max_chunk_count_(max_chunk_count), max_message_bytes_(max_message_bytes) {}
  // A complete message when `chunk` was final (or an abort), nullopt while more are expected;
  // an error past the limits or for a sequence number out of order.
  Result<std::optional<AssembledMessage>> Add(const SecureChunk& chunk);
  void Reset();

 private:
  struct Partial {
    std::string body;
    uint32_t chunks = 0;
  };
  uint32_t max_chunk_count_;
  uint32_t max_message_bytes_;
  std::optional<uint32_t> last_sequence_number_;
  std::map<uint32_t, Partial> partial_;  // by request id
  std::size_t buffered_ = 0;
};

// A blocking TCP connection read by one thread, written by any (under a lock).
class UaSocket {
 public:
  UaSocket() = default;
  ~UaSocket();
  UaSocket(const UaSocket&) = delete;
  UaSocket& operator=(const UaSocket&) = delete;

  Status Connect(const EndpointAddress& address, std::chrono::milliseconds timeout);
  Status Send(std::string_view bytes);
  // One whole chunk (header included), or nullopt when none completed within `timeout`;
  // Unavailable when the connection closed, InvalidArgument for a malformed header.
  Result<std::optional<std::string>> ReadChunk(std::chrono::milliseconds timeout, uint32_t max_chunk_size);
  // Makes a blocked ReadChunk return (the peer sees a close).
  void Shutdown();
  void Close();
  bool open() const { return fd_ >= 0; }

 private:
  std::atomic<int> fd_{-1};  // written by the reader's thread, shut down from others
  std::mutex send_mu_;
  std::string buffer_;
};

}  // namespace doppel::connect::opcua::internal
