#include <gtest/gtest.h>

#include "analytics/rul/features.h"

namespace doppel::analytics::rul {
namespace {

FeatureOptions Small() {
  return FeatureOptions{.mean_windows = {2, 4}, .slope_windows = {3, 5}, .ewma_alphas = {0.5}};
}

TEST(RulFeaturesTest, LayoutIsCountThenPerSignalLastEwmaMeansSlopes) {
  auto o = Small();
  EXPECT_EQ(o.lookback(), 5u);
  EXPECT_EQ(o.count(2), 1 + 2 * (1 + 1 + 2 + 2));
  // Signal 0 rises 2 per cycle from 1; signal 1 is constant 7.
  std::vector<double> rows;
  for (int t = 0; t < 5; ++t) rows.insert(rows.end(), {1.0 + 2 * t, 7.0});
  std::vector<float> f(o.count(2));
  ComputeFeatures(o, rows.data(), 5, 2, 42, f.data());
  EXPECT_EQ(f[0], 42) << "the unit's cycle count, not the window's";
  EXPECT_FLOAT_EQ(f[1], 9);                                    // last
  EXPECT_FLOAT_EQ(f[2], 7.125);                                // ewma 0.5 over 1, 3, 5, 7, 9
  EXPECT_FLOAT_EQ(f[3], 8);                                    // mean of the last 2
  EXPECT_FLOAT_EQ(f[4], 6);                                    // mean of the last 4
  EXPECT_FLOAT_EQ(f[5], 2);                                    // slope over 3
  EXPECT_FLOAT_EQ(f[6], 2);                                    // slope over 5
  for (int i = 7; i < 11; ++i) EXPECT_FLOAT_EQ(f[i], 7) << i;  // last, ewma, means of a constant
  EXPECT_FLOAT_EQ(f[11], 0);
  EXPECT_FLOAT_EQ(f[12], 0);
}

TEST(RulFeaturesTest, AShortHistoryUsesWhatThereIs) {
  auto o = Small();
  std::vector<double> rows = {1, 7, 3, 7};  // two cycles
  std::vector<float> f(o.count(2));
  ComputeFeatures(o, rows.data(), 2, 2, 2, f.data());
  EXPECT_FLOAT_EQ(f[3], 2);  // mean over 2
  EXPECT_FLOAT_EQ(f[4], 2);  // "mean over 4" of the 2 there are
  EXPECT_FLOAT_EQ(f[5], 0) << "a slope needs 3 cycles";
}

TEST(RulFeaturesTest, NoCyclesGivesZeros) {
  auto o = Small();
  std::vector<float> f(o.count(2), 99);
  ComputeFeatures(o, nullptr, 0, 2, 0, f.data());
  for (float v : f) EXPECT_EQ(v, 0);
}

TEST(RulFeaturesTest, OptionsRoundTripAndBadWindowsAreRefused) {
  auto o = Small();
  auto loaded = FeatureOptions::Load(json::value(o.Save()));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->mean_windows, o.mean_windows);
  EXPECT_EQ(loaded->slope_windows, o.slope_windows);
  EXPECT_EQ(loaded->ewma_alphas, o.ewma_alphas);
  auto bad = o.Save();
  bad["slopeWindows"] = json::array{0};
  EXPECT_FALSE(FeatureOptions::Load(json::value(bad)).ok());
}

}  // namespace
}  // namespace doppel::analytics::rul
