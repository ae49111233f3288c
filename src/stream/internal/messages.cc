#include "stream/internal/messages.h"

#include <ctime>
#include <variant>

#include <fmt/format.h>

namespace doppel::stream::internal {
namespace {

constexpr std::size_t kMaxIdBytes = 256;

Status Bad(std::string_view what) { return Status::InvalidArgument(std::string(what)); }

Result<std::vector<std::string>> StringList(const json::value& v, std::string_view name,
                                            std::size_t max_items) {
  if (!v.is_array()) return Bad(fmt::format("\"{}\" must be an array of strings", name));
  if (v.get_array().size() > max_items) {
    return Bad(fmt::format("\"{}\" has {} items; at most {} are allowed", name, v.get_array().size(), max_items));
  }
  std::vector<std::string> out;
  out.reserve(v.get_array().size());
  for (const json::value& item : v.get_array()) {
    if (!item.is_string() || item.get_string().empty()) {
      return Bad(fmt::format("\"{}\" must be an array of non-empty strings", name));
    }
    out.emplace_back(item.get_string());
  }
  return out;
}

Result<uint8_t> EventsMask(const json::value& v) {
  DOPPEL_ASSIGN_OR_RETURN(std::vector<std::string> names, StringList(v, "events", 4));
  if (names.empty()) return Bad("\"events\" must name at least one of telemetry, properties, graph, alerts");
  uint8_t mask = 0;
  for (const std::string& name : names) {
    if (name == "telemetry") {
      mask |= kTelemetry;
    } else if (name == "properties") {
      mask |= kProperties;
    } else if (name == "graph") {
      mask |= kGraph;
    } else if (name == "alerts") {
      mask |= kAlerts;
    } else {
      return Bad(fmt::format("unknown event kind \"{}\" (known: telemetry, properties, graph, alerts)", name));
    }
  }
  return mask;
}

// The members every message about one event shares.
void AddEventMembers(json::object& msg, const twin::GraphEvent& event) {
  msg["event"] = EventTypeName(event.type);
  msg["seq"] = event.seq;
  msg["time"] = event.time;
}

// Created/updated events carry {"doc", "patch"?}; deleted ones the document itself.
void AddEventData(json::object& msg, const twin::GraphEvent& event, bool deleted) {
  if (deleted) {
    msg["doc"] = event.data;
    return;
  }
  if (!event.data.is_object()) return;
  const json::object& data = event.data.get_object();
  if (const json::value* patch = data.if_contains("patch"); patch && !patch->is_null()) {
    msg["patch"] = *patch;
  } else if (const json::value* doc = data.if_contains("doc")) {
    msg["doc"] = *doc;
  }
}

json::value ValueJson(const tsdb::Value& value) {
  return std::visit([](const auto& v) { return json::value(v); }, value);
}

}  // namespace

Result<std::unique_ptr<Subscription>> ParseSubscribe(const json::object& request,
                                                     const StreamLimits& limits) {
  auto sub = std::make_unique<Subscription>();
  int sources = 0;
  bool has_id = false;
  bool narrowed = false;  // "events" or "paths" given
  for (const auto& [key, value] : request) {
    if (key == "op") continue;
    if (key == "id") {
      if (!value.is_string() || value.get_string().empty() || value.get_string().size() > kMaxIdBytes) {
        return Bad("\"id\" must be a non-empty string of at most 256 bytes");
      }
      sub->id = value.get_string();
      has_id = true;
    } else if (key == "twins") {
      ++sources;
      sub->kind = Subscription::Kind::kTwins;
      DOPPEL_ASSIGN_OR_RETURN(sub->ids, StringList(value, "twins", limits.max_twins_per_subscription));
    } else if (key == "model") {
      ++sources;
      if (!value.is_string() || value.get_string().empty()) return Bad("\"model\" must be a model id (dtmi:...;1)");
      sub->kind = Subscription::Kind::kModel;
      sub->source = value.get_string();
    } else if (key == "query") {
      ++sources;
      if (!value.is_string() || value.get_string().empty()) return Bad("\"query\" must be a query string");
      sub->kind = Subscription::Kind::kQuery;
      sub->source = value.get_string();
    } else if (key == "alerts") {
      ++sources;
      if (!value.is_bool() || !value.get_bool()) return Bad("\"alerts\" must be true (every alert you may see)");
      sub->kind = Subscription::Kind::kAlerts;
      sub->events = kAlerts;
    } else if (key == "events") {
      narrowed = true;
      DOPPEL_ASSIGN_OR_RETURN(sub->events, EventsMask(value));
    } else if (key == "paths") {
      narrowed = true;
      DOPPEL_ASSIGN_OR_RETURN(std::vector<std::string> paths, StringList(value, "paths", 1000));
      sub->paths.insert(paths.begin(), paths.end());
    } else {
      return Bad(fmt::format(
          "unknown member \"{}\" in subscribe (known: op, id, twins, model, query, alerts, events, paths)",
          std::string_view(key)));
    }
  }
  if (!has_id) return Bad("subscribe needs an \"id\" (the client's name for the subscription)");
  if (sources != 1) return Bad("subscribe needs exactly one of \"twins\", \"model\", \"query\" or \"alerts\"");
  if (sub->kind == Subscription::Kind::kAlerts && narrowed) {
    return Bad("\"events\" and \"paths\" do not apply to an \"alerts\" subscription");
  }
  sub->tag = std::make_shared<SubscriptionTag>();
  AppendJsonString(sub->tag->quoted_id, sub->id);
  return sub;
}

std::string FormatTimeNs(int64_t ns) {
  int64_t seconds = ns / 1'000'000'000;
  int64_t fraction = ns % 1'000'000'000;
  if (fraction < 0) {
    fraction += 1'000'000'000;
    --seconds;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, fraction);
}

std::string TelemetryMessage(const ingest::Reading& reading) {
  json::object msg;
  msg["type"] = "telemetry";
  msg["twin"] = reading.twin_id;
  msg["path"] = reading.path;
  msg["time"] = FormatTimeNs(reading.time);
  msg["value"] = ValueJson(reading.value);
  return ToJson(msg);
}

std::string TwinMessage(const twin::GraphEvent& event) {
  json::object msg;
  msg["type"] = "twin";
  msg["twin"] = event.subject;
  AddEventMembers(msg, event);
  AddEventData(msg, event, event.type == twin::EventType::kTwinDeleted);
  return ToJson(msg);
}

std::string RelationshipMessage(const twin::GraphEvent& event) {
  json::object msg;
  msg["type"] = "relationship";
  const bool deleted = event.type == twin::EventType::kRelationshipDeleted;
  const json::value* doc = deleted ? &event.data : nullptr;
  if (!deleted && event.data.is_object()) doc = event.data.get_object().if_contains("doc");
  if (doc && doc->is_object()) {
    for (auto [member, name] : {std::pair{"$relationshipId", "relationship"}, {"$sourceId", "source"},
                                {"$targetId", "target"}, {"$relationshipName", "name"}}) {
      if (const json::value* v = doc->get_object().if_contains(member)) msg[name] = *v;
    }
  }
  AddEventMembers(msg, event);
  AddEventData(msg, event, deleted);
  return ToJson(msg);
}

std::string AlertMessage(const json::object& alert) {
  json::object msg;
  msg["type"] = "alert";
  msg["alert"] = alert;
  return ToJson(msg);
}

std::string SpliceSubscription(const std::string& body, const std::string& quoted_id) {
  // Every body starts {"type":"<word>", and type words hold no comma.
  std::size_t comma = body.find(',');
  std::string out;
  out.reserve(body.size() + quoted_id.size() + 17);
  out.append(body, 0, comma + 1);
  out.append("\"subscription\":");
  out.append(quoted_id);
  out.push_back(',');
  out.append(body, comma + 1);
  return out;
}

std::string SubscribedMessage(const Subscription& sub) {
  json::object msg;
  msg["type"] = "subscribed";
  msg["id"] = sub.id;
  msg["twins"] = sub.twins.size();
  if (sub.kind == Subscription::Kind::kAlerts) msg["alerts"] = true;
  return ToJson(msg);
}

std::string UnsubscribedMessage(std::string_view id) {
  json::object msg;
  msg["type"] = "unsubscribed";
  msg["id"] = id;
  return ToJson(msg);
}

std::string DroppedMessage(uint64_t count) {
  json::object msg;
  msg["type"] = "dropped";
  msg["count"] = count;
  msg["reason"] = "slow consumer";
  return ToJson(msg);
}

std::string ErrorMessage(std::string_view message, const json::value* request, std::string_view raw) {
  json::object msg;
  msg["type"] = "error";
  msg["message"] = message;
  if (request) {
    msg["request"] = *request;
  } else if (!raw.empty()) {
    // Unparseable input is echoed as text, cut short; only valid UTF-8 goes into JSON.
    std::string excerpt(raw.substr(0, 200));
    for (char& c : excerpt) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
    msg["request"] = excerpt;
  }
  return ToJson(msg);
}

}  // namespace doppel::stream::internal
