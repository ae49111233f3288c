// Shadow mode for one twin: a simulation run in step with the asset's measured data.
//
// Each Observe() drives the model's inputs with measured values, steps it to the reading's
// time, and compares the model's prediction with what was measured (residual = measured −
// expected, where expected is the prediction made BEFORE the measurement corrected it — the
// honest "what the model thought would happen"). An Unscented Kalman Filter (sim/estimation.h)
// then pulls the model's states and selected parameters towards the asset, and carries
// unmeasured variables ("virtual sensors": bearing damage, a core temperature) with an
// uncertainty.
//
//   ShadowConfig config{.inputs = {"heaterPower", "ambientTemperature"},
//                       .estimation = {.estimated = {{.name = "heatTransfer", .initial_stddev = 5,
//                                                     .process_stddev = 0.01}},
//                                      .measured = {{.name = "surfaceTemperature", .noise_stddev = 0.2}},
//                                      .derived = {"coreTemperature"}}};
//   auto tracker = ShadowTracker::Create(std::move(model), config);
//   ShadowUpdate update = (*tracker)->NewUpdate();        // buffers sized once
//   double inputs[] = {400, 20}, measured[] = {31.2};
//   (*tracker)->Observe(t, inputs, measured, /*present_mask=*/0b1, update);  // no allocation
//   update.residual[0]; update.estimates[0].value; update.virtual_sensors[0].stddev;
//
// Time rules (t is seconds on any fixed epoch, e.g. Unix time):
//   - the first observation only anchors time and sets the inputs: there is no prediction to
//     compare with yet, so its measurements are not used (update.restarted = true);
//   - a reading at or before the last observed time is refused (InvalidArgument) and changes
//     nothing — send the readings of one instant together in one Observe;
//   - inputs observed at t are held over the interval that ends at t (the model is stepped with
//     them), so an output that depends on an input algebraically (power on wind speed) is
//     predicted for the same instant it was measured;
//   - a gap longer than ShadowConfig::max_gap_s is not integrated (the inputs over it are
//     unknown): the tracker restarts at t, with the states' uncertainty back at its prior and
//     the parameters kept (their uncertainty grown by their random walk over the gap).
//
// Not thread-safe: one owner (the twin's shard) calls it. The tracker owns its model.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "sim/estimation.h"
#include "sim/simulation.h"

namespace doppel::sim {

struct ShadowConfig {
  // The model inputs (kInput or kParameter variables) driven by measured data, in the order of
  // Observe's `inputs` span.
  std::vector<std::string> inputs = {};
  // What is estimated (states, parameters), what is measured (with its noise) and which
  // variables are reported as virtual sensors (EstimationConfig::derived).
  EstimationConfig estimation = {};
  // Longest gap between readings that is simulated through (seconds). Default 3600: an hour of
  // held inputs is still a fair guess for a turbine's wind or a pump's flow; a day is not.
  double max_gap_s = 3600.0;
};

// What one reading produced. Vectors are indexed like the configuration's lists.
struct ShadowUpdate {
  double time_s = 0.0;
  bool filtered = false;   // at least one measurement corrected the estimate
  bool restarted = false;  // first observation or a gap > max_gap_s: nothing was predicted
  // Per measured variable: the model's prediction before the update and its stddev (model
  // uncertainty + measurement noise); the measured value and the residual (NaN if absent or
  // restarted).
  std::vector<double> expected = {};
  std::vector<double> expected_stddev = {};
  std::vector<double> measured = {};
  std::vector<double> residual = {};
  std::vector<Estimate> estimates = {};        // per estimated variable, after the update
  std::vector<Estimate> virtual_sensors = {};  // per EstimationConfig::derived, after the update
};

class ShadowTracker {
 public:
  // InvalidArgument for an unknown input or a configuration the filter refuses.
  static Result<std::unique_ptr<ShadowTracker>> Create(std::unique_ptr<Simulation> model, ShadowConfig config);
  ~ShadowTracker();

  // An update with every vector sized for this configuration (allocate once, reuse).
  ShadowUpdate NewUpdate() const;

  // The hot path. inputs[i] is the value of config().inputs[i] (NaN = not measured this time:
  // the previous value is held); measurements[i] is used if bit i of present_mask is set.
  // Errors (InvalidArgument: non-finite time, an out-of-range input, a non-finite present
  // measurement, a time not after the last one; Internal: the model failed) leave the estimate
  // and time unchanged. `out` must come from NewUpdate(); nothing is allocated on success.
  Status Observe(double t_s, std::span<const double> inputs, std::span<const double> measurements,
                 uint64_t present_mask, ShadowUpdate& out);
  // Convenience by name: inputs among config().inputs, measurements among the measured
  // variables (absent ones are simply not in the map; NaN or an unknown name is refused).
  Result<ShadowUpdate> Observe(double t_s, const std::map<std::string, double>& inputs,
                               const std::map<std::string, double>& measurements);

  // A fresh, independent simulation at the current estimate (states and parameters at their
  // mean) for what-if scenarios.
  Result<std::unique_ptr<Simulation>> Fork() const;
  // The same, with the estimated variables drawn from their joint posterior (Monte Carlo).
  Result<std::unique_ptr<Simulation>> ForkSample(uint64_t seed) const;

  // The tracker's state as one JSON object: time, estimate, covariance and every parameter,
  // input and state of the model. Restore accepts what Save wrote for the same model and
  // estimated variables (InvalidArgument otherwise, naming the mismatch; nothing changes).
  // A model's hidden internals that are not variables (a stochastic model's generator) are not
  // saved.
  std::string SaveJson() const;
  Status RestoreJson(std::string_view json);

  bool started() const { return started_; }
  double time_s() const { return time_s_; }
  const ShadowConfig& config() const { return config_; }
  // The model at the current estimate. Its states and estimated parameters are corrected; its
  // outputs are as of the last step (before the correction) — read virtual sensors from the
  // ShadowUpdate, which conditions them on the measurements.
  const Simulation& model() const { return *model_; }
  const UnscentedKalmanFilter& filter() const { return *filter_; }

 private:
  ShadowTracker(std::unique_ptr<Simulation> model, ShadowConfig config, std::vector<std::size_t> inputs);
  Status CheckReading(double t_s, std::span<const double> inputs, std::span<const double> measurements,
                      uint64_t present_mask) const;
  Status ApplyInputs(std::span<const double> inputs);
  void FillEstimates(ShadowUpdate& out) const;

  std::unique_ptr<Simulation> model_;
  const ShadowConfig config_;
  const std::vector<std::size_t> input_index_;
  std::unique_ptr<UnscentedKalmanFilter> filter_;  // borrows *model_
  bool started_ = false;
  double time_s_ = 0.0;
};

}  // namespace doppel::sim
