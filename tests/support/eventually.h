// Polling for a condition in tests that wait on another thread or process: `probe` every
// `poll` until it returns true or `timeout` passes; the last probe decides.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace doppel::testing {

inline bool Eventually(const std::function<bool()>& probe,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30),
                       std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(poll);
  }
  return probe();
}

}  // namespace doppel::testing
