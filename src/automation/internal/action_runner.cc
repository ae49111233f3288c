// Alerts, work orders and webhooks; the records every action leaves. Device actions are in
// action_device.cc.
#include "automation/internal/action_runner.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "alerts/alert_service.h"
#include "client/webhook_sender.h"
#include "ingest/live_state.h"
#include "maintenance/work_order_service.h"
#include "twin/twin_graph.h"

namespace doppel::automation::internal {
namespace {

constexpr int64_t kMinHistoryWindowNs = int64_t{3600} * 1'000'000'000;

std::string QueryEscape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string DedupKey(std::string_view rule, std::string_view twin_id) { return fmt::format("{}/{}", rule, twin_id); }

std::string ByRule(std::string_view rule) { return fmt::format("rule {}", rule); }

TemplateValues Values(const ActionContext& ctx) {
  return {.twin_id = ctx.twin_id, .rule = ctx.rule, .time = ctx.time};
}

std::optional<double> LiveNumber(const ingest::LiveState* live, std::string_view twin_id, std::string_view path) {
  if (live == nullptr) return std::nullopt;
  std::optional<ingest::Latest> latest = live->Get(twin_id, path);
  if (!latest) return std::nullopt;
  if (const double* d = std::get_if<double>(&latest->value)) return std::isfinite(*d) ? std::optional(*d) : std::nullopt;
  if (const int64_t* i = std::get_if<int64_t>(&latest->value)) return static_cast<double>(*i);
  return std::nullopt;
}

// The target of the twin's relationship named `name`, or "" when it has none.
std::string RelatedTwin(const twin::TwinGraph& graph, std::string_view twin_id, std::string_view name) {
  return graph.Read([&](const twin::GraphState& state) {
    const auto* outgoing = state.Outgoing(twin_id);
    if (outgoing == nullptr) return std::string();
    for (const auto& [id, rel] : *outgoing) {
      if (rel.name == name) return rel.target_id;
    }
    return std::string();
  });
}

// {"value", "low", "high", "unit": "h"} of the RUL signal `rul` ("rel>rul" or "rul") as the
// live state holds it; its lower bound is "<name>Low" (the RUL outputs' convention,
// docs/analytics-rul.md), its upper "<name>High". Null when no value is known.
json::value RulEvidence(const AutomationDeps& deps, std::string_view twin_id, std::string_view rul) {
  std::string holder(twin_id);
  std::string_view path = rul;
  if (std::size_t arrow = rul.find('>'); arrow != std::string_view::npos) {
    holder = RelatedTwin(*deps.graph, twin_id, rul.substr(0, arrow));
    path = rul.substr(arrow + 1);
    if (holder.empty()) return nullptr;
  }
  std::optional<double> value = LiveNumber(deps.live, holder, path);
  std::optional<double> low = LiveNumber(deps.live, holder, fmt::format("{}Low", path));
  std::optional<double> high = LiveNumber(deps.live, holder, fmt::format("{}High", path));
  if (!value && !low) return nullptr;
  json::object out{{"unit", "h"}, {"twinId", holder}, {"signal", path}};
  if (value) out["value"] = *value;
  if (low) out["low"] = *low;
  if (high) out["high"] = *high;
  return out;
}

// Due at the predicted failure's early end: now + the RUL's lower bound (else the RUL).
std::optional<TimePoint> DueFrom(const json::value& rul, TimePoint now) {
  if (!rul.is_object()) return std::nullopt;
  const json::value* hours = rul.get_object().if_contains("low");
  if (hours == nullptr) hours = rul.get_object().if_contains("value");
  if (hours == nullptr || !hours->is_number()) return std::nullopt;
  const double h = std::max(0.0, hours->to_number<double>());
  return now + std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double, std::ratio<3600>>(h));
}

}  // namespace

json::object MakeEvidence(const json::object& signals, std::string_view twin_id, TimePoint time, int64_t lookback_ns) {
  const TimePoint from = time - std::chrono::nanoseconds(std::max(lookback_ns, kMinHistoryWindowNs));
  return json::object{{"signals", signals},
                      {"time", FormatRfc3339(time)},
                      {"history", fmt::format("/timeseries/query?twin={}&start={}&end={}", QueryEscape(twin_id),
                                              QueryEscape(FormatRfc3339(from)), QueryEscape(FormatRfc3339(time)))}};
}

ActionRunner::ActionRunner(const AutomationDeps& deps, const Clock& clock, ActionLog& log,
                           std::chrono::milliseconds ramp_step)
    : deps_(deps), clock_(clock), log_(log), ramps_(ramp_step) {}

json::object ActionRunner::Record(const ActionContext& ctx, const ActionDef& action, std::string_view mode,
                                  std::string_view outcome) const {
  return json::object{{"time", FormatRfc3339(clock_.Now())},
                      {"rule", ctx.rule},
                      {"twinId", ctx.twin_id},
                      {"type", ActionTypeName(action.type)},
                      {"mode", mode},
                      {"outcome", outcome},
                      {"evidence", ctx.evidence}};
}

json::object ActionRunner::Log(json::object record) { return log_.Append(std::move(record)); }

void ActionRunner::RunNotification(const ActionDef& action, const ActionContext& ctx, bool activated) {
  switch (action.type) {
    case ActionType::kAlert: RunAlert(action, ctx, activated); break;
    case ActionType::kWorkOrder:
      if (activated) RunWorkOrder(action, ctx);
      break;
    case ActionType::kWebhook: RunWebhook(action, ctx, activated); break;
    default: break;
  }
}

void ActionRunner::RunAlert(const ActionDef& action, const ActionContext& ctx, bool activated) {
  if (!activated && !action.clear_with_rule) return;
  json::object record = Record(ctx, action, "auto", "executed");
  const std::string key = DedupKey(ctx.rule, ctx.twin_id);
  if (!activated) {
    record["request"] = json::object{{"clear", true}, {"dedupKey", key}};
    auto cleared = deps_.alerts->ClearByKey(key, ByRule(ctx.rule), "the rule's condition cleared");
    if (cleared.ok() && !cleared->has_value()) return;  // nothing open: nothing done
    if (cleared.ok()) {
      record["ref"] = json::object{{"alertId", (*cleared)->id}};
    } else {
      record["outcome"] = "failed";
      record["reason"] = cleared.status().message();
    }
    Log(std::move(record));
    return;
  }
  alerts::RaiseRequest request{.twin_id = ctx.twin_id,
                               .dedup_key = key,
                               .severity = action.severity,
                               .title = ExpandTemplate(action.title, Values(ctx)),
                               .message = ExpandTemplate(action.message, Values(ctx)),
                               .rule = ctx.rule,
                               .raised_by = ByRule(ctx.rule),
                               .evidence = ctx.evidence};
  record["request"] = json::object{{"severity", alerts::SeverityName(request.severity)},
                                   {"title", request.title},
                                   {"message", request.message},
                                   {"dedupKey", key}};
  auto raised = deps_.alerts->Raise(request);
  if (raised.ok()) {
    record["ref"] = json::object{{"alertId", raised->id}};
  } else {
    record["outcome"] = "failed";
    record["reason"] = raised.status().message();
  }
  Log(std::move(record));
}

void ActionRunner::RunWorkOrder(const ActionDef& action, const ActionContext& ctx) {
  json::object record = Record(ctx, action, "auto", "executed");
  std::string asset = ctx.twin_id;
  if (!action.asset.empty()) asset = RelatedTwin(*deps_.graph, ctx.twin_id, action.asset);
  json::object evidence = ctx.evidence;
  json::value rul = action.rul.empty() ? json::value(nullptr) : RulEvidence(deps_, ctx.twin_id, action.rul);
  if (!rul.is_null()) evidence["rul"] = rul;
  maintenance::CreateWorkOrder request{
      .twin_id = asset,
      .title = ExpandTemplate(action.title, Values(ctx)),
      .reason = action.message.empty() ? fmt::format("rule {} activated for {} at {}", ctx.rule, ctx.twin_id,
                                                     FormatRfc3339(ctx.time))
                                       : ExpandTemplate(action.message, Values(ctx)),
      .priority = action.priority,
      .due = DueFrom(rul, clock_.Now()),
      .dedup_key = DedupKey(ctx.rule, asset),
      .rule = ctx.rule,
      .created_by = ByRule(ctx.rule),
      .evidence = evidence};
  json::object asked{{"title", request.title}, {"priority", maintenance::PriorityName(request.priority)},
                     {"asset", asset}, {"dedupKey", request.dedup_key}};
  if (request.due) asked["dueTime"] = FormatRfc3339(*request.due);
  record["request"] = std::move(asked);
  record["evidence"] = std::move(evidence);
  if (asset.empty()) {
    record["outcome"] = "failed";
    record["reason"] = fmt::format("{} has no {} relationship: no asset for the work order", ctx.twin_id, action.asset);
    Log(std::move(record));
    return;
  }
  auto created = deps_.work_orders->Create(request);
  if (created.ok()) {
    record["ref"] = json::object{{"workOrderId", created->id}};
  } else {
    record["outcome"] = "failed";
    record["reason"] = created.status().message();
  }
  Log(std::move(record));
}

void ActionRunner::RunWebhook(const ActionDef& action, const ActionContext& ctx, bool activated) {
  if (!activated && !action.on_clear) return;
  const std::string event = activated ? "rule.activated" : "rule.cleared";
  json::object record = Record(ctx, action, "auto", "executed");
  record["request"] = json::object{{"url", action.url}, {"event", event}};
  auto id = deps_.webhooks->Enqueue({.url = action.url,
                                     .secret = action.secret,
                                     .event = event,
                                     .body = json::object{{"event", event},
                                                          {"rule", ctx.rule},
                                                          {"twinId", ctx.twin_id},
                                                          {"time", FormatRfc3339(ctx.time)},
                                                          {"evidence", ctx.evidence}}});
  if (id.ok()) {
    record["ref"] = json::object{{"deliveryId", *id}};
  } else {
    record["outcome"] = "failed";
    record["reason"] = id.status().message();
  }
  Log(std::move(record));
}

void ActionRunner::RecordRecommended(const ActionDef& action, const ActionContext& ctx,
                                     std::string_view recommendation_id) {
  json::object record = Record(ctx, action, "recommend", "recommended");
  record["request"] = DeviceActionJson(action);
  record["ref"] = json::object{{"recommendationId", recommendation_id}};
  Log(std::move(record));
}

}  // namespace doppel::automation::internal
