// "multivariate": several signals of one asset at once. Each signal is standardised by its own
// EWMA mean and variance; the standardised vector's correlation is an EWMA too, fed winsorised
// values (clipped at ±4) so an outlier does not teach the detector that outliers are normal.
// The strength is the Mahalanobis distance of the latest vector (the latest value of each
// signal; a signal absent this time keeps its last value), and each signal's share of it is
// |z_i · (C⁻¹z)_i| normalised: a signal that moved against its correlated partners takes the
// blame, not the partners that behaved. The inverse is refreshed every 16 readings.
#include <algorithm>
#include <cmath>
#include <memory>

#include <Eigen/Dense>

#include "analytics/anomaly/baseline.h"
#include "analytics/anomaly/detector_kinds.h"

namespace doppel::analytics::internal {
namespace {

constexpr double kClip = 4;
constexpr double kRidge = 1e-3;  // keeps C invertible when signals are perfectly correlated
constexpr int kRefreshEvery = 16;

class MultivariateDetector final : public Detector {
 public:
  MultivariateDetector(const DetectorParams& p, std::size_t n)
      : params_(p),
        fingerprint_(ParamsToJson(p)),
        stats_(n, Ewm(p.alpha)),
        last_(n, std::numeric_limits<double>::quiet_NaN()),
        z_(static_cast<Eigen::Index>(n)),
        w_(static_cast<Eigen::Index>(n)),
        corr_(Eigen::MatrixXd::Identity(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n))),
        inverse_(Eigen::MatrixXd::Identity(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n))),
        work_(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n)),
        ldlt_(static_cast<Eigen::Index>(n)) {
    fingerprint_["signals"] = n;
  }

  Score Update(int64_t time_ns, std::span<const double> values) override {
    const std::size_t n = last_.size();
    bool any = false;
    for (std::size_t i = 0; i < n && i < values.size(); ++i) {
      if (!std::isnan(values[i])) {
        last_[i] = values[i];
        any = true;
      }
    }
    if (!any || std::any_of(last_.begin(), last_.end(), [](double v) { return std::isnan(v); })) return {};
    for (std::size_t i = 0; i < n; ++i) z_[static_cast<Eigen::Index>(i)] = Standardised(i);
    w_.noalias() = inverse_ * z_;
    const double d2 = std::max(0.0, z_.dot(w_));
    Score score{.score = ScoreFromZ(std::sqrt(d2), params_.threshold)};
    score.evidence.value = last_[0];
    const Range r = MakeRange(stats_[0].mean(), stats_[0].stddev(), params_.range);
    score.evidence.expected = r.expected;
    score.evidence.low = r.low;
    score.evidence.high = r.high;
    score.evidence.contributions.resize(n);
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto k = static_cast<Eigen::Index>(i);
      total += score.evidence.contributions[i] = std::fabs(z_[k] * w_[k]);
    }
    for (double& c : score.evidence.contributions) c = total > 0 ? c / total : 1.0 / static_cast<double>(n);
    if (observed_ < static_cast<uint64_t>(params_.warmup)) score.score = 0;
    if (observed_ == 0 || time_ns >= last_time_) Learn(time_ns);
    return score;
  }

  uint64_t observed() const override { return observed_; }

  json::object Save() const override {
    json::object state = BeginState("multivariate", fingerprint_, observed_, last_time_);
    json::array stats;
    for (const auto& s : stats_) {
      json::object o;
      s.Save(o);
      stats.emplace_back(std::move(o));
    }
    state["stats"] = std::move(stats);
    json::array last;
    for (double v : last_) last.emplace_back(std::isnan(v) ? json::value(nullptr) : json::value(v));
    state["last"] = std::move(last);
    PutNumbers(state, "corr", std::span<const double>(corr_.data(), static_cast<std::size_t>(corr_.size())));
    PutNumbers(state, "inverse", std::span<const double>(inverse_.data(), static_cast<std::size_t>(inverse_.size())));
    return state;
  }

  Status Restore(const json::object& state) override {
    uint64_t observed = 0;
    int64_t last_time = 0;
    DOPPEL_RETURN_IF_ERROR(CheckState(state, "multivariate", fingerprint_, observed, last_time));
    const auto* stats = state.if_contains("stats");
    const auto* last = state.if_contains("last");
    const std::size_t n = last_.size();
    if (stats == nullptr || !stats->is_array() || stats->get_array().size() != n || last == nullptr ||
        !last->is_array() || last->get_array().size() != n) {
      return Status::InvalidArgument("detector state: multivariate 'stats'/'last' missing or of the wrong size");
    }
    for (std::size_t i = 0; i < n; ++i) {
      const auto& s = stats->get_array()[i];
      if (!s.is_object()) return Status::InvalidArgument("detector state: bad 'stats'");
      DOPPEL_RETURN_IF_ERROR(stats_[i].Restore(s.get_object()));
      const auto& v = last->get_array()[i];
      last_[i] = v.is_number() ? v.to_number<double>() : std::numeric_limits<double>::quiet_NaN();
    }
    std::vector<double> corr, inverse;
    DOPPEL_RETURN_IF_ERROR(GetNumbers(state, "corr", corr, n * n));
    DOPPEL_RETURN_IF_ERROR(GetNumbers(state, "inverse", inverse, n * n));
    std::copy(corr.begin(), corr.end(), corr_.data());
    std::copy(inverse.begin(), inverse.end(), inverse_.data());
    observed_ = observed;
    last_time_ = last_time;
    return Status::Ok();
  }

 private:
  double Standardised(std::size_t i) const {
    const Ewm& s = stats_[i];
    if (s.count() < 2) return 0;
    const double sd = std::max(s.stddev(), 1e-9 * std::max(1.0, std::fabs(s.mean())));
    return (last_[i] - s.mean()) / sd;
  }

  void Learn(int64_t time_ns) {
    const double a = params_.alpha;
    for (Eigen::Index i = 0; i < z_.size(); ++i) z_[i] = std::clamp(z_[i], -kClip, kClip);
    if (observed_ >= 2) corr_ = (1 - a) * corr_ + a * (z_ * z_.transpose());
    for (std::size_t i = 0; i < last_.size(); ++i) stats_[i].Push(last_[i]);
    if (++observed_ % kRefreshEvery == 0) RefreshInverse();
    last_time_ = time_ns;
  }

  void RefreshInverse() {
    work_ = corr_;
    work_.diagonal().array() += kRidge;
    ldlt_.compute(work_);
    inverse_.setIdentity();
    ldlt_.solveInPlace(inverse_);
  }

  DetectorParams params_;
  json::object fingerprint_;
  std::vector<Ewm> stats_;
  std::vector<double> last_;
  Eigen::VectorXd z_, w_;
  Eigen::MatrixXd corr_, inverse_, work_;
  Eigen::LDLT<Eigen::MatrixXd> ldlt_;
  uint64_t observed_ = 0;
  int64_t last_time_ = 0;
};

}  // namespace

std::unique_ptr<Detector> MakeMultivariate(const DetectorParams& p, std::size_t signals) {
  return std::make_unique<MultivariateDetector>(p, signals);
}

}  // namespace doppel::analytics::internal
