// SeasonalBaseline: the expected value for each phase of a period (hour of day, ...), and a
// robust baseline of what is left over. Private to src/analytics/anomaly/.
//
// The first `warmup` readings are kept (bounded) to learn the reading interval and, when no
// period is configured, to detect one: the candidate (hour, day, week) whose autocorrelation at
// its lag is highest and at least 0.3, else none (one phase: a slowly moving level). Those
// readings are then replayed into the phase means, so nothing seen is wasted.
#pragma once

#include <cstdint>
#include <vector>

#include "analytics/anomaly/baseline.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics::internal {

class SeasonalBaseline {
 public:
  static constexpr int kMaxPhases = 4096;

  // period_s = 0: detect; phases = 0: period / reading interval (at most kMaxPhases);
  // tolerance: a value is compared with the expectations of the phases up to this many away too
  // (the closest counts), so a pattern a little early or late is not an anomaly.
  SeasonalBaseline(int64_t period_s, int phases, double alpha, int window, int warmup, int tolerance = 0);

  // Observes one reading. Returns false while warming up (no estimate yet).
  bool Push(int64_t time_ns, double x);
  bool ready() const { return phases_ > 0; }
  // The strength of `x` at `time_ns` against the baseline (call before Push): |residual −
  // median residual| / residual spread, the smallest over the phases within the tolerance.
  double Z(int64_t time_ns, double x) const;
  double Expected(int64_t time_ns) const;
  double spread() const { return residuals_.spread(); }
  int64_t period_ns() const { return period_ns_; }
  int phases() const { return phases_; }

  void Save(json::object& out) const;
  Status Restore(const json::object& in);

 private:
  int Phase(int64_t time_ns) const;
  void Learn(int64_t time_ns, double x);
  void FinishWarmup();

  int64_t configured_period_ns_;
  int configured_phases_;
  int tolerance_;
  double alpha_;
  std::size_t warmup_;
  // Warm-up buffer (cleared once warm).
  std::vector<double> warm_times_, warm_values_;
  // Decided at the end of the warm-up.
  int64_t period_ns_ = 0;
  int64_t phase_ns_ = 1;
  int phases_ = 0;
  std::vector<double> means_;  // per phase; NaN = not seen yet
  double level_ = 0;           // fallback for an unseen phase: EWMA of every value
  RollingRobust residuals_;
};

}  // namespace doppel::analytics::internal
