// The thermal-mass FMU through the path a user's FMU takes: upload into an FmuRegistry,
// ModelCatalog::Create, Step in a `doppel fmu-host` child.
#include "sim/fmi/fmu_simulation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "fmi_test_env.h"
#include "sim/fmi/fmu_registry.h"

namespace doppel::sim::fmi {
namespace {

using ::testing::HasSubstr;

// T(t) for constant inputs: T_eq + (T0 - T_eq) e^(-t/RC), T_eq = T_amb + P R.
double AnalyticT(double t, double p, double r, double c, double t0, double t_amb) {
  double t_eq = t_amb + p * r;
  return t_eq + (t0 - t_eq) * std::exp(-t / (r * c));
}

class FmuSimulationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = FmuRegistry::Open(RegistryOptions(scratch_.path()), catalog_);
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    registry_ = std::move(*registry);
    auto info = registry_->Add("thermalMass", ThermalMass().Fmu());
    ASSERT_TRUE(info.ok()) << info.status().ToString();
  }

  std::unique_ptr<Simulation> Create(std::string_view name = "fmu:thermalMass") {
    auto sim = catalog_.Create(name);
    EXPECT_TRUE(sim.ok()) << sim.status().ToString();
    return sim.ok() ? std::move(*sim) : nullptr;
  }

  static std::size_t Index(const Simulation& sim, std::string_view name) {
    return *sim.info().Find(name);
  }
  static void SetOrFail(Simulation& sim, std::string_view name, double value) {
    Status status = sim.Set(Index(sim, name), value);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  static double GetByName(const Simulation& sim, std::string_view name) {
    return sim.Get(Index(sim, name));
  }

  ScratchDir scratch_;
  ModelCatalog catalog_;
  std::unique_ptr<FmuRegistry> registry_;
};

TEST_F(FmuSimulationTest, MatchesTheAnalyticSolution) {
  auto sim = Create();
  ASSERT_NE(sim, nullptr);
  EXPECT_EQ(sim->info().name, "fmu:thermalMass");
  SetOrFail(*sim, "P_in", 500);
  SetOrFail(*sim, "T0", 30);  // fixed: allowed before the first Step
  SetOrFail(*sim, "T_amb", 15);
  for (int i = 1; i <= 600; ++i) {
    ASSERT_TRUE(sim->Step(1.0).ok());
    ASSERT_NEAR(GetByName(*sim, "T"), AnalyticT(i, 500, 0.5, 1000, 30, 15), 1e-6) << "t=" << i;
  }
  EXPECT_DOUBLE_EQ(sim->time(), 600.0);
  EXPECT_EQ(GetByName(*sim, "stepCount"), 600);
}

TEST_F(FmuSimulationTest, InputsAndTunableParametersChangeBetweenSteps) {
  auto sim = Create();
  ASSERT_NE(sim, nullptr);
  SetOrFail(*sim, "P_in", 100);
  ASSERT_TRUE(sim->Step(100).ok());
  double t100 = GetByName(*sim, "T");
  EXPECT_NEAR(t100, AnalyticT(100, 100, 0.5, 1000, 20, 20), 1e-6);
  // New R and input from here on: the solution restarts from T(100).
  SetOrFail(*sim, "R", 0.25);
  SetOrFail(*sim, "P_in", 400);
  ASSERT_TRUE(sim->Step(50).ok());
  EXPECT_NEAR(GetByName(*sim, "T"), AnalyticT(50, 400, 0.25, 1000, t100, 20), 1e-6);
  // The Boolean input switches the heater off: pure cooling.
  SetOrFail(*sim, "enabled", 0);
  double t150 = GetByName(*sim, "T");
  ASSERT_TRUE(sim->Step(10).ok());
  EXPECT_NEAR(GetByName(*sim, "T"), AnalyticT(10, 0, 0.25, 1000, t150, 20), 1e-6);
  EXPECT_EQ(GetByName(*sim, "enabled"), 0);
}

TEST_F(FmuSimulationTest, SetRefusesWhatTheModelDescriptionForbids) {
  auto sim = Create();
  ASSERT_NE(sim, nullptr);
  EXPECT_THAT(sim->Set(Index(*sim, "T"), 1).message(), HasSubstr("'T' is an output"));
  EXPECT_THAT(sim->Set(Index(*sim, "R"), 0).message(),
              HasSubstr("R = 0 is below its minimum 0.001"));
  EXPECT_THAT(sim->Set(Index(*sim, "enabled"), 2).message(), HasSubstr("above its maximum 1"));
  EXPECT_THAT(sim->Set(Index(*sim, "enabled"), 0.5).message(), HasSubstr("whole numbers"));
  EXPECT_THAT(sim->Set(Index(*sim, "P_in"), NAN).message(), HasSubstr("finite"));
  EXPECT_FALSE(sim->Set(99, 1).ok());
  ASSERT_TRUE(sim->Step(1).ok());
  Status fixed = sim->Set(Index(*sim, "T0"), 50);
  EXPECT_EQ(fixed.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(fixed.message(), HasSubstr("parameter 'T0' is fixed"));
  EXPECT_EQ(sim->Step(0).code(), StatusCode::kInvalidArgument);
}

TEST_F(FmuSimulationTest, GetBeforeTheFirstStepAnswersStartValues) {
  auto sim = Create();
  ASSERT_NE(sim, nullptr);
  EXPECT_EQ(GetByName(*sim, "R"), 0.5);
  EXPECT_EQ(GetByName(*sim, "T_amb"), 20);
  SetOrFail(*sim, "P_in", 42);
  EXPECT_EQ(GetByName(*sim, "P_in"), 42);
  EXPECT_EQ(sim->time(), 0);
}

TEST_F(FmuSimulationTest, ClonesRunIndependentlyFromTheSameState) {
  auto sim = Create();
  ASSERT_NE(sim, nullptr);
  SetOrFail(*sim, "P_in", 500);
  ASSERT_TRUE(sim->Step(100).ok());
  SetOrFail(*sim, "P_in", 200);  // pending: the clone takes it along
  auto fork = sim->Clone();
  ASSERT_TRUE(fork.ok()) << fork.status().ToString();
  EXPECT_EQ((*fork)->time(), 100);
  EXPECT_EQ(GetByName(**fork, "T"), GetByName(*sim, "T"));
  EXPECT_EQ(GetByName(**fork, "P_in"), 200);

  ASSERT_TRUE(sim->Step(50).ok());
  SetOrFail(**fork, "P_in", 0);
  ASSERT_TRUE((*fork)->Step(50).ok());
  double t100 = AnalyticT(100, 500, 0.5, 1000, 20, 20);
  EXPECT_NEAR(GetByName(*sim, "T"), AnalyticT(50, 200, 0.5, 1000, t100, 20), 1e-6);
  EXPECT_NEAR(GetByName(**fork, "T"), AnalyticT(50, 0, 0.5, 1000, t100, 20), 1e-6);
  EXPECT_EQ(GetByName(**fork, "stepCount"), 2);
}

TEST_F(FmuSimulationTest, ConcurrentClonesOfOneSimulationAllSucceed) {
  auto sim = Create();
  ASSERT_NE(sim, nullptr);
  SetOrFail(*sim, "P_in", 300);
  ASSERT_TRUE(sim->Step(60).ok());
  std::vector<std::unique_ptr<Simulation>> forks(4);
  std::vector<Status> errors(forks.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < forks.size(); ++i) {
    threads.emplace_back([&, i] {
      auto fork = sim->Clone();
      if (fork.ok()) forks[i] = std::move(*fork);
      errors[i] = fork.status();
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t i = 0; i < forks.size(); ++i) {
    ASSERT_TRUE(errors[i].ok()) << errors[i].ToString();
    Status step = forks[i]->Step(60);
    ASSERT_TRUE(step.ok()) << step.ToString();
    EXPECT_NEAR(GetByName(*forks[i], "T"), AnalyticT(120, 300, 0.5, 1000, 20, 20), 1e-6);
  }
}

TEST_F(FmuSimulationTest, CloneBeforeTheFirstStepNeedsNoState) {
  auto sim = Create();
  ASSERT_NE(sim, nullptr);
  SetOrFail(*sim, "T0", 40);
  auto fork = sim->Clone();
  ASSERT_TRUE(fork.ok()) << fork.status().ToString();
  ASSERT_TRUE((*fork)->Step(10).ok());
  EXPECT_NEAR(GetByName(**fork, "T"), AnalyticT(10, 0, 0.5, 1000, 40, 20), 1e-6);
}

TEST_F(FmuSimulationTest, CloneAfterAStepNeedsStateSerialization) {
  std::string xml =
      Replace(ThermalMass().xml, "canSerializeFMUstate=\"true\"", "canSerializeFMUstate=\"false\"");
  ASSERT_TRUE(registry_->Add("noSerialize", ThermalMass().Archive(xml, ThermalMass().so)).ok());
  auto sim = Create("fmu:noSerialize");
  ASSERT_NE(sim, nullptr);
  ASSERT_TRUE(sim->Step(1).ok());
  auto fork = sim->Clone();
  ASSERT_FALSE(fork.ok());
  EXPECT_EQ(fork.status().code(), StatusCode::kConflict);
  EXPECT_THAT(fork.status().message(), HasSubstr("cannot be cloned after its first step"));
  EXPECT_TRUE(sim->Step(1).ok());  // the original carries on
}

TEST_F(FmuSimulationTest, ACrashInDoStepIsContained) {
  auto sim = Create();
  ASSERT_NE(sim, nullptr);
  ASSERT_TRUE(sim->Step(1).ok());
  SetOrFail(*sim, "P_in", 666);  // the FMU dereferences NULL
  Status crash = sim->Step(1);
  EXPECT_EQ(crash.code(), StatusCode::kInternal);
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's SEGV handler in the (equally instrumented) host turns the signal into
  // exit code 1.
  EXPECT_THAT(crash.message(),
              HasSubstr("FMU 'thermalMass' host exited with code 1 during doStep"));
#else
  EXPECT_THAT(crash.message(), HasSubstr("FMU 'thermalMass' crashed in doStep (signal 11"));
#endif
  // Unusable from now on, with the same error; Clone says so too.
  EXPECT_EQ(sim->Step(1).message(), crash.message());
  EXPECT_EQ(sim->Clone().status().message(), crash.message());
  // This process is fine and the next instance runs.
  auto next = Create();
  ASSERT_NE(next, nullptr);
  SetOrFail(*next, "P_in", 500);
  ASSERT_TRUE(next->Step(10).ok());
  EXPECT_NEAR(GetByName(*next, "T"), AnalyticT(10, 500, 0.5, 1000, 20, 20), 1e-6);
}

TEST_F(FmuSimulationTest, AnErrorStatusFromDoStepIsReportedWithTheFmuLog) {
  auto sim = Create();
  ASSERT_NE(sim, nullptr);
  SetOrFail(*sim, "P_in", 888);
  Status error = sim->Step(1);
  EXPECT_EQ(error.code(), StatusCode::kInternal);
  EXPECT_THAT(error.message(), HasSubstr("FMU 'thermalMass' doStep failed: fmi2DoStep returned "
                                         "fmi2Error"));
  EXPECT_THAT(error.message(), HasSubstr("P_in = 888 W is the magic error value"));
  EXPECT_EQ(sim->Step(1).message(), error.message());
}

TEST(FmuTimeoutTest, AHungDoStepIsKilledAfterTheTimeout) {
  ScratchDir scratch;
  ModelCatalog catalog;
  auto registry =
      FmuRegistry::Open(RegistryOptions(scratch.path(), std::chrono::milliseconds(3000)), catalog);
  ASSERT_TRUE(registry.ok());
  ASSERT_TRUE((*registry)->Add("thermalMass", ThermalMass().Fmu()).ok());
  auto sim = catalog.Create("fmu:thermalMass");
  ASSERT_TRUE(sim.ok()) << sim.status().ToString();
  ASSERT_TRUE((*sim)->Set(*(*sim)->info().Find("P_in"), 777).ok());  // loops forever
  Status hung = (*sim)->Step(1);
  EXPECT_EQ(hung.code(), StatusCode::kInternal);
  EXPECT_THAT(hung.message(),
              HasSubstr("FMU 'thermalMass' did not finish doStep within 3000 ms (killed)"));
  auto next = catalog.Create("fmu:thermalMass");
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE((*next)->Step(1).ok());
}

}  // namespace
}  // namespace doppel::sim::fmi
