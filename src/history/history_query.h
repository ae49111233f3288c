// History queries over many series at once: select series (explicitly, by twin, by model with
// inheritance, by a twin-graph query), then read raw points, time-bucket aggregates or the latest
// value of each, optionally grouped by twin or by a twin property. Pure: a TwinGraph and a
// SeriesStore in, result structs out (HTTP and output formats live in history_format.h and
// src/server/internal/timeseries_handlers.cc). User guide: docs/history.md.
//
//   HistoryRequest req;
//   req.model = "dtmi:doppel:example:windfarm:WindTurbine;1";
//   req.paths = {"windSpeed"};
//   req.mode = Mode::kAggregate;
//   req.start = t0; req.end = t0 + kHour; req.step = 60 * kSecond;
//   req.aggregations = {Aggregation::kAvg, Aggregation::kMax};
//   DOPPEL_ASSIGN_OR_RETURN(HistoryResult result, RunHistoryQuery(graph, store, req));
//
// Two steps, so large answers can be streamed: PlanHistoryQuery validates the request, selects
// the series and checks every limit (nothing is read beyond what counting needs); RunSeries /
// RunGroup then compute one series or group at a time. RunHistoryQuery does both in memory.
//
// Selection: the union of `series`, the series of `twins`, of twins of `model` (or of a model
// extending it, per the graph's ModelRegistry; series whose recorded model is one of those are
// included too, so history of a twin whose model changed is not lost) and of the twins a graph
// `query` projects; `paths`, when given, keeps only those paths of the twin-selected series
// (explicit `series` are kept as named). Result order: by (twin id, path), each series once.
// Cost: `series` and `twins` look their series up in the store (SeriesStore::Find,
// ListSeriesOfTwin: O(selected) per query); `model` and `query` list the store's catalog once per
// query (SeriesStore::ListSeries copies it: O(all series), fine to ~1M series).
//
// Aggregates follow tsdb/query.h exactly (epoch-aligned buckets [k*step, (k+1)*step) clipped to
// the range, last write wins on a duplicate time, population stddev, nearest-rank percentiles,
// only buckets holding points). In aggregate mode a series named explicitly (in `series`, or a
// path in `paths`) must be numeric (InvalidArgument); non-numeric series picked up only by a
// twin/model/query selector without `paths` are skipped.
//
// Grouping: kSeries and kTwin return the same series (kTwin only changes how they are
// presented: nested per twin). kProperty (aggregate mode only) merges the series of twins whose
// top-level property `name` has the same value (absent: null) and which share a path into one
// group per (value, path). kRelationship does the same with the group value being the source
// twin of an incoming relationship `name` (e.g. "contains": one group per production line
// containing the stations; a twin with several such parents is counted in each parent's group,
// one without any falls in the null group). Each bucket then aggregates the union of the
// group's points: count, sum,
// min, max, avg exact; stddev from combined moments; first/last by time (on equal times the
// series first in (twin, path) order is "first" and the last one "last"); percentiles over the
// union of values.
//
// Errors: InvalidArgument (no selector, bad range, step <= 0, non-numeric series named in an
// aggregate, a graph query that projects no twins — and the query's own syntax errors),
// NotFound (an explicit twin, series or model that does not exist — or, to the caller, only
// exists invisibly: see HistoryRequest::visible), PayloadTooLarge (limits
// below; the message says which limit and what to change), errors of the store (Internal).
//
// Thread-safety: free functions; the graph and store are thread-safe. A plan holds copies, not
// references into the graph, so it may outlive graph changes (a series deleted in between is
// reported NotFound by RunSeries).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "tsdb/query.h"
#include "tsdb/series_store.h"
#include "twin/field_mask.h"
#include "twin/twin_graph.h"
#include "twin/visibility.h"

namespace doppel::history {

using tsdb::TimeNs;

// Limits (documented in docs/history.md). Each guards server memory and response size.
// Series per raw or aggregate query: 10k series of hourly buckets is already a large chart set.
inline constexpr std::size_t kMaxSeries = 10'000;
// Series per `last` query: one point each, so ten times more.
inline constexpr std::size_t kMaxLastSeries = 100'000;
// Raw points per response: ~40 MB of JSON; ask for aggregates (a step) beyond that.
inline constexpr uint64_t kMaxRawPoints = 1'000'000;
// Buckets per series (the engine's limit) and per response (series × buckets in the range).
inline constexpr int64_t kMaxBucketsPerSeries = tsdb::kMaxBuckets;
inline constexpr uint64_t kMaxTotalBuckets = 2'000'000;

// The limits a plan enforces; defaults are the constants above (tests lower them).
struct HistoryLimits {
  std::size_t max_series = kMaxSeries;
  std::size_t max_last_series = kMaxLastSeries;
  uint64_t max_raw_points = kMaxRawPoints;
  int64_t max_buckets_per_series = kMaxBucketsPerSeries;
  uint64_t max_total_buckets = kMaxTotalBuckets;
};

enum class Mode { kRaw, kAggregate, kLast };

enum class Aggregation : uint8_t {
  kCount,
  kSum,
  kAvg,
  kMin,
  kMax,
  kFirst,
  kLast,
  kStddev,
  kP50,
  kP90,
  kP95,
  kP99
};
inline constexpr std::size_t kAggregationCount = 12;
// "count", "sum", "avg", ... as in requests and output.
std::string_view AggregationName(Aggregation a);
// InvalidArgument "unknown aggregation 'x'; expected one of count, sum, ..." when unknown.
Result<Aggregation> ParseAggregation(std::string_view name);
// The value of `a` in a bucket (count as a double).
double AggregationValue(const tsdb::Bucket& bucket, Aggregation a);
bool IsPercentile(Aggregation a);

struct SeriesKey {
  std::string twin;
  std::string path;
};

struct GroupBy {
  enum class Kind { kSeries, kTwin, kProperty, kRelationship };
  Kind kind = Kind::kSeries;
  std::string name;  // kProperty: the top-level property; kRelationship: the relationship name
  // kProperty and kRelationship merge series into groups (PropertyGroup).
  bool merges() const { return kind == Kind::kProperty || kind == Kind::kRelationship; }
};

struct HistoryRequest {
  // Selectors (at least one of the first four).
  std::vector<SeriesKey> series;
  std::vector<std::string> twins;
  std::string model;
  std::string query;
  std::vector<std::string> paths;

  Mode mode = Mode::kRaw;
  std::optional<TimeNs> start;  // raw and aggregate: required, start < end; last: must be unset
  std::optional<TimeNs> end;
  TimeNs step = 0;                        // aggregate: > 0; otherwise 0
  std::vector<Aggregation> aggregations;  // aggregate: empty means {kAvg}; otherwise empty
  GroupBy group_by;

  // Not part of the wire form (ParseHistoryRequest leaves it null): the twins the caller may
  // see, set by the server from the caller's policy (twin/visibility.h). Null (the default)
  // sees everything. A series is visible when the filter admits (its twin, the twin's model):
  // the model is the twin's current one in the graph, or, for a twin no longer in the graph,
  // the model recorded with the series. Every selector yields only visible series; an invisible
  // twin or series named explicitly fails exactly as a nonexistent one does (NotFound, same
  // message), a model whose only history is invisible is NotFound as an unknown one, the graph
  // query runs with this filter (query::QueryOptions::visible), and groupBy relationship
  // ignores invisible parent twins (their children fall in the null group unless another,
  // visible parent holds them).
  twin::TwinFilter visible;
  // Not part of the wire form either: the values the caller may not see (twin/field_mask.h;
  // null sees all). A series whose path the mask hides for its twin's model (judged like
  // `visible`) is as absent as an invisible one: never selected, NotFound when named, not in a
  // model's or query's series; the graph query runs with the mask, and groupBy property puts
  // a twin whose property is masked in the null group.
  twin::FieldMask masked;
};

// One selected series and what was computed for it (only the member of the request's mode).
struct SeriesResult {
  tsdb::SeriesInfo info;
  std::vector<tsdb::Point> points;    // kRaw: [start, end), time order
  std::vector<tsdb::Bucket> buckets;  // kAggregate
  std::optional<tsdb::Point> last;    // kLast: nullopt if the series has no points
};

// A merged group (groupBy property or relationship): the series at `path` of the twins whose
// property is `value` (or whose related parent twin is `value`, a twin id).
struct PropertyGroup {
  json::value value;  // property value / parent twin id; null when absent
  std::string path;
  std::string unit;                       // the members' unit if they agree, else ""
  std::vector<std::string> twins;         // member twins, sorted
  std::vector<tsdb::SeriesInfo> members;  // member series, by (twin, path)
  std::vector<tsdb::Bucket> buckets;      // filled by RunGroup
};

struct HistoryPlan {
  HistoryRequest request;  // normalised (aggregations defaulted)
  HistoryLimits limits;
  std::vector<tsdb::SeriesInfo> series;  // selected, by (twin, path)
  // Merged groups by (value as JSON text, null last; path), without buckets.
  std::vector<PropertyGroup> groups;
  uint64_t raw_points = 0;  // kRaw: points in range over all series (exact)
};

struct HistoryResult {
  HistoryPlan plan;
  std::vector<SeriesResult> series;   // unless group_by.merges()
  std::vector<PropertyGroup> groups;  // if group_by.merges()
};

// Validates, selects and checks limits (see the file comment). Raw mode counts the points in
// range (from chunk headers where possible) to enforce kMaxRawPoints before any answer starts.
Result<HistoryPlan> PlanHistoryQuery(const twin::TwinGraph& graph, const tsdb::SeriesStore& store,
                                     HistoryRequest request, const HistoryLimits& limits = {});

// Computes plan.series[index] (raw or aggregate mode).
Result<SeriesResult> RunSeries(const tsdb::SeriesStore& store, const HistoryPlan& plan,
                               std::size_t index);
// kLast: the latest point of every selected series, in one SeriesStore::Last call.
Result<std::vector<SeriesResult>> RunLast(const tsdb::SeriesStore& store, const HistoryPlan& plan);
// Computes plan.groups[index] (group_by.merges()).
Result<PropertyGroup> RunGroup(const tsdb::SeriesStore& store, const HistoryPlan& plan,
                               std::size_t index);

// Runs every series or group of `plan`, in memory.
Result<HistoryResult> RunPlan(const tsdb::SeriesStore& store, HistoryPlan plan);
// Plan and run everything, in memory.
Result<HistoryResult> RunHistoryQuery(const twin::TwinGraph& graph, const tsdb::SeriesStore& store,
                                      HistoryRequest request, const HistoryLimits& limits = {});

}  // namespace doppel::history
