#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "analytics/rul/regimes.h"
#include "analytics/rul_test_data.h"

namespace doppel::analytics::rul {
namespace {

using testing::FleetOptions;
using testing::kSyntheticSignals;
using testing::SyntheticFleet;

std::vector<std::vector<double>> AllCycles(const std::vector<UnitHistory>& units) {
  std::vector<std::vector<double>> all;
  for (const auto& u : units) all.insert(all.end(), u.cycles.begin(), u.cycles.end());
  return all;
}

// The regime a synthetic cycle was generated at: its throttle and altitude identify it.
int TrueRegime(const std::vector<double>& c) {
  for (int r = 0; r < 6; ++r) {
    if (std::abs(c[kSyntheticSignals] - testing::kOperatingPoints[r][0]) < 0.5) return r;
  }
  return -1;
}

TEST(RulRegimesTest, FindsSixOperatingPointsAndNormalisesEachSignalPerRegime) {
  auto cycles = AllCycles(SyntheticFleet(FleetOptions{.units = 20, .regimes = 6}));
  auto norm = RegimeNormalizer::Fit(cycles, kSyntheticSignals, 3, 1);
  ASSERT_EQ(norm.regimes(), 6u);

  // Each true regime maps to exactly one cluster, and the clusters are all different.
  std::map<int, std::size_t> cluster_of;
  for (const auto& c : cycles) {
    auto [it, fresh] = cluster_of.emplace(TrueRegime(c), norm.Assign(c));
    EXPECT_EQ(it->second, norm.Assign(c));
  }
  std::set<std::size_t> clusters;
  for (auto [r, c] : cluster_of) clusters.insert(c);
  EXPECT_EQ(clusters.size(), 6u);

  // Within a regime, each normalised signal has mean 0 and standard deviation 1.
  std::map<int, std::vector<double>> sum, sum2;
  std::map<int, double> count;
  for (const auto& c : cycles) {
    double z[kSyntheticSignals];
    norm.Normalize(c, z);
    int r = TrueRegime(c);
    sum[r].resize(kSyntheticSignals), sum2[r].resize(kSyntheticSignals);
    count[r] += 1;
    for (int j = 0; j < kSyntheticSignals; ++j) sum[r][j] += z[j], sum2[r][j] += z[j] * z[j];
  }
  for (auto& [r, s] : sum) {
    for (int j = 0; j < kSyntheticSignals; ++j) {
      EXPECT_NEAR(s[j] / count[r], 0, 1e-9) << "regime " << r << " signal " << j;
      EXPECT_NEAR(sum2[r][j] / count[r], 1, 1e-6) << "regime " << r << " signal " << j;
    }
  }
}

TEST(RulRegimesTest, SettingsJitteringAroundOnePointAreOneRegime) {
  // FD001-like: one operating condition, the settings only carry measurement noise.
  auto cycles = AllCycles(SyntheticFleet(FleetOptions{.units = 10, .regimes = 1}));
  auto norm = RegimeNormalizer::Fit(cycles, kSyntheticSignals, 3, 1);
  EXPECT_EQ(norm.regimes(), 1u);
}

TEST(RulRegimesTest, NoSettingsIsAPlainZScore) {
  std::vector<std::vector<double>> cycles = {{1, 10}, {3, 10}, {5, 10}};
  auto norm = RegimeNormalizer::Fit(cycles, 2, 0, 1);
  EXPECT_EQ(norm.regimes(), 1u);
  double z[2];
  norm.Normalize(cycles[2], z);
  EXPECT_NEAR(z[0], 2 / std::sqrt(8.0 / 3), 1e-12);
  EXPECT_EQ(z[1], 0) << "a constant signal carries nothing: it normalises to 0";
}

TEST(RulRegimesTest, SavedNormalizerNormalisesTheSame) {
  auto cycles = AllCycles(SyntheticFleet(FleetOptions{.units = 5, .regimes = 6}));
  auto norm = RegimeNormalizer::Fit(cycles, kSyntheticSignals, 3, 1);
  auto loaded = RegimeNormalizer::Load(json::value(norm.Save()), kSyntheticSignals, 3);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->regimes(), norm.regimes());
  for (std::size_t i = 0; i < cycles.size(); i += 37) {
    double a[kSyntheticSignals], b[kSyntheticSignals];
    norm.Normalize(cycles[i], a);
    loaded->Normalize(cycles[i], b);
    for (int j = 0; j < kSyntheticSignals; ++j) EXPECT_DOUBLE_EQ(a[j], b[j]);
  }
}

TEST(RulRegimesTest, LoadRefusesStatisticsOfTheWrongWidth) {
  auto cycles = AllCycles(SyntheticFleet(FleetOptions{.units = 3, .regimes = 6}));
  auto saved = json::value(RegimeNormalizer::Fit(cycles, kSyntheticSignals, 3, 1).Save());
  EXPECT_FALSE(RegimeNormalizer::Load(saved, kSyntheticSignals + 1, 3).ok());
  EXPECT_FALSE(RegimeNormalizer::Load(saved, kSyntheticSignals, 2).ok());
  EXPECT_FALSE(RegimeNormalizer::Load(json::value("nope"), kSyntheticSignals, 3).ok());
}

}  // namespace
}  // namespace doppel::analytics::rul
