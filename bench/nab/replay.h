// Replaying a NAB corpus through Doppel's detectors: directly (a Detector per series, for the
// grid search), or as telemetry of one twin per series through an in-process Doppel (the
// Ingestor, the AnalyticsService and its detector for the twins' model), the way a deployment
// scores readings.
#pragma once

#include <string>

#include "analytics/anomaly/detector.h"
#include "base/json.h"
#include "base/status.h"
#include "nab/nab_eval.h"

namespace doppel::nab {

struct Replay {
  CorpusScores scores;
  double ns_per_reading = 0;  // wall time of the replay / readings
};

// A Detector per file, fed every row; the scores as they come out.
Replay ReplayDirect(const Corpus& corpus, const analytics::DetectorSpec& spec);

// One twin per file (model with telemetry "value" and "anomalyScore"), the detector put for the
// model with "output": "anomalyScore", each file's rows written through Ingestor::Write in
// batches with the CSV's timestamps, Flush(), and the "anomalyScore" readings collected from
// the Ingestor's listener. `detector` is the detector body without "model"/"signals"/"output".
Result<Replay> ReplayThroughService(const Corpus& corpus, const json::object& detector);

}  // namespace doppel::nab
