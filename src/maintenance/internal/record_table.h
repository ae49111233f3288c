// An in-memory table of imported records (maintenance history, production orders), by id,
// with the orderings the reads need: by start overall and per twin. Internal to
// src/maintenance; not thread-safe (WorkOrderService holds its lock around every call).
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace doppel::maintenance::internal {

// `Record` has `id`, `twin_id` and `start`.
template <typename Record>
class RecordTable {
 public:
  // Stores `record`; true when it replaced one with the same id.
  bool Put(Record record) {
    const bool replaced = Erase(record.id);
    by_start_.emplace(record.start, record.id);
    by_twin_.emplace(record.twin_id, record.start, record.id);
    std::string id = record.id;
    by_id_.emplace(std::move(id), std::move(record));
    return replaced;
  }

  bool Erase(std::string_view id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return false;
    by_start_.erase({it->second.start, it->second.id});
    by_twin_.erase({it->second.twin_id, it->second.start, it->second.id});
    by_id_.erase(it);
    return true;
  }

  bool Contains(std::string_view id) const { return by_id_.find(id) != by_id_.end(); }
  std::size_t size() const { return by_id_.size(); }
  bool empty() const { return by_id_.empty(); }

  // The record with the earliest start (ties: the smallest id); the table must not be empty.
  const Record& Earliest() const { return by_id_.find(by_start_.begin()->second)->second; }

  // The twins that have records, each once.
  std::vector<std::string> Twins() const {
    std::vector<std::string> twins;
    for (auto it = by_twin_.begin(); it != by_twin_.end(); it = EndOfTwin(std::get<0>(*it))) {
      twins.push_back(std::get<0>(*it));
    }
    return twins;
  }

  // The `limit` latest by start, oldest first: of `twin_id` ("" = every twin), and only of
  // twins in `allowed` when it is given.
  std::vector<Record> Latest(std::string_view twin_id, std::size_t limit,
                             const std::set<std::string>* allowed) const {
    std::vector<Record> out;
    auto take = [&](const std::string& id) { out.push_back(by_id_.find(id)->second); };
    if (!twin_id.empty()) {
      if (allowed != nullptr && !allowed->contains(std::string(twin_id))) return out;
      const std::string twin(twin_id);
      auto first = by_twin_.lower_bound({twin, TimePoint::min(), std::string()});
      for (auto it = EndOfTwin(twin); it != first && out.size() < limit;) take(std::get<2>(*--it));
    } else {
      for (auto it = by_start_.rbegin(); it != by_start_.rend() && out.size() < limit; ++it) {
        if (allowed != nullptr && !allowed->contains(by_id_.find(it->second)->second.twin_id))
          continue;
        take(it->second);
      }
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  const std::map<std::string, Record, std::less<>>& by_id() const { return by_id_; }

 private:
  using TwinIndex = std::set<std::tuple<std::string, TimePoint, std::string>>;

  // Past the last entry of `twin`: "twin\0" is the least string greater than every key of it.
  typename TwinIndex::const_iterator EndOfTwin(const std::string& twin) const {
    return by_twin_.lower_bound({twin + '\0', TimePoint::min(), std::string()});
  }

  std::map<std::string, Record, std::less<>> by_id_;
  std::set<std::pair<TimePoint, std::string>> by_start_;
  TwinIndex by_twin_;
};

}  // namespace doppel::maintenance::internal
