// Operating regimes for RUL (docs/analytics-rul.md): units that run at several operating
// conditions (altitude, Mach, throttle: C-MAPSS FD002/FD004, or a real fleet's duty points) move
// every sensor with the condition, which hides the slow drift of wear. RegimeNormalizer finds the
// conditions by clustering the operational settings (k-means, k chosen as the smallest that
// explains the settings' spread and that one more cluster would not improve much) and turns each
// signal into a z-score against the statistics of its own regime, so wear is measured the same
// way whatever the condition of a cycle.
//
//   auto norm = RegimeNormalizer::Fit(settings_rows, signal_rows, signals, settings, seed);
//   norm.Normalize(cycle, out);   // cycle = signals then settings, as in RulSpec
//
// Thread-safety: immutable after Fit/Load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics::rul {

class RegimeNormalizer {
 public:
  // Most regimes looked for; more conditions than this share clusters (still normalised, less
  // well).
  static constexpr std::size_t kMaxRegimes = 10;
  // k is the smallest whose within-cluster spread is at most this share of the total spread
  // (distinct operating points leave ~0, measurement noise around one point never gets there)
  // and that k + 1 clusters would not shrink below kSplitGain of what it leaves.
  static constexpr double kExplainedSpread = 0.01;
  static constexpr double kSplitGain = 0.2;

  // `cycles`: rows of signal_count + setting_count values (signals first). No settings, or
  // settings that form one cluster, give a single regime (a plain z-score per signal).
  static RegimeNormalizer Fit(std::span<const std::vector<double>> cycles, std::size_t signal_count,
                              std::size_t setting_count, uint64_t seed);
  static Result<RegimeNormalizer> Load(const json::value& saved, std::size_t signal_count,
                                       std::size_t setting_count);
  json::object Save() const;

  std::size_t regimes() const { return centroids_.empty() ? 1 : centroids_.size(); }
  // The regime of a cycle: the nearest centroid in scaled settings space.
  std::size_t Assign(std::span<const double> cycle) const;
  // Writes signal_count z-scores of `cycle` against its regime's statistics.
  void Normalize(std::span<const double> cycle, double* out) const;

 private:
  std::size_t signal_count_ = 0, setting_count_ = 0;
  std::vector<double> setting_scale_;           // per setting: 1 / overall std (0 for a constant)
  std::vector<std::vector<double>> centroids_;  // scaled settings; empty = one regime
  std::vector<std::vector<double>> mean_, inv_std_;  // [regime][signal]
};

}  // namespace doppel::analytics::rul
