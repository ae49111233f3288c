#include "ingest/live_state.h"

#include <functional>

namespace doppel::ingest {

LiveState::Shard& LiveState::ShardOf(std::string_view twin_id) const {
  return shards_[std::hash<std::string_view>{}(twin_id) % kShards];
}

void LiveState::Update(Shard& shard, const std::string& twin_id, const std::string& path, tsdb::TimeNs time,
                       const tsdb::Value& value) {
  auto& paths = shard.twins[twin_id];
  auto it = paths.find(path);
  if (it == paths.end()) {
    paths.emplace(path, Latest{time, value});
  } else if (time >= it->second.time) {
    it->second = Latest{time, value};
  }
}

void LiveState::Apply(std::span<const Reading> readings) {
  // Readings of one twin come in runs (a message, a line): take each shard's lock once per run.
  std::size_t i = 0;
  while (i < readings.size()) {
    Shard& shard = ShardOf(readings[i].twin_id);
    std::lock_guard lock(shard.mu);
    const std::string& twin = readings[i].twin_id;
    for (; i < readings.size() && readings[i].twin_id == twin; ++i) {
      Update(shard, twin, readings[i].path, readings[i].time, readings[i].value);
    }
  }
}

Status LiveState::Warm(const tsdb::SeriesStore& store) {
  std::vector<tsdb::SeriesInfo> series = store.ListSeries();
  std::vector<tsdb::SeriesId> ids;
  ids.reserve(series.size());
  for (const tsdb::SeriesInfo& s : series) ids.push_back(s.id);
  DOPPEL_ASSIGN_OR_RETURN(auto last, store.Last(ids));
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (!last[i]) continue;
    const tsdb::SeriesSpec& spec = series[i].spec;
    Shard& shard = ShardOf(spec.twin_id);
    std::lock_guard lock(shard.mu);
    Update(shard, spec.twin_id, spec.path, last[i]->time, last[i]->value);
  }
  return Status::Ok();
}

std::optional<Latest> LiveState::Get(std::string_view twin_id, std::string_view path) const {
  const Shard& shard = ShardOf(twin_id);
  std::lock_guard lock(shard.mu);
  auto twin = shard.twins.find(std::string(twin_id));
  if (twin == shard.twins.end()) return std::nullopt;
  auto it = twin->second.find(path);
  if (it == twin->second.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, Latest> LiveState::OfTwin(std::string_view twin_id) const {
  const Shard& shard = ShardOf(twin_id);
  std::lock_guard lock(shard.mu);
  auto twin = shard.twins.find(std::string(twin_id));
  if (twin == shard.twins.end()) return {};
  return {twin->second.begin(), twin->second.end()};
}

void LiveState::EraseTwin(std::string_view twin_id) {
  Shard& shard = ShardOf(twin_id);
  std::lock_guard lock(shard.mu);
  shard.twins.erase(std::string(twin_id));
}

}  // namespace doppel::ingest
