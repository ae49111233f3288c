// Simulation through the real binary and its public API: an FMU built from the project's own C
// source at test time is uploaded over HTTP, bound to a twin, forecast and compared in what-if
// scenarios (each FMU instance in a `doppel fmu-host` child); a broken FMU is refused with a
// specific error and the server carries on; everything survives a restart.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <thread>

#include "sim/fmi/testing/fmu_builder.h"
#include "test_models.h"

namespace doppel::testing {
namespace {

constexpr std::string_view kOvenModel = R"([{
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Oven;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "thermalResistance", "schema": "double"},
    {"@type": "Telemetry", "name": "heaterPower", "schema": "double"},
    {"@type": "Telemetry", "name": "outsideTemperature", "schema": "double"}
  ]}])";

// The thermal mass (R = 0.5 K/W, C = 1000 J/K) heated by 40 W from 20 °C.
constexpr std::string_view kBinding = R"({
  "model": "fmu:thermalMass",
  "twins": {"ids": ["oven-1"]},
  "parameters": {"R": "thermalResistance"},
  "inputs": {"P_in": "heaterPower", "T_amb": "outsideTemperature"},
  "shadow": false
})";

bool Eventually(const std::function<bool()>& probe) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return probe();
}

std::string ThermalMassFmu(const TempDir& dir) {
  sim::fmi::testing::FmuBuildEnv env{
      .source_dir = DOPPEL_SOURCE_DIR, .compiler = DOPPEL_C_COMPILER, .work_dir = dir.Sub("fmu-build")};
  std::filesystem::create_directories(env.work_dir);
  auto fmu = sim::fmi::testing::BuildThermalMassFmu(env);
  EXPECT_TRUE(fmu.ok()) << fmu.status().ToString();
  return fmu.ok() ? *fmu : std::string();
}

double Final(const json::value& scenario) {
  return scenario.at("outputs").at("T").at("summary").at("final").to_number<double>();
}

TEST(SimulationApiTest, AnUploadedFmuForecastsAndComparesScenariosThroughTheApi) {
  TempDir dir;
  const std::string fmu = ThermalMassFmu(dir);
  ASSERT_FALSE(fmu.empty());
  const std::string data = dir.Sub("data");
  auto server = ServerProcess::Start(data);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto http = Connect((*server)->url());

  auto put = Send(*http, "PUT", "/simulation/fmus/thermalMass", fmu, {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(Json(put.body).at("name").as_string(), "fmu:thermalMass");
  auto models = Send(*http, "GET", "/simulation/models");
  EXPECT_NE(models.body.find("\"fmu:thermalMass\""), std::string::npos) << models.body;
  EXPECT_NE(models.body.find("\"windTurbine\""), std::string::npos) << models.body;

  ASSERT_EQ(Send(*http, "POST", "/models", kOvenModel).status, 201);
  ASSERT_EQ(Send(*http, "PUT", "/digitaltwins/oven-1",
                 R"({"$metadata": {"$model": "dtmi:test:Oven;1"}, "thermalResistance": 0.5})")
                .status,
            200);
  ASSERT_EQ(Send(*http, "POST", "/digitaltwins/oven-1/telemetry", R"({"heaterPower": 40, "outsideTemperature": 20})")
                .status,
            204);
  auto bound = Send(*http, "PUT", "/simulation/bindings/oven", kBinding);
  ASSERT_EQ(bound.status, 201) << bound.body;
  EXPECT_EQ(Json(bound.body).at("boundTwins").to_number<int64_t>(), 1);

  // Forecast under current conditions: the analytic T(t) = 40 − 20·exp(−t / 500 s).
  auto forecast = Send(*http, "POST", "/digitaltwins/oven-1/forecast", R"({"horizon": "30m", "resolution": "5m"})");
  ASSERT_EQ(forecast.status, 200) << forecast.body;
  const json::value f = Json(forecast.body);
  const auto& values = f.at("forecast").at("outputs").at("T").at("values").as_array();
  ASSERT_EQ(values.size(), 7u);
  for (std::size_t i = 1; i < values.size(); ++i) {
    const double t = 300.0 * static_cast<double>(i);
    EXPECT_NEAR(values[i].to_number<double>(), 40.0 - 20.0 * std::exp(-t / 500.0), 0.01) << "t = " << t;
  }

  // Three heater settings compared side by side, asynchronously.
  auto job = Send(*http, "POST", "/digitaltwins/oven-1/scenarios", R"({"base": "hold", "horizon": "2h",
      "resolution": "1m", "scenarios": [{"name": "off", "inputs": {"P_in": 0}},
                                        {"name": "as now"},
                                        {"name": "double", "inputs": {"P_in": {"scale": 2}}}]})");
  ASSERT_EQ(job.status, 202) << job.body;
  const std::string id(Json(job.body).at("id").as_string());
  json::value done;
  ASSERT_TRUE(Eventually([&] {
    auto r = Send(*http, "GET", "/digitaltwins/oven-1/scenarios/" + id);
    done = Json(r.body);
    return r.status == 200 && done.at("status").as_string() != "queued" && done.at("status").as_string() != "running";
  }));
  ASSERT_EQ(done.at("status").as_string(), "succeeded") << ToJson(done);
  const auto& scenarios = done.at("scenarios").as_array();
  ASSERT_EQ(scenarios.size(), 3u);
  EXPECT_NEAR(Final(scenarios[0]), 20.0, 0.01);
  EXPECT_NEAR(Final(scenarios[1]), 40.0, 0.01);
  EXPECT_NEAR(Final(scenarios[2]), 60.0, 0.01);

  // A broken FMU gets a specific error; the server and the good FMU carry on.
  auto broken = Send(*http, "PUT", "/simulation/fmus/broken", "this is not a zip archive");
  EXPECT_EQ(broken.status, 400) << broken.body;
  EXPECT_EQ(Send(*http, "GET", "/healthz").status, 200);
  EXPECT_EQ(Send(*http, "DELETE", "/simulation/fmus/thermalMass").status, 409) << "the binding uses it";

  // Bindings, FMUs and finished jobs survive a restart.
  ASSERT_EQ((*server)->Stop().value(), 0);
  server = ServerProcess::Start(data);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  http = Connect((*server)->url());
  EXPECT_EQ(Send(*http, "GET", "/simulation/bindings/oven").status, 200);
  EXPECT_EQ(Send(*http, "GET", "/simulation/models/fmu:thermalMass").status, 200);
  auto kept = Send(*http, "GET", "/digitaltwins/oven-1/scenarios/" + id);
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_NEAR(Final(Json(kept.body).at("scenarios").as_array()[2]), 60.0, 0.01);
  EXPECT_EQ(Send(*http, "DELETE", "/simulation/bindings/oven").status, 204);
  EXPECT_EQ(Send(*http, "DELETE", "/simulation/fmus/thermalMass").status, 204);
  EXPECT_EQ(Send(*http, "GET", "/simulation/models/fmu:thermalMass").status, 404);
  EXPECT_EQ((*server)->Stop().value(), 0);
}

}  // namespace
}  // namespace doppel::testing
