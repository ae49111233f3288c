// The scenario engine shared by RunScenarios and ScenarioRunner: a validated request split into
// independent tasks, one per (scenario, Monte-Carlo sample), that any thread may run in any
// order, each writing only its own result slots; Aggregate() then folds the slots in index
// order, which is what makes results independent of the thread count.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "sim/scenario.h"

namespace doppel::sim::internal {

// Stop conditions checked between steps: either flag set stops the run.
struct StopFlags {
  const std::atomic<bool>* first = nullptr;
  const std::atomic<bool>* second = nullptr;
  bool stopped() const {
    return (first && first->load(std::memory_order_relaxed)) || (second && second->load(std::memory_order_relaxed));
  }
};

class ScenarioPlan {
 public:
  // Validates (as ValidateScenarioRequest) and clones `base` on the calling thread.
  static Result<std::unique_ptr<ScenarioPlan>> Prepare(const Simulation& base, BaseProfiles profiles,
                                                       ScenarioRequest request, const ScenarioLimits& limits);
  ~ScenarioPlan();

  std::size_t tasks() const;
  uint64_t total_steps() const;
  // Runs one (scenario, sample). Thread-safe for distinct tasks. Adds finished steps to
  // *steps_done as it goes. Unavailable "scenario run cancelled" when `stop` fired.
  Status RunTask(std::size_t task, StopFlags stop, std::atomic<uint64_t>* steps_done);
  // Once every task succeeded: the results in request order. Moves the recorded series out
  // (no copy of what may be hundreds of MiB): call it once.
  std::vector<ScenarioResult> Aggregate();

 private:
  struct Scenario;
  ScenarioPlan() = default;

  std::unique_ptr<Simulation> base_;
  std::mutex clone_mu_;  // Clone() of one model from several threads is serialised: an FMU may not allow it
  BaseProfiles profiles_;
  ScenarioRequest request_;
  std::vector<std::unique_ptr<Scenario>> scenarios_;
  std::vector<std::pair<std::size_t, std::size_t>> tasks_;  // (scenario, sample)
};

// Unavailable "scenario run cancelled".
Status CancelledStatus();

}  // namespace doppel::sim::internal
