// Times in the authentication code's error messages. Internal to src/auth.
#pragma once

#include <chrono>
#include <ctime>
#include <string>

#include <fmt/format.h>

#include "base/clock.h"

namespace doppel::auth::internal {

// "2026-01-01T00:00:00Z": whole seconds read better in an error message than the 7 fractional
// digits of FormatRfc3339, and JWT times are whole seconds anyway.
inline std::string FormatUtcSeconds(TimePoint t) {
  using namespace std::chrono;
  std::time_t tt =
      system_clock::to_time_t(time_point_cast<system_clock::duration>(floor<seconds>(t)));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace doppel::auth::internal
