// The C-MAPSS evaluation through a real Doppel server (bench/cmapss/cmapss_bench.cc --mode api):
// starts `doppel serve` on a free loopback port with a temporary data directory, uploads the
// engine's DTDL model (bench/cmapss/engine.json), ingests every training cycle as line protocol
// (failed=true on each unit's last cycle), trains through /analytics/rul, ingests the test units
// and reads each one's RUL from GET /digitaltwins/{id}/analytics.
#pragma once

#include <string>
#include <vector>

#include "analytics/rul/rul_model.h"
#include "base/status.h"
#include "cmapss/cmapss_data.h"

namespace doppel::bench::cmapss {

struct SubsetResult {
  std::string name;
  double rmse = 0, score = 0, train_seconds = 0, infer_us = 0;
  double validation_rmse = 0, validation_last_rmse = 0;  // the training report's
  double coverage = 0;  // share of test units whose true RUL is inside [low, high]
};

// Test-set RMSE, PHM08 score and interval coverage of one estimate per test unit (file order).
void ScoreEstimates(const std::vector<analytics::RulEstimate>& estimates, const Subset& subset,
                    SubsetResult& r);

// `model_file`: the engine's DTDL interface (bench/cmapss/engine.json).
Result<SubsetResult> RunThroughApi(const Subset& subset, const std::string& doppel_binary,
                                   const std::string& model_file, const analytics::RulSpec& spec);

// Feeds every test cycle to a RulTracker of `model`, one estimate per cycle as a live twin gets;
// µs per reading (per cycle).
Result<double> InferenceMicrosPerReading(const analytics::RulModel& model,
                                         const std::vector<Unit>& units);

}  // namespace doppel::bench::cmapss
