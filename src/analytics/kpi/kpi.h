// Performance KPIs (docs/analytics-kpi.md): OEE and its three factors, MTBF/MTTR, energy per
// good unit, capacity factor and time-based availability for turbines, utilisation for fleets.
// Pure arithmetic over state intervals and counter samples; the KpiEngine (kpi_engine.h) feeds
// it from history and rolls results up the twin graph.
//
// Roll-up rule: KPIs are never averaged. Every KPI is a ratio of sums (KpiTotals); a line's
// totals are the sum of its machines' totals, a plant's the sum of its lines', and the ratios
// are computed from the summed totals at each level.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace doppel::analytics {

// What a machine was doing, as OEE sees it.
enum class StateClass : uint8_t {
  kRunning,        // producing: counts towards run time
  kIdle,           // planned to produce but not (idle, blocked, starved): availability loss
  kUnplannedStop,  // fault, breakdown: availability loss, and a failure for MTBF/MTTR
  kPlannedStop,    // break, planned maintenance, no order: outside planned production time
  kUnknown,        // no data (a gap longer than the allowed one): outside every KPI, reported
};

struct StateSample {
  int64_t time_ns = 0;
  StateClass state = StateClass::kUnknown;
};
struct StateInterval {
  int64_t start_ns = 0, end_ns = 0;  // [start, end)
  StateClass state = StateClass::kUnknown;
  // True when a sample inside the window changed the state to this one at start_ns (from
  // another state, or as the first sample known); false when the state carries on from before
  // the window or from an earlier sample of the same state. An entered kUnplannedStop is a
  // failure: a stop already in progress when the window opens belongs to the window it began
  // in, so failures of adjacent windows add up to those of the whole.
  bool entered = false;
};
// Turns state changes into intervals clipped to [from, to): each sample holds until the next,
// but at most `max_gap_ns` (then kUnknown until the next sample; <= 0 = no limit); before the
// first sample in the window, the last sample before `from` (pass it first) holds, else
// kUnknown. Samples are ordered by time; of samples with equal times the last wins. Adjacent
// intervals of one state are merged unless the second is `entered`. The result covers
// [from, to) exactly, without overlaps.
std::vector<StateInterval> StateIntervals(std::span<const StateSample> samples, int64_t from_ns, int64_t to_ns,
                                          int64_t max_gap_ns);

struct CounterSample {
  int64_t time_ns = 0;
  double value = 0;
};
// The increase of a monotonic counter over the samples (ordered by time): a drop is a reset
// (shift change, power cycle) and the count restarts from 0 — the increase after a reset is the
// new value itself.
double CounterIncrease(std::span<const CounterSample> samples);

// Summable totals behind every KPI; all times in seconds.
struct KpiTotals {
  double running_s = 0, idle_s = 0, unplanned_stop_s = 0, planned_stop_s = 0, unknown_s = 0;
  double good = 0, scrap = 0;
  double ideal_time_s = 0;      // Σ ideal cycle time × parts made (good + scrap)
  // Run time of the assets that have an ideal cycle time: performance's denominator, so a
  // machine without one leaves performance absent instead of dragging it to 0.
  double timed_running_s = 0;
  // Good parts of the assets whose energy is measured: energy per good unit's denominator.
  double metered_good = 0;
  double failures = 0;          // entries into kUnplannedStop (StateInterval::entered)
  double energy_kwh = 0;        // for energy per good unit (machines) and capacity factor (turbines)
  double rated_energy_kwh = 0;  // rated power × observed time (turbines)
  double available_s = 0;       // time able to produce: running or idle (turbines: low wind)
  // Assets with a state, and those running at the window's end (set by the engine).
  double assets = 0, assets_running = 0;
  // Utilisation: each asset's observed (not unknown) time and its running time, summed.
  double asset_time_s = 0, asset_running_s = 0;
  KpiTotals& operator+=(const KpiTotals& other);
};

// A ratio is absent (nullopt) when its denominator is zero: no production planned, no parts,
// no failures. Never NaN. performance = ideal_time_s / timed_running_s and energy per good unit
// = energy_kwh / metered_good (the assets that have the data); the rest as in the docs.
struct Kpis {
  std::optional<double> availability, performance, quality, oee;
  std::optional<double> mtbf_s, mttr_s;
  std::optional<double> energy_per_good_kwh;
  std::optional<double> capacity_factor, time_availability;
  std::optional<double> utilisation;
};
Kpis ComputeKpis(const KpiTotals& totals);

// Adds one asset's intervals into `totals`: the time per class, failures, available time,
// observed and running asset-time. Counts, energy and `assets` are the caller's.
void AddIntervals(std::span<const StateInterval> intervals, KpiTotals& totals);

}  // namespace doppel::analytics
