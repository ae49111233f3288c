#include "analytics/rul/rul_model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "analytics/rul/rul_training.h"
#include "analytics/rul_test_data.h"

namespace doppel::analytics {
namespace {

using testing::FleetOptions;
using testing::SyntheticFleet;
using testing::SyntheticSpec;

// Small and quick: the tests are about behaviour, the C-MAPSS bench about accuracy.
RulTrainingOptions Quick() {
  RulTrainingOptions o;
  o.boosting.rounds = 120;
  o.boosting.eta = 0.1;
  return o;
}

// The model's error on fresh units (never trained on), every cycle vs the capped truth.
double FreshRmse(const RulModel& model, const std::vector<UnitHistory>& units) {
  double sse = 0;
  std::size_t n = 0;
  for (const auto& u : units) {
    RulTracker tracker(std::shared_ptr<const RulModel>(&model, [](const RulModel*) {}));
    for (std::size_t t = 0; t < u.cycles.size(); ++t) {
      tracker.Add(u.cycles[t]);
      double truth = std::min(125.0, static_cast<double>(u.cycles.size() - 1 - t));
      sse += std::pow(tracker.Estimate().rul - truth, 2);
      ++n;
    }
  }
  return std::sqrt(sse / static_cast<double>(n));
}

class RulModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto m = TrainRulModel(SyntheticSpec(true),
                           SyntheticFleet(FleetOptions{.units = 30, .regimes = 6}), Quick());
    ASSERT_TRUE(m.ok()) << m.status().message();
    model_ = new std::shared_ptr<const RulModel>(*m);
  }
  static void TearDownTestSuite() { delete model_; }
  static const std::shared_ptr<const RulModel>& model() { return *model_; }

 private:
  static inline std::shared_ptr<const RulModel>* model_ = nullptr;
};

TEST_F(RulModelTest, LearnsWearAcrossSixOperatingRegimes) {
  const auto& report = model()->report();
  EXPECT_EQ(report.units, 30u);
  EXPECT_GT(report.cycles, 30u * 150);
  EXPECT_LT(report.validation_rmse, 20);
  EXPECT_GT(report.validation_rmse, 0);
  EXPECT_LT(report.validation_last_rmse, 25);
  auto fresh = SyntheticFleet(FleetOptions{.units = 10, .regimes = 6, .seed = 99});
  EXPECT_LT(FreshRmse(*model(), fresh), 20);
}

TEST_F(RulModelTest, IgnoringTheRegimesHidesTheWear) {
  // Same fleet without the settings: the regime offsets drown the drift.
  auto fleet = testing::WithoutSettings(SyntheticFleet(FleetOptions{.units = 30, .regimes = 6}));
  auto blind = TrainRulModel(SyntheticSpec(false), fleet, Quick());
  ASSERT_TRUE(blind.ok());
  EXPECT_GT((*blind)->report().validation_rmse, 1.5 * model()->report().validation_rmse);
}

TEST_F(RulModelTest, EstimateFallsTowardFailureWithItsIntervalAndHealth) {
  auto unit = SyntheticFleet(
      FleetOptions{.units = 1, .regimes = 6, .seed = 5, .min_life = 240, .max_life = 240})[0];
  RulTracker tracker(model());
  std::vector<RulEstimate> e;
  for (const auto& c : unit.cycles) {
    tracker.Add(c);
    e.push_back(tracker.Estimate());
  }
  EXPECT_GT(e[40].rul, 100) << "young: near the cap";
  EXPECT_LT(e.back().rul, 25) << "at failure";
  for (const auto& x : e) {
    EXPECT_LE(x.low, x.rul);
    EXPECT_GE(x.high, x.rul);
    EXPECT_GE(x.low, 0);
    EXPECT_NEAR(x.health, x.rul / 125, 1e-12);
  }
  EXPECT_EQ(e.back().cycles, 240u);
  EXPECT_GT(e[40].high - e[40].low, 0) << "a real interval";
}

TEST_F(RulModelTest, IntervalCoversMostFreshUnitsTrueRul) {
  auto fresh = SyntheticFleet(FleetOptions{.units = 10, .regimes = 6, .seed = 123});
  std::size_t inside = 0, n = 0;
  for (const auto& u : fresh) {
    for (std::size_t t = 20; t < u.cycles.size(); t += 7, ++n) {
      auto e = model()->Predict(std::vector(u.cycles.begin(), u.cycles.begin() + t + 1));
      double truth = static_cast<double>(u.cycles.size() - 1 - t);  // not capped
      inside += truth >= e.low && truth <= e.high;
    }
  }
  double coverage = static_cast<double>(inside) / static_cast<double>(n);
  EXPECT_GT(coverage, 0.75);  // ~90 % intended
  EXPECT_LT(coverage, 1.0);
}

TEST_F(RulModelTest, TrackerPredictsExactlyWhatTheWholeHistoryDoes) {
  auto unit = SyntheticFleet(FleetOptions{.units = 1, .regimes = 6, .seed = 11})[0];
  RulTracker tracker(model());
  std::vector<std::vector<double>> so_far;
  for (std::size_t t = 0; t < unit.cycles.size(); ++t) {
    tracker.Add(unit.cycles[t]);
    so_far.push_back(unit.cycles[t]);
    if (t % 13 != 0 && t + 1 != unit.cycles.size()) continue;
    auto a = tracker.Estimate(), b = model()->Predict(so_far);
    EXPECT_EQ(a.rul, b.rul) << "cycle " << t;
    EXPECT_EQ(a.low, b.low);
    EXPECT_EQ(a.cycles, b.cycles);
  }
  EXPECT_EQ(tracker.cycles(), unit.cycles.size());
}

TEST_F(RulModelTest, SavedModelAndTrackerStateGiveTheSameEstimates) {
  auto loaded = RulModel::Load(json::value(model()->Save()));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ((*loaded)->spec().signals, model()->spec().signals);
  EXPECT_EQ((*loaded)->report().validation_rmse, model()->report().validation_rmse);
  auto unit = SyntheticFleet(FleetOptions{.units = 1, .regimes = 6, .seed = 12})[0];
  RulTracker before(model());
  for (std::size_t t = 0; t < 100; ++t) before.Add(unit.cycles[t]);
  RulTracker after(*loaded);
  ASSERT_TRUE(after.Restore(before.Save()).ok());
  EXPECT_EQ(after.cycles(), 100u);
  EXPECT_EQ(after.Estimate().rul, before.Estimate().rul);
  EXPECT_EQ(after.Estimate().high, before.Estimate().high);

  EXPECT_FALSE(after.Restore(json::object{{"cycles", 3}}).ok());
  EXPECT_FALSE(
      after.Restore(json::object{{"cycles", 1}, {"recent", json::array{json::array{1, 2}}}}).ok())
      << "a cycle of the wrong width";
}

TEST(RulModelLoadTest, RefusesWhatIsNotASavedModel) {
  EXPECT_FALSE(RulModel::Load(json::value("x")).ok());
  EXPECT_FALSE(RulModel::Load(json::object{{"format", "doppel.rul.gbt"}, {"version", 99}}).ok());
  EXPECT_FALSE(RulModel::Load(json::object{{"format", "doppel.rul.gbt"}, {"version", 1}}).ok());
}

TEST(RulTrainTest, RefusesTooFewUnitsAndCyclesOfTheWrongWidth) {
  auto fleet = SyntheticFleet(FleetOptions{.units = 3, .regimes = 1});
  auto two = std::vector(fleet.begin(), fleet.begin() + 2);
  auto r = RulModel::Train(SyntheticSpec(true), two);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("at least 3"), std::string::npos);
  fleet[1].cycles[5].pop_back();
  r = RulModel::Train(SyntheticSpec(true), fleet);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unit1"), std::string::npos);
}

TEST(RulTrainTest, ReportsProgressAndCanBeCancelled) {
  auto fleet = SyntheticFleet(FleetOptions{.units = 6, .regimes = 1});
  std::vector<double> fractions;
  auto options = Quick();
  options.boosting.rounds = 40;
  auto r = TrainRulModel(SyntheticSpec(true), fleet, options, [&](const TrainProgress& p) {
    fractions.push_back(p.fraction);
    return true;
  });
  ASSERT_TRUE(r.ok());
  ASSERT_GE(fractions.size(), 3u);
  EXPECT_EQ(fractions.front(), 0);
  EXPECT_EQ(fractions.back(), 1);
  EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));

  auto cancelled = TrainRulModel(SyntheticSpec(true), fleet, options,
                                 [](const TrainProgress& p) { return p.fraction < 0.3; });
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.status().message(), "training cancelled");
}

TEST(RulSpecTest, ParsesAndRoundTrips) {
  auto body = json::object{{"signals", json::array{"s2", "s3"}},
                           {"settings", json::array{"alt"}},
                           {"cap", 130},
                           {"validationShare", 0.25},
                           {"seed", 4},
                           {"model", "dtmi:x;1"}};
  auto spec = ParseRulSpec(body);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->signals, (std::vector<std::string>{"s2", "s3"}));
  EXPECT_EQ(spec->settings, (std::vector<std::string>{"alt"}));
  EXPECT_EQ(spec->cap, 130);
  EXPECT_EQ(spec->validation_share, 0.25);
  EXPECT_EQ(spec->seed, 4u);
  auto again = ParseRulSpec(json::value(RulSpecToJson(*spec)));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->signals, spec->signals);
  EXPECT_EQ(again->cap, spec->cap);
}

TEST(RulSpecTest, NamesTheFieldItRefuses) {
  auto message = [](json::object body) {
    return ParseRulSpec(json::value(body)).status().message();
  };
  EXPECT_EQ(message({{"signals", json::array{"a"}}, {"cap", 0}}), "'cap' must be in [1, 100000]");
  EXPECT_EQ(message({}), "'signals' is required");
  EXPECT_EQ(message({{"signals", json::array{}}}), "'signals' must name at least one signal");
  EXPECT_EQ(message({{"signals", json::array{"a", "a"}}}), "'signals' names 'a' twice");
  EXPECT_EQ(message({{"signals", json::array{"a"}}, {"settings", json::array{"a"}}}),
            "'a' is both a signal and a setting");
  EXPECT_EQ(message({{"signals", json::array{"a"}}, {"validationShare", 0.9}}),
            "'validationShare' must be in [0.05, 0.5]");
  EXPECT_EQ(message({{"signals", json::array{"a"}}, {"seed", 1.5}}), "'seed' must be an integer");
}

}  // namespace
}  // namespace doppel::analytics
