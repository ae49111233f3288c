// Streaming anomaly detectors: one reading in, one anomaly score in [0, 1] out, in O(1)
// amortised time and bounded memory per series. The family (docs/analytics-anomaly.md):
//
//   kind          what it watches                                       suited to
//   "mad"         robust baseline: rolling median and MAD of a window    spikes, level faults
//   "ewma"        exponentially weighted mean/variance (z-score)         drift, noise changes
//   "seasonal"    baseline per phase of a period (hour of day, ...)      daily/weekly patterns
//   "changepoint" CUSUM / change of regime in mean or variance           steps, new regimes
//   "context"     novelty of the recent pattern of quantised values      new levels and shapes
//                 (in the spirit of CAD OSE), fired once per event
//   "ensemble"    the combined score of several of the above, with alarm
//                 suppression — the default, and the one `make bench-nab` scores
//   "multivariate" several signals of one asset at once (robust Mahalanobis distance over the
//                 latest value of each; simulation residuals are good inputs)
//
//   auto spec = ParseDetectorSpec(json);          // {"kind": "ensemble", ...parameters}
//   auto detector = MakeDetector(*spec);          // one per (twin, signal set)
//   for (reading : readings) {
//     Score s = detector->Update(time, values);   // values.size() == spec.signals.size()
//     if (s.score >= spec.event_threshold) ... s.evidence ...
//   }
//   json::object state = detector->Save();        // persisted by the service; Restore() after
//                                                 // a restart, or warm up by replaying history
//
// A detector never sees the wall clock: time is the reading's. Not thread-safe: one owner.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics {

// Evidence of one score: what was seen and what was expected.
struct Evidence {
  double value = 0;          // the (first) signal's value
  double expected = 0;       // the baseline's expectation for it
  double low = 0, high = 0;  // the range the baseline considers normal (expected ± k·spread)
  // For a multivariate detector: each signal's share of the score (same order as the spec's
  // signals, summing to 1); empty for a univariate one.
  std::vector<double> contributions = {};
};

struct Score {
  double score = 0;  // [0, 1]; 0 while warming up
  Evidence evidence = {};
};

struct DetectorSpec {
  std::string kind = "ensemble";
  // The telemetry/property paths this detector reads; one for every kind except "multivariate".
  std::vector<std::string> signals = {};
  // Kind-specific parameters, validated by ParseDetectorSpec (e.g. "window", "alpha",
  // "period", "threshold"); kept as given so Save/describe can echo them.
  json::object parameters = {};
  // A score at or above this raises an anomaly event (with its evidence).
  double event_threshold = 0.9;
};

// Parses {"kind": ..., "signals": [...], "eventThreshold": x, <parameters>}. Errors are
// InvalidArgument naming the field and the allowed range: "detector 'window' must be an
// integer in [8, 100000], got 3", "unknown detector kind 'foo' (expected mad, ewma, ...)".
Result<DetectorSpec> ParseDetectorSpec(const json::value& body);
json::object DetectorSpecToJson(const DetectorSpec& spec);

class Detector {
 public:
  virtual ~Detector() = default;
  // Observes one reading time (ns since the epoch, non-decreasing; an older one is scored
  // but does not move the baseline) and one value per signal (NaN = that signal absent this
  // time); returns its score.
  virtual Score Update(int64_t time_ns, std::span<const double> values) = 0;
  // Readings seen so far (warm-up is over once the detector's own minimum is reached).
  virtual uint64_t observed() const = 0;
  // The detector's whole state as JSON, and back. Restore of a state saved by a detector of
  // another kind or with other parameters is InvalidArgument (the caller then warms up from
  // history instead).
  virtual json::object Save() const = 0;
  virtual Status Restore(const json::object& state) = 0;
};

std::unique_ptr<Detector> MakeDetector(const DetectorSpec& spec);

}  // namespace doppel::analytics
