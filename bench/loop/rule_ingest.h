// The rule engine's price on the ingest path (issue #7, bench/RESULTS.md), in process.
//
// One TwinGraph (on a memory journal) of `twins` sensors under `rules` group twins (each group
// "has" twins/rules sensors), a SeriesStore without fsync in a temp directory, and an Ingestor.
// The same `readings` readings (two telemetry signals per sensor, every twin once per data
// minute, batches of `batch` readings) are written through Ingestor::Write twice, in fresh
// stacks: without rules, then with `rules` rules, one per group (scope: the Sensor model under
// that group, so together they cover every twin), each condition reading both signals and a
// window function (`avg(s0, 10m) > 25 or s1 > 40 for 5m`). With rules the clock stops only when
// the engine has evaluated every update (RuleEngine::Flush), so the figure is ingest +
// evaluation, not ingest with a growing queue.
#pragma once

#include <cstddef>
#include <cstdint>

namespace doppel::bench {

struct RuleIngestOptions {
  std::size_t twins = 100'000;
  std::size_t rules = 10'000;
  std::size_t readings = 2'000'000;
  std::size_t batch = 10'000;
};

struct RuleIngestFigures {
  double readings_per_s_without_rules = 0;
  double readings_per_s_with_rules = 0;
  double drop_pct = 0;
  double eval_ns_per_update = 0;  // extra wall time per reading, the rules' price
  uint64_t evaluations = 0;
  uint64_t activations = 0;
  uint64_t updates_dropped = 0;
  double setup_s = 0;  // putting the rules (scope resolution), not in the figures above
};

// Progress on stderr. Exits the process with a message on a setup failure (a benchmark).
RuleIngestFigures RunRuleIngest(const RuleIngestOptions& options);

}  // namespace doppel::bench
