#include "server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace doppel::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A child that exits while we still write to its stdin must not take the test binary down
// with SIGPIPE; the failed write is handled where it happens.
const bool kSigpipeIgnored = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The environment with `extra` ("NAME=value") added or overriding.
std::vector<std::string> Environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    bool overridden = false;
    for (const auto& x : extra) {
      if (entry.substr(0, entry.find('=') + 1) == x.substr(0, x.find('=') + 1)) overridden = true;
    }
    if (!overridden) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

// Forks and execs `argv` with the given fds as stdin/stdout/stderr (-1 = /dev/null for
// stdin, inherit for the others). The child dies with the test process (PDEATHSIG).
pid_t Spawn(std::vector<std::string> argv, std::vector<std::string> env, int in_fd, int out_fd,
            int err_fd) {
  auto c_argv = CStrings(argv);
  auto c_env = CStrings(env);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls from here on.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  if (in_fd < 0) in_fd = open("/dev/null", O_RDONLY);
  dup2(in_fd, 0);
  if (out_fd >= 0) dup2(out_fd, 1);
  if (err_fd >= 0) dup2(err_fd, 2);
  execve(c_argv[0], c_argv.data(), c_env.data());
  _exit(127);
}

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace

TempDir::TempDir() {
  char pattern[] = "/tmp/doppel-it-XXXXXX";
  if (!mkdtemp(pattern)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

Result<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::string& data_dir, const std::vector<std::string>& extra_args,
    std::chrono::seconds startup_timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Internal("pipe2 failed");
  std::vector<std::string> argv = {DOPPEL_BINARY, "serve",      "--listen",
                                   "127.0.0.1:0", "--data-dir", data_dir};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  server->pid_ = Spawn(argv, Environment({}), -1, fds[1], fds[1]);
  close(fds[1]);
  server->output_fd_ = fds[0];
  if (server->pid_ < 0) return Status::Internal("fork failed");

  // Read until the listening line; the drainer takes over afterwards so the server never
  // blocks on a full pipe.
  constexpr std::string_view kMarker = "listening on http://";
  auto deadline = Clock::now() + startup_timeout;
  std::string seen;
  for (;;) {
    auto pos = seen.find(kMarker);
    auto eol = pos == std::string::npos ? std::string::npos : seen.find('\n', pos);
    if (eol != std::string::npos) {
      std::string address = seen.substr(pos + kMarker.size(), eol - pos - kMarker.size());
      while (!address.empty() && (address.back() == '\r' || address.back() == ' '))
        address.pop_back();
      server->url_ = "http://" + address;
      break;
    }
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{server->output_fd_, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
      return Status::Unavailable("server printed no listening line in time; output:\n" + seen);
    }
    char buf[4096];
    ssize_t n = read(server->output_fd_, buf, sizeof buf);
    if (n <= 0) return Status::Unavailable("server exited before listening; output:\n" + seen);
    seen.append(buf, static_cast<std::size_t>(n));
  }
  server->output_ = seen;
  server->drainer_ = std::thread([s = server.get()] { s->Drain(); });
  return server;
}

void ServerProcess::Drain() {
  char buf[4096];
  for (;;) {
    ssize_t n = read(output_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    std::lock_guard lock(mu_);
    output_.append(buf, static_cast<std::size_t>(n));
  }
}

std::string ServerProcess::Output() const {
  std::lock_guard lock(mu_);
  return output_;
}

void ServerProcess::Kill() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (drainer_.joinable()) drainer_.join();
}

Result<int> ServerProcess::Stop(std::chrono::seconds timeout) {
  if (pid_ <= 0) return Status::Unavailable("server not running");
  kill(pid_, SIGTERM);
  auto deadline = Clock::now() + timeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      Kill();
      return Status::Unavailable("server did not stop within the timeout after SIGTERM");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  if (drainer_.joinable()) drainer_.join();
  return ExitCode(status);
}

ServerProcess::~ServerProcess() {
  Kill();
  if (output_fd_ >= 0) close(output_fd_);
}

CommandResult RunDoppel(const std::vector<std::string>& args, const std::vector<std::string>& env,
                        const std::string& input, std::chrono::seconds timeout) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    return {};
  std::vector<std::string> argv = {DOPPEL_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = Spawn(argv, Environment(env), in[0], out[1], err[1]);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  CommandResult result;
  std::size_t written = 0;
  int stdin_fd = in[1];
  if (input.empty()) {
    close(stdin_fd);
    stdin_fd = -1;
  }
  auto deadline = Clock::now() + timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0},
                     {err_open ? err[0] : -1, POLLIN, 0},
                     {stdin_fd, POLLOUT, 0}};
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 3, static_cast<int>(left)) < 0 && errno != EINTR) break;
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
      } else {
        (i == 0 ? out_open : err_open) = false;
      }
    }
    if (stdin_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(stdin_fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n <= 0 || written == input.size()) {
        close(stdin_fd);
        stdin_fd = -1;
      }
    }
  }
  if (stdin_fd >= 0) close(stdin_fd);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = ExitCode(status);
  return result;
}

}  // namespace doppel::testing
