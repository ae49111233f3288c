// The OPC UA connector: a setup thread that connects and subscribes (retrying until it has),
// and the data handler that turns monitored values into readings and property patches.
#include "connect/opcua/opcua_connector.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace doppel::connect::opcua {
namespace {

constexpr uint32_t kNoValueYet = 0xFFFFFFFFu;  // not a StatusCode a server sends (reserved bits)
const NodeId kObjectsFolder{.namespace_index = 0, .identifier = uint32_t{85}};

// The first and then every 1000th of a kind: a server sending garbage fast must not drown the log.
bool ShouldLog(uint64_t n) { return n == 1 || n % 1000 == 0; }

// One element of a (possibly array) value as history keeps it; nullopt when it cannot be kept.
std::optional<tsdb::Value> HistoryValue(const Variant& variant, std::optional<uint32_t> index, std::string& why) {
  if (variant.is_array && !index) {
    why = "an array value needs \"index\" in the node's mapping";
    return std::nullopt;
  }
  if (!variant.is_array && index) {
    why = "\"index\" is set but the value is not an array";
    return std::nullopt;
  }
  const std::size_t at = index.value_or(0);
  if (at >= variant.values.size()) {
    why = variant.values.empty() ? std::string("the value is empty (Null)")
                                 : fmt::format("index {} is outside the array of {}", at, variant.values.size());
    return std::nullopt;
  }
  const auto& element = variant.values[at];
  if (const auto* b = std::get_if<bool>(&element)) return tsdb::Value(*b);
  if (const auto* d = std::get_if<double>(&element)) return tsdb::Value(*d);
  if (const auto* i = std::get_if<int64_t>(&element)) return tsdb::Value(*i);
  if (const auto* s = std::get_if<std::string>(&element)) return tsdb::Value(*s);
  why = "the value is empty (Null)";
  return std::nullopt;
}

json::value JsonOf(const tsdb::Value& value) {
  return std::visit([](const auto& v) { return json::value(v); }, value);
}

// "/targetSpeed" or "/component/property" (names are DTDL identifiers: no '~' or '/').
std::string PointerOf(std::string_view path) { return fmt::format("/{}", path); }

}  // namespace

bool BrowseNameMatches(std::string_view browse_name, std::string_view segment) {
  if (browse_name == segment) return true;
  if (segment.find(':') != std::string_view::npos) return false;
  const std::size_t colon = browse_name.find(':');
  return colon != std::string_view::npos && browse_name.substr(colon + 1) == segment;
}

Result<NodeId> ResolveNode(OpcUaClient& client, std::string_view node, std::string_view browse_path) {
  if (!node.empty()) return NodeId::Parse(node);
  NodeId at = kObjectsFolder;
  std::string_view rest = browse_path;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    DOPPEL_ASSIGN_OR_RETURN(std::vector<ReferenceDescription> children, client.Browse(at));
    auto child = std::find_if(children.begin(), children.end(),
                              [&](const ReferenceDescription& r) { return BrowseNameMatches(r.browse_name, segment); });
    if (child == children.end()) {
      return Status::NotFound(fmt::format("browse path '{}': no '{}' under {}", browse_path, segment, at.ToString()));
    }
    at = child->node;
  }
  return at;
}

bool RetryWithBackoff(const std::function<Status()>& attempt,
                      const std::function<void(const Status&, std::chrono::milliseconds)>& on_failure,
                      const std::function<bool(std::chrono::milliseconds)>& wait) {
  std::chrono::milliseconds delay(500);
  while (true) {
    Status status = attempt();
    if (status.ok()) return true;
    on_failure(status, delay);
    if (wait(delay)) return false;
    delay = std::min(delay * 2, std::chrono::milliseconds(30'000));
  }
}

OpcUaConnector::OpcUaConnector(OpcUaConnectorConfig config, ingest::Ingestor& ingestor, twin::TwinGraph& graph,
                               const Clock& clock)
    : config_(std::move(config)),
      ingestor_(ingestor),
      graph_(graph),
      clock_(clock),
      history_([this](std::span<const std::span<const ingest::Reading>> groups) { return ingestor_.WriteEach(groups); }),
      node_status_(config_.nodes.size(), kNoValueYet) {
  writer_ = std::make_unique<ForwardingWriter>(
      [this](std::span<const std::span<const ingest::Reading>> groups) { return history_(groups); }, nullptr);
}

OpcUaConnector::~OpcUaConnector() { Stop(); }

Status OpcUaConnector::OpenBuffer() {
  if (config_.buffer_dir.empty() || buffer_ != nullptr) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(buffer_, StoreForward::Open({.dir = config_.buffer_dir, .max_bytes = config_.buffer_max_bytes}));
  writer_ = std::make_unique<ForwardingWriter>(
      [this](std::span<const std::span<const ingest::Reading>> groups) { return history_(groups); }, buffer_.get());
  if (!buffer_->empty()) {
    spdlog::info("opcua connector '{}': {} buffered reading(s) from a previous run will be replayed with the next values",
                 config_.name, buffer_->stats().readings);
  }
  return Status::Ok();
}

Status OpcUaConnector::Start() {
  DOPPEL_RETURN_IF_ERROR(ValidateOpcUaConnectorConfig(config_));
  DOPPEL_RETURN_IF_ERROR(OpenBuffer());  // a no-op when started: the first Start opened it
  std::lock_guard lock(mu_);
  if (client_ != nullptr) return Status::Conflict(fmt::format("opcua connector '{}' is already started", config_.name));
  client_ = std::make_unique<OpcUaClient>(OpcUaClientOptions{.endpoint = config_.endpoint,
                                                             .user = config_.user,
                                                             .password = config_.password,
                                                             .request_timeout = config_.request_timeout});
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void OpcUaConnector::Stop() {
  std::unique_ptr<OpcUaClient> client;
  {
    std::lock_guard lock(mu_);
    if (client_ == nullptr) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  // Disconnect first: it ends a Connect or Subscribe the setup thread may be blocked in.
  client_->Disconnect();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    final_counters_ = client_->counters();
    client = std::move(client_);
  }
  client.reset();  // ends the client's thread: no handler runs after this
  subscribed_ = false;
}

void OpcUaConnector::Run() {
  const bool done = RetryWithBackoff(
      [this] { return Setup(); },
      [this](const Status& failed, std::chrono::milliseconds delay) {
        SetError(failed.message());
        spdlog::warn("opcua connector '{}': {} (retrying in {} ms)", config_.name, failed.message(), delay.count());
      },
      [this](std::chrono::milliseconds delay) { return WaitStop(delay); });
  if (done) {
    spdlog::info("opcua connector '{}': subscribed to {} node(s) on {}", config_.name, config_.nodes.size(),
                 config_.endpoint);
  }
}

Status OpcUaConnector::Setup() {
  if (!client_->connected()) DOPPEL_RETURN_IF_ERROR(client_->Connect());
  if (config_.nodes.empty()) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(std::vector<NodeId> ids, ResolveNodes());
  std::vector<MonitoredItemRequest> items;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const OpcUaNodeMapping& node = config_.nodes[i];
    items.push_back({.node = ids[i],
                     .sampling_interval = node.sampling_interval.count() < 0 ? config_.publishing_interval
                                                                             : node.sampling_interval,
                     .queue_size = node.queue_size,
                     .deadband_absolute = node.deadband});
  }
  DOPPEL_ASSIGN_OR_RETURN(uint32_t id, client_->Subscribe({.publishing_interval = config_.publishing_interval},
                                                          std::move(items),
                                                          [this](std::span<const MonitoredValue> values) {
                                                            HandleValues(values);
                                                          }));
  (void)id;
  subscribed_ = true;
  return Status::Ok();
}

Result<std::vector<NodeId>> OpcUaConnector::ResolveNodes() {
  std::vector<NodeId> ids;
  for (const OpcUaNodeMapping& node : config_.nodes) {
    DOPPEL_ASSIGN_OR_RETURN(NodeId id, ResolveNode(*client_, node.node, node.browse_path));
    ids.push_back(std::move(id));
  }
  return ids;
}

void OpcUaConnector::HandleValues(std::span<const MonitoredValue> values) {
  notifications_.fetch_add(values.size(), std::memory_order_relaxed);
  std::vector<ingest::Reading> readings;
  readings.reserve(values.size());
  const tsdb::TimeNs now = clock_.Now().time_since_epoch().count();
  for (const MonitoredValue& monitored : values) {
    if (monitored.item >= config_.nodes.size()) continue;  // the client's bug; nothing to map it to
    const OpcUaNodeMapping& node = config_.nodes[monitored.item];
    const DataValue& data = monitored.value;
    NoteStatus(monitored.item, data.status);
    if (!data.good()) {
      bad_quality_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    std::string why;
    std::optional<tsdb::Value> value = HistoryValue(data.value, node.index, why);
    if (!value) {
      Reject(node, why);
      continue;
    }
    if (!node.property.empty()) {
      const json::value patch = json::array{json::object{{"op", "add"}, {"path", PointerOf(node.property)}, {"value", JsonOf(*value)}}};
      if (Result<json::object> patched = graph_.PatchTwin(node.twin, patch, {}); !patched.ok()) {
        Reject(node, patched.status().message());
        continue;
      }
      properties_patched_.fetch_add(1, std::memory_order_relaxed);
    }
    readings.push_back({.twin_id = node.twin,
                        .path = node.path(),
                        .time = data.source_time_ns.value_or(data.server_time_ns.value_or(now)),
                        .value = std::move(*value)});
  }
  WriteReadings(readings);
}

void OpcUaConnector::WriteReadings(const std::vector<ingest::Reading>& readings) {
  // Even an empty batch goes through: it replays what the buffer holds.
  if (readings.empty() && (buffer_ == nullptr || buffer_->empty())) return;
  // One group per reading (ForwardingWriter): a value the twin's model refuses must not take the
  // others with it.
  const ForwardingWriter::Outcome outcome = writer_->Write(readings);
  readings_accepted_.fetch_add(outcome.written, std::memory_order_relaxed);
  for (const auto& [index, why] : outcome.refused) {
    const uint64_t n = rejected_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (!ShouldLog(n)) continue;
    if (index < readings.size()) {
      spdlog::warn("opcua connector '{}': reading {}/{} refused ({} so far): {}", config_.name, readings[index].twin_id,
                   readings[index].path, n, why.message());
    } else {
      spdlog::warn("opcua connector '{}': a buffered reading was refused ({} so far): {}", config_.name, n, why.message());
    }
  }
  if (!outcome.error.ok()) {
    const std::string error = fmt::format("history write failed (buffer: {} readings waiting): {}",
                                          buffer_->stats().readings, outcome.error.message());
    if (ShouldLog(store_errors_.fetch_add(1, std::memory_order_relaxed) + 1)) {
      spdlog::warn("opcua connector '{}': {}", config_.name, error);
    }
    SetError(error);
  }
}

void OpcUaConnector::NoteStatus(std::size_t item, uint32_t status) {
  uint32_t previous;
  {
    std::lock_guard lock(status_mu_);
    previous = std::exchange(node_status_[item], status);
  }
  const bool good = (status >> 30) == 0;
  const bool was_good = previous == kNoValueYet || (previous >> 30) == 0;
  if (good == was_good) return;
  const OpcUaNodeMapping& node = config_.nodes[item];
  if (good) {
    spdlog::info("opcua connector '{}': node {} ({}/{}) is Good again", config_.name, NodeText(node), node.twin, node.path());
  } else {
    spdlog::warn("opcua connector '{}': node {} ({}/{}) turned {}; its values are not stored until it is Good again",
                 config_.name, NodeText(node), node.twin, node.path(), StatusCodeName(status));
  }
}

void OpcUaConnector::Reject(const OpcUaNodeMapping& node, std::string_view why) {
  const uint64_t n = rejected_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (ShouldLog(n)) {
    spdlog::warn("opcua connector '{}': value of node {} for {}/{} refused ({} so far): {}", config_.name, NodeText(node),
                 node.twin, node.path(), n, why);
  }
}

const std::string& OpcUaConnector::NodeText(const OpcUaNodeMapping& node) {
  return node.node.empty() ? node.browse_path : node.node;
}

void OpcUaConnector::SetError(std::string error) {
  std::lock_guard lock(status_mu_);
  last_error_ = std::move(error);
}

bool OpcUaConnector::WaitStop(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  return stop_cv_.wait_for(lock, delay, [this] { return stopping_; });
}

OpcUaConnectorStats OpcUaConnector::stats() const {
  OpcUaConnectorStats stats;
  {
    std::lock_guard lock(mu_);
    const OpcUaClient::Counters counters = client_ != nullptr ? client_->counters() : final_counters_;
    stats.connected = client_ != nullptr && client_->connected();
    stats.connects = counters.connects;
    stats.reconnects = counters.reconnects;
  }
  stats.subscribed = stats.connected && subscribed_.load();
  stats.notifications = notifications_.load(std::memory_order_relaxed);
  stats.readings_accepted = readings_accepted_.load(std::memory_order_relaxed);
  stats.properties_patched = properties_patched_.load(std::memory_order_relaxed);
  stats.bad_quality = bad_quality_.load(std::memory_order_relaxed);
  stats.rejected = rejected_.load(std::memory_order_relaxed);
  if (buffer_ != nullptr) stats.buffer = buffer_->stats();
  std::lock_guard lock(status_mu_);
  stats.last_error = last_error_;
  return stats;
}

json::object OpcUaConnector::HealthJson() const {
  const OpcUaConnectorStats s = stats();
  json::array nodes;
  {
    std::lock_guard lock(status_mu_);
    for (std::size_t i = 0; i < config_.nodes.size(); ++i) {
      const OpcUaNodeMapping& node = config_.nodes[i];
      nodes.push_back(json::object{
          {"node", NodeText(node)},
          {"twin", node.twin},
          {"path", node.path()},
          {"status", node_status_[i] == kNoValueYet ? json::value(nullptr) : json::value(StatusCodeName(node_status_[i]))}});
    }
  }
  return json::object{{"name", config_.name},
                      {"type", "opcua"},
                      {"endpoint", config_.endpoint},
                      {"connected", s.connected},
                      {"subscribed", s.subscribed},
                      {"connects", s.connects},
                      {"reconnects", s.reconnects},
                      {"notifications", s.notifications},
                      {"readingsAccepted", s.readings_accepted},
                      {"propertiesPatched", s.properties_patched},
                      {"badQuality", s.bad_quality},
                      {"rejected", s.rejected},
                      {"lastError", s.last_error},
                      {"nodes", std::move(nodes)},
                      {"buffer", json::object{{"batches", s.buffer.batches},
                                              {"readings", s.buffer.readings},
                                              {"bytes", s.buffer.bytes},
                                              {"replayedReadings", s.buffer.replayed_readings},
                                              {"droppedReadings", s.buffer.dropped_readings}}}};
}

void OpcUaConnector::RenderMetrics(std::string& out) const {
  const OpcUaConnector* self = this;
  RenderOpcUaMetrics(std::span<const OpcUaConnector* const>(&self, 1), out);
}

void RenderOpcUaMetrics(std::span<const OpcUaConnector* const> connectors, std::string& out) {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*value)(const OpcUaConnectorStats&);
  };
  static constexpr Family kFamilies[] = {
      {"doppel_opcua_connected", "gauge", "1 while the OPC UA connector has a session",
       [](const OpcUaConnectorStats& s) -> uint64_t { return s.connected ? 1 : 0; }},
      {"doppel_opcua_reconnects_total", "counter", "Sessions re-established after a lost connection",
       [](const OpcUaConnectorStats& s) { return s.reconnects; }},
      {"doppel_opcua_notifications_total", "counter", "Monitored values received",
       [](const OpcUaConnectorStats& s) { return s.notifications; }},
      {"doppel_opcua_readings_total", "counter", "Readings written to history",
       [](const OpcUaConnectorStats& s) { return s.readings_accepted; }},
      {"doppel_opcua_bad_quality_total", "counter", "Values skipped for a Bad or Uncertain StatusCode",
       [](const OpcUaConnectorStats& s) { return s.bad_quality; }},
      {"doppel_opcua_rejected_total", "counter", "Values refused by the twin or history",
       [](const OpcUaConnectorStats& s) { return s.rejected; }},
      {"doppel_opcua_buffered_readings", "gauge", "Readings waiting in the store-and-forward buffer",
       [](const OpcUaConnectorStats& s) { return s.buffer.readings; }},
      {"doppel_opcua_dropped_readings_total", "counter", "Readings dropped from a full store-and-forward buffer",
       [](const OpcUaConnectorStats& s) { return s.buffer.dropped_readings; }},
  };
  std::vector<std::pair<std::string, OpcUaConnectorStats>> all;
  for (const OpcUaConnector* connector : connectors) all.emplace_back(connector->config().name, connector->stats());
  for (const Family& family : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, family.help, family.name, family.type);
    for (const auto& [name, stats] : all) out += fmt::format("{}{{connector=\"{}\"}} {}\n", family.name, name, family.value(stats));
  }
}

}  // namespace doppel::connect::opcua
