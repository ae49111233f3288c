// "ensemble": the combined score — the default kind, and the one `make bench-nab` scores.
//
// Complementary evidence, each a strength in spreads of the series' own scale:
//   level     |x − median| / spread over the last `window` readings (spikes, dips); with
//             `localWindow`, the smaller of that and the same against a short baseline
//   seasonal  the residual against the expectation for this phase of the period
//             (`seasonalWeight`; the period detected, or `period`), so a daily pattern is not
//             an anomaly but a break of it is
//             (`phaseTolerance` neighbouring phases count too, so a pattern a little early or
//             late is still the pattern)
//   optional  level shift (`shiftWeight`: the mean of the last `shortWindow` readings, ×√k),
//             EWMA z-score (`ewmaWeight`), step from the previous reading (`diffWeight`)
// The strongest wins (on sign(x)·log(1+|x|) with `log`). Then:
//   suppression  an event scores high once: a reading scores only its strength in excess of
//                `suppressStrength` × the recent peak strength (forgotten over `suppress`
//                readings), or with `gate` its whole strength when it beats the peak by that
//                factor. NAB counts every flagged row; an operator wants one alarm per incident.
//   calibration  the result is divided by (the `calibrationQuantile` of the last `calibration`
//                strengths, at least `calibrationFloor`)^`calibrationPower`: a series that
//                routinely shows 20σ spikes needs a bigger one to alarm than a quiet one, so one
//                global threshold suits series of very different character.
//   familiarity  (`familiarWeight`) the calibrated excess of a value within the range of every
//                value seen so far is multiplied by this: a spike no higher than ones the series
//                has shown before is weaker evidence than a new record.
//   context      (`contextWeight`) the novelty of the reading's context (ContextModel: the bin
//                of the range seen so far, with the bins before it), when at least
//                `contextThreshold`, scores contextWeight × novelty; it then rests `rest`
//                readings (at least `restFraction` of the readings seen), as it does after an
//                alarm of the other components. In practice what fires is a reading in a bin of
//                the range never visited before: a level the series has never held.
//   `suppressFraction` makes the suppression at least that share of the readings seen: a
//   detector knows how much of its series it has seen (never how long it will be).
// The defaults (detector.cc) were tuned on the Numenta Anomaly Benchmark; the unused options stay
// because they were tried there (docs/analytics-anomaly.md) and suit other data.
#include <algorithm>
#include <cmath>
#include <memory>

#include "analytics/anomaly/baseline.h"
#include "analytics/anomaly/context_model.h"
#include "analytics/anomaly/seasonal_baseline.h"
#include "analytics/anomaly/univariate.h"

namespace doppel::analytics::internal {
namespace {

constexpr int kSeasonalWarmup = 600;  // readings the seasonal component learns from before joining

class EnsembleDetector final : public UnivariateDetector {
 public:
  explicit EnsembleDetector(const DetectorParams& p)
      : UnivariateDetector("ensemble", p),
        level_(static_cast<std::size_t>(p.window)),
        local_(static_cast<std::size_t>(std::max(p.local_window, 1))),
        steps_(static_cast<std::size_t>(p.diff_weight > 0 ? p.window : 1)),
        recent_(static_cast<std::size_t>(p.short_window)),
        seasonal_(p.period, p.phases, std::max(p.alpha, 0.05), p.window, kSeasonalWarmup, p.phase_tolerance),
        ewma_(p.alpha),
        peak_{.decay = std::exp(-1.0 / p.suppress)},
        usual_(static_cast<std::size_t>(std::max(p.calibration, 1)), p.calibration_quantile),
        context_(p.context_bins, p.context_order, static_cast<std::size_t>(p.context_weight > 0 ? p.context_memory : 4)) {}

 protected:
  Score Assess(int64_t time_ns, double raw) override {
    const DetectorParams& p = params();
    const double x = Transform(raw);
    pending_z_ = Strength(time_ns, x);
    const double excess = Calibrated(pending_z_, x);
    // An alarm of the other components is an event too: the context component rests after it.
    pending_alarm_ = excess >= p.threshold;
    double score = ScoreFromZ(excess, p.threshold);
    if (p.context_weight > 0) score = std::max(score, ContextScore(x));
    const Range r = MakeRange(level_.median(), level_.spread(), p.range);
    return {.score = score,
            .evidence = {.expected = Untransform(r.expected), .low = Untransform(r.low), .high = Untransform(r.high)}};
  }

  // The strongest component's strength for x (transformed) at time_ns, against the past only.
  double Strength(int64_t time_ns, double x) const {
    const DetectorParams& p = params();
    double z = level_.Z(x);
    if (p.local_window > 0 && local_.size() >= 8) z = std::min(z, local_.Z(x));
    if (p.diff_weight > 0 && recent_.size() > 0 && steps_.size() >= 8) {
      z = std::max(z, p.diff_weight * steps_.Z(x - recent_.newest()));
    }
    if (p.shift_weight > 0 && recent_.size() + 1 >= recent_.capacity()) {
      double sum = x;
      for (std::size_t i = recent_.size() + 1 - recent_.capacity(); i < recent_.size(); ++i) sum += recent_.at(i);
      // The mean of k readings varies √k times less than one reading.
      const double k = static_cast<double>(recent_.capacity());
      z = std::max(z, p.shift_weight * std::sqrt(k) * level_.Z(sum / k));
    }
    if (p.seasonal_weight > 0 && seasonal_.ready()) z = std::max(z, p.seasonal_weight * seasonal_.Z(time_ns, x));
    if (p.ewma_weight > 0) z = std::max(z, p.ewma_weight * ewma_.Z(x));
    return z;
  }

  // Strength z of x after suppression, calibration and familiarity.
  double Calibrated(double z, double x) const {
    const DetectorParams& p = params();
    double excess = p.gate >= 1 ? (z >= p.gate * peak_.peak ? z : 0.0)
                                : std::max(0.0, z - p.suppress_strength * peak_.peak);
    if (p.calibration > 0) excess /= std::pow(std::max(usual_.value(), p.calibration_floor), p.calibration_power);
    // A value within the range already seen is an old magnitude: weaker evidence than a record.
    if (observed() > 0 && seen_lo_ <= x && x <= seen_hi_) excess *= p.familiar_weight;
    return excess;
  }

  // The context component's score for x (0 while resting or below contextThreshold); keeps the
  // novelty for Learn.
  double ContextScore(double x) {
    const DetectorParams& p = params();
    pending_novelty_ = context_.Novelty(x);
    const bool resting = observed() < context_high_ + RestLength(p, observed());
    if (resting || pending_novelty_ < p.context_threshold) return 0;
    return std::min(1.0, p.context_weight * pending_novelty_);
  }

  double Transform(double x) const { return params().log ? std::copysign(std::log1p(std::fabs(x)), x) : x; }
  double Untransform(double y) const { return params().log ? std::copysign(std::expm1(std::fabs(y)), y) : y; }

  void Learn(int64_t time_ns, double raw) override {
    const double x = Transform(raw);
    level_.Push(x);
    if (params().local_window > 0) local_.Push(x);
    if (params().diff_weight > 0 && recent_.size() > 0) steps_.Push(x - recent_.newest());
    recent_.Push(x);
    seen_lo_ = observed() == 0 ? x : std::min(seen_lo_, x);
    seen_hi_ = observed() == 0 ? x : std::max(seen_hi_, x);
    if (params().seasonal_weight > 0) seasonal_.Push(time_ns, x);
    if (params().ewma_weight > 0) ewma_.Push(x);
    if (params().context_weight > 0) {
      context_.Push(x);
      if ((pending_novelty_ >= params().context_threshold || pending_alarm_) &&
          observed() >= static_cast<uint64_t>(params().warmup)) {
        context_high_ = observed() + 1;
      }
    }
    // Warm-up strengths are not alarms: do not let them suppress the first real event.
    if (observed() >= static_cast<uint64_t>(params().warmup)) {
      if (params().suppress_fraction > 0) {
        // The memory of an alarm grows with the series seen: a long series' incidents are longer.
        const double length = std::max(static_cast<double>(params().suppress),
                                       params().suppress_fraction * static_cast<double>(observed()));
        peak_.decay = std::exp(-1.0 / length);
      }
      peak_.Step(pending_z_);
      if (params().calibration > 0) usual_.Push(pending_z_);
    }
  }

  void SaveBody(json::object& out) const override {
    json::object level, local, steps, seasonal, ewma;
    level_.Save(level);
    local_.Save(local);
    steps_.Save(steps);
    out["local"] = std::move(local);
    out["steps"] = std::move(steps);
    seasonal_.Save(seasonal);
    ewma_.Save(ewma);
    out["level"] = std::move(level);
    out["seasonal"] = std::move(seasonal);
    out["ewma"] = std::move(ewma);
    json::object usual;
    usual_.Save(usual);
    out["usual"] = std::move(usual);
    recent_.Save(out, "recent");
    out["peak"] = peak_.peak;
    out["seenLow"] = seen_lo_;
    out["seenHigh"] = seen_hi_;
    json::object context;
    context_.Save(context);
    out["context"] = std::move(context);
    out["contextHigh"] = context_high_;
  }

  Status RestoreBody(const json::object& in) override {
    const auto* level = GetObject(in, "level");
    const auto* seasonal = GetObject(in, "seasonal");
    const auto* ewma = GetObject(in, "ewma");
    const auto* usual = GetObject(in, "usual");
    const auto* local = GetObject(in, "local");
    const auto* steps = GetObject(in, "steps");
    if (local == nullptr || steps == nullptr) return Status::InvalidArgument("detector state: ensemble components missing");
    DOPPEL_RETURN_IF_ERROR(local_.Restore(*local));
    DOPPEL_RETURN_IF_ERROR(steps_.Restore(*steps));
    if (level == nullptr || seasonal == nullptr || ewma == nullptr || usual == nullptr) {
      return Status::InvalidArgument("detector state: ensemble components missing");
    }
    DOPPEL_RETURN_IF_ERROR(level_.Restore(*level));
    DOPPEL_RETURN_IF_ERROR(seasonal_.Restore(*seasonal));
    DOPPEL_RETURN_IF_ERROR(ewma_.Restore(*ewma));
    DOPPEL_RETURN_IF_ERROR(usual_.Restore(*usual));
    DOPPEL_RETURN_IF_ERROR(recent_.Restore(in, "recent"));
    const auto* context = GetObject(in, "context");
    if (context == nullptr) return Status::InvalidArgument("detector state: ensemble components missing");
    DOPPEL_RETURN_IF_ERROR(context_.Restore(*context));
    DOPPEL_RETURN_IF_ERROR(GetCount(in, "contextHigh", context_high_));
    DOPPEL_RETURN_IF_ERROR(GetNumber(in, "seenLow", seen_lo_));
    DOPPEL_RETURN_IF_ERROR(GetNumber(in, "seenHigh", seen_hi_));
    return GetNumber(in, "peak", peak_.peak);
  }

 private:
  RollingRobust level_;
  RollingRobust local_;  // the short baseline (localWindow)
  RollingRobust steps_;  // changes from one reading to the next (diffWeight)
  Ring recent_;
  SeasonalBaseline seasonal_;
  Ewm ewma_;
  DecayingPeak peak_;
  RollingQuantile usual_;  // the series' usual strength (calibration)
  double pending_z_ = 0;  // the strength Assess found, for Learn
  double seen_lo_ = 0, seen_hi_ = 0;  // the range of every value learnt (familiarWeight)
  ContextModel context_;  // the novelty of the current pattern (contextWeight)
  uint64_t context_high_ = 0;  // 1 + the index of the last reading whose novelty reached contextThreshold
  double pending_novelty_ = 0;
  bool pending_alarm_ = false;  // Assess found a strength at or above `threshold`
};

}  // namespace

std::unique_ptr<Detector> MakeEnsemble(const DetectorParams& p) { return std::make_unique<EnsembleDetector>(p); }

}  // namespace doppel::analytics::internal
