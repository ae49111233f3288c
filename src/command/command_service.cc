#include "command/command_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "base/record_journal.h"
#include "model/value_validation.h"

namespace doppel::command {
namespace {

constexpr std::string_view kStatusNames[] = {"pending", "delivered", "succeeded", "failed", "timedOut", "unknown"};

// How many DesiredWrite scopes the current thread has open (graph events are published on the
// writer's thread, so this tells the service's event handler whose write it is looking at).
thread_local int t_desired_writes = 0;

std::string RandomHex() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   static_cast<uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()))};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

std::optional<TimePoint> TimeMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  auto t = ParseRfc3339(v->as_string());
  return t.ok() ? std::optional<TimePoint>(*t) : std::nullopt;
}

std::string StringMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::value Member(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v == nullptr ? json::value(nullptr) : *v;
}

uint64_t UintMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return 0;
}

// JSON equality where numbers compare by value (a device may report 12 for a desired 12.0).
bool SameValue(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  if (a.is_object() && b.is_object()) {
    const json::object& x = a.as_object();
    const json::object& y = b.as_object();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      const json::value* w = y.if_contains(k);
      if (w == nullptr || !SameValue(v, *w)) return false;
    }
    return true;
  }
  if (a.is_array() && b.is_array()) {
    const json::array& x = a.as_array();
    const json::array& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!SameValue(x[i], y[i])) return false;
    }
    return true;
  }
  return a == b;
}

std::string DesiredKey(std::string_view twin_id, std::string_view path) { return fmt::format("{}\n{}", twin_id, path); }

// The first one or two levels of a JSON Pointer ("/a/b/c" → {"a", "b"}), unescaped.
std::vector<std::string> PointerLevels(std::string_view pointer, std::size_t max) {
  std::vector<std::string> levels;
  while (!pointer.empty() && pointer[0] == '/' && levels.size() < max) {
    pointer.remove_prefix(1);
    std::size_t end = pointer.find('/');
    std::string level(pointer.substr(0, end));
    for (std::size_t at = 0; (at = level.find('~', at)) != std::string::npos; ++at) {
      if (at + 1 < level.size()) level.replace(at, 2, level[at + 1] == '1' ? "/" : "~");
    }
    levels.push_back(std::move(level));
    pointer = end == std::string_view::npos ? std::string_view() : pointer.substr(end);
  }
  return levels;
}

json::object DesiredStateJson(const DesiredState& s) {
  json::object o{{"desiredValue", s.desired_value},
                 {"desiredVersion", s.desired_version},
                 {"desiredTime", FormatRfc3339(s.desired_time)},
                 {"ackCode", s.ack_code},
                 {"ackVersion", s.ack_version},
                 {"ackDescription", s.ack_description}};
  if (s.reported_time) {
    o["reportedValue"] = s.reported_value;
    o["reportedTime"] = FormatRfc3339(*s.reported_time);
  }
  return o;
}

DesiredState DesiredStateFromJson(const json::object& o) {
  DesiredState s;
  s.desired_value = Member(o, "desiredValue");
  s.desired_version = UintMember(o, "desiredVersion");
  s.desired_time = TimeMember(o, "desiredTime").value_or(TimePoint{});
  s.reported_time = TimeMember(o, "reportedTime");
  if (s.reported_time) s.reported_value = Member(o, "reportedValue");
  s.ack_code = static_cast<int>(UintMember(o, "ackCode"));
  s.ack_version = UintMember(o, "ackVersion");
  s.ack_description = StringMember(o, "ackDescription");
  return s;
}

// The DTDL command addressed by an invocation, after checking the twin and component exist.
Result<model::Content> FindCommand(const twin::GraphState& state, const InvokeRequest& request) {
  const twin::Twin* twin = state.FindTwin(request.twin_id);
  if (twin == nullptr) {
    return Status::NotFound(fmt::format("there is no digital twin with id '{}'", request.twin_id),
                            "DigitalTwinNotFound");
  }
  model::InterfacePtr iface = state.models().Get(twin->model_id);
  if (iface == nullptr) return Status::NotFound(fmt::format("model '{}' is not known", twin->model_id), "ModelNotFound");
  if (!request.component.empty()) {
    const model::Content* component = iface->Find(request.component);
    if (component == nullptr || component->kind != model::ContentKind::kComponent) {
      return Status::NotFound(fmt::format("twin '{}' has no component '{}'", request.twin_id, request.component),
                              "ComponentNotFound");
    }
    iface = state.models().Get(component->component_interface);
    if (iface == nullptr) return Status::NotFound("the component's model is not known", "ModelNotFound");
  }
  const model::Content* command = iface->Find(request.command);
  if (command == nullptr || command->kind != model::ContentKind::kCommand) {
    return Status::NotFound(fmt::format("model '{}' has no command '{}'", iface->id, request.command),
                            "CommandNotFound");
  }
  return *command;
}

Status ValidatePayload(const model::Content& command, const json::value& payload) {
  if (payload.is_null()) return Status::Ok();  // no payload: the device decides (as devsim's stop)
  if (!command.request) {
    return Status::InvalidArgument(fmt::format("command '{}' takes no request payload", command.name),
                                   "ValidationFailed");
  }
  if (command.request->schema == nullptr) return Status::Ok();
  return model::ValidateValue(*command.request->schema, payload, command.request->name);
}

}  // namespace

std::string_view InvocationStatusName(InvocationStatus status) { return kStatusNames[static_cast<int>(status)]; }

bool IsTerminal(InvocationStatus status) {
  return status != InvocationStatus::kPending && status != InvocationStatus::kDelivered;
}

json::object InvocationJson(const Invocation& inv) {
  json::object o{{"invocationId", inv.id},
                 {"correlationId", inv.correlation_id},
                 {"twinId", inv.twin_id},
                 {"command", inv.command},
                 {"request", inv.request},
                 {"status", InvocationStatusName(inv.status)},
                 {"createdTime", FormatRfc3339(inv.created)},
                 {"deadline", FormatRfc3339(inv.deadline)},
                 {"response", inv.response}};
  if (!inv.component.empty()) o["component"] = inv.component;
  if (!inv.caller.empty()) o["caller"] = inv.caller;
  if (inv.delivered) o["deliveredTime"] = FormatRfc3339(*inv.delivered);
  if (inv.completed) o["completedTime"] = FormatRfc3339(*inv.completed);
  if (inv.response_status) o["responseStatus"] = *inv.response_status;
  if (!inv.error.empty()) o["error"] = inv.error;
  return o;
}

Result<Invocation> InvocationFromJson(const json::value& value) {
  if (!value.is_object()) return Status::InvalidArgument("an invocation must be an object");
  const json::object& o = value.as_object();
  Invocation inv;
  inv.id = StringMember(o, "invocationId");
  inv.correlation_id = StringMember(o, "correlationId");
  inv.twin_id = StringMember(o, "twinId");
  inv.component = StringMember(o, "component");
  inv.command = StringMember(o, "command");
  inv.request = Member(o, "request");
  inv.caller = StringMember(o, "caller");
  std::string status = StringMember(o, "status");
  auto it = std::find(std::begin(kStatusNames), std::end(kStatusNames), status);
  if (inv.id.empty() || it == std::end(kStatusNames)) return Status::InvalidArgument("not an invocation record");
  inv.status = static_cast<InvocationStatus>(it - std::begin(kStatusNames));
  inv.created = TimeMember(o, "createdTime").value_or(TimePoint{});
  inv.deadline = TimeMember(o, "deadline").value_or(inv.created);
  inv.delivered = TimeMember(o, "deliveredTime");
  inv.completed = TimeMember(o, "completedTime");
  if (const json::value* s = o.if_contains("responseStatus"); s != nullptr && s->is_int64()) {
    inv.response_status = static_cast<int>(s->as_int64());
  }
  inv.response = Member(o, "response");
  inv.error = StringMember(o, "error");
  return inv;
}

CommandService::DesiredWrite::DesiredWrite() { ++t_desired_writes; }
CommandService::DesiredWrite::~DesiredWrite() { --t_desired_writes; }

CommandService::CommandService(CommandServiceOptions options, twin::TwinGraph& graph, twin::EventBus& events,
                               CommandTransport* transport, const Clock& clock)
    : options_(std::move(options)), graph_(graph), events_(events), transport_(transport), clock_(clock) {}

Result<std::unique_ptr<CommandService>> CommandService::Open(CommandServiceOptions options, twin::TwinGraph& graph,
                                                             twin::EventBus& events, CommandTransport* transport,
                                                             const Clock& clock) {
  std::unique_ptr<CommandService> service(new CommandService(std::move(options), graph, events, transport, clock));
  DOPPEL_RETURN_IF_ERROR(service->Load());
  CommandService* self = service.get();
  if (transport != nullptr) {
    transport->SetResponseHandler([self](const CommandResponse& response) { self->OnResponse(response); });
  }
  service->subscription_ = events.Subscribe([self](const twin::GraphEvent& e) { self->OnGraphEvent(e); });
  return service;
}

CommandService::~CommandService() {
  Stop();
  events_.Unsubscribe(subscription_);
}

Status CommandService::Load() {
  if (options_.dir.empty()) return Status::Ok();
  DOPPEL_ASSIGN_OR_RETURN(journal_, RecordJournal::Open(options_.dir));
  DOPPEL_ASSIGN_OR_RETURN(std::vector<json::object> records, journal_->ReadAll());
  std::size_t interrupted = 0;
  for (json::object& record : records) {
    const std::string key = StringMember(record, "key");
    if (StringMember(record, "kind") == "desired") {
      DesiredState state = DesiredStateFromJson(record);
      std::string twin_id = key.substr(0, key.find('\n'));
      uint64_t& version = desired_versions_[twin_id];
      version = std::max(version, state.desired_version);
      desired_[key] = std::move(state);
      continue;
    }
    auto inv = InvocationFromJson(record);
    if (!inv.ok()) continue;
    // The device may or may not have run a command whose response we never saw: say so rather
    // than guess "timed out" (which reads as "the device did not answer").
    if (!IsTerminal(inv->status)) {
      inv->status = InvocationStatus::kUnknown;
      inv->completed = clock_.Now();
      inv->error = "the server stopped before the device answered; the command may or may not have run";
      ++interrupted;
    }
    invocations_[inv->id] = std::move(*inv);
  }
  if (interrupted > 0) spdlog::warn("commands: {} invocations were in flight at the last stop: now 'unknown'", interrupted);
  std::lock_guard lock(mu_);
  return CompactLocked();
}

void CommandService::Start() {
  std::lock_guard lock(mu_);
  if (worker_.joinable() || stopping_) return;
  worker_ = std::thread([this] { Run(); });
}

void CommandService::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void CommandService::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    changed_.wait_for(lock, options_.tick);
    if (stopping_) break;
    lock.unlock();
    ExpireDue();
    lock.lock();
  }
}

Result<Invocation> CommandService::Invoke(const InvokeRequest& request) {
  if (transport_ == nullptr) {
    return Status::Unavailable("commands have no transport on this server: give a connector a \"commands\" block "
                               "(docs/commands.md)");
  }
  std::chrono::milliseconds timeout = request.timeout.value_or(options_.default_timeout);
  if (timeout < std::chrono::milliseconds(1) || timeout > options_.max_timeout) {
    return Status::InvalidArgument(fmt::format("timeout must be between 1 ms and {} ms, got {} ms",
                                               options_.max_timeout.count(), timeout.count()));
  }
  DOPPEL_ASSIGN_OR_RETURN(model::Content command,
                          graph_.Read([&](const twin::GraphState& s) { return FindCommand(s, request); }));
  DOPPEL_RETURN_IF_ERROR(ValidatePayload(command, request.payload));
  Invocation inv{.id = RandomHex(),
                 .correlation_id = RandomHex(),
                 .twin_id = request.twin_id,
                 .component = request.component,
                 .command = request.command,
                 .request = request.payload,
                 .caller = request.caller,
                 .created = clock_.Now()};
  inv.deadline = inv.created + timeout;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("the command service is stopping");
    ++invoked_;
    invocations_[inv.id] = inv;
    by_correlation_[inv.correlation_id] = inv.id;
    PersistLocked(inv, options_.sync);
  }
  // Outside the lock: a publish waits for the broker, and the response may come back before it
  // returns (OnResponse then completes the invocation first).
  Status sent = transport_->SendCommand({.twin_id = inv.twin_id,
                                         .component = inv.component,
                                         .command = inv.command,
                                         .correlation_id = inv.correlation_id,
                                         .payload = inv.request});
  std::lock_guard lock(mu_);
  Invocation& stored = invocations_[inv.id];
  if (stored.status == InvocationStatus::kPending) {
    if (sent.ok()) {
      stored.status = InvocationStatus::kDelivered;
      stored.delivered = clock_.Now();
      PersistLocked(stored, false);
    } else {
      stored.error = fmt::format("not delivered: {}", sent.message());
      CompleteLocked(stored, InvocationStatus::kFailed);
    }
  }
  return stored;
}

Result<Invocation> CommandService::Await(std::string_view invocation_id) {
  std::unique_lock lock(mu_);
  auto it = invocations_.find(invocation_id);
  if (it == invocations_.end()) return Status::NotFound("no such invocation", "InvocationNotFound");
  const std::string id = it->first;
  // Compaction may forget a finished invocation before this thread wakes: look it up each time.
  changed_.wait(lock, [&] {
    auto found = invocations_.find(id);
    return stopping_ || found == invocations_.end() || IsTerminal(found->second.status);
  });
  it = invocations_.find(id);
  if (it == invocations_.end()) return Status::NotFound("the invocation was forgotten", "InvocationNotFound");
  return it->second;
}

Result<Invocation> CommandService::Find(std::string_view twin_id, std::string_view invocation_id) const {
  std::lock_guard lock(mu_);
  auto it = invocations_.find(invocation_id);
  if (it == invocations_.end() || it->second.twin_id != twin_id) {
    return Status::NotFound(fmt::format("twin '{}' has no command invocation '{}'", twin_id, invocation_id),
                            "InvocationNotFound");
  }
  return it->second;
}

std::vector<Invocation> CommandService::List(std::string_view twin_id, std::size_t limit) const {
  std::vector<Invocation> found;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, inv] : invocations_) {
      if (inv.twin_id == twin_id) found.push_back(inv);
    }
  }
  std::sort(found.begin(), found.end(), [](const Invocation& a, const Invocation& b) {
    return a.created != b.created ? a.created > b.created : a.id > b.id;
  });
  if (found.size() > limit) found.resize(limit);
  return found;
}

void CommandService::OnResponse(const CommandResponse& response) {
  std::lock_guard lock(mu_);
  auto it = by_correlation_.find(response.correlation_id);
  if (it == by_correlation_.end()) {
    spdlog::debug("commands: response for unknown or finished correlation id '{}'", response.correlation_id);
    return;
  }
  Invocation& inv = invocations_.at(it->second);
  inv.response_status = response.status;
  inv.response = response.payload;
  if (!inv.delivered) inv.delivered = clock_.Now();  // the answer proves delivery
  CompleteLocked(inv, response.status >= 200 && response.status < 300 ? InvocationStatus::kSucceeded
                                                                        : InvocationStatus::kFailed);
}

void CommandService::CompleteLocked(Invocation& inv, InvocationStatus status) {
  inv.status = status;
  inv.completed = clock_.Now();
  by_correlation_.erase(inv.correlation_id);
  ++counts_[static_cast<int>(status)];
  PersistLocked(inv, false);
  changed_.notify_all();
}

void CommandService::ExpireDue() {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.Now();
  std::vector<std::string> due;
  for (const auto& [correlation, id] : by_correlation_) {
    if (invocations_.at(id).deadline <= now) due.push_back(id);
  }
  for (const std::string& id : due) {
    Invocation& inv = invocations_.at(id);
    inv.error = "the device did not answer in time";
    CompleteLocked(inv, InvocationStatus::kTimedOut);
  }
  for (auto& [key, state] : desired_) {
    if (state.ack_code == 202 && state.desired_time + options_.desired_timeout <= now) {
      state.ack_code = 408;
      state.ack_description = "the device did not report the desired value in time";
      PersistDesiredLocked(key, state);
    }
  }
}

// ---- desired properties ----------------------------------------------------------------------

void CommandService::OnPatched(std::string_view twin_id, std::string_view component, const json::value& patch,
                               const Status& may_send) {
  if (!patch.is_array()) return;
  // Which writable properties the patch touched, and their values now.
  struct Touched {
    std::string path;       // "prop" or "component/prop"
    std::string component;  // "" for the twin's own
    std::string name;
    json::value value;
  };
  std::vector<Touched> touched = graph_.Read([&](const twin::GraphState& state) {
    std::vector<Touched> out;
    const twin::Twin* twin = state.FindTwin(twin_id);
    if (twin == nullptr) return out;
    model::InterfacePtr root = state.models().Get(twin->model_id);
    if (root == nullptr) return out;
    for (const json::value& op : patch.as_array()) {
      if (!op.is_object() || !op.as_object().contains("path")) continue;
      const json::value& path = op.as_object().at("path");
      if (!path.is_string()) continue;
      std::vector<std::string> levels = PointerLevels(path.as_string(), 2);
      if (!component.empty()) levels.insert(levels.begin(), std::string(component));
      if (levels.empty()) continue;
      std::string comp, name = levels[0];
      model::InterfacePtr iface = root;
      const model::Content* content = iface->Find(name);
      if (content != nullptr && content->kind == model::ContentKind::kComponent && levels.size() >= 2) {
        comp = name;
        name = levels[1];
        iface = state.models().Get(content->component_interface);
        content = iface == nullptr ? nullptr : iface->Find(name);
      }
      if (content == nullptr || content->kind != model::ContentKind::kProperty || !content->writable) continue;
      const json::object* holder = &twin->doc;
      if (!comp.empty()) {
        const json::value* c = twin->doc.if_contains(comp);
        holder = c != nullptr && c->is_object() ? &c->as_object() : nullptr;
      }
      const json::value* value = holder == nullptr ? nullptr : holder->if_contains(name);
      if (value == nullptr) continue;  // removed: nothing to ask the device for
      std::string key_path = comp.empty() ? name : comp + "/" + name;
      auto same = std::find_if(out.begin(), out.end(), [&](const Touched& t) { return t.path == key_path; });
      if (same == out.end()) out.push_back({key_path, comp, name, *value});
    }
    return out;
  });
  if (touched.empty()) return;
  DesiredUpdate update{.twin_id = std::string(twin_id)};
  for (const Touched& t : touched) {
    if (t.component.empty()) {
      update.properties[t.name] = t.value;
    } else {
      json::value& c = update.properties[t.component];
      if (!c.is_object()) c = json::object{};
      c.as_object()[t.name] = t.value;
    }
  }
  {
    std::lock_guard lock(mu_);
    update.version = ++desired_versions_[update.twin_id];
    for (const Touched& t : touched) {
      DesiredState& state = desired_[DesiredKey(twin_id, t.path)];
      state.desired_value = t.value;
      state.desired_version = update.version;
      state.desired_time = clock_.Now();
      state.ack_code = 202;
      state.ack_description = "sent; waiting for the device to report it";
    }
  }
  Status sent = !may_send.ok()         ? may_send
                : transport_ != nullptr ? transport_->SendDesired(update)
                                        : Status::Unavailable("commands have no transport on this server");
  std::lock_guard lock(mu_);
  sent.ok() ? ++desired_sent_ : ++desired_send_failed_;
  for (const Touched& t : touched) {
    const std::string key = DesiredKey(twin_id, t.path);
    DesiredState& state = desired_[key];
    if (!sent.ok() && state.desired_version == update.version && state.ack_code == 202) {
      state.ack_code = may_send.ok() ? 503 : 403;
      state.ack_description = fmt::format("not sent: {}", sent.message());
    }
    PersistDesiredLocked(key, state);
  }
}

void CommandService::OnGraphEvent(const twin::GraphEvent& event) {
  if (event.type == twin::EventType::kTwinDeleted) {
    std::lock_guard lock(mu_);
    const std::string prefix = DesiredKey(event.subject, "");
    for (auto it = desired_.lower_bound(prefix); it != desired_.end() && it->first.starts_with(prefix);) {
      it = desired_.erase(it);
    }
    return;
  }
  // Doppel's own writes set desired values (OnPatched); every other update of a tracked
  // property is the device reporting (the MQTT connector's property messages).
  if (event.type != twin::EventType::kTwinUpdated || t_desired_writes > 0 || !event.data.is_object()) return;
  const json::object& data = event.data.as_object();
  const json::value* doc = data.if_contains("doc");
  const json::value* patch = data.if_contains("patch");
  if (doc == nullptr || !doc->is_object() || patch == nullptr || !patch->is_array()) return;
  std::lock_guard lock(mu_);
  const std::string prefix = DesiredKey(event.subject, "");
  if (desired_.lower_bound(prefix) == desired_.end() || !desired_.lower_bound(prefix)->first.starts_with(prefix)) return;
  for (const json::value& op : patch->as_array()) {
    if (!op.is_object()) continue;
    const json::value* path = op.as_object().if_contains("path");
    if (path == nullptr || !path->is_string()) continue;
    std::vector<std::string> levels = PointerLevels(path->as_string(), 2);
    if (levels.empty()) continue;
    // "prop", or "component/prop" when the first level is a component.
    for (std::size_t depth = 1; depth <= levels.size(); ++depth) {
      std::string key_path = depth == 1 ? levels[0] : levels[0] + "/" + levels[1];
      auto it = desired_.find(DesiredKey(event.subject, key_path));
      if (it == desired_.end()) continue;
      const json::value* holder = doc;
      if (depth == 2) holder = doc->as_object().if_contains(levels[0]);
      const json::value* value =
          holder != nullptr && holder->is_object() ? holder->as_object().if_contains(levels[depth - 1]) : nullptr;
      if (value == nullptr) continue;
      DesiredState& state = it->second;
      state.reported_value = *value;
      state.reported_time = clock_.Now();
      if (SameValue(*value, state.desired_value)) {
        state.ack_code = 200;
        state.ack_version = state.desired_version;
        state.ack_description = "reported by the device";
      }
      PersistDesiredLocked(it->first, state);
    }
  }
}

std::map<std::string, DesiredState> CommandService::DesiredStates(std::string_view twin_id) const {
  std::map<std::string, DesiredState> out;
  std::lock_guard lock(mu_);
  const std::string prefix = DesiredKey(twin_id, "");
  for (auto it = desired_.lower_bound(prefix); it != desired_.end() && it->first.starts_with(prefix); ++it) {
    out[it->first.substr(prefix.size())] = it->second;
  }
  return out;
}

void CommandService::AddDesiredMetadata(std::string_view twin_id, json::object& twin_doc) const {
  for (const auto& [path, state] : DesiredStates(twin_id)) {
    json::object* holder = &twin_doc;
    std::string name = path;
    if (std::size_t slash = path.find('/'); slash != std::string::npos) {
      json::value* component = twin_doc.if_contains(path.substr(0, slash));
      if (component == nullptr || !component->is_object()) continue;
      holder = &component->as_object();
      name = path.substr(slash + 1);
    }
    json::value& metadata = (*holder)["$metadata"];
    if (!metadata.is_object()) metadata = json::object{};
    json::value& entry = metadata.as_object()[name];
    if (!entry.is_object()) entry = json::object{};
    for (auto& [k, v] : DesiredStateJson(state)) entry.as_object()[k] = v;
  }
}

// ---- persistence -------------------------------------------------------------------------------

void CommandService::PersistLocked(const Invocation& inv, bool sync) {
  if (journal_ == nullptr) {
    // Memory only: keep the bound all the same.
    if (invocations_.size() > options_.max_invocations * 2) (void)CompactLocked();
    return;
  }
  json::object record = InvocationJson(inv);
  record["key"] = "inv:" + inv.id;
  record["kind"] = "invocation";
  if (Status s = journal_->Append(record, sync); !s.ok()) spdlog::error("commands: {}", s.ToString());
  CompactIfDueLocked();
}

void CommandService::PersistDesiredLocked(const std::string& key, const DesiredState& state) {
  if (journal_ == nullptr) return;
  json::object record = DesiredStateJson(state);
  record["key"] = key;
  record["kind"] = "desired";
  if (Status s = journal_->Append(record, false); !s.ok()) spdlog::error("commands: {}", s.ToString());
  CompactIfDueLocked();
}

void CommandService::CompactIfDueLocked() {
  const std::size_t retained = std::min(invocations_.size(), options_.max_invocations) + desired_.size();
  if (journal_->lines() > 4 * retained + 1024) {
    if (Status s = CompactLocked(); !s.ok()) spdlog::error("commands: compaction failed: {}", s.ToString());
  }
}

Status CommandService::CompactLocked() {
  // Forget the oldest finished invocations beyond the bound (open ones are never dropped).
  if (invocations_.size() > options_.max_invocations) {
    std::vector<std::pair<TimePoint, std::string>> finished;
    for (const auto& [id, inv] : invocations_) {
      if (IsTerminal(inv.status)) finished.emplace_back(inv.created, id);
    }
    std::sort(finished.begin(), finished.end());
    std::size_t excess = invocations_.size() - options_.max_invocations;
    for (std::size_t i = 0; i < excess && i < finished.size(); ++i) invocations_.erase(finished[i].second);
  }
  if (journal_ == nullptr) return Status::Ok();
  std::vector<json::object> records;
  for (const auto& [id, inv] : invocations_) {
    json::object record = InvocationJson(inv);
    record["key"] = "inv:" + id;
    record["kind"] = "invocation";
    records.push_back(std::move(record));
  }
  for (const auto& [key, state] : desired_) {
    json::object record = DesiredStateJson(state);
    record["key"] = key;
    record["kind"] = "desired";
    records.push_back(std::move(record));
  }
  return journal_->Rewrite(records);
}

void CommandService::RenderMetrics(std::string& out) const {
  std::lock_guard lock(mu_);
  out += "# HELP doppel_command_invocations_total Command invocations accepted.\n"
         "# TYPE doppel_command_invocations_total counter\n";
  out += fmt::format("doppel_command_invocations_total {}\n", invoked_);
  out += "# HELP doppel_command_completed_total Command invocations finished, by status.\n"
         "# TYPE doppel_command_completed_total counter\n";
  for (int s = static_cast<int>(InvocationStatus::kSucceeded); s <= static_cast<int>(InvocationStatus::kTimedOut); ++s) {
    out += fmt::format("doppel_command_completed_total{{status=\"{}\"}} {}\n", kStatusNames[s], counts_[s]);
  }
  out += "# HELP doppel_command_desired_sent_total Desired-property documents sent to devices, by outcome.\n"
         "# TYPE doppel_command_desired_sent_total counter\n";
  out += fmt::format("doppel_command_desired_sent_total{{outcome=\"sent\"}} {}\n", desired_sent_);
  out += fmt::format("doppel_command_desired_sent_total{{outcome=\"failed\"}} {}\n", desired_send_failed_);
}

}  // namespace doppel::command
