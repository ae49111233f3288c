// The "done when" criterion: randomized history queries (selectors, modes, ranges, steps,
// aggregations, group-bys) against a naive reference over a std::map per series. Writes include
// duplicate timestamps (the last write wins) and late, out-of-order points, and the store seals
// small chunks often, so queries meet overlapping chunks, heads and out-of-order buffers.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "history/history_format.h"
#include "history_fixture.h"

namespace doppel::history::testing {
namespace {

using tsdb::TimeNs;
using tsdb::Value;
using Key = std::pair<std::string, std::string>;  // (twin, path)

constexpr TimeNs kSpan = 20'000;  // times live in [0, kSpan); partitions are 1e6 (fixture)

struct RefTwin {
  std::string id, model, line;  // line "" = absent
};

// The reference: every series as a map time → value (last write wins by construction).
struct Reference {
  std::vector<RefTwin> twins;
  std::map<std::string, std::set<std::string>> parents;  // twin → sources of "contains"
  std::map<Key, std::pair<tsdb::ValueType, std::map<TimeNs, Value>>> series;

  const RefTwin& Twin(const std::string& id) const {
    return *std::find_if(twins.begin(), twins.end(), [&](const RefTwin& t) { return t.id == id; });
  }
};

// Naive bucket statistics over (time, member, value) triples of one bucket.
tsdb::Bucket RefBucket(TimeNs start, std::vector<std::tuple<TimeNs, int, double>> pts) {
  std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  tsdb::Bucket b;
  b.start = start;
  b.count = pts.size();
  std::vector<double> values;
  for (const auto& p : pts) values.push_back(std::get<2>(p));
  for (double v : values) b.sum += v;
  b.avg = b.sum / static_cast<double>(b.count);
  b.min = *std::min_element(values.begin(), values.end());
  b.max = *std::max_element(values.begin(), values.end());
  b.first = std::get<2>(pts.front());
  b.last = std::get<2>(pts.back());
  double m2 = 0;
  for (double v : values) m2 += (v - b.avg) * (v - b.avg);
  b.stddev = std::sqrt(m2 / static_cast<double>(b.count));
  std::sort(values.begin(), values.end());
  auto pct = [&](double p) {
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    return values[std::max<size_t>(rank, 1) - 1];
  };
  b.p50 = pct(50), b.p90 = pct(90), b.p95 = pct(95), b.p99 = pct(99);
  return b;
}

TimeNs FloorDivRef(TimeNs a, TimeNs b) {
  return static_cast<TimeNs>(std::floor(static_cast<double>(a) / b));
}

class ReferenceTest : public HistoryTest, public ::testing::WithParamInterface<uint32_t> {
 protected:
  void Populate(std::mt19937& rng) {
    PutTwin("line-1", kLine);
    PutTwin("line-2", kLine);
    const std::vector<std::string> models = {kSensor, kSmartSensor, kPump};
    const std::vector<std::string> lines = {"", "A", "B", "A,\"x\""};
    for (int i = 0; i < 9; ++i) {
      RefTwin t{"tw-" + std::to_string(i), models[rng() % 3], lines[rng() % lines.size()]};
      if (t.model == kPump) t.line.clear();  // pumps have no line property
      PutTwin(t.id, t.model, t.line);
      ref_.twins.push_back(t);
      std::vector<std::pair<std::string, tsdb::ValueType>> paths;
      if (t.model == kPump) {
        paths = {{"flow", tsdb::ValueType::kDouble}};
      } else {
        paths = {{"temperature", tsdb::ValueType::kDouble},
                 {"pressure", tsdb::ValueType::kDouble},
                 {"count", tsdb::ValueType::kInt64},
                 {"status", tsdb::ValueType::kString}};
        if (t.model == kSmartSensor) paths.push_back({"humidity", tsdb::ValueType::kDouble});
      }
      for (const char* line : {"line-1", "line-2"}) {
        if (rng() % 3 == 0) ref_.parents[t.id].insert(line);
      }
      for (const auto& [path, type] : paths) {
        if (rng() % 5 == 0) continue;  // not every telemetry has history
        ids_[{t.id, path}] = Series(t.id, path, type);
        ref_.series[{t.id, path}].first = type;
      }
    }
    for (const auto& [twin, parents] : ref_.parents) {
      for (const std::string& line : parents) Relate(line, twin);
    }
  }

  Value RandomValue(std::mt19937& rng, tsdb::ValueType type) {
    switch (type) {
      case tsdb::ValueType::kDouble:
        return static_cast<double>(static_cast<int>(rng() % 2001) - 1000) / 8.0;
      case tsdb::ValueType::kInt64:
        return static_cast<int64_t>(rng() % 100) - 50;
      case tsdb::ValueType::kBool:
        return rng() % 2 == 0;
      case tsdb::ValueType::kString:
        return std::string(rng() % 2 ? "ok" : "a,\"b\"");
    }
    return 0.0;
  }

  // Batches of points over the whole span, in random order: many are late for their series,
  // some repeat a time already written (the later write must win).
  void WriteRandom(std::mt19937& rng, int batches) {
    std::vector<Key> keys;
    for (const auto& [key, s] : ref_.series) keys.push_back(key);
    if (keys.empty()) return;
    for (int b = 0; b < batches; ++b) {
      std::vector<tsdb::SeriesPoint> batch;
      std::map<std::pair<tsdb::SeriesId, TimeNs>, Value> last_in_batch;
      const int n = 1 + static_cast<int>(rng() % 60);
      for (int i = 0; i < n; ++i) {
        const Key& key = keys[rng() % keys.size()];
        auto& [type, points] = ref_.series[key];
        TimeNs t = static_cast<TimeNs>(rng() % kSpan);
        if (!points.empty() && rng() % 4 == 0)
          t = std::next(points.begin(), rng() % points.size())->first;
        Value v = RandomValue(rng, type);
        batch.push_back({ids_[key], t, v});
        points[t] = v;  // applied in batch order: a later point in the batch wins
      }
      ASSERT_TRUE(store_->Write(batch).ok());
      if (rng() % 7 == 0) {
        ASSERT_TRUE(store_->Flush().ok());
      }
    }
  }

  HistoryRequest RandomRequest(std::mt19937& rng) {
    HistoryRequest r;
    const int selectors = 1 + static_cast<int>(rng() % 15);
    if (selectors & 1) {
      for (const auto& [key, s] : ref_.series) {
        if (rng() % 6 == 0) r.series.push_back({key.first, key.second});
      }
    }
    if (selectors & 2) {
      for (const RefTwin& t : ref_.twins) {
        if (rng() % 3 == 0) r.twins.push_back(t.id);
      }
    }
    if (selectors & 4) r.model = rng() % 2 ? kSensor : kSmartSensor;
    if (selectors & 8)
      r.query = rng() % 2 ? "SELECT T FROM DIGITALTWINS T WHERE T.line = 'A'"
                          : "SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:test:Pump;1')";
    if (r.series.empty() && r.twins.empty() && r.model.empty() && r.query.empty())
      r.model = kSensor;
    if (rng() % 2 == 0) {
      const std::vector<std::string> all = {"temperature", "pressure", "count",
                                            "humidity",    "flow",     "status"};
      for (const std::string& p : all) {
        if (rng() % 2 == 0) r.paths.push_back(p);
      }
    }
    const int mode = static_cast<int>(rng() % 5);
    r.mode = mode == 0 ? Mode::kLast : mode <= 2 ? Mode::kRaw : Mode::kAggregate;
    if (r.mode != Mode::kLast) {
      TimeNs a = static_cast<TimeNs>(rng() % (kSpan + 2000)) - 1000;
      TimeNs b = a + 1 + static_cast<TimeNs>(rng() % (rng() % 2 ? 200 : kSpan));
      r.start = a, r.end = b;
    }
    if (r.mode == Mode::kAggregate) {
      const TimeNs steps[] = {1, 7, 100, 999, 1000, 4096, 25'000};
      r.step = steps[rng() % 7];
      if (r.step < 100 && *r.end - *r.start > 50'000) r.step = 100;
      for (std::size_t a = 0; a < kAggregationCount; ++a) {
        if (rng() % 3 == 0) r.aggregations.push_back(static_cast<Aggregation>(a));
      }
      const int g = static_cast<int>(rng() % 4);
      if (g == 1) r.group_by.kind = GroupBy::Kind::kTwin;
      if (g == 2) r.group_by = {GroupBy::Kind::kProperty, "line"};
      if (g == 3) r.group_by = {GroupBy::Kind::kRelationship, "contains"};
    } else if (rng() % 2) {
      r.group_by.kind = GroupBy::Kind::kTwin;
    }
    return r;
  }

  // The reference selection: (key → named), or an error code expected from the engine.
  std::map<Key, bool> RefSelect(const HistoryRequest& r, std::string* error) {
    std::map<Key, bool> sel;
    for (const SeriesKey& k : r.series) sel[{k.twin, k.path}] = true;
    std::set<std::string> twins(r.twins.begin(), r.twins.end());
    for (const RefTwin& t : ref_.twins) {
      if (!r.model.empty() &&
          (t.model == r.model || (r.model == kSensor && t.model == kSmartSensor)))
        twins.insert(t.id);
      if (r.query == "SELECT T FROM DIGITALTWINS T WHERE T.line = 'A'" && t.line == "A")
        twins.insert(t.id);
      if (r.query.find("Pump") != std::string::npos && t.model == kPump) twins.insert(t.id);
    }
    for (const auto& [key, s] : ref_.series) {
      if (twins.count(key.first) == 0) continue;
      const bool listed = std::find(r.paths.begin(), r.paths.end(), key.second) != r.paths.end();
      if (!r.paths.empty() && !listed) continue;
      sel[key] = sel[key] || listed;
    }
    std::map<Key, bool> out;
    for (const auto& [key, named] : sel) {
      const bool numeric = tsdb::IsNumeric(ref_.series[key].first);
      if (r.mode == Mode::kAggregate && !numeric) {
        if (named) *error = "InvalidArgument";
        continue;
      }
      out[key] = named;
    }
    return out;
  }

  std::vector<std::pair<TimeNs, Value>> RefPoints(const Key& key, TimeNs start, TimeNs end) {
    std::vector<std::pair<TimeNs, Value>> out;
    const auto& points = ref_.series[key].second;
    for (auto it = points.lower_bound(start); it != points.end() && it->first < end; ++it)
      out.push_back(*it);
    return out;
  }

  // Buckets of the union of `keys` (member index = position in `keys`).
  std::vector<tsdb::Bucket> RefBuckets(const std::vector<Key>& keys, const HistoryRequest& r) {
    std::map<TimeNs, std::vector<std::tuple<TimeNs, int, double>>> by_bucket;
    for (int m = 0; m < static_cast<int>(keys.size()); ++m) {
      for (const auto& [t, v] : RefPoints(keys[m], *r.start, *r.end)) {
        by_bucket[FloorDivRef(t, r.step)].emplace_back(t, m, tsdb::NumericValue(v));
      }
    }
    std::vector<tsdb::Bucket> out;
    for (auto& [k, pts] : by_bucket) out.push_back(RefBucket(k * r.step, std::move(pts)));
    return out;
  }

  void ExpectBuckets(const std::vector<tsdb::Bucket>& got, const std::vector<tsdb::Bucket>& want,
                     const HistoryRequest& r, const std::string& where) {
    ASSERT_EQ(got.size(), want.size()) << where;
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].start, want[i].start) << where;
      ASSERT_EQ(got[i].count, want[i].count) << where << " bucket " << got[i].start;
      std::vector<Aggregation> aggs =
          r.aggregations.empty() ? std::vector{Aggregation::kAvg} : r.aggregations;
      for (Aggregation a : aggs) {
        const double g = AggregationValue(got[i], a), w = AggregationValue(want[i], a);
        // stddev merges chunk moments (Chan et al.): rounding differs from the two-pass reference.
        const double tolerance =
            (a == Aggregation::kStddev ? 1e-6 : 1e-9) * std::max(1.0, std::abs(w));
        EXPECT_NEAR(g, w, tolerance)
            << where << " bucket " << got[i].start << " " << AggregationName(a);
      }
    }
  }

  void Check(const HistoryRequest& r, int q) {
    const std::string where = "query " + std::to_string(q);
    std::string error;
    std::map<Key, bool> sel = RefSelect(r, &error);
    Result<HistoryResult> got = Run(r);
    if (!error.empty()) {
      ASSERT_FALSE(got.ok()) << where;
      EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument) << where;
      return;
    }
    ASSERT_TRUE(got.ok()) << where << ": " << got.status().ToString();
    ++checked_;
    if (r.group_by.merges()) return CheckGroups(*got, sel, r, where);
    std::vector<Key> keys;
    for (const auto& [key, named] : sel) keys.push_back(key);
    ASSERT_EQ(got->series.size(), keys.size()) << where;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const SeriesResult& s = got->series[i];
      ASSERT_EQ(Key(s.info.spec.twin_id, s.info.spec.path), keys[i]) << where;
      const auto& points = ref_.series[keys[i]].second;
      if (r.mode == Mode::kLast) {
        ASSERT_EQ(s.last.has_value(), !points.empty()) << where;
        if (s.last) {
          EXPECT_EQ(*s.last, (tsdb::Point{points.rbegin()->first, points.rbegin()->second}))
              << where;
        }
      } else if (r.mode == Mode::kRaw) {
        auto want = RefPoints(keys[i], *r.start, *r.end);
        ASSERT_EQ(s.points.size(), want.size()) << where;
        for (std::size_t p = 0; p < want.size(); ++p) {
          ASSERT_EQ(s.points[p], (tsdb::Point{want[p].first, want[p].second})) << where;
        }
        points_compared_ += want.size();
      } else {
        ExpectBuckets(s.buckets, RefBuckets({keys[i]}, r), r,
                      where + " " + keys[i].first + "/" + keys[i].second);
      }
    }
    // The formatted answer is well-formed JSON with one entry per series (or per twin).
    auto json = ParseJson(FormatResult(*got, {}));
    ASSERT_TRUE(json.ok()) << where;
    std::set<std::string> twins;
    for (const Key& k : keys) twins.insert(k.first);
    const bool by_twin = r.group_by.kind == GroupBy::Kind::kTwin;
    EXPECT_EQ(json->at(by_twin ? "twins" : "series").as_array().size(),
              by_twin ? twins.size() : keys.size())
        << where;
  }

  void CheckGroups(const HistoryResult& got, const std::map<Key, bool>& sel,
                   const HistoryRequest& r, const std::string& where) {
    // (line property or parent line, "\x01" for absent; path) → member keys in (twin, path) order.
    std::map<std::pair<std::string, std::string>, std::vector<Key>> groups;
    for (const auto& [key, named] : sel) {
      std::set<std::string> values;
      if (r.group_by.kind == GroupBy::Kind::kProperty) {
        values.insert(ref_.Twin(key.first).line);
      } else {
        values = ref_.parents[key.first];
      }
      if (values.empty()) values.insert("");
      for (const std::string& v : values)
        groups[{v.empty() ? "\x01" : v, key.second}].push_back(key);
    }
    ASSERT_EQ(got.groups.size(), groups.size()) << where;
    for (const PropertyGroup& g : got.groups) {
      const std::string line = g.value.is_null() ? "\x01" : std::string(g.value.as_string());
      auto it = groups.find({line, g.path});
      ASSERT_NE(it, groups.end()) << where << " unexpected group " << line << "/" << g.path;
      ASSERT_EQ(g.members.size(), it->second.size()) << where;
      ExpectBuckets(g.buckets, RefBuckets(it->second, r), r,
                    where + " group " + line + "/" + g.path);
      ++groups_compared_;
      if (r.group_by.kind == GroupBy::Kind::kRelationship) ++relationship_groups_compared_;
    }
  }

  Reference ref_;
  std::map<Key, tsdb::SeriesId> ids_;
  int checked_ = 0;
  std::size_t points_compared_ = 0;
  int groups_compared_ = 0;
  int relationship_groups_compared_ = 0;
};

TEST_P(ReferenceTest, RandomQueriesMatchTheReference) {
  std::mt19937 rng(GetParam());
  Populate(rng);
  WriteRandom(rng, 60);
  for (int q = 0; q < 150; ++q) {
    ASSERT_NO_FATAL_FAILURE(Check(RandomRequest(rng), q));
  }
  // Late data into sealed history, a reopen (heads replayed from the log), then more queries.
  WriteRandom(rng, 40);
  ASSERT_NO_FATAL_FAILURE(OpenStore());
  for (int q = 150; q < 300; ++q) {
    ASSERT_NO_FATAL_FAILURE(Check(RandomRequest(rng), q));
  }
  // Sanity of the generator itself: most queries ran and compared real data.
  EXPECT_GT(checked_, 200);
  EXPECT_GT(points_compared_, 1000u);
  EXPECT_GT(groups_compared_, 10);
  EXPECT_GT(relationship_groups_compared_, 3);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ReferenceTest,
                         ::testing::Values(1u, 2u, 3u, 42u, 20261125u, 7777u));

}  // namespace
}  // namespace doppel::history::testing
