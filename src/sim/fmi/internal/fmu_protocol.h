// The wire protocol between an FmuSimulation (parent) and its `doppel fmu-host` child, over one
// Unix stream socket. Every message is a frame:
//
//   u32 length (little-endian, of what follows) | u8 type | payload
//
// The parent sends one request frame and reads one reply frame; the child never speaks first.
// Payload fields are fixed-width little-endian (u8, u32, f64) or length-prefixed bytes (u32 n +
// n bytes). Requests (payloads):
//
//   kLoad      so_path, instance_name, guid, resource_uri: bytes; need_state: u8;
//              n: u32, then n × (type: u8 FmiType, value_reference: u32)  — the variable table,
//              in ModelInfo order; every later "values" list follows it
//   kInit      start_time: f64, sets             → values
//   kStep      time: f64, dt: f64, sets          → values
//   kGetState                                    → state: bytes
//   kSetState  state: bytes                      → values
//   kTerminate                                   → (empty); the child then exits
//
//   sets   = m: u32, then m × (index: u32, value: f64)   — applied before the call
//   values = n × f64                                      — every variable after the call
//
// Replies: type kOk with the payload above, or kError with kind: u8 (ErrorKind) and message.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace doppel::sim::fmi::internal {

enum class MessageType : uint8_t {
  kLoad = 1,
  kInit = 2,
  kStep = 3,
  kGetState = 4,
  kSetState = 5,
  kTerminate = 6,
  kOk = 100,
  kError = 101,
};

// Why the child refused a request: the FMU itself is unusable (bad binary, missing symbol,
// instantiation failed) or a call into it failed at run time.
enum class ErrorKind : uint8_t { kBadFmu = 0, kCallFailed = 1 };

// Frames larger than this are refused on both sides (a serialized FMU state is the largest).
inline constexpr uint32_t kMaxFrameBytes = 256u << 20;

// Builds one frame.
class FrameWriter {
 public:
  explicit FrameWriter(MessageType type);
  FrameWriter& U8(uint8_t v);
  FrameWriter& U32(uint32_t v);
  FrameWriter& F64(double v);
  FrameWriter& Bytes(std::string_view v);
  // The frame with its length prefix filled in.
  std::string Finish();  // leaves the writer empty

 private:
  std::string frame_;
};

// Reads the fields of one frame body (type + payload, without the length prefix). Reading past
// the end sets ok() to false and yields zeros, so callers check ok() once at the end.
class FrameReader {
 public:
  explicit FrameReader(std::string_view body);
  MessageType type() const { return type_; }
  uint8_t U8();
  uint32_t U32();
  double F64();
  std::string Bytes();
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == body_.size(); }

 private:
  bool Take(void* out, std::size_t n);
  std::string_view body_;
  std::size_t pos_ = 1;
  MessageType type_ = MessageType::kError;
  bool ok_ = true;
};

enum class IoError : uint8_t { kNone, kTimeout, kClosed, kMalformed };

using Deadline = std::optional<std::chrono::steady_clock::time_point>;  // nullopt = forever

// Writes all of `bytes` to the socket `fd` (send with MSG_NOSIGNAL, so a dead peer is kClosed,
// not SIGPIPE). Works on blocking and non-blocking sockets.
IoError SendAll(int fd, std::string_view bytes, Deadline deadline);
// Reads one frame; `body` receives type + payload.
IoError ReceiveFrame(int fd, std::string& body, Deadline deadline);

// A "sets" list, as both sides encode it.
struct IndexedValue {
  uint32_t index = 0;
  double value = 0.0;
};
void WriteSets(FrameWriter& writer, const std::vector<IndexedValue>& sets);
std::vector<IndexedValue> ReadSets(FrameReader& reader);

}  // namespace doppel::sim::fmi::internal
