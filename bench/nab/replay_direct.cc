#include <chrono>

#include "nab/replay.h"

namespace doppel::nab {

Replay ReplayDirect(const Corpus& corpus, const analytics::DetectorSpec& spec) {
  Replay replay;
  std::size_t readings = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const Series& series : corpus.files) {
    auto detector = analytics::MakeDetector(spec);
    std::vector<double>& out = replay.scores.emplace_back();
    out.reserve(series.values.size());
    for (std::size_t i = 0; i < series.values.size(); ++i) {
      const double value = series.values[i];
      out.push_back(detector->Update(series.times_ns[i], std::span<const double>(&value, 1)).score);
    }
    readings += series.values.size();
  }
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - started).count();
  replay.ns_per_reading = readings > 0 ? ns / static_cast<double>(readings) : 0;
  return replay;
}

}  // namespace doppel::nab
