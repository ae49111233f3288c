// SampleWindow, the per-(signal, window) aggregate store, against a naive recomputation over a
// long random sequence: the running sums are rebuilt as samples leave and must not drift.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>
#include <utility>

#include "rules/internal/window.h"

namespace doppel::rules::internal {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;

struct Naive {
  std::deque<std::pair<int64_t, double>> samples;

  double Avg() const {
    double sum = 0;
    for (const auto& [t, v] : samples) sum += v;
    return sum / static_cast<double>(samples.size());
  }
  double Rate() const {  // per minute, centred least squares
    double n = static_cast<double>(samples.size()), mean_t = 0, mean_v = 0;
    for (const auto& [t, v] : samples) {
      mean_t += static_cast<double>(t) / 60e9 / n;
      mean_v += v / n;
    }
    double num = 0, den = 0;
    for (const auto& [t, v] : samples) {
      double dt = static_cast<double>(t) / 60e9 - mean_t;
      num += dt * (v - mean_v);
      den += dt * dt;
    }
    return num / den;
  }
};

TEST(SampleWindow, AgreesWithANaiveWindowOverALongRandomSequence) {
  std::mt19937 rng(7);
  constexpr int64_t kWindow = 120 * kSecondNs;
  SampleWindow window(1000);
  Naive naive;
  int64_t t = 1'700'000'000 * kSecondNs;  // realistic epoch times: large offsets
  for (int i = 0; i < 20'000; ++i) {
    t += static_cast<int64_t>(rng() % 20) * kSecondNs;
    double v = 1000.0 + static_cast<double>(rng() % 10'000) / 7.0;
    window.EvictThrough(t - kWindow);
    while (!naive.samples.empty() && naive.samples.front().first <= t - kWindow) naive.samples.pop_front();
    window.Add(t, v);
    naive.samples.emplace_back(t, v);
    ASSERT_EQ(window.count(), naive.samples.size());
    EXPECT_NEAR(*window.Avg(), naive.Avg(), 1e-9 * std::abs(naive.Avg()));
    double mn = naive.samples.front().second, mx = mn;
    for (const auto& [st, sv] : naive.samples) {
      mn = std::min(mn, sv);
      mx = std::max(mx, sv);
    }
    EXPECT_EQ(*window.Min(), mn);
    EXPECT_EQ(*window.Max(), mx);
    if (naive.samples.size() >= 2) {
      EXPECT_EQ(*window.Delta(), naive.samples.back().second - naive.samples.front().second);
      if (naive.samples.front().first != naive.samples.back().first) {
        EXPECT_NEAR(*window.Rate(), naive.Rate(), 1e-6 * (1 + std::abs(naive.Rate()))) << i;
      }
    }
  }
}

TEST(SampleWindow, CapDropsTheOldestAndKeepsMinMaxRight) {
  SampleWindow window(3);
  const double values[] = {1, 9, 5, 7, 6};
  for (int i = 0; i < 5; ++i) window.Add(i, values[i]);
  EXPECT_EQ(window.count(), 3u);  // 5, 7, 6
  EXPECT_EQ(*window.Min(), 5);
  EXPECT_EQ(*window.Max(), 7);
  EXPECT_EQ(*window.Delta(), 1);
  EXPECT_DOUBLE_EQ(*window.Avg(), 6);
}

TEST(SampleWindow, EqualTimesAndEqualValuesEvictCleanly) {
  SampleWindow window(2);
  window.Add(5, 2);
  window.Add(5, 2);
  window.Add(5, 1);  // drops the first 2 by the cap, not the second
  EXPECT_EQ(*window.Min(), 1);
  EXPECT_EQ(*window.Max(), 2);
  window.EvictThrough(5);
  EXPECT_EQ(window.count(), 0u);
  EXPECT_FALSE(window.Min().has_value());
  EXPECT_FALSE(window.Avg().has_value());
  window.Add(6, 4);
  EXPECT_EQ(*window.Avg(), 4);
}

}  // namespace
}  // namespace doppel::rules::internal
