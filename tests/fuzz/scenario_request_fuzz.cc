// Fuzzes the what-if scenario request parser (sim::ParseScenarioRequest) and what follows it on
// the small two-node thermal model (tests/sim/thermal_test_model.h).
//
// Parse: a refusal is InvalidArgument / PayloadTooLarge with a message; parsing is
// deterministic (the same text gives the same error or the same request). An accepted request
// keeps the header's promises: 1..max_scenarios scenarios with distinct non-empty names, a
// positive finite horizon that is a whole number of resolutions, a resolution that is a whole
// number of steps (≥ min_step_s), at most max_points points, exactly one kind of modification
// per variable, sane Monte-Carlo specs, profiles whose times increase.
// Validate: against the thermal model with and without a base profile, a refusal is
// InvalidArgument with a message. A validated request small enough to run in milliseconds
// (the harness caps model steps and RK4 sub-steps) is run with RunScenarios: one result per
// scenario, in order, named alike, with points() values per recorded output (and percentiles
// for Monte-Carlo), and survives ScenarioResultToJson → ScenarioResultFromJson unchanged.
// A validated request runs: its overrides were checked on the fork and its inputs and
// Monte-Carlo draws are clamped to each variable's range, so the model never refuses a value.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "sim/scenario.h"
#include "../sim/thermal_test_model.h"

namespace {

using doppel::Status;
using doppel::StatusCode;
using doppel::sim::BaseProfiles;
using doppel::sim::InputProfile;
using doppel::sim::ScenarioLimits;
using doppel::sim::ScenarioRequest;
using doppel::sim::ScenarioSpec;
using doppel::sim::testing::ThermalTestModel;

// Inputs whose runs would take longer than this are validated but not run.
constexpr double kMaxRunSteps = 400;        // Σ runs × Step calls
constexpr double kMaxRk4SubSteps = 20'000;  // Σ runs × horizon (the model sub-steps ≤ 1 s)

void CheckRefusal(const Status& status, std::string_view what) {
  FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument || status.code() == StatusCode::kPayloadTooLarge,
             std::string(what) + ": " + status.message());
  FUZZ_CHECK(!status.message().empty(), what);
}

bool IsWholeMultiple(double whole, double part) {
  double ratio = whole / part;
  return std::abs(ratio - std::round(ratio)) <= 1e-6 * ratio && std::round(ratio) >= 1;
}

void CheckProfile(const InputProfile& profile) {
  FUZZ_CHECK(!profile.points.empty(), "empty profile accepted");
  for (std::size_t i = 0; i < profile.points.size(); ++i) {
    FUZZ_CHECK(std::isfinite(profile.points[i].first) && std::isfinite(profile.points[i].second),
               "non-finite profile point accepted");
    FUZZ_CHECK(i == 0 || profile.points[i].first > profile.points[i - 1].first, "profile times do not increase");
  }
  FUZZ_CHECK(profile.Validate().ok(), "accepted profile fails Validate");
}

void CheckSpec(const ScenarioSpec& spec, const ScenarioLimits& limits) {
  FUZZ_CHECK(!spec.name.empty(), "scenario without a name");
  FUZZ_CHECK(spec.horizon_s > 0 && std::isfinite(spec.horizon_s), spec.name);
  FUZZ_CHECK(spec.resolution_s > 0 && std::isfinite(spec.resolution_s), spec.name);
  FUZZ_CHECK(spec.step() >= limits.min_step_s && std::isfinite(spec.step()), spec.name);
  FUZZ_CHECK(IsWholeMultiple(spec.horizon_s, spec.resolution_s), "horizon not a multiple of resolution");
  FUZZ_CHECK(IsWholeMultiple(spec.resolution_s, spec.step()), "resolution not a multiple of step");
  FUZZ_CHECK(spec.points() >= 2 && spec.points() <= limits.max_points + 1, spec.name);
  FUZZ_CHECK(spec.steps() >= 1 && spec.steps() <= limits.max_work_steps, spec.name);
  for (const auto* mods : {&spec.inputs, &spec.parameters, &spec.states}) {
    for (const auto& [name, mod] : *mods) {
      bool scaled = mod.scale != 1.0 || mod.offset != 0.0;
      FUZZ_CHECK(!(mod.value && mod.profile) && !(mod.value && scaled) && !(mod.profile && scaled), name);
      FUZZ_CHECK(std::isfinite(mod.scale) && std::isfinite(mod.offset), name);
      FUZZ_CHECK(!mod.value || std::isfinite(*mod.value), name);
      if (mod.profile) CheckProfile(*mod.profile);
    }
  }
  for (const auto* mods : {&spec.parameters, &spec.states}) {
    for (const auto& [name, mod] : *mods) FUZZ_CHECK(!mod.profile, "profile on a parameter or state");
  }
  if (spec.monte_carlo) {
    FUZZ_CHECK(spec.monte_carlo->samples >= 1 &&
                   static_cast<std::size_t>(spec.monte_carlo->samples) <= limits.max_samples,
               spec.name);
    for (const auto& [name, d] : spec.monte_carlo->distributions) {
      FUZZ_CHECK(std::isfinite(d.a) && std::isfinite(d.b), name);
      FUZZ_CHECK(!spec.parameters.contains(name) && !spec.states.contains(name), name);
    }
  }
}

void CheckRequest(const ScenarioRequest& request, const ScenarioLimits& limits) {
  FUZZ_CHECK(!request.scenarios.empty() && request.scenarios.size() <= limits.max_scenarios, "scenario count");
  for (std::size_t i = 0; i < request.scenarios.size(); ++i) {
    CheckSpec(request.scenarios[i], limits);
    for (std::size_t j = 0; j < i; ++j) {
      FUZZ_CHECK(request.scenarios[i].name != request.scenarios[j].name, "duplicate scenario names");
    }
  }
}

bool SmallEnoughToRun(const ScenarioRequest& request) {
  double steps = 0, sub_steps = 0;
  for (const ScenarioSpec& spec : request.scenarios) {
    steps += static_cast<double>(spec.runs()) * static_cast<double>(spec.steps());
    sub_steps += static_cast<double>(spec.runs()) * (spec.horizon_s + static_cast<double>(spec.steps()));
  }
  return steps <= kMaxRunSteps && sub_steps <= kMaxRk4SubSteps;
}

// The JSON form of results, as text (doubles written exactly, non-finite as null).
std::string ResultsText(const std::vector<doppel::sim::ScenarioResult>& results) {
  std::string text;
  for (const auto& result : results) {
    auto copy = result;
    copy.wall_time_s = 0;  // the only field that differs between equal runs
    text += doppel::ToJson(doppel::sim::ScenarioResultToJson(copy)) + "\n";
  }
  return text;
}

void RunAndCheck(const ScenarioRequest& request, const ThermalTestModel& model, const BaseProfiles& profiles,
                 const ScenarioLimits& limits) {
  auto results = doppel::sim::RunScenarios(model, profiles, request, {.threads = 1, .limits = limits});
  // Validation promised the run: overrides are in range, inputs and draws are clamped to it.
  FUZZ_CHECK(results.ok(), "a validated request failed to run: " + results.status().message());
  FUZZ_CHECK(results->size() == request.scenarios.size(), "one result per scenario");
  for (std::size_t i = 0; i < results->size(); ++i) {
    const auto& result = (*results)[i];
    const ScenarioSpec& spec = request.scenarios[i];
    FUZZ_CHECK(result.name == spec.name, result.name);
    FUZZ_CHECK(result.outputs.size() == (spec.outputs.empty() ? 1 : spec.outputs.size()), result.name);
    for (const auto& series : result.outputs) {
      FUZZ_CHECK(series.values.size() == spec.points(), series.name);
      if (spec.monte_carlo) {
        FUZZ_CHECK(series.p5.size() == spec.points() && series.p95.size() == spec.points(), series.name);
      }
    }
    auto back = doppel::sim::ScenarioResultFromJson(doppel::sim::ScenarioResultToJson(result));
    FUZZ_CHECK(back.ok(), back.status().message());
    FUZZ_CHECK(ResultsText({*back}) == ResultsText({result}), "result JSON round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const ScenarioLimits limits;
  auto request = doppel::sim::ParseScenarioRequest(text, limits);
  auto again = doppel::sim::ParseScenarioRequest(text, limits);
  FUZZ_CHECK(request.ok() == again.ok(), "parsing is not deterministic");
  if (!request.ok()) {
    CheckRefusal(request.status(), "ParseScenarioRequest");
    FUZZ_CHECK(request.status().message() == again.status().message(), "error is not deterministic");
    return 0;
  }
  CheckRequest(*request, limits);

  static const ThermalTestModel model;
  static const BaseProfiles no_profiles;
  static const BaseProfiles heater_profile = {
      {"heaterPower", InputProfile{.points = {{0, 0}, {300, 400}, {600, 0}},
                                   .interpolation = InputProfile::Interpolation::kStep}}};
  for (const BaseProfiles* profiles : {&no_profiles, &heater_profile}) {
    Status valid = doppel::sim::ValidateScenarioRequest(*request, model, *profiles, limits);
    if (!valid.ok()) {
      CheckRefusal(valid, "ValidateScenarioRequest");
      FUZZ_CHECK(valid.code() == StatusCode::kInvalidArgument, valid.message());
      continue;
    }
    if (SmallEnoughToRun(*request)) RunAndCheck(*request, model, *profiles, limits);
  }
  return 0;
}
