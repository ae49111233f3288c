#include "connect/mqtt/internal/mqtt_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstring>
#include <future>
#include <map>
#include <utility>

namespace doppel::connect::mqtt::internal {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using asio::awaitable;
using asio::use_awaitable;

// The read buffer's first size: room for a few hundred typical telemetry messages per read,
// which is what makes a batch. It grows (up to the packet limit) for larger packets.
constexpr std::size_t kInitialReadBuffer = 256 * 1024;
// How long Stop waits for the DISCONNECT (and the last PUBACKs) to be written.
constexpr std::chrono::seconds kStopGrace{3};

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

// Everything that lives on the client's thread: the io_context, one connection at a time,
// and the reconnect loop. Members are touched only from that thread, except io_ (post) and
// the constructor's setup.
class MqttClient::Session {
 public:
  Session(const MqttClientOptions& options, const MqttClientHandlers& handlers, std::atomic<bool>& connected)
      : options_(options), handlers_(handlers), connected_(connected), aliases_(options.connect.topic_alias_maximum) {}

  Status PrepareTls() {
    if (!options_.tls) return Status::Ok();
    const TlsConfig& tls = *options_.tls;
    const auto fail = [&](std::string_view what, const std::string& file, const boost::system::error_code& ec) {
      return Status::Internal("mqtt connector '" + options_.name + "': tls: cannot use " + std::string(what) + " '" +
                              file + "': " + ec.message());
    };
    ssl_context_.emplace(ssl::context::tls_client);
    ssl_context_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                              ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (ssl_context_->load_verify_file(tls.ca_file, ec); ec) return fail("ca file", tls.ca_file, ec);
    if (!tls.cert_file.empty()) {
      if (ssl_context_->use_certificate_chain_file(tls.cert_file, ec); ec) return fail("cert file", tls.cert_file, ec);
      if (ssl_context_->use_private_key_file(tls.key_file, ssl::context::pem, ec); ec) {
        return fail("key file", tls.key_file, ec);
      }
    }
    ssl_context_->set_verify_mode(ssl::verify_peer);
    return Status::Ok();
  }

  void Run() {
    asio::co_spawn(io_, Loop(), asio::detached);
    io_.run();
  }

  void RequestStop() {
    asio::post(io_, [this] { BeginStop(); });
  }

  Status Publish(std::string topic, std::string payload, std::chrono::milliseconds timeout) {
    auto promise = std::make_shared<std::promise<Status>>();
    std::future<Status> future = promise->get_future();
    asio::post(io_, [this, promise, topic = std::move(topic), payload = std::move(payload)] {
      if (!connacked_ || stopping_) return promise->set_value(Status::Unavailable("mqtt: not connected"));
      if (pending_.size() >= peer_receive_maximum_) {
        return promise->set_value(Status::Unavailable("mqtt: too many publishes awaiting a PUBACK"));
      }
      const uint16_t id = NextPacketId();
      std::string packet = EncodePublish(topic, payload, 1, id);
      if (peer_maximum_packet_size_ > 0 && packet.size() > peer_maximum_packet_size_) {
        return promise->set_value(Status::InvalidArgument("mqtt: the message is over the broker's maximum packet size"));
      }
      pending_.emplace(id, promise);
      Send(std::move(packet));
    });
    if (future.wait_for(timeout) != std::future_status::ready) {
      return Status::Unavailable("mqtt: no PUBACK within " + std::to_string(timeout.count()) + " ms");
    }
    return future.get();
  }

 private:
  // ---- the reconnect loop --------------------------------------------------------------------

  awaitable<void> Loop() {
    std::chrono::seconds backoff = options_.reconnect_min;
    while (!stopping_) {
      error_.clear();
      try {
        co_await Connection();
      } catch (const boost::system::system_error& e) {
        if (error_.empty()) error_ = phase_ + ": " + Describe(e.code());
      } catch (const std::exception& e) {
        if (error_.empty()) error_ = phase_ + ": " + e.what();
      }
      const bool had_session = connacked_;
      Teardown();
      if (stopping_) break;
      if (had_session) backoff = options_.reconnect_min;
      if (handlers_.on_error) handlers_.on_error(error_.empty() ? "connection lost" : error_);
      backoff_timer_.expires_after(backoff);
      boost::system::error_code ec;
      co_await backoff_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
      backoff = std::min(backoff * 2, options_.reconnect_max);
    }
    stop_timer_.cancel();
  }

  // One connection, from resolving the host to the end of the read loop. I/O errors throw
  // (system_error); protocol problems set error_ and return. BeginStop closes the socket, which
  // ends whichever step is waiting.
  awaitable<void> Connection() {
    phase_ = "resolve";
    const auto endpoints =
        co_await resolver_.async_resolve(options_.host, std::to_string(options_.port), use_awaitable);
    // A Stop that ran while we were resolving found no socket to close: look before making one.
    if (stopping_) co_return;
    phase_ = "connect";
    if (ssl_context_) {
      tls_ = std::make_shared<ssl::stream<tcp::socket>>(io_, *ssl_context_);
    } else {
      socket_ = std::make_shared<tcp::socket>(io_);
    }
    co_await asio::async_connect(Lowest(), endpoints, use_awaitable);
    Lowest().set_option(tcp::no_delay(true));
    if (tls_) {
      phase_ = "tls handshake";
      if (!IsIpAddress(options_.host)) SSL_set_tlsext_host_name(tls_->native_handle(), options_.host.c_str());
      if (!options_.tls->insecure) tls_->set_verify_callback(ssl::host_name_verification(options_.host));
      co_await tls_->async_handshake(ssl::stream_base::client, use_awaitable);
    }
    phase_ = "connection lost";
    open_ = true;
    keep_alive_ = std::chrono::seconds(options_.connect.keep_alive_seconds);
    last_received_ = Clock::now();
    Send(EncodeConnect(options_.connect));
    asio::co_spawn(io_, KeepAlive(generation_), asio::detached);
    co_await ReadLoop();
  }

  void Teardown() {
    ++generation_;  // late completions of this connection's writes see they are stale
    CloseSocket();
    open_ = false;
    ping_timer_.cancel();
    socket_.reset();  // a pending write's handler keeps its own reference
    tls_.reset();
    out_.clear();
    writing_ = false;
    close_after_flush_ = false;
    if (connacked_) connected_ = false;
    connacked_ = false;
    aliases_ = TopicAliases(options_.connect.topic_alias_maximum);
    for (auto& [id, promise] : pending_) {
      promise->set_value(Status::Unavailable("mqtt: the connection dropped before the PUBACK"));
    }
    pending_.clear();
  }

  void BeginStop() {
    stopping_ = true;
    backoff_timer_.cancel();
    resolver_.cancel();
    if (connacked_ && open_) {
      // After the PUBACKs already queued: the batch in hand was handled before this ran.
      close_after_flush_ = true;
      Send(EncodeDisconnect());
      stop_timer_.expires_after(kStopGrace);
      stop_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) CloseSocket();
      });
    } else {
      CloseSocket();
    }
  }

  // ---- reading -------------------------------------------------------------------------------

  awaitable<void> ReadLoop() {
    const FrameReader frames(options_.max_packet_size);
    if (read_buffer_.size() < kInitialReadBuffer) read_buffer_.resize(kInitialReadBuffer);
    std::size_t end = 0;  // bytes [0, end) are read and not yet consumed
    while (true) {
      const std::size_t n = co_await ReadSome(asio::buffer(read_buffer_.data() + end, read_buffer_.size() - end));
      end += n;
      last_received_ = Clock::now();
      // Stopping: the DISCONNECT is queued, so what arrives now is not handed over nor
      // acknowledged; the broker sends it to the next session.
      if (stopping_) {
        end = 0;
        continue;
      }
      std::size_t consumed = 0;
      if (Status s = HandleBytes(frames, std::string_view(read_buffer_.data(), end), consumed); !s.ok()) {
        if (s.code() == StatusCode::kInvalidArgument) co_await ProtocolFailure(s);
        if (error_.empty()) error_ = s.message();
        co_return;
      }
      std::memmove(read_buffer_.data(), read_buffer_.data() + consumed, end - consumed);
      end -= consumed;
      // A packet larger than the buffer: grow it (FrameReader refuses one over the limit).
      if (end == read_buffer_.size()) read_buffer_.resize(read_buffer_.size() * 2);
    }
  }

  awaitable<std::size_t> ReadSome(asio::mutable_buffer buffer) {
    if (tls_) co_return co_await tls_->async_read_some(buffer, use_awaitable);
    co_return co_await socket_->async_read_some(buffer, use_awaitable);
  }

  // The complete packets at the front of `bytes`: PUBLISHes are collected and handed over in
  // one batch, then acknowledged together. `consumed` is how far it got.
  Status HandleBytes(const FrameReader& frames, std::string_view bytes, std::size_t& consumed) {
    batch_.clear();
    ack_ids_.clear();
    while (true) {
      DOPPEL_ASSIGN_OR_RETURN(std::optional<Frame> frame, frames.Next(bytes.substr(consumed)));
      if (!frame) break;
      consumed += frame->size;
      DOPPEL_RETURN_IF_ERROR(HandlePacket(*frame));
    }
    if (batch_.empty()) return Status::Ok();
    if (handlers_.on_batch) handlers_.on_batch(batch_);
    // Only now: the batch is durable (or refused for good), so the broker may forget it.
    std::string acks;
    acks.reserve(ack_ids_.size() * 4);
    for (uint16_t id : ack_ids_) AppendPuback(acks, id);
    if (!acks.empty()) Send(std::move(acks));
    return Status::Ok();
  }

  // Errors: InvalidArgument for a protocol violation (we send DISCONNECT with its reason),
  // Unavailable for the end of the connection the broker chose (refused, DISCONNECT).
  Status HandlePacket(const Frame& frame) {
    if (!connacked_ && frame.type != PacketType::kConnack) {
      return Status::InvalidArgument("protocol error: packet type " + std::to_string(static_cast<int>(frame.type)) +
                                         " before CONNACK",
                                     std::to_string(kReasonProtocolError));
    }
    switch (frame.type) {
      case PacketType::kConnack: return HandleConnack(frame);
      case PacketType::kPublish: return HandlePublish(frame);
      case PacketType::kPuback: return HandlePuback(frame);
      case PacketType::kSuback: return HandleSuback(frame);
      case PacketType::kPingresp: return DecodePingresp(frame.flags, frame.body);
      case PacketType::kDisconnect: {
        DOPPEL_ASSIGN_OR_RETURN(Disconnect d, DecodeDisconnect(frame.flags, frame.body));
        return Status::Unavailable("disconnected by the broker: " + ReasonCodeText(d.reason_code) +
                                   (d.reason_string.empty() ? "" : " (" + d.reason_string + ")"));
      }
      default:
        return Status::InvalidArgument(
            "protocol error: unexpected packet type " + std::to_string(static_cast<int>(frame.type)),
            std::to_string(kReasonProtocolError));
    }
  }

  Status HandleConnack(const Frame& frame) {
    if (connacked_) return Status::InvalidArgument("protocol error: a second CONNACK", std::to_string(kReasonProtocolError));
    DOPPEL_ASSIGN_OR_RETURN(Connack c, DecodeConnack(frame.flags, frame.body));
    if (c.reason_code >= 0x80) {
      return Status::Unavailable("refused: " + ReasonCodeText(c.reason_code) +
                                 (c.reason_string.empty() ? "" : " (" + c.reason_string + ")"));
    }
    connacked_ = true;
    connected_ = true;
    if (c.server_keep_alive) keep_alive_ = std::chrono::seconds(*c.server_keep_alive);
    peer_receive_maximum_ = c.receive_maximum;
    peer_maximum_packet_size_ = c.maximum_packet_size;
    if (handlers_.on_connected) handlers_.on_connected(c.session_present);
    // Subscribing again on every connect is harmless for a persistent session and necessary
    // when the broker lost it (clean start, a broker without persistence).
    if (options_.subscriptions.empty()) {  // a publisher only: SUBSCRIBE needs a filter
      if (handlers_.on_subscribed) handlers_.on_subscribed();
      return Status::Ok();
    }
    subscribe_id_ = NextPacketId();
    Send(EncodeSubscribe(subscribe_id_, options_.subscriptions));
    return Status::Ok();
  }

  Status HandlePublish(const Frame& frame) {
    DOPPEL_ASSIGN_OR_RETURN(internal::Publish p, DecodePublish(frame.flags, frame.body));
    DOPPEL_ASSIGN_OR_RETURN(std::string_view topic, aliases_.Resolve(p));
    batch_.push_back({std::string(topic), p.payload, p.qos});
    if (p.qos == 1) ack_ids_.push_back(p.packet_id);
    return Status::Ok();
  }

  Status HandlePuback(const Frame& frame) {
    DOPPEL_ASSIGN_OR_RETURN(Puback a, DecodePuback(frame.flags, frame.body));
    auto it = pending_.find(a.packet_id);
    if (it == pending_.end()) return Status::Ok();  // answered after a timeout, or a duplicate
    it->second->set_value(a.reason_code < 0x80 ? Status::Ok()
                                               : Status::Internal("mqtt: the broker refused the message: " +
                                                                  ReasonCodeText(a.reason_code)));
    pending_.erase(it);
    return Status::Ok();
  }

  Status HandleSuback(const Frame& frame) {
    DOPPEL_ASSIGN_OR_RETURN(Suback s, DecodeSuback(frame.flags, frame.body));
    if (s.packet_id != subscribe_id_ || s.reason_codes.size() != options_.subscriptions.size()) {
      return Status::InvalidArgument("protocol error: a SUBACK that does not answer our SUBSCRIBE",
                                     std::to_string(kReasonProtocolError));
    }
    std::string refused;
    for (std::size_t i = 0; i < s.reason_codes.size(); ++i) {
      const SubscribeRequest& request = options_.subscriptions[i];
      if (s.reason_codes[i] >= 0x80) {
        refused += (refused.empty() ? "" : ", ") + ("'" + request.filter + "' (" + ReasonCodeText(s.reason_codes[i]) + ")");
      } else if (s.reason_codes[i] < request.qos) {
        spdlog::warn("mqtt connector '{}': the broker granted QoS {} only for '{}'; messages may be lost while away",
                     options_.name, s.reason_codes[i], request.filter);
      }
    }
    if (!refused.empty()) {
      if (handlers_.on_error) handlers_.on_error("subscription refused: " + refused);
    } else if (handlers_.on_subscribed) {
      handlers_.on_subscribed();
    }
    return Status::Ok();
  }

  // A malformed or forbidden packet: say why in a DISCONNECT (§4.13), then the connection ends.
  awaitable<void> ProtocolFailure(const Status& s) {
    error_ = s.message();
    spdlog::warn("mqtt connector '{}': {}; disconnecting", options_.name, s.message());
    if (!open_) co_return;
    Send(EncodeDisconnect(DisconnectReasonOf(s)));
    if (!writing_) co_return;
    flush_timer_.expires_after(kStopGrace);
    boost::system::error_code ec;
    co_await flush_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }

  // ---- keep alive ----------------------------------------------------------------------------

  // PINGREQ when nothing was sent for half the keep alive; give up on a broker silent for 1.5.
  // Also bounds the wait for CONNACK. Ends with its connection (generation).
  awaitable<void> KeepAlive(uint64_t generation) {
    while (generation == generation_ && !stopping_) {
      const std::chrono::seconds keep_alive = keep_alive_.count() > 0 ? keep_alive_ : std::chrono::seconds(30);
      ping_timer_.expires_after(std::chrono::milliseconds(keep_alive) / 2);
      boost::system::error_code ec;
      co_await ping_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
      if (generation != generation_ || stopping_) co_return;
      const Clock::time_point now = Clock::now();
      if ((!connacked_ || keep_alive_.count() > 0) && now - last_received_ > keep_alive * 3 / 2) {
        error_ = connacked_ ? "keep alive timeout: nothing from the broker for " +
                                  std::to_string((keep_alive * 3 / 2).count()) + " s"
                            : "no CONNACK from the broker";
        CloseSocket();
        co_return;
      }
      if (connacked_ && keep_alive_.count() > 0 && now - last_sent_ >= keep_alive / 2) Send(EncodePingreq());
    }
  }

  // ---- writing -------------------------------------------------------------------------------

  // Queues `bytes`; one write at a time, so what is queued meanwhile leaves in the next one.
  void Send(std::string bytes) {
    if (!open_) return;
    out_ += bytes;
    last_sent_ = Clock::now();
    if (!writing_) WriteNext();
  }

  void WriteNext() {
    if (out_.empty() || !open_) {
      writing_ = false;
      flush_timer_.cancel();
      if (close_after_flush_) EndSending();
      return;
    }
    writing_ = true;
    auto buffer = std::make_shared<std::string>(std::move(out_));
    out_.clear();
    const auto done = [this, buffer, generation = generation_, socket = socket_, tls = tls_](
                          const boost::system::error_code& ec, std::size_t) {
      if (generation != generation_) return;
      if (ec) {
        writing_ = false;
        if (error_.empty()) error_ = "connection lost: write: " + Describe(ec);
        CloseSocket();
        return;
      }
      WriteNext();
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(*buffer), done);
    } else {
      asio::async_write(*socket_, asio::buffer(*buffer), done);
    }
  }

  tcp::socket& Lowest() { return tls_ ? tls_->next_layer() : *socket_; }

  // Stopping, with the DISCONNECT written: half-close and let the read loop drain until the
  // broker closes (the stop timer closes after kStopGrace otherwise). Closing at once with
  // unread bytes in our receive buffer would send an RST, and a broker that had not yet read
  // our last PUBACKs would lose them with it — and deliver those messages again.
  void EndSending() {
    boost::system::error_code ec;
    Lowest().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) CloseSocket();
  }

  void CloseSocket() {
    boost::system::error_code ec;
    if (tls_) tls_->next_layer().close(ec);
    if (socket_) socket_->close(ec);
  }

  uint16_t NextPacketId() {
    do {
      ++next_packet_id_;
    } while (next_packet_id_ == 0 || pending_.contains(next_packet_id_));
    return next_packet_id_;
  }

  // An I/O error in words, with OpenSSL's certificate verdict when that was the cause.
  std::string Describe(const boost::system::error_code& ec) {
    std::string text = ec.message();
    if (tls_ && ec.category() == asio::error::get_ssl_category()) {
      const long verdict = SSL_get_verify_result(tls_->native_handle());
      if (verdict != X509_V_OK) text += " (" + std::string(X509_verify_cert_error_string(verdict)) + ")";
    }
    return text;
  }

  const MqttClientOptions& options_;
  const MqttClientHandlers& handlers_;
  std::atomic<bool>& connected_;

  asio::io_context io_;
  std::optional<ssl::context> ssl_context_;
  tcp::resolver resolver_{io_};
  asio::steady_timer backoff_timer_{io_};
  asio::steady_timer ping_timer_{io_};
  asio::steady_timer flush_timer_{io_};
  asio::steady_timer stop_timer_{io_};

  // The current connection: one of the two streams.
  std::shared_ptr<tcp::socket> socket_;
  std::shared_ptr<ssl::stream<tcp::socket>> tls_;
  uint64_t generation_ = 0;
  bool open_ = false;       // connected (and handshaken) until the connection ends
  bool connacked_ = false;  // CONNACK success on this connection
  bool stopping_ = false;
  std::string phase_ = "connect";
  std::string error_;  // why this connection ended, when known before the I/O error
  std::chrono::seconds keep_alive_{0};
  Clock::time_point last_received_;
  Clock::time_point last_sent_;
  uint16_t peer_receive_maximum_ = 65535;
  uint32_t peer_maximum_packet_size_ = 0;
  TopicAliases aliases_;
  uint16_t subscribe_id_ = 0;
  uint16_t next_packet_id_ = 0;
  std::map<uint16_t, std::shared_ptr<std::promise<Status>>> pending_;  // our publishes awaiting PUBACK

  std::vector<char> read_buffer_;
  std::vector<InboundMessage> batch_;
  std::vector<uint16_t> ack_ids_;
  std::string out_;  // queued behind the write in progress
  bool writing_ = false;
  bool close_after_flush_ = false;
};

MqttClient::MqttClient(MqttClientOptions options, MqttClientHandlers handlers)
    : options_(std::move(options)), handlers_(std::move(handlers)) {}

MqttClient::~MqttClient() { Stop(); }

Status MqttClient::Start() {
  if (thread_.joinable()) return Status::Conflict("mqtt client '" + options_.name + "' is already started");
  session_ = std::make_unique<Session>(options_, handlers_, connected_);
  if (Status s = session_->PrepareTls(); !s.ok()) {
    session_.reset();
    return s;
  }
  thread_ = std::thread([this] { session_->Run(); });
  return Status::Ok();
}

void MqttClient::Stop() {
  if (!thread_.joinable()) return;
  session_->RequestStop();
  thread_.join();
  session_.reset();
  connected_ = false;
}

Status MqttClient::Publish(std::string topic, std::string payload, std::chrono::milliseconds timeout) {
  if (!thread_.joinable()) return Status::Unavailable("mqtt: the client is not started");
  return session_->Publish(std::move(topic), std::move(payload), timeout);
}

}  // namespace doppel::connect::mqtt::internal
