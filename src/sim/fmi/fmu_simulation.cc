#include "sim/fmi/fmu_simulation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sim/fmi/internal/fmu_process.h"
#include "sim/fmi/internal/fmu_protocol.h"

namespace doppel::sim::fmi {
namespace {

using internal::FrameReader;
using internal::FrameWriter;
using internal::MessageType;

// "file:///abs/dir/resources": the resource location fmi2Instantiate expects.
std::string ResourceUri(const std::filesystem::path& directory) {
  return fmt::format("file://{}", (std::filesystem::absolute(directory) / "resources").string());
}

std::string LoadFrame(const FmuModel& model) {
  const ModelDescription& md = model.description;
  FrameWriter frame(MessageType::kLoad);
  frame.Bytes(std::filesystem::absolute(model.binary).string())
      .Bytes(model.name)
      .Bytes(md.guid)
      .Bytes(ResourceUri(model.directory))
      .U8(md.can_get_and_set_fmu_state ? 1 : 0)
      .U32(static_cast<uint32_t>(md.bindings.size()));
  for (const auto& binding : md.bindings)
    frame.U8(static_cast<uint8_t>(binding.type)).U32(binding.value_reference);
  return frame.Finish();
}

std::vector<double> StartValues(const ModelInfo& info) {
  std::vector<double> values;
  for (const auto& variable : info.variables) values.push_back(variable.start);
  return values;
}

}  // namespace

FmuSimulation::FmuSimulation(std::shared_ptr<const FmuModel> model,
                             std::unique_ptr<internal::FmuProcess> process)
    : model_(std::move(model)), process_(std::move(process)), values_(StartValues(info())) {}

FmuSimulation::~FmuSimulation() {
  if (process_) process_->Shutdown();
}

Result<std::unique_ptr<FmuSimulation>> FmuSimulation::Create(
    std::shared_ptr<const FmuModel> model) {
  DOPPEL_ASSIGN_OR_RETURN(auto process, internal::FmuProcess::Spawn(model->host, model->name));
  DOPPEL_RETURN_IF_ERROR(process->Call("instantiate", LoadFrame(*model)).status());
  return std::unique_ptr<FmuSimulation>(new FmuSimulation(std::move(model), std::move(process)));
}

Status FmuSimulation::CheckSettable(std::size_t variable, double value) const {
  const auto& variables = info().variables;
  if (variable >= variables.size())
    return Status::InvalidArgument(
        fmt::format("model '{}' has no variable #{}", info().name, variable));
  const Variable& v = variables[variable];
  if (v.causality == Causality::kOutput)
    return Status::InvalidArgument(fmt::format("'{}' is an output and cannot be set", v.name));
  if (!std::isfinite(value))
    return Status::InvalidArgument(fmt::format("'{}' must be a finite number", v.name));
  if (value < v.min)
    return Status::InvalidArgument(
        fmt::format("{} = {} is below its minimum {}", v.name, value, v.min));
  if (value > v.max)
    return Status::InvalidArgument(
        fmt::format("{} = {} is above its maximum {}", v.name, value, v.max));
  const FmiBinding& binding = model_->description.bindings[variable];
  if (binding.type != FmiType::kReal && value != std::trunc(value))
    return Status::InvalidArgument(fmt::format("{} takes whole numbers, not {}", v.name, value));
  if (initialized_ && v.causality == Causality::kParameter && !binding.tunable)
    return Status::InvalidArgument(
        fmt::format("parameter '{}' is fixed: it can only be set before the first Step", v.name));
  return Status::Ok();
}

Status FmuSimulation::Set(std::size_t variable, double value) {
  DOPPEL_RETURN_IF_ERROR(CheckSettable(variable, value));
  values_[variable] = value;
  auto index = static_cast<uint32_t>(variable);
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [index](const internal::IndexedValue& s) { return s.index == index; });
  if (it != pending_.end()) {
    it->value = value;
  } else {
    pending_.push_back({index, value});
  }
  return Status::Ok();
}

double FmuSimulation::Get(std::size_t variable) const {
  return variable < values_.size() ? values_[variable] : std::nan("");
}

Status FmuSimulation::ReadValues(std::string_view reply) {
  FrameReader reader(reply);
  std::vector<double> values(values_.size());
  for (double& v : values) v = reader.F64();
  if (!reader.ok() || !reader.at_end())
    return Status::Internal(fmt::format("FMU '{}' host sent a malformed reply", model_->name));
  values_ = std::move(values);
  return Status::Ok();
}

Status FmuSimulation::Exchange(const char* operation, const std::string& frame) {
  auto reply = process_->Call(operation, frame);
  Status status = reply.ok() ? ReadValues(*reply) : reply.status();
  if (!status.ok()) {
    // FMI allows little after an error (not even fmi2Terminate), and the simulation is dead
    // anyway: end the child now rather than keep a process around.
    failure_ = status;
    process_.reset();
  }
  return status;
}

Status FmuSimulation::Initialize() {
  FrameWriter frame(MessageType::kInit);
  frame.F64(time_);
  internal::WriteSets(frame, pending_);
  DOPPEL_RETURN_IF_ERROR(Exchange("initialize", frame.Finish()));
  pending_.clear();
  initialized_ = true;
  return Status::Ok();
}

Status FmuSimulation::Step(double dt_s) {
  if (!failure_.ok()) return failure_;
  if (!(dt_s > 0) || !std::isfinite(dt_s))
    return Status::InvalidArgument(fmt::format("step size must be positive, not {}", dt_s));
  if (!initialized_) DOPPEL_RETURN_IF_ERROR(Initialize());
  FrameWriter frame(MessageType::kStep);
  frame.F64(time_).F64(dt_s);
  internal::WriteSets(frame, pending_);
  DOPPEL_RETURN_IF_ERROR(Exchange("doStep", frame.Finish()));
  pending_.clear();
  time_ += dt_s;
  return Status::Ok();
}

Result<std::unique_ptr<FmuSimulation>> FmuSimulation::CloneState() const {
  const ModelDescription& md = model_->description;
  if (initialized_ && !(md.can_get_and_set_fmu_state && md.can_serialize_fmu_state))
    return Status::Conflict(fmt::format(
        "FMU '{}' cannot be cloned after its first step: its modelDescription.xml does not "
        "declare canGetAndSetFMUstate and canSerializeFMUstate",
        model_->name));
  std::string state;
  if (initialized_) {
    DOPPEL_ASSIGN_OR_RETURN(
        std::string reply,
        process_->Call("getFMUstate", FrameWriter(MessageType::kGetState).Finish()));
    FrameReader reader(reply);
    state = reader.Bytes();
    if (!reader.ok())
      return Status::Internal(fmt::format("FMU '{}' host sent a malformed state", model_->name));
  }
  DOPPEL_ASSIGN_OR_RETURN(auto clone, Create(model_));
  if (initialized_) {
    // Instantiated clones are initialised first so they are in a state fmi2SetFMUstate accepts.
    FrameWriter init(MessageType::kInit);
    init.F64(0.0);
    internal::WriteSets(init, {});
    DOPPEL_RETURN_IF_ERROR(clone->Exchange("initialize", init.Finish()));
    clone->initialized_ = true;
    DOPPEL_RETURN_IF_ERROR(
        clone->Exchange("setFMUstate", FrameWriter(MessageType::kSetState).Bytes(state).Finish()));
  }
  clone->values_ = values_;
  clone->pending_ = pending_;
  clone->time_ = time_;
  return clone;
}

Result<std::unique_ptr<Simulation>> FmuSimulation::Clone() const {
  if (!failure_.ok()) return failure_;
  DOPPEL_ASSIGN_OR_RETURN(auto clone, CloneState());
  return std::unique_ptr<Simulation>(std::move(clone));
}

}  // namespace doppel::sim::fmi
