// Remaining useful life (docs/analytics-rul.md): a model trained from run-to-failure histories
// (one per unit: a sequence of cycles, each a vector of signal values, the last cycle the
// failure) that predicts, from a unit's cycles so far, how many cycles it has left — with an
// uncertainty interval and a health index in [0, 1] (1 = as new, 0 = at failure).
//
//   RulSpec spec = ...;                                   // signals, cap, regime settings
//   auto model = RulModel::Train(spec, histories, progress);
//   RulTracker tracker(model);                            // one per live unit
//   tracker.Add(cycle_values);                            // each new cycle
//   RulEstimate e = tracker.Estimate();
//
// Cycles are whatever the caller says they are: C-MAPSS flight cycles (one per timestamp) or
// fixed time buckets of a live asset (the service averages readings per bucket). Units with
// several operating regimes (operational settings that move the sensors) are handled by
// normalising each signal per regime, found by clustering the settings at training time.
//
// Thread-safety: a trained RulModel is immutable and may be shared; a RulTracker has one owner.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics {

struct RulSpec {
  // Sensor signals used as features, in the column order of a cycle's values.
  std::vector<std::string> signals = {};
  // Operational settings (the regime), also columns of a cycle after the signals; may be empty.
  std::vector<std::string> settings = {};
  // Training target: piecewise-linear RUL capped at this many cycles.
  double cap = 125;
  // Share of training units held out for the reported validation error (by unit, not by row).
  double validation_share = 0.2;
  uint64_t seed = 1;
};

// Parses {"signals": [...], "settings": [...], "cap": 125, "validationShare": 0.2, "seed": 1}:
// InvalidArgument naming the field ("'cap' must be in [1, 100000]").
Result<RulSpec> ParseRulSpec(const json::value& body);
json::object RulSpecToJson(const RulSpec& spec);

// One unit's history: cycles in order, each with signals.size() + settings.size() values.
struct UnitHistory {
  std::string unit;
  std::vector<std::vector<double>> cycles;
};

struct RulEstimate {
  double rul = 0;            // cycles left (point estimate)
  double low = 0, high = 0;  // the ~90 % interval
  double health = 1;         // [0, 1]
  uint64_t cycles = 0;       // cycles seen
};

struct TrainProgress {
  double fraction = 0;  // [0, 1]
  std::string stage;    // "features", "fitting", "validating", ...
};
struct TrainReport {
  double validation_rmse = 0;  // on held-out units, every cycle's prediction vs the capped truth
  // Held-out units cut at random points (10 per unit), the last cycle only, vs the capped truth.
  double validation_last_rmse = 0;
  std::size_t units = 0, cycles = 0;
  std::size_t regimes = 1;  // operating regimes found in the settings
  double seconds = 0;
};

class RulModel {
 public:
  // Trains from run-to-failure units (rul_training.h says how). `progress` (optional) is called
  // from the training threads, one call at a time, with a fraction that never decreases;
  // returning false cancels (the result is then Unavailable "training cancelled").
  // InvalidArgument for too few units (< 3) or cycles of the wrong width.
  static Result<std::shared_ptr<const RulModel>> Train(
      const RulSpec& spec, const std::vector<UnitHistory>& units,
      const std::function<bool(const TrainProgress&)>& progress = {});
  // Persistence of a trained model (JSON, self-describing, versioned).
  static Result<std::shared_ptr<const RulModel>> Load(const json::value& saved);
  virtual ~RulModel() = default;
  virtual json::object Save() const = 0;
  virtual const RulSpec& spec() const = 0;
  virtual const TrainReport& report() const = 0;
  // The estimate after the given cycles of one unit (all of them, oldest first).
  virtual RulEstimate Predict(const std::vector<std::vector<double>>& cycles) const = 0;
  // How many of the latest cycles a prediction depends on (besides their count): Predict(all)
  // equals PredictRecent(the last lookback() of all, all.size()), which is what RulTracker keeps.
  virtual std::size_t lookback() const = 0;
  virtual RulEstimate PredictRecent(std::span<const std::vector<double>> recent,
                                    uint64_t cycles) const = 0;
};

// Incremental prediction for one live unit: keeps only the state the model needs.
class RulTracker {
 public:
  explicit RulTracker(std::shared_ptr<const RulModel> model);
  void Add(std::vector<double> cycle);  // width checked by the caller (the model's spec)
  RulEstimate Estimate() const;
  uint64_t cycles() const;
  json::object Save() const;
  Status Restore(const json::object& state);

 private:
  std::shared_ptr<const RulModel> model_;
  std::vector<std::vector<double>> recent_;  // bounded by the model's look-back
  uint64_t cycles_ = 0;
};

}  // namespace doppel::analytics
