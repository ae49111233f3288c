#include "analytics/kpi/twin_totals.h"

#include <algorithm>
#include <string>
#include <tuple>

#include "tsdb/query.h"

namespace doppel::analytics {
namespace {

constexpr int64_t kNsPerHour = int64_t{3600} * 1'000'000'000;
// How far back Read looks for the point before a window: a state reported on change may be
// days old and still true. Widening steps keep the common case (a recent point) to one read.
constexpr int64_t kLookBack[] = {kNsPerHour, 24 * kNsPerHour, 7 * 24 * kNsPerHour, 366 * 24 * kNsPerHour};

bool IsNumber(const tsdb::Value& v) { return tsdb::IsNumeric(tsdb::TypeOf(v)) || std::holds_alternative<bool>(v); }
double FiniteOrNull(const tsdb::Value& v) {
  if (const bool* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  return tsdb::NumericValue(v);
}

std::string StateText(const tsdb::Value& v) {
  if (const std::string* s = std::get_if<std::string>(&v)) return *s;
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const int64_t* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  return {};
}

std::vector<StateSample> ReportedStates(const KpiDefinition& def, const std::vector<tsdb::Point>& points) {
  std::vector<StateSample> states;
  states.reserve(points.size());
  for (const tsdb::Point& p : points) states.push_back({p.time, def.Classify(StateText(p.value))});
  return states;
}

// Adds a sorted run of reading times to the sorted `times` (a linear merge, not a sort: each
// series' points come time-ordered).
void AddTimes(const std::vector<tsdb::Point>& points, std::vector<int64_t>& times) {
  const auto middle = static_cast<std::ptrdiff_t>(times.size());
  for (const tsdb::Point& p : points) times.push_back(p.time);
  std::inplace_merge(times.begin(), times.begin() + middle, times.end());
}

struct SignalEvent {
  int64_t time;
  size_t signal;
  double value;
};

// Replays the classify signals through a StateClassifier from far enough before `from` that
// dwell and staleness are settled when the window opens; one sample per reported change,
// dated when its rule first matched.
Result<std::vector<StateSample>> ClassifiedStates(const KpiDefinition& def, std::string_view twin_id,
                                                  const HistoryReader& reader, int64_t from_ns, int64_t to_ns,
                                                  std::vector<int64_t>& heartbeats) {
  const StateRules& rules = *def.classify;
  std::vector<std::string> signals;
  for (const StateRule& rule : rules.rules) {
    for (const StateCondition& c : rule.when) {
      if (std::find(signals.begin(), signals.end(), c.signal) == signals.end()) signals.push_back(c.signal);
    }
  }
  const int64_t replay_from = from_ns - std::max(rules.min_dwell_ns, rules.stale_ns);
  std::vector<SignalEvent> events;
  for (size_t i = 0; i < signals.size(); ++i) {
    DOPPEL_ASSIGN_OR_RETURN(auto points, reader.Read(twin_id, signals[i], replay_from, to_ns));
    for (const tsdb::Point& p : points) {
      if (IsNumber(p.value)) events.push_back({p.time, i, FiniteOrNull(p.value)});
    }
    AddTimes(points, heartbeats);
  }
  std::stable_sort(events.begin(), events.end(), [](const SignalEvent& a, const SignalEvent& b) { return a.time < b.time; });
  StateClassifier classifier(rules);
  std::vector<StateSample> states;
  std::string reported;
  for (const SignalEvent& e : events) {
    const std::string_view now = classifier.Update(e.time, signals[e.signal], e.value);
    if (now == reported) continue;
    reported = std::string(now);
    states.push_back({classifier.since_ns(), def.Classify(reported)});
  }
  return states;
}

// Of sorted reading times, those that matter to a gap of `max_gap_ns`: a time is kept when the
// next one is more than max_gap after the last kept one (and the first and last always), so
// kept times are at most max_gap apart wherever the readings were, and every longer silence
// keeps both its ends. Turns a 1 Hz signal's 28 800 times a shift into ~50 for a 10 min gap.
std::vector<int64_t> ThinnedBeats(std::vector<int64_t>& times, int64_t max_gap_ns) {
  times.erase(std::unique(times.begin(), times.end()), times.end());
  std::vector<int64_t> kept;
  for (size_t i = 0; i < times.size(); ++i) {
    if (i == 0 || i + 1 == times.size() || times[i + 1] - kept.back() > max_gap_ns) kept.push_back(times[i]);
  }
  return kept;
}

// Repeats the current state at the twin's reading times (thinned), so that `maxGap` measures
// the twin's silence, not the time since its state last changed (a state is usually reported
// on change only).
std::vector<StateSample> WithHeartbeats(const std::vector<StateSample>& states, std::vector<int64_t>& times,
                                        int64_t max_gap_ns) {
  const std::vector<int64_t> beats = ThinnedBeats(times, max_gap_ns);
  std::vector<StateSample> out;
  out.reserve(states.size() + beats.size());
  size_t next = 0;
  for (int64_t beat : beats) {
    while (next < states.size() && states[next].time_ns <= beat) out.push_back(states[next++]);
    if (!out.empty() && out.back().time_ns < beat) out.push_back({beat, out.back().state});
  }
  out.insert(out.end(), states.begin() + static_cast<std::ptrdiff_t>(next), states.end());
  return out;
}

double Increase(const std::vector<tsdb::Point>& points) {
  std::vector<CounterSample> samples;
  samples.reserve(points.size());
  for (const tsdb::Point& p : points) {
    if (IsNumber(p.value)) samples.push_back({p.time, FiniteOrNull(p.value)});
  }
  return CounterIncrease(samples);
}

// A number from the twin's document, else its latest reading before `to`.
Result<std::optional<double>> Resolve(const ValueSource& source, std::optional<double> from_doc,
                                      std::string_view twin_id, const HistoryReader& reader, int64_t to_ns) {
  if (source.constant) return source.constant;
  if (source.path.empty()) return std::optional<double>();
  if (from_doc) return std::optional<double>(*from_doc * source.scale);
  DOPPEL_ASSIGN_OR_RETURN(auto points, reader.Read(twin_id, source.path, to_ns, to_ns + 1));
  for (auto it = points.rbegin(); it != points.rend(); ++it) {
    if (it->time < to_ns && IsNumber(it->value)) return std::optional<double>(FiniteOrNull(it->value) * source.scale);
  }
  return std::optional<double>();
}

}  // namespace

Result<std::vector<tsdb::Point>> HistoryReader::Read(std::string_view twin_id, std::string_view path, int64_t from_ns,
                                                     int64_t to_ns) const {
  auto id = store_.Find(twin_id, path);
  if (!id.ok()) return std::vector<tsdb::Point>();
  std::vector<tsdb::Point> before;
  int64_t searched_to = from_ns;
  for (int64_t back : kLookBack) {
    const int64_t start = from_ns - back;
    if (start >= searched_to) continue;
    DOPPEL_ASSIGN_OR_RETURN(before, tsdb::QueryRaw(store_, *id, start, searched_to));
    if (!before.empty()) break;
    searched_to = start;
  }
  std::vector<tsdb::Point> points;
  if (!before.empty()) points.push_back(std::move(before.back()));
  DOPPEL_ASSIGN_OR_RETURN(auto inside, tsdb::QueryRaw(store_, *id, from_ns, to_ns));
  points.insert(points.end(), std::make_move_iterator(inside.begin()), std::make_move_iterator(inside.end()));
  return points;
}

Result<std::vector<tsdb::Point>> CachingHistoryReader::Read(std::string_view twin_id, std::string_view path,
                                                            int64_t from_ns, int64_t to_ns) const {
  auto key = std::make_tuple(std::string(twin_id), std::string(path), from_ns);
  auto it = cache_.find(key);
  if (it == cache_.end() || it->second.read_to_ns > to_ns) {
    DOPPEL_ASSIGN_OR_RETURN(auto points, HistoryReader::Read(twin_id, path, from_ns, to_ns));
    cache_[std::move(key)] = {.read_to_ns = to_ns, .points = points};
    return points;
  }
  Entry& entry = it->second;
  entry.used = true;
  if (entry.read_to_ns < to_ns) {
    if (auto id = store_.Find(twin_id, path); id.ok()) {
      DOPPEL_ASSIGN_OR_RETURN(auto fresh, tsdb::QueryRaw(store_, *id, entry.read_to_ns, to_ns));
      entry.points.insert(entry.points.end(), std::make_move_iterator(fresh.begin()),
                          std::make_move_iterator(fresh.end()));
    }
    entry.read_to_ns = to_ns;
  }
  return entry.points;
}

void CachingHistoryReader::DropUnused() {
  std::erase_if(cache_, [](const auto& kv) { return !kv.second.used; });
  for (auto& [key, entry] : cache_) entry.used = false;
}

Energy HoldIntegral(const std::vector<tsdb::Point>& power_kw, double scale, int64_t from_ns, int64_t to_ns,
                    int64_t max_gap_ns) {
  Energy energy;
  for (size_t i = 0; i < power_kw.size(); ++i) {
    const tsdb::Point& p = power_kw[i];
    if (!IsNumber(p.value)) continue;
    int64_t end = i + 1 < power_kw.size() ? std::min(power_kw[i + 1].time, to_ns) : to_ns;
    if (max_gap_ns > 0) end = std::min(end, p.time + max_gap_ns);
    const int64_t start = std::max(p.time, from_ns);
    if (end <= start) continue;
    const double seconds = static_cast<double>(end - start) / 1e9;
    energy.kwh += FiniteOrNull(p.value) * scale * seconds / 3600;
    energy.covered_s += seconds;
  }
  return energy;
}

Result<TwinResult> TwinTotals(const KpiDefinition& def, std::string_view twin_id, const TwinFacts& facts,
                             const HistoryReader& reader, int64_t from_ns, int64_t to_ns) {
  TwinResult result;
  KpiTotals& totals = result.totals;
  std::vector<int64_t> heartbeats;
  std::vector<StateSample> states;
  if (!def.state_path.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(auto points, reader.Read(twin_id, def.state_path, from_ns, to_ns));
    states = ReportedStates(def, points);
    AddTimes(points, heartbeats);
  } else if (def.classify) {
    DOPPEL_ASSIGN_OR_RETURN(states, ClassifiedStates(def, twin_id, reader, from_ns, to_ns, heartbeats));
  }
  for (auto [path, count] : {std::tuple(&def.good, &totals.good), std::tuple(&def.scrap, &totals.scrap)}) {
    if (path->empty()) continue;
    DOPPEL_ASSIGN_OR_RETURN(auto points, reader.Read(twin_id, *path, from_ns, to_ns));
    *count = Increase(points);
    AddTimes(points, heartbeats);
  }
  DOPPEL_ASSIGN_OR_RETURN(auto ideal_cycle_s, Resolve(def.ideal_cycle_s, facts.ideal_cycle_s, twin_id, reader, to_ns));

  Energy energy;
  if (!def.power.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(auto points, reader.Read(twin_id, def.power, from_ns, to_ns));
    energy = HoldIntegral(points, def.power_scale_kw, from_ns, to_ns, def.max_gap_ns);
    totals.energy_kwh = energy.kwh;
    totals.metered_good = totals.good;
    AddTimes(points, heartbeats);
  }
  if (def.has_state()) {
    if (def.max_gap_ns > 0) states = WithHeartbeats(states, heartbeats, def.max_gap_ns);
    const std::vector<StateInterval> intervals = StateIntervals(states, from_ns, to_ns, def.max_gap_ns);
    AddIntervals(intervals, totals);
    if (ideal_cycle_s) totals.timed_running_s = totals.running_s;
    totals.assets = 1;
    result.state = intervals.empty() ? StateClass::kUnknown : intervals.back().state;
    totals.assets_running = result.state == StateClass::kRunning ? 1 : 0;
  }
  if (ideal_cycle_s) totals.ideal_time_s = *ideal_cycle_s * (totals.good + totals.scrap);
  if (!def.power.empty()) {
    DOPPEL_ASSIGN_OR_RETURN(auto rated_kw, Resolve(def.rated_power_kw, facts.rated_power_kw, twin_id, reader, to_ns));
    // Rated energy over the time the twin was observed: its known state time, else the time
    // its power signal covers.
    const double observed_s = def.has_state() ? totals.asset_time_s : energy.covered_s;
    if (rated_kw) totals.rated_energy_kwh = *rated_kw * observed_s / 3600;
  }
  return result;
}

}  // namespace doppel::analytics
