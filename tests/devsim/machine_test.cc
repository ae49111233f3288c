// Believability of the machine model: states, counters, scrap rate, commands.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "devsim/machine.h"
#include "devsim_test_util.h"

namespace doppel::devsim {
namespace {

MachineSpec OneMachine(const std::string& id, bool cnc = false) {
  MachineSpec spec;
  spec.id = id;
  spec.site = "plant";
  spec.cnc = cnc;
  return spec;
}

TEST(MachineTest, CountsOnlyGrowScrapRateIsNearTheConfiguredOneAndStatesCycle) {
  MachineParams params;
  params.scrap_rate = 0.05;
  std::vector<Machine> machines;
  for (int i = 0; i < 40; ++i) {
    std::string id = "m";
    id += std::to_string(i);  // (not "m" + ...: GCC 12 warns falsely about memcpy overlap)
    machines.emplace_back(OneMachine(id), params, 11);
  }
  std::map<std::string, int> state_steps;
  std::set<std::string> stop_reasons;
  for (int s = 0; s < 3 * 86400; s += 10) {
    for (Machine& m : machines) {
      const int64_t good = m.good_count(), scrap = m.scrap_count();
      m.Step(10.0);
      ASSERT_GE(m.good_count(), good);
      ASSERT_GE(m.scrap_count(), scrap);
      // One part per cycle at most per cycle time: a 10 s step never finishes two 42 s parts.
      ASSERT_LE(m.good_count() + m.scrap_count() - good - scrap, 1);
      ++state_steps[m.state()];
      if (m.state() != "running") {
        EXPECT_FALSE(m.stop_reason().empty());
        EXPECT_LT(m.power_draw_kw(), 3.0);
        stop_reasons.insert(m.stop_reason());
      } else {
        EXPECT_TRUE(m.stop_reason().empty());
      }
    }
  }
  int64_t good = 0, scrap = 0;
  for (const Machine& m : machines) {
    good += m.good_count();
    scrap += m.scrap_count();
  }
  ASSERT_GT(good + scrap, 100000);
  EXPECT_NEAR(static_cast<double>(scrap) / (good + scrap), 0.05, 0.005);
  // Mostly running, with idle and down spells in proportion to their mean durations.
  const double total = state_steps["running"] + state_steps["idle"] + state_steps["down"];
  EXPECT_NEAR(state_steps["running"] / total, 0.85, 0.05);
  EXPECT_GT(state_steps["idle"], 0);
  EXPECT_GT(state_steps["down"], 0);
  EXPECT_GE(stop_reasons.size(), 4u);
}

TEST(MachineTest, CycleTimeComesFromTheIdealCycleTimeAndFollowsADesiredChange) {
  MachineSpec spec = OneMachine("cnc", true);
  spec.ideal_cycle_time_s = 52.0;
  Machine machine(spec, MachineParams{}, 1);
  EXPECT_DOUBLE_EQ(machine.nominal_cycle_time_s(), 52.0 * 1.1);
  ASSERT_TRUE(machine.ApplyDesired({{"idealCycleTime", 30.0}}).ok());
  EXPECT_DOUBLE_EQ(machine.nominal_cycle_time_s(), 33.0);
  EXPECT_FALSE(machine.ApplyDesired({{"idealCycleTime", -3.0}}).ok());
  EXPECT_FALSE(machine.ApplyDesired({{"goodCount", 0}}).ok());
  EXPECT_DOUBLE_EQ(machine.nominal_cycle_time_s(), 33.0);
}

TEST(MachineTest, StopHoldsTheMachineDownUntilStart) {
  Machine machine(OneMachine("m", true), MachineParams{}, 1);
  ASSERT_EQ(machine.HandleCommand("stop", nullptr).status, 200);
  const int64_t parts = machine.good_count() + machine.scrap_count();
  for (int s = 0; s < 86400; s += 60) machine.Step(60.0);
  EXPECT_EQ(machine.state(), "down");
  EXPECT_EQ(machine.stop_reason(), "stopped by command");
  EXPECT_EQ(machine.spindle_speed_rpm(), 0.0);
  EXPECT_EQ(machine.good_count() + machine.scrap_count(), parts);
  EXPECT_EQ(machine.HandleCommand("resetFault", nullptr).status, 409);  // a stop is no fault
  ASSERT_EQ(machine.HandleCommand("start", nullptr).status, 200);
  EXPECT_EQ(machine.state(), "running");
  EXPECT_GT(machine.spindle_speed_rpm(), 7000.0);
  EXPECT_EQ(machine.HandleCommand("warpDrive", nullptr).status, 404);
}

TEST(MachineTest, ReportsStateAtOnceAndCountsEveryFewSteps) {
  MachineParams params;
  params.count_report_interval_steps = 5;
  params.mean_running_s = 1e12;  // stay running
  MachineSpec spec = OneMachine("m");
  spec.good_count = 100;
  spec.ideal_cycle_time_s = 1.0 / 1.1;  // one part per second
  Machine machine(spec, params, 1);
  std::vector<TwinMessage> out;
  machine.TakeReported(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body.at("state"), "running");
  EXPECT_EQ(out[0].body.at("goodCount"), 100);
  int count_reports = 0;
  for (int step = 0; step < 20; ++step) {
    machine.Step(1.0);
    out.clear();
    machine.TakeReported(out);
    if (!out.empty() && out[0].body.contains("goodCount")) ++count_reports;
  }
  EXPECT_EQ(count_reports, 4);
  machine.HandleCommand("stop", nullptr);
  out.clear();
  machine.TakeReported(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body.at("state"), "down");
}

}  // namespace
}  // namespace doppel::devsim
