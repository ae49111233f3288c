#include "analytics/rul/boosted_trees.h"

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace doppel::analytics::rul {
namespace {

Status XgbError(std::string_view what) {
  return Status::Internal(fmt::format("xgboost {}: {}", what, XGBGetLastError()));
}

// The C API's handles, freed on every path out.
struct DMatrix {
  DMatrixHandle h = nullptr;
  ~DMatrix() {
    if (h != nullptr) XGDMatrixFree(h);
  }
};
struct Booster {
  BoosterHandle h = nullptr;
  ~Booster() {
    if (h != nullptr) XGBoosterFree(h);
  }
};

Status SetParams(BoosterHandle h, const BoostingOptions& o, double base_score) {
  const std::pair<const char*, std::string> params[] = {
      {"objective", "reg:squarederror"},
      {"tree_method", "hist"},
      {"verbosity", "0"},
      {"max_depth", std::to_string(o.max_depth)},
      {"eta", fmt::format("{}", o.eta)},
      {"subsample", fmt::format("{}", o.subsample)},
      {"colsample_bytree", fmt::format("{}", o.colsample)},
      {"min_child_weight", fmt::format("{}", o.min_child_weight)},
      {"lambda", fmt::format("{}", o.lambda)},
      {"max_bin", std::to_string(o.max_bin)},
      {"nthread", std::to_string(o.threads)},
      {"seed", std::to_string(o.seed)},
      {"base_score", fmt::format("{}", base_score)},
  };
  for (const auto& [key, value] : params) {
    if (XGBoosterSetParam(h, key, value.c_str()) != 0) return XgbError("parameter");
  }
  return Status::Ok();
}

const json::value* Path(const json::value& v, std::initializer_list<std::string_view> keys) {
  const json::value* at = &v;
  for (auto k : keys) {
    const auto* o = at->if_object();
    if (o == nullptr || !o->contains(k)) return nullptr;
    at = &o->at(k);
  }
  return at;
}

// XGBoost writes numbers, and booleans as 0/1 (or true/false in some versions).
double FiniteOrNull(const json::value& v) {
  if (v.is_bool()) return v.get_bool() ? 1 : 0;
  if (v.is_string()) return std::stod(std::string(v.get_string()));
  return v.is_number() ? v.to_number<double>() : std::numeric_limits<double>::quiet_NaN();
}

Result<std::vector<double>> Column(const json::object& tree, std::string_view key,
                                   std::size_t size) {
  const auto* a = tree.if_contains(key) ? tree.at(key).if_array() : nullptr;
  if (a == nullptr || (size != 0 && a->size() != size)) {
    return Status::InvalidArgument(fmt::format("tree model: bad '{}'", key));
  }
  std::vector<double> out;
  out.reserve(a->size());
  for (const auto& v : *a) out.push_back(FiniteOrNull(v));
  return out;
}

}  // namespace

double Forest::Predict(const float* features) const {
  if (split_feature_.empty() && leaf_value_.empty()) return PredictWalk(features);
  const std::size_t splits = (std::size_t{1} << depth_) - 1, leaves = splits + 1;
  double sum = base_;
  for (std::size_t t = 0; t < roots_.size(); ++t) {
    const int32_t* feature = split_feature_.data() + t * splits;
    const float* threshold = split_threshold_.data() + t * splits;
    const uint8_t* default_left = split_default_left_.data() + t * splits;
    std::size_t i = 0;
    for (int level = 0; level < depth_; ++level) {
      float f = features[feature[i]];
      bool right = std::isnan(f) ? default_left[i] == 0 : !(f < threshold[i]);
      i = 2 * i + 1 + static_cast<std::size_t>(right);
    }
    sum += leaf_value_[t * leaves + (i - splits)];
  }
  return sum;
}

// Places `node` at heap position `slot` of tree `tree`; a leaf above the bottom fills every
// slot below it, so whichever way the (dummy) splits go, they reach its value.
void Forest::FillPerfect(std::size_t tree, int32_t node, std::size_t slot, int level) {
  const std::size_t splits = (std::size_t{1} << depth_) - 1;
  const Node& n = nodes_[node];
  if (level == depth_) {
    leaf_value_[tree * (splits + 1) + (slot - splits)] = n.threshold;
    return;
  }
  std::size_t at = tree * splits + slot;
  bool leaf = n.feature < 0;
  split_feature_[at] = leaf ? 0 : n.feature;
  split_threshold_[at] = leaf ? 0 : n.threshold;
  split_default_left_[at] = leaf || n.default_left;
  FillPerfect(tree, leaf ? node : n.left, 2 * slot + 1, level + 1);
  FillPerfect(tree, leaf ? node : n.right, 2 * slot + 2, level + 1);
}

void Forest::Compile() {
  // Children follow their parents (AppendTree, Load), so one pass in order finds every level
  // without recursing over a tree of any shape.
  std::vector<int> level(nodes_.size(), -1);
  for (int32_t root : roots_) level[root] = 0;
  depth_ = 0;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (level[i] < 0 || nodes_[i].feature < 0) continue;
    level[nodes_[i].left] = std::max(level[nodes_[i].left], level[i] + 1);
    level[nodes_[i].right] = std::max(level[nodes_[i].right], level[i] + 1);
    depth_ = std::max(depth_, level[i] + 1);
  }
  split_feature_.clear(), split_threshold_.clear(), split_default_left_.clear(),
      leaf_value_.clear();
  if (depth_ > kMaxPerfectDepth) return;
  const std::size_t splits = (std::size_t{1} << depth_) - 1;
  split_feature_.resize(roots_.size() * splits);
  split_threshold_.resize(roots_.size() * splits);
  split_default_left_.resize(roots_.size() * splits);
  leaf_value_.resize(roots_.size() * (splits + 1));
  for (std::size_t t = 0; t < roots_.size(); ++t) FillPerfect(t, roots_[t], 0, 0);
}

double Forest::PredictWalk(const float* features) const {
  double sum = base_;
  for (int32_t root : roots_) {
    const Node* n = &nodes_[root];
    while (n->feature >= 0) {
      float f = features[n->feature];
      bool left = std::isnan(f) ? n->default_left : f < n->threshold;
      n = &nodes_[left ? n->left : n->right];
    }
    sum += n->threshold;
  }
  return sum;
}

// Copies one XGBoost tree in depth-first order, so that every child follows its parent (which
// Load relies on to refuse loops) whatever order XGBoost numbered its nodes in.
Status Forest::AppendTree(const TreeColumns& t) {
  std::vector<std::pair<std::size_t, int32_t>> stack = {
      {0, -1}};  // (XGBoost node, parent slot to patch)
  std::vector<bool> seen(t.left.size(), false);
  while (!stack.empty()) {
    auto [i, patch] = stack.back();
    stack.pop_back();
    if (i >= t.left.size() || seen[i]) return Status::InvalidArgument("tree model: bad node");
    seen[i] = true;
    auto here = static_cast<int32_t>(nodes_.size());
    if (patch >= 0) {
      Node& parent = nodes_[patch / 2];
      (patch % 2 == 0 ? parent.left : parent.right) = here;
    }
    bool leaf = t.left[i] < 0;
    nodes_.push_back(Node{.threshold = static_cast<float>(t.cond[i]),
                          .feature = leaf ? -1 : static_cast<int32_t>(t.feature[i]),
                          .default_left = t.default_left[i] != 0});
    if (leaf) continue;
    stack.emplace_back(static_cast<std::size_t>(t.right[i]), here * 2 + 1);
    stack.emplace_back(static_cast<std::size_t>(t.left[i]), here * 2);
  }
  return Status::Ok();
}

Result<Forest> Forest::FromXgboostJson(std::string_view model) {
  DOPPEL_ASSIGN_OR_RETURN(json::value root,
                          ParseJson(model, JsonLimits{.max_bytes = std::size_t{1} << 31}));
  const auto* base = Path(root, {"learner", "learner_model_param", "base_score"});
  const auto* trees = Path(root, {"learner", "gradient_booster", "model", "trees"});
  if (base == nullptr || trees == nullptr || !trees->is_array())
    return Status::InvalidArgument("tree model: not XGBoost JSON");
  Forest f;
  f.base_ = FiniteOrNull(*base);
  for (const auto& t : trees->get_array()) {
    const auto* tree = t.if_object();
    if (tree == nullptr) return Status::InvalidArgument("tree model: bad tree");
    DOPPEL_ASSIGN_OR_RETURN(auto left, Column(*tree, "left_children", 0));
    DOPPEL_ASSIGN_OR_RETURN(auto right, Column(*tree, "right_children", left.size()));
    DOPPEL_ASSIGN_OR_RETURN(auto feature, Column(*tree, "split_indices", left.size()));
    DOPPEL_ASSIGN_OR_RETURN(auto cond, Column(*tree, "split_conditions", left.size()));
    DOPPEL_ASSIGN_OR_RETURN(auto default_left, Column(*tree, "default_left", left.size()));
    f.roots_.push_back(static_cast<int32_t>(f.nodes_.size()));
    DOPPEL_RETURN_IF_ERROR(f.AppendTree(TreeColumns{left, right, feature, cond, default_left}));
  }
  f.Compile();
  return f;
}

// Saved compactly, one array per node field across all trees: a few MB of numbers for an
// ensemble, parsed back in well under a second.
json::object Forest::Save() const {
  json::array threshold, feature, left, right, default_left, roots(roots_.begin(), roots_.end());
  for (const auto& n : nodes_) {
    threshold.push_back(static_cast<double>(n.threshold));
    feature.push_back(n.feature);
    left.push_back(n.left);
    right.push_back(n.right);
    default_left.push_back(n.default_left ? 1 : 0);
  }
  json::object o;
  o["base"] = base_;
  o["roots"] = std::move(roots);
  o["threshold"] = std::move(threshold);
  o["feature"] = std::move(feature);
  o["left"] = std::move(left);
  o["right"] = std::move(right);
  o["defaultLeft"] = std::move(default_left);
  return o;
}

Result<Forest> Forest::Load(const json::value& saved, std::size_t feature_count) {
  const auto* o = saved.if_object();
  if (o == nullptr || !o->contains("base") || !o->at("base").is_number())
    return Status::InvalidArgument("saved forest: bad 'base'");
  Forest f;
  f.base_ = o->at("base").to_number<double>();
  DOPPEL_ASSIGN_OR_RETURN(auto threshold, Column(*o, "threshold", 0));
  std::size_t n = threshold.size();
  DOPPEL_ASSIGN_OR_RETURN(auto feature, Column(*o, "feature", n));
  DOPPEL_ASSIGN_OR_RETURN(auto left, Column(*o, "left", n));
  DOPPEL_ASSIGN_OR_RETURN(auto right, Column(*o, "right", n));
  DOPPEL_ASSIGN_OR_RETURN(auto default_left, Column(*o, "defaultLeft", n));
  DOPPEL_ASSIGN_OR_RETURN(auto roots, Column(*o, "roots", 0));
  auto valid = [n](double i) { return i >= 0 && i < static_cast<double>(n); };
  for (std::size_t i = 0; i < n; ++i) {
    bool leaf = feature[i] < 0;
    // Children must point forward, so evaluation always ends (XGBoost numbers nodes breadth-first).
    if (!leaf &&
        (feature[i] >= static_cast<double>(feature_count) || !valid(left[i]) || !valid(right[i]) ||
         left[i] <= static_cast<double>(i) || right[i] <= static_cast<double>(i))) {
      return Status::InvalidArgument("saved forest: bad node");
    }
    f.nodes_.push_back(Node{.threshold = static_cast<float>(threshold[i]),
                            .feature = leaf ? -1 : static_cast<int32_t>(feature[i]),
                            .left = leaf ? -1 : static_cast<int32_t>(left[i]),
                            .right = leaf ? -1 : static_cast<int32_t>(right[i]),
                            .default_left = default_left[i] != 0});
  }
  for (double r : roots) {
    if (!valid(r)) return Status::InvalidArgument("saved forest: bad root");
    f.roots_.push_back(static_cast<int32_t>(r));
  }
  f.Compile();
  return f;
}

Result<Forest> FitBoostedTrees(const std::vector<float>& x, std::size_t rows, std::size_t cols,
                               const std::vector<float>& y, const BoostingOptions& options,
                               const std::function<bool(int)>& on_round) {
  if (rows == 0 || x.size() != rows * cols || y.size() != rows)
    return Status::InvalidArgument("no training rows");
  DMatrix data;
  if (XGDMatrixCreateFromMat(x.data(), rows, cols, std::numeric_limits<float>::quiet_NaN(),
                             &data.h) != 0) {
    return XgbError("data");
  }
  if (XGDMatrixSetFloatInfo(data.h, "label", y.data(), rows) != 0) return XgbError("labels");
  Booster booster;
  if (XGBoosterCreate(&data.h, 1, &booster.h) != 0) return XgbError("booster");
  double base = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(rows);
  DOPPEL_RETURN_IF_ERROR(SetParams(booster.h, options, base));
  for (int round = 0; round < options.rounds; ++round) {
    if (XGBoosterUpdateOneIter(booster.h, round, data.h) != 0) return XgbError("round");
    if (on_round && !on_round(round + 1)) return Status::Unavailable("training cancelled");
  }
  bst_ulong len = 0;
  const char* buffer = nullptr;
  if (XGBoosterSaveModelToBuffer(booster.h, R"({"format": "json"})", &len, &buffer) != 0)
    return XgbError("save");
  return Forest::FromXgboostJson(std::string_view(buffer, len));
}

}  // namespace doppel::analytics::rul
