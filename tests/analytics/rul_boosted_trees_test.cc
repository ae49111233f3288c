#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "analytics/rul/boosted_trees.h"

namespace doppel::analytics::rul {
namespace {

// y = 10 below x0 = 0.5, 50 above, plus 5·x1: a step and a ramp the trees must find.
void StepData(std::vector<float>& x, std::vector<float>& y, std::size_t rows) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0, 1);
  for (std::size_t i = 0; i < rows; ++i) {
    float x0 = u(rng), x1 = u(rng), x2 = u(rng);
    x.insert(x.end(), {x0, x1, x2});
    y.push_back((x0 < 0.5f ? 10.0f : 50.0f) + 5 * x1);
  }
}

BoostingOptions Quick() {
  return BoostingOptions{.rounds = 150, .max_depth = 3, .eta = 0.2, .subsample = 1, .colsample = 1};
}

TEST(RulBoostedTreesTest, FitsAStepAndARamp) {
  std::vector<float> x, y;
  StepData(x, y, 2000);
  auto forest = FitBoostedTrees(x, 2000, 3, y, Quick());
  ASSERT_TRUE(forest.ok()) << forest.status().message();
  EXPECT_EQ(forest->trees(), 150u);
  float low[] = {0.2f, 0.5f, 0.9f}, high[] = {0.8f, 0.5f, 0.1f}, ramp[] = {0.8f, 1.0f, 0.5f};
  EXPECT_NEAR(forest->Predict(low), 12.5, 1.0);
  EXPECT_NEAR(forest->Predict(high), 52.5, 1.0);
  EXPECT_NEAR(forest->Predict(ramp), 55, 1.0);
  float missing[] = {NAN, 0.5f, 0.5f};
  EXPECT_TRUE(std::isfinite(forest->Predict(missing)))
      << "a missing value follows the default branch";
}

TEST(RulBoostedTreesTest, SavedForestPredictsExactlyTheSame) {
  std::vector<float> x, y;
  StepData(x, y, 500);
  auto forest = FitBoostedTrees(x, 500, 3, y, Quick());
  ASSERT_TRUE(forest.ok());
  auto loaded = Forest::Load(json::value(forest->Save()), 3);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  for (std::size_t i = 0; i < 500; ++i)
    EXPECT_EQ(loaded->Predict(&x[i * 3]), forest->Predict(&x[i * 3]));
}

TEST(RulBoostedTreesTest, LoadRefusesNodesThatLoopOrReadPastTheFeatures) {
  std::vector<float> x, y;
  StepData(x, y, 200);
  auto forest = FitBoostedTrees(x, 200, 3, y, Quick());
  ASSERT_TRUE(forest.ok());
  auto saved = forest->Save();
  EXPECT_FALSE(Forest::Load(json::value(saved), 2).ok())
      << "splits on feature 2 with only 2 features";
  auto looping = saved;
  looping["left"].as_array()[0] = 0;  // the root's left child is the root
  EXPECT_FALSE(Forest::Load(json::value(looping), 3).ok());
}

TEST(RulBoostedTreesTest, ARoundCallbackReturningFalseCancels) {
  std::vector<float> x, y;
  StepData(x, y, 200);
  int calls = 0;
  auto forest = FitBoostedTrees(x, 200, 3, y, Quick(), [&](int done) { return ++calls, done < 5; });
  EXPECT_FALSE(forest.ok());
  EXPECT_EQ(calls, 5);
  EXPECT_FALSE(FitBoostedTrees(x, 0, 3, {}, Quick()).ok()) << "no rows";
}

}  // namespace
}  // namespace doppel::analytics::rul

namespace doppel::analytics::rul {
namespace {

TEST(RulBoostedTreesTest, ReadsXgboostJsonWhateverOrderItsNodesAreNumberedIn) {
  // One tree: the root splits on feature 1 at 0.5, its left child is node 2 (a leaf, 3) and its
  // right child node 1 (a leaf, 5); NaN goes right. Base score 10.
  auto forest = Forest::FromXgboostJson(R"({"learner": {
      "learner_model_param": {"base_score": "1E1"},
      "gradient_booster": {"model": {"trees": [{
          "left_children": [2, -1, -1], "right_children": [1, -1, -1], "split_indices": [1, 0, 0],
          "split_conditions": [0.5, 5, 3], "default_left": [0, 0, 0]}]}}}})");
  ASSERT_TRUE(forest.ok()) << forest.status().message();
  float left[] = {9, 0.2f}, right[] = {9, 0.7f}, missing[] = {9, NAN};
  EXPECT_EQ(forest->Predict(left), 13);
  EXPECT_EQ(forest->Predict(right), 15);
  EXPECT_EQ(forest->Predict(missing), 15);
  auto loaded = Forest::Load(json::value(forest->Save()), 2);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->Predict(left), 13);

  EXPECT_FALSE(Forest::FromXgboostJson(R"({"learner": {"learner_model_param": {"base_score": "0"},
      "gradient_booster": {"model": {"trees": [{"left_children": [0], "right_children": [0],
      "split_indices": [0], "split_conditions": [1], "default_left": [0]}]}}}})")
                   .ok())
      << "a node that is its own child";
}

TEST(RulBoostedTreesTest, UnevenTreesAndMissingValuesFollowTheirBranches) {
  // Tree 1: x0 < 0.5 → 1; else x1 < 0.5 → 2, else 4 (NaN in x1 goes left, NaN in x0 right).
  // Tree 2: a single leaf, 100.
  auto forest = Forest::FromXgboostJson(R"({"learner": {
      "learner_model_param": {"base_score": "0"},
      "gradient_booster": {"model": {"trees": [
        {"left_children": [1, -1, 3, -1, -1], "right_children": [2, -1, 4, -1, -1],
         "split_indices": [0, 0, 1, 0, 0], "split_conditions": [0.5, 1, 0.5, 2, 4],
         "default_left": [0, 0, 1, 0, 0]},
        {"left_children": [-1], "right_children": [-1], "split_indices": [0],
         "split_conditions": [100], "default_left": [0]}]}}}})");
  ASSERT_TRUE(forest.ok()) << forest.status().message();
  auto predict = [&](float x0, float x1) {
    float x[] = {x0, x1};
    return forest->Predict(x);
  };
  EXPECT_EQ(predict(0.1f, 0.1f), 101);
  EXPECT_EQ(predict(0.1f, 0.9f), 101);
  EXPECT_EQ(predict(0.9f, 0.1f), 102);
  EXPECT_EQ(predict(0.9f, 0.9f), 104);
  EXPECT_EQ(predict(NAN, 0.9f), 104);
  EXPECT_EQ(predict(0.9f, NAN), 102);
}

}  // namespace
}  // namespace doppel::analytics::rul
