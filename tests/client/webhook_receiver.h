// A real HTTP receiver on the loopback interface for the webhook tests: a thread that accepts
// one connection at a time, reads one request, records it and answers as its script says —
// a status (with extra header lines), or closing the connection without an answer. Every
// answer carries "Connection: close", so every attempt of the sender is a fresh connection
// and the script's steps map one to one onto attempts.
#pragma once

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace doppel::client::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Reply {
  int status = 200;
  std::string extra_headers = {};  // "Retry-After: 2\r\n"
  bool hang_up = false;            // close the connection without answering
};

class WebhookReceiver {
 public:
  // The last step of `script` repeats once the script has run out.
  explicit WebhookReceiver(std::initializer_list<Reply> script) : script_(script) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 16) != 0) {
      ADD_FAILURE() << "the test receiver cannot listen on 127.0.0.1";
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~WebhookReceiver() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::string Url(const std::string& path = "/hooks/doppel") const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }
  // Replaces the script; its first step answers the next request.
  void SetScript(std::vector<Reply> script) {
    std::lock_guard lock(mu_);
    script_ = std::move(script);
    step_ = 0;
  }
  std::vector<ReceivedRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::size_t count() const {
    std::lock_guard lock(mu_);
    return requests_.size();
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{.fd = listener_, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      Handle(fd);
      ::close(fd);
    }
  }

  // Reads until `done` says the buffer holds enough, the peer closes, or 5 s pass.
  template <typename Done>
  bool ReadUntil(int fd, std::string& buffer, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    char chunk[4096];
    while (!done()) {
      if (stop_ || std::chrono::steady_clock::now() > deadline) return false;
      pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
    return true;
  }

  void Handle(int fd) {
    std::string buffer;
    if (!ReadUntil(fd, buffer, [&] { return buffer.find("\r\n\r\n") != std::string::npos; }))
      return;
    const std::size_t head_end = buffer.find("\r\n\r\n");
    ReceivedRequest request = ParseHead(buffer.substr(0, head_end));
    const std::size_t length = std::stoul(
        request.headers.count("content-length") ? request.headers["content-length"] : "0");
    if (!ReadUntil(fd, buffer, [&] { return buffer.size() >= head_end + 4 + length; })) return;
    request.body = buffer.substr(head_end + 4, length);
    Reply reply;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
      if (!script_.empty()) reply = script_[std::min(step_, script_.size() - 1)];
      ++step_;
    }
    if (reply.hang_up) return;
    const std::string answer =
        fmt::format("HTTP/1.1 {} Scripted\r\nContent-Length: 0\r\nConnection: close\r\n{}\r\n",
                    reply.status, reply.extra_headers);
    (void)!::write(fd, answer.data(), answer.size());
  }

  static ReceivedRequest ParseHead(const std::string& head) {
    ReceivedRequest request;
    std::size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    const std::size_t space = first.find(' ');
    request.method = first.substr(0, space);
    request.target = first.substr(space + 1, first.rfind(' ') - space - 1);
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line =
          head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      std::size_t value_start = line.find_first_not_of(' ', colon + 1);
      request.headers[name] = value_start == std::string::npos ? "" : line.substr(value_start);
    }
    return request;
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Reply> script_;              // guarded by mu_
  std::size_t step_ = 0;                   // guarded by mu_
  std::vector<ReceivedRequest> requests_;  // guarded by mu_
};

}  // namespace doppel::client::testing
