#include "sim/estimation.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>

namespace doppel::sim {

// Everything derived from the configuration and the model's variable table once, so the hot
// path only indexes arrays.
struct internal::UkfLayout {
  std::vector<std::size_t> estimated;  // model indices of x
  std::vector<bool> is_state;
  std::vector<double> lo, hi;          // bounds of x
  std::vector<double> initial_var;     // prior variance of x
  std::vector<double> process_var;     // per-second random-walk variance of x
  std::vector<std::size_t> measured;   // model indices of y
  std::vector<double> noise_var;
  std::vector<std::size_t> derived;    // model indices of the derived variables
  std::vector<std::size_t> synced;     // every parameter, input and state: copied to the scratch pool
  Eigen::VectorXd wm, wc;              // unscented weights for the mean and the covariance
  double spread = 1.0;                 // √(n+λ)
};

namespace {

Status CheckCausality(const Variable& v, Causality a, Causality b, std::string_view role) {
  if (v.causality == a || v.causality == b) return Status::Ok();
  return Status::InvalidArgument(fmt::format("{} variable '{}' must be a {} or {}, not a {}", role, v.name,
                                             CausalityName(a), CausalityName(b), CausalityName(v.causality)));
}

bool Positive(double v) { return std::isfinite(v) && v > 0; }

Status AddEstimated(const ModelInfo& info, const EstimatedVariable& e, Simulation& model,
                    internal::UkfLayout& layout) {
  DOPPEL_ASSIGN_OR_RETURN(std::size_t index, info.Index(e.name));
  const Variable& v = info.variables[index];
  DOPPEL_RETURN_IF_ERROR(CheckCausality(v, Causality::kState, Causality::kParameter, "estimated"));
  if (!Positive(e.initial_stddev)) {
    return Status::InvalidArgument(fmt::format("estimated variable '{}': initial_stddev must be > 0", e.name));
  }
  if (!std::isfinite(e.process_stddev) || e.process_stddev < 0) {
    return Status::InvalidArgument(fmt::format("estimated variable '{}': process_stddev must be >= 0", e.name));
  }
  if (e.initial_value) DOPPEL_RETURN_IF_ERROR(model.Set(index, *e.initial_value));
  layout.estimated.push_back(index);
  layout.is_state.push_back(v.causality == Causality::kState);
  layout.lo.push_back(v.min);
  layout.hi.push_back(v.max);
  layout.initial_var.push_back(e.initial_stddev * e.initial_stddev);
  layout.process_var.push_back(e.process_stddev * e.process_stddev);
  return Status::Ok();
}
}  // namespace

Result<std::unique_ptr<UnscentedKalmanFilter>> UnscentedKalmanFilter::Create(Simulation& model,
                                                                            EstimationConfig config) {
  const ModelInfo& info = model.info();
  auto layout = std::make_unique<Layout>();
  for (const auto& e : config.estimated) DOPPEL_RETURN_IF_ERROR(AddEstimated(info, e, model, *layout));
  if (config.measured.size() > kMaxMeasured) {
    return Status::InvalidArgument(fmt::format("at most {} measured variables", kMaxMeasured));
  }
  for (const auto& m : config.measured) {
    DOPPEL_ASSIGN_OR_RETURN(std::size_t index, info.Index(m.name));
    DOPPEL_RETURN_IF_ERROR(CheckCausality(info.variables[index], Causality::kOutput, Causality::kState, "measured"));
    if (!Positive(m.noise_stddev)) {
      return Status::InvalidArgument(fmt::format("measured variable '{}': noise_stddev must be > 0", m.name));
    }
    layout->measured.push_back(index);
    layout->noise_var.push_back(m.noise_stddev * m.noise_stddev);
  }
  for (const auto& name : config.derived) {
    DOPPEL_ASSIGN_OR_RETURN(std::size_t index, info.Index(name));
    layout->derived.push_back(index);
  }
  for (std::size_t i = 0; i < info.variables.size(); ++i) {
    if (info.variables[i].causality != Causality::kOutput) layout->synced.push_back(i);
  }
  const double n = static_cast<double>(layout->estimated.size());
  const double spread2 = config.alpha * config.alpha * (n + config.kappa);  // n + λ
  if (!(spread2 > 0) && n > 0) return Status::InvalidArgument("alpha²·(n + kappa) must be > 0");
  const std::size_t points = 2 * layout->estimated.size() + 1;
  layout->wm = Eigen::VectorXd::Constant(points, n > 0 ? 0.5 / spread2 : 1.0);
  layout->wc = layout->wm;
  if (n > 0) {
    layout->spread = std::sqrt(spread2);
    layout->wm(0) = (spread2 - n) / spread2;
    layout->wc(0) = layout->wm(0) + 1 - config.alpha * config.alpha + config.beta;
  }
  auto filter = std::unique_ptr<UnscentedKalmanFilter>(
      new UnscentedKalmanFilter(model, std::move(config), std::move(layout)));
  DOPPEL_RETURN_IF_ERROR(filter->BuildScratch());
  return filter;
}

UnscentedKalmanFilter::UnscentedKalmanFilter(Simulation& model, EstimationConfig config,
                                             std::unique_ptr<Layout> layout)
    : model_(model), config_(std::move(config)), layout_(std::move(layout)) {
  const auto n = static_cast<Eigen::Index>(layout_->estimated.size());
  const auto m = static_cast<Eigen::Index>(layout_->measured.size());
  const auto k = static_cast<Eigen::Index>(layout_->derived.size());
  const Eigen::Index points = 2 * n + 1;
  x_.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) x_(i) = model_.Get(layout_->estimated[i]);
  p_.resize(n, n);
  ResetCovariance(nullptr);
  sigma_.resize(n, points);
  chi_.resize(n, points);
  ysig_.resize(m, points);
  dsig_.resize(k, points);
  y_mean_.setZero(m);
  y_std_.setZero(m);
  d_mean_.resize(k);
  d_var_.setZero(k);
  // Before the first prediction a derived variable's spread is known only if it is estimated.
  for (Eigen::Index i = 0; i < k; ++i) {
    d_mean_(i) = model_.Get(layout_->derived[i]);
    auto it = std::find(layout_->estimated.begin(), layout_->estimated.end(), layout_->derived[i]);
    d_var_(i) = it == layout_->estimated.end() ? std::numeric_limits<double>::quiet_NaN()
                                              : layout_->initial_var[it - layout_->estimated.begin()];
  }
  pyy_.resize(m, m);
  pxy_.resize(n, m);
  pdy_.resize(k, m);
  gain_t_.resize(m, n);
  dgain_t_.resize(m, k);
  innovation_.resize(m);
  weighted_innovation_.resize(m);
  dev_.resize(n);
  ydev_.resize(m);
  ddev_.resize(k);
  llt_n_ = Eigen::LLT<Eigen::MatrixXd>(n);
  llt_m_ = Eigen::LLT<Eigen::MatrixXd>(m);
  snapshot_.resize(layout_->synced.size());
}

UnscentedKalmanFilter::~UnscentedKalmanFilter() = default;

Status UnscentedKalmanFilter::BuildScratch() {
  scratch_.clear();
  for (std::size_t i = 0; i < 2 * layout_->estimated.size(); ++i) {
    DOPPEL_ASSIGN_OR_RETURN(auto clone, model_.Clone());
    scratch_.push_back(std::move(clone));
  }
  scratch_valid_ = true;
  return Status::Ok();
}

void UnscentedKalmanFilter::ResetCovariance(const char* reason) {
  if (reason != nullptr) {
    ++covariance_resets_;
    spdlog::warn("state estimation for model '{}': {}; covariance reset to the prior", model_.info().name, reason);
  }
  p_.setZero();
  for (std::size_t i = 0; i < layout_->estimated.size(); ++i) p_(i, i) = layout_->initial_var[i];
}

void UnscentedKalmanFilter::Symmetrise(Eigen::MatrixXd& m) const {
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = r + 1; c < m.cols(); ++c) m(r, c) = m(c, r) = 0.5 * (m(r, c) + m(c, r));
  }
}

// Cholesky of P, repaired if needed: symmetrise, then add growing diagonal jitter; if even that
// fails (or P holds NaNs) the prior is the honest answer — the filter has lost track.
void UnscentedKalmanFilter::ComputeSigmaPoints() {
  const Eigen::Index n = x_.size();
  if (!p_.allFinite()) ResetCovariance("covariance is not finite");
  llt_n_.compute(p_);
  double jitter = config_.relative_jitter * std::max(p_.trace() / std::max<Eigen::Index>(n, 1), 1e-300);
  for (int attempt = 0; llt_n_.info() != Eigen::Success && attempt < 3; ++attempt, jitter *= 100) {
    Symmetrise(p_);
    p_.diagonal().array() += jitter;
    llt_n_.compute(p_);
  }
  if (llt_n_.info() != Eigen::Success) {
    ResetCovariance("covariance not positive definite even with jitter");
    llt_n_.compute(p_);
  }
  const auto& l = llt_n_.matrixLLT();  // lower triangle is L
  sigma_.col(0) = x_;
  for (Eigen::Index i = 0; i < n; ++i) {
    sigma_.col(1 + i) = x_;
    sigma_.col(1 + n + i) = x_;
    for (Eigen::Index r = i; r < n; ++r) {
      sigma_(r, 1 + i) += layout_->spread * l(r, i);
      sigma_(r, 1 + n + i) -= layout_->spread * l(r, i);
    }
  }
  for (Eigen::Index c = 0; c < sigma_.cols(); ++c) {
    for (Eigen::Index r = 0; r < n; ++r) sigma_(r, c) = std::clamp(sigma_(r, c), layout_->lo[r], layout_->hi[r]);
  }
}

Status UnscentedKalmanFilter::WriteEstimate(Simulation& sim, const Eigen::Ref<const Eigen::VectorXd>& x) const {
  for (std::size_t i = 0; i < layout_->estimated.size(); ++i) {
    double v = std::clamp(x(static_cast<Eigen::Index>(i)), layout_->lo[i], layout_->hi[i]);
    DOPPEL_RETURN_IF_ERROR(sim.Set(layout_->estimated[i], v));
  }
  return Status::Ok();
}

void UnscentedKalmanFilter::ReadPoint(std::size_t column, const Simulation& sim) {
  const auto c = static_cast<Eigen::Index>(column);
  for (std::size_t i = 0; i < layout_->estimated.size(); ++i) chi_(i, c) = sim.Get(layout_->estimated[i]);
  for (std::size_t i = 0; i < layout_->measured.size(); ++i) ysig_(i, c) = sim.Get(layout_->measured[i]);
  for (std::size_t i = 0; i < layout_->derived.size(); ++i) dsig_(i, c) = sim.Get(layout_->derived[i]);
}

// A scratch clone is brought to the model's pre-step state by Set()ting only what differs —
// after the first step that is the states and whatever inputs changed, so the sync is cheap.
Status UnscentedKalmanFilter::PropagatePoint(std::size_t column, Simulation& sim, double dt_s) {
  for (std::size_t j = 0; j < layout_->synced.size(); ++j) {
    if (sim.Get(layout_->synced[j]) != snapshot_[j]) DOPPEL_RETURN_IF_ERROR(sim.Set(layout_->synced[j], snapshot_[j]));
  }
  DOPPEL_RETURN_IF_ERROR(WriteEstimate(sim, sigma_.col(static_cast<Eigen::Index>(column))));
  DOPPEL_RETURN_IF_ERROR(sim.Step(dt_s));
  ReadPoint(column, sim);
  return Status::Ok();
}

Status UnscentedKalmanFilter::Predict(double dt_s) {
  if (!(dt_s > 0) || !std::isfinite(dt_s)) {
    return Status::InvalidArgument(fmt::format("prediction step must be positive and finite, not {}", dt_s));
  }
  if (!scratch_valid_) DOPPEL_RETURN_IF_ERROR(BuildScratch());
  ComputeSigmaPoints();
  DOPPEL_RETURN_IF_ERROR(WriteEstimate(model_, sigma_.col(0)));
  for (std::size_t j = 0; j < layout_->synced.size(); ++j) snapshot_[j] = model_.Get(layout_->synced[j]);
  for (std::size_t i = 0; i < scratch_.size(); ++i) {
    Status status = PropagatePoint(i + 1, *scratch_[i], dt_s);
    if (!status.ok()) {
      scratch_valid_ = false;  // a clone that failed a Step is unusable; rebuild from the model
      return Status::Internal(fmt::format("sigma point {} failed: {}", i + 1, status.message()));
    }
  }
  // The model is sigma point 0 and is stepped last, so a failure above leaves it untouched.
  DOPPEL_RETURN_IF_ERROR(model_.Step(dt_s));
  ReadPoint(0, model_);
  if (!chi_.allFinite() || !ysig_.allFinite() || !dsig_.allFinite()) return RecoverFromNonFinite();
  ComputeMoments(dt_s);
  predicted_ = true;
  return WriteEstimate(model_, x_);
}

// A sigma point came back with NaN or infinity (a model pushed outside where it is valid). The
// statistics of this step are meaningless, so there is no update: keep the centre point if it
// is sound (else the pre-step estimate) and start again from the prior uncertainty.
Status UnscentedKalmanFilter::RecoverFromNonFinite() {
  x_ = chi_.col(0).allFinite() ? chi_.col(0) : sigma_.col(0);
  ResetCovariance("the model produced a non-finite prediction");
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  y_mean_ = ysig_.col(0);
  y_std_.setConstant(kNaN);
  d_mean_ = dsig_.col(0);
  d_var_.setConstant(kNaN);
  predicted_ = false;
  return WriteEstimate(model_, x_);
}

void UnscentedKalmanFilter::ComputeMoments(double dt_s) {
  const auto& wm = layout_->wm;
  const auto& wc = layout_->wc;
  x_.noalias() = chi_ * wm;
  y_mean_.noalias() = ysig_ * wm;
  d_mean_.noalias() = dsig_ * wm;
  p_.setZero();
  pyy_.setZero();
  pxy_.setZero();
  pdy_.setZero();
  d_var_.setZero();
  for (Eigen::Index c = 0; c < chi_.cols(); ++c) {
    dev_ = chi_.col(c) - x_;
    ydev_ = ysig_.col(c) - y_mean_;
    ddev_ = dsig_.col(c) - d_mean_;
    p_.noalias() += wc(c) * dev_ * dev_.transpose();
    pyy_.noalias() += wc(c) * ydev_ * ydev_.transpose();
    pxy_.noalias() += wc(c) * dev_ * ydev_.transpose();
    pdy_.noalias() += wc(c) * ddev_ * ydev_.transpose();
    d_var_.array() += wc(c) * ddev_.array().square();
  }
  for (std::size_t i = 0; i < layout_->estimated.size(); ++i) p_(i, i) += layout_->process_var[i] * dt_s;
  for (std::size_t i = 0; i < layout_->measured.size(); ++i) {
    pyy_(i, i) += layout_->noise_var[i];
    y_std_(i) = std::sqrt(std::max(pyy_(i, i), 0.0));
  }
  d_var_ = d_var_.cwiseMax(0.0);
}

Status UnscentedKalmanFilter::Update(std::span<const double> measurements, uint64_t present_mask) {
  const std::size_t m = layout_->measured.size();
  if (measurements.size() != m) {
    return Status::InvalidArgument(fmt::format("expected {} measurements, got {}", m, measurements.size()));
  }
  if (!predicted_) return Status::PreconditionFailed("Update needs a Predict since the last Update");
  for (std::size_t i = 0; i < m; ++i) {
    if ((present_mask >> i & 1) && !std::isfinite(measurements[i])) {
      return Status::InvalidArgument(
          fmt::format("measurement '{}' is not a finite number", config_.measured[i].name));
    }
  }
  // Absent measurements keep the matrices' sizes (no allocation): a zero innovation, a unit
  // variance and no cross-covariance make their gain exactly zero.
  for (std::size_t i = 0; i < m; ++i) {
    const auto r = static_cast<Eigen::Index>(i);
    if (present_mask >> i & 1) {
      innovation_(r) = measurements[i] - y_mean_(r);
      continue;
    }
    innovation_(r) = 0;
    pyy_.row(r).setZero();
    pyy_.col(r).setZero();
    pyy_(r, r) = 1;
    pxy_.col(r).setZero();
    pdy_.col(r).setZero();
  }
  predicted_ = false;
  Symmetrise(pyy_);
  llt_m_.compute(pyy_);
  if (llt_m_.info() != Eigen::Success) {
    ResetCovariance("innovation covariance not positive definite; measurement skipped");
    return Status::Internal("state estimation: innovation covariance not positive definite; estimate reset");
  }
  weighted_innovation_ = innovation_;
  llt_m_.solveInPlace(weighted_innovation_);
  x_.noalias() += pxy_ * weighted_innovation_;
  gain_t_ = pxy_.transpose();
  llt_m_.solveInPlace(gain_t_);
  p_.noalias() -= pxy_ * gain_t_;
  Symmetrise(p_);
  d_mean_.noalias() += pdy_ * weighted_innovation_;
  dgain_t_ = pdy_.transpose();
  llt_m_.solveInPlace(dgain_t_);
  for (Eigen::Index i = 0; i < d_var_.size(); ++i) {
    d_var_(i) = std::max(d_var_(i) - pdy_.row(i).dot(dgain_t_.col(i)), 0.0);
  }
  for (Eigen::Index i = 0; i < x_.size(); ++i) x_(i) = std::clamp(x_(i), layout_->lo[i], layout_->hi[i]);
  return WriteEstimate(model_, x_);
}

Estimate UnscentedKalmanFilter::predicted(std::size_t i) const {
  const auto r = static_cast<Eigen::Index>(i);
  return {y_mean_(r), y_std_(r)};
}

Estimate UnscentedKalmanFilter::estimate(std::size_t i) const {
  const auto r = static_cast<Eigen::Index>(i);
  return {x_(r), std::sqrt(std::max(p_(r, r), 0.0))};
}

Estimate UnscentedKalmanFilter::derived(std::size_t i) const {
  const auto r = static_cast<Eigen::Index>(i);
  return {d_mean_(r), std::sqrt(d_var_(r))};
}

Status UnscentedKalmanFilter::Restore(const Eigen::VectorXd& mean, const Eigen::MatrixXd& covariance) {
  const Eigen::Index n = x_.size();
  if (mean.size() != n || covariance.rows() != n || covariance.cols() != n) {
    return Status::InvalidArgument(fmt::format("estimate must have {} values and a {}×{} covariance", n, n, n));
  }
  if (!mean.allFinite() || !covariance.allFinite()) return Status::InvalidArgument("estimate is not finite");
  if (!covariance.isApprox(covariance.transpose(), 1e-9)) {
    return Status::InvalidArgument("covariance is not symmetric");
  }
  Eigen::LDLT<Eigen::MatrixXd> ldlt(covariance);
  if (ldlt.info() != Eigen::Success || !ldlt.isPositive()) {
    return Status::InvalidArgument("covariance is not positive semi-definite");
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    if (mean(i) < layout_->lo[i] || mean(i) > layout_->hi[i]) {
      return Status::InvalidArgument(fmt::format("estimate of '{}' = {} is outside its range",
                                                 config_.estimated[i].name, mean(i)));
    }
  }
  DOPPEL_RETURN_IF_ERROR(WriteEstimate(model_, mean));
  x_ = mean;
  p_ = covariance;
  predicted_ = false;
  return Status::Ok();
}

void UnscentedKalmanFilter::Forget(double gap_s) {
  for (std::size_t i = 0; i < layout_->estimated.size(); ++i) {
    const auto r = static_cast<Eigen::Index>(i);
    if (layout_->is_state[i]) {
      p_.row(r).setZero();
      p_.col(r).setZero();
      p_(r, r) = layout_->initial_var[i];
    } else {
      p_(r, r) += layout_->process_var[i] * std::max(gap_s, 0.0);
    }
  }
  predicted_ = false;
}

Status UnscentedKalmanFilter::WriteSample(Simulation& sim, uint64_t seed) const {
  const Eigen::Index n = x_.size();
  if (n == 0) return Status::Ok();
  Eigen::MatrixXd jittered = p_;
  jittered.diagonal().array() += config_.relative_jitter * std::max(p_.trace() / n, 1e-300);
  Eigen::LLT<Eigen::MatrixXd> llt(jittered);
  if (llt.info() != Eigen::Success) return Status::Internal("covariance not positive definite; cannot sample");
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Eigen::VectorXd z(n);
  for (Eigen::Index i = 0; i < n; ++i) z(i) = normal(rng);
  Eigen::VectorXd sample = x_ + llt.matrixL() * z;
  return WriteEstimate(sim, sample);
}

}  // namespace doppel::sim
