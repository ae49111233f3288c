#include "analytics/anomaly/seasonal_baseline.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace doppel::analytics::internal {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kSecond = 1'000'000'000;

// Autocorrelation of `v` at `lag`, each sum normalised by its number of terms so long lags are
// not penalised (0 when there is not enough data or no variance).
double Autocorrelation(const std::vector<double>& v, std::size_t lag) {
  const std::size_t n = v.size();
  if (lag < 1 || n < 2 * lag) return 0;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(n);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < n; ++i) {
    den += (v[i] - mean) * (v[i] - mean);
    if (i + lag < n) num += (v[i] - mean) * (v[i + lag] - mean);
  }
  return den > 0 ? (num / static_cast<double>(n - lag)) / (den / static_cast<double>(n)) : 0;
}

}  // namespace

SeasonalBaseline::SeasonalBaseline(int64_t period_s, int phases, double alpha, int window, int warmup, int tolerance)
    : configured_period_ns_(period_s * kSecond),
      configured_phases_(phases),
      tolerance_(tolerance),
      alpha_(alpha),
      warmup_(static_cast<std::size_t>(std::max(warmup, 8))),
      residuals_(static_cast<std::size_t>(window)) {
  warm_times_.reserve(warmup_);
  warm_values_.reserve(warmup_);
  means_.reserve(kMaxPhases);
}

bool SeasonalBaseline::Push(int64_t time_ns, double x) {
  if (ready()) {
    Learn(time_ns, x);
    return true;
  }
  warm_times_.push_back(static_cast<double>(time_ns));
  warm_values_.push_back(x);
  if (warm_values_.size() < warmup_) return false;
  FinishWarmup();
  return true;
}

void SeasonalBaseline::FinishWarmup() {
  // The reading interval: the median gap of the warm-up.
  std::vector<double> gaps;
  for (std::size_t i = 1; i < warm_times_.size(); ++i) gaps.push_back(warm_times_[i] - warm_times_[i - 1]);
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2), gaps.end());
  const double interval = std::max(1.0, gaps[gaps.size() / 2]);

  period_ns_ = configured_period_ns_;
  if (period_ns_ == 0) {
    double best = 0.3;  // below this, no period: one phase tracks the level
    for (int64_t candidate : std::array<int64_t, 3>{3600, 86400, 604800}) {
      const auto lag = static_cast<std::size_t>(std::llround(static_cast<double>(candidate * kSecond) / interval));
      const double r = Autocorrelation(warm_values_, lag);
      // A period shows as a higher correlation at its lag than at half of it; a merely smooth
      // series (correlated at every short lag) does not.
      if (lag >= 4 && r > best && r > Autocorrelation(warm_values_, lag / 2)) {
        best = r;
        period_ns_ = candidate * kSecond;
      }
    }
  }
  if (period_ns_ == 0) {
    phases_ = 1;
    period_ns_ = kSecond;
  } else {
    phases_ = configured_phases_ > 0
                  ? configured_phases_
                  : static_cast<int>(std::clamp<double>(std::round(static_cast<double>(period_ns_) / interval), 1,
                                                         kMaxPhases));
  }
  phase_ns_ = std::max<int64_t>(1, period_ns_ / phases_);
  means_.assign(static_cast<std::size_t>(phases_), kNaN);
  level_ = warm_values_.front();
  for (std::size_t i = 0; i < warm_values_.size(); ++i) Learn(static_cast<int64_t>(warm_times_[i]), warm_values_[i]);
  warm_times_ = {};
  warm_values_ = {};
}

int SeasonalBaseline::Phase(int64_t time_ns) const {
  int64_t offset = time_ns % period_ns_;
  if (offset < 0) offset += period_ns_;
  return static_cast<int>(std::min<int64_t>(offset / phase_ns_, phases_ - 1));
}

double SeasonalBaseline::Expected(int64_t time_ns) const {
  if (!ready()) return 0;
  const double mean = means_[static_cast<std::size_t>(Phase(time_ns))];
  return (std::isnan(mean) ? level_ : mean) + residuals_.median();
}

double SeasonalBaseline::Z(int64_t time_ns, double x) const {
  if (!ready()) return 0;
  const int phase = Phase(time_ns);
  const int reach = std::min(tolerance_, (phases_ - 1) / 2);
  double z = std::numeric_limits<double>::infinity();
  // A pattern that comes a little early or late (a daily job at 03:15 one day, 03:30 the next)
  // is still the pattern: the closest of the neighbouring phases' expectations counts.
  for (int d = -reach; d <= reach; ++d) {
    const double mean = means_[static_cast<std::size_t>((phase + d + phases_) % phases_)];
    z = std::min(z, residuals_.Z(x - (std::isnan(mean) ? level_ : mean)));
  }
  return z;
}

void SeasonalBaseline::Learn(int64_t time_ns, double x) {
  double& mean = means_[static_cast<std::size_t>(Phase(time_ns))];
  const double base = std::isnan(mean) ? level_ : mean;
  residuals_.Push(x - base);
  mean = std::isnan(mean) ? x : mean + alpha_ * (x - mean);
  level_ += alpha_ * (x - level_);
}

void SeasonalBaseline::Save(json::object& out) const {
  PutNumbers(out, "warmTimes", warm_times_);
  PutNumbers(out, "warmValues", warm_values_);
  out["periodNs"] = period_ns_;
  out["phaseNs"] = phase_ns_;
  out["phases"] = phases_;
  // NaN (an unseen phase) is not JSON: written as null.
  json::array means;
  for (double m : means_) means.emplace_back(std::isnan(m) ? json::value(nullptr) : json::value(m));
  out["means"] = std::move(means);
  out["level"] = level_;
  json::object residuals;
  residuals_.Save(residuals);
  out["residuals"] = std::move(residuals);
}

Status SeasonalBaseline::Restore(const json::object& in) {
  DOPPEL_RETURN_IF_ERROR(GetNumbers(in, "warmTimes", warm_times_));
  DOPPEL_RETURN_IF_ERROR(GetNumbers(in, "warmValues", warm_values_));
  double period = 0, phase = 0, phases = 0;
  DOPPEL_RETURN_IF_ERROR(GetNumber(in, "periodNs", period));
  DOPPEL_RETURN_IF_ERROR(GetNumber(in, "phaseNs", phase));
  DOPPEL_RETURN_IF_ERROR(GetNumber(in, "phases", phases));
  if (phases < 0 || phases > kMaxPhases || warm_values_.size() != warm_times_.size()) {
    return Status::InvalidArgument("detector state: bad seasonal phases");
  }
  period_ns_ = static_cast<int64_t>(period);
  phase_ns_ = static_cast<int64_t>(phase);
  phases_ = static_cast<int>(phases);
  const auto* means = in.if_contains("means");
  if (means == nullptr || !means->is_array() || means->get_array().size() != static_cast<std::size_t>(phases_)) {
    return Status::InvalidArgument("detector state: seasonal 'means' missing or of the wrong size");
  }
  means_.clear();
  for (const auto& m : means->get_array()) means_.push_back(m.is_number() ? m.to_number<double>() : kNaN);
  DOPPEL_RETURN_IF_ERROR(GetNumber(in, "level", level_));
  const auto* residuals = GetObject(in, "residuals");
  if (residuals == nullptr) return Status::InvalidArgument("detector state: 'residuals' missing");
  return residuals_.Restore(*residuals);
}

}  // namespace doppel::analytics::internal
