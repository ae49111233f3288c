// Where the engine's values come from, as rules::Value: readings (tsdb::Value), twin
// documents (properties at the root, "name", and in components, "component/name", timed by
// their $metadata lastUpdateTime), the changes a Twin.Update event carries, and history.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "rules/expression.h"
#include "tsdb/series_store.h"
#include "tsdb/types.h"

namespace doppel::automation::engine {

// Numbers (int64 too) → double, bool, string.
rules::Value FromReading(const tsdb::Value& value);
// Numbers → double, bool, string; anything else (objects, arrays, null) has no value.
rules::Value FromJson(const json::value& value);

struct PropertyValue {
  std::string path;  // "name" or "component/name"
  int64_t time_ns = 0;
  rules::Value value;
};

// The property at `path` of a twin document, timed by its lastUpdateTime (else
// `fallback_ns`); nullopt when the document has none.
std::optional<PropertyValue> FindProperty(const json::object& doc, std::string_view path, int64_t fallback_ns);

// The properties a Twin.Update event's patch touched, with their values in the new document
// (no value for a removed one), at `time_ns`. A patch of a whole component gives each of its
// properties; system members ($metadata, $etag) give nothing.
std::vector<PropertyValue> ChangedProperties(const json::object& doc, const json::value& patch, int64_t time_ns);

// An event's RFC 3339 time in ns since the epoch (0 if unreadable).
int64_t EventTimeNs(std::string_view rfc3339);

// Points of (twin, path) with time in (after, through], oldest first; none without a series.
std::vector<tsdb::Point> HistoryBetween(const tsdb::SeriesStore& store, std::string_view twin_id,
                                        std::string_view path, int64_t after, int64_t through);
// The newest point's time of (twin, path) in history, if any.
std::optional<int64_t> NewestInHistory(const tsdb::SeriesStore& store, std::string_view twin_id,
                                       std::string_view path);

}  // namespace doppel::automation::engine
