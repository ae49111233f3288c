// Lock order: the graph's lock, then the hub's mu_, then a session's queue_mu_. Graph events
// are published under the graph's exclusive lock and take mu_ exclusively (a create may
// join model subscriptions); readings take mu_ shared; a subscribe resolves its twins and
// installs itself under one graph.Read, so no event can fall between the two.
#include "stream/stream_hub.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <optional>

#include "query/query.h"
#include "stream/internal/messages.h"

namespace doppel::stream {

using internal::Subscription;
using internal::SubscriptionTag;

// ---------------------------------------------------------------- StreamSession

StreamSession::StreamSession(StreamHub& hub, std::function<void()> wake, twin::TwinFilter visible,
                             twin::FieldMask masked)
    : hub_(hub),
      wake_(std::move(wake)),
      visible_(std::move(visible)),
      masked_(std::move(masked)),
      ring_(hub.limits().queue_capacity) {}

StreamSession::~StreamSession() = default;

std::size_t StreamSession::subscription_count() const {
  std::shared_lock lock(hub_.mu_);
  return subscriptions_.size();
}

void StreamSession::Wake(std::unique_lock<std::mutex>& lock) {
  if (!armed_) return;
  armed_ = false;
  lock.unlock();
  if (wake_) wake_();
}

void StreamSession::Enqueue(const std::shared_ptr<const std::string>& body,
                            const std::shared_ptr<const SubscriptionTag>& tag) {
  std::unique_lock lock(queue_mu_);
  if (closing_) return;
  if (size_ == ring_.size()) {
    ++dropped_since_take_;
    hub_.messages_dropped_.fetch_add(1, std::memory_order_relaxed);
    if (dropped_since_take_ >= hub_.limits().disconnect_after_drops) {
      closing_ = true;
      close_reason_ = "slow consumer: " + std::to_string(dropped_since_take_) + " messages dropped unread";
      hub_.slow_disconnects_.fetch_add(1, std::memory_order_relaxed);
      armed_ = true;  // whatever the writer is doing, it must learn to close
      Wake(lock);
    }
    return;
  }
  ring_[(head_ + size_) % ring_.size()] = Item{body, tag};
  ++size_;
  Wake(lock);
}

void StreamSession::Reply(std::string message) {
  std::unique_lock lock(queue_mu_);
  if (closing_) return;
  if (replies_.size() >= hub_.limits().max_pending_replies) {
    closing_ = true;
    close_reason_ = "too many unread replies";
    armed_ = true;
    return Wake(lock);
  }
  replies_.push_back(std::move(message));
  Wake(lock);
}

void StreamSession::Error(std::string_view message, const json::value* request, std::string_view raw) {
  hub_.client_errors_.fetch_add(1, std::memory_order_relaxed);
  Reply(internal::ErrorMessage(message, request, raw));
}

void StreamSession::Take(Outbox& out) {
  std::vector<Item> items;
  uint64_t dropped = 0;
  std::size_t before = out.frames.size();
  {
    std::lock_guard lock(queue_mu_);
    if (closing_) {
      // Free the queue now: a slow client's backlog is exactly what we want gone.
      for (std::size_t i = 0; i < size_; ++i) ring_[(head_ + i) % ring_.size()] = Item{};
      size_ = 0;
      replies_.clear();
      out.close = true;
      out.close_code = 1008;
      out.close_reason = close_reason_;
      return;
    }
    for (std::string& reply : replies_) out.frames.push_back(std::move(reply));
    replies_.clear();
    items.reserve(size_);
    for (std::size_t i = 0; i < size_; ++i) items.push_back(std::move(ring_[(head_ + i) % ring_.size()]));
    head_ = (head_ + size_) % ring_.size();
    size_ = 0;
    dropped = dropped_since_take_;
    dropped_since_take_ = 0;
    if (items.empty() && dropped == 0 && out.frames.size() == before) armed_ = true;
  }
  // Splicing allocates: do it here, on the client's own thread, outside the lock.
  for (const Item& item : items) {
    if (!item.tag->active.load(std::memory_order_relaxed)) continue;
    out.frames.push_back(internal::SpliceSubscription(*item.body, item.tag->quoted_id));
  }
  if (dropped > 0) out.frames.push_back(internal::DroppedMessage(dropped));
  hub_.messages_sent_.fetch_add(out.frames.size() - before, std::memory_order_relaxed);
  if (out.frames.size() == before && !items.empty()) {
    // Everything taken had been withdrawn by an unsubscribe: wait for more.
    std::lock_guard lock(queue_mu_);
    if (size_ == 0 && replies_.empty() && dropped_since_take_ == 0 && !closing_) armed_ = true;
  }
}

void StreamSession::HandleMessage(std::string_view text) {
  auto parsed = ParseJson(text, {.max_bytes = hub_.limits().max_message_bytes, .max_depth = 16});
  if (!parsed.ok()) return Error(parsed.status().message(), nullptr, text);
  const json::value& request = *parsed;
  if (!request.is_object()) return Error("a request must be a JSON object with an \"op\"", &request, "");
  const json::value* op = request.get_object().if_contains("op");
  if (!op || !op->is_string()) return Error("a request needs \"op\": subscribe, unsubscribe, refresh or list", &request, "");
  const json::object& obj = request.get_object();
  if (op->get_string() == "subscribe") return hub_.Subscribe(*this, obj);
  if (op->get_string() == "unsubscribe") return hub_.Unsubscribe(*this, obj);
  if (op->get_string() == "refresh") return hub_.Refresh(*this, obj);
  if (op->get_string() == "list") return hub_.List(*this, obj);
  Error(fmt::format("unknown op \"{}\" (known: subscribe, unsubscribe, refresh, list)",
                    std::string_view(op->get_string())),
        &request, "");
}

// ---------------------------------------------------------------- StreamHub: lifecycle

StreamHub::StreamHub(twin::TwinGraph& graph, twin::EventBus& events, ingest::Ingestor& ingestor,
                     StreamLimits limits)
    : graph_(graph), events_(events), ingestor_(ingestor), limits_(limits) {
  bus_subscription_ = events_.Subscribe([this](const twin::GraphEvent& e) { OnGraphEvent(e); });
  ingest_subscription_ = ingestor_.Subscribe([this](std::span<const ingest::Reading> r) { OnReadings(r); });
}

StreamHub::~StreamHub() {
  ingestor_.Unsubscribe(ingest_subscription_);
  events_.Unsubscribe(bus_subscription_);
}

Result<std::shared_ptr<StreamSession>> StreamHub::Connect(std::function<void()> wake,
                                                          twin::TwinFilter visible,
                                                          twin::FieldMask masked) {
  // Before the session exists, so no event finds it untracked.
  if (visible || masked) TrackModels();
  auto session = std::make_shared<StreamSession>(*this, std::move(wake), std::move(visible),
                                                 std::move(masked));
  std::unique_lock lock(mu_);
  if (sessions_.size() >= limits_.max_connections) {
    connections_refused_.fetch_add(1, std::memory_order_relaxed);
    return Status(StatusCode::kResourceExhausted, "TooManyRequests",
                  fmt::format("too many stream connections (limit {}); try again later", limits_.max_connections));
  }
  sessions_.push_back(session.get());
  connections_.fetch_add(1, std::memory_order_relaxed);
  connections_total_.fetch_add(1, std::memory_order_relaxed);
  return session;
}

void StreamHub::Disconnect(StreamSession& session) {
  std::unique_lock lock(mu_);
  auto it = std::find(sessions_.begin(), sessions_.end(), &session);
  if (it == sessions_.end()) return;
  sessions_.erase(it);
  while (!session.subscriptions_.empty()) RemoveSubscriptionLocked(session, *session.subscriptions_.begin()->second);
  connections_.fetch_sub(1, std::memory_order_relaxed);
}

// ---------------------------------------------------------------- visibility

bool StreamHub::Sees(const StreamSession& session, std::string_view twin, std::string_view model) {
  return !session.visible_ || session.visible_(twin, model);
}

std::string_view StreamHub::TrackedModelLocked(std::string_view twin) const {
  auto it = twin_models_.find(std::string(twin));
  return it == twin_models_.end() ? std::string_view() : std::string_view(*it->second);
}

void StreamHub::TrackModels() {
  // Graph events are published under the graph's exclusive lock, so under its shared lock
  // the state read here and the events that follow line up exactly.
  graph_.Read([&](const twin::GraphState& state) {
    std::unique_lock lock(mu_);
    if (tracking_models_) return 0;
    twin_models_.reserve(state.twins().size());
    for (const auto& [id, twin] : state.twins()) {
      twin_models_[id] = &*model_names_.insert(twin.model_id).first;
    }
    tracking_models_ = true;
    return 0;
  });
}

void StreamHub::TrackTwinEventLocked(const twin::GraphEvent& event, std::string_view model) {
  if (!tracking_models_) return;
  if (event.type == twin::EventType::kTwinDeleted) {
    twin_models_.erase(event.subject);
    return;
  }
  auto name = model_names_.find(model);
  if (name == model_names_.end()) name = model_names_.emplace(model).first;
  twin_models_[event.subject] = &*name;
}

// ---------------------------------------------------------------- index

void StreamHub::IndexLocked(StreamSession& session, Subscription& sub, const std::string& twin) {
  if (!sub.twins.insert(twin).second) return;
  by_twin_[twin].push_back(Target{&session, &sub});
}

void StreamHub::UnindexLocked(StreamSession& session, Subscription& sub, const std::string& twin) {
  if (sub.twins.erase(twin) == 0) return;
  auto it = by_twin_.find(twin);
  if (it == by_twin_.end()) return;
  std::erase_if(it->second, [&](const Target& t) { return t.sub == &sub; });
  if (it->second.empty()) by_twin_.erase(it);
}

void StreamHub::RemoveSubscriptionLocked(StreamSession& session, Subscription& sub) {
  sub.tag->active.store(false, std::memory_order_relaxed);
  while (!sub.twins.empty()) UnindexLocked(session, sub, std::string(*sub.twins.begin()));
  std::erase_if(model_subscriptions_, [&](const Target& t) { return t.sub == &sub; });
  std::erase_if(alert_subscriptions_, [&](const Target& t) { return t.sub == &sub; });
  subscriptions_.fetch_sub(1, std::memory_order_relaxed);
  const std::string id = sub.id;  // erasing destroys `sub`, and with it sub.id
  session.subscriptions_.erase(id);
}

// ---------------------------------------------------------------- publishers

void StreamHub::OnReadings(std::span<const ingest::Reading> readings) {
  std::shared_lock lock(mu_);
  if (by_twin_.empty()) return;
  for (const ingest::Reading& reading : readings) {
    auto it = by_twin_.find(reading.twin_id);
    if (it == by_twin_.end()) continue;
    std::shared_ptr<const std::string> body;  // serialised once, only if someone wants it
    std::optional<std::string_view> model;    // looked up once, only if someone filters
    for (const Target& t : it->second) {
      if (!(t.sub->events & internal::kTelemetry)) continue;
      if (!t.sub->paths.empty() && !t.sub->paths.contains(reading.path)) continue;
      if (t.session->visible_ || t.session->masked_) {
        if (!model) model = TrackedModelLocked(reading.twin_id);
        if (!Sees(*t.session, reading.twin_id, *model)) continue;
        if (!t.session->masked_.Hides(*model, reading.path).empty()) continue;
      }
      if (!body) body = std::make_shared<const std::string>(internal::TelemetryMessage(reading));
      t.session->Enqueue(body, t.sub->tag);
    }
  }
}

void StreamHub::OnGraphEvent(const twin::GraphEvent& event) {
  switch (event.type) {
    case twin::EventType::kTwinCreated:
    case twin::EventType::kTwinUpdated:
    case twin::EventType::kTwinDeleted: {
      std::unique_lock lock(mu_);
      return OnTwinEventLocked(event);
    }
    case twin::EventType::kRelationshipCreated:
    case twin::EventType::kRelationshipUpdated:
    case twin::EventType::kRelationshipDeleted: {
      std::shared_lock lock(mu_);
      return OnRelationshipEventLocked(event);
    }
    default:
      return;  // model events: not part of the stream protocol
  }
}

namespace {

std::string_view ModelOf(const twin::GraphEvent& event) {
  const json::value* doc = &event.data;
  if (event.type != twin::EventType::kTwinDeleted && event.data.is_object()) {
    doc = event.data.get_object().if_contains("doc");
  }
  if (!doc || !doc->is_object()) return {};
  const json::value* meta = doc->get_object().if_contains("$metadata");
  if (!meta || !meta->is_object()) return {};
  const json::value* model = meta->get_object().if_contains("$model");
  return model && model->is_string() ? std::string_view(model->get_string()) : std::string_view();
}

bool HidesAnyOf(const twin::FieldMask& mask, std::string_view model) {
  return mask && (!mask.hides_any || mask.hides_any(model));
}

// The twin event as a session with `mask` may see it: hidden values gone from the document
// and the patch. Nothing when every operation of an update's patch was on hidden values: even
// an empty update would tell that a hidden value changed, and when.
std::shared_ptr<const std::string> MaskedTwinMessage(const twin::GraphEvent& event,
                                                     std::string_view model,
                                                     const twin::FieldMask& mask) {
  twin::GraphEvent masked = event;
  if (event.type == twin::EventType::kTwinDeleted) {
    if (masked.data.is_object()) twin::MaskTwinDocument(masked.data.get_object(), mask);
  } else if (masked.data.is_object()) {
    json::object& data = masked.data.get_object();
    if (json::value* doc = data.if_contains("doc"); doc != nullptr && doc->is_object()) {
      twin::MaskTwinDocument(doc->get_object(), mask);
    }
    if (json::value* patch = data.if_contains("patch"); patch != nullptr && patch->is_array()) {
      json::array& ops = patch->get_array();
      if (twin::MaskPatch(ops, model, mask) && ops.empty()) return nullptr;
    }
  }
  return std::make_shared<const std::string>(internal::TwinMessage(masked));
}

}  // namespace

void StreamHub::OnTwinEventLocked(const twin::GraphEvent& event) {
  const bool deleted = event.type == twin::EventType::kTwinDeleted;
  const std::string_view model = ModelOf(event);  // a deleted twin's: from the deleted doc
  TrackTwinEventLocked(event, model);
  if (!deleted) {
    // Model subscriptions follow the graph: a new twin of the model (or one whose model was
    // changed to it) joins, one whose model changed away (or out of the session's sight)
    // leaves.
    for (const Target& t : model_subscriptions_) {
      if (t.sub->model_ids.contains(model) && Sees(*t.session, event.subject, model)) {
        if (t.sub->twins.size() < limits_.max_twins_per_subscription) IndexLocked(*t.session, *t.sub, event.subject);
      } else {
        UnindexLocked(*t.session, *t.sub, event.subject);
      }
    }
  }
  auto it = by_twin_.find(event.subject);
  if (it != by_twin_.end()) {
    const uint8_t kind = event.type == twin::EventType::kTwinUpdated ? internal::kProperties : internal::kGraph;
    std::shared_ptr<const std::string> body;
    for (const Target& t : it->second) {
      if (!(t.sub->events & kind)) continue;
      if (!Sees(*t.session, event.subject, model)) continue;
      if (HidesAnyOf(t.session->masked_, model)) {  // its own copy, masked for it
        if (auto masked = MaskedTwinMessage(event, model, t.session->masked_))
          t.session->Enqueue(masked, t.sub->tag);
        continue;
      }
      if (!body) body = std::make_shared<const std::string>(internal::TwinMessage(event));
      t.session->Enqueue(body, t.sub->tag);
    }
  }
  if (deleted) {
    for (const Target& t : model_subscriptions_) UnindexLocked(*t.session, *t.sub, event.subject);
  }
}

void StreamHub::OnRelationshipEventLocked(const twin::GraphEvent& event) {
  // Subject: "<source>/relationships/<id>"; the target comes from the document.
  const std::string source = event.subject.substr(0, event.subject.find("/relationships/"));
  const json::value* doc = &event.data;
  if (event.type != twin::EventType::kRelationshipDeleted && event.data.is_object()) {
    doc = event.data.get_object().if_contains("doc");
  }
  std::string target;
  if (doc && doc->is_object()) {
    if (const json::value* t = doc->get_object().if_contains("$targetId"); t && t->is_string()) target = t->get_string();
  }
  std::shared_ptr<const std::string> body;
  std::vector<const internal::Subscription*> sent;  // a subscription covering both ends gets it once
  for (const std::string* twin : std::array<const std::string*, 2>{&source, &target}) {
    auto it = by_twin_.find(*twin);
    if (it == by_twin_.end()) continue;
    for (const Target& t : it->second) {
      if (!(t.sub->events & internal::kGraph)) continue;
      if (std::find(sent.begin(), sent.end(), t.sub) != sent.end()) continue;
      sent.push_back(t.sub);
      // A relationship is visible only when both its ends are.
      if (t.session->visible_ && (!Sees(*t.session, source, TrackedModelLocked(source)) ||
                                  !Sees(*t.session, target, TrackedModelLocked(target)))) {
        continue;
      }
      if (!body) body = std::make_shared<const std::string>(internal::RelationshipMessage(event));
      t.session->Enqueue(body, t.sub->tag);
    }
  }
}

void StreamHub::PublishAlert(std::string_view twin_id, const json::object& alert) {
  std::shared_lock lock(mu_);
  if (alert_subscriptions_.empty() && by_twin_.empty()) return;
  const std::string twin(twin_id);
  std::shared_ptr<const std::string> body;     // serialised once, only if someone wants it
  std::shared_ptr<const std::string> bare;     // the same without the evidence, for masked sessions
  std::optional<std::string_view> model;       // looked up once, only if someone filters
  auto deliver = [&](const Target& t) {
    const StreamSession& session = *t.session;
    if (session.visible_ || session.masked_) {
      if (!model) model = TrackedModelLocked(twin);
      if (session.visible_ && (twin.empty() || !Sees(session, twin, *model))) return;
      if (HidesAnyOf(session.masked_, *model)) {
        if (!bare) {
          json::object without = alert;
          without["evidence"] = nullptr;
          bare = std::make_shared<const std::string>(internal::AlertMessage(without));
        }
        return t.session->Enqueue(bare, t.sub->tag);
      }
    }
    if (!body) body = std::make_shared<const std::string>(internal::AlertMessage(alert));
    t.session->Enqueue(body, t.sub->tag);
  };
  for (const Target& t : alert_subscriptions_) deliver(t);
  if (twin.empty()) return;
  auto it = by_twin_.find(twin);
  if (it == by_twin_.end()) return;
  for (const Target& t : it->second) {
    if (t.sub->events & internal::kAlerts) deliver(t);
  }
}

// ---------------------------------------------------------------- client operations

namespace {

const json::value* Member(const json::object& request, std::string_view name) { return request.if_contains(name); }

// The twin id of a query row: SELECT * rows are twins; SELECT T rows hold one twin.
const json::value* RowTwinId(const json::value& row) {
  if (!row.is_object()) return nullptr;
  if (const json::value* id = row.get_object().if_contains("$dtId")) return id;
  if (row.get_object().size() == 1 && row.get_object().begin()->value().is_object()) {
    return row.get_object().begin()->value().get_object().if_contains("$dtId");
  }
  return nullptr;
}

}  // namespace

Status StreamHub::Resolve(const StreamSession& session, Subscription& sub) {
  sub.twins.clear();
  sub.model_ids.clear();
  switch (sub.kind) {
    case Subscription::Kind::kTwins:
      sub.twins.insert(sub.ids.begin(), sub.ids.end());
      return Status::Ok();
    case Subscription::Kind::kModel:
      return graph_.Read([&](const twin::GraphState& state) -> Status {
        if (!state.models().Find(sub.source)) {
          return Status::NotFound(fmt::format("unknown model \"{}\"", sub.source));
        }
        // Models uploaded later that extend this one are not followed (see docs/streams.md).
        for (const auto& [id, entry] : state.models().entries()) {
          if (state.models().IsOfModel(id, sub.source)) sub.model_ids.insert(id);
        }
        for (const std::string& model : sub.model_ids) {
          const auto* twins = state.TwinsOfExactModel(model);
          if (twins == nullptr) continue;
          for (const std::string& twin : *twins) {
            if (Sees(session, twin, model)) sub.twins.insert(twin);
          }
        }
        return Status::Ok();
      });
    case Subscription::Kind::kAlerts:
      return Status::Ok();  // no twins: PublishAlert goes through alert_subscriptions_
    case Subscription::Kind::kQuery: {
      query::QueryOptions options;
      options.page_size = 10'000;
      options.visible = session.visible_;
      options.masked = session.masked_;
      do {
        DOPPEL_ASSIGN_OR_RETURN(query::QueryPage page, query::Execute(graph_, sub.source, options));
        for (const json::value& row : page.value) {
          const json::value* id = RowTwinId(row);
          if (!id || !id->is_string()) {
            return Status::InvalidArgument(
                "query rows must be twins: use SELECT T FROM DIGITALTWINS T WHERE ... (or SELECT *)");
          }
          sub.twins.insert(std::string(id->get_string()));
        }
        options.continuation_token = std::move(page.continuation_token);
      } while (!options.continuation_token.empty() && sub.twins.size() <= limits_.max_twins_per_subscription);
      return Status::Ok();
    }
  }
  return Status::Internal("unknown subscription kind");
}

void StreamHub::Install(StreamSession& session, std::unique_ptr<Subscription> sub) {
  if (sub->twins.size() > limits_.max_twins_per_subscription) {
    return session.Error(fmt::format("subscription \"{}\" covers more than {} twins; narrow it", sub->id,
                                     limits_.max_twins_per_subscription),
                         nullptr, "");
  }
  std::string reply;
  // Resolution (for a model) and installation under one graph read: no twin created in
  // between can be missed. Queries and id lists resolved before; they do not follow the graph.
  std::set<std::string, std::less<>> twins = std::move(sub->twins);
  sub->twins.clear();
  graph_.Read([&](const twin::GraphState&) {
    std::unique_lock lock(mu_);
    if (auto old = session.subscriptions_.find(sub->id); old != session.subscriptions_.end()) {
      RemoveSubscriptionLocked(session, *old->second);  // refresh replaces
    }
    Subscription& installed = *sub;
    session.subscriptions_.emplace(sub->id, std::move(sub));
    for (const std::string& twin : twins) IndexLocked(session, installed, twin);
    if (installed.kind == Subscription::Kind::kModel) model_subscriptions_.push_back(Target{&session, &installed});
    if (installed.kind == Subscription::Kind::kAlerts) alert_subscriptions_.push_back(Target{&session, &installed});
    subscriptions_.fetch_add(1, std::memory_order_relaxed);
    reply = internal::SubscribedMessage(installed);
    return 0;
  });
  session.Reply(std::move(reply));
}

void StreamHub::Subscribe(StreamSession& session, const json::object& request) {
  json::value echo(request);
  auto sub = internal::ParseSubscribe(request, limits_);
  if (!sub.ok()) return session.Error(sub.status().message(), &echo, "");
  {
    std::shared_lock lock(mu_);
    if (session.subscriptions_.contains((*sub)->id)) {
      return session.Error(fmt::format("subscription \"{}\" already exists; unsubscribe first or use refresh",
                                       (*sub)->id),
                           &echo, "");
    }
    if (session.subscriptions_.size() >= limits_.max_subscriptions) {
      return session.Error(fmt::format("too many subscriptions on this connection (limit {})", limits_.max_subscriptions),
                           &echo, "");
    }
  }
  if (Status resolved = Resolve(session, **sub); !resolved.ok()) return session.Error(resolved.message(), &echo, "");
  Install(session, std::move(*sub));
}

void StreamHub::Unsubscribe(StreamSession& session, const json::object& request) {
  json::value echo(request);
  const json::value* id = Member(request, "id");
  if (!id || !id->is_string()) return session.Error("unsubscribe needs the subscription's \"id\"", &echo, "");
  {
    std::unique_lock lock(mu_);
    auto it = session.subscriptions_.find(std::string_view(id->get_string()));
    if (it == session.subscriptions_.end()) {
      lock.unlock();
      return session.Error(fmt::format("no subscription \"{}\"", std::string_view(id->get_string())), &echo, "");
    }
    RemoveSubscriptionLocked(session, *it->second);
  }
  session.Reply(internal::UnsubscribedMessage(id->get_string()));
}

void StreamHub::Refresh(StreamSession& session, const json::object& request) {
  json::value echo(request);
  const json::value* id = Member(request, "id");
  if (!id || !id->is_string()) return session.Error("refresh needs the subscription's \"id\"", &echo, "");
  auto fresh = std::make_unique<Subscription>();
  {
    std::shared_lock lock(mu_);
    auto it = session.subscriptions_.find(std::string_view(id->get_string()));
    if (it == session.subscriptions_.end()) {
      lock.unlock();
      return session.Error(fmt::format("no subscription \"{}\"", std::string_view(id->get_string())), &echo, "");
    }
    const Subscription& old = *it->second;
    fresh->id = old.id;
    fresh->kind = old.kind;
    fresh->ids = old.ids;
    fresh->source = old.source;
    fresh->events = old.events;
    fresh->paths = old.paths;
  }
  fresh->tag = std::make_shared<SubscriptionTag>();
  AppendJsonString(fresh->tag->quoted_id, fresh->id);
  if (Status resolved = Resolve(session, *fresh); !resolved.ok()) return session.Error(resolved.message(), &echo, "");
  Install(session, std::move(fresh));
}

void StreamHub::List(StreamSession& session, const json::object&) {
  json::object msg;
  msg["type"] = "subscriptions";
  json::array& list = msg["subscriptions"].emplace_array();
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, sub] : session.subscriptions_) {
      json::object entry;
      entry["id"] = id;
      entry["twins"] = sub->twins.size();
      list.push_back(std::move(entry));
    }
  }
  session.Reply(ToJson(msg));
}

// ---------------------------------------------------------------- metrics

StreamHub::Counters StreamHub::counters() const {
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return {.connections = get(connections_),
          .connections_total = get(connections_total_),
          .connections_refused = get(connections_refused_),
          .subscriptions = get(subscriptions_),
          .messages_sent = get(messages_sent_),
          .messages_dropped = get(messages_dropped_),
          .slow_disconnects = get(slow_disconnects_),
          .client_errors = get(client_errors_)};
}

void StreamHub::RenderMetrics(std::string& out) const {
  const Counters c = counters();
  auto metric = [&out](std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  metric("doppel_ws_connections", "gauge", "WebSocket stream connections open.", c.connections);
  metric("doppel_ws_connections_total", "counter", "WebSocket stream connections accepted.", c.connections_total);
  metric("doppel_ws_connections_refused_total", "counter", "WebSocket upgrades refused over max_connections.",
         c.connections_refused);
  metric("doppel_ws_subscriptions", "gauge", "Active stream subscriptions.", c.subscriptions);
  metric("doppel_ws_messages_sent_total", "counter", "Messages handed to WebSocket clients.", c.messages_sent);
  metric("doppel_ws_messages_dropped_total", "counter", "Messages dropped because a client's queue was full.",
         c.messages_dropped);
  metric("doppel_ws_slow_disconnects_total", "counter", "Connections closed for not reading (slow consumers).",
         c.slow_disconnects);
  metric("doppel_ws_client_errors_total", "counter", "Client messages answered with an error.", c.client_errors);
}

}  // namespace doppel::stream
