#include "sim/fmi/internal/fmu_protocol.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace doppel::sim::fmi::internal {
namespace {

// Milliseconds poll() may wait before `deadline` (-1 = forever), or nullopt once it has passed.
std::optional<int> PollTimeout(const Deadline& deadline) {
  if (!deadline) return -1;
  auto left =
      std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return std::nullopt;
  return static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

// Waits until `fd` is ready for `events`.
IoError Wait(int fd, short events, const Deadline& deadline) {
  for (;;) {
    auto timeout = PollTimeout(deadline);
    if (!timeout) return IoError::kTimeout;
    pollfd p{.fd = fd, .events = events, .revents = 0};
    int n = ::poll(&p, 1, *timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError::kClosed;
    if (n == 0) continue;   // the deadline check above decides
    return IoError::kNone;  // readable, writable, or hung up: the next call tells which
  }
}

bool Retryable(int error) { return error == EINTR || error == EAGAIN || error == EWOULDBLOCK; }

IoError ReceiveAll(int fd, char* out, std::size_t n, const Deadline& deadline) {
  // Try first, poll only when nothing is there: a reply that is already waiting costs one
  // system call.
  while (n > 0) {
    ssize_t got = ::recv(fd, out, n, MSG_DONTWAIT);
    if (got == 0) return IoError::kClosed;
    if (got < 0) {
      if (!Retryable(errno)) return IoError::kClosed;
      if (IoError e = Wait(fd, POLLIN, deadline); e != IoError::kNone) return e;
      continue;
    }
    out += got;
    n -= static_cast<std::size_t>(got);
  }
  return IoError::kNone;
}

}  // namespace

FrameWriter::FrameWriter(MessageType type) : frame_(4, '\0') {
  frame_.push_back(static_cast<char>(type));
}

FrameWriter& FrameWriter::U8(uint8_t v) {
  frame_.push_back(static_cast<char>(v));
  return *this;
}

FrameWriter& FrameWriter::U32(uint32_t v) {
  for (int i = 0; i < 4; ++i) frame_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return *this;
}

FrameWriter& FrameWriter::F64(double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 8; ++i) frame_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  return *this;
}

FrameWriter& FrameWriter::Bytes(std::string_view v) {
  U32(static_cast<uint32_t>(v.size()));
  frame_.append(v);
  return *this;
}

std::string FrameWriter::Finish() {
  auto length = static_cast<uint32_t>(frame_.size() - 4);
  for (int i = 0; i < 4; ++i) frame_[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return std::move(frame_);
}

FrameReader::FrameReader(std::string_view body) : body_(body) {
  if (body_.empty()) {
    ok_ = false;
    pos_ = 0;
    return;
  }
  type_ = static_cast<MessageType>(static_cast<uint8_t>(body_[0]));
}

bool FrameReader::Take(void* out, std::size_t n) {
  if (!ok_ || body_.size() - pos_ < n) {
    ok_ = false;
    std::memset(out, 0, n);
    return false;
  }
  std::memcpy(out, body_.data() + pos_, n);
  pos_ += n;
  return true;
}

uint8_t FrameReader::U8() {
  uint8_t v = 0;
  Take(&v, 1);
  return v;
}

uint32_t FrameReader::U32() {
  unsigned char b[4];
  Take(b, 4);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

double FrameReader::F64() {
  unsigned char b[8];
  Take(b, 8);
  uint64_t bits = 0;
  for (int i = 7; i >= 0; --i) bits = bits << 8 | b[i];
  double v = 0;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

std::string FrameReader::Bytes() {
  uint32_t n = U32();
  if (!ok_ || body_.size() - pos_ < n) {
    ok_ = false;
    return {};
  }
  std::string v(body_.substr(pos_, n));
  pos_ += n;
  return v;
}

IoError SendAll(int fd, std::string_view bytes, Deadline deadline) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (!Retryable(errno)) return IoError::kClosed;
      if (IoError e = Wait(fd, POLLOUT, deadline); e != IoError::kNone) return e;
      continue;
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
  return IoError::kNone;
}

IoError ReceiveFrame(int fd, std::string& body, Deadline deadline) {
  unsigned char prefix[4];
  if (IoError e = ReceiveAll(fd, reinterpret_cast<char*>(prefix), 4, deadline); e != IoError::kNone)
    return e;
  uint32_t length = uint32_t{prefix[0]} | uint32_t{prefix[1]} << 8 | uint32_t{prefix[2]} << 16 |
                    uint32_t{prefix[3]} << 24;
  if (length == 0 || length > kMaxFrameBytes) return IoError::kMalformed;
  body.resize(length);
  return ReceiveAll(fd, body.data(), length, deadline);
}

void WriteSets(FrameWriter& writer, const std::vector<IndexedValue>& sets) {
  writer.U32(static_cast<uint32_t>(sets.size()));
  for (const auto& set : sets) writer.U32(set.index).F64(set.value);
}

std::vector<IndexedValue> ReadSets(FrameReader& reader) {
  uint32_t n = reader.U32();
  std::vector<IndexedValue> sets;
  // Each entry takes 12 bytes, so a corrupt count cannot make us reserve gigabytes.
  for (uint32_t i = 0; i < n && reader.ok(); ++i) {
    IndexedValue set;
    set.index = reader.U32();
    set.value = reader.F64();
    if (reader.ok()) sets.push_back(set);
  }
  return sets;
}

}  // namespace doppel::sim::fmi::internal
