#include "ingest/ingestor.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

namespace doppel::ingest {
namespace {

using tsdb::ValueType;


// The series type for a schema, or nullopt when history cannot keep it.
std::optional<ValueType> SeriesTypeOf(const model::Schema& schema) {
  using model::PrimitiveType;
  if (schema.kind != model::Schema::Kind::kPrimitive && schema.kind != model::Schema::Kind::kEnum) {
    return std::nullopt;
  }
  switch (schema.primitive) {
    case PrimitiveType::kDouble:
    case PrimitiveType::kFloat:
    case PrimitiveType::kDecimal:
      return ValueType::kDouble;
    case PrimitiveType::kInteger:
    case PrimitiveType::kLong:
    case PrimitiveType::kShort:
    case PrimitiveType::kByte:
    case PrimitiveType::kUnsignedByte:
    case PrimitiveType::kUnsignedShort:
    case PrimitiveType::kUnsignedInteger:
    case PrimitiveType::kUnsignedLong:
      return ValueType::kInt64;
    case PrimitiveType::kBoolean:
      return ValueType::kBool;
    case PrimitiveType::kString:
      return ValueType::kString;
    default:
      return std::nullopt;
  }
}

std::string_view KindName(ValueType type) {
  switch (type) {
    case ValueType::kDouble: return "a double";
    case ValueType::kInt64: return "an integer";
    case ValueType::kBool: return "a boolean";
    case ValueType::kString: return "a string";
  }
  return "a value";
}

// `value` converted to `type` if that loses nothing, else nullopt.
std::optional<tsdb::Value> Convert(const tsdb::Value& value, ValueType type) {
  const ValueType from = tsdb::TypeOf(value);
  if (from == type) return value;
  if (type == ValueType::kDouble && from == ValueType::kInt64) {
    return static_cast<double>(std::get<int64_t>(value));
  }
  if (type == ValueType::kInt64 && from == ValueType::kDouble) {
    const double d = std::get<double>(value);
    // 2^63 is exactly representable; anything at or past it does not fit.
    if (std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

bool InEnum(const model::Schema& schema, const tsdb::Value& value) {
  for (const model::EnumValue& e : schema.enum_values) {
    if (const auto* s = std::get_if<std::string>(&value); s && e.value.is_string() && e.value.get_string() == *s) {
      return true;
    }
    if (const auto* i = std::get_if<int64_t>(&value); i && e.value.is_int64() && e.value.get_int64() == *i) {
      return true;
    }
  }
  return false;
}

// The Telemetry or Property a reading's path names in `interface` ("name", or
// "component/name" inside a component), or nullptr.
const model::Content* FindReadable(const twin::GraphState& state, const model::Interface* interface,
                                   std::string_view path) {
  if (interface == nullptr) return nullptr;
  if (auto slash = path.find('/'); slash != std::string_view::npos) {
    const model::Content* component = interface->Find(path.substr(0, slash));
    if (component == nullptr || component->kind != model::ContentKind::kComponent) return nullptr;
    const model::ModelEntry* inner = state.models().Find(component->component_interface);
    interface = inner == nullptr ? nullptr : inner->interface.get();
    if (interface == nullptr) return nullptr;
    path = path.substr(slash + 1);
  }
  const model::Content* content = interface->Find(path);
  if (content == nullptr || content->schema == nullptr) return nullptr;
  if (content->kind != model::ContentKind::kTelemetry && content->kind != model::ContentKind::kProperty) return nullptr;
  return content;
}

// The reading's value in the type its schema stores, or InvalidArgument with `reason` set.
Result<tsdb::Value> CheckValue(const model::Content& content, const Reading& r, RejectReason& reason) {
  const std::string what = "'" + r.twin_id + "'/'" + r.path + "'";
  std::optional<ValueType> type = SeriesTypeOf(*content.schema);
  if (!type) {
    reason = RejectReason::kUnstorable;
    return Status::InvalidArgument(what + " has a schema history cannot keep (only numbers, booleans, strings and "
                                          "enums are stored)");
  }
  std::optional<tsdb::Value> value = Convert(r.value, *type);
  if (!value) {
    reason = RejectReason::kWrongType;
    return Status::InvalidArgument(what + " expects " + std::string(KindName(*type)) + ", got " +
                                   std::string(KindName(tsdb::TypeOf(r.value))));
  }
  if (content.schema->kind == model::Schema::Kind::kEnum && !InEnum(*content.schema, *value)) {
    reason = RejectReason::kWrongType;
    return Status::InvalidArgument(what + " is an enum and the value is not one of its values");
  }
  return std::move(*value);
}

// The distinct series of one batch, in first-seen order. Consecutive readings mostly share a
// twin (a line of line protocol, a JSON telemetry message), so a short list of the current
// twin's paths answers most lookups before the hash map.
class BatchSeries {
 public:
  void NewTwin() { twin_paths_.clear(); }

  // The slot of the reading's (twin, path); `make_spec()` describes it on first sight.
  template <typename MakeSpec>
  std::size_t SlotOf(const Reading& r, MakeSpec&& make_spec) {
    for (const auto& [path, slot] : twin_paths_) {
      if (path == r.path) return slot;
    }
    key_.assign(r.twin_id).push_back('\0');
    key_.append(r.path);
    auto [it, inserted] = slots_.try_emplace(key_, specs_.size());
    if (inserted) specs_.push_back(make_spec());
    twin_paths_.emplace_back(r.path, it->second);
    return it->second;
  }

  const std::vector<tsdb::SeriesSpec>& specs() const { return specs_; }

 private:
  std::vector<tsdb::SeriesSpec> specs_;
  std::unordered_map<std::string, std::size_t> slots_;
  std::vector<std::pair<std::string_view, std::size_t>> twin_paths_;
  std::string key_;
};

}  // namespace

std::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kUnknownTwin: return "unknown_twin";
    case RejectReason::kUnknownPath: return "unknown_path";
    case RejectReason::kWrongType: return "wrong_type";
    case RejectReason::kUnstorable: return "unstorable";
    case RejectReason::kMalformed: return "malformed";
    case RejectReason::kCount_: break;
  }
  return "unknown";
}

Ingestor::Ingestor(twin::TwinGraph& graph, tsdb::SeriesStore& store) : graph_(graph), store_(store) {}

void Ingestor::Count(RejectReason reason, uint64_t n) {
  rejected_[static_cast<std::size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
}

Status Ingestor::Write(std::span<const Reading> readings, const Describe& describe) {
  auto ReadingName = [&describe](std::size_t index) {
    return describe ? describe(index) : "reading " + std::to_string(index);
  };
  if (readings.empty()) return Status::Ok();

  // 1. Check every reading against the graph, under one shared lock for the whole batch, and
  //    note the series each one needs (its spec) and its value in the series' type.
  BatchSeries series;
  std::vector<std::pair<std::size_t, tsdb::Value>> values;  // (series slot, value) per reading
  values.reserve(readings.size());
  RejectReason reason = RejectReason::kCount_;
  Status checked = graph_.Read([&](const twin::GraphState& state) -> Status {
    const twin::Twin* twin = nullptr;
    const model::Interface* interface = nullptr;
    for (std::size_t i = 0; i < readings.size(); ++i) {
      const Reading& r = readings[i];
      if (twin == nullptr || twin->id != r.twin_id) {
        twin = state.FindTwin(r.twin_id);
        if (twin == nullptr) {
          reason = RejectReason::kUnknownTwin;
          return Status::NotFound(ReadingName(i) + ": twin '" + r.twin_id + "' not found", "DigitalTwinNotFound");
        }
        const model::ModelEntry* entry = state.models().Find(twin->model_id);
        interface = entry == nullptr ? nullptr : entry->interface.get();
        series.NewTwin();
      }
      const model::Content* content = FindReadable(state, interface, r.path);
      if (content == nullptr) {
        reason = RejectReason::kUnknownPath;
        return Status::InvalidArgument(ReadingName(i) + ": twin '" + r.twin_id + "' (model '" + twin->model_id +
                                       "') has no telemetry or property '" + r.path + "'");
      }
      Result<tsdb::Value> value = CheckValue(*content, r, reason);
      if (!value.ok()) return Status::InvalidArgument(ReadingName(i) + ": " + value.status().message());
      std::size_t slot = series.SlotOf(r, [&] {
        return tsdb::SeriesSpec{
            .twin_id = r.twin_id,
            .path = r.path,
            .type = tsdb::TypeOf(*value),
            .model_id = twin->model_id,
            .unit = content->unit,
            .semantic_type = content->semantic_types.empty() ? "" : content->semantic_types.front()};
      });
      values.emplace_back(slot, std::move(value).value());
    }
    return Status::Ok();
  });
  if (!checked.ok()) {
    Count(reason);
    return checked;
  }

  // 2. The series of each distinct (twin, path): from the cache, else created (persisted).
  const std::vector<tsdb::SeriesSpec>& specs = series.specs();
  std::vector<tsdb::SeriesId> ids(specs.size());
  {
    std::string key;
    std::shared_lock lock(series_mu_);
    for (std::size_t s = 0; s < specs.size(); ++s) {
      key.assign(specs[s].twin_id).push_back('\0');
      key.append(specs[s].path);
      auto it = series_.find(key);
      ids[s] = it == series_.end() ? 0 : it->second;
    }
  }
  for (std::size_t s = 0; s < specs.size(); ++s) {
    if (ids[s] != 0) continue;
    Result<tsdb::SeriesId> id = store_.CreateSeries(specs[s]);
    if (!id.ok()) {
      if (id.status().code() == StatusCode::kConflict) {
        Count(RejectReason::kWrongType);
        return Status::InvalidArgument("'" + specs[s].twin_id + "'/'" + specs[s].path + "': " + id.status().message());
      }
      return id.status();
    }
    ids[s] = *id;
    std::unique_lock lock(series_mu_);
    series_.emplace(specs[s].twin_id + '\0' + specs[s].path, *id);
  }

  // 3. One durable write.
  std::vector<tsdb::SeriesPoint> points;
  points.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    points.push_back({ids[values[i].first], readings[i].time, std::move(values[i].second)});
  }
  DOPPEL_RETURN_IF_ERROR(store_.Write(points));
  accepted_.fetch_add(readings.size(), std::memory_order_relaxed);

  // 4. Tell the listeners (live state, streams, rules), with the values as stored.
  std::shared_lock lock(listeners_mu_);
  if (!listeners_.empty()) {
    // Values are converted only where the series' type differs (an integer into a double
    // series): copy the batch in that rare case, pass it through otherwise.
    const bool converted = std::any_of(points.begin(), points.end(), [&](const tsdb::SeriesPoint& p) {
      return tsdb::TypeOf(p.value) != tsdb::TypeOf(readings[&p - points.data()].value);
    });
    std::vector<Reading> stored;
    if (converted) {
      stored.assign(readings.begin(), readings.end());
      for (std::size_t i = 0; i < stored.size(); ++i) stored[i].value = points[i].value;
    }
    const std::span<const Reading> as_stored = converted ? std::span<const Reading>(stored) : readings;
    for (const auto& [id, listener] : listeners_) listener(as_stored);
  }
  return Status::Ok();
}

uint64_t Ingestor::Subscribe(Listener listener) {
  std::unique_lock lock(listeners_mu_);
  listeners_.emplace_back(next_listener_, std::move(listener));
  return next_listener_++;
}

void Ingestor::Unsubscribe(uint64_t id) {
  std::unique_lock lock(listeners_mu_);
  std::erase_if(listeners_, [id](const auto& entry) { return entry.first == id; });
}

}  // namespace doppel::ingest
