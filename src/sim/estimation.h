// State and parameter estimation over any Simulation: an Unscented Kalman Filter.
//
// Why a UKF and not an EKF with numerical Jacobians: both need about the same number of model
// steps per prediction (an EKF's finite-difference Jacobian costs n+1 steps, a UKF 2n+1), but
// the UKF needs no perturbation size to tune per variable (a finite-difference step that suits
// a temperature ruins a friction coefficient of 1e-4), captures the second-order effect of the
// nonlinearity on the mean, and treats the model as a black box that only needs Set/Step/Get —
// which is all an FMU offers.
//
// The estimated vector x is a selection of the model's kState variables (corrected each step)
// and kParameter variables (augmented state: a parameter follows a random walk whose rate is
// its process noise, so a slowly drifting parameter — a wearing bearing, a fouling heat
// exchanger — is tracked rather than averaged). The measurement is a selection of outputs or
// states with independent Gaussian noise. "Derived" variables (any variable: an unmeasured
// output such as cumulative damage, a hidden state) are carried through the sigma points and
// conditioned on the measurements, which gives virtual sensors with an uncertainty.
//
//   UnscentedKalmanFilter::Create(model, {.estimated = {{.name = "heatTransfer",
//                                                         .initial_stddev = 5,
//                                                         .process_stddev = 0.01}},
//                                          .measured = {{.name = "surfaceTemperature",
//                                                        .noise_stddev = 0.2}}});
//   filter->Predict(5.0);                       // steps the model and the sigma points 5 s
//   filter->Update(values, /*present_mask=*/1); // corrects with the measurements present
//   filter->estimate(0);                        // {value, stddev}
//
// The filter borrows the model (which must outlive it) and steps it: the model always holds
// the current estimate (it is sigma point 0), so reading, cloning or forking the model gives the
// estimated asset. Inputs and non-estimated parameters are read from the model at each Predict,
// so the caller sets inputs on the model, not on the filter. Sigma points 1..2n run on a pool of
// 2n scratch clones created once and re-synchronised with Set before each step — no Clone() per
// step. Predict and Update do not allocate once the filter is built (Eigen buffers are sized at
// Create). Not thread-safe: one owner, like the Simulation it drives.
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/simulation.h"

namespace doppel::sim {

namespace internal {
struct UkfLayout;  // variable indices, bounds and weights; fixed after Create (estimation.cc)
}  // namespace internal

struct EstimatedVariable {
  std::string name;  // a kState or kParameter variable of the model
  // Prior uncertainty of the start value (same unit as the variable). Default 1.
  double initial_stddev = 1.0;
  // Random-walk process noise: the variance grows by process_stddev² per second, so this is
  // the stddev by which the variable may wander in one second (unit/√s). Default 0 (a
  // constant). For a parameter that drifts by D over T seconds, D/√T is a good start; larger
  // tracks faster and noisier. States usually need a small value for model error.
  double process_stddev = 0.0;
  // Start value; default the model's current value.
  std::optional<double> initial_value = {};
};

struct MeasuredVariable {
  std::string name;  // a kOutput or kState variable of the model
  // Measurement noise stddev (same unit). Default 1. Must be > 0.
  double noise_stddev = 1.0;
};

struct EstimationConfig {
  std::vector<EstimatedVariable> estimated = {};
  std::vector<MeasuredVariable> measured = {};  // at most kMaxMeasured
  // Variables estimated with uncertainty from the sigma points: virtual sensors.
  std::vector<std::string> derived = {};
  // Unscented transform spread: sigma points at ±√(n+λ)·σ with λ = α²(n+κ) − n. The defaults
  // (α 1, β 2, κ 0) put them at ±√n σ with non-negative weights — wide enough that an ODE
  // solver's own error does not swamp the differences between points, unlike the α = 1e-3
  // often quoted for analytic models.
  double alpha = 1.0;
  double beta = 2.0;
  double kappa = 0.0;
  // Diagonal jitter, relative to the mean variance, added when a covariance fails Cholesky
  // (default 1e-9); it is raised ×100 twice before the covariance is reset to the prior.
  double relative_jitter = 1e-9;
};

struct Estimate {
  double value = 0.0;
  double stddev = 0.0;
};

class UnscentedKalmanFilter {
 public:
  static constexpr std::size_t kMaxMeasured = 64;  // measurements are selected by a 64-bit mask

  // Validates the configuration against the model (InvalidArgument naming the offending entry:
  // unknown variable, wrong causality, non-positive noise, initial value outside [min, max]),
  // sets the initial values on the model and clones the scratch pool.
  static Result<std::unique_ptr<UnscentedKalmanFilter>> Create(Simulation& model, EstimationConfig config);

  UnscentedKalmanFilter(const UnscentedKalmanFilter&) = delete;
  UnscentedKalmanFilter& operator=(const UnscentedKalmanFilter&) = delete;
  ~UnscentedKalmanFilter();

  // Propagates the estimate dt_s > 0 seconds: steps the model and the sigma points with the
  // model's current inputs and adds the process noise. A model error is returned and leaves
  // the estimate as it was (the scratch pool is rebuilt on the next call). If a sigma point
  // comes back non-finite, the covariance is reset to the prior (logged, counted) and this
  // step cannot be updated (ready_for_update() is false) — never NaNs in the estimate.
  Status Predict(double dt_s);
  // Whether Update may run: a Predict succeeded since the last Update.
  bool ready_for_update() const { return predicted_; }

  // Corrects the estimate with measurements[i] for every bit i set in present_mask (i indexes
  // config().measured; measurements.size() must be measured.size()). Requires a Predict since
  // the last Update (PreconditionFailed otherwise) and finite present values (InvalidArgument;
  // nothing changes). Estimates are clamped to each variable's [min, max] and written to the
  // model.
  Status Update(std::span<const double> measurements, uint64_t present_mask);

  // The prediction of measured variable i made by the last Predict, before any Update: the
  // mean over the sigma points and its stddev including the measurement noise (so a residual
  // beyond ±2 of these is unusual).
  Estimate predicted(std::size_t i) const;
  // The current estimate of estimated variable i.
  Estimate estimate(std::size_t i) const;
  // The current estimate of derived variable i (conditioned on the last Update, if any). Before
  // the first Predict its stddev is NaN (unknown) unless the variable is also estimated.
  Estimate derived(std::size_t i) const;

  const EstimationConfig& config() const { return config_; }
  const Eigen::VectorXd& mean() const { return x_; }
  const Eigen::MatrixXd& covariance() const { return p_; }
  // How many times a covariance could not be repaired and was reset to the prior (logged).
  int covariance_resets() const { return covariance_resets_; }

  // Replaces the estimate (restore from a snapshot). InvalidArgument if sizes differ, values
  // are not finite or the covariance is not symmetric positive semi-definite.
  Status Restore(const Eigen::VectorXd& mean, const Eigen::MatrixXd& covariance);
  // After a gap the model was not stepped through: states go back to their prior uncertainty
  // (their cross-covariances dropped), parameters keep their estimate and grow by their random
  // walk over gap_s. The next Update needs a Predict first.
  void Forget(double gap_s);
  // Writes one draw from N(mean, covariance), clamped, into `sim`'s estimated variables — a
  // Monte-Carlo sample for what-if runs. `sim` must be a model of the same kind.
  Status WriteSample(Simulation& sim, uint64_t seed) const;

 private:
  using Layout = internal::UkfLayout;
  UnscentedKalmanFilter(Simulation& model, EstimationConfig config, std::unique_ptr<Layout> layout);

  Status BuildScratch();
  void ComputeSigmaPoints();
  Status PropagatePoint(std::size_t column, Simulation& sim, double dt_s);
  void ReadPoint(std::size_t column, const Simulation& sim);
  void ComputeMoments(double dt_s);
  Status RecoverFromNonFinite();
  Status WriteEstimate(Simulation& sim, const Eigen::Ref<const Eigen::VectorXd>& x) const;
  void ResetCovariance(const char* reason);
  void Symmetrise(Eigen::MatrixXd& m) const;

  Simulation& model_;
  const EstimationConfig config_;
  const std::unique_ptr<Layout> layout_;
  std::vector<std::unique_ptr<Simulation>> scratch_;  // sigma points 1..2n
  bool scratch_valid_ = false;

  Eigen::VectorXd x_;       // estimate (n)
  Eigen::MatrixXd p_;       // its covariance (n×n)
  Eigen::MatrixXd sigma_;   // sigma points before the step (n × 2n+1)
  Eigen::MatrixXd chi_;     // after the step (n × 2n+1)
  Eigen::MatrixXd ysig_;    // measured variables at the sigma points (m × 2n+1)
  Eigen::MatrixXd dsig_;    // derived variables at the sigma points (k × 2n+1)
  Eigen::VectorXd y_mean_, d_mean_, d_var_;
  Eigen::MatrixXd pyy_, pxy_, pdy_;  // innovation covariance (with R), cross-covariances
  Eigen::MatrixXd gain_t_, dgain_t_;  // Pyy⁻¹·Pyx and Pyy⁻¹·Pyd
  Eigen::VectorXd innovation_, weighted_innovation_, y_std_, dev_, ydev_, ddev_;
  Eigen::LLT<Eigen::MatrixXd> llt_n_, llt_m_;
  std::vector<double> snapshot_;  // the model's inputs, parameters and states before a step
  bool predicted_ = false;
  int covariance_resets_ = 0;
};

}  // namespace doppel::sim
