#include "devsim/signals.h"

#include <chrono>

namespace doppel::devsim {

uint64_t UnitSeed(uint64_t fleet_seed, std::string_view id) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  uint64_t z = h ^ (fleet_seed + 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double DayFraction(TimePoint t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  constexpr int64_t kDayMs = 86'400'000;
  const int64_t in_day = ((ms % kDayMs) + kDayMs) % kDayMs;
  return static_cast<double>(in_day) / kDayMs;
}

}  // namespace doppel::devsim
