#include "automation/internal/engine_values.h"

#include <fmt/format.h>

#include <utility>

#include "base/clock.h"
#include "tsdb/query.h"

namespace doppel::automation::engine {
namespace {

bool IsSystemName(std::string_view name) { return !name.empty() && name.front() == '$'; }

bool IsComponent(const json::value& value) {
  return value.is_object() && value.get_object().contains("$metadata");
}

// The lastUpdateTime $metadata keeps for `name` in `holder` (a twin or a component).
std::optional<int64_t> LastUpdateNs(const json::object& holder, std::string_view name) {
  const json::value* meta = holder.if_contains("$metadata");
  const json::value* entry = meta && meta->is_object() ? meta->get_object().if_contains(name) : nullptr;
  const json::value* time = entry && entry->is_object() ? entry->get_object().if_contains("lastUpdateTime") : nullptr;
  if (!time || !time->is_string()) return std::nullopt;
  int64_t ns = EventTimeNs(time->get_string());
  return ns == 0 ? std::nullopt : std::optional<int64_t>(ns);
}

// The first two tokens of a JSON Pointer, unescaped ("/a~1b/c" → "a/b", "c").
std::vector<std::string> PointerTokens(std::string_view pointer, std::size_t max_tokens) {
  std::vector<std::string> tokens;
  std::size_t at = 0;
  while (at < pointer.size() && pointer[at] == '/' && tokens.size() < max_tokens) {
    std::size_t end = pointer.find('/', at + 1);
    std::string_view raw = pointer.substr(at + 1, end == std::string_view::npos ? std::string_view::npos : end - at - 1);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size()) {
        token += raw[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        token += raw[i];
      }
    }
    tokens.push_back(std::move(token));
    if (end == std::string_view::npos) break;
    at = end;
  }
  return tokens;
}

void AddComponentProperties(const json::object& component, std::string_view name, int64_t time_ns,
                            std::vector<PropertyValue>& out) {
  for (const auto& kv : component) {
    if (IsSystemName(kv.key())) continue;
    out.push_back({fmt::format("{}/{}", name, std::string_view(kv.key())), time_ns, FromJson(kv.value())});
  }
}

}  // namespace

rules::Value FromReading(const tsdb::Value& value) {
  switch (value.index()) {
    case 0: return std::get<double>(value);
    case 1: return static_cast<double>(std::get<int64_t>(value));
    case 2: return std::get<bool>(value);
    default: return std::get<std::string>(value);
  }
}

rules::Value FromJson(const json::value& value) {
  switch (value.kind()) {
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return value.to_number<double>();
    case json::kind::bool_: return value.get_bool();
    case json::kind::string: return std::string(value.get_string());
    default: return std::monostate{};
  }
}

std::optional<PropertyValue> FindProperty(const json::object& doc, std::string_view path, int64_t fallback_ns) {
  const json::object* holder = &doc;
  std::string_view name = path;
  if (std::size_t slash = path.find('/'); slash != std::string_view::npos) {
    const json::value* component = doc.if_contains(path.substr(0, slash));
    if (!component || !IsComponent(*component)) return std::nullopt;
    holder = &component->get_object();
    name = path.substr(slash + 1);
  }
  const json::value* value = IsSystemName(name) ? nullptr : holder->if_contains(name);
  if (!value || IsComponent(*value)) return std::nullopt;
  return PropertyValue{std::string(path), LastUpdateNs(*holder, name).value_or(fallback_ns), FromJson(*value)};
}

std::vector<PropertyValue> ChangedProperties(const json::object& doc, const json::value& patch, int64_t time_ns) {
  std::vector<PropertyValue> out;
  if (!patch.is_array()) return out;
  for (const json::value& op : patch.get_array()) {
    const json::value* path = op.is_object() ? op.get_object().if_contains("path") : nullptr;
    if (!path || !path->is_string()) continue;
    std::vector<std::string> tokens = PointerTokens(path->get_string(), 2);
    if (tokens.empty() || IsSystemName(tokens[0])) continue;
    const json::value* top = doc.if_contains(tokens[0]);
    if (top && IsComponent(*top)) {
      if (tokens.size() == 1) {
        AddComponentProperties(top->get_object(), tokens[0], time_ns, out);
      } else if (!IsSystemName(tokens[1])) {
        const json::value* value = top->get_object().if_contains(tokens[1]);
        out.push_back({fmt::format("{}/{}", tokens[0], tokens[1]), time_ns, value ? FromJson(*value) : rules::Value()});
      }
      continue;
    }
    out.push_back({tokens[0], time_ns, top ? FromJson(*top) : rules::Value()});
  }
  return out;
}

int64_t EventTimeNs(std::string_view rfc3339) {
  auto time = ParseRfc3339(rfc3339);
  return time.ok() ? time->time_since_epoch().count() : 0;
}

std::vector<tsdb::Point> HistoryBetween(const tsdb::SeriesStore& store, std::string_view twin_id,
                                        std::string_view path, int64_t after, int64_t through) {
  auto id = store.Find(twin_id, path);
  if (!id.ok() || after >= through || through == std::numeric_limits<int64_t>::max()) return {};
  auto points = tsdb::QueryRaw(store, *id, after + 1, through + 1);
  return points.ok() ? std::move(*points) : std::vector<tsdb::Point>{};
}

std::optional<int64_t> NewestInHistory(const tsdb::SeriesStore& store, std::string_view twin_id,
                                       std::string_view path) {
  auto id = store.Find(twin_id, path);
  if (!id.ok()) return std::nullopt;
  auto last = store.Last({&*id, 1});
  if (!last.ok() || last->empty() || !(*last)[0]) return std::nullopt;
  return (*last)[0]->time;
}

}  // namespace doppel::automation::engine
