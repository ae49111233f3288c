#include "analytics/kpi/kpi.h"

#include <algorithm>

namespace doppel::analytics {
namespace {

constexpr double kNsPerSecond = 1e9;

// Appends [start, end) in `state`, merging with the previous interval when it continues it
// (same state, contiguous, not a fresh entry into the state).
void Append(std::vector<StateInterval>& out, int64_t start, int64_t end, StateClass state, bool entered) {
  if (end <= start) return;
  if (!out.empty() && out.back().end_ns == start && out.back().state == state && !entered) {
    out.back().end_ns = end;
    return;
  }
  out.push_back({.start_ns = start, .end_ns = end, .state = state, .entered = entered});
}

std::optional<double> Ratio(double numerator, double denominator) {
  if (!(denominator > 0)) return std::nullopt;
  return numerator / denominator;
}

}  // namespace

std::vector<StateInterval> StateIntervals(std::span<const StateSample> samples, int64_t from_ns, int64_t to_ns,
                                          int64_t max_gap_ns) {
  std::vector<StateInterval> out;
  if (from_ns >= to_ns) return out;
  int64_t cursor = from_ns;  // everything before it is already emitted
  for (size_t i = 0; i < samples.size(); ++i) {
    const StateSample& s = samples[i];
    if (s.time_ns >= to_ns) break;
    // A sample at the same time as the next one is superseded by it (last write wins).
    const int64_t next = i + 1 < samples.size() ? std::min(samples[i + 1].time_ns, to_ns) : to_ns;
    if (next <= s.time_ns && i + 1 < samples.size()) continue;
    const int64_t held_until = max_gap_ns > 0 ? std::min(next, s.time_ns + max_gap_ns) : next;
    const int64_t start = std::max(s.time_ns, from_ns);
    if (start > cursor) Append(out, cursor, start, StateClass::kUnknown, false);
    // Entered: a sample inside the window changed the state (from another state, or from none).
    const bool changed = i == 0 || samples[i - 1].state != s.state;
    const bool entered = changed && s.time_ns >= from_ns;
    Append(out, start, held_until, s.state, entered);
    cursor = std::max(cursor, std::max(start, held_until));
  }
  if (cursor < to_ns) Append(out, cursor, to_ns, StateClass::kUnknown, false);
  return out;
}

double CounterIncrease(std::span<const CounterSample> samples) {
  double increase = 0;
  for (size_t i = 1; i < samples.size(); ++i) {
    const double before = samples[i - 1].value, after = samples[i].value;
    increase += after >= before ? after - before : after;
  }
  return increase;
}

KpiTotals& KpiTotals::operator+=(const KpiTotals& other) {
  running_s += other.running_s;
  idle_s += other.idle_s;
  unplanned_stop_s += other.unplanned_stop_s;
  planned_stop_s += other.planned_stop_s;
  unknown_s += other.unknown_s;
  good += other.good;
  scrap += other.scrap;
  ideal_time_s += other.ideal_time_s;
  timed_running_s += other.timed_running_s;
  metered_good += other.metered_good;
  failures += other.failures;
  energy_kwh += other.energy_kwh;
  rated_energy_kwh += other.rated_energy_kwh;
  available_s += other.available_s;
  assets += other.assets;
  assets_running += other.assets_running;
  asset_time_s += other.asset_time_s;
  asset_running_s += other.asset_running_s;
  return *this;
}

void AddIntervals(std::span<const StateInterval> intervals, KpiTotals& totals) {
  double known_s = 0, running_s = 0;
  for (const StateInterval& interval : intervals) {
    const double seconds = static_cast<double>(interval.end_ns - interval.start_ns) / kNsPerSecond;
    switch (interval.state) {
      case StateClass::kRunning: running_s += seconds; break;
      case StateClass::kIdle: totals.idle_s += seconds; break;
      case StateClass::kUnplannedStop:
        totals.unplanned_stop_s += seconds;
        if (interval.entered) totals.failures += 1;
        break;
      case StateClass::kPlannedStop: totals.planned_stop_s += seconds; break;
      case StateClass::kUnknown: totals.unknown_s += seconds; break;
    }
    if (interval.state != StateClass::kUnknown) known_s += seconds;
    if (interval.state == StateClass::kIdle) totals.available_s += seconds;
  }
  totals.running_s += running_s;
  totals.available_s += running_s;
  totals.asset_time_s += known_s;
  totals.asset_running_s += running_s;
}

Kpis ComputeKpis(const KpiTotals& t) {
  Kpis k;
  const double planned_s = t.running_s + t.idle_s + t.unplanned_stop_s;  // total − planned stop − unknown
  k.availability = Ratio(t.running_s, planned_s);
  k.performance = Ratio(t.ideal_time_s, t.timed_running_s);
  k.quality = Ratio(t.good, t.good + t.scrap);
  if (k.availability && k.performance && k.quality) k.oee = *k.availability * *k.performance * *k.quality;
  k.mtbf_s = Ratio(t.running_s, t.failures);
  k.mttr_s = Ratio(t.unplanned_stop_s, t.failures);
  k.energy_per_good_kwh = Ratio(t.energy_kwh, t.metered_good);
  k.capacity_factor = Ratio(t.energy_kwh, t.rated_energy_kwh);
  k.time_availability = Ratio(t.available_s, planned_s + t.planned_stop_s);
  k.utilisation = Ratio(t.asset_running_s, t.asset_time_s);
  return k;
}

}  // namespace doppel::analytics
