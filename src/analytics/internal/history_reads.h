// The few history reads the AnalyticsService needs: a path's points in a time range, and its
// newest points (detector warm-up). A path with no series yet has no points.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "tsdb/series_store.h"

namespace doppel::analytics::service_internal {

inline constexpr int64_t kBeginning = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kEnd = std::numeric_limits<int64_t>::max();

// Points of (twin, path) in [start, end), oldest first.
std::vector<tsdb::Point> ReadHistory(const tsdb::SeriesStore& store, std::string_view twin_id, std::string_view path,
                                     int64_t start = kBeginning, int64_t end = kEnd);
// The newest `n` points of (twin, path), oldest first.
std::vector<tsdb::Point> ReadTail(const tsdb::SeriesStore& store, std::string_view twin_id, std::string_view path,
                                  std::size_t n);

}  // namespace doppel::analytics::service_internal
