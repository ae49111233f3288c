// The building blocks of the simulated signals: seeded random numbers, mean-reverting noise,
// first-order lags and the turbine power curve. Pure functions of their inputs and the seed, so
// a fleet replays exactly for a given seed.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>

#include "base/clock.h"

namespace doppel::devsim {

// Random numbers for one simulated unit. Each unit owns its own generator, seeded from the fleet
// seed and the unit's id (UnitSeed), so adding or reordering units does not change the others.
// The distributions are libstdc++'s: the same seed gives the same stream on the same toolchain.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  double Normal(double mean, double stddev) {
    return std::normal_distribution<double>(mean, stddev)(engine_);
  }
  double Uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }
  // True with probability p.
  bool Chance(double p) { return Uniform() < p; }
  // A uniformly chosen index in [0, n).
  std::size_t Index(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(engine_);
  }

 private:
  std::mt19937_64 engine_;
};

// Mixes the fleet seed with a unit id (FNV-1a, then a splitmix64 finaliser).
uint64_t UnitSeed(uint64_t fleet_seed, std::string_view id);

// An Ornstein-Uhlenbeck process: noise that wanders around 0 with standard deviation `stddev`
// and forgets its past with time constant `tau_s`. Stepped with the exact discretisation, so the
// statistics do not depend on the step size (1 s live ticks or 60 s backfill steps alike).
class OuProcess {
 public:
  OuProcess(double tau_s, double stddev) : tau_s_(tau_s), stddev_(stddev) {}

  double Step(double dt_s, Rng& rng) {
    const double a = std::exp(-dt_s / tau_s_);
    value_ = value_ * a + stddev_ * std::sqrt(1.0 - a * a) * rng.Normal(0.0, 1.0);
    return value_;
  }
  double value() const { return value_; }

 private:
  double tau_s_;
  double stddev_;
  double value_ = 0.0;
};

// One step of a first-order lag: `value` moves toward `target` with time constant `tau_s`
// (exactly, for any dt). Thermal masses (bearing, oil, winding, nacelle air) follow this.
inline double Relax(double value, double target, double tau_s, double dt_s) {
  return target + (value - target) * std::exp(-dt_s / tau_s);
}

// The power curve of scripts/demo-history.py: nothing below cut-in or above cut-out, a cubic
// rise from cut-in to rated wind, flat at rated power up to cut-out.
struct PowerCurve {
  double cut_in_ms = 3.0;
  double rated_wind_ms = 12.0;
  double cut_out_ms = 25.0;
  double rated_power_kw = 3600.0;

  double PowerKw(double wind_ms) const {
    if (wind_ms < cut_in_ms || wind_ms > cut_out_ms) return 0.0;
    if (wind_ms >= rated_wind_ms) return rated_power_kw;
    const double x = (wind_ms - cut_in_ms) / (rated_wind_ms - cut_in_ms);
    return rated_power_kw * x * x * x;
  }
};

// Fraction of the UTC day at `t`, in [0, 1): drives the daily wind and temperature cycles.
double DayFraction(TimePoint t);

}  // namespace doppel::devsim
