// Test support: the real doppel binary as a child process, and scratch directories.
//
// ServerProcess starts `doppel serve --listen 127.0.0.1:0 --data-dir DIR`, reads the port the
// server actually bound from its "doppel listening on http://HOST:PORT" line, and kills the
// child when it goes out of scope, so a failing test never leaves a server behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace doppel::testing {

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path()/name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `content` to `path` (creating parent directories).
void WriteFile(const std::string& path, const std::string& content);

class ServerProcess {
 public:
  // Starts the server on a free loopback port over `data_dir` with `extra_args` appended.
  // Errors: Unavailable (with everything the child printed) if it exits or stays silent for
  // `startup_timeout`.
  static Result<std::unique_ptr<ServerProcess>> Start(
      const std::string& data_dir, const std::vector<std::string>& extra_args = {},
      std::chrono::seconds startup_timeout = std::chrono::seconds(60));
  ~ServerProcess();  // SIGKILLs a child still running and reaps it
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  const std::string& url() const { return url_; }
  pid_t pid() const { return pid_; }

  // SIGKILL, then reap: the kill -9 of the durability tests.
  void Kill();
  // SIGTERM, then wait up to `timeout`; returns the exit status (128+signal when killed by a
  // signal), or Unavailable if it did not exit in time (it is then SIGKILLed).
  Result<int> Stop(std::chrono::seconds timeout = std::chrono::seconds(30));

  // Everything the server printed so far (stdout and stderr), for failure messages.
  std::string Output() const;

 private:
  ServerProcess() = default;
  void Drain();

  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::string url_;
  std::thread drainer_;
  mutable std::mutex mu_;
  std::string output_;  // guarded by mu_
};

// What a finished command printed and how it ended.
struct CommandResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs DOPPEL_BINARY with `args` (and `env` added to the environment, "NAME=value"), feeding
// `input` on stdin; kills it after `timeout`.
CommandResult RunDoppel(const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {}, const std::string& input = "",
                        std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace doppel::testing
