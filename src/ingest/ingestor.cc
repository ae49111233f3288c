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


// A reading that passed the checks: its value in the series' type and what its series spec
// needs. The pointers are valid only under the graph's read lock.
struct CheckedReading {
  const twin::Twin* twin;
  const model::Content* content;
  tsdb::Value value;
};

// Checks one group against the graph; on the first bad reading returns its error (named by
// `reading_name`) with `reason` set, else fills `out` with one CheckedReading per reading.
template <typename ReadingName>
Status CheckGroup(const twin::GraphState& state, std::span<const Reading> readings, const ReadingName& reading_name,
                  RejectReason& reason, std::vector<CheckedReading>& out) {
  const twin::Twin* twin = nullptr;
  const model::Interface* interface = nullptr;
  for (std::size_t i = 0; i < readings.size(); ++i) {
    const Reading& r = readings[i];
    if (twin == nullptr || twin->id != r.twin_id) {
      twin = state.FindTwin(r.twin_id);
      if (twin == nullptr) {
        reason = RejectReason::kUnknownTwin;
        return Status::NotFound(reading_name(i) + ": twin '" + r.twin_id + "' not found", "DigitalTwinNotFound");
      }
      const model::ModelEntry* entry = state.models().Find(twin->model_id);
      interface = entry == nullptr ? nullptr : entry->interface.get();
    }
    const model::Content* content = interface == nullptr ? nullptr : state.models().FindValue(*interface, r.path);
    if (content == nullptr) {
      reason = RejectReason::kUnknownPath;
      return Status::InvalidArgument(reading_name(i) + ": twin '" + r.twin_id + "' (model '" + twin->model_id +
                                     "') has no telemetry or property '" + r.path + "'");
    }
    Result<tsdb::Value> value = CheckValue(*content, r, reason);
    if (!value.ok()) return Status::InvalidArgument(reading_name(i) + ": " + value.status().message());
    out.push_back({twin, content, std::move(value).value()});
  }
  return Status::Ok();
}

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
  if (readings.empty()) return Status::Ok();
  const std::span<const Reading> one[] = {readings};
  return std::move(WriteGroups(one, describe).front());
}

std::vector<Status> Ingestor::WriteEach(std::span<const std::span<const Reading>> groups) {
  return WriteGroups(groups, {});
}

std::vector<Status> Ingestor::WriteGroups(std::span<const std::span<const Reading>> groups, const Describe& describe) {
  struct Leave {
    Ingestor* self;
    uint64_t epoch;
    ~Leave() { self->LeaveWrite(epoch); }
  } leave{this, EnterWrite()};
  return CheckAndWrite(groups, describe);
}

uint64_t Ingestor::EnterWrite() {
  std::lock_guard lock(in_flight_mu_);
  ++in_flight_[epoch_];
  return epoch_;
}

void Ingestor::LeaveWrite(uint64_t epoch) {
  std::lock_guard lock(in_flight_mu_);
  auto it = in_flight_.find(epoch);
  if (--it->second > 0) return;
  in_flight_.erase(it);
  in_flight_left_.notify_all();
}

void Ingestor::ForgetTwin(std::string_view twin_id) {
  {
    std::unique_lock lock(in_flight_mu_);
    const uint64_t epoch = epoch_++;
    in_flight_left_.wait(lock, [&] { return in_flight_.empty() || in_flight_.begin()->first > epoch; });
  }
  std::string prefix(twin_id);
  prefix.push_back('\0');  // cache keys are twin id + '\0' + path: no other twin shares the prefix
  std::unique_lock lock(series_mu_);
  std::erase_if(series_, [&prefix](const auto& entry) { return entry.first.starts_with(prefix); });
}

std::vector<Status> Ingestor::CheckAndWrite(std::span<const std::span<const Reading>> groups,
                                            const Describe& describe) {
  auto ReadingName = [&describe](std::size_t index) {
    return describe ? describe(index) : "reading " + std::to_string(index);
  };
  std::vector<Status> statuses(groups.size());

  // 1. Check every group against the graph, under one shared lock for all of them, and note
  //    the series each accepted reading needs (its spec) and its value in the series' type.
  //    A group is checked whole before any of it joins the batch, so a bad one adds nothing.
  BatchSeries series;
  std::vector<std::pair<std::size_t, tsdb::Value>> values;  // (series slot, value) per accepted reading
  std::vector<CheckedReading> checked;
  graph_.Read([&](const twin::GraphState& state) {
    for (std::size_t g = 0; g < groups.size(); ++g) {
      RejectReason reason = RejectReason::kCount_;
      checked.clear();
      if (Status s = CheckGroup(state, groups[g], ReadingName, reason, checked); !s.ok()) {
        Count(reason);
        statuses[g] = std::move(s);
        continue;
      }
      const Reading* previous = nullptr;
      for (std::size_t i = 0; i < groups[g].size(); ++i) {
        const Reading& r = groups[g][i];
        if (previous == nullptr || previous->twin_id != r.twin_id) series.NewTwin();
        previous = &r;
        const CheckedReading& c = checked[i];
        std::size_t slot = series.SlotOf(r, [&] {
          return tsdb::SeriesSpec{
              .twin_id = r.twin_id,
              .path = r.path,
              .type = tsdb::TypeOf(c.value),
              .model_id = c.twin->model_id,
              .unit = c.content->unit,
              .semantic_type = c.content->semantic_types.empty() ? "" : c.content->semantic_types.front()};
        });
        values.emplace_back(slot, std::move(checked[i].value));
      }
    }
  });

  // 2. The series of each distinct (twin, path): from the cache, else created (persisted). A
  //    series that cannot be created fails the groups that use it.
  const std::vector<tsdb::SeriesSpec>& specs = series.specs();
  std::vector<tsdb::SeriesId> ids(specs.size());
  std::vector<Status> spec_failed(specs.size());
  if (Status s = ResolveSeries(specs, ids, spec_failed); !s.ok()) {
    for (Status& status : statuses) {
      if (status.ok()) status = s;
    }
    return statuses;
  }

  // 3. One durable write of every group still accepted.
  std::vector<tsdb::SeriesPoint> points;
  points.reserve(values.size());
  std::vector<std::pair<std::size_t, std::size_t>> ranges(groups.size());  // [begin, end) in points
  std::size_t v = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (!statuses[g].ok()) continue;
    const std::size_t begin = points.size();
    for (const Reading& r : groups[g]) {
      const std::size_t slot = values[v].first;
      if (!spec_failed[slot].ok() && statuses[g].ok()) {
        Count(RejectReason::kWrongType);
        statuses[g] = spec_failed[slot];
      }
      points.push_back({ids[slot], r.time, std::move(values[v++].second)});
    }
    if (!statuses[g].ok()) points.resize(begin);
    ranges[g] = {begin, points.size()};
  }
  if (points.empty()) return statuses;
  if (Status s = store_.Write(points); !s.ok()) {
    for (Status& status : statuses) {
      if (status.ok()) status = s;
    }
    return statuses;
  }
  accepted_.fetch_add(points.size(), std::memory_order_relaxed);

  // 4. Tell the listeners (live state, streams, rules), with the values as stored.
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (statuses[g].ok() && !groups[g].empty()) {
      Notify(groups[g], std::span(points).subspan(ranges[g].first, ranges[g].second - ranges[g].first));
    }
  }
  return statuses;
}

Status Ingestor::ResolveSeries(const std::vector<tsdb::SeriesSpec>& specs, std::vector<tsdb::SeriesId>& ids,
                               std::vector<Status>& failed) {
  {
    std::string key;
    std::shared_lock lock(series_mu_);
    for (std::size_t s = 0; s < specs.size(); ++s) {
      key.assign(specs[s].twin_id).push_back('\0');
      key.append(specs[s].path);
      auto it = series_.find(key);
      ids[s] = it == series_.end() || it->second.second != specs[s].type ? 0 : it->second.first;
    }
  }
  for (std::size_t s = 0; s < specs.size(); ++s) {
    if (ids[s] != 0) continue;
    Result<tsdb::SeriesId> id = store_.CreateSeries(specs[s]);
    if (!id.ok()) {
      if (id.status().code() != StatusCode::kConflict) return id.status();
      failed[s] = Status::InvalidArgument("'" + specs[s].twin_id + "'/'" + specs[s].path + "': " + id.status().message());
      continue;
    }
    ids[s] = *id;
    std::unique_lock lock(series_mu_);
    series_.insert_or_assign(specs[s].twin_id + '\0' + specs[s].path, std::pair(*id, specs[s].type));
  }
  return Status::Ok();
}

void Ingestor::Notify(std::span<const Reading> readings, std::span<const tsdb::SeriesPoint> points) {
  std::shared_lock lock(listeners_mu_);
  if (listeners_.empty()) return;
  // Values are converted only where the series' type differs (an integer into a double
  // series): copy the batch in that rare case, pass it through otherwise.
  bool converted = false;
  for (std::size_t i = 0; i < points.size() && !converted; ++i) {
    converted = tsdb::TypeOf(points[i].value) != tsdb::TypeOf(readings[i].value);
  }
  std::vector<Reading> stored;
  if (converted) {
    stored.assign(readings.begin(), readings.end());
    for (std::size_t i = 0; i < stored.size(); ++i) stored[i].value = points[i].value;
  }
  const std::span<const Reading> as_stored = converted ? std::span<const Reading>(stored) : readings;
  for (const auto& [id, listener] : listeners_) listener(as_stored);
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
