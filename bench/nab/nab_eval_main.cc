// nab_eval: Doppel's anomaly detection on the Numenta Anomaly Benchmark (`make bench-nab`,
// docs/analytics-anomaly.md).
//
//   nab_eval --nab-dir ../shared/data/nab [--direct] [--spec '{"kind": "ensemble", ...}']
//            [--no-heldout] [--search]
//
// Replays every series of a NAB-format directory as the telemetry of one twin through an
// in-process Doppel (or, with --direct, straight into a Detector), scores the three profiles
// with one global threshold each, and prints as its LAST line one JSON object: standard,
// reward_low_FP_rate, reward_low_FN_rate, files, windows, ns_per_reading, and the held-out
// figures (<profile>_heldout): leave-one-category-out cross-validation over the grid below,
// each fold's configuration and threshold chosen on the other categories. The default
// configuration was tuned on these labels (it is the grid's best on the full set), so the full
// figures flatter it; the held-out ones are the honest estimate.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/file_io.h"
#include "base/json.h"
#include "nab/nab_eval.h"
#include "nab/replay.h"

namespace doppel::nab {
namespace {

// The configuration `make bench-nab` scores: one for every series.
constexpr std::string_view kDefaultSpec = R"({"kind": "ensemble"})";

// The grid the defaults were chosen from (each entry is applied over the configuration scored),
// as {"parameter": [values...]}: every combination is a configuration.
constexpr std::string_view kGrid =
    R"({"window": [1000, 2000, 4000], "calibrationPower": [0.6, 0.75, 1], "calibrationFloor": [2, 3],
        "suppressFraction": [0, 0.1], "calibration": [2000, 4000], "contextBins": [8, 16], "phaseTolerance": [0, 2],
        "familiarWeight": [0.3, 0.5, 1]})";

std::vector<json::object> Grid(const json::object& axes) {
  std::vector<json::object> grid{json::object{}};
  for (const auto& [name, values] : axes) {
    std::vector<json::object> next;
    for (const auto& partial : grid) {
      for (const auto& v : values.as_array()) {
        json::object c = partial;
        c[name] = v;
        next.push_back(std::move(c));
      }
    }
    grid = std::move(next);
  }
  return grid;
}

json::object Merge(json::object base, const json::object& over) {
  for (const auto& [k, v] : over) base[k] = v;
  return base;
}

Result<analytics::DetectorSpec> SpecOf(const json::object& body) {
  json::object with_signal = body;
  with_signal["signals"] = json::array{"value"};
  return analytics::ParseDetectorSpec(with_signal);
}

void PrintResults(std::string_view label, const std::vector<ProfileResult>& results) {
  for (const auto& r : results) {
    std::cout << fmt::format("{:<10} {:<20} score {:7.2f}  raw {:8.3f}  threshold {:.6f}\n", label, r.profile, r.score,
                             r.raw, r.threshold);
  }
}

// Per file, under the first profile at its chosen threshold: what was detected and what it cost.
void PrintOutcomes(const Corpus& corpus, const CorpusScores& scores, const std::vector<ProfileResult>& results) {
  if (results.empty()) return;
  for (std::size_t f = 0; f < corpus.files.size(); ++f) {
    const Series& s = corpus.files[f];
    const FileOutcome o = Outcome(scores[f], s.windows, corpus.profiles[0], results[0].threshold);
    std::string leads;
    for (std::size_t i = 0; i < o.lead.size(); ++i) leads += fmt::format(" {}", o.lead[i]);
    std::cout << fmt::format("  {:<58} windows {}/{} tp {:6.3f} miss {:5.1f} fp {:4} {:7.3f} width {} leads{}\n", s.name,
                             o.detected, s.windows.size(), o.true_positive, o.missed, o.false_positives,
                             o.false_positive, s.windows.empty() ? 0 : s.windows[0].last - s.windows[0].first + 1,
                             leads);
  }
}

int Run(const std::string& dir, bool direct, const std::string& spec_text, const std::string& grid_text, bool heldout,
        bool search, bool diag) {
  auto corpus = LoadCorpus(dir);
  if (!corpus.ok()) {
    std::cerr << "nab_eval: " << corpus.status().ToString() << "\n";
    return 1;
  }
  auto parsed = ParseJson(spec_text.empty() ? kDefaultSpec : spec_text);
  if (!parsed.ok() || !parsed->is_object()) {
    std::cerr << "nab_eval: --spec must be a JSON object\n";
    return 2;
  }
  const json::object base = Merge(ParseJson(kDefaultSpec)->get_object(), parsed->get_object());
  auto spec = SpecOf(base);
  if (!spec.ok()) {
    std::cerr << "nab_eval: " << spec.status().ToString() << "\n";
    return 2;
  }
  std::size_t rows = 0;
  for (const auto& f : corpus->files) rows += f.values.size();
  std::cout << fmt::format("nab_eval: {} files, {} rows, {} windows, detector {}\n", corpus->files.size(), rows,
                           corpus->windows(), ToJson(analytics::DetectorSpecToJson(*spec)));

  Replay replay;
  std::string path = "direct";
  double detector_ns = 0;
  bool paths_agree = true;
  if (direct) {
    replay = ReplayDirect(*corpus, *spec);
  } else {
    auto through = ReplayThroughService(*corpus, base);
    if (!through.ok()) {
      std::cerr << "nab_eval: service path: " << through.status().ToString() << "\n";
      return 1;
    }
    replay = std::move(*through);
    path = "service";
    // The service path must score exactly as the detectors do on their own.
    const Replay alone = ReplayDirect(*corpus, *spec);
    double worst = 0;
    for (std::size_t f = 0; f < alone.scores.size(); ++f) {
      for (std::size_t i = 0; i < alone.scores[f].size(); ++i) {
        worst = std::max(worst, std::fabs(alone.scores[f][i] - replay.scores[f][i]));
      }
    }
    std::cout << fmt::format("service path vs detectors alone: max |score difference| {} ({} ns/reading alone)\n",
                             worst, std::round(alone.ns_per_reading));
    detector_ns = alone.ns_per_reading;
    paths_agree = worst == 0;
  }
  const auto results = ScoreCorpus(*corpus, replay.scores);
  PrintResults(path, results);
  if (diag) PrintOutcomes(*corpus, replay.scores, results);
  if (const char* dump = std::getenv("NAB_DUMP")) {  // one score per line per file, for analysis
    for (std::size_t f = 0; f < corpus->files.size(); ++f) {
      std::string text;
      for (double v : replay.scores[f]) text += fmt::format("{}\n", v);
      auto name = corpus->files[f].name;
      std::replace(name.begin(), name.end(), '/', '_');
      if (!WriteFileAtomically(fmt::format("{}/{}", dump, name), text).ok()) return 1;
    }
  }

  json::object figures;
  for (const auto& r : results) figures[r.profile] = std::round(r.score * 100) / 100;
  figures["files"] = corpus->files.size();
  figures["windows"] = corpus->windows();
  figures["ns_per_reading"] = std::round(replay.ns_per_reading * 10) / 10;
  figures["path"] = path;
  if (path == "service") {
    figures["detector_ns_per_reading"] = std::round(detector_ns * 10) / 10;
    figures["paths_agree"] = paths_agree;
  }

  if (heldout || search) {
    auto axes = ParseJson(grid_text.empty() ? kGrid : grid_text);
    if (!axes.ok() || !axes->is_object() ||
        std::any_of(axes->get_object().begin(), axes->get_object().end(),
                    [](const auto& kv) { return !kv.value().is_array() || kv.value().get_array().empty(); })) {
      std::cerr << "nab_eval: --grid must be a JSON object of non-empty arrays\n";
      return 2;
    }
    const auto grid = Grid(axes->get_object());
    std::vector<analytics::DetectorSpec> specs;
    for (const auto& g : grid) {
      auto s = SpecOf(Merge(base, g));
      if (!s.ok()) {
        std::cerr << "nab_eval: grid: " << s.status().ToString() << "\n";
        return 2;
      }
      specs.push_back(std::move(*s));
    }
    std::vector<std::vector<ProfileResult>> per_config;
    const HeldOut held = CrossValidate(
        *corpus, specs.size(), [&](std::size_t k) { return ReplayDirect(*corpus, specs[k]).scores; }, &per_config);
    if (search) {
      for (std::size_t k = 0; k < grid.size(); ++k) {
        std::cout << fmt::format("grid {:3} {:7.2f} {:7.2f} {:7.2f}  {}\n", k, per_config[k][0].score,
                                 per_config[k][1].score, per_config[k][2].score, ToJson(grid[k]));
      }
    }
    PrintResults("held-out", held.results);
    for (std::size_t p = 0; p < held.results.size(); ++p) {
      std::string folds;
      for (std::size_t f = 0; f < held.categories.size(); ++f) {
        folds += fmt::format(" {}→{} ({:.2f})", held.categories[f], held.chosen[p][f], held.fold_raw[p][f]);
      }
      std::cout << fmt::format("held-out {} configurations chosen per fold (held-out raw):{}\n", held.results[p].profile, folds);
      figures[held.results[p].profile + "_heldout"] = std::round(held.results[p].score * 100) / 100;
    }
    figures["heldout_grid_size"] = grid.size();
  }
  std::cout << ToJson(figures) << std::endl;
  return 0;
}

}  // namespace
}  // namespace doppel::nab

int main(int argc, char** argv) {
  CLI::App app{"Doppel's anomaly detectors on the Numenta Anomaly Benchmark"};
  const char* env_dir = std::getenv("NAB_DIR");
  std::string dir = env_dir != nullptr ? env_dir : "../shared/data/nab";
  bool direct = false, no_heldout = false, search = false, diag = false;
  std::string spec, grid;
  app.add_option("--nab-dir", dir, "a directory in NAB format (data/, labels/, config/)");
  app.add_flag("--direct", direct, "feed a Detector per series directly instead of through an in-process Doppel");
  app.add_option("--spec", spec, "detector parameters (JSON object) over the default configuration");
  app.add_option("--grid", grid, "the cross-validation grid, {\"parameter\": [values...]} (default: the built-in one)");
  app.add_flag("--no-heldout", no_heldout, "skip the cross-validated (held-out) figures");
  app.add_flag("--search", search, "print every grid configuration's full-set scores");
  app.add_flag("--diag", diag, "print each file's detections and false positives (first profile)");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);  // the service logs every anomaly event at info
  return doppel::nab::Run(dir, direct, spec, grid, !no_heldout, search, diag);
}
