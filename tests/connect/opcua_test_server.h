// Test support for the OPC UA client tests: the node-opcua test machine (tests/opcua/server.mjs)
// as a child process. Start() waits for its "listening <url>" line; the destructor kills it.
//
//   auto server = OpcUaTestServer::Start().value();
//   OpcUaClient client({.endpoint = server->url()});
//   server->Kill();                       // the connection drops
//   server = OpcUaTestServer::Start(port)  // the same port again
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"

namespace doppel::testing {

class OpcUaTestServer {
 public:
  // Unavailable when node or the server's packages are missing, or it did not start in 60 s.
  static Result<std::unique_ptr<OpcUaTestServer>> Start(int port = 0) {
    int out[2], in[2];
    if (pipe(out) != 0 || pipe(in) != 0) return Status::Internal("pipe failed");
    const std::string script = std::string(DOPPEL_SOURCE_DIR) + "/tests/opcua/server.mjs";
    const std::string port_text = std::to_string(port);
    const pid_t pid = fork();
    if (pid < 0) return Status::Internal("fork failed");
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(in[0], STDIN_FILENO);
      close(out[0]);
      close(in[1]);
      execlp("node", "node", script.c_str(), port_text.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    close(in[0]);
    std::unique_ptr<OpcUaTestServer> server(new OpcUaTestServer(pid, out[0], in[1]));
    if (!server->WaitListening()) return Status::Unavailable("node-opcua test server did not start");
    return server;
  }

  ~OpcUaTestServer() { Kill(); }

  const std::string& url() const { return url_; }
  int port() const { return std::stoi(url_.substr(url_.rfind(':') + 1)); }

  // A line on the server's stdin ("bad", "good"), answered by "ok <command>".
  bool Command(const std::string& command) {
    const std::string line = command + "\n";
    if (write(stdin_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return false;
    return ReadLineStartingWith("ok " + command, std::chrono::seconds(10)).has_value();
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    close(stdout_);
    close(stdin_);
  }

 private:
  OpcUaTestServer(pid_t pid, int out, int in) : pid_(pid), stdout_(out), stdin_(in) {}

  bool WaitListening() {
    auto line = ReadLineStartingWith("listening ", std::chrono::seconds(60));
    if (!line) return false;
    url_ = line->substr(10);
    return true;
  }

  std::optional<std::string> ReadLineStartingWith(const std::string& prefix, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (std::size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (line.rfind(prefix, 0) == 0) return line;
      }
      pollfd p{.fd = stdout_, .events = POLLIN, .revents = 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(stdout_, buf, sizeof(buf));
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
    return std::nullopt;
  }

  pid_t pid_;
  int stdout_;
  int stdin_;
  std::string buffer_;
  std::string url_;
};

}  // namespace doppel::testing
