#include "sim/fmi/fmu_host.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "sim/fmi/fmi2.h"
#include "sim/fmi/internal/fmu_protocol.h"
#include "sim/fmi/model_description.h"

namespace doppel::sim::fmi {
namespace {

using internal::ErrorKind;
using internal::FrameReader;
using internal::FrameWriter;
using internal::IndexedValue;
using internal::MessageType;

struct Functions {
  fmi2InstantiateFn instantiate = nullptr;
  fmi2FreeInstanceFn free_instance = nullptr;
  fmi2SetupExperimentFn setup_experiment = nullptr;
  fmi2EnterInitializationModeFn enter_initialization_mode = nullptr;
  fmi2ExitInitializationModeFn exit_initialization_mode = nullptr;
  fmi2TerminateFn terminate = nullptr;
  fmi2GetRealFn get_real = nullptr;
  fmi2GetIntegerFn get_integer = nullptr;
  fmi2GetBooleanFn get_boolean = nullptr;
  fmi2SetRealFn set_real = nullptr;
  fmi2SetIntegerFn set_integer = nullptr;
  fmi2SetBooleanFn set_boolean = nullptr;
  fmi2DoStepFn do_step = nullptr;
  // Only with canGetAndSetFMUstate (Clone).
  fmi2GetFMUstateFn get_fmu_state = nullptr;
  fmi2SetFMUstateFn set_fmu_state = nullptr;
  fmi2FreeFMUstateFn free_fmu_state = nullptr;
  fmi2SerializedFMUstateSizeFn serialized_fmu_state_size = nullptr;
  fmi2SerializeFMUstateFn serialize_fmu_state = nullptr;
  fmi2DeSerializeFMUstateFn deserialize_fmu_state = nullptr;
};

template <typename Fn>
Status Resolve(void* library, const char* name, Fn& out) {
  void* symbol = ::dlsym(library, name);
  if (!symbol)
    return Status::InvalidArgument(fmt::format("the FMU's binary does not export {}", name));
  out = reinterpret_cast<Fn>(symbol);
  return Status::Ok();
}

Status ResolveCore(void* library, Functions& fn) {
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2Instantiate", fn.instantiate));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2FreeInstance", fn.free_instance));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2SetupExperiment", fn.setup_experiment));
  DOPPEL_RETURN_IF_ERROR(
      Resolve(library, "fmi2EnterInitializationMode", fn.enter_initialization_mode));
  DOPPEL_RETURN_IF_ERROR(
      Resolve(library, "fmi2ExitInitializationMode", fn.exit_initialization_mode));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2Terminate", fn.terminate));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2GetReal", fn.get_real));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2GetInteger", fn.get_integer));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2GetBoolean", fn.get_boolean));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2SetReal", fn.set_real));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2SetInteger", fn.set_integer));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2SetBoolean", fn.set_boolean));
  return Resolve(library, "fmi2DoStep", fn.do_step);
}

Status ResolveState(void* library, Functions& fn) {
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2GetFMUstate", fn.get_fmu_state));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2SetFMUstate", fn.set_fmu_state));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2FreeFMUstate", fn.free_fmu_state));
  DOPPEL_RETURN_IF_ERROR(
      Resolve(library, "fmi2SerializedFMUstateSize", fn.serialized_fmu_state_size));
  DOPPEL_RETURN_IF_ERROR(Resolve(library, "fmi2SerializeFMUstate", fn.serialize_fmu_state));
  return Resolve(library, "fmi2DeSerializeFMUstate", fn.deserialize_fmu_state);
}

const char* StatusName(fmi2Status status) {
  switch (status) {
    case fmi2OK:
      return "fmi2OK";
    case fmi2Warning:
      return "fmi2Warning";
    case fmi2Discard:
      return "fmi2Discard";
    case fmi2Error:
      return "fmi2Error";
    case fmi2Fatal:
      return "fmi2Fatal";
    case fmi2Pending:
      return "fmi2Pending";
  }
  return "an unknown fmi2Status";
}

std::string ErrorReply(const Status& status) {
  auto kind =
      status.code() == StatusCode::kInvalidArgument ? ErrorKind::kBadFmu : ErrorKind::kCallFailed;
  return FrameWriter(MessageType::kError)
      .U8(static_cast<uint8_t>(kind))
      .Bytes(status.message())
      .Finish();
}

// One loaded, instantiated FMU and the requests it serves.
class Host {
 public:
  explicit Host(int fd) : fd_(fd) {}
  int Run();

 private:
  std::string Handle(FrameReader& request);
  Status Load(FrameReader& request);
  Status Init(FrameReader& request);
  Status Step(FrameReader& request);
  Result<std::string> GetState();
  Status SetState(FrameReader& request);
  void Terminate();

  Status ApplySets(const std::vector<IndexedValue>& sets);
  Result<std::string> ValuesReply();
  Status Check(fmi2Status status, const char* function);

  static void Log(fmi2ComponentEnvironment environment, fmi2String instance, fmi2Status status,
                  fmi2String category, fmi2String message, ...);

  int fd_;
  void* library_ = nullptr;
  Functions fn_;
  fmi2CallbackFunctions callbacks_{Log, std::calloc, std::free, nullptr, this};
  fmi2Component component_ = nullptr;
  // The variable table from kLoad, grouped by FMI type (kReal, kInteger, kBoolean) so each
  // get or set is one FMI call per type.
  std::size_t variable_count_ = 0;
  std::array<std::vector<uint32_t>, 3> index_by_type_;
  std::array<std::vector<fmi2ValueReference>, 3> vr_by_type_;
  std::vector<FmiType> type_of_;
  // The FMU's last few log messages, quoted in error replies.
  std::deque<std::string> log_;
  bool done_ = false;
};

void Host::Log(fmi2ComponentEnvironment environment, fmi2String instance, fmi2Status status,
               fmi2String category, fmi2String message, ...) {
  auto* host = static_cast<Host*>(environment);
  char text[1024];
  va_list args;
  va_start(args, message);
  std::vsnprintf(text, sizeof text, message ? message : "", args);
  va_end(args);
  host->log_.push_back(fmt::format("[{}] {}", category ? category : "", text));
  if (host->log_.size() > 4) host->log_.pop_front();
}

Status Host::Check(fmi2Status status, const char* function) {
  if (status == fmi2OK || status == fmi2Warning) return Status::Ok();
  std::string message = fmt::format("{} returned {}", function, StatusName(status));
  if (!log_.empty()) message += fmt::format(" ({})", fmt::join(log_, "; "));
  log_.clear();
  return Status::Internal(std::move(message));
}

Status Host::Load(FrameReader& request) {
  std::string so_path = request.Bytes();
  std::string instance_name = request.Bytes();
  std::string guid = request.Bytes();
  std::string resource_uri = request.Bytes();
  bool need_state = request.U8() != 0;
  variable_count_ = request.U32();
  for (std::size_t i = 0; i < variable_count_ && request.ok(); ++i) {
    auto type = static_cast<FmiType>(request.U8());
    uint32_t vr = request.U32();
    if (static_cast<uint8_t>(type) > 2) return Status::Internal("bad variable type in kLoad");
    index_by_type_[static_cast<uint8_t>(type)].push_back(static_cast<uint32_t>(i));
    vr_by_type_[static_cast<uint8_t>(type)].push_back(vr);
    type_of_.push_back(type);
  }
  if (!request.ok() || library_) return Status::Internal("malformed kLoad request");
  library_ = ::dlopen(so_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library_)
    return Status::InvalidArgument(fmt::format("cannot load the FMU's binary: {}", ::dlerror()));
  DOPPEL_RETURN_IF_ERROR(ResolveCore(library_, fn_));
  if (need_state) DOPPEL_RETURN_IF_ERROR(ResolveState(library_, fn_));
  component_ = fn_.instantiate(instance_name.c_str(), fmi2CoSimulation, guid.c_str(),
                               resource_uri.c_str(), &callbacks_, fmi2False, fmi2False);
  if (!component_) {
    std::string log = log_.empty() ? "" : fmt::format(" ({})", fmt::join(log_, "; "));
    return Status::InvalidArgument(fmt::format("fmi2Instantiate failed{}", log));
  }
  return Status::Ok();
}

Status Host::ApplySets(const std::vector<IndexedValue>& sets) {
  std::array<std::vector<fmi2ValueReference>, 3> vrs;
  std::vector<fmi2Real> reals;
  std::vector<fmi2Integer> integers;  // Integer and Boolean values, in their own vrs lists
  std::vector<fmi2Boolean> booleans;
  for (const auto& set : sets) {
    if (set.index >= variable_count_) return Status::Internal("set of an unknown variable");
    FmiType type = type_of_[set.index];
    auto t = static_cast<uint8_t>(type);
    auto position = std::find(index_by_type_[t].begin(), index_by_type_[t].end(), set.index) -
                    index_by_type_[t].begin();
    vrs[t].push_back(vr_by_type_[t][static_cast<std::size_t>(position)]);
    if (type == FmiType::kReal) reals.push_back(set.value);
    if (type == FmiType::kInteger) integers.push_back(static_cast<fmi2Integer>(set.value));
    if (type == FmiType::kBoolean) booleans.push_back(set.value != 0 ? fmi2True : fmi2False);
  }
  if (!reals.empty())
    DOPPEL_RETURN_IF_ERROR(
        Check(fn_.set_real(component_, vrs[0].data(), reals.size(), reals.data()), "fmi2SetReal"));
  if (!integers.empty())
    DOPPEL_RETURN_IF_ERROR(
        Check(fn_.set_integer(component_, vrs[1].data(), integers.size(), integers.data()),
              "fmi2SetInteger"));
  if (!booleans.empty())
    DOPPEL_RETURN_IF_ERROR(
        Check(fn_.set_boolean(component_, vrs[2].data(), booleans.size(), booleans.data()),
              "fmi2SetBoolean"));
  return Status::Ok();
}

Result<std::string> Host::ValuesReply() {
  std::vector<double> values(variable_count_);
  const auto& [real_vrs, integer_vrs, boolean_vrs] = vr_by_type_;
  std::vector<fmi2Real> reals(real_vrs.size());
  std::vector<fmi2Integer> integers(integer_vrs.size());
  std::vector<fmi2Boolean> booleans(boolean_vrs.size());
  if (!reals.empty())
    DOPPEL_RETURN_IF_ERROR(Check(
        fn_.get_real(component_, real_vrs.data(), reals.size(), reals.data()), "fmi2GetReal"));
  if (!integers.empty())
    DOPPEL_RETURN_IF_ERROR(
        Check(fn_.get_integer(component_, integer_vrs.data(), integers.size(), integers.data()),
              "fmi2GetInteger"));
  if (!booleans.empty())
    DOPPEL_RETURN_IF_ERROR(
        Check(fn_.get_boolean(component_, boolean_vrs.data(), booleans.size(), booleans.data()),
              "fmi2GetBoolean"));
  for (std::size_t i = 0; i < reals.size(); ++i) values[index_by_type_[0][i]] = reals[i];
  for (std::size_t i = 0; i < integers.size(); ++i) values[index_by_type_[1][i]] = integers[i];
  for (std::size_t i = 0; i < booleans.size(); ++i)
    values[index_by_type_[2][i]] = booleans[i] ? 1.0 : 0.0;
  FrameWriter reply(MessageType::kOk);
  for (double v : values) reply.F64(v);
  return reply.Finish();
}

Status Host::Init(FrameReader& request) {
  double start_time = request.F64();
  auto sets = internal::ReadSets(request);
  if (!request.ok()) return Status::Internal("malformed kInit request");
  DOPPEL_RETURN_IF_ERROR(
      Check(fn_.setup_experiment(component_, fmi2False, 0.0, start_time, fmi2False, 0.0),
            "fmi2SetupExperiment"));
  DOPPEL_RETURN_IF_ERROR(ApplySets(sets));
  DOPPEL_RETURN_IF_ERROR(
      Check(fn_.enter_initialization_mode(component_), "fmi2EnterInitializationMode"));
  return Check(fn_.exit_initialization_mode(component_), "fmi2ExitInitializationMode");
}

Status Host::Step(FrameReader& request) {
  double time = request.F64();
  double dt = request.F64();
  auto sets = internal::ReadSets(request);
  if (!request.ok()) return Status::Internal("malformed kStep request");
  DOPPEL_RETURN_IF_ERROR(ApplySets(sets));
  // fmi2True: Doppel never rolls this instance back (a clone gets an instance of its own).
  return Check(fn_.do_step(component_, time, dt, fmi2True), "fmi2DoStep");
}

Result<std::string> Host::GetState() {
  if (!fn_.get_fmu_state) return Status::InvalidArgument("the FMU cannot get and set its state");
  fmi2FMUstate state = nullptr;
  DOPPEL_RETURN_IF_ERROR(Check(fn_.get_fmu_state(component_, &state), "fmi2GetFMUstate"));
  std::size_t size = 0;
  Status status =
      Check(fn_.serialized_fmu_state_size(component_, state, &size), "fmi2SerializedFMUstateSize");
  std::string bytes;
  if (status.ok() && size > internal::kMaxFrameBytes - 64)
    status = Status::Internal(fmt::format("the FMU's serialized state is {} bytes", size));
  if (status.ok()) {
    bytes.resize(size);
    status = Check(fn_.serialize_fmu_state(component_, state, bytes.data(), size),
                   "fmi2SerializeFMUstate");
  }
  fn_.free_fmu_state(component_, &state);
  if (!status.ok()) return status;
  return FrameWriter(MessageType::kOk).Bytes(bytes).Finish();
}

Status Host::SetState(FrameReader& request) {
  if (!fn_.set_fmu_state) return Status::InvalidArgument("the FMU cannot get and set its state");
  std::string bytes = request.Bytes();
  if (!request.ok()) return Status::Internal("malformed kSetState request");
  fmi2FMUstate state = nullptr;
  DOPPEL_RETURN_IF_ERROR(
      Check(fn_.deserialize_fmu_state(component_, bytes.data(), bytes.size(), &state),
            "fmi2DeSerializeFMUstate"));
  Status status = Check(fn_.set_fmu_state(component_, state), "fmi2SetFMUstate");
  fn_.free_fmu_state(component_, &state);
  return status;
}

void Host::Terminate() {
  if (component_) {
    fn_.terminate(component_);
    fn_.free_instance(component_);
    component_ = nullptr;
  }
  done_ = true;
}

std::string Host::Handle(FrameReader& request) {
  MessageType type = request.type();
  if (type != MessageType::kLoad && type != MessageType::kTerminate && !component_)
    return ErrorReply(Status::Internal("no FMU loaded"));
  Status status;
  switch (type) {
    case MessageType::kLoad:
      status = Load(request);
      break;
    case MessageType::kInit:
      status = Init(request);
      break;
    case MessageType::kStep:
      status = Step(request);
      break;
    case MessageType::kSetState:
      status = SetState(request);
      break;
    case MessageType::kGetState: {
      auto reply = GetState();
      return reply.ok() ? *reply : ErrorReply(reply.status());
    }
    case MessageType::kTerminate:
      Terminate();
      break;
    default:
      return ErrorReply(Status::Internal("unknown request"));
  }
  if (!status.ok()) return ErrorReply(status);
  if (type == MessageType::kLoad || type == MessageType::kTerminate)
    return FrameWriter(MessageType::kOk).Finish();
  auto values = ValuesReply();
  return values.ok() ? *values : ErrorReply(values.status());
}

int Host::Run() {
  std::string body;
  while (!done_) {
    internal::IoError error = internal::ReceiveFrame(fd_, body, std::nullopt);
    if (error == internal::IoError::kClosed) return 0;
    if (error != internal::IoError::kNone) return 1;
    FrameReader request(body);
    std::string reply = Handle(request);
    if (internal::SendAll(fd_, reply, std::nullopt) != internal::IoError::kNone) return 0;
  }
  return 0;
}

// Ends this process when its parent is gone, even while the main thread is stuck in a hung
// FMU. Not PR_SET_PDEATHSIG: that fires when the parent *thread* that spawned us exits, and a
// server spawns FMU hosts from worker threads that come and go.
void WatchParent() {
  pid_t parent = ::getppid();
  std::thread([parent] {
    while (::getppid() == parent) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::_Exit(1);
  }).detach();
}

}  // namespace

int RunFmuHost(int fd) {
  WatchParent();
  std::signal(SIGPIPE, SIG_IGN);
  return Host(fd).Run();
}

}  // namespace doppel::sim::fmi
