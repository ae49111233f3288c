#include "analytics/rul/rul_training.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <thread>

#include "analytics/rul/gbt_rul_model.h"

namespace doppel::analytics {
namespace {

using rul::Forest;
using rul::RegimeNormalizer;
using rul::RulInterval;

// Every cycle of every unit as a feature row, its capped target and where it came from.
struct Dataset {
  std::size_t cols = 0;
  std::vector<float> x, y;
  std::vector<std::size_t> unit_of_row, cycle_of_row;
  std::vector<std::size_t> unit_length;
};

Status CheckUnits(const RulSpec& spec, const std::vector<UnitHistory>& units) {
  if (spec.signals.empty()) return Status::InvalidArgument("a RUL model needs at least one signal");
  if (units.size() < 3) {
    return Status::InvalidArgument(
        fmt::format("training needs at least 3 run-to-failure units, got {}", units.size()));
  }
  std::size_t width = spec.signals.size() + spec.settings.size();
  for (const auto& u : units) {
    if (u.cycles.empty())
      return Status::InvalidArgument(fmt::format("unit '{}' has no cycles", u.unit));
    for (const auto& c : u.cycles) {
      if (c.size() != width) {
        return Status::InvalidArgument(
            fmt::format("unit '{}': a cycle has {} values, expected {}", u.unit, c.size(), width));
      }
    }
  }
  return Status::Ok();
}

RegimeNormalizer FitRegimes(const RulSpec& spec, const std::vector<UnitHistory>& units) {
  std::vector<std::vector<double>> all;
  for (const auto& u : units) all.insert(all.end(), u.cycles.begin(), u.cycles.end());
  return RegimeNormalizer::Fit(all, spec.signals.size(), spec.settings.size(), spec.seed);
}

Dataset BuildDataset(const RulSpec& spec, const std::vector<UnitHistory>& units,
                     const RegimeNormalizer& regimes, const rul::FeatureOptions& features) {
  Dataset d;
  std::size_t signals = spec.signals.size(), lookback = features.lookback();
  d.cols = features.count(signals);
  std::size_t rows = 0;
  for (const auto& u : units) rows += u.cycles.size();
  d.x.resize(rows * d.cols);
  std::size_t row = 0;
  for (std::size_t ui = 0; ui < units.size(); ++ui) {
    const auto& cycles = units[ui].cycles;
    std::vector<double> z(cycles.size() * signals);
    for (std::size_t t = 0; t < cycles.size(); ++t)
      regimes.Normalize(cycles[t], z.data() + t * signals);
    d.unit_length.push_back(cycles.size());
    for (std::size_t t = 0; t < cycles.size(); ++t, ++row) {
      std::size_t n = std::min(t + 1, lookback);
      rul::ComputeFeatures(features, z.data() + (t + 1 - n) * signals, n, signals, t + 1,
                           d.x.data() + row * d.cols);
      d.y.push_back(
          static_cast<float>(std::min(spec.cap, static_cast<double>(cycles.size() - 1 - t))));
      d.unit_of_row.push_back(ui);
      d.cycle_of_row.push_back(t);
    }
  }
  return d;
}

std::vector<std::size_t> AssignFolds(std::size_t units, std::size_t folds, uint64_t seed) {
  std::vector<std::size_t> order(units);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::size_t> fold(units);
  for (std::size_t i = 0; i < units; ++i) fold[order[i]] = i % folds;
  return fold;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  auto lo = static_cast<std::size_t>(pos);
  std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// Residuals against the true (uncapped) RUL: the interval says where failure really lies,
// so a healthy unit predicted at the cap gets the long upper tail it deserves.
RulInterval FitInterval(const Dataset& d, const std::vector<double>& oof,
                        const RulTrainingOptions& options) {
  RulInterval interval;
  std::size_t bins = std::max<std::size_t>(1, options.interval_bins);
  for (std::size_t b = 1; b < bins; ++b)
    interval.upper_edges.push_back(Quantile(oof, static_cast<double>(b) / bins));
  std::vector<std::vector<double>> residuals(bins);
  for (std::size_t r = 0; r < oof.size(); ++r) {
    double truth = static_cast<double>(d.unit_length[d.unit_of_row[r]] - 1 - d.cycle_of_row[r]);
    std::size_t b = 0;
    while (b + 1 < bins && oof[r] >= interval.upper_edges[b]) ++b;
    residuals[b].push_back(truth - oof[r]);
  }
  double tail = (1 - options.interval_coverage) / 2;
  for (const auto& res : residuals) {
    interval.low.push_back(Quantile(res, tail));
    interval.high.push_back(Quantile(res, 1 - tail));
  }
  return interval;
}

// Each held-out unit cut at random cycles, scored on its last cycle against the capped truth —
// the situation of a live unit, which is seen part-way through its life.
double LastCycleRmse(const Dataset& d, const std::vector<double>& oof, const RulSpec& spec,
                     int cuts) {
  std::vector<std::size_t> first_row(d.unit_length.size() + 1, 0);
  for (std::size_t u = 0; u < d.unit_length.size(); ++u)
    first_row[u + 1] = first_row[u] + d.unit_length[u];
  std::mt19937_64 rng(spec.seed + 1);
  double sse = 0;
  std::size_t n = 0;
  for (std::size_t u = 0; u < d.unit_length.size(); ++u) {
    std::uniform_int_distribution<std::size_t> cut(first_row[u], first_row[u + 1] - 1);
    for (int c = 0; c < cuts; ++c, ++n) {
      std::size_t r = cut(rng);
      sse += (oof[r] - d.y[r]) * (oof[r] - d.y[r]);
    }
  }
  return n == 0 ? 0 : std::sqrt(sse / static_cast<double>(n));
}

// Progress from the fold workers, one callback at a time; a false answer cancels them all.
class Progress {
 public:
  explicit Progress(const std::function<bool(const TrainProgress&)>& callback)
      : callback_(callback) {}
  bool Report(double fraction, const std::string& stage) {
    std::lock_guard lock(mu_);
    if (cancelled_) return false;
    // Workers finish rounds in any order: never report going backwards.
    last_ = std::max(last_, std::clamp(fraction, 0.0, 1.0));
    cancelled_ = callback_ && !callback_(TrainProgress{.fraction = last_, .stage = stage});
    return !cancelled_;
  }

 private:
  const std::function<bool(const TrainProgress&)>& callback_;
  std::mutex mu_;
  double last_ = 0;         // guarded by mu_
  bool cancelled_ = false;  // guarded by mu_
};

Result<Forest> FitFold(const RulSpec& spec, const Dataset& d,
                       const std::vector<std::size_t>& fold_of_unit, std::size_t fold,
                       const RulTrainingOptions& options,
                       const std::function<bool(int)>& on_round) {
  std::vector<float> x, y;
  for (std::size_t r = 0; r < d.y.size(); ++r) {
    if (fold_of_unit[d.unit_of_row[r]] == fold) continue;
    x.insert(x.end(), d.x.begin() + r * d.cols, d.x.begin() + (r + 1) * d.cols);
    y.push_back(d.y[r]);
  }
  rul::BoostingOptions boosting = options.boosting;
  boosting.seed = spec.seed + fold;
  // Parallel across folds instead: XGBoost's OpenMP threads spin badly on a busy machine.
  boosting.threads = 1;
  return rul::FitBoostedTrees(x, y.size(), d.cols, y, boosting, on_round);
}

// One model per fold, `options.boosting.threads` folds at a time.
Result<std::vector<Forest>> FitFolds(const RulSpec& spec, const Dataset& d,
                                     const std::vector<std::size_t>& fold_of_unit,
                                     std::size_t folds, const RulTrainingOptions& options,
                                     Progress& report) {
  std::vector<std::optional<Result<Forest>>> fitted(folds);
  std::atomic<std::size_t> next{0};
  std::atomic<long> rounds_done{0};
  double rounds_total = static_cast<double>(folds) * std::max(1, options.boosting.rounds);
  auto work = [&] {
    for (std::size_t f = next++; f < folds; f = next++) {
      auto on_round = [&](int done) {
        long total = ++rounds_done;
        return done % 20 != 0 ||
               report.Report(0.05 + 0.9 * static_cast<double>(total) / rounds_total,
                             fmt::format("fitting {} models", folds));
      };
      fitted[f] = FitFold(spec, d, fold_of_unit, f, options, on_round);
      if (!fitted[f]->ok()) next = folds;  // stop the other workers' next folds
    }
  };
  std::size_t workers = std::clamp<std::size_t>(options.boosting.threads, 1, folds);
  std::vector<std::thread> threads;
  for (std::size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  for (auto& f : fitted) {
    if (f.has_value() && !f->ok()) return f->status();
  }
  std::vector<Forest> forests;
  for (auto& f : fitted) {
    if (!f.has_value()) return Status::Unavailable("training cancelled");
    forests.push_back(std::move(f->value()));
  }
  return forests;
}

}  // namespace

Result<std::shared_ptr<const RulModel>> TrainRulModel(
    const RulSpec& spec, const std::vector<UnitHistory>& units, const RulTrainingOptions& options,
    const std::function<bool(const TrainProgress&)>& progress, OutOfFold* out_of_fold) {
  auto start = std::chrono::steady_clock::now();
  DOPPEL_RETURN_IF_ERROR(CheckUnits(spec, units));
  Progress report(progress);
  if (!report.Report(0, "features")) return Status::Unavailable("training cancelled");
  RegimeNormalizer regimes = FitRegimes(spec, units);
  Dataset d = BuildDataset(spec, units, regimes, options.features);

  auto share = std::clamp(spec.validation_share, 0.05, 0.5);
  std::size_t folds = std::clamp<std::size_t>(static_cast<std::size_t>(std::lround(1 / share)), 2,
                                              std::min(options.max_folds, units.size()));
  std::vector<std::size_t> fold_of_unit = AssignFolds(units.size(), folds, spec.seed);
  DOPPEL_ASSIGN_OR_RETURN(std::vector<Forest> forests,
                          FitFolds(spec, d, fold_of_unit, folds, options, report));
  std::vector<double> oof(d.y.size(), 0);
  for (std::size_t r = 0; r < d.y.size(); ++r) {
    oof[r] = std::clamp(forests[fold_of_unit[d.unit_of_row[r]]].Predict(&d.x[r * d.cols]), 0.0,
                        spec.cap);
  }
  if (!report.Report(0.95, "validating")) return Status::Unavailable("training cancelled");

  TrainReport train_report;
  double sse = 0;
  for (std::size_t r = 0; r < oof.size(); ++r) sse += (oof[r] - d.y[r]) * (oof[r] - d.y[r]);
  train_report.validation_rmse = std::sqrt(sse / static_cast<double>(oof.size()));
  train_report.validation_last_rmse = LastCycleRmse(d, oof, spec, options.cuts_per_unit);
  train_report.units = units.size();
  train_report.cycles = oof.size();
  train_report.regimes = regimes.regimes();
  RulInterval interval = FitInterval(d, oof, options);
  if (out_of_fold != nullptr) {
    out_of_fold->predictions.assign(units.size(), {});
    for (std::size_t r = 0; r < oof.size(); ++r)
      out_of_fold->predictions[d.unit_of_row[r]].push_back(oof[r]);
  }
  train_report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.Report(1, "trained");
  return std::shared_ptr<const RulModel>(
      std::make_shared<rul::GbtRulModel>(spec, options.features, std::move(regimes),
                                         std::move(forests), std::move(interval), train_report));
}

}  // namespace doppel::analytics
