// Device actions: setpoints and commands, through the safety envelope, its rate limit and
// setpoint ramps (automation_service.h, safety_envelope.h).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <utility>

#include "automation/internal/action_runner.h"
#include "command/command_service.h"
#include "twin/twin_graph.h"

namespace doppel::automation::internal {
namespace {

// "component/name" → ("component", "name"); "name" → ("", "name").
std::pair<std::string_view, std::string_view> SplitPath(std::string_view path) {
  const std::size_t slash = path.find('/');
  if (slash == std::string_view::npos) return {std::string_view(), path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

// The property's value in the twin now, when it is a number.
std::optional<double> CurrentNumber(const twin::TwinGraph& graph, std::string_view twin_id, std::string_view path) {
  return graph.Read([&](const twin::GraphState& state) -> std::optional<double> {
    const twin::Twin* t = state.FindTwin(twin_id);
    if (t == nullptr) return std::nullopt;
    auto [component, name] = SplitPath(path);
    const json::object* holder = &t->doc;
    if (!component.empty()) {
      const json::value* c = t->doc.if_contains(component);
      if (c == nullptr || !c->is_object()) return std::nullopt;
      holder = &c->get_object();
    }
    const json::value* v = holder->if_contains(name);
    if (v == nullptr || !v->is_number()) return std::nullopt;
    return v->to_number<double>();
  });
}

std::string RateLimitReason(std::size_t per_hour) {
  return fmt::format("rate limit: at most {} automated device actions per twin per hour", per_hour);
}

}  // namespace

json::object DeviceActionJson(const ActionDef& action) {
  if (action.type == ActionType::kSetProperty) {
    return json::object{{"type", "setProperty"}, {"property", action.target}, {"value", action.value}};
  }
  return json::object{{"type", "command"}, {"command", action.target}, {"payload", action.value}};
}

Result<ActionDef> DeviceActionFromJson(const json::value& value) {
  const json::object* o = value.if_object();
  const json::value* type = o == nullptr ? nullptr : o->if_contains("type");
  if (type == nullptr || !type->is_string()) return Status::Internal("a recommendation's action has no type");
  const bool setpoint = type->get_string() == "setProperty";
  const json::value* target = o->if_contains(setpoint ? "property" : "command");
  if (target == nullptr || !target->is_string()) return Status::Internal("a recommendation's action has no target");
  ActionDef action{.type = setpoint ? ActionType::kSetProperty : ActionType::kCommand};
  action.target = std::string(target->get_string());
  if (const json::value* v = o->if_contains(setpoint ? "value" : "payload")) action.value = *v;
  return action;
}

std::string ActionRunner::ModelOf(std::string_view twin_id) const {
  return deps_.graph->Read([&](const twin::GraphState& state) {
    const twin::Twin* t = state.FindTwin(twin_id);
    return t == nullptr ? std::string() : t->model_id;
  });
}

Status ActionRunner::WriteSetpoint(std::string_view twin_id, std::string_view property, const json::value& value) {
  auto [component, name] = SplitPath(property);
  const json::value patch = json::array{json::object{{"op", "add"}, {"path", fmt::format("/{}", name)}, {"value", value}}};
  Result<json::object> doc = [&] {
    // Doppel's own write, not a device report: the command service sends it as desired.
    command::CommandService::DesiredWrite scope;
    return component.empty() ? deps_.graph->PatchTwin(twin_id, patch, {})
                             : deps_.graph->PatchComponent(twin_id, component, patch, {});
  }();
  if (!doc.ok()) return doc.status();
  deps_.commands->OnPatched(twin_id, component, patch);
  last_writes_[fmt::format("{}\n{}", twin_id, property)] = clock_.Now();
  return Status::Ok();
}

json::object ActionRunner::RunDevice(const ActionDef& action, const ActionContext& ctx, const SafetyEnvelope& envelope,
                                     const DeviceMode& mode) {
  std::lock_guard lock(device_mu_);
  json::object record = Record(ctx, action, mode.mode, "executed");
  record["request"] = DeviceActionJson(action);
  if (!mode.approved_by.empty()) record["approvedBy"] = mode.approved_by;
  if (ModelOf(ctx.twin_id).empty()) {
    record["outcome"] = "failed";
    record["reason"] = fmt::format("twin {} no longer exists", ctx.twin_id);
    return Log(std::move(record));
  }
  return action.type == ActionType::kSetProperty ? RunSetpoint(action, ctx, envelope, std::move(record))
                                                 : RunCommand(action, ctx, envelope, std::move(record));
}

bool ActionRunner::Admit(const EnvelopeDecision& decision, std::string_view twin_id, const SafetyEnvelope& envelope,
                         json::object& record) {
  if (decision.outcome == EnvelopeDecision::Outcome::kBlocked) {
    record["outcome"] = "blocked";
    record["reason"] = decision.reason;
    return false;
  }
  // Counted only once the envelope allows it: a blocked attempt does not use up the hour.
  if (!limiter_.TryAcquire(twin_id, clock_.Now(), envelope.max_commands_per_twin_per_hour())) {
    record["outcome"] = "blocked";
    record["reason"] = RateLimitReason(envelope.max_commands_per_twin_per_hour());
    return false;
  }
  return true;
}

json::object ActionRunner::RunSetpoint(const ActionDef& action, const ActionContext& ctx,
                                       const SafetyEnvelope& envelope, json::object record) {
  const std::string model = ModelOf(ctx.twin_id);
  EnvelopeDecision decision = deps_.graph->Read([&](const twin::GraphState& state) {
    return envelope.CheckSetpoint(state.models(), model, action.target, action.value);
  });
  const std::optional<double> current = CurrentNumber(*deps_.graph, ctx.twin_id, action.target);
  if (decision.max_rate_per_minute && !current && decision.outcome != EnvelopeDecision::Outcome::kBlocked) {
    // A rate bounds the change from the present value; without one there is nothing to step from.
    decision.outcome = EnvelopeDecision::Outcome::kBlocked;
    decision.reason = fmt::format("{} of {} has no current value: a rate-bounded setpoint needs one to step from",
                                  action.target, ctx.twin_id);
  }
  if (!Admit(decision, ctx.twin_id, envelope, record)) return Log(std::move(record));
  if (decision.outcome == EnvelopeDecision::Outcome::kClamped) record["outcome"] = "clamped";
  const json::value target = decision.value;
  // A change larger than one step of the envelope's rate starts a ramp: its first step now —
  // or, when automation changed this property less than a step interval ago (another rule, an
  // approval), one interval after that change.
  const double step = decision.max_rate_per_minute.value_or(0) *
                      std::chrono::duration<double, std::ratio<60>>(ramps_.interval()).count();
  const TimePoint now = clock_.Now();
  const auto last = last_writes_.find(fmt::format("{}\n{}", ctx.twin_id, action.target));
  const bool too_soon = decision.max_rate_per_minute && last != last_writes_.end() &&
                        now - last->second < ramps_.interval();
  const bool ramping = decision.max_rate_per_minute && target.is_number() && current &&
                       (too_soon || std::abs(target.to_number<double>() - *current) > step);
  ramps_.Cancel(ctx.twin_id, action.target);  // a newer setpoint replaces a ramp under way
  if (ramping && too_soon) {
    record["applied"] = json::object{{"value", *current}};
    if (!decision.reason.empty()) record["reason"] = decision.reason;
    StartRamp(ctx, action.target, target.to_number<double>(), step, *decision.max_rate_per_minute, record,
              last->second + ramps_.interval());
    return Log(std::move(record));
  }
  const json::value first = ramping ? json::value(StepToward(*current, target.to_number<double>(), step)) : target;
  Status written = WriteSetpoint(ctx.twin_id, action.target, first);
  if (!written.ok()) {
    record["outcome"] = "failed";
    record["reason"] = written.message();
    return Log(std::move(record));
  }
  record["applied"] = json::object{{"value", first}};
  if (!decision.reason.empty()) record["reason"] = decision.reason;
  if (ramping) {
    StartRamp(ctx, action.target, target.to_number<double>(), step, *decision.max_rate_per_minute, record,
              now + ramps_.interval());
  }
  return Log(std::move(record));
}

void ActionRunner::StartRamp(const ActionContext& ctx, const std::string& property, double target, double step,
                             double rate, json::object& record, TimePoint next) {
  const double seconds = std::chrono::duration<double>(ramps_.interval()).count();
  json::object& applied = record["applied"].as_object();
  applied["target"] = target;
  applied["ramp"] = json::object{{"maxRatePerMinute", rate}, {"maxStep", step}, {"intervalSeconds", seconds}};
  const json::value* reason = record.if_contains("reason");
  record["reason"] = fmt::format("{}{}ramping to {:.6g} by at most {:.6g} every {:.6g}s (maxRatePerMinute {:.6g})",
                                 reason == nullptr ? "" : std::string_view(reason->as_string()),
                                 reason == nullptr ? "" : "; ", target, step, seconds, rate);
  const json::value* approved_by = record.if_contains("approvedBy");
  ramps_.Start({.twin_id = ctx.twin_id,
                .property = property,
                .target = target,
                .max_step = step,
                .next = next,
                .rule = ctx.rule,
                .mode = std::string(record.at("mode").as_string()),
                .approved_by = approved_by == nullptr ? "" : std::string(approved_by->as_string()),
                .evidence = ctx.evidence});
}

json::object ActionRunner::RunCommand(const ActionDef& action, const ActionContext& ctx,
                                      const SafetyEnvelope& envelope, json::object record) {
  const std::string model = ModelOf(ctx.twin_id);
  EnvelopeDecision decision = deps_.graph->Read([&](const twin::GraphState& state) {
    return envelope.CheckCommand(state.models(), model, action.target, action.value);
  });
  if (!Admit(decision, ctx.twin_id, envelope, record)) return Log(std::move(record));
  auto [component, name] = SplitPath(action.target);
  auto invoked = deps_.commands->Invoke({.twin_id = ctx.twin_id,
                                         .component = std::string(component),
                                         .command = std::string(name),
                                         .payload = action.value,
                                         .caller = fmt::format("rule {}", ctx.rule)});
  if (!invoked.ok()) {
    record["outcome"] = "failed";
    record["reason"] = invoked.status().message();
    return Log(std::move(record));
  }
  record["ref"] = json::object{{"invocationId", invoked->id}};
  record["applied"] = json::object{{"payload", action.value}};
  if (invoked->status == command::InvocationStatus::kFailed) {
    record["outcome"] = "failed";
    record["reason"] = invoked->error;
  }
  return Log(std::move(record));
}

void ActionRunner::StepRamps(const SafetyEnvelope& envelope) {
  std::lock_guard lock(device_mu_);
  for (Ramp& ramp : ramps_.TakeDue(clock_.Now())) {
    const ActionContext ctx{.rule = ramp.rule, .twin_id = ramp.twin_id, .time = clock_.Now(),
                            .evidence = ramp.evidence.is_object() ? ramp.evidence.get_object() : json::object()};
    const ActionDef action{.type = ActionType::kSetProperty, .target = ramp.property, .value = ramp.target};
    json::object record = Record(ctx, action, ramp.mode, "executed");
    record["request"] = DeviceActionJson(action);
    if (!ramp.approved_by.empty()) record["approvedBy"] = ramp.approved_by;
    const auto stop = [&](std::string_view outcome, std::string reason) {
      record["outcome"] = outcome;
      record["reason"] = fmt::format("ramp stopped: {}", reason);
      ramps_.Cancel(ramp.twin_id, ramp.property);
      Log(std::move(record));
    };
    // The envelope as it is now: an operator may have tightened it, or asked for recommend
    // mode, while the ramp was under way.
    if (envelope.mode() == AutomationMode::kRecommend && ramp.approved_by.empty()) {
      stop("blocked", "the envelope is in recommend mode");
      continue;
    }
    const std::string model = ModelOf(ramp.twin_id);
    const EnvelopeDecision decision = deps_.graph->Read([&](const twin::GraphState& state) {
      return envelope.CheckSetpoint(state.models(), model, ramp.property, json::value(ramp.target));
    });
    if (decision.outcome == EnvelopeDecision::Outcome::kBlocked) {
      stop("blocked", decision.reason);
      continue;
    }
    const std::optional<double> current = CurrentNumber(*deps_.graph, ramp.twin_id, ramp.property);
    if (!current) {
      stop("failed", fmt::format("{} of {} is no longer a number", ramp.property, ramp.twin_id));
      continue;
    }
    const double target = decision.value.to_number<double>();
    double max_step = ramp.max_step;
    if (decision.max_rate_per_minute) {
      max_step = std::min(max_step, *decision.max_rate_per_minute *
                                        std::chrono::duration<double, std::ratio<60>>(ramps_.interval()).count());
    }
    const double next = StepToward(*current, target, max_step);
    Status written = WriteSetpoint(ramp.twin_id, ramp.property, next);
    record["applied"] = json::object{{"value", next}, {"target", target}, {"rampStep", ramp.steps + 1}};
    record["reason"] = fmt::format("ramp step {} toward {:.6g}", ramp.steps + 1, target);
    if (decision.outcome == EnvelopeDecision::Outcome::kClamped) {
      record["outcome"] = "clamped";
      record["reason"] = fmt::format("ramp step {} toward {:.6g} ({})", ramp.steps + 1, target, decision.reason);
    }
    if (!written.ok()) {
      record["outcome"] = "failed";
      record["reason"] = fmt::format("ramp stopped: {}", written.message());
    }
    if (!written.ok() || next == target) ramps_.Cancel(ramp.twin_id, ramp.property);
    Log(std::move(record));
  }
}

}  // namespace doppel::automation::internal
