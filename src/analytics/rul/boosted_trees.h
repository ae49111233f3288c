// Gradient-boosted regression trees for RUL: fitted with XGBoost (Debian's libxgboost, through
// its C API), then copied out into a Forest that Doppel evaluates itself. Owning the evaluation
// keeps inference allocation-free, thread-safe and ~µs per prediction (no XGBoost call per
// reading), and makes the saved model plain JSON that loads without XGBoost's format versions.
//
//   auto forest = FitBoostedTrees(x, rows, cols, y, options, on_round);
//   double yhat = forest->Predict(features);   // features: cols floats
//
// Thread-safety: a Forest is immutable and may be shared; FitBoostedTrees is reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics::rul {

struct BoostingOptions {
  // Defaults chosen by unit-held-out validation on the C-MAPSS training sets (FD001, FD003):
  // depth 4-6, 250-600 rounds and the sampling rates all land within ~0.3 cycles of RMSE of
  // each other there, so the cheapest setting in that plateau wins.
  int rounds = 400;
  int max_depth = 4;
  double eta = 0.05;
  double subsample = 0.5;  // rows per tree
  double colsample = 0.3;  // features per tree
  double min_child_weight = 10;
  double lambda = 1;  // L2 on leaf weights
  int max_bin = 32;   // histogram bins per feature: fewer is faster, coarser
  // Folds fitted at once, one XGBoost thread each: XGBoost's own OpenMP threads spin and
  // crawl when the cores are shared with the server's other work.
  int threads = 2;
  uint64_t seed = 1;
};

class Forest {
 public:
  double Predict(const float* features) const;
  std::size_t trees() const { return roots_.size(); }

  // From XGBoost's JSON model (XGBoosterSaveModelToBuffer {"format": "json"}).
  static Result<Forest> FromXgboostJson(std::string_view model);
  json::object Save() const;
  static Result<Forest> Load(const json::value& saved, std::size_t feature_count);

 private:
  struct Node {
    float threshold = 0;   // split: go left when feature < threshold; leaf: the value
    int32_t feature = -1;  // -1 for a leaf
    int32_t left = -1, right = -1;
    bool default_left = true;  // where NaN goes
  };
  struct TreeColumns {  // one XGBoost tree, per node
    const std::vector<double>& left;
    const std::vector<double>& right;
    const std::vector<double>& feature;
    const std::vector<double>& cond;
    const std::vector<double>& default_left;
  };
  Status AppendTree(const TreeColumns& tree);
  void FillPerfect(std::size_t tree, int32_t node, std::size_t slot, int level);
  void Compile();
  double PredictWalk(const float* features) const;

  double base_ = 0;
  std::vector<Node> nodes_;  // every tree's nodes, children indices absolute
  std::vector<int32_t> roots_;

  // The trees again, each as a perfect binary tree of depth_ (a leaf above that depth repeated
  // below it): evaluation is depth_ compare-and-step moves without branches to mispredict,
  // ~4x faster than walking the nodes. Empty (walk instead) for trees deeper than kMaxPerfectDepth.
  static constexpr int kMaxPerfectDepth = 10;
  int depth_ = 0;
  std::vector<int32_t> split_feature_;  // per tree 2^depth_ - 1 splits, heap order
  std::vector<float> split_threshold_;
  std::vector<uint8_t> split_default_left_;
  std::vector<float> leaf_value_;  // per tree 2^depth_ leaves
};

// Fits squared-error boosted trees to y on row-major x (rows × cols). `on_round(done)` is called
// after each round; returning false stops with Unavailable "training cancelled".
Result<Forest> FitBoostedTrees(const std::vector<float>& x, std::size_t rows, std::size_t cols,
                               const std::vector<float>& y, const BoostingOptions& options,
                               const std::function<bool(int)>& on_round = {});

}  // namespace doppel::analytics::rul
