#include "analytics/internal/history_reads.h"

#include <algorithm>

#include "tsdb/query.h"

namespace doppel::analytics::service_internal {

std::vector<tsdb::Point> ReadHistory(const tsdb::SeriesStore& store, std::string_view twin_id, std::string_view path,
                                     int64_t start, int64_t end) {
  auto id = store.Find(twin_id, path);
  if (!id.ok() || start >= end) return {};
  auto points = tsdb::QueryRaw(store, *id, start, end);
  return points.ok() ? std::move(*points) : std::vector<tsdb::Point>{};
}

std::vector<tsdb::Point> ReadTail(const tsdb::SeriesStore& store, std::string_view twin_id, std::string_view path,
                                  std::size_t n) {
  auto id = store.Find(twin_id, path);
  if (!id.ok() || n == 0) return {};
  auto stats = store.Stats(*id);
  if (!stats.ok() || !stats->oldest || !stats->newest || stats->points == 0) return {};
  // Assume evenly spaced points and read twice the span n of them cover; widen if short.
  const double span = static_cast<double>(*stats->newest - *stats->oldest);
  double share = std::min(1.0, 2.0 * static_cast<double>(n) / static_cast<double>(stats->points));
  std::vector<tsdb::Point> points;
  while (true) {
    const int64_t start = share >= 1.0 ? kBeginning : *stats->newest - static_cast<int64_t>(span * share) - 1;
    points = ReadHistory(store, twin_id, path, start, *stats->newest + 1);
    if (points.size() >= n || share >= 1.0) break;
    share = std::min(1.0, share * 4);
  }
  if (points.size() > n) points.erase(points.begin(), points.end() - static_cast<std::ptrdiff_t>(n));
  return points;
}

}  // namespace doppel::analytics::service_internal
