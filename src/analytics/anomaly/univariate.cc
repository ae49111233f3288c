// The one-signal detectors: mad, ewma, seasonal, changepoint.
#include "analytics/anomaly/univariate.h"

#include <algorithm>
#include <memory>

#include "analytics/anomaly/baseline.h"
#include "analytics/anomaly/seasonal_baseline.h"

namespace doppel::analytics::internal {

Score UnivariateDetector::Update(int64_t time_ns, std::span<const double> values) {
  if (values.empty() || std::isnan(values[0])) return {};
  const double x = values[0];
  Score score = Assess(time_ns, x);
  score.evidence.value = x;
  if (observed_ < static_cast<uint64_t>(params_.warmup)) score.score = 0;
  if (observed_ == 0 || time_ns >= last_time_) {
    Learn(time_ns, x);
    last_time_ = time_ns;
    ++observed_;
  }
  return score;
}

json::object UnivariateDetector::Save() const {
  json::object state = BeginState(kind_, fingerprint_, observed_, last_time_);
  SaveBody(state);
  return state;
}

Status UnivariateDetector::Restore(const json::object& state) {
  uint64_t observed = 0;
  int64_t last_time = 0;
  DOPPEL_RETURN_IF_ERROR(CheckState(state, kind_, fingerprint_, observed, last_time));
  DOPPEL_RETURN_IF_ERROR(RestoreBody(state));
  observed_ = observed;
  last_time_ = last_time;
  return Status::Ok();
}

namespace {

// "mad": the value against the median and robust spread of the last `window` values.
class MadDetector final : public UnivariateDetector {
 public:
  explicit MadDetector(const DetectorParams& p) : UnivariateDetector("mad", p), level_(static_cast<std::size_t>(p.window)) {}

 protected:
  Score Assess(int64_t, double x) override {
    const Range r = MakeRange(level_.median(), level_.spread(), params().range);
    return {.score = ScoreFromZ(level_.Z(x), params().threshold),
            .evidence = {.expected = r.expected, .low = r.low, .high = r.high}};
  }
  void Learn(int64_t, double x) override { level_.Push(x); }
  void SaveBody(json::object& out) const override { level_.Save(out); }
  Status RestoreBody(const json::object& in) override { return level_.Restore(in); }

 private:
  RollingRobust level_;
};

// "ewma": the value's z-score against an exponentially weighted mean and variance.
class EwmaDetector final : public UnivariateDetector {
 public:
  explicit EwmaDetector(const DetectorParams& p) : UnivariateDetector("ewma", p), stats_(p.alpha) {}

 protected:
  Score Assess(int64_t, double x) override {
    const Range r = MakeRange(stats_.mean(), stats_.stddev(), params().range);
    return {.score = ScoreFromZ(stats_.Z(x), params().threshold),
            .evidence = {.expected = r.expected, .low = r.low, .high = r.high}};
  }
  void Learn(int64_t, double x) override { stats_.Push(x); }
  void SaveBody(json::object& out) const override { stats_.Save(out); }
  Status RestoreBody(const json::object& in) override { return stats_.Restore(in); }

 private:
  Ewm stats_;
};

// "seasonal": the value against the expectation for its phase of the period.
class SeasonalDetector final : public UnivariateDetector {
 public:
  explicit SeasonalDetector(const DetectorParams& p)
      : UnivariateDetector("seasonal", p), baseline_(p.period, p.phases, p.alpha, p.window, p.warmup, p.phase_tolerance) {}

 protected:
  Score Assess(int64_t time_ns, double x) override {
    if (!baseline_.ready()) return {};
    const Range r = MakeRange(baseline_.Expected(time_ns), baseline_.spread(), params().range);
    return {.score = ScoreFromZ(baseline_.Z(time_ns, x), params().threshold),
            .evidence = {.expected = r.expected, .low = r.low, .high = r.high}};
  }
  void Learn(int64_t time_ns, double x) override { baseline_.Push(time_ns, x); }
  void SaveBody(json::object& out) const override { baseline_.Save(out); }
  Status RestoreBody(const json::object& in) override { return baseline_.Restore(in); }

 private:
  SeasonalBaseline baseline_;
};

// "changepoint": two-sided CUSUM of the values standardised by a robust baseline. When either
// sum reaches the threshold a change of regime is declared: the baseline starts afresh from the
// new regime (re-warming over `warmup` readings, scoring 0), so one change gives one alarm.
class ChangepointDetector final : public UnivariateDetector {
 public:
  explicit ChangepointDetector(const DetectorParams& p)
      : UnivariateDetector("changepoint", p), level_(static_cast<std::size_t>(p.window)) {}

 protected:
  Score Assess(int64_t, double x) override {
    if (level_.size() < static_cast<std::size_t>(std::max(params().warmup, 2))) return {};
    const auto [up, down] = Next(x);
    const Range r = MakeRange(level_.median(), level_.spread(), params().range);
    return {.score = ScoreFromZ(std::max(up, down), params().threshold),
            .evidence = {.expected = r.expected, .low = r.low, .high = r.high}};
  }

  void Learn(int64_t, double x) override {
    if (level_.size() >= static_cast<std::size_t>(std::max(params().warmup, 2))) {
      std::tie(up_, down_) = Next(x);
      if (std::max(up_, down_) >= params().threshold) {
        level_.Clear();
        up_ = down_ = 0;
        ++changes_;
      }
    }
    level_.Push(x);
  }

  void SaveBody(json::object& out) const override {
    json::object level;
    level_.Save(level);
    out["level"] = std::move(level);
    out["up"] = up_;
    out["down"] = down_;
    out["changes"] = changes_;
  }

  Status RestoreBody(const json::object& in) override {
    const auto* level = GetObject(in, "level");
    if (level == nullptr) return Status::InvalidArgument("detector state: 'level' missing");
    DOPPEL_RETURN_IF_ERROR(level_.Restore(*level));
    DOPPEL_RETURN_IF_ERROR(GetNumber(in, "up", up_));
    DOPPEL_RETURN_IF_ERROR(GetNumber(in, "down", down_));
    return GetCount(in, "changes", changes_);
  }

 private:
  std::pair<double, double> Next(double x) const {
    const double z = (x - level_.median()) / level_.spread();
    return {std::max(0.0, up_ + z - params().drift), std::max(0.0, down_ - z - params().drift)};
  }

  RollingRobust level_;
  double up_ = 0, down_ = 0;
  uint64_t changes_ = 0;
};

}  // namespace

std::unique_ptr<Detector> MakeMad(const DetectorParams& p) { return std::make_unique<MadDetector>(p); }
std::unique_ptr<Detector> MakeEwma(const DetectorParams& p) { return std::make_unique<EwmaDetector>(p); }
std::unique_ptr<Detector> MakeSeasonal(const DetectorParams& p) { return std::make_unique<SeasonalDetector>(p); }
std::unique_ptr<Detector> MakeChangepoint(const DetectorParams& p) { return std::make_unique<ChangepointDetector>(p); }

}  // namespace doppel::analytics::internal
