#include "connect/opcua/internal/ua_transport.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "connect/opcua/internal/ua_codec.h"
#include "connect/opcua/opcua_client.h"

namespace doppel::connect::opcua::internal {
namespace {

const Limits& TransportCodecLimits() {
  static const Limits limits{.max_array_length = 0, .max_string_bytes = 1u << 16};
  return limits;
}

void AppendHeader(std::string& out, std::string_view type, char chunk_type, uint32_t size) {
  out.append(type.substr(0, 3));
  out.push_back(chunk_type);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
}

Status Errno(std::string_view what) { return Status::Unavailable(fmt::format("{}: {}", what, std::strerror(errno))); }

}  // namespace

Result<EndpointAddress> ParseEndpointUrl(std::string_view url) {
  constexpr std::string_view kScheme = "opc.tcp://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument(fmt::format("endpoint '{}' does not start with opc.tcp://", url));
  }
  std::string_view rest = url.substr(kScheme.size());
  EndpointAddress a;
  const std::size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    a.path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
  }
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument(fmt::format("endpoint '{}': unclosed [", url));
    a.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return Status::InvalidArgument(fmt::format("endpoint '{}': bad host", url));
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const std::size_t colon = rest.rfind(':');
    a.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (a.host.empty()) return Status::InvalidArgument(fmt::format("endpoint '{}' has no host", url));
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Status::InvalidArgument(fmt::format("endpoint '{}': bad port '{}'", url, port));
    }
    a.port = static_cast<uint16_t>(value);
  }
  return a;
}

std::string EncodeHello(std::string_view endpoint_url, const TransportLimits& ours) {
  Encoder e;
  e.UInt32(0);  // protocol version
  e.UInt32(ours.receive_buffer_size);
  e.UInt32(ours.send_buffer_size);
  e.UInt32(ours.max_message_size);
  e.UInt32(ours.max_chunk_count);
  e.String(endpoint_url);
  std::string out;
  AppendHeader(out, "HEL", 'F', static_cast<uint32_t>(kChunkHeaderBytes + e.size()));
  out.append(e.bytes());
  return out;
}

Result<TransportLimits> DecodeAcknowledge(std::string_view body) {
  Decoder d(body, TransportCodecLimits());
  d.UInt32();  // protocol version
  TransportLimits server;
  server.receive_buffer_size = d.UInt32();
  server.send_buffer_size = d.UInt32();
  server.max_message_size = d.UInt32();
  server.max_chunk_count = d.UInt32();
  if (!d.ok()) return Status::InvalidArgument(fmt::format("Acknowledge: {}", d.status().message()));
  // Part 6: buffers smaller than 8192 bytes are not allowed.
  if (server.receive_buffer_size < 8192 || server.send_buffer_size < 8192) {
    return Status::InvalidArgument(fmt::format("Acknowledge: buffer sizes {}/{} below 8192",
                                               server.receive_buffer_size, server.send_buffer_size));
  }
  return server;
}

Status DecodeErrorMessage(std::string_view body) {
  Decoder d(body, TransportCodecLimits());
  const uint32_t error = d.UInt32();
  std::string reason = d.String();
  if (!d.ok()) return Status::Unavailable(fmt::format("server error (malformed: {})", d.status().message()));
  if (reason.empty()) return Status::Unavailable(fmt::format("server error {}", StatusCodeName(error)));
  return Status::Unavailable(fmt::format("server error {}: {}", StatusCodeName(error), reason));
}

Result<ChunkHeader> ParseChunkHeader(std::string_view bytes, uint32_t max_chunk_size) {
  if (bytes.size() < kChunkHeaderBytes) return Status::InvalidArgument("chunk header truncated");
  ChunkHeader h;
  h.type = bytes.substr(0, 3);
  h.chunk_type = bytes[3];
  for (int i = 0; i < 4; ++i) h.size |= uint32_t{static_cast<uint8_t>(bytes[4 + i])} << (8 * i);
  if (h.type != "MSG" && h.type != "OPN" && h.type != "CLO" && h.type != "ACK" && h.type != "ERR" &&
      h.type != "HEL" && h.type != "RHE") {
    return Status::InvalidArgument("unknown message type in chunk header");
  }
  if (h.chunk_type != 'F' && h.chunk_type != 'C' && h.chunk_type != 'A') {
    return Status::InvalidArgument(fmt::format("unknown chunk type 0x{:02x}", static_cast<uint8_t>(h.chunk_type)));
  }
  if (h.size < kChunkHeaderBytes || h.size > max_chunk_size) {
    return Status::InvalidArgument(fmt::format("chunk of {} bytes outside 8..{}", h.size, max_chunk_size));
  }
  return h;
}

Result<SecureChunk> ParseSecureChunk(std::string_view chunk, uint32_t max_string_bytes) {
  DOPPEL_ASSIGN_OR_RETURN(const ChunkHeader h, ParseChunkHeader(chunk, static_cast<uint32_t>(chunk.size())));
  if (h.size != chunk.size()) return Status::InvalidArgument("chunk size disagrees with its header");
  if (h.type != "MSG" && h.type != "OPN" && h.type != "CLO") {
    return Status::InvalidArgument(fmt::format("{} chunk inside a secure channel", h.type));
  }
  const Limits limits{.max_array_length = 0, .max_string_bytes = max_string_bytes};
  Decoder d(chunk.substr(kChunkHeaderBytes), limits);
  SecureChunk c;
  c.type = h.type;
  c.chunk_type = h.chunk_type;
  c.channel_id = d.UInt32();
  if (h.type == "OPN") {
    const std::string_view policy = d.StringView();
    d.StringView();  // sender certificate
    d.StringView();  // receiver certificate thumbprint
    if (d.ok() && policy != kSecurityPolicyNoneUri) {
      return Status::InvalidArgument(fmt::format("OpenSecureChannel answered with security policy '{}'", policy));
    }
  } else {
    c.token_id = d.UInt32();
  }
  c.sequence_number = d.UInt32();
  c.request_id = d.UInt32();
  if (!d.ok()) return Status::InvalidArgument(fmt::format("{} chunk: {}", h.type, d.status().message()));
  c.body = chunk.substr(kChunkHeaderBytes + d.position());
  return c;
}

std::string EncodeSecureMessage(std::string_view type, uint32_t channel_id, uint32_t token_id,
                                uint32_t request_id, std::string_view body, uint32_t max_chunk_size,
                                uint32_t& sequence_number) {
  std::string out;
  Encoder security;
  if (type == "OPN") {
    security.String(kSecurityPolicyNoneUri);
    security.Int32(-1);  // sender certificate
    security.Int32(-1);  // receiver certificate thumbprint
  } else {
    security.UInt32(token_id);
  }
  const std::size_t overhead = kChunkHeaderBytes + 4 + security.size() + 8;
  const std::size_t room = max_chunk_size > overhead + 1 ? max_chunk_size - overhead : 1;
  do {
    const std::string_view piece = body.substr(0, room);
    body.remove_prefix(piece.size());
    Encoder chunk;
    chunk.UInt32(channel_id);
    chunk.Append(security.bytes());
    chunk.UInt32(++sequence_number);
    chunk.UInt32(request_id);
    chunk.Append(piece);
    AppendHeader(out, type, body.empty() ? 'F' : 'C', static_cast<uint32_t>(kChunkHeaderBytes + chunk.size()));
    out.append(chunk.bytes());
  } while (!body.empty());
  return out;
}

Result<std::optional<AssembledMessage>> MessageAssembler::Add(const SecureChunk& chunk) {
  // Sequence numbers rise by one (wrapping below 1024 after passing UInt32 max - 1024).
  if (last_sequence_number_ && chunk.sequence_number != *last_sequence_number_ + 1 &&
      !(*last_sequence_number_ > 0xfffffbff && chunk.sequence_number < 1024)) {
    return Status::InvalidArgument(fmt::format("sequence number {} after {}", chunk.sequence_number,
                                               *last_sequence_number_));
  }
  last_sequence_number_ = chunk.sequence_number;
  auto it = partial_.find(chunk.request_id);
  if (chunk.chunk_type == 'A') {
    if (it != partial_.end()) {
      buffered_ -= it->second.body.size();
      partial_.erase(it);
    }
    AssembledMessage m{.type = std::string(chunk.type), .request_id = chunk.request_id, .body = {}};
    m.abort = DecodeErrorMessage(chunk.body);
    return std::optional<AssembledMessage>(std::move(m));
  }
  Partial& p = it != partial_.end() ? it->second : partial_[chunk.request_id];
  ++p.chunks;
  if (max_chunk_count_ != 0 && p.chunks > max_chunk_count_) {
    return Status::InvalidArgument(fmt::format("message of more than {} chunks", max_chunk_count_));
  }
  if (max_message_bytes_ != 0 && buffered_ + chunk.body.size() > max_message_bytes_) {
    return Status::InvalidArgument(fmt::format("message of more than {} bytes", max_message_bytes_));
  }
  p.body.append(chunk.body);
  buffered_ += chunk.body.size();
  if (chunk.chunk_type == 'C') return std::optional<AssembledMessage>();
  AssembledMessage m{.type = std::string(chunk.type), .request_id = chunk.request_id, .body = std::move(p.body)};
  buffered_ -= m.body.size();
  partial_.erase(chunk.request_id);
  return std::optional<AssembledMessage>(std::move(m));
}

void MessageAssembler::Reset() {
  partial_.clear();
  buffered_ = 0;
  last_sequence_number_.reset();
}

// ---------------------------------------------------------------------------------------------
// UaSocket

UaSocket::~UaSocket() { Close(); }

Status UaSocket::Connect(const EndpointAddress& address, std::chrono::milliseconds timeout) {
  Close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Status::Unavailable(fmt::format("resolve {}: {}", address.host, gai_strerror(rc)));
  }
  Status last = Status::Unavailable(fmt::format("no address for {}", address.host));
  for (addrinfo* ai = found; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last = Errno("socket");
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = Errno(fmt::format("connect {}:{}", address.host, address.port));
      ::close(fd);
      continue;
    }
    pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
    int error = 0;
    socklen_t len = sizeof(error);
    const int ready = poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
      if (ready == 0) errno = ETIMEDOUT;
      else if (error != 0) errno = error;
      last = Errno(fmt::format("connect {}:{}", address.host, address.port));
      ::close(fd);
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fd_ = fd;
  }
  freeaddrinfo(found);
  buffer_.clear();
  return fd_ >= 0 ? Status::Ok() : last;
}

Status UaSocket::Send(std::string_view bytes) {
  std::lock_guard lock(send_mu_);
  while (!bytes.empty()) {
    if (fd_ < 0) return Status::Unavailable("not connected");
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{.fd = fd_, .events = POLLOUT, .revents = 0};
      if (poll(&p, 1, 10'000) <= 0) return Status::Unavailable("send: timed out");
      continue;
    }
    return Errno("send");
  }
  return Status::Ok();
}

Result<std::optional<std::string>> UaSocket::ReadChunk(std::chrono::milliseconds timeout, uint32_t max_chunk_size) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (buffer_.size() >= kChunkHeaderBytes) {
      DOPPEL_ASSIGN_OR_RETURN(const ChunkHeader h, ParseChunkHeader(buffer_, max_chunk_size));
      if (buffer_.size() >= h.size) {
        std::string chunk = buffer_.substr(0, h.size);
        buffer_.erase(0, h.size);
        return std::optional<std::string>(std::move(chunk));
      }
    }
    if (fd_ < 0) return Status::Unavailable("not connected");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::optional<std::string>();
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    const int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) return Errno("poll");
    if (ready <= 0) continue;
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return Status::Unavailable("connection closed by the server");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Errno("recv");
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

void UaSocket::Shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void UaSocket::Close() {
  std::lock_guard lock(send_mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

}  // namespace doppel::connect::opcua::internal
