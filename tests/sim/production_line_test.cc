#include "sim/models/production_line.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

namespace doppel::sim {
namespace {

constexpr double kHour = 3600.0;

class ProductionLineTest : public ::testing::Test {
 protected:
  void SetUp() override { line_ = NewProductionLine(); }

  void SetVar(Simulation& sim, const std::string& name, double value) {
    auto index = sim.info().Index(name);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    Status status = sim.Set(*index, value);
    ASSERT_TRUE(status.ok()) << name << ": " << status.ToString();
  }
  void Set(const std::string& name, double value) { SetVar(*line_, name, value); }
  static double GetVar(const Simulation& sim, const std::string& name) {
    auto index = sim.info().Index(name);
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    return index.ok() ? sim.Get(*index) : 0.0;
  }
  double Get(const std::string& name) const { return GetVar(*line_, name); }
  Status TrySet(const std::string& name, double value) {
    return line_->Set(*line_->info().Index(name), value);
  }
  void Advance(double seconds) { ASSERT_TRUE(line_->Step(seconds).ok()); }

  // A deterministic line: the given cycle times, no variability, failures or scrap.
  void MakeDeterministic(const std::vector<double>& cycle_times) {
    Set("stations", static_cast<double>(cycle_times.size()));
    Set("cycleTimeCv", 0);
    for (std::size_t k = 0; k < cycle_times.size(); ++k) {
      const std::string s = "station" + std::to_string(k + 1);
      Set(s + "CycleTime", cycle_times[k]);
      Set(s + "Mtbf", 0);
      Set(s + "ScrapRate", 0);
    }
  }

  std::unique_ptr<Simulation> line_;
};

TEST_F(ProductionLineTest, InfoHasAFixedLayoutAndTheDemoDefaults) {
  const ModelInfo info = ProductionLineInfo();
  EXPECT_EQ(info.name, "productionLine");
  EXPECT_TRUE(info.stochastic);
  // 10 line-wide variables, 12 per station, 2 per buffer.
  EXPECT_EQ(info.variables.size(), 10u + 8u * 12u + 7u * 2u);
  EXPECT_TRUE(info.Find("station8ActiveFraction").has_value());
  EXPECT_TRUE(info.Find("buffer7Level").has_value());
  EXPECT_FALSE(info.Find("buffer8Capacity").has_value());
  EXPECT_EQ(info.variables[*info.Find("bottleneckStation")].causality, Causality::kOutput);
  EXPECT_EQ(info.variables[*info.Find("buffer3Level")].causality, Causality::kState);
  EXPECT_EQ(info.variables[*info.Find("station2Stopped")].causality, Causality::kInput);
  // Halden Line 1: turning 52 s, milling 2 x 98 s in parallel, washing 40 s, leak test 45 s.
  EXPECT_EQ(Get("stations"), 4);
  EXPECT_EQ(Get("station1CycleTime"), 52);
  EXPECT_EQ(Get("station2CycleTime"), 49);
  EXPECT_EQ(Get("station3CycleTime"), 40);
  EXPECT_EQ(Get("station4CycleTime"), 45);
  EXPECT_EQ(line_->info().name, "productionLine");
}

TEST_F(ProductionLineTest, DeterministicLineRunsAtItsSlowestStation) {
  MakeDeterministic({30, 60, 40});
  Advance(kHour);  // warm-up: the line fills
  Advance(100 * kHour);
  EXPECT_NEAR(Get("stepThroughput"), 3600.0 / 60.0, 0.05);
  EXPECT_EQ(Get("bottleneckStation"), 2);
  EXPECT_GT(Get("station2Utilisation"), 0.99);
  // Station 1 could do two parts a minute but the bottleneck takes one: blocked half the time.
  EXPECT_NEAR(Get("station1BlockedFraction"), 0.5, 0.01);
  EXPECT_NEAR(Get("station3StarvedFraction"), 1.0 / 3.0, 0.01);
  EXPECT_EQ(Get("station1State"), 2);  // blocked behind the full buffer
  EXPECT_EQ(Get("station5State"), 0);  // unused
  EXPECT_EQ(Get("scrapCount"), 0);
}

TEST_F(ProductionLineTest, DemoLineWithoutFailuresIsPacedByTurning) {
  MakeDeterministic({52, 49, 40, 45});
  Advance(kHour);
  Advance(200 * kHour);
  EXPECT_NEAR(Get("stepThroughput"), 3600.0 / 52.0, 0.05);
  EXPECT_EQ(Get("bottleneckStation"), 1);
  EXPECT_NEAR(Get("station1Utilisation"), 1.0, 1e-9);  // the source never starves station 1
  EXPECT_NEAR(Get("station4Utilisation"), 45.0 / 52.0, 0.01);
}

TEST_F(ProductionLineTest, LittlesLawHolds) {
  for (int k = 1; k <= 4; ++k) Set("station" + std::to_string(k) + "ScrapRate", 0);
  line_->Seed(11);
  Advance(2000 * kHour);
  const double parts_per_s = Get("throughput") / 3600.0;
  const double flow_time_s = Get("meanFlowTime");
  ASSERT_GT(flow_time_s, 0);
  EXPECT_NEAR(Get("averageWip"), parts_per_s * flow_time_s, 0.01 * Get("averageWip"));
  EXPECT_GT(Get("averageWip"), 2.0);  // failures make buffers fill: a meaningful WIP
}

TEST_F(ProductionLineTest, ScrapRemovesTheExpectedFraction) {
  MakeDeterministic({60, 30, 30});
  Set("station3ScrapRate", 0.1);
  line_->Seed(5);
  Advance(1000 * kHour);
  const double good = Get("goodCount");
  const double scrap = Get("scrapCount");
  // 60,000 parts: the standard error of the scrap share is about 0.0012.
  EXPECT_NEAR(scrap / (good + scrap), 0.1, 0.005);
  EXPECT_NEAR(Get("throughput"), 60.0 * 0.9, 0.5);
}

TEST_F(ProductionLineTest, SingleStationAvailabilityIsMtbfOverMtbfPlusMttr) {
  MakeDeterministic({60});
  Set("station1Mtbf", 3600);
  Set("station1Mttr", 600);
  line_->Seed(3);
  Advance(20000 * kHour);
  const double availability = 3600.0 / (3600.0 + 600.0);
  EXPECT_NEAR(Get("station1DownFraction"), 1.0 - availability, 0.005);
  EXPECT_NEAR(Get("station1Utilisation"), availability, 0.005);
  EXPECT_NEAR(Get("throughput"), 60.0 * availability, 0.3);
}

// The classic what-if: a fast but unreliable station feeding the bottleneck. A larger buffer
// after it keeps the bottleneck fed through more of its repairs. Per-station random streams make
// the two runs differ only by the buffer (common random numbers), so the gain shows clearly.
TEST_F(ProductionLineTest, LargerBufferAfterAFailingStationRaisesThroughput) {
  MakeDeterministic({30, 30, 30, 50});
  Set("cycleTimeCv", 0.1);
  Set("station3Mtbf", 1800);
  Set("station3Mttr", 600);
  Set("buffer3Capacity", 4);
  for (uint64_t seed : {1, 2}) {
    auto base = line_->Clone();
    auto doubled = line_->Clone();
    ASSERT_TRUE(base.ok() && doubled.ok());
    SetVar(**doubled, "buffer3Capacity", 8);
    (*base)->Seed(seed);
    (*doubled)->Seed(seed);
    ASSERT_TRUE((*base)->Step(2000 * kHour).ok());
    ASSERT_TRUE((*doubled)->Step(2000 * kHour).ok());
    const double before = GetVar(**base, "throughput");
    const double after = GetVar(**doubled, "throughput");
    // About +1.9 parts/h (63.0 -> 64.9); the bottleneck alone could do 72.
    EXPECT_GT(after, before + 1.0) << "seed " << seed;
    EXPECT_LT(after, 3600.0 / 50.0);
    EXPECT_EQ(GetVar(**doubled, "bottleneckStation"), 4);
  }
}

// Parts are conserved: every part in the line sits in a buffer or in a station that is running,
// blocked or down (failures strike only mid-part), whatever the failures and variability.
TEST_F(ProductionLineTest, WipIsExactlyThePartsInBuffersAndStations) {
  Set("stations", 6);
  Set("cycleTimeCv", 0.3);
  Set("buffer2Capacity", 0);
  line_->Seed(4);
  for (int i = 0; i < 2000; ++i) {
    Advance(97.0);
    double parts = 0;
    for (int k = 1; k <= 6; ++k) {
      const double state = Get("station" + std::to_string(k) + "State");
      if (state == 1 || state == 2 || state == 4) parts += 1;
      if (k < 6) parts += Get("buffer" + std::to_string(k) + "Level");
    }
    ASSERT_EQ(Get("wip"), parts) << "after " << line_->time() << " s";
    ASSERT_LE(Get("buffer1Level"), 4);
    ASSERT_EQ(Get("buffer2Level"), 0);
  }
  EXPECT_GT(Get("scrapCount"), 0);
}

TEST_F(ProductionLineTest, SameSeedGivesIdenticalRunsAndDifferentSeedsDiffer) {
  auto twin = NewProductionLine();
  auto other = NewProductionLine();
  line_->Seed(99);
  twin->Seed(99);
  other->Seed(100);
  for (int i = 0; i < 24 * 60; ++i) {
    ASSERT_TRUE(line_->Step(60).ok());
    ASSERT_TRUE(twin->Step(60).ok());
    ASSERT_TRUE(other->Step(60).ok());
  }
  EXPECT_EQ(ValuesByName(*line_), ValuesByName(*twin));
  EXPECT_NE(ValuesByName(*line_), ValuesByName(*other));
  EXPECT_GT(Get("goodCount"), 0);
}

// Steps only decide when outputs are read: the events, and so the counts, are the same.
TEST_F(ProductionLineTest, StepSizeDoesNotChangeTheResult) {
  auto coarse = NewProductionLine();
  line_->Seed(6);
  coarse->Seed(6);
  for (int i = 0; i < 7 * 24 * 60; ++i) Advance(60);
  ASSERT_TRUE(coarse->Step(7 * 24 * kHour).ok());
  EXPECT_EQ(GetVar(*coarse, "goodCount"), Get("goodCount"));
  EXPECT_EQ(GetVar(*coarse, "scrapCount"), Get("scrapCount"));
  EXPECT_EQ(GetVar(*coarse, "wip"), Get("wip"));
  EXPECT_NEAR(GetVar(*coarse, "station3DownFraction"), Get("station3DownFraction"), 1e-9);
  EXPECT_NEAR(GetVar(*coarse, "averageWip"), Get("averageWip"), 1e-9);
}

TEST_F(ProductionLineTest, CloneIsExactAndIndependent) {
  line_->Seed(8);
  Advance(50 * kHour);
  auto clone = line_->Clone();
  auto changed = line_->Clone();
  ASSERT_TRUE(clone.ok() && changed.ok());
  EXPECT_EQ(ValuesByName(**clone), ValuesByName(*line_));
  EXPECT_EQ((*clone)->time(), line_->time());

  SetVar(**changed, "station2Stopped", 1);
  ASSERT_TRUE((*changed)->Step(10 * kHour).ok());
  for (int i = 0; i < 10; ++i) {
    Advance(kHour);
    ASSERT_TRUE((*clone)->Step(kHour).ok());
  }
  // The clone continued the same random stream and event list: bit-identical.
  EXPECT_EQ(ValuesByName(**clone), ValuesByName(*line_));
  // The stopped fork diverged without touching the original.
  EXPECT_EQ(GetVar(**changed, "station2State"), 4);
  EXPECT_NE(GetVar(**changed, "goodCount"), Get("goodCount"));
  EXPECT_EQ(Get("station2Stopped"), 0);
}

// Monte-Carlo forks: reseeding redraws pending failures and repairs, so forks from one state
// diverge at once when seeded differently and agree when seeded alike.
TEST_F(ProductionLineTest, ReseededForksDivergeOrAgreeBySeed) {
  line_->Seed(8);
  Advance(50 * kHour);
  auto a = line_->Clone();
  auto b = line_->Clone();
  auto c = line_->Clone();
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  (*a)->Seed(100);
  (*b)->Seed(100);
  (*c)->Seed(101);
  for (auto* fork : {a->get(), b->get(), c->get()}) ASSERT_TRUE(fork->Step(24 * kHour).ok());
  EXPECT_EQ(ValuesByName(**a), ValuesByName(**b));
  EXPECT_NE(ValuesByName(**a), ValuesByName(**c));
}

TEST_F(ProductionLineTest, StoppingAStationBlocksUpstreamAndStarvesDownstream) {
  MakeDeterministic({40, 40, 40});
  Advance(kHour);
  Set("station2Stopped", 1);
  Advance(kHour);
  EXPECT_EQ(Get("station2State"), 4);
  EXPECT_EQ(Get("station1State"), 2);
  EXPECT_EQ(Get("station3State"), 3);
  const double good = Get("goodCount");
  Advance(kHour);
  EXPECT_EQ(Get("goodCount"), good);  // nothing gets past the stopped station
  Set("station2Stopped", 0);
  Advance(kHour);
  EXPECT_NEAR(Get("stepThroughput"), 90.0, 1.0);  // 3600 / 40
}

TEST_F(ProductionLineTest, BufferLevelStartsTheLineFromAMeasuredState) {
  MakeDeterministic({60, 30});
  Set("station1Stopped", 1);  // nothing new enters: only the buffered parts come out
  Set("buffer1Level", 5);
  Advance(kHour);
  EXPECT_EQ(Get("goodCount"), 5);
  EXPECT_EQ(Get("wip"), 0);
  EXPECT_EQ(Get("buffer1Level"), 0);
}

TEST_F(ProductionLineTest, ZeroCapacityBufferHandsPartsOverDirectly) {
  MakeDeterministic({30, 60});
  Set("buffer1Capacity", 0);
  Advance(100 * kHour);
  EXPECT_NEAR(Get("throughput"), 60.0, 0.1);
  EXPECT_LE(Get("wip"), 2);
  EXPECT_NEAR(Get("station1BlockedFraction"), 0.5, 0.01);
}

TEST_F(ProductionLineTest, SpeedFactorRaisesTheBottleneckRate) {
  MakeDeterministic({30, 60, 30});
  Set("station2Speed", 1.5);
  Advance(100 * kHour);
  EXPECT_NEAR(Get("throughput"), 90.0, 0.2);  // 60 s / 1.5 = 40 s
}

TEST_F(ProductionLineTest, SetRefusesBadValues) {
  EXPECT_FALSE(TrySet("station1CycleTime", -5).ok());
  EXPECT_FALSE(TrySet("station1CycleTime", 0).ok());
  EXPECT_FALSE(TrySet("station2ScrapRate", 1.5).ok());
  EXPECT_FALSE(TrySet("station2Mttr", -1).ok());
  EXPECT_FALSE(TrySet("stations", 9).ok());
  EXPECT_FALSE(TrySet("stations", 2.5).ok());
  EXPECT_FALSE(TrySet("buffer1Capacity", 1.5).ok());
  EXPECT_FALSE(TrySet("throughput", 10).ok());
  EXPECT_FALSE(TrySet("station1Speed", std::numeric_limits<double>::quiet_NaN()).ok());
  EXPECT_FALSE(line_->Set(line_->info().variables.size(), 1).ok());
  Status below = TrySet("station1CycleTime", -5);
  EXPECT_EQ(below.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(below.message().find("station1CycleTime"), std::string::npos);
  EXPECT_EQ(Get("station1CycleTime"), 52);  // unchanged

  EXPECT_FALSE(line_->Step(0).ok());
  EXPECT_FALSE(line_->Step(-1).ok());
  Advance(60);
  EXPECT_FALSE(TrySet("stations", 5).ok());  // the line's shape is fixed once it runs
  EXPECT_TRUE(TrySet("stations", 4).ok());
}

}  // namespace
}  // namespace doppel::sim
