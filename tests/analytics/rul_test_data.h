// Synthetic run-to-failure fleets for the RUL tests: a few signals that drift exponentially as a
// unit nears failure, buried in noise, optionally at several operating regimes whose offsets
// dwarf the drift (as C-MAPSS FD002/FD004 do), so a model only sees wear if it normalises per
// regime. Deterministic for a given seed.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "analytics/rul/rul_model.h"

namespace doppel::analytics::testing {

inline constexpr int kSyntheticSignals = 4;
// Six operating points (altitude-ish, Mach-ish, throttle), like C-MAPSS FD002/FD004.
inline const double kOperatingPoints[6][3] = {{0, 0, 100},    {10, 0.25, 100}, {20, 0.7, 100},
                                              {25, 0.62, 60}, {35, 0.84, 100}, {42, 0.84, 100}};

struct FleetOptions {
  int units = 30;
  int regimes = 6;  // 1 = one operating condition (settings jitter around one point)
  uint64_t seed = 7;
  int min_life = 150, max_life = 260;
};

// One cycle: kSyntheticSignals signals then 3 settings (the RulSpec column order).
inline std::vector<double> SyntheticCycle(double wear, int regime, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> c;
  for (int j = 0; j < kSyntheticSignals; ++j) {
    double offset = 40.0 * regime + 7.0 * j;  // the regime moves every signal a lot
    double gain = 1 + 0.3 * regime;           // and scales it
    double sign = j % 2 == 0 ? 1 : -1;
    c.push_back(offset + gain * (sign * 3 * wear + 0.3 * noise(rng)));
  }
  for (double s : kOperatingPoints[regime]) c.push_back(s + 0.001 * noise(rng));
  return c;
}

inline std::vector<UnitHistory> SyntheticFleet(const FleetOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int> life(o.min_life, o.max_life), regime(0, o.regimes - 1);
  std::vector<UnitHistory> units;
  for (int u = 0; u < o.units; ++u) {
    UnitHistory h{.unit = "unit" + std::to_string(u), .cycles = {}};
    int n = life(rng);
    for (int t = 0; t < n; ++t)
      h.cycles.push_back(SyntheticCycle(std::exp((t - (n - 1)) / 40.0), regime(rng), rng));
    units.push_back(std::move(h));
  }
  return units;
}

inline RulSpec SyntheticSpec(bool with_settings) {
  RulSpec spec{.signals = {"a", "b", "c", "d"},
               .settings = {},
               .cap = 125,
               .validation_share = 0.2,
               .seed = 1};
  if (with_settings) spec.settings = {"altitude", "mach", "throttle"};
  return spec;
}

// Without settings the model sees only the signals: drop the setting columns.
inline std::vector<UnitHistory> WithoutSettings(std::vector<UnitHistory> units) {
  for (auto& u : units) {
    for (auto& c : u.cycles) c.resize(kSyntheticSignals);
  }
  return units;
}

}  // namespace doppel::analytics::testing
