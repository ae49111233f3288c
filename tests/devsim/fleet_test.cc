// The fleet built from the demo's twins, its messages, determinism and routing.
#include <gtest/gtest.h>

#include "devsim/fleet.h"
#include "devsim/mqtt_link.h"
#include "devsim_test_util.h"

namespace doppel::devsim {
namespace {

using std::chrono::seconds;
using testing::DemoSpec;
using testing::Midnight;
using testing::SeededOptions;

TEST(FleetSpecTest, BuildsTheDemoFleetFromTwinsJson) {
  FleetSpec spec = DemoSpec();
  ASSERT_EQ(spec.turbines.size(), 4u);
  ASSERT_EQ(spec.farms.size(), 1u);
  EXPECT_EQ(spec.farms[0].id, "kestrel-ridge");
  EXPECT_EQ(spec.farms[0].turbine_ids,
            (std::vector<std::string>{"kr-wtg-01", "kr-wtg-02", "kr-wtg-03", "kr-wtg-04"}));
  const TurbineSpec& t3 = spec.turbines[2];
  EXPECT_EQ(t3.id, "kr-wtg-03");
  EXPECT_EQ(t3.site, "kestrel-ridge");
  EXPECT_EQ(t3.index, 3);
  EXPECT_EQ(t3.bearing_id, "kr-wtg-03-mainbearing");
  EXPECT_EQ(t3.gearbox_id, "kr-wtg-03-gearbox");
  EXPECT_EQ(t3.generator_id, "kr-wtg-03-generator");
  EXPECT_EQ(t3.rotor_speed_limit_rpm, 10.5);
  EXPECT_EQ(t3.cumulative_damage, 0.58);
  ASSERT_EQ(spec.machines.size(), 9u);
  int cnc = 0;
  for (const MachineSpec& m : spec.machines) {
    EXPECT_EQ(m.site, "halden") << m.id;
    cnc += m.cnc;
  }
  EXPECT_EQ(cnc, 3);
  EXPECT_EQ(spec.machines[0].id, "halden-l1-op10-cnc1");
  EXPECT_EQ(spec.machines[0].good_count, 228);
  EXPECT_EQ(spec.machines[0].ideal_cycle_time_s, 52.0);
}

TEST(FleetSpecTest, RejectsMalformedDocumentsAndUnknownFaults) {
  EXPECT_FALSE(FleetSpecFromTwins({json::value(3)}).ok());
  EXPECT_FALSE(FleetSpecFromTwins({json::object{{"twins", json::array{1}}}}).ok());
  EXPECT_FALSE(FleetSpecFromTwins({json::object{{"twins", json::array{}}}}).ok());
  FleetSpec spec = DemoSpec();
  EXPECT_EQ(MarkBearingFault(spec, "kr-wtg-09").code(), StatusCode::kNotFound);
  EXPECT_TRUE(MarkBearingFault(spec, "kr-wtg-02-mainbearing").ok());
  EXPECT_TRUE(spec.turbines[1].bearing_fault);
}

TEST(FleetSpecTest, SyntheticFleetNamesUnitsForLoadTests) {
  FleetSpec spec = SyntheticFleetSpec(12, 7);
  ASSERT_EQ(spec.turbines.size(), 12u);
  ASSERT_EQ(spec.machines.size(), 7u);
  EXPECT_EQ(spec.turbines[0].id, "wtg-0001");
  EXPECT_EQ(spec.turbines[11].bearing_id, "wtg-0012-mainbearing");
  EXPECT_EQ(spec.machines[6].id, "m-0007");
  EXPECT_EQ(spec.machines[0].site, "sim-plant");
}

TEST(FleetTest, TelemetryHasOneMessagePerTwinWithTheModelsNames) {
  Fleet fleet(DemoSpec(), FleetOptions{}, Midnight());
  fleet.Step(seconds(1));
  const auto messages = fleet.Telemetry();
  // 4 turbines + 12 parts + 9 machines + 1 farm.
  ASSERT_EQ(messages.size(), 26u);
  std::map<std::string, json::object> by_twin;
  for (const TwinMessage& m : messages) by_twin[m.twin_id] = m.body;
  const json::object& turbine = by_twin.at("kr-wtg-01");
  for (const char* key : {"ts", "windSpeed", "rotorSpeed", "activePower", "pitchAngle",
                          "nacelle/yawAngle", "nacelle/nacelleTemperature", "nacelle/ambientTemperature"}) {
    EXPECT_TRUE(turbine.contains(key)) << key;
  }
  EXPECT_EQ(turbine.at("ts"), "2026-11-25T00:00:01.000Z");
  EXPECT_TRUE(by_twin.at("kr-wtg-01-mainbearing").contains("vibrationRms"));
  EXPECT_TRUE(by_twin.at("kr-wtg-01-mainbearing").contains("bearingTemperature"));
  EXPECT_TRUE(by_twin.at("kr-wtg-01-gearbox").contains("oilTemperature"));
  EXPECT_TRUE(by_twin.at("kr-wtg-01-generator").contains("windingTemperature"));
  EXPECT_TRUE(by_twin.at("halden-l1-op10-cnc1").contains("spindleSpeed"));
  EXPECT_TRUE(by_twin.at("halden-l1-op30-washer").contains("stopReason"));
  EXPECT_FALSE(by_twin.at("halden-l1-op30-washer").contains("spindleSpeed"));
  double kw = 0.0;
  for (const Turbine& t : fleet.turbines()) kw += t.active_power_kw();
  EXPECT_NEAR(by_twin.at("kestrel-ridge").at("activePower").to_number<double>(), kw / 1000.0, 0.001);
}

TEST(FleetTest, ReportsEverythingFirstThenOnlyChanges) {
  Fleet fleet(DemoSpec(), FleetOptions{}, Midnight());
  const auto first = fleet.TakeReported();
  std::map<std::string, json::object> by_twin;
  for (const TwinMessage& m : first) by_twin[m.twin_id] = m.body;
  EXPECT_EQ(by_twin.at("kr-wtg-03").at("state"), "curtailed");
  EXPECT_EQ(by_twin.at("kr-wtg-03").at("rotorSpeedLimit"), 10.5);
  EXPECT_EQ(by_twin.at("kr-wtg-01").at("state"), "running");
  EXPECT_EQ(by_twin.at("kr-wtg-01-mainbearing").at("cumulativeDamage"), 0.31);
  EXPECT_EQ(by_twin.at("halden-l1-op10-cnc1").at("goodCount"), 228);
  EXPECT_TRUE(fleet.TakeReported().empty());
  ASSERT_TRUE(fleet.ApplyDesired("kr-wtg-01", json::object{{"rotorSpeedLimit", 11.0}, {"$version", 3}}).ok());
  const auto changed = fleet.TakeReported();
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].twin_id, "kr-wtg-01");
  EXPECT_EQ(changed[0].body.at("rotorSpeedLimit"), 11.0);
  EXPECT_EQ(changed[0].body.at("state"), "curtailed");
  fleet.ForgetReported();
  EXPECT_EQ(fleet.TakeReported().size(), first.size());
}

TEST(FleetTest, RoutesDesiredAndCommandsByTwinId) {
  Fleet fleet(DemoSpec(), FleetOptions{}, Midnight());
  EXPECT_EQ(fleet.ApplyDesired("nobody", json::object{}).code(), StatusCode::kNotFound);
  EXPECT_EQ(fleet.ApplyDesired("kr-wtg-01", json::array{}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fleet.ApplyDesired("kestrel-ridge", json::object{{"ratedCapacity", 1}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(fleet.HandleCommand("nobody", "stop", nullptr).status, 404);
  EXPECT_EQ(fleet.HandleCommand("kestrel-ridge", "stop", nullptr).status, 404);
  EXPECT_EQ(fleet.HandleCommand("halden-l1-op10-cnc1", "stop", nullptr).status, 200);
  EXPECT_EQ(fleet.FindMachine("halden-l1-op10-cnc1")->state(), "down");
  EXPECT_EQ(fleet.HandleCommand("kr-wtg-02", "stop", nullptr).status, 200);
  EXPECT_EQ(fleet.FindTurbine("kr-wtg-02")->state(), "stopped");
  EXPECT_EQ(fleet.FindTurbine("kr-wtg-02-gearbox"), fleet.FindTurbine("kr-wtg-02"));
  EXPECT_EQ(fleet.Sites(), (std::vector<std::string>{"halden", "kestrel-ridge"}));
}

std::string Replay(uint64_t seed) {
  Fleet fleet(DemoSpec("kr-wtg-03"), SeededOptions(seed), Midnight());
  std::string all;
  for (int i = 0; i < 600; ++i) {
    fleet.Step(seconds(2));
    for (const TwinMessage& m : fleet.Telemetry()) all += ToJson(m.body);
    for (const TwinMessage& m : fleet.TakeReported()) all += ToJson(m.body);
  }
  return all;
}

TEST(FleetTest, SameSeedSameSignalsOtherSeedOtherSignals) {
  const std::string a = Replay(42);
  EXPECT_EQ(a, Replay(42));
  EXPECT_NE(a, Replay(43));
}

TEST(FleetTest, AUnitsSignalsDoNotDependOnTheRestOfTheFleet) {
  FleetSpec small = SyntheticFleetSpec(1, 0);
  FleetSpec large = SyntheticFleetSpec(50, 20);
  Fleet a(std::move(small), SeededOptions(5), Midnight());
  Fleet b(std::move(large), SeededOptions(5), Midnight());
  for (int i = 0; i < 100; ++i) {
    a.Step(seconds(1));
    b.Step(seconds(1));
  }
  EXPECT_EQ(a.FindTurbine("wtg-0001")->wind_speed_ms(), b.FindTurbine("wtg-0001")->wind_speed_ms());
}

TEST(FormatTest, TimestampsAreRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(FormatTimestamp(Midnight() + std::chrono::milliseconds(61'234)), "2026-11-25T00:01:01.234Z");
  auto parsed = ParseRfc3339(FormatTimestamp(Midnight() + std::chrono::milliseconds(5)));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, Midnight() + std::chrono::milliseconds(5));
}

TEST(FormatTest, BrokerUrls) {
  auto a = ParseBrokerUrl("mqtt://broker.local:1884");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "broker.local");
  EXPECT_EQ(a->port, 1884);
  auto b = ParseBrokerUrl("mqtt://10.0.0.5");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 1883);
  EXPECT_TRUE(ParseBrokerUrl("localhost:1883").ok());
  EXPECT_FALSE(ParseBrokerUrl("mqtt://host:99999").ok());
  EXPECT_FALSE(ParseBrokerUrl("mqtt://host:x").ok());
  EXPECT_FALSE(ParseBrokerUrl("mqtts://host:8883").ok());
  EXPECT_FALSE(ParseBrokerUrl("mqtt://:1883").ok());
}

}  // namespace
}  // namespace doppel::devsim
