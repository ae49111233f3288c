// Test support: a real Mosquitto broker (/usr/sbin/mosquitto from Debian) as a child process on a
// free loopback port, with persistence in a scratch directory so that a restart keeps the
// persistent sessions and their queued QoS 1 messages. Header-only, so any test binary can use
// it without a library of its own.
//
//   auto broker = doppel::testing::MosquittoBroker::Start().value();   // waits until it accepts
//   std::string url = broker->url();          // "mqtt://127.0.0.1:41234"
//   ASSERT_TRUE(broker->Restart().ok());      // SIGTERM (saves its DB), start again, same port
//   // ~MosquittoBroker: SIGKILL if still running, reap, remove the scratch directory
//
// The broker's own log is in dir()/mosquitto.log (Log() returns it, for failure messages).
// Not thread-safe: drive one broker from one test thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "base/status.h"

namespace doppel::testing {

struct MosquittoBrokerOptions {
  std::string binary = "/usr/sbin/mosquitto";
  // Appended to the generated config (e.g. "password_file /path\n", a TLS listener).
  std::string extra_config;
  // allow_anonymous; set false together with a password_file in extra_config.
  bool allow_anonymous = true;
  // How long Start/Restart wait for the broker to accept connections.
  std::chrono::seconds startup_timeout{20};
};

class MosquittoBroker {
 public:
  // Starts a broker on a free 127.0.0.1 port. Errors: Unavailable with the broker's log if it
  // exits or does not accept connections within the timeout; Internal for local failures.
  static Result<std::unique_ptr<MosquittoBroker>> Start(MosquittoBrokerOptions options = {}) {
    std::unique_ptr<MosquittoBroker> broker(new MosquittoBroker(std::move(options)));
    if (broker->dir_.empty()) return Status::Internal("mosquitto broker: cannot create a scratch directory");
    // The port is free when we look; another process could take it before the broker binds,
    // so try a few ports before giving up.
    Status last = Status::Internal("mosquitto broker: no free port");
    for (int attempt = 0; attempt < 5; ++attempt) {
      broker->port_ = FreeLoopbackPort();
      if (broker->port_ == 0) continue;
      last = broker->Launch();
      if (last.ok()) return broker;
    }
    return last;
  }

  ~MosquittoBroker() {
    Kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  int port() const { return port_; }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }

  // Graceful stop (SIGTERM): the broker writes its persistence file, then exits. Waits up to
  // 20 s, then SIGKILLs. OK if it was not running.
  Status Stop() {
    if (pid_ <= 0) return Status::Ok();
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return Status::Ok();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill();
    return Status::Unavailable("mosquitto broker did not stop within 20 s after SIGTERM; killed");
  }

  // SIGKILL and reap (what it has not autosaved is lost: autosave_interval is 1 s).
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Stop, then start again on the same port with the same persistence directory.
  Status Restart() {
    DOPPEL_RETURN_IF_ERROR(Stop());
    return Launch();
  }
  // Start again after Stop/Kill (same port, same persistence).
  Status Resume() { return pid_ > 0 ? Status::Ok() : Launch(); }

  std::string Log() const {
    std::ifstream in(dir_ + "/mosquitto.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  explicit MosquittoBroker(MosquittoBrokerOptions options) : options_(std::move(options)) {
    std::string pattern = (std::filesystem::temp_directory_path() / "doppel-mosquitto-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
  }

  static int FreeLoopbackPort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
  }

  bool AcceptsConnections() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
  }

  Status WriteConfig() const {
    std::ofstream out(dir_ + "/mosquitto.conf", std::ios::trunc);
    out << "listener " << port_ << " 127.0.0.1\n"
        << "allow_anonymous " << (options_.allow_anonymous ? "true" : "false") << "\n"
        << "persistence true\n"
        << "persistence_location " << dir_ << "/\n"
        // Persist often so even a SIGKILLed broker loses little; a SIGTERM always saves.
        << "autosave_interval 1\n"
        // The default (1000) silently drops messages queued for an offline persistent client
        // past that count; tests stream more than that while Doppel is down.
        << "max_queued_messages 0\n"
        << "log_dest file " << dir_ << "/mosquitto.log\n"
        << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        << "connection_messages true\n";
    // As root, mosquitto would switch to the "mosquitto" user, who cannot write our directory.
    if (::geteuid() == 0) out << "user root\n";
    out << options_.extra_config;
    out.close();
    if (!out) return Status::Internal("mosquitto broker: cannot write " + dir_ + "/mosquitto.conf");
    return Status::Ok();
  }

  Status Launch() {
    DOPPEL_RETURN_IF_ERROR(WriteConfig());
    // Everything the child needs is prepared before fork: other threads may hold locks.
    const std::string config = dir_ + "/mosquitto.conf";
    const std::string stderr_log = dir_ + "/stderr.log";
    pid_t pid = ::fork();
    if (pid < 0) return Status::Internal("mosquitto broker: fork failed");
    if (pid == 0) {
      int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(null_fd, STDOUT_FILENO);
      }
      int log_fd = ::open(stderr_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log_fd >= 0) ::dup2(log_fd, STDERR_FILENO);
      ::execl(options_.binary.c_str(), options_.binary.c_str(), "-c", config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + options_.startup_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return Status::Unavailable("mosquitto broker exited at start on port " + std::to_string(port_) + ": " + Log() +
                                   ReadFile(dir_ + "/stderr.log"));
      }
      if (AcceptsConnections()) return Status::Ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill();
    return Status::Unavailable("mosquitto broker did not accept connections on port " + std::to_string(port_) + ": " +
                               Log());
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  MosquittoBrokerOptions options_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace doppel::testing
