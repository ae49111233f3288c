// Durations as KPI definitions and state rules write them: "90s", "10m", "8h", "1h30m".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace doppel::analytics {

// One or more <number><unit> terms, units ms, s, m, h, d (the number may have a fraction:
// "1.5h"); the sum must be positive. InvalidArgument naming `what`: "'maxGap' must be a
// positive duration such as \"30s\", \"10m\" or \"1h\", got \"often\"".
Result<int64_t> ParseDurationText(std::string_view text, std::string_view what);

// The inverse, in the largest whole unit that is exact: "8h", "90s", "250ms"; a remainder
// below a millisecond is written as a fraction of one ("1.5ms").
std::string FormatDurationText(int64_t ns);

}  // namespace doppel::analytics
