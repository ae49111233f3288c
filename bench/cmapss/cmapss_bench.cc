// The C-MAPSS remaining-useful-life evaluation behind `make bench-cmapss` (docs/analytics-rul.md,
// protocol in ../shared/data/README.md "cmapss"). Per subset: train a RUL model on the
// run-to-failure units, predict each test unit's RUL at its last cycle, and score RMSE and the
// PHM08 score against the true RUL (not clipped).
//
//   cmapss_bench --cmapss-dir ../shared/data/cmapss --subsets "FD001 FD003"
//                [--mode api --doppel build/doppel]
//
// --mode api goes through a real Doppel server (api_path.h): DTDL model, one twin per unit, every
// cycle through POST /write, training through /analytics/rul, each test unit's RUL read back from
// GET /digitaltwins/{id}/analytics. --mode direct calls the same model code in-process, and
// takes the tuning flags (--rounds, --depth, --mean-windows, ...) and --validate-only, which
// trains and prints the validation figures without reading the test truth (to choose settings).
// The last line printed is one JSON object: <subset>_rmse, <subset>_score,
// <subset>_interval_coverage (share of test units whose true RUL is inside [low, high]), the
// training report's <subset>_validation_rmse and <subset>_validation_last_rmse, train_seconds
// (the longest subset's) and infer_us_per_reading (the subsets' mean).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "analytics/rul/rul_training.h"
#include "base/json.h"
#include "cmapss/api_path.h"
#include "cmapss/cmapss_data.h"

namespace doppel::bench::cmapss {
namespace {

using analytics::RulModel;
using analytics::RulSpec;
using analytics::RulTrainingOptions;
using analytics::UnitHistory;

struct Options {
  std::string dir = "../shared/data/cmapss";
  std::string subsets = "FD001 FD003";
  std::string mode = "direct";
  std::string doppel = "";
  std::string model_file = DOPPEL_SOURCE_DIR "/bench/cmapss/engine.json";
  bool validate_only = false;
  RulTrainingOptions training = {};
  double cap = 125;
};

std::vector<UnitHistory> Histories(const std::vector<Unit>& units) {
  std::vector<UnitHistory> out;
  for (const auto& u : units)
    out.push_back(UnitHistory{.unit = fmt::format("{}", u.id), .cycles = ModelRows(u)});
  return out;
}

RulSpec Spec(const Options& o) {
  return RulSpec{.signals = SignalNames(),
                 .settings = SettingNames(),
                 .cap = o.cap,
                 .validation_share = 0.2,
                 .seed = 1};
}

// Validation RMSE restricted to cycles within `horizon` of failure (capped truth elsewhere
// dominates the plain figure with easy "healthy" rows).
double NearFailureRmse(const std::vector<Unit>& units, const analytics::OutOfFold& oof,
                       double horizon) {
  std::vector<double> p, t;
  for (std::size_t u = 0; u < units.size(); ++u) {
    std::size_t n = units[u].cycles.size();
    for (std::size_t c = 0; c < n; ++c) {
      double truth = static_cast<double>(n - 1 - c);
      if (truth <= horizon) p.push_back(oof.predictions[u][c]), t.push_back(truth);
    }
  }
  return Rmse(p, t);
}

Result<SubsetResult> RunDirect(const Subset& subset, const Options& o) {
  SubsetResult r{.name = subset.name};
  auto histories = Histories(subset.train);
  analytics::OutOfFold oof;
  auto start = std::chrono::steady_clock::now();
  DOPPEL_ASSIGN_OR_RETURN(auto model,
                          analytics::TrainRulModel(Spec(o), histories, o.training, {}, &oof));
  r.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& rep = model->report();
  r.validation_rmse = rep.validation_rmse;
  r.validation_last_rmse = rep.validation_last_rmse;
  fmt::print(
      "{}: trained on {} units / {} cycles ({} regime(s)) in {:.1f} s; validation RMSE {:.2f} "
      "(every cycle, capped), "
      "{:.2f} (random cut, last cycle), {:.2f} (cycles with RUL <= {})\n",
      subset.name, rep.units, rep.cycles, rep.regimes, r.train_seconds, rep.validation_rmse,
      rep.validation_last_rmse, NearFailureRmse(subset.train, oof, o.cap), o.cap);
  if (o.validate_only) return r;
  std::vector<analytics::RulEstimate> estimates;
  for (const auto& u : subset.test) estimates.push_back(model->Predict(ModelRows(u)));
  ScoreEstimates(estimates, subset, r);
  DOPPEL_ASSIGN_OR_RETURN(r.infer_us, InferenceMicrosPerReading(*model, subset.test));
  return r;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"C-MAPSS remaining-useful-life evaluation"};
  auto& b = o.training.boosting;
  app.add_option("--cmapss-dir", o.dir, "directory with train_/test_/RUL_<subset>.txt");
  app.add_option("--subsets", o.subsets, "space-separated subsets");
  app.add_option("--mode", o.mode, "direct | api")->check(CLI::IsMember({"direct", "api"}));
  app.add_option("--doppel", o.doppel, "the doppel binary (api mode)");
  app.add_option("--model", o.model_file, "the engine's DTDL model (api mode)");
  app.add_flag("--validate-only", o.validate_only, "train and print validation figures only");
  app.add_option("--rounds", b.rounds);
  app.add_option("--depth", b.max_depth);
  app.add_option("--eta", b.eta);
  app.add_option("--subsample", b.subsample);
  app.add_option("--colsample", b.colsample);
  app.add_option("--min-child-weight", b.min_child_weight);
  app.add_option("--max-bin", b.max_bin);
  app.add_option("--threads", b.threads);
  app.add_option("--mean-windows", o.training.features.mean_windows)->delimiter(',');
  app.add_option("--slope-windows", o.training.features.slope_windows)->delimiter(',');
  app.add_option("--ewma", o.training.features.ewma_alphas)->delimiter(',');
  app.add_option("--cap", o.cap);
  CLI11_PARSE(app, argc, argv);

  json::object last;
  double train_seconds = 0, infer_us = 0;
  std::stringstream names(o.subsets);
  int subsets = 0;
  for (std::string name; names >> name; ++subsets) {
    auto subset = LoadSubset(o.dir, name);
    if (!subset.ok()) {
      fmt::print(stderr, "{}\n", subset.status().message());
      return 1;
    }
    auto r = o.mode == "api" ? RunThroughApi(*subset, o.doppel, o.model_file, Spec(o))
                             : RunDirect(*subset, o);
    if (!r.ok()) {
      fmt::print(stderr, "{}: {}\n", name, r.status().message());
      return 1;
    }
    if (!o.validate_only) {
      fmt::print(
          "{}: {} test units, RMSE {:.2f}, PHM08 score {:.1f}, true RUL inside the interval for "
          "{:.0f} %, training {:.1f} s, inference {:.1f} µs/reading\n",
          name, subset->test.size(), r->rmse, r->score, 100 * r->coverage, r->train_seconds,
          r->infer_us);
      last[fmt::format("{}_rmse", name)] = std::round(r->rmse * 100) / 100;
      last[fmt::format("{}_score", name)] = std::round(r->score * 10) / 10;
      last[fmt::format("{}_interval_coverage", name)] = std::round(r->coverage * 100) / 100;
    }
    last[fmt::format("{}_validation_rmse", name)] = std::round(r->validation_rmse * 100) / 100;
    last[fmt::format("{}_validation_last_rmse", name)] =
        std::round(r->validation_last_rmse * 100) / 100;
    train_seconds = std::max(train_seconds, r->train_seconds);
    infer_us += r->infer_us;
  }
  last["train_seconds"] = std::round(train_seconds * 10) / 10;
  last["infer_us_per_reading"] = std::round(infer_us / std::max(subsets, 1) * 100) / 100;
  fmt::print("{}\n", ToJson(last));
  return 0;
}

}  // namespace
}  // namespace doppel::bench::cmapss

int main(int argc, char** argv) { return doppel::bench::cmapss::Main(argc, argv); }
