// How RulModel::Train builds its model (docs/analytics-rul.md), with the knobs exposed for the
// C-MAPSS evaluation (bench/cmapss) and tests; the server always uses the defaults.
//
// The model: signals normalised per operating regime (regimes.h) → window features (features.h)
// → an ensemble of gradient-boosted tree models (boosted_trees.h) fitted to the capped RUL.
// Training units are dealt into k = round(1 / validation_share) folds; one tree model is fitted
// per fold on the other folds, so every unit gets an honest (out-of-fold) prediction for the
// validation figures and the interval, and the prediction is the mean of the k models.
//
// Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "analytics/rul/boosted_trees.h"
#include "analytics/rul/features.h"
#include "analytics/rul/rul_model.h"

namespace doppel::analytics {

struct RulTrainingOptions {
  rul::FeatureOptions features = {};
  rul::BoostingOptions boosting = {};
  std::size_t max_folds = 10;
  // Random cut points per held-out unit for TrainReport::validation_last_rmse.
  int cuts_per_unit = 10;
  // Out-of-fold residuals are binned by predicted RUL into this many bins for the interval.
  std::size_t interval_bins = 8;
  double interval_coverage = 0.9;
};

// Out-of-fold predictions of the last training run, for evaluations that score validation
// their own way (the C-MAPSS bench): per training unit, per cycle.
struct OutOfFold {
  std::vector<std::vector<double>> predictions;
};

Result<std::shared_ptr<const RulModel>> TrainRulModel(
    const RulSpec& spec, const std::vector<UnitHistory>& units, const RulTrainingOptions& options,
    const std::function<bool(const TrainProgress&)>& progress = {},
    OutOfFold* out_of_fold = nullptr);

}  // namespace doppel::analytics
