// The safety envelope: reading it (with and without the models), clamping setpoints, blocking
// commands, every bound tried from both sides, and the sliding-hour rate limit.
#include "automation/safety_envelope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/json.h"
#include "model/model_registry.h"

namespace doppel::automation {
namespace {

using ::testing::HasSubstr;
using Outcome = EnvelopeDecision::Outcome;
using namespace std::chrono_literals;

constexpr const char* kTurbine = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Turbine;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "rotorSpeedLimit", "schema": "double", "writable": true},
    {"@type": "Property", "name": "bladeCount", "schema": "integer", "writable": true},
    {"@type": "Property", "name": "ratedPower", "schema": "double"},
    {"@type": "Property", "name": "operatingMode", "schema": "string", "writable": true},
    {"@type": "Telemetry", "name": "windSpeed", "schema": "double"},
    {"@type": "Command", "name": "curtail", "request": {"name": "powerLimit", "schema": "double"}},
    {"@type": "Command", "name": "stop", "request": {"name": "reason", "schema": "string"}},
    {"@type": "Command", "name": "setPitch", "request": {"name": "pitch", "schema": {"@type": "Object",
      "fields": [{"name": "angle", "schema": "double"}, {"name": "note", "schema": "string"}]}}},
    {"@type": "Component", "name": "nacelle", "schema": "dtmi:test:Nacelle;1"}
  ]})";
constexpr const char* kNacelle = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Nacelle;1", "@type": "Interface",
  "contents": [
    {"@type": "Property", "name": "yawTarget", "schema": "double", "writable": true},
    {"@type": "Command", "name": "yaw", "request": {"name": "angle", "schema": "double"}}
  ]})";
constexpr const char* kOffshore = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:OffshoreTurbine;1", "@type": "Interface",
  "extends": "dtmi:test:Turbine;1",
  "contents": [{"@type": "Property", "name": "tideLevel", "schema": "double"}]})";
constexpr const char* kPump = R"({
  "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Pump;1", "@type": "Interface",
  "contents": [{"@type": "Property", "name": "rotorSpeedLimit", "schema": "double", "writable": true},
               {"@type": "Command", "name": "curtail", "request": {"name": "powerLimit", "schema": "double"}}]})";

constexpr const char* kTurbineId = "dtmi:test:Turbine;1";
constexpr const char* kOffshoreId = "dtmi:test:OffshoreTurbine;1";
constexpr const char* kPumpId = "dtmi:test:Pump;1";

constexpr const char* kEnvelope = R"({
  "mode": "recommend", "maxCommandsPerTwinPerHour": 3,
  "properties": [
    {"model": "dtmi:test:Turbine;1", "property": "rotorSpeedLimit", "min": 6, "max": 16, "maxRatePerMinute": 2},
    {"model": "dtmi:test:Turbine;1", "property": "bladeCount", "min": 2, "max": 3},
    {"model": "dtmi:test:Turbine;1", "property": "nacelle/yawTarget", "min": 0, "max": 359.5}],
  "commandArguments": [
    {"model": "dtmi:test:Turbine;1", "command": "curtail", "argument": "", "min": 0, "max": 3600},
    {"model": "dtmi:test:Turbine;1", "command": "setPitch", "argument": "angle", "min": -2, "max": 90},
    {"model": "dtmi:test:Turbine;1", "command": "nacelle/yaw", "min": 0, "max": 360}]})";

class SafetyEnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<json::value> docs;
    for (const char* text : {kNacelle, kTurbine, kOffshore, kPump})
      docs.push_back(ParseJson(text).value());
    auto prepared = models_.Prepare(docs);
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    models_.Commit(std::move(*prepared), "2026-11-26T09:00:00Z");
    auto envelope = SafetyEnvelope::FromJson(ParseJson(kEnvelope).value(), &models_);
    ASSERT_TRUE(envelope.ok()) << envelope.status().ToString();
    envelope_ = std::move(*envelope);
  }

  // The error FromJson gives for `text` (checked against the models), or "" when it accepts it.
  std::string Error(const char* text, bool with_models = true) {
    auto envelope =
        SafetyEnvelope::FromJson(ParseJson(text).value(), with_models ? &models_ : nullptr);
    return envelope.ok() ? "" : envelope.status().message();
  }

  model::ModelRegistry models_;
  SafetyEnvelope envelope_;
};

TEST_F(SafetyEnvelopeTest, ReadsEveryMemberAndRoundTripsThroughToJson) {
  EXPECT_EQ(envelope_.mode(), AutomationMode::kRecommend);
  EXPECT_EQ(envelope_.max_commands_per_twin_per_hour(), 3u);
  const json::object out = envelope_.ToJson();
  EXPECT_EQ(out.at("mode"), "recommend");
  EXPECT_EQ(out.at("properties").as_array().size(), 3u);
  EXPECT_EQ(out.at("commandArguments").as_array().size(), 3u);
  // The argument omitted in the input is the payload itself.
  EXPECT_EQ(out.at("commandArguments").as_array()[2].at("argument"), "");
  auto again = SafetyEnvelope::FromJson(out, &models_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ToJson(again->ToJson()), ToJson(out));
  auto bound = again->FindPropertyBound(models_, kTurbineId, "rotorSpeedLimit");
  ASSERT_TRUE(bound.has_value());
  EXPECT_EQ(bound->min, 6.0);
  EXPECT_EQ(bound->max, 16.0);
  EXPECT_EQ(bound->max_rate_per_minute, 2.0);
}

TEST_F(SafetyEnvelopeTest, AnEmptyDocumentIsAutoWithTheDefaultRateLimitAndNoBounds) {
  auto envelope = SafetyEnvelope::FromJson(json::object{}, &models_);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(envelope->mode(), AutomationMode::kAuto);
  EXPECT_EQ(envelope->max_commands_per_twin_per_hour(), 12u);
  EXPECT_FALSE(envelope->FindPropertyBound(models_, kTurbineId, "rotorSpeedLimit").has_value());
  EXPECT_EQ(envelope->CheckSetpoint(models_, kTurbineId, "rotorSpeedLimit", 99.0).outcome,
            Outcome::kAllowed);
}

TEST_F(SafetyEnvelopeTest, ShapeErrorsNameTheEntryAndMember) {
  EXPECT_THAT(Error("[]"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(Error(R"({"mode": "manual"})"),
              HasSubstr("mode: mode must be \"auto\" or \"recommend\""));
  EXPECT_THAT(Error(R"({"mode": 1})"), HasSubstr("mode: must be a string"));
  EXPECT_THAT(Error(R"({"maxCommandsPerTwinPerHour": -1})"),
              HasSubstr("maxCommandsPerTwinPerHour: must be an integer"));
  EXPECT_THAT(Error(R"({"maxCommandsPerTwinPerHour": 1.5})"),
              HasSubstr("maxCommandsPerTwinPerHour"));
  EXPECT_THAT(Error(R"({"maxCommandsPerTwinPerHour": "12"})"),
              HasSubstr("maxCommandsPerTwinPerHour"));
  EXPECT_THAT(Error(R"({"limits": []})"), HasSubstr("unknown member 'limits'"));
  EXPECT_THAT(Error(R"({"properties": {}})"),
              HasSubstr("properties: must be an array, got object"));
  EXPECT_THAT(Error(R"({"commandArguments": 3})"), HasSubstr("commandArguments: must be an array"));
  EXPECT_THAT(Error(R"({"properties": [3]})"),
              HasSubstr("properties[0]: must be an object, got number"));
  EXPECT_THAT(Error(R"({"properties": [{"property": "rotorSpeedLimit", "min": 1}]})"),
              HasSubstr("properties[0].model: is required"));
  EXPECT_THAT(Error(R"({"properties": [{"model": "", "property": "rotorSpeedLimit", "min": 1}]})"),
              HasSubstr("properties[0].model: must be a non-empty string"));
  EXPECT_THAT(Error(R"({"properties": [
      {"model": "dtmi:test:Turbine;1", "property": "rotorSpeedLimit", "min": 1},
      {"model": "dtmi:test:Turbine;1", "property": "bladeCount", "min": 9, "max": 2}]})"),
              HasSubstr("properties[1].min: must be ≤ max (9 > 2)"));
  EXPECT_THAT(
      Error(
          R"({"properties": [{"model": "dtmi:test:Turbine;1", "property": "rotorSpeedLimit", "min": "6"}]})"),
      HasSubstr("properties[0].min: must be a number, got string"));
  EXPECT_THAT(
      Error(R"({"properties": [{"model": "dtmi:test:Turbine;1", "property": "rotorSpeedLimit",
                                        "maxRatePerMinute": 0}]})"),
      HasSubstr("properties[0].maxRatePerMinute: must be > 0"));
  EXPECT_THAT(
      Error(
          R"({"properties": [{"model": "dtmi:test:Turbine;1", "property": "rotorSpeedLimit", "mxa": 6}]})"),
      HasSubstr("properties[0]: unknown member 'mxa'"));
  EXPECT_THAT(
      Error(R"({"properties": [{"model": "dtmi:test:Turbine;1", "property": "rotorSpeedLimit"}]})"),
      HasSubstr("properties[0]: bounds nothing"));
  EXPECT_THAT(
      Error(R"({"properties": [
      {"model": "dtmi:test:Turbine;1", "property": "rotorSpeedLimit", "min": 1},
      {"model": "dtmi:test:Turbine;1", "property": "rotorSpeedLimit", "max": 9}]})"),
      HasSubstr(
          "properties[1]: bounds rotorSpeedLimit of dtmi:test:Turbine;1 again (properties[0])"));
  EXPECT_THAT(
      Error(
          R"({"commandArguments": [{"model": "dtmi:test:Turbine;1", "command": "curtail", "argument": 0,
                                              "max": 1}]})"),
      HasSubstr("commandArguments[0].argument: must be a string"));
  EXPECT_THAT(
      Error(R"({"commandArguments": [{"model": "dtmi:test:Turbine;1", "command": "curtail"}]})"),
      HasSubstr("commandArguments[0]: bounds nothing"));
  EXPECT_THAT(
      Error(
          R"({"commandArguments": [{"model": "dtmi:test:Turbine;1", "command": "curtail", "min": 5,
                                              "max": 1}]})"),
      HasSubstr("commandArguments[0].min: must be ≤ max"));
}

TEST_F(SafetyEnvelopeTest, TheModelsMustKnowEveryModelPropertyAndCommand) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {R"({"properties": [{"model": "dtmi:test:Ghost;1", "property": "rotorSpeedLimit", "max": 1}]})",
       "properties[0].model: model 'dtmi:test:Ghost;1' is not known"},
      {R"({"properties": [{"model": "dtmi:test:Turbine;1", "property": "rotorSpeed", "max": 1}]})",
       "properties[0].property: model 'dtmi:test:Turbine;1' has no property 'rotorSpeed'"},
      {R"({"properties": [{"model": "dtmi:test:Turbine;1", "property": "windSpeed", "max": 1}]})",
       "properties[0].property: model 'dtmi:test:Turbine;1' has no property 'windSpeed'"},  // telemetry
      {R"({"properties": [{"model": "dtmi:test:Turbine;1", "property": "ratedPower", "max": 1}]})",
       "properties[0].property: property 'ratedPower' of model 'dtmi:test:Turbine;1' is not "
       "writable"},
      {R"({"properties": [{"model": "dtmi:test:Turbine;1", "property": "operatingMode", "max": 1}]})",
       "properties[0].property: property 'operatingMode' of model 'dtmi:test:Turbine;1' is not a "
       "number"},
      {R"({"properties": [{"model": "dtmi:test:Turbine;1", "property": "nacelle/pitch", "max": 1}]})",
       "has no property 'nacelle/pitch'"},
      {R"({"commandArguments": [{"model": "dtmi:test:Turbine;1", "command": "selfDestruct", "max": 1}]})",
       "commandArguments[0].command: model 'dtmi:test:Turbine;1' has no command 'selfDestruct'"},
      {R"({"commandArguments": [{"model": "dtmi:test:Turbine;1", "command": "stop", "max": 1}]})",
       "commandArguments[0].argument: command 'stop': its request payload is not a number"},
      {R"({"commandArguments": [{"model": "dtmi:test:Turbine;1", "command": "setPitch", "argument": "note",
                                 "max": 1}]})",
       "commandArguments[0].argument: command 'setPitch': its request has no numeric field 'note'"},
      {R"({"commandArguments": [{"model": "dtmi:test:Turbine;1", "command": "curtail", "argument": "x",
                                 "max": 1}]})",
       "its request has no numeric field 'x'"},
      {R"({"commandArguments": [{"model": "dtmi:test:Turbine;1", "command": "nacelle/stop", "max": 1}]})",
       "has no command 'nacelle/stop'"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Error(c.text), HasSubstr(c.error)) << c.text;
    EXPECT_EQ(Error(c.text, /*with_models=*/false), "")
        << "without models, only the shape is checked: " << c.text;
  }
}

TEST_F(SafetyEnvelopeTest,
       SetpointsOutsideTheBoundsAreClampedWithAReasonNamingPropertyValueAndBound) {
  EnvelopeDecision low = envelope_.CheckSetpoint(models_, kTurbineId, "rotorSpeedLimit", 4);
  EXPECT_EQ(low.outcome, Outcome::kClamped);
  EXPECT_EQ(low.value, 6.0);
  EXPECT_THAT(low.reason, HasSubstr("rotorSpeedLimit 4 below the envelope's min 6"));
  EXPECT_EQ(low.max_rate_per_minute, 2.0);

  EnvelopeDecision high = envelope_.CheckSetpoint(models_, kTurbineId, "rotorSpeedLimit", 16.5);
  EXPECT_EQ(high.outcome, Outcome::kClamped);
  EXPECT_EQ(high.value, 16.0);
  EXPECT_THAT(high.reason, HasSubstr("rotorSpeedLimit 16.5 above the envelope's max 16"));

  EnvelopeDecision inside = envelope_.CheckSetpoint(models_, kTurbineId, "rotorSpeedLimit", 9);
  EXPECT_EQ(inside.outcome, Outcome::kAllowed);
  EXPECT_EQ(inside.value, 9);  // as asked
  EXPECT_EQ(inside.reason, "");
  EXPECT_EQ(inside.max_rate_per_minute, 2.0);  // ramps still apply inside the bounds

  for (double edge : {6.0, 16.0}) {
    EXPECT_EQ(envelope_.CheckSetpoint(models_, kTurbineId, "rotorSpeedLimit", edge).outcome,
              Outcome::kAllowed);
  }
  EnvelopeDecision component =
      envelope_.CheckSetpoint(models_, kTurbineId, "nacelle/yawTarget", 400);
  EXPECT_EQ(component.outcome, Outcome::kClamped);
  EXPECT_EQ(component.value, 359.5);
}

TEST_F(SafetyEnvelopeTest, NonNumbersOnBoundedPropertiesAreBlockedAndUnboundedPropertiesPass) {
  for (const json::value& bad : {json::value("fast"), json::value(nullptr), json::value(true),
                                 json::value(json::array{9})}) {
    EnvelopeDecision d = envelope_.CheckSetpoint(models_, kTurbineId, "rotorSpeedLimit", bad);
    EXPECT_EQ(d.outcome, Outcome::kBlocked) << ToJson(bad);
    EXPECT_THAT(d.reason, HasSubstr("rotorSpeedLimit is bounded by the envelope, and"));
    EXPECT_THAT(d.reason, HasSubstr("is not a number"));
  }
  EnvelopeDecision free = envelope_.CheckSetpoint(models_, kTurbineId, "operatingMode", "eco");
  EXPECT_EQ(free.outcome, Outcome::kAllowed);
  EXPECT_EQ(free.value, "eco");
  EXPECT_FALSE(free.max_rate_per_minute.has_value());
}

TEST_F(SafetyEnvelopeTest, BoundsApplyToModelsThatExtendTheBoundModelAndNoOthers) {
  EnvelopeDecision offshore = envelope_.CheckSetpoint(models_, kOffshoreId, "rotorSpeedLimit", 30);
  EXPECT_EQ(offshore.outcome, Outcome::kClamped);
  EXPECT_EQ(offshore.value, 16.0);
  EXPECT_EQ(envelope_.CheckCommand(models_, kOffshoreId, "curtail", 5000).outcome,
            Outcome::kBlocked);
  // A pump has a property and a command of the same names, but is no turbine.
  EXPECT_EQ(envelope_.CheckSetpoint(models_, kPumpId, "rotorSpeedLimit", 30).outcome,
            Outcome::kAllowed);
  EXPECT_EQ(envelope_.CheckCommand(models_, kPumpId, "curtail", 5000).outcome, Outcome::kAllowed);
  EXPECT_FALSE(envelope_.FindPropertyBound(models_, kPumpId, "rotorSpeedLimit").has_value());
}

TEST_F(SafetyEnvelopeTest, ADerivedModelsEntryNarrowsTheBasesNeverWidensIt) {
  auto envelope = SafetyEnvelope::FromJson(ParseJson(R"({"properties": [
      {"model": "dtmi:test:Turbine;1", "property": "rotorSpeedLimit", "min": 6, "max": 16, "maxRatePerMinute": 2},
      {"model": "dtmi:test:OffshoreTurbine;1", "property": "rotorSpeedLimit", "min": 4, "max": 12,
       "maxRatePerMinute": 1}]})")
                                               .value(),
                                           &models_);
  ASSERT_TRUE(envelope.ok()) << envelope.status().ToString();
  auto offshore = envelope->FindPropertyBound(models_, kOffshoreId, "rotorSpeedLimit");
  ASSERT_TRUE(offshore.has_value());
  EXPECT_EQ(offshore->min, 6.0);
  EXPECT_EQ(offshore->max, 12.0);
  EXPECT_EQ(offshore->max_rate_per_minute, 1.0);
  EXPECT_EQ(envelope->CheckSetpoint(models_, kOffshoreId, "rotorSpeedLimit", 5).value, 6.0);
  EXPECT_EQ(envelope->CheckSetpoint(models_, kOffshoreId, "rotorSpeedLimit", 14).value, 12.0);
  // The plain turbine keeps its own bounds.
  EXPECT_EQ(envelope->CheckSetpoint(models_, kTurbineId, "rotorSpeedLimit", 14).outcome,
            Outcome::kAllowed);
}

TEST_F(SafetyEnvelopeTest, CommandsWithArgumentsOutOfBoundsMissingOrNotNumbersAreBlocked) {
  EXPECT_EQ(envelope_.CheckCommand(models_, kTurbineId, "curtail", 2000).outcome,
            Outcome::kAllowed);
  EXPECT_EQ(envelope_.CheckCommand(models_, kTurbineId, "curtail", 2000).value, 2000);

  EnvelopeDecision over = envelope_.CheckCommand(models_, kTurbineId, "curtail", 5000);
  EXPECT_EQ(over.outcome, Outcome::kBlocked);
  EXPECT_THAT(over.reason, HasSubstr("curtail 5000 above the envelope's max 3600"));
  EnvelopeDecision under = envelope_.CheckCommand(models_, kTurbineId, "curtail", -1);
  EXPECT_THAT(under.reason, HasSubstr("curtail -1 below the envelope's min 0"));

  EnvelopeDecision missing = envelope_.CheckCommand(models_, kTurbineId, "curtail", nullptr);
  EXPECT_EQ(missing.outcome, Outcome::kBlocked);
  EXPECT_THAT(missing.reason,
              HasSubstr("curtail is bounded by the envelope, and null is not a number"));
  EXPECT_EQ(envelope_.CheckCommand(models_, kTurbineId, "curtail", "lots").outcome,
            Outcome::kBlocked);

  const json::value pitch = ParseJson(R"({"angle": 95, "note": "storm"})").value();
  EnvelopeDecision steep = envelope_.CheckCommand(models_, kTurbineId, "setPitch", pitch);
  EXPECT_EQ(steep.outcome, Outcome::kBlocked);
  EXPECT_THAT(steep.reason, HasSubstr("setPitch.angle 95 above the envelope's max 90"));
  EnvelopeDecision no_angle =
      envelope_.CheckCommand(models_, kTurbineId, "setPitch", json::object{{"note", "x"}});
  EXPECT_THAT(no_angle.reason,
              HasSubstr("setPitch.angle is bounded by the envelope and missing from the payload"));
  EXPECT_EQ(envelope_.CheckCommand(models_, kTurbineId, "setPitch", 12).outcome,
            Outcome::kBlocked);  // not an object
  EXPECT_EQ(
      envelope_.CheckCommand(models_, kTurbineId, "setPitch", json::object{{"angle", "steep"}})
          .outcome,
      Outcome::kBlocked);
  EXPECT_EQ(
      envelope_.CheckCommand(models_, kTurbineId, "setPitch", json::object{{"angle", 10}}).outcome,
      Outcome::kAllowed);
  // Unbounded commands pass whatever their payload.
  EXPECT_EQ(envelope_.CheckCommand(models_, kTurbineId, "stop", "storm").outcome,
            Outcome::kAllowed);
}

// Every bound of the envelope, tried just outside on both sides: setpoints end up on the bound,
// commands are blocked.
TEST_F(SafetyEnvelopeTest, EveryBoundHoldsAgainstAnAttemptToExceedIt) {
  const json::object doc = envelope_.ToJson();
  int attempts = 0;
  for (const json::value& entry : doc.at("properties").as_array()) {
    const json::object& e = entry.as_object();
    const std::string property(e.at("property").as_string());
    for (const char* side : {"min", "max"}) {
      const double bound = e.at(side).to_number<double>();
      const double beyond = std::string_view(side) == "min" ? bound - 0.5 : bound + 0.5;
      EnvelopeDecision d = envelope_.CheckSetpoint(models_, kTurbineId, property, beyond);
      EXPECT_EQ(d.outcome, Outcome::kClamped) << property << " " << side;
      EXPECT_EQ(d.value.to_number<double>(), bound) << property << " " << side;
      EXPECT_THAT(d.reason, HasSubstr(property)) << side;
      ++attempts;
    }
  }
  for (const json::value& entry : doc.at("commandArguments").as_array()) {
    const json::object& e = entry.as_object();
    const std::string command(e.at("command").as_string());
    const std::string argument(e.at("argument").as_string());
    for (const char* side : {"min", "max"}) {
      const double bound = e.at(side).to_number<double>();
      const json::value beyond = std::string_view(side) == "min" ? bound - 0.5 : bound + 0.5;
      const json::value payload =
          argument.empty() ? beyond : json::value(json::object{{argument, beyond}});
      EnvelopeDecision d = envelope_.CheckCommand(models_, kTurbineId, command, payload);
      EXPECT_EQ(d.outcome, Outcome::kBlocked) << command << " " << side;
      EXPECT_THAT(d.reason, HasSubstr(side == std::string("min") ? "below" : "above")) << command;
      ++attempts;
    }
  }
  EXPECT_EQ(attempts, 12);
}

TEST_F(SafetyEnvelopeTest, NamesOfModesAndOutcomes) {
  EXPECT_EQ(AutomationModeName(AutomationMode::kAuto), "auto");
  EXPECT_EQ(AutomationModeName(AutomationMode::kRecommend), "recommend");
  EXPECT_EQ(ParseAutomationMode("recommend").value(), AutomationMode::kRecommend);
  EXPECT_FALSE(ParseAutomationMode("Auto").ok());
  EXPECT_EQ(OutcomeName(Outcome::kAllowed), "allowed");
  EXPECT_EQ(OutcomeName(Outcome::kClamped), "clamped");
  EXPECT_EQ(OutcomeName(Outcome::kBlocked), "blocked");
}

TEST(RateLimiterTest, AtMostNActionsPerTwinInAnySlidingHour) {
  RateLimiter limiter;
  const TimePoint t0(std::chrono::seconds(1'800'000'000));
  EXPECT_TRUE(limiter.TryAcquire("wtg-1", t0, 3));
  EXPECT_TRUE(limiter.TryAcquire("wtg-1", t0 + 10min, 3));
  EXPECT_TRUE(limiter.TryAcquire("wtg-1", t0 + 20min, 3));
  EXPECT_FALSE(limiter.TryAcquire("wtg-1", t0 + 30min, 3));
  EXPECT_TRUE(limiter.TryAcquire("wtg-2", t0 + 30min, 3));  // per twin
  // A refusal is not counted: one hour after the first, exactly one slot is free again.
  EXPECT_FALSE(limiter.TryAcquire("wtg-1", t0 + 59min, 3));
  EXPECT_TRUE(limiter.TryAcquire("wtg-1", t0 + 60min, 3));
  EXPECT_FALSE(limiter.TryAcquire("wtg-1", t0 + 61min, 3));
  EXPECT_TRUE(limiter.TryAcquire("wtg-1", t0 + 70min, 3));
  // A limit of 0 allows nothing.
  EXPECT_FALSE(limiter.TryAcquire("wtg-3", t0, 0));
}

}  // namespace
}  // namespace doppel::automation
