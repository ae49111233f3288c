// The RulModel that RulModel::Train builds (rul_training.h): regime normalisation, window
// features and an ensemble of boosted-tree models, plus the interval learnt from out-of-fold
// residuals. Private to src/analytics/rul.
#pragma once

#include <span>
#include <vector>

#include "analytics/rul/boosted_trees.h"
#include "analytics/rul/features.h"
#include "analytics/rul/regimes.h"
#include "analytics/rul/rul_model.h"

namespace doppel::analytics::rul {

// Where the true RUL lies around a prediction: residual (truth − prediction) quantiles of
// out-of-fold predictions, per bin of predicted RUL (errors grow with the horizon).
struct RulInterval {
  std::vector<double> upper_edges;  // bin b covers predictions < upper_edges[b]; the last is open
  std::vector<double> low, high;    // residual quantiles per bin
  std::pair<double, double> At(double prediction) const;  // (low, high) in cycles, low ≥ 0
  json::object Save() const;
  static Result<RulInterval> Load(const json::value& saved);
};

class GbtRulModel final : public RulModel {
 public:
  static constexpr int kVersion = 1;

  GbtRulModel(RulSpec spec, FeatureOptions features, RegimeNormalizer regimes,
              std::vector<Forest> forests, RulInterval interval, TrainReport report);
  static Result<std::shared_ptr<const RulModel>> LoadSaved(const json::object& saved);

  json::object Save() const override;
  const RulSpec& spec() const override { return spec_; }
  const TrainReport& report() const override { return report_; }
  RulEstimate Predict(const std::vector<std::vector<double>>& cycles) const override;
  std::size_t lookback() const override { return features_.lookback(); }
  RulEstimate PredictRecent(std::span<const std::vector<double>> recent,
                            uint64_t cycles) const override;

 private:
  RulSpec spec_;
  FeatureOptions features_;
  RegimeNormalizer regimes_;
  std::vector<Forest> forests_;
  RulInterval interval_;
  TrainReport report_;
};

// The estimate around a point prediction: clipped to [0, cap], with its interval and health.
RulEstimate MakeEstimate(double prediction, double cap, const RulInterval& interval,
                         uint64_t cycles);

}  // namespace doppel::analytics::rul
