// The parent's handle on one `doppel fmu-host` child: spawning it, one request/reply exchange
// at a time with a deadline, and turning the child's death into a Status.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"
#include "sim/fmi/fmu_simulation.h"
#include "sim/fmi/internal/fmu_protocol.h"

namespace doppel::sim::fmi::internal {

class FmuProcess {
 public:
  // Starts `options.executable options.arguments... --fd 3` with one end of a socketpair as
  // descriptor 3, stdin from /dev/null and stdout joined to stderr (an FMU that prints cannot
  // corrupt the protocol). `fmu_name` names the FMU in error messages. Internal if the spawn
  // fails.
  static Result<std::unique_ptr<FmuProcess>> Spawn(const FmuHostOptions& options,
                                                   std::string fmu_name);
  // Kills the child if it still runs and reaps it.
  ~FmuProcess();
  FmuProcess(const FmuProcess&) = delete;
  FmuProcess& operator=(const FmuProcess&) = delete;

  // Sends one request frame and returns the body of the kOk reply. A kError reply becomes
  // InvalidArgument (ErrorKind::kBadFmu) or Internal (kCallFailed), "FMU 'x' <operation>
  // failed: <message>". A child that dies, hangs past the call timeout or breaks the protocol
  // is killed: Internal "FMU 'x' crashed in doStep (signal 11, Segmentation fault)", "FMU 'x'
  // did not finish doStep within 1000 ms (killed)". After that every Call fails.
  Result<std::string> Call(std::string_view operation, std::string_view frame);

  // Asks the child to terminate the FMU and exit, waiting at most the call timeout.
  void Shutdown();

  // Call and Shutdown may be called from several threads (Simulation::Clone is const, so two
  // threads may fork the same simulation); they take turns on the socket.

 private:
  FmuProcess(pid_t pid, int fd, std::string fmu_name, std::chrono::milliseconds timeout);
  // Kills (if needed) and reaps the child; the Status says how it ended during `operation`.
  Result<std::string> CallLocked(std::string_view operation, std::string_view frame);
  Status Bury(std::string_view operation, IoError error);
  void KillAndReap();

  std::mutex mu_;  // guards everything below

  pid_t pid_;
  int fd_;
  std::string fmu_name_;
  std::chrono::milliseconds timeout_;
  bool alive_ = true;
  Status death_;  // why the child is gone, once it is
};

}  // namespace doppel::sim::fmi::internal
