#include "history/history_query.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "history/internal/group_aggregate.h"
#include "query/query.h"

namespace doppel::history {
namespace {

constexpr std::array<std::string_view, kAggregationCount> kAggregationNames = {
    "count", "sum", "avg", "min", "max", "first", "last", "stddev", "p50", "p90", "p95", "p99"};

std::string Quoted(std::string_view twin, std::string_view path) {
  return fmt::format("'{}'/'{}'", twin, path);
}

// ---- selection ----

// The store's catalog (or the part of it a query looked at) by twin, then path.
using Catalog = std::map<std::string, std::map<std::string, tsdb::SeriesInfo>, std::less<>>;

// The whole catalog: for model and query selectors, which look at every series' model. Copies
// the catalog (SeriesStore::ListSeries), so twin selectors use SeriesOf's lookups instead.
Catalog BuildCatalog(const tsdb::SeriesStore& store) {
  Catalog catalog;
  for (tsdb::SeriesInfo& info : store.ListSeries()) {
    std::string twin = info.spec.twin_id, path = info.spec.path;
    catalog[std::move(twin)].emplace(std::move(path), std::move(info));
  }
  return catalog;
}

struct Selected {
  tsdb::SeriesInfo info;
  bool named = false;  // named explicitly: in `series`, or its path is in `paths`
};

// Keyed by (twin, path), which is also the result order.
using Selection = std::map<std::pair<std::string, std::string>, Selected>;

class Selector {
 public:
  Selector(const twin::TwinGraph& graph, const tsdb::SeriesStore& store,
           const HistoryRequest& request)
      : graph_(graph), store_(store), request_(request) {}

  Result<Selection> Run() {
    for (const SeriesKey& key : request_.series) DOPPEL_RETURN_IF_ERROR(AddExplicit(key));
    if (!request_.twins.empty() || !request_.model.empty() || !request_.query.empty()) {
      full_catalog_ = !request_.model.empty() || !request_.query.empty();
      if (full_catalog_) catalog_ = BuildCatalog(store_);
      std::set<std::string> twins;
      DOPPEL_RETURN_IF_ERROR(CollectTwins(twins));
      if (!request_.model.empty()) DOPPEL_RETURN_IF_ERROR(CollectModel(twins));
      if (!request_.query.empty()) DOPPEL_RETURN_IF_ERROR(CollectQuery(twins));
      if (Filtered()) LoadGraphModels(twins);  // one graph read for all, not one each
      for (const std::string& twin : twins) AddTwin(twin);
    }
    return std::move(selection_);
  }

 private:
  Status AddExplicit(const SeriesKey& key) {
    auto not_found = [&] {
      return Status::NotFound(fmt::format("no series {} in history", Quoted(key.twin, key.path)));
    };
    Result<tsdb::SeriesId> id = store_.Find(key.twin, key.path);
    if (!id.ok()) return not_found();
    DOPPEL_ASSIGN_OR_RETURN(tsdb::SeriesInfo info, store_.Info(*id));
    if (!Visible(info)) return not_found();  // indistinguishable from a missing one
    selection_[{key.twin, key.path}] = Selected{std::move(info), true};
    return Status::Ok();
  }

  // The twin's series by path; nullptr if it has none. Without the full catalog, one range
  // lookup in the store per twin (cached in catalog_).
  const std::map<std::string, tsdb::SeriesInfo>* SeriesOf(const std::string& twin) {
    if (auto it = catalog_.find(twin); it != catalog_.end()) return &it->second;
    if (full_catalog_) return nullptr;
    std::vector<tsdb::SeriesInfo> infos = store_.ListSeriesOfTwin(twin);
    if (infos.empty()) return nullptr;
    auto& by_path = catalog_[twin];
    for (tsdb::SeriesInfo& info : infos) {
      std::string path = info.spec.path;
      by_path.emplace(std::move(path), std::move(info));
    }
    return &by_path;
  }

  // ---- visibility (HistoryRequest::visible) ----

  // The twin's current model in the graph, or nullopt if it is not in the graph (cached).
  const std::optional<std::string>& GraphModel(const std::string& twin) {
    if (auto it = graph_models_.find(twin); it != graph_models_.end()) return it->second;
    LoadGraphModels({twin});
    return graph_models_.at(twin);
  }

  // GraphModel for many twins under one graph read.
  void LoadGraphModels(const std::set<std::string>& twins) {
    graph_.Read([&](const twin::GraphState& s) {
      for (const std::string& twin : twins) {
        if (graph_models_.contains(twin)) continue;
        const twin::Twin* t = s.FindTwin(twin);
        graph_models_[twin] = t != nullptr ? std::optional(t->model_id) : std::nullopt;
      }
      return 0;
    });
  }

  bool Filtered() const { return request_.visible || request_.masked; }

  // Visible and not masked: a masked series is as absent as an invisible one.
  bool Visible(const tsdb::SeriesInfo& info) {
    if (!Filtered()) return true;
    const std::optional<std::string>& graph_model = GraphModel(info.spec.twin_id);
    const std::string& model = graph_model ? *graph_model : info.spec.model_id;
    if (request_.visible && !request_.visible(info.spec.twin_id, model)) return false;
    return request_.masked.Hides(model, info.spec.path).empty();
  }

  // Whether the caller may know of `twin` at all: in the graph and visible, or known only to
  // history with at least one visible series.
  bool TwinVisible(const std::string& twin) {
    if (!request_.visible) return true;
    if (const std::optional<std::string>& model = GraphModel(twin)) {
      return request_.visible(twin, *model);
    }
    const auto* by_path = SeriesOf(twin);
    return by_path != nullptr && std::any_of(by_path->begin(), by_path->end(), [&](const auto& e) {
             return Visible(e.second);
           });
  }

  Status CollectTwins(std::set<std::string>& twins) {
    for (const std::string& id : request_.twins) {
      const bool in_graph =
          graph_.Read([&](const twin::GraphState& s) { return s.FindTwin(id) != nullptr; });
      // An invisible twin gets the very answer a nonexistent one gets.
      if ((!in_graph && SeriesOf(id) == nullptr) || !TwinVisible(id)) {
        return Status::NotFound(
            fmt::format("twin '{}' not found (neither in the graph nor in history)", id));
      }
      twins.insert(id);
    }
    return Status::Ok();
  }

  // Twins of the model or of a model extending it, plus twins whose series recorded one of
  // those models (history outlives a twin's change of model or deletion).
  Status CollectModel(std::set<std::string>& twins) {
    std::set<std::string> models = graph_.Read([&](const twin::GraphState& s) {
      std::set<std::string> out;
      for (const auto& [id, entry] : s.models().entries()) {
        if (s.models().IsOfModel(id, request_.model)) out.insert(id);
      }
      for (const std::string& id : out) {
        if (const auto* ids = s.TwinsOfExactModel(id)) twins.insert(ids->begin(), ids->end());
      }
      return out;
    });
    models.insert(request_.model);
    std::vector<const tsdb::SeriesInfo*> recorded_series;
    for (const auto& [twin, by_path] : catalog_) {
      for (const auto& [path, info] : by_path) {
        if (models.count(info.spec.model_id) == 0) continue;
        twins.insert(twin);
        recorded_series.push_back(&info);
      }
    }
    // History only the caller cannot see does not make an unknown model known.
    if (Filtered()) {
      std::set<std::string> recorded_twins;
      for (const tsdb::SeriesInfo* info : recorded_series) {
        recorded_twins.insert(info->spec.twin_id);
      }
      LoadGraphModels(recorded_twins);
    }
    const bool recorded =
        std::any_of(recorded_series.begin(), recorded_series.end(),
                    [&](const tsdb::SeriesInfo* info) { return Visible(*info); });
    if (models.size() == 1 && !recorded && !graph_.Read([&](const twin::GraphState& s) {
          return s.models().Find(request_.model) != nullptr;
        })) {
      return Status::NotFound(fmt::format("model '{}' not found", request_.model));
    }
    return Status::Ok();
  }

  Status CollectQuery(std::set<std::string>& twins) const {
    query::QueryOptions options;
    options.page_size = 10'000;
    options.visible = request_.visible;
    options.masked = request_.masked;
    std::string text = request_.query;
    while (true) {
      DOPPEL_ASSIGN_OR_RETURN(query::QueryPage page, query::Execute(graph_, text, options));
      for (const json::value& row : page.value) DOPPEL_RETURN_IF_ERROR(TwinsOfRow(row, twins));
      if (page.continuation_token.empty()) return Status::Ok();
      options.continuation_token = std::move(page.continuation_token);
      text.clear();
    }
  }

  // A row is a twin ({"$dtId": ..}, SELECT * or SELECT T.$dtId) or holds projected twins
  // ({"T": twin, "CT": twin}).
  static Status TwinsOfRow(const json::value& row, std::set<std::string>& twins) {
    auto id_of = [](const json::value& v) -> const json::string* {
      const json::value* id = v.is_object() ? v.get_object().if_contains("$dtId") : nullptr;
      return id != nullptr && id->is_string() ? &id->get_string() : nullptr;
    };
    if (const json::string* id = id_of(row)) {
      twins.emplace(*id);
      return Status::Ok();
    }
    bool found = false;
    if (row.is_object()) {
      for (const auto& [name, value] : row.get_object()) {
        if (const json::string* id = id_of(value)) twins.emplace(*id), found = true;
      }
    }
    if (found) return Status::Ok();
    return Status::InvalidArgument(fmt::format(
        "the 'query' selector must project twins (e.g. SELECT T FROM DIGITALTWINS T WHERE ..., "
        "SELECT * or SELECT T.$dtId); it returned the row {}",
        ToJson(row).substr(0, 200)));
  }

  void AddTwin(const std::string& twin) {
    const std::map<std::string, tsdb::SeriesInfo>* by_path = SeriesOf(twin);
    if (by_path == nullptr) return;
    const std::vector<std::string>& paths = request_.paths;
    for (const auto& [path, info] : *by_path) {
      const bool listed = std::find(paths.begin(), paths.end(), path) != paths.end();
      if (!paths.empty() && !listed) continue;
      if (!Visible(info)) continue;
      Selected& s = selection_[{twin, path}];
      s.named = s.named || listed;
      s.info = info;
    }
  }

  const twin::TwinGraph& graph_;
  const tsdb::SeriesStore& store_;
  const HistoryRequest& request_;
  Catalog catalog_;
  bool full_catalog_ = false;  // catalog_ holds every series (else only twins looked up)
  Selection selection_;
  // Twin → its model in the graph (nullopt: not in the graph); filled only when filtering.
  std::map<std::string, std::optional<std::string>, std::less<>> graph_models_;
};

// ---- validation and limits ----

Status ValidateRequest(const HistoryRequest& r) {
  if (r.series.empty() && r.twins.empty() && r.model.empty() && r.query.empty()) {
    return Status::InvalidArgument(
        "select series with at least one of 'series', 'twins', 'model' or 'query'");
  }
  const bool ranged = r.mode != Mode::kLast;
  if (!ranged && (r.start || r.end)) {
    return Status::InvalidArgument(
        "mode 'last' returns the latest point of each series; it takes no start or end");
  }
  if (ranged && (!r.start || !r.end)) {
    return Status::InvalidArgument("'start' and 'end' are required (the range is [start, end))");
  }
  if (ranged && *r.start >= *r.end) {
    return Status::InvalidArgument(fmt::format(
        "empty or inverted time range: start ({}) must be before end ({})", *r.start, *r.end));
  }
  if (r.mode == Mode::kAggregate && r.step <= 0) {
    return Status::InvalidArgument("aggregates need a positive 'step' (bucket width, e.g. \"1m\")");
  }
  if (r.mode != Mode::kAggregate && (r.step != 0 || !r.aggregations.empty())) {
    return Status::InvalidArgument("'step' and 'aggregations' apply to mode 'aggregate' only");
  }
  if (r.group_by.merges()) {
    if (r.mode != Mode::kAggregate) {
      return Status::InvalidArgument(
          "groupBy property or relationship merges series into buckets: it needs mode 'aggregate' "
          "(a step)");
    }
    if (r.group_by.name.empty())
      return Status::InvalidArgument("groupBy property or relationship needs a name");
  }
  for (const SeriesKey& k : r.series) {
    if (k.twin.empty() || k.path.empty())
      return Status::InvalidArgument("each 'series' entry needs a 'twin' and a 'path'");
  }
  return Status::Ok();
}

int64_t BucketsInRange(TimeNs start, TimeNs end, TimeNs step) {
  const __int128 n = __int128{tsdb::FloorDiv(end - 1, step)} - tsdb::FloorDiv(start, step) + 1;
  return n > std::numeric_limits<int64_t>::max() ? std::numeric_limits<int64_t>::max()
                                                 : static_cast<int64_t>(n);
}

Status CheckSeriesLimit(const HistoryRequest& r, const HistoryLimits& limits, std::size_t n) {
  const std::size_t limit = r.mode == Mode::kLast ? limits.max_last_series : limits.max_series;
  if (n <= limit) return Status::Ok();
  return Status::PayloadTooLarge(fmt::format(
      "the query selects {} series; the limit is {} per query ({} for mode 'last' and {} "
      "otherwise): "
      "narrow the selection with 'paths', fewer twins or a more specific model or query",
      n, limit, limits.max_last_series, limits.max_series));
}

Status CheckBucketLimits(const HistoryRequest& r, const HistoryLimits& limits, std::size_t rows) {
  const int64_t per_series = BucketsInRange(*r.start, *r.end, r.step);
  if (per_series > limits.max_buckets_per_series) {
    return Status::PayloadTooLarge(
        fmt::format("the range holds {} buckets of step {} ns per series; the limit is {}: raise "
                    "'step' or shorten the range",
                    per_series, r.step, limits.max_buckets_per_series));
  }
  const __int128 total = __int128{per_series} * rows;
  if (total > limits.max_total_buckets) {
    return Status::PayloadTooLarge(
        fmt::format("{} series or groups × {} buckets exceeds the limit of {} buckets per "
                    "response: raise 'step', shorten "
                    "the range or select fewer series",
                    rows, per_series, limits.max_total_buckets));
  }
  return Status::Ok();
}

// Points of one series in [start, end): from chunk headers where tsdb can (one bucket spanning
// the whole range), decoding only where chunks overlap the range edges or each other.
Result<uint64_t> CountPoints(const tsdb::SeriesStore& store, const tsdb::SeriesInfo& info,
                             TimeNs start, TimeNs end) {
  if (!tsdb::IsNumeric(info.spec.type)) {
    DOPPEL_ASSIGN_OR_RETURN(std::vector<tsdb::Point> points,
                            tsdb::QueryRaw(store, info.id, start, end));
    return points.size();
  }
  const __int128 span = __int128{end} - start;
  tsdb::AggregateRequest req{.series = info.id,
                             .start = start,
                             .end = end,
                             .step = span > std::numeric_limits<int64_t>::max()
                                         ? std::numeric_limits<int64_t>::max()
                                         : static_cast<TimeNs>(span)};
  DOPPEL_ASSIGN_OR_RETURN(std::vector<tsdb::Bucket> buckets, tsdb::QueryAggregate(store, req));
  uint64_t n = 0;
  for (const tsdb::Bucket& b : buckets) n += b.count;
  return n;
}

Result<uint64_t> CountRawPoints(const tsdb::SeriesStore& store, const HistoryPlan& plan) {
  uint64_t total = 0;
  for (const tsdb::SeriesInfo& info : plan.series) {
    DOPPEL_ASSIGN_OR_RETURN(uint64_t n,
                            CountPoints(store, info, *plan.request.start, *plan.request.end));
    total += n;
    if (total > plan.limits.max_raw_points) {
      return Status::PayloadTooLarge(
          fmt::format("the query selects more than {} raw points (the limit per response): shorten "
                      "the range, select fewer "
                      "series or ask for aggregates with a 'step'",
                      plan.limits.max_raw_points));
    }
  }
  return total;
}

// ---- groupBy property / relationship ----

// The twin's top-level property, numbers as doubles so 3 and 3.0 group together; null if absent
// or masked for the caller.
json::value PropertyOf(const twin::GraphState& s, std::string_view twin, std::string_view name,
                       const twin::FieldMask& masked) {
  const twin::Twin* t = s.FindTwin(twin);
  if (t != nullptr && !masked.Hides(t->model_id, name).empty()) return nullptr;
  const json::value* v = t != nullptr ? t->doc.if_contains(name) : nullptr;
  if (v == nullptr) return nullptr;
  if (v->is_int64() || v->is_uint64()) return v->to_number<double>();
  return *v;
}

// The visible source twins of incoming relationships named `name`, sorted; [null] if none.
std::vector<json::value> ParentsOf(const twin::GraphState& s, const std::string& twin,
                                   std::string_view name, const twin::TwinFilter& visible) {
  auto parent_visible = [&](const std::string& id) {
    if (!visible) return true;
    const twin::Twin* parent = s.FindTwin(id);
    return parent != nullptr && visible(id, parent->model_id);
  };
  std::set<std::string> parents;
  if (const auto* incoming = s.Incoming(twin)) {
    for (const auto& [source, rel_id] : *incoming) {
      const twin::Relationship* rel = s.FindRelationship(source, rel_id);
      if (rel != nullptr && rel->name == name && parent_visible(source)) parents.insert(source);
    }
  }
  if (parents.empty()) return {json::value(nullptr)};
  return std::vector<json::value>(parents.begin(), parents.end());
}

std::vector<PropertyGroup> BuildGroups(const twin::TwinGraph& graph,
                                       const std::vector<tsdb::SeriesInfo>& series,
                                       const GroupBy& by, const twin::TwinFilter& visible,
                                       const twin::FieldMask& masked) {
  // Ordered by value (as JSON text; the null group last), then path.
  std::map<std::tuple<bool, std::string, std::string>, PropertyGroup> groups;
  graph.Read([&](const twin::GraphState& s) {
    for (const tsdb::SeriesInfo& info : series) {
      std::vector<json::value> values =
          by.kind == GroupBy::Kind::kProperty
              ? std::vector<json::value>{PropertyOf(s, info.spec.twin_id, by.name, masked)}
              : ParentsOf(s, info.spec.twin_id, by.name, visible);
      for (json::value& value : values) {
        PropertyGroup& g = groups[{value.is_null(), ToJson(value), info.spec.path}];
        if (g.members.empty())
          g.value = std::move(value), g.path = info.spec.path, g.unit = info.spec.unit;
        if (g.unit != info.spec.unit) g.unit.clear();
        g.members.push_back(info);
        if (g.twins.empty() || g.twins.back() != info.spec.twin_id)
          g.twins.push_back(info.spec.twin_id);
      }
    }
    return 0;
  });
  std::vector<PropertyGroup> out;
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  return out;
}

bool NeedsPoints(const std::vector<Aggregation>& aggs) {
  return std::any_of(aggs.begin(), aggs.end(), [](Aggregation a) {
    return a == Aggregation::kFirst || a == Aggregation::kLast || IsPercentile(a);
  });
}

bool WantsPercentiles(const std::vector<Aggregation>& aggs) {
  return std::any_of(aggs.begin(), aggs.end(), IsPercentile);
}

// Selection filtered for the mode and checked; the groups for groupBy property.
Status FinishSelection(const twin::TwinGraph& graph, Selection selection, HistoryPlan& plan) {
  const HistoryRequest& r = plan.request;
  for (auto& [key, s] : selection) {
    if (r.mode == Mode::kAggregate && !tsdb::IsNumeric(s.info.spec.type)) {
      if (!s.named) continue;
      return Status::InvalidArgument(
          fmt::format("series {} holds {} values; aggregates need a numeric series",
                      Quoted(key.first, key.second), tsdb::ValueTypeName(s.info.spec.type)));
    }
    plan.series.push_back(std::move(s.info));
  }
  DOPPEL_RETURN_IF_ERROR(CheckSeriesLimit(r, plan.limits, plan.series.size()));
  if (r.group_by.merges())
    plan.groups = BuildGroups(graph, plan.series, r.group_by, r.visible, r.masked);
  return Status::Ok();
}

}  // namespace

std::string_view AggregationName(Aggregation a) {
  return kAggregationNames[static_cast<std::size_t>(a)];
}

Result<Aggregation> ParseAggregation(std::string_view name) {
  for (std::size_t i = 0; i < kAggregationNames.size(); ++i) {
    if (kAggregationNames[i] == name) return static_cast<Aggregation>(i);
  }
  return Status::InvalidArgument(fmt::format("unknown aggregation '{}'; expected one of {}", name,
                                             fmt::join(kAggregationNames, ", ")));
}

bool IsPercentile(Aggregation a) { return a >= Aggregation::kP50; }

double AggregationValue(const tsdb::Bucket& b, Aggregation a) {
  switch (a) {
    case Aggregation::kCount:
      return static_cast<double>(b.count);
    case Aggregation::kSum:
      return b.sum;
    case Aggregation::kAvg:
      return b.avg;
    case Aggregation::kMin:
      return b.min;
    case Aggregation::kMax:
      return b.max;
    case Aggregation::kFirst:
      return b.first;
    case Aggregation::kLast:
      return b.last;
    case Aggregation::kStddev:
      return b.stddev;
    case Aggregation::kP50:
      return b.p50;
    case Aggregation::kP90:
      return b.p90;
    case Aggregation::kP95:
      return b.p95;
    case Aggregation::kP99:
      return b.p99;
  }
  return 0;
}

Result<HistoryPlan> PlanHistoryQuery(const twin::TwinGraph& graph, const tsdb::SeriesStore& store,
                                     HistoryRequest request, const HistoryLimits& limits) {
  DOPPEL_RETURN_IF_ERROR(ValidateRequest(request));
  if (request.mode == Mode::kAggregate && request.aggregations.empty())
    request.aggregations = {Aggregation::kAvg};
  HistoryPlan plan;
  plan.request = std::move(request);
  plan.limits = limits;
  DOPPEL_ASSIGN_OR_RETURN(Selection selection, Selector(graph, store, plan.request).Run());
  DOPPEL_RETURN_IF_ERROR(FinishSelection(graph, std::move(selection), plan));
  const HistoryRequest& r = plan.request;
  if (r.mode == Mode::kAggregate) {
    const bool grouped = r.group_by.merges();
    DOPPEL_RETURN_IF_ERROR(
        CheckBucketLimits(r, plan.limits, grouped ? plan.groups.size() : plan.series.size()));
  }
  if (r.mode == Mode::kRaw) {
    DOPPEL_ASSIGN_OR_RETURN(plan.raw_points, CountRawPoints(store, plan));
  }
  return plan;
}

using MaybeBuckets = std::optional<std::vector<tsdb::Bucket>>;
Result<MaybeBuckets> NoRollups() { return MaybeBuckets(); }

// Where retention has dropped raw data and kept roll-ups (RetentionRule::keep_rollups), the
// buckets come from the roll-ups: when the range starts before the series' roll-up floor, the
// step is whole hours or minutes, and only count, sum, avg, min and max are asked (what a
// roll-up row holds). Roll-up rows are whole minutes or hours, not clipped to the range.
// nullopt: answer from the raw data as usual.
Result<MaybeBuckets> RollupBuckets(const tsdb::SeriesStore& store, const HistoryRequest& r, tsdb::SeriesId id) {
  for (Aggregation a : r.aggregations) {
    if (a != Aggregation::kCount && a != Aggregation::kSum && a != Aggregation::kAvg && a != Aggregation::kMin &&
        a != Aggregation::kMax) {
      return NoRollups();
    }
  }
  std::optional<tsdb::RollupLevel> level;
  if (r.step % tsdb::RollupStep(tsdb::RollupLevel::kHour) == 0) {
    level = tsdb::RollupLevel::kHour;
  } else if (r.step % tsdb::RollupStep(tsdb::RollupLevel::kMinute) == 0) {
    level = tsdb::RollupLevel::kMinute;
  }
  if (!level) return NoRollups();
  DOPPEL_ASSIGN_OR_RETURN(tsdb::RollupData rollups, store.ReadRollups(id, *level, *r.start, *r.start + 1));
  if (!rollups.floor || *r.start >= *rollups.floor) return NoRollups();
  DOPPEL_ASSIGN_OR_RETURN(std::vector<tsdb::Bucket> fine, tsdb::QueryRollup(store, id, *level, *r.start, *r.end));
  std::vector<tsdb::Bucket> out;
  std::vector<tsdb::Moments> moments;
  for (const tsdb::Bucket& b : fine) {
    if (b.count == 0) continue;
    const tsdb::TimeNs start = tsdb::FloorDiv(b.start, r.step) * r.step;
    if (out.empty() || out.back().start != start) {
      out.push_back({.start = start});
      moments.emplace_back();
    }
    moments.back().Merge(tsdb::Moments::Of(b));
  }
  for (std::size_t i = 0; i < out.size(); ++i) moments[i].FillBucket(out[i]);
  return MaybeBuckets(std::move(out));
}

Result<SeriesResult> RunSeries(const tsdb::SeriesStore& store, const HistoryPlan& plan,
                               std::size_t index) {
  const HistoryRequest& r = plan.request;
  SeriesResult out;
  out.info = plan.series.at(index);
  if (r.mode == Mode::kRaw) {
    DOPPEL_ASSIGN_OR_RETURN(out.points, tsdb::QueryRaw(store, out.info.id, *r.start, *r.end));
  } else if (r.mode == Mode::kAggregate) {
    tsdb::AggregateRequest req{.series = out.info.id,
                               .start = *r.start,
                               .end = *r.end,
                               .step = r.step,
                               .percentiles = WantsPercentiles(r.aggregations)};
    DOPPEL_ASSIGN_OR_RETURN(MaybeBuckets from_rollups, RollupBuckets(store, r, out.info.id));
    if (from_rollups) {
      out.buckets = std::move(*from_rollups);
    } else {
      DOPPEL_ASSIGN_OR_RETURN(out.buckets, tsdb::QueryAggregate(store, req));
    }
  } else {
    DOPPEL_ASSIGN_OR_RETURN(std::vector<std::optional<tsdb::Point>> last,
                            store.Last(std::span(&out.info.id, 1)));
    out.last = std::move(last.at(0));
  }
  return out;
}

Result<std::vector<SeriesResult>> RunLast(const tsdb::SeriesStore& store, const HistoryPlan& plan) {
  std::vector<tsdb::SeriesId> ids;
  ids.reserve(plan.series.size());
  for (const tsdb::SeriesInfo& info : plan.series) ids.push_back(info.id);
  DOPPEL_ASSIGN_OR_RETURN(std::vector<std::optional<tsdb::Point>> last, store.Last(ids));
  std::vector<SeriesResult> out(plan.series.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].info = plan.series[i];
    out[i].last = std::move(last[i]);
  }
  return out;
}

Result<PropertyGroup> RunGroup(const tsdb::SeriesStore& store, const HistoryPlan& plan,
                               std::size_t index) {
  const HistoryRequest& r = plan.request;
  PropertyGroup group = plan.groups.at(index);
  const bool percentiles = WantsPercentiles(r.aggregations);
  internal::GroupBuckets acc;
  if (NeedsPoints(r.aggregations)) {
    // first/last need each point's time and percentiles every value: read the points.
    uint64_t read = 0;
    for (uint32_t m = 0; m < group.members.size(); ++m) {
      DOPPEL_ASSIGN_OR_RETURN(std::vector<tsdb::Point> points,
                              tsdb::QueryRaw(store, group.members[m].id, *r.start, *r.end));
      read += points.size();
      if (read > plan.limits.max_raw_points) {
        return Status::PayloadTooLarge(
            fmt::format("first, last and percentiles over a property group read every point; the "
                        "group '{}' holds more than {}: "
                        "shorten the range or ask for count, sum, avg, min, max or stddev only",
                        group.path, plan.limits.max_raw_points));
      }
      for (const tsdb::Point& p : points) {
        acc[tsdb::FloorDiv(p.time, r.step)].Add(p.time, m, tsdb::NumericValue(p.value),
                                                percentiles);
      }
    }
  } else {
    // Moments combine exactly from per-series buckets, which tsdb computes from chunk headers.
    for (const tsdb::SeriesInfo& member : group.members) {
      tsdb::AggregateRequest req{
          .series = member.id, .start = *r.start, .end = *r.end, .step = r.step};
      DOPPEL_ASSIGN_OR_RETURN(std::vector<tsdb::Bucket> buckets, tsdb::QueryAggregate(store, req));
      for (const tsdb::Bucket& b : buckets) acc[tsdb::FloorDiv(b.start, r.step)].Merge(b);
    }
  }
  for (auto& [k, bucket] : acc) group.buckets.push_back(bucket.Finish(k * r.step, percentiles));
  return group;
}

Result<HistoryResult> RunHistoryQuery(const twin::TwinGraph& graph, const tsdb::SeriesStore& store,
                                      HistoryRequest request, const HistoryLimits& limits) {
  DOPPEL_ASSIGN_OR_RETURN(HistoryPlan plan,
                          PlanHistoryQuery(graph, store, std::move(request), limits));
  return RunPlan(store, std::move(plan));
}

Result<HistoryResult> RunPlan(const tsdb::SeriesStore& store, HistoryPlan plan_in) {
  HistoryResult result;
  result.plan = std::move(plan_in);
  const HistoryPlan& plan = result.plan;
  if (plan.request.group_by.merges()) {
    for (std::size_t i = 0; i < plan.groups.size(); ++i) {
      DOPPEL_ASSIGN_OR_RETURN(PropertyGroup g, RunGroup(store, plan, i));
      result.groups.push_back(std::move(g));
    }
    return result;
  }
  if (plan.request.mode == Mode::kLast) {
    DOPPEL_ASSIGN_OR_RETURN(result.series, RunLast(store, plan));
    return result;
  }
  for (std::size_t i = 0; i < plan.series.size(); ++i) {
    DOPPEL_ASSIGN_OR_RETURN(SeriesResult s, RunSeries(store, plan, i));
    result.series.push_back(std::move(s));
  }
  return result;
}

}  // namespace doppel::history
