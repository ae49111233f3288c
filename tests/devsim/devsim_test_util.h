// Shared fixtures for the devsim tests: the example twins and a simulated clock start.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/json.h"
#include "devsim/fleet.h"

namespace doppel::devsim::testing {

// 2026-11-25T00:00:00Z: a fixed midnight, so the daily cycles line up the same in every run.
inline TimePoint Midnight() { return TimePoint(std::chrono::seconds(1'795'564'800)); }

inline json::value ReadExampleTwins(const std::string& example) {
  std::ifstream in(std::string(DOPPEL_SOURCE_DIR) + "/examples/" + example + "/twins.json");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ParseJson(text.str());
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : json::value();
}

// The demo fleet: the wind farm and the production line, with `faulty` given a bearing fault.
inline FleetSpec DemoSpec(const std::string& faulty = "") {
  auto spec = FleetSpecFromTwins({ReadExampleTwins("wind-farm"), ReadExampleTwins("production-line")});
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!faulty.empty()) {
    EXPECT_TRUE(MarkBearingFault(*spec, faulty).ok());
  }
  return std::move(spec).value();
}

inline FleetOptions SeededOptions(uint64_t seed) {
  FleetOptions options;
  options.seed = seed;
  return options;
}

}  // namespace doppel::devsim::testing
