// Streaming anomaly detectors (src/analytics/anomaly/detector.h): what each kind flags and what
// it leaves alone, warm-up, parameter validation and exact Save/Restore.
#include "analytics/anomaly/detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

namespace doppel::analytics {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kFiveMinutes = 300'000'000'000;

std::unique_ptr<Detector> Make(std::string_view json) {
  auto spec = ParseDetectorSpec(ParseJson(json).value());
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return MakeDetector(*spec);
}

double Feed(Detector& d, int64_t time, double x) { return d.Update(time, std::span<const double>(&x, 1)).score; }

// Deterministic Gaussian noise.
class Noise {
 public:
  explicit Noise(uint32_t seed) : rng_(seed) {}
  double operator()(double sigma) { return std::normal_distribution<double>(0, sigma)(rng_); }

 private:
  std::mt19937 rng_;
};

std::string ErrorOf(std::string_view json) {
  auto spec = ParseDetectorSpec(ParseJson(json).value());
  return spec.ok() ? "" : spec.status().message();
}

TEST(DetectorSpecTest, RejectsBadParametersWithSpecificMessages) {
  EXPECT_EQ(ErrorOf(R"({"kind": "mad", "window": 3})"), "detector 'window' must be an integer in [8, 100000], got 3");
  EXPECT_EQ(ErrorOf(R"({"kind": "mad", "window": 20.5})"),
            "detector 'window' must be an integer in [8, 100000], got 20.5");
  EXPECT_EQ(ErrorOf(R"({"kind": "foo"})"),
            "unknown detector kind 'foo' (expected mad, ewma, seasonal, changepoint, multivariate, context, ensemble)");
  EXPECT_EQ(ErrorOf(R"({"kind": "ewma", "alpha": 0.9})"), "detector 'alpha' must be a number in [0.0001, 0.5], got 0.9");
  EXPECT_EQ(ErrorOf(R"({"kind": "seasonal", "period": 30})"),
            "detector 'period' must be 0 (detect) or a number of seconds in [60, 31622400], got 30");
  EXPECT_EQ(ErrorOf(R"({"kind": "mad", "eventThreshold": 2})"),
            "detector 'eventThreshold' must be a number in (0, 1], got 2");
  EXPECT_EQ(ErrorOf(R"({"kind": "multivariate", "signals": ["a"]})"),
            "a multivariate detector needs 2 to 32 signals, got 1");
  EXPECT_EQ(ErrorOf(R"({"kind": "mad", "signals": ["a", "b"]})"),
            "a 'mad' detector reads one signal, got 2 (use kind 'multivariate')");
  EXPECT_EQ(ErrorOf(R"({"kind": "mad", "alpha": 0.1})"),
            "detector kind 'mad' has no parameter 'alpha' (expected one of window, warmup, threshold, range)");
  EXPECT_EQ(ErrorOf(R"({"kind": "ensemble", "log": 1})"), "detector 'log' must be true or false, got 1");
  EXPECT_EQ(ErrorOf(R"({"kind": "ensemble", "calibration": 5})"),
            "detector 'calibration' must be 0 (off) or an integer in [32, 100000], got 5");
  EXPECT_EQ(ErrorOf(R"({"kind": "context", "contextBins": 1})"), "detector 'contextBins' must be an integer in [2, 64], got 1");
  EXPECT_EQ(ErrorOf(R"({"kind": "context", "window": 100})"),
            "detector kind 'context' has no parameter 'window' (expected one of contextBins, contextOrder, contextMemory, "
            "contextThreshold, rest, restFraction, warmup)");
  EXPECT_EQ(ErrorOf(R"({"kind": "seasonal", "phaseTolerance": 17})"),
            "detector 'phaseTolerance' must be an integer in [0, 16], got 17");
}

TEST(DetectorSpecTest, DefaultsToTheEnsembleAndEchoesItsParameters) {
  auto spec = ParseDetectorSpec(ParseJson(R"({"signals": ["v"], "window": 64, "eventThreshold": 0.8})").value());
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->kind, "ensemble");
  EXPECT_EQ(spec->event_threshold, 0.8);
  const json::object echoed = DetectorSpecToJson(*spec);
  EXPECT_EQ(echoed.at("window").as_int64(), 64);
  EXPECT_EQ(echoed.at("kind").as_string(), "ensemble");
  EXPECT_EQ(ParseDetectorSpec(echoed).value().parameters, spec->parameters);
}

TEST(MadDetectorTest, WarmsUpThenFlagsASpikeButNotTheNoise) {
  auto d = Make(R"({"kind": "mad", "window": 200, "warmup": 30})");
  Noise noise(1);
  double worst_normal = 0;
  for (int i = 0; i < 300; ++i) {
    const double s = Feed(*d, kT0 + i * kFiveMinutes, 50 + noise(1));
    if (i < 30) {
      EXPECT_EQ(s, 0) << "warm-up reading " << i;
    } else {
      worst_normal = std::max(worst_normal, s);
    }
  }
  EXPECT_EQ(d->observed(), 300u);
  EXPECT_LT(worst_normal, 0.9);
  const Score spike = d->Update(kT0 + 300 * kFiveMinutes, std::vector<double>{62});
  EXPECT_GE(spike.score, 0.9);
  EXPECT_EQ(spike.evidence.value, 62);
  EXPECT_NEAR(spike.evidence.expected, 50, 0.5);
  EXPECT_LT(spike.evidence.high, 62);
  EXPECT_GT(spike.evidence.low, 40);
}

TEST(MadDetectorTest, IgnoresAbsentValuesAndDoesNotLearnOldReadings) {
  auto d = Make(R"({"kind": "mad", "warmup": 10})");
  for (int i = 0; i < 50; ++i) Feed(*d, kT0 + i * kFiveMinutes, i % 2);
  EXPECT_EQ(Feed(*d, kT0 + 50 * kFiveMinutes, std::nan("")), 0);
  EXPECT_EQ(d->observed(), 50u);
  // An out-of-order reading is scored, not learnt.
  EXPECT_GE(Feed(*d, kT0, 100), 0.9);
  EXPECT_EQ(d->observed(), 50u);
}

TEST(EwmaDetectorTest, FlagsADeparture) {
  auto d = Make(R"({"kind": "ewma", "alpha": 0.05})");
  Noise noise(2);
  for (int i = 0; i < 200; ++i) EXPECT_LT(Feed(*d, kT0 + i * kFiveMinutes, 10 + noise(0.5)), 0.9);
  EXPECT_GE(Feed(*d, kT0 + 200 * kFiveMinutes, 16), 0.9);
}

TEST(ChangepointDetectorTest, FindsAStepOnceAndNotBeforeIt) {
  auto d = Make(R"({"kind": "changepoint", "window": 200, "threshold": 12})");
  Noise noise(3);
  int first_alarm = -1, alarms = 0;
  for (int i = 0; i < 600; ++i) {
    const double level = i < 300 ? 20 : 22;  // a step of 2σ: no single reading is a spike
    const double s = Feed(*d, kT0 + i * kFiveMinutes, level + noise(1));
    if (s >= 0.9) {
      ++alarms;
      if (first_alarm < 0) first_alarm = i;
    }
  }
  EXPECT_GE(first_alarm, 300);
  EXPECT_LE(first_alarm, 315);
  EXPECT_EQ(alarms, 1) << "one change, one alarm: the baseline restarts in the new regime";
}

// A daily pattern sampled every 5 minutes: a sine between 0 and 100.
double Daily(int i) { return 50 + 50 * std::sin(2 * std::numbers::pi * (i % 288) / 288.0); }

TEST(SeasonalDetectorTest, DetectsTheDayLeavesThePatternAloneAndFlagsItsBreak) {
  auto seasonal = Make(R"({"kind": "seasonal"})");  // period detected
  auto mad = Make(R"({"kind": "mad", "window": 600})");
  Noise noise(4);
  double worst_seasonal = 0;
  const int days = 8 * 288;
  for (int i = 0; i < days; ++i) {
    const double x = Daily(i) + noise(1);
    const double s = Feed(*seasonal, kT0 + i * kFiveMinutes, x);
    Feed(*mad, kT0 + i * kFiveMinutes, x);
    if (i >= 2 * 288) worst_seasonal = std::max(worst_seasonal, s);
  }
  EXPECT_LT(worst_seasonal, 0.9) << "the daily pattern is not an anomaly";
  // The pattern breaks: at the trough of the day the value stays at mid-range (50), which is
  // well inside the overall range, so a plain baseline does not see it.
  const int trough = days + 216;  // sin = −1 at 3/4 of the day
  for (int i = days; i < trough; ++i) {
    const double x = Daily(i) + noise(1);
    Feed(*seasonal, kT0 + i * kFiveMinutes, x);
    Feed(*mad, kT0 + i * kFiveMinutes, x);
  }
  const Score broken = seasonal->Update(kT0 + trough * kFiveMinutes, std::vector<double>{50});
  EXPECT_GE(broken.score, 0.9);
  EXPECT_NEAR(broken.evidence.expected, 0, 5);
  EXPECT_LT(Feed(*mad, kT0 + trough * kFiveMinutes, 50), 0.5);
}

TEST(MultivariateDetectorTest, FlagsABrokenCorrelationAndNamesTheSignal) {
  auto d = Make(R"({"kind": "multivariate", "signals": ["load", "temperature"], "alpha": 0.02})");
  Noise noise(5);
  double load = 0;
  for (int i = 0; i < 1000; ++i) {
    load = 50 + 10 * std::sin(i / 20.0) + noise(1);
    const double temperature = 20 + 0.5 * (load - 50) + noise(0.2);
    const Score s = d->Update(kT0 + i * kFiveMinutes, std::vector<double>{load, temperature});
    if (i < 50) {
      EXPECT_EQ(s.score, 0);
    } else if (i >= 300) {
      EXPECT_LT(s.score, 0.9) << i;
    }
  }
  // The temperature stays within its usual range but no longer follows the load.
  const Score s = d->Update(kT0 + 1000 * kFiveMinutes, std::vector<double>{45, 24});
  EXPECT_GE(s.score, 0.9);
  ASSERT_EQ(s.evidence.contributions.size(), 2u);
  EXPECT_GT(s.evidence.contributions[1], 0.6);
  EXPECT_NEAR(s.evidence.contributions[0] + s.evidence.contributions[1], 1, 1e-9);
}

TEST(EnsembleDetectorTest, RaisesOneHighScorePerEvent) {
  auto d = Make(R"({"kind": "ensemble"})");
  Noise noise(6);
  int noise_events = 0;
  for (int i = 0; i < 3000; ++i) {
    const double s = Feed(*d, kT0 + i * kFiveMinutes, 100 + noise(2));
    if (i < 300) {
      EXPECT_EQ(s, 0) << "warm-up";
    }
    noise_events += s >= 0.9;
  }
  EXPECT_LE(noise_events, 2) << "Gaussian noise is not an anomaly (a rare new record may be)";
  const double first = Feed(*d, kT0 + 3000 * kFiveMinutes, 130);
  const double repeat = Feed(*d, kT0 + 3001 * kFiveMinutes, 130);
  EXPECT_GE(first, 0.9);
  EXPECT_LT(repeat, 0.5) << "the same event again is suppressed";
}

// A ramp 0, 1, ..., 7, 0, 1, ... : a pattern the context detector learns in a few cycles.
double Ramp(int i) { return i % 8; }

TEST(ContextDetectorTest, ANewPatternScoresHighARepeatedOneDoesNot) {
  auto d = Make(R"({"kind": "context", "contextBins": 8, "contextOrder": 3, "rest": 20, "warmup": 50})");
  int i = 0;
  for (; i < 800; ++i) {
    const double s = Feed(*d, kT0 + i * kFiveMinutes, Ramp(i));
    if (i >= 50) {
      EXPECT_EQ(s, 0) << "a learnt pattern is not new, at " << i;
    }
  }
  // i % 8 == 0: the ramp would restart at 0; 3 instead is a known value after 7, never seen there.
  ASSERT_EQ(i % 8, 0);
  const double jump = Feed(*d, kT0 + i * kFiveMinutes, 3);
  EXPECT_NEAR(jump, 2.0 / 3, 1e-12) << "the pair (7, 3) and the triple ending in it are new; the value is not";
  ++i;
  // Back to the ramp, past the rest.
  for (const int end = i + 63; i < end; ++i) Feed(*d, kT0 + i * kFiveMinutes, Ramp(i));
  ASSERT_EQ(i % 8, 0);
  // The same break again is no longer new.
  EXPECT_EQ(Feed(*d, kT0 + i * kFiveMinutes, 3), 0);
  ++i;
  for (const int end = i + 63; i < end; ++i) Feed(*d, kT0 + i * kFiveMinutes, Ramp(i));
  // A value above the range: "above" is a bin of its own (visited while the range grew, in the
  // first cycle), but never after a 7, so its pair and triple are new.
  EXPECT_NEAR(Feed(*d, kT0 + i * kFiveMinutes, 50), 2.0 / 3, 1e-12);
  ++i;
  // Right after a high novelty the detector rests: the event raises one alarm.
  EXPECT_EQ(Feed(*d, kT0 + i * kFiveMinutes, 60), 0);
}

TEST(ContextDetectorTest, RemembersWhatItHasRoomForAndForgetsBeyondIt) {
  // A memory of 64 contexts cannot hold a long random walk's: old contexts are forgotten, so
  // revisited ones can be new again, but the detector keeps working within its bound.
  auto small = Make(R"({"kind": "context", "contextBins": 64, "contextOrder": 4, "contextMemory": 64, "rest": 0,
                        "warmup": 0})");
  auto large = Make(R"({"kind": "context", "contextBins": 64, "contextOrder": 4, "contextMemory": 65536, "rest": 0,
                        "warmup": 0})");
  Noise noise(11);
  double small_novelty = 0, large_novelty = 0;
  // The range is set by the first two values, so both passes see the same bins.
  std::vector<double> values{-30, 30};
  for (int i = 0; i < 400; ++i) values.push_back(std::clamp(std::round(noise(10)), -29.0, 29.0));
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int64_t t = kT0 + static_cast<int64_t>(pass * values.size() + i) * kFiveMinutes;
      const double a = Feed(*small, t, values[i]), b = Feed(*large, t, values[i]);
      if (pass == 1) {
        small_novelty += a;
        large_novelty += b;
      }
    }
  }
  // Only the second pass's first readings can be new: their contexts reach back into the first
  // pass's end, and the first pass's first two values were binned before the range was known.
  EXPECT_LE(large_novelty, 4) << "the second pass repeats the first exactly";
  EXPECT_GT(small_novelty, 10) << "64 slots cannot remember 400 readings' contexts";
}

TEST(EnsembleDetectorTest, FlagsAValueNeverSeenEvenWhenTheSeriesIsSpiky) {
  // Spikes of 40 every 50 readings set the calibration's usual strength high; a level never
  // reached before (the context component: a new bin of the range) still raises an alarm.
  auto d = Make(R"({"kind": "ensemble"})");
  Noise noise(3);
  for (int i = 0; i < 3000; ++i) Feed(*d, kT0 + i * kFiveMinutes, 100 + noise(1) + (i % 50 == 0 ? 40 : 0));
  EXPECT_GE(Feed(*d, kT0 + 3000 * kFiveMinutes, 150), 0.9);
}

TEST(EnsembleDetectorTest, AValueWithinTheRangeSeenScoresLowerThanANewRecord) {
  // Two detectors see the same noise; one also saw a reading of 140 long ago (in its warm-up, so
  // neither its suppression nor its calibration remembers it). 125 is a record for one only.
  auto record = Make(R"({"kind": "ensemble", "contextWeight": 0})");
  auto familiar = Make(R"({"kind": "ensemble", "contextWeight": 0})");
  Noise noise(8);
  for (int i = 0; i < 3000; ++i) {
    const double x = 100 + noise(2);
    Feed(*record, kT0 + i * kFiveMinutes, x);
    Feed(*familiar, kT0 + i * kFiveMinutes, i == 50 ? 140 : x);
  }
  const double as_record = Feed(*record, kT0 + 3000 * kFiveMinutes, 125);
  const double as_familiar = Feed(*familiar, kT0 + 3000 * kFiveMinutes, 125);
  EXPECT_GE(as_record, 0.9);
  EXPECT_LT(as_familiar, as_record);
  // With familiarWeight 1 the two score almost alike: the difference is the familiarity.
  auto unweighted = Make(R"({"kind": "ensemble", "contextWeight": 0, "familiarWeight": 1})");
  Noise same(8);
  for (int i = 0; i < 3000; ++i) {
    const double x = 100 + same(2);
    Feed(*unweighted, kT0 + i * kFiveMinutes, i == 50 ? 140 : x);
  }
  const double as_unweighted = Feed(*unweighted, kT0 + 3000 * kFiveMinutes, 125);
  EXPECT_LT(as_familiar, as_unweighted);
  EXPECT_NEAR(as_unweighted, as_record, 0.01) << "the reading of 140 moved the baselines only slightly";
}

// Feeds `n` readings of a noisy daily pattern with a spike now and then; returns the scores.
std::vector<double> Drive(Detector& d, int from, int n, std::size_t signals) {
  Noise noise(static_cast<uint32_t>(7 + from));
  std::vector<double> scores;
  for (int i = from; i < from + n; ++i) {
    std::vector<double> values;
    for (std::size_t k = 0; k < signals; ++k) values.push_back(Daily(i) * (1 + k) + noise(2) + (i % 97 == 0 ? 40 : 0));
    scores.push_back(d.Update(kT0 + i * kFiveMinutes, values).score);
  }
  return scores;
}

TEST(DetectorStateTest, ARestoredDetectorScoresExactlyAsTheOriginal) {
  for (std::string_view spec : {R"({"kind": "mad"})", R"({"kind": "ewma"})", R"({"kind": "seasonal"})",
                                R"({"kind": "changepoint"})", R"({"kind": "ensemble"})", R"({"kind": "context"})",
                                R"({"kind": "multivariate", "signals": ["a", "b", "c"]})"}) {
    SCOPED_TRACE(spec);
    const std::size_t signals = spec.find("multivariate") != std::string_view::npos ? 3 : 1;
    for (int saved_at : {200, 900}) {  // seasonal: inside and after its warm-up
      auto original = Make(spec);
      Drive(*original, 0, saved_at, signals);
      // Through text, as the service persists it.
      auto state = ParseJson(ToJson(original->Save()));
      ASSERT_TRUE(state.ok());
      auto restored = Make(spec);
      ASSERT_TRUE(restored->Restore(state->get_object()).ok());
      EXPECT_EQ(restored->observed(), original->observed());
      const auto expected = Drive(*original, saved_at, 500, signals);
      const auto got = Drive(*restored, saved_at, 500, signals);
      EXPECT_EQ(got, expected);
      EXPECT_TRUE(std::any_of(expected.begin(), expected.end(), [](double s) { return s > 0; })) << saved_at;
    }
  }
}

TEST(DetectorStateTest, RefusesTheStateOfAnotherKindOrOtherParameters) {
  auto mad = Make(R"({"kind": "mad"})");
  Drive(*mad, 0, 100, 1);
  auto ewma = Make(R"({"kind": "ewma"})");
  const Status other_kind = ewma->Restore(mad->Save());
  EXPECT_EQ(other_kind.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(other_kind.message(), "detector state is not of kind 'ewma'");
  auto wider = Make(R"({"kind": "mad", "window": 1000})");
  EXPECT_EQ(wider->Restore(mad->Save()).message(), "detector state was saved with other parameters");
  EXPECT_EQ(wider->observed(), 0u);
}

}  // namespace
}  // namespace doppel::analytics
