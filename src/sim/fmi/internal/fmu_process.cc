#include "sim/fmi/internal/fmu_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

extern char** environ;

namespace doppel::sim::fmi::internal {
namespace {

constexpr int kChildFd = 3;
// How long a child whose socket closed gets to finish dying before we kill it; long enough
// for the kernel to deliver the signal that ended it, so the message can name that signal.
constexpr std::chrono::milliseconds kExitGrace{2000};

// Waits for `pid` to exit for at most `limit`; its wait status, or nullopt if still running.
// ECHILD (somebody else reaped it, e.g. SIGCHLD ignored) counts as exited with status 0.
std::optional<int> WaitForExit(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return 0;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string DescribeExit(std::string_view fmu, std::string_view operation, int status) {
  if (WIFSIGNALED(status)) {
    int signal = WTERMSIG(status);
    const char* description = ::sigdescr_np(signal);
    return fmt::format("FMU '{}' crashed in {} (signal {}, {})", fmu, operation, signal,
                       description ? description : "unknown signal");
  }
  if (WIFEXITED(status))
    return fmt::format("FMU '{}' host exited with code {} during {}", fmu, WEXITSTATUS(status),
                       operation);
  return fmt::format("FMU '{}' host ended during {}", fmu, operation);
}

// The spawn attributes: default signal dispositions and an empty mask whatever the server set,
// in a process group of its own so a terminal's Ctrl-C reaches the server, which then decides.
struct SpawnAttributes {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnAttributes(int child_fd) {
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigfillset(&defaults);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, 2, 1);
    posix_spawn_file_actions_adddup2(&actions, child_fd, kChildFd);
  }
  ~SpawnAttributes() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

FmuProcess::FmuProcess(pid_t pid, int fd, std::string fmu_name, std::chrono::milliseconds timeout)
    : pid_(pid), fd_(fd), fmu_name_(std::move(fmu_name)), timeout_(timeout) {}

Result<std::unique_ptr<FmuProcess>> FmuProcess::Spawn(const FmuHostOptions& options,
                                                      std::string fmu_name) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return Status::Internal(fmt::format("socketpair: {}", std::strerror(errno)));
  // dup2 onto itself would keep close-on-exec set, so the child's end must not already be 3.
  int child_fd = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
  ::close(fds[1]);
  if (child_fd < 0) {
    ::close(fds[0]);
    return Status::Internal(fmt::format("fcntl: {}", std::strerror(errno)));
  }
  std::string executable = options.executable.empty() ? "/proc/self/exe" : options.executable;
  std::vector<std::string> args = {executable};
  args.insert(args.end(), options.arguments.begin(), options.arguments.end());
  args.insert(args.end(), {"--fd", std::to_string(kChildFd)});
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_t pid = 0;
  int error = 0;
  {
    SpawnAttributes spawn(child_fd);
    error =
        ::posix_spawn(&pid, executable.c_str(), &spawn.actions, &spawn.attr, argv.data(), environ);
  }
  ::close(child_fd);
  if (error != 0) {
    ::close(fds[0]);
    return Status::Internal(
        fmt::format("cannot start the FMU host {}: {}", executable, std::strerror(error)));
  }
  return std::unique_ptr<FmuProcess>(
      new FmuProcess(pid, fds[0], std::move(fmu_name), options.call_timeout));
}

FmuProcess::~FmuProcess() {
  KillAndReap();
  if (fd_ >= 0) ::close(fd_);
}

void FmuProcess::KillAndReap() {
  if (!alive_) return;
  alive_ = false;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

Status FmuProcess::Bury(std::string_view operation, IoError error) {
  if (error == IoError::kTimeout) {
    KillAndReap();
    death_ = Status::Internal(fmt::format("FMU '{}' did not finish {} within {} ms (killed)",
                                          fmu_name_, operation, timeout_.count()));
  } else if (auto status = WaitForExit(pid_, kExitGrace)) {
    alive_ = false;
    death_ = Status::Internal(DescribeExit(fmu_name_, operation, *status));
  } else {
    KillAndReap();
    death_ =
        Status::Internal(error == IoError::kMalformed
                             ? fmt::format("FMU '{}' host broke the protocol during {} (killed)",
                                           fmu_name_, operation)
                             : fmt::format("FMU '{}' host stopped answering during {} (killed)",
                                           fmu_name_, operation));
  }
  ::close(fd_);
  fd_ = -1;
  return death_;
}

Result<std::string> FmuProcess::Call(std::string_view operation, std::string_view frame) {
  std::lock_guard lock(mu_);
  return CallLocked(operation, frame);
}

Result<std::string> FmuProcess::CallLocked(std::string_view operation, std::string_view frame) {
  if (!alive_ || fd_ < 0) return death_.ok() ? Status::Internal("FMU host is gone") : death_;
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  if (IoError e = SendAll(fd_, frame, deadline); e != IoError::kNone) return Bury(operation, e);
  std::string body;
  if (IoError e = ReceiveFrame(fd_, body, deadline); e != IoError::kNone) return Bury(operation, e);
  FrameReader reply(body);
  if (reply.type() == MessageType::kOk) return body;
  if (reply.type() != MessageType::kError) return Bury(operation, IoError::kMalformed);
  auto kind = static_cast<ErrorKind>(reply.U8());
  std::string message = fmt::format("FMU '{}' {} failed: {}", fmu_name_, operation, reply.Bytes());
  if (kind == ErrorKind::kBadFmu) return Status::InvalidArgument(std::move(message));
  return Status::Internal(std::move(message));
}

void FmuProcess::Shutdown() {
  std::lock_guard lock(mu_);
  if (!alive_ || fd_ < 0) return;
  if (CallLocked("terminate", FrameWriter(MessageType::kTerminate).Finish()).ok()) {
    ::close(fd_);
    fd_ = -1;
    if (WaitForExit(pid_, timeout_)) {
      alive_ = false;
      return;
    }
  }
  KillAndReap();
}

}  // namespace doppel::sim::fmi::internal
