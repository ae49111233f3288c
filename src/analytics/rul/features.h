// Window features for RUL (docs/analytics-rul.md): what the trees see of a unit at one cycle.
// Wear shows as a slow drift of a few normalised signals buried in cycle-to-cycle noise, so per
// signal the features are smoothed levels (exponential averages, means over several look-backs)
// and rates (least-squares slopes over several look-backs), plus the unit's cycle count. They
// depend only on the last lookback() cycles and the count, which is what lets a RulTracker keep a
// bounded window and still predict exactly what RulModel::Predict does on the whole history.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics::rul {

struct FeatureOptions {
  std::vector<int> mean_windows = {5, 10, 20, 30};
  std::vector<int> slope_windows = {10, 20, 40, 60};
  std::vector<double> ewma_alphas = {0.1, 0.3};  // over the look-back, started at its first cycle

  std::size_t lookback() const;
  std::size_t count(std::size_t signals) const;  // features per cycle
  json::object Save() const;
  static Result<FeatureOptions> Load(const json::value& saved);
};

// `rows`: the last n ≤ lookback() cycles of normalised signals, row-major n × signals, oldest
// first; `cycles`: how many cycles the unit has had in all. Writes options.count(signals) values.
// A window shorter than a look-back uses what there is (a slope of fewer than 3 cycles is 0).
void ComputeFeatures(const FeatureOptions& options, const double* rows, std::size_t n,
                     std::size_t signals, uint64_t cycles, float* out);

}  // namespace doppel::analytics::rul
