#include "connect/modbus/modbus_connector.h"

#include <cmath>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "connect/modbus/internal/modbus_link.h"
#include "connect/modbus/internal/register_codec.h"

namespace doppel::connect::modbus {
namespace {

using internal::ModbusLink;

// A value as JSON for a property patch: integral doubles as integers, so an integer-schema
// property accepts a register read back through a scale of 1.
json::value PatchValue(const tsdb::Value& value) {
  if (const double* d = std::get_if<double>(&value)) {
    if (std::trunc(*d) == *d && std::abs(*d) < 9007199254740992.0) return json::value(static_cast<int64_t>(*d));
    return FiniteOrNull(*d);
  }
  if (const bool* b = std::get_if<bool>(&value)) return json::value(*b);
  if (const int64_t* i = std::get_if<int64_t>(&value)) return json::value(*i);
  return json::value(std::get<std::string>(value));
}

std::string PropertyKey(std::string_view twin, std::string_view path) { return fmt::format("{}\n{}", twin, path); }

}  // namespace

ModbusConnector::ModbusConnector(ModbusConnectorConfig config, ingest::Ingestor& ingestor, twin::TwinGraph& graph,
                                 const Clock& clock)
    : config_(std::move(config)),
      ingestor_(ingestor),
      graph_(graph),
      clock_(clock),
      blocks_(internal::PlanReads(config_.points)) {}

ModbusConnector::~ModbusConnector() { Stop(); }

Status ModbusConnector::Start() {
  DOPPEL_RETURN_IF_ERROR(ValidateModbusConnectorConfig(config_));
  {
    std::lock_guard lock(mu_);
    if (running_ || thread_.joinable()) return Status::Conflict(fmt::format("modbus connector '{}' is already started", config_.name));
  }
  if (!config_.buffer_dir.empty() && buffer_ == nullptr) {
    auto opened = StoreForward::Open({.dir = config_.buffer_dir, .max_bytes = config_.buffer_max_bytes});
    if (!opened.ok()) return opened.status();
    buffer_ = std::move(opened).value();
  }
  writer_ = std::make_unique<ForwardingWriter>(
      [this](std::span<const std::span<const ingest::Reading>> groups) { return ingestor_.WriteEach(groups); },
      buffer_.get());
  {
    std::lock_guard lock(mu_);
    running_ = true;
  }
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void ModbusConnector::Stop() {
  {
    std::lock_guard lock(mu_);
    running_ = false;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ModbusConnector::Run() {
  std::unique_lock lock(mu_);
  while (running_) {
    lock.unlock();
    const bool connected = EnsureConnected();
    const auto next_poll = std::chrono::steady_clock::now() + (connected ? config_.poll_interval : backoff_);
    if (connected) PollOnce();
    lock.lock();
    // Until the next poll (or reconnect attempt), carry out writes as they come.
    while (running_) {
      if (!writes_.empty()) {
        lock.unlock();
        ExecuteWrites();
        lock.lock();
        continue;
      }
      if (wake_.wait_until(lock, next_poll, [&] { return !running_ || !writes_.empty(); })) continue;
      break;
    }
  }
  lock.unlock();
  ExecuteWrites();  // not running: fails what is left
  Disconnect();
}

bool ModbusConnector::EnsureConnected() {
  if (link_ != nullptr && !link_->broken()) return true;
  Disconnect();
  auto link = ModbusLink::Connect(config_.host, config_.port, config_.unit_id, config_.timeout);
  if (!link.ok()) {
    Fail(std::string(link.status().message()));
    backoff_ = backoff_.count() == 0 ? config_.reconnect_min : std::min(backoff_ * 2, config_.reconnect_max);
    return false;
  }
  link_ = std::move(link).value();
  backoff_ = std::chrono::milliseconds(0);
  if (connects_.fetch_add(1) > 0) spdlog::info("modbus connector '{}': reconnected to {}:{}", config_.name, config_.host, config_.port);
  connected_ = true;
  return true;
}

void ModbusConnector::Disconnect() {
  link_.reset();
  connected_ = false;
}

void ModbusConnector::Fail(std::string error) {
  ++errors_;
  spdlog::debug("modbus connector '{}': {}", config_.name, error);
  std::lock_guard lock(mu_);
  last_error_ = std::move(error);
}

void ModbusConnector::PollOnce() {
  const tsdb::TimeNs time = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.Now().time_since_epoch()).count();
  std::vector<ingest::Reading> readings;
  for (const internal::ReadBlock& block : blocks_) {
    auto words = link_->Read(block.table, block.address, block.count);
    if (!words.ok()) {
      Fail(std::string(words.status().message()));
      if (link_->broken()) break;  // reconnect before anything else
      continue;
    }
    for (std::size_t index : block.points) {
      const PointMapping& point = config_.points[index];
      std::span<const uint16_t> entries(words->data() + (point.address - block.address),
                                        static_cast<std::size_t>(internal::PointWidth(point)));
      readings.push_back({.twin_id = point.twin, .path = point.path, .time = time,
                          .value = internal::DecodeRegisters(entries, point.format)});
    }
  }
  if (link_->broken()) connected_ = false;
  ++polls_;
  PatchProperties(readings);
  Deliver(std::move(readings));
}

void ModbusConnector::PatchProperties(const std::vector<ingest::Reading>& readings) {
  // Readings follow the points' plan order, not the config's: look the point up by name.
  for (const PointMapping& point : config_.points) {
    if (!point.property) continue;
    for (const ingest::Reading& r : readings) {
      if (r.twin_id != point.twin || r.path != point.path) continue;
      auto [it, inserted] = last_property_.try_emplace(PropertyKey(r.twin_id, r.path), r.value);
      if (!inserted && it->second == r.value) break;
      it->second = r.value;
      json::array patch{json::object{{"op", "add"}, {"path", "/" + r.path}, {"value", PatchValue(r.value)}}};
      auto patched = graph_.PatchTwin(r.twin_id, patch, {});
      if (patched.ok()) {
        ++patched_;
      } else {
        Fail(fmt::format("property '{}' of twin '{}': {}", r.path, r.twin_id, patched.status().message()));
      }
      break;
    }
  }
}

void ModbusConnector::Deliver(std::vector<ingest::Reading> readings) {
  ForwardingWriter::Outcome outcome = writer_->Write(readings);
  readings_ += outcome.written;
  for (const auto& [index, why] : outcome.refused) {
    Fail(index < readings.size()
             ? fmt::format("{} of twin '{}': {}", readings[index].path, readings[index].twin_id, why.message())
             : fmt::format("a buffered reading was refused: {}", why.message()));
  }
  if (!outcome.error.ok()) Fail(fmt::format("history write failed (buffer: {} readings waiting): {}",
                                            buffer_ != nullptr ? buffer_->stats().readings : 0, outcome.error.message()));
}

void ModbusConnector::ExecuteWrites() {
  while (true) {
    PendingWrite* write = nullptr;
    bool running = false;
    {
      std::lock_guard lock(mu_);
      if (writes_.empty()) return;
      write = writes_.front();
      running = running_;
    }
    Status result = Status::Unavailable(fmt::format("modbus connector '{}' is stopping", config_.name));
    if (running) {
      if (link_ == nullptr || link_->broken()) {
        result = Status::Unavailable(fmt::format("modbus connector '{}' is not connected", config_.name));
      } else {
        result = write->table == Table::kCoil ? link_->WriteCoil(write->address, write->bit)
                                              : link_->WriteRegisters(write->address, write->registers);
      }
    }
    if (result.ok()) {
      ++writes_done_;
      last_property_.erase(write->report_key);
    } else {
      Fail(std::string(result.message()));
      if (link_ != nullptr && link_->broken()) connected_ = false;
    }
    {
      std::lock_guard lock(mu_);
      write->result = std::move(result);
      writes_.pop_front();
    }
    written_.notify_all();
  }
}

Status ModbusConnector::Enqueue(PendingWrite& write) {
  std::unique_lock lock(mu_);
  if (!running_) return Status::Unavailable(fmt::format("modbus connector '{}' is not running", config_.name));
  if (!connected_) return Status::Unavailable(fmt::format("modbus connector '{}' is not connected", config_.name));
  writes_.push_back(&write);
  wake_.notify_all();
  // The thread always answers: a write it cannot do fails, also when stopping.
  written_.wait(lock, [&] { return write.result.has_value(); });
  return *write.result;
}

Status ModbusConnector::WriteSetpoint(std::string_view twin, std::string_view property, const json::value& value) {
  for (const SetpointMapping& setpoint : config_.setpoints) {
    if (setpoint.twin != twin || setpoint.property != property) continue;
    DOPPEL_ASSIGN_OR_RETURN(std::vector<uint16_t> registers,
                            internal::EncodeRegisters(value, setpoint.format, fmt::format("setpoint '{}'", property)));
    PendingWrite write{.table = Table::kHolding,
                       .address = setpoint.address,
                       .registers = std::move(registers),
                       .report_key = PropertyKey(twin, property)};
    return Enqueue(write);
  }
  return Status::NotFound(fmt::format("modbus connector '{}' has no setpoint for twin '{}' property '{}'", config_.name, twin, property));
}

Status ModbusConnector::RunCommand(std::string_view twin, std::string_view command, const json::value& payload) {
  for (const CommandMapping& mapping : config_.commands) {
    if (mapping.twin != twin || mapping.command != command) continue;
    const json::value& value = mapping.value.is_null() ? payload : mapping.value;
    PendingWrite write{.table = mapping.table, .address = mapping.address};
    if (mapping.table == Table::kCoil) {
      if (!value.is_bool()) {
        return Status::InvalidArgument(fmt::format("command '{}' writes a coil: the payload must be true or false, got {}",
                                                   command, JsonTypeName(value)));
      }
      write.bit = value.get_bool();
    } else {
      DOPPEL_ASSIGN_OR_RETURN(write.registers, internal::EncodeRegisters(value, mapping.format, fmt::format("command '{}'", command)));
    }
    return Enqueue(write);
  }
  return Status::NotFound(fmt::format("modbus connector '{}' has no command '{}' for twin '{}'", config_.name, command, twin));
}

bool ModbusConnector::HasSetpoint(std::string_view twin, std::string_view property) const {
  for (const SetpointMapping& s : config_.setpoints) {
    if (s.twin == twin && s.property == property) return true;
  }
  return false;
}

bool ModbusConnector::HasCommand(std::string_view twin, std::string_view command) const {
  for (const CommandMapping& c : config_.commands) {
    if (c.twin == twin && c.command == command) return true;
  }
  return false;
}

ModbusConnectorStats ModbusConnector::stats() const {
  ModbusConnectorStats stats{.connected = connected_,
                             .connects = connects_,
                             .polls = polls_,
                             .readings = readings_,
                             .properties_patched = patched_,
                             .writes = writes_done_,
                             .errors = errors_};
  {
    std::lock_guard lock(mu_);
    stats.last_error = last_error_;
  }
  // buffer_ is set before the thread starts and never replaced; its counters are atomic.
  if (buffer_ != nullptr) stats.buffer = buffer_->stats();
  return stats;
}

json::object ModbusConnector::HealthJson() const {
  const ModbusConnectorStats s = stats();
  return {{"name", config_.name},
          {"type", "modbus"},
          {"host", config_.host},
          {"port", config_.port},
          {"unitId", config_.unit_id},
          {"connected", s.connected},
          {"connects", s.connects},
          {"polls", s.polls},
          {"readings", s.readings},
          {"propertiesPatched", s.properties_patched},
          {"writes", s.writes},
          {"errors", s.errors},
          {"lastError", s.last_error},
          {"buffer", json::object{{"batches", s.buffer.batches},
                                  {"readings", s.buffer.readings},
                                  {"bytes", s.buffer.bytes},
                                  {"replayedReadings", s.buffer.replayed_readings},
                                  {"droppedReadings", s.buffer.dropped_readings}}}};
}

void ModbusConnector::RenderMetrics(std::string& out) const {
  const ModbusConnector* self = this;
  RenderModbusMetrics(std::span<const ModbusConnector* const>(&self, 1), out);
}

void RenderModbusMetrics(std::span<const ModbusConnector* const> connectors, std::string& out) {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*value)(const ModbusConnectorStats&);
  };
  static constexpr Family kFamilies[] = {
      {"doppel_modbus_connected", "gauge", "1 while the connector is connected to its device",
       [](const ModbusConnectorStats& s) -> uint64_t { return s.connected ? 1 : 0; }},
      {"doppel_modbus_polls_total", "counter", "Poll cycles", [](const ModbusConnectorStats& s) { return s.polls; }},
      {"doppel_modbus_readings_total", "counter", "Readings written to history",
       [](const ModbusConnectorStats& s) { return s.readings; }},
      {"doppel_modbus_errors_total", "counter", "Failed requests, connects, writes and refused readings",
       [](const ModbusConnectorStats& s) { return s.errors; }},
      {"doppel_modbus_buffered_readings", "gauge", "Readings waiting in the store-and-forward buffer",
       [](const ModbusConnectorStats& s) { return s.buffer.readings; }},
      {"doppel_modbus_dropped_readings_total", "counter", "Readings dropped from a full store-and-forward buffer",
       [](const ModbusConnectorStats& s) { return s.buffer.dropped_readings; }},
  };
  if (connectors.empty()) return;
  std::vector<ModbusConnectorStats> stats;
  for (const ModbusConnector* c : connectors) stats.push_back(c->stats());
  for (const Family& family : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, family.help, family.name, family.type);
    for (std::size_t i = 0; i < connectors.size(); ++i) {
      out += fmt::format("{}{{connector=\"{}\"}} {}\n", family.name, connectors[i]->config().name, family.value(stats[i]));
    }
  }
}

}  // namespace doppel::connect::modbus
