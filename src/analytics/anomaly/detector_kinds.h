// The detector kinds behind MakeDetector (detector.h) and their parameters. Private to
// src/analytics/anomaly/; docs/analytics-anomaly.md is the user-facing description.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/anomaly/detector.h"
#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics::internal {

// Every kind's parameters in one struct; each kind reads the ones it documents. Defaults are
// per kind (DefaultParams); ParseParams overrides them from the spec and validates ranges.
struct DetectorParams {
  int window = 400;          // readings in the robust baseline (mad, seasonal residuals, changepoint, ensemble)
  int warmup = 100;          // readings before the first non-zero score
  double alpha = 0.02;       // EWMA weight (ewma, seasonal phases, multivariate)
  double threshold = 6;      // strength (z, CUSUM sum, Mahalanobis distance) whose score is 0.9
  int64_t period = 86400;    // seasonal period in seconds; 0 = detect (hour, day, week)
  int phases = 0;            // seasonal phases per period; 0 = period / reading interval
  int phase_tolerance = 0;   // seasonal: neighbouring phases whose expectation also counts
  double drift = 0.5;        // changepoint: CUSUM allowance, in spreads
  double range = 3;          // evidence: the normal range is expected ± range·spread
  // ensemble only
  int short_window = 6;          // readings averaged by the level-shift component
  double shift_weight = 1;       // weight of the level-shift component (0 = off)
  double seasonal_weight = 1;    // weight of the seasonal component (0 = off)
  double ewma_weight = 0;        // weight of an EWMA z-score component (0 = off)
  int suppress = 200;            // readings over which an alarm's peak is forgotten (1/e)
  double suppress_strength = 1;  // how much of the recent peak a new score must exceed (0..1)
  // 0: a score is the strength in excess of suppressStrength × the recent peak; g ≥ 1: a score is
  // the whole strength when it is at least g × the recent peak, else 0 (one row per event).
  double gate = 0;
  int local_window = 0;    // a second, short baseline; the level strength is the smaller (0 = off)
  double diff_weight = 0;  // weight of the step component: the change from the previous reading
  bool log = false;        // strengths on sign(x)·log(1 + |x|): counts and other multiplicative data
  int calibration = 2000;          // readings of strengths the series' usual strength is taken over (0 = off)
  double calibration_quantile = 0.99;  // which quantile of them is "usual"
  double calibration_floor = 1;        // the usual strength is at least this (a clean series' noise)
  double calibration_power = 1;        // strengths are divided by usual^power (0..1: partly)
  // context (and the ensemble's context component)
  int context_bins = 16;           // bins the range seen so far is cut into
  int context_order = 3;           // the longest context, in readings
  int context_memory = 4096;       // contexts remembered (rounded up to a power of two)
  double context_threshold = 0.5;  // a novelty at least this counts, and starts a rest
  int rest = 80;                   // readings after a high novelty (or, in the ensemble, an alarm) that score 0
  double context_weight = 0;       // ensemble: weight of the context component (0 = off)
  double familiar_weight = 1;      // ensemble: weight of an excess whose value is within the range seen
  double rest_fraction = 0;        // the rest is at least this share of the readings seen
  double suppress_fraction = 0;    // ensemble: `suppress` is at least this share of the readings seen
};

DetectorParams DefaultParams(std::string_view kind);
// Applies the parameters present in `parameters` (unknown names are refused) to `params`.
Status ParseParams(std::string_view kind, const json::object& parameters, DetectorParams& params);

std::unique_ptr<Detector> MakeMad(const DetectorParams& p);
std::unique_ptr<Detector> MakeEwma(const DetectorParams& p);
std::unique_ptr<Detector> MakeSeasonal(const DetectorParams& p);
std::unique_ptr<Detector> MakeChangepoint(const DetectorParams& p);
std::unique_ptr<Detector> MakeMultivariate(const DetectorParams& p, std::size_t signals);
std::unique_ptr<Detector> MakeEnsemble(const DetectorParams& p);
std::unique_ptr<Detector> MakeContext(const DetectorParams& p);

// Every field, for the state's fingerprint (Save/Restore) and for describing a detector.
json::object ParamsToJson(const DetectorParams& params);

// Save/Restore framing shared by every kind: {"kind", "parameters", "observed", "lastTime", ...}.
// Restore refuses a state of another kind or other parameters.
json::object BeginState(std::string_view kind, const json::object& parameters, uint64_t observed, int64_t last_time);
Status CheckState(const json::object& state, std::string_view kind, const json::object& parameters,
                  uint64_t& observed, int64_t& last_time);

}  // namespace doppel::analytics::internal
