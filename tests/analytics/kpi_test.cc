// The KPI arithmetic (kpi.h) against examples computed by hand; the arithmetic is written out
// beside each expectation so a reviewer can check it without running anything.
#include "analytics/kpi/kpi.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace doppel::analytics {
namespace {

constexpr int64_t kS = 1'000'000'000;  // ns per second
constexpr int64_t kH = 3600 * kS;

using enum StateClass;

KpiTotals FromIntervals(const std::vector<StateSample>& samples, int64_t from, int64_t to, int64_t max_gap = 0) {
  KpiTotals totals;
  AddIntervals(StateIntervals(samples, from, to, max_gap), totals);
  return totals;
}

void ExpectNoNaN(const Kpis& k) {
  for (const std::optional<double>& v : {k.availability, k.performance, k.quality, k.oee, k.mtbf_s, k.mttr_s,
                                         k.energy_per_good_kwh, k.capacity_factor, k.time_availability,
                                         k.utilisation}) {
    if (v) {
      EXPECT_FALSE(std::isnan(*v));
    }
  }
}

TEST(StateIntervalsTest, CoversTheWindowExactly) {
  // Window [0, 100 s): running at 10 s, idle at 40 s, a sample after the window is ignored.
  const std::vector<StateSample> samples = {{10 * kS, kRunning}, {40 * kS, kIdle}, {200 * kS, kUnplannedStop}};
  const auto intervals = StateIntervals(samples, 0, 100 * kS, 0);
  ASSERT_EQ(intervals.size(), 3u);
  EXPECT_EQ(intervals[0].state, kUnknown);  // nothing known before the first sample
  EXPECT_EQ(intervals[0].end_ns, 10 * kS);
  EXPECT_EQ(intervals[1].state, kRunning);
  EXPECT_TRUE(intervals[1].entered);
  EXPECT_EQ(intervals[2].state, kIdle);
  EXPECT_EQ(intervals[2].end_ns, 100 * kS);
}

TEST(StateIntervalsTest, NoSamplesIsAllUnknown) {
  const auto intervals = StateIntervals({}, 0, 60 * kS, 0);
  ASSERT_EQ(intervals.size(), 1u);
  EXPECT_EQ(intervals[0].state, kUnknown);
  EXPECT_EQ(intervals[0].end_ns - intervals[0].start_ns, 60 * kS);
}

TEST(StateIntervalsTest, EqualTimesLastWinsAndRepeatsMerge) {
  // Two samples at 0 (idle then running: running wins), a repeat of running at 30 s merges.
  const std::vector<StateSample> samples = {{0, kIdle}, {0, kRunning}, {30 * kS, kRunning}};
  const auto intervals = StateIntervals(samples, 0, 60 * kS, 0);
  ASSERT_EQ(intervals.size(), 1u);
  EXPECT_EQ(intervals[0].state, kRunning);
  EXPECT_EQ(intervals[0].end_ns, 60 * kS);
}

TEST(KpiTest, MachineShiftByHand) {
  // An 8 h shift, window [0, 8 h) = 28 800 s:
  //   0 h    running
  //   3 h    down (unplanned stop)    → 30 min
  //   3.5 h  running
  //   4 h    lunch (planned stop)     → 30 min
  //   4.5 h  running
  //   7.5 h  idle (starved)           → 30 min
  // running = 3 h + 0.5 h + 3 h = 23 400 s; unplanned 1 800; planned 1 800; idle 1 800.
  const std::vector<StateSample> samples = {{0, kRunning},          {3 * kH, kUnplannedStop}, {7 * kH / 2, kRunning},
                                            {4 * kH, kPlannedStop}, {9 * kH / 2, kRunning},   {15 * kH / 2, kIdle}};
  KpiTotals totals = FromIntervals(samples, 0, 8 * kH);
  EXPECT_DOUBLE_EQ(totals.running_s, 23'400);
  EXPECT_DOUBLE_EQ(totals.unplanned_stop_s, 1'800);
  EXPECT_DOUBLE_EQ(totals.planned_stop_s, 1'800);
  EXPECT_DOUBLE_EQ(totals.idle_s, 1'800);
  EXPECT_DOUBLE_EQ(totals.failures, 1);
  // 600 good, 20 scrap, ideal cycle 30 s: ideal time = 30 × 620 = 18 600 s; 120 kWh used.
  totals.good = 600;
  totals.scrap = 20;
  totals.ideal_time_s = 30 * 620;
  totals.timed_running_s = totals.running_s;  // the machine has an ideal cycle time
  totals.energy_kwh = 120;
  totals.metered_good = totals.good;  // and its energy is measured
  const Kpis k = ComputeKpis(totals);
  // planned production = 28 800 − 1 800 (planned stop) − 0 (unknown) = 27 000 s
  EXPECT_DOUBLE_EQ(*k.availability, 23'400.0 / 27'000);  // 0.8667
  EXPECT_DOUBLE_EQ(*k.performance, 18'600.0 / 23'400);   // 0.7949
  EXPECT_DOUBLE_EQ(*k.quality, 600.0 / 620);             // 0.9677
  // OEE = 18 600 / 27 000 × 600 / 620 = 11 160 000 / 16 740 000 = 2/3
  EXPECT_NEAR(*k.oee, 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(*k.mtbf_s, 23'400);  // 6.5 h of running per failure
  EXPECT_DOUBLE_EQ(*k.mttr_s, 1'800);   // 0.5 h down per failure
  EXPECT_DOUBLE_EQ(*k.energy_per_good_kwh, 0.2);  // 120 kWh / 600
  // utilisation = running / known = 23 400 / 28 800
  EXPECT_DOUBLE_EQ(*k.utilisation, 23'400.0 / 28'800);
  // time availability = (running + idle) / (total − unknown) = 25 200 / 28 800
  EXPECT_DOUBLE_EQ(*k.time_availability, 25'200.0 / 28'800);
}

TEST(KpiTest, NoProductionPlannedIsAbsentNotNaN) {
  // The whole shift is a planned stop (no order): planned production time = 0.
  KpiTotals totals = FromIntervals({{0, kPlannedStop}}, 0, 8 * kH);
  EXPECT_DOUBLE_EQ(totals.planned_stop_s, 28'800);
  const Kpis k = ComputeKpis(totals);
  EXPECT_FALSE(k.availability);  // 0 / 0
  EXPECT_FALSE(k.performance);   // no run time
  EXPECT_FALSE(k.quality);       // no parts
  EXPECT_FALSE(k.oee);
  EXPECT_FALSE(k.mtbf_s);  // no failures
  EXPECT_FALSE(k.mttr_s);
  EXPECT_FALSE(k.energy_per_good_kwh);
  EXPECT_FALSE(k.capacity_factor);
  EXPECT_DOUBLE_EQ(*k.time_availability, 0.0);  // 0 available / 28 800 observed
  EXPECT_DOUBLE_EQ(*k.utilisation, 0.0);
  ExpectNoNaN(k);
  ExpectNoNaN(ComputeKpis(KpiTotals{}));
  EXPECT_FALSE(ComputeKpis(KpiTotals{}).utilisation);
}

TEST(KpiTest, CounterResets) {
  // 100 → 250 (+150) → 400 (+150) → 30 (reset: +30) → 80 (+50) = 380.
  const std::vector<CounterSample> shift_change = {{0, 100}, {1, 250}, {2, 400}, {3, 30}, {4, 80}};
  EXPECT_DOUBLE_EQ(CounterIncrease(shift_change), 380);
  // A reset to 0 adds nothing; the next sample counts from 0: 400 → 0 (+0) → 10 (+10).
  EXPECT_DOUBLE_EQ(CounterIncrease(std::vector<CounterSample>{{0, 400}, {1, 0}, {2, 10}}), 10);
  // One sample (or none) is a baseline only: no increase is known.
  EXPECT_DOUBLE_EQ(CounterIncrease(std::vector<CounterSample>{{0, 7}}), 0);
  EXPECT_DOUBLE_EQ(CounterIncrease({}), 0);
}

TEST(KpiTest, MissingDataIsUnknownAndExcluded) {
  // Window [0, 4 200 s), max gap 900 s. Running at 0 and 600 s, then silence until 3 600 s:
  //   [0, 600) running, [600, 1 500) running (600 + max gap), [1 500, 3 600) unknown,
  //   [3 600, 4 200) running → running 2 100 s, unknown 2 100 s.
  const std::vector<StateSample> samples = {{0, kRunning}, {600 * kS, kRunning}, {3600 * kS, kRunning}};
  KpiTotals totals = FromIntervals(samples, 0, 4200 * kS, 900 * kS);
  EXPECT_DOUBLE_EQ(totals.running_s, 2'100);
  EXPECT_DOUBLE_EQ(totals.unknown_s, 2'100);
  // Availability = 2 100 / (4 200 − 0 − 2 100) = 1: the gap is neither loss nor production
  // (counting it as idle would have said 0.5).
  const Kpis k = ComputeKpis(totals);
  EXPECT_DOUBLE_EQ(*k.availability, 1.0);
  EXPECT_DOUBLE_EQ(*k.time_availability, 1.0);
  EXPECT_DOUBLE_EQ(*k.utilisation, 1.0);
}

TEST(KpiTest, WindowStartingMidState) {
  // The machine went down at −600 s and ran again at 1 200 s; window [0, 3 600 s).
  const std::vector<StateSample> samples = {{-3600 * kS, kRunning}, {-600 * kS, kUnplannedStop}, {1200 * kS, kRunning}};
  KpiTotals window = FromIntervals(samples, 0, 3600 * kS);
  // The stop carried in: [0, 1 200) down (1 200 s), [1 200, 3 600) running (2 400 s).
  EXPECT_DOUBLE_EQ(window.unplanned_stop_s, 1'200);
  EXPECT_DOUBLE_EQ(window.running_s, 2'400);
  EXPECT_DOUBLE_EQ(window.failures, 0);  // it began in the previous window
  EXPECT_DOUBLE_EQ(*ComputeKpis(window).availability, 2'400.0 / 3'600);
  EXPECT_FALSE(ComputeKpis(window).mttr_s);
  // The previous window [−3 600, 0): running 3 000 s, down 600 s, 1 failure.
  KpiTotals before = FromIntervals(samples, -3600 * kS, 0);
  EXPECT_DOUBLE_EQ(before.failures, 1);
  EXPECT_DOUBLE_EQ(before.unplanned_stop_s, 600);
  // Adjacent windows add up to the whole: 1 failure, 1 800 s down → MTTR 1 800 s either way.
  before += window;
  const KpiTotals whole = FromIntervals(samples, -3600 * kS, 3600 * kS);
  EXPECT_DOUBLE_EQ(before.failures, whole.failures);
  EXPECT_DOUBLE_EQ(before.unplanned_stop_s, whole.unplanned_stop_s);
  EXPECT_DOUBLE_EQ(*ComputeKpis(before).mttr_s, 1'800);
  EXPECT_DOUBLE_EQ(*ComputeKpis(whole).mttr_s, 1'800);
}

TEST(KpiTest, RollUpSumsTotalsNotPercentages) {
  // M1, 8 h: running 27 000 s, down 1 800 s; 2 700 good at 10 s ideal = 27 000 s ideal.
  //   availability 27 000 / 28 800 = 0.9375, performance 1, quality 1 → OEE 0.9375.
  KpiTotals m1 = FromIntervals({{0, kRunning}, {27'000 * kS, kUnplannedStop}}, 0, 8 * kH);
  m1.good = 2700;
  m1.ideal_time_s = 10 * 2700;
  m1.timed_running_s = m1.running_s;
  // M2, 8 h: planned stop 25 200 s, running 1 800 s, down 1 800 s; 15 good + 15 scrap at 30 s
  //   ideal = 900 s. availability 0.5, performance 0.5, quality 0.5 → OEE 0.125.
  KpiTotals m2 =
      FromIntervals({{0, kPlannedStop}, {25'200 * kS, kRunning}, {27'000 * kS, kUnplannedStop}}, 0, 8 * kH);
  m2.good = 15;
  m2.scrap = 15;
  m2.ideal_time_s = 30 * 30;
  m2.timed_running_s = m2.running_s;
  EXPECT_DOUBLE_EQ(*ComputeKpis(m1).oee, 0.9375);
  EXPECT_DOUBLE_EQ(*ComputeKpis(m2).oee, 0.125);
  KpiTotals line = m1;
  line += m2;
  // Line: running 28 800, down 3 600, planned stop 25 200 → planned production 32 400.
  //   availability 28 800 / 32 400 = 0.8889; performance (27 000 + 900) / 28 800 = 0.96875;
  //   quality 2 715 / 2 730 = 0.99451 → OEE = 27 900 / 32 400 × 2 715 / 2 730 = 0.85638.
  const Kpis k = ComputeKpis(line);
  EXPECT_DOUBLE_EQ(*k.availability, 28'800.0 / 32'400);
  EXPECT_DOUBLE_EQ(*k.performance, 27'900.0 / 28'800);
  EXPECT_DOUBLE_EQ(*k.quality, 2'715.0 / 2'730);
  EXPECT_NEAR(*k.oee, 27'900.0 / 32'400 * 2'715 / 2'730, 1e-12);
  EXPECT_NEAR(*k.oee, 0.856380, 1e-6);
  // Averaging the machines' OEE would say (0.9375 + 0.125) / 2 = 0.53125: wrong, M2 barely
  // had planned production time.
  EXPECT_GT(std::abs(*k.oee - 0.53125), 0.3);
  EXPECT_DOUBLE_EQ(line.failures, 2);
  EXPECT_DOUBLE_EQ(*k.mttr_s, 1'800);  // 3 600 s down / 2 failures
  // Fleet utilisation = running asset-time / asset-time = 28 800 / 57 600.
  EXPECT_DOUBLE_EQ(*k.utilisation, 0.5);
}

TEST(KpiTest, MissingIdealCycleTimeOrMeterLeavesThoseKpisAbsent) {
  // Running all hour, 100 good parts, but no ideal cycle time and no power meter: performance,
  // OEE and energy per good unit are unknown, not 0.
  KpiTotals t = FromIntervals({{0, kRunning}}, 0, kH);
  t.good = 100;
  const Kpis k = ComputeKpis(t);
  EXPECT_DOUBLE_EQ(*k.availability, 1.0);
  EXPECT_DOUBLE_EQ(*k.quality, 1.0);
  EXPECT_FALSE(k.performance);
  EXPECT_FALSE(k.oee);
  EXPECT_FALSE(k.energy_per_good_kwh);
  // In a roll-up only the machines that have the data count: with a second machine that has
  // an ideal cycle time of 30 s (100 parts in its 3 600 s run: 3 000 s ideal) and 50 kWh
  // metered, performance = 3 000 / 3 600 and energy per good unit = 50 / 100.
  KpiTotals timed = FromIntervals({{0, kRunning}}, 0, kH);
  timed.good = 100;
  timed.ideal_time_s = 3'000;
  timed.timed_running_s = timed.running_s;
  timed.energy_kwh = 50;
  timed.metered_good = 100;
  t += timed;
  EXPECT_DOUBLE_EQ(*ComputeKpis(t).performance, 3'000.0 / 3'600);
  EXPECT_DOUBLE_EQ(*ComputeKpis(t).energy_per_good_kwh, 0.5);
}

TEST(KpiTest, TurbineCapacityFactorAndAvailability) {
  // 10 h: running 6 h, idle (low wind) 2 h, faulted 1 h, planned maintenance 1 h.
  KpiTotals t = FromIntervals(
      {{0, kRunning}, {6 * kH, kIdle}, {8 * kH, kUnplannedStop}, {9 * kH, kPlannedStop}}, 0, 10 * kH);
  // 6 000 kWh produced by a 2 000 kW turbine observed 10 h: rated energy 20 000 kWh.
  t.energy_kwh = 6'000;
  t.rated_energy_kwh = 2'000 * 10;
  const Kpis k = ComputeKpis(t);
  EXPECT_DOUBLE_EQ(*k.capacity_factor, 0.3);
  // time availability = (6 h running + 2 h idle) / (10 h − 0 unknown) = 0.8
  EXPECT_DOUBLE_EQ(*k.time_availability, 0.8);
  EXPECT_DOUBLE_EQ(t.available_s, 8 * 3600);
}

}  // namespace
}  // namespace doppel::analytics
