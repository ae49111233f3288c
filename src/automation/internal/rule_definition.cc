#include "automation/internal/rule_definition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstdlib>
#include <initializer_list>

#include "model/value_validation.h"
#include "rules/expression.h"

namespace doppel::automation::internal {
namespace {

constexpr std::string_view kActionTypes[] = {"alert", "workOrder", "webhook", "setProperty", "command"};
constexpr std::size_t kMaxActions = 32;
constexpr std::size_t kMaxTitle = 200;
constexpr std::size_t kMaxText = 4'000;

Status Invalid(std::string_view member, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", member, what));
}

// Every member of `o` must be one of `known`: a misspelt "clearCondtion" would otherwise be a
// rule that silently never clears the way its author meant.
Status CheckMembers(const json::object& o, std::initializer_list<std::string_view> known, std::string_view where) {
  for (const auto& [key, value] : o) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) != known.end()) continue;
    std::string list;
    for (std::string_view k : known) list += fmt::format("{}{}", list.empty() ? "" : ", ", k);
    return Invalid(where.empty() ? std::string_view(key) : where,
                   fmt::format("unknown member '{}'; expected one of {}", std::string_view(key), list));
  }
  return Status::Ok();
}

std::string Path(std::string_view parent, std::string_view member) {
  return parent.empty() ? std::string(member) : fmt::format("{}.{}", parent, member);
}

// An optional string member ("" when absent).
Result<std::string> OptionalString(const json::object& o, std::string_view key, std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return Invalid(Path(where, key), fmt::format("must be a string, got {}", JsonTypeName(*v)));
  return std::string(v->get_string());
}

Result<std::string> RequiredString(const json::object& o, std::string_view key, std::string_view where) {
  DOPPEL_ASSIGN_OR_RETURN(std::string s, OptionalString(o, key, where));
  if (s.empty()) return Invalid(Path(where, key), "required (a non-empty string)");
  return s;
}

Result<bool> OptionalBool(const json::object& o, std::string_view key, std::string_view where, bool fallback) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (!v->is_bool()) return Invalid(Path(where, key), fmt::format("must be true or false, got {}", JsonTypeName(*v)));
  return v->get_bool();
}

Result<std::vector<std::string>> OptionalStrings(const json::object& o, std::string_view key, std::string_view where) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return out;
  if (!v->is_array()) return Invalid(Path(where, key), "must be an array of strings");
  for (const json::value& item : v->get_array()) {
    if (!item.is_string() || item.get_string().empty()) return Invalid(Path(where, key), "must be an array of strings");
    out.emplace_back(item.get_string());
  }
  return out;
}

Status CheckTemplate(std::string_view text, std::string_view member, std::size_t max) {
  if (text.size() > max) return Invalid(member, fmt::format("longer than {} characters", max));
  for (std::size_t at = text.find('{'); at != std::string_view::npos; at = text.find('{', at + 1)) {
    const std::size_t end = text.find('}', at);
    if (end == std::string_view::npos) return Invalid(member, "unclosed '{'; placeholders are {twinId}, {rule}, {time}");
    const std::string_view name = text.substr(at + 1, end - at - 1);
    if (name != "twinId" && name != "rule" && name != "time") {
      return Invalid(member, fmt::format("unknown placeholder {{{}}}; use {{twinId}}, {{rule}} or {{time}}", name));
    }
  }
  return Status::Ok();
}

Result<RuleScope> ParseScope(const json::object& rule) {
  RuleScope scope;
  const json::value* v = rule.if_contains("scope");
  if (v == nullptr) return scope;
  if (!v->is_object()) return Invalid("scope", "must be an object with model, twins, under, relationships");
  const json::object& o = v->get_object();
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, {"model", "twins", "under", "relationships"}, "scope"));
  DOPPEL_ASSIGN_OR_RETURN(scope.model, OptionalString(o, "model", "scope"));
  DOPPEL_ASSIGN_OR_RETURN(scope.twins, OptionalStrings(o, "twins", "scope"));
  DOPPEL_ASSIGN_OR_RETURN(scope.under, OptionalString(o, "under", "scope"));
  DOPPEL_ASSIGN_OR_RETURN(scope.relationships, OptionalStrings(o, "relationships", "scope"));
  if (!scope.relationships.empty() && scope.under.empty()) {
    return Invalid("scope.relationships", "needs scope.under (the root the relationships are followed from)");
  }
  return scope;
}

Result<int64_t> OptionalDuration(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return int64_t{0};
  if (!v->is_string()) return Invalid(key, "must be a duration such as \"30m\", \"1h\" or \"10s\"");
  return ParseDurationText(v->get_string(), key);
}

// ---- checks of actions against the scope's model ----

// A validation message names the value's path; ours names the member instead.
Status CheckValue(const model::Schema& schema, const json::value& value, std::string_view member) {
  Status valid = model::ValidateValue(schema, value, member);
  if (valid.ok()) return valid;
  return Status::InvalidArgument(fmt::format("{}: {}", member, valid.message()));
}

Status CheckSetProperty(const ActionDef& a, const std::string& where, const model::ModelRegistry& models,
                        const model::Interface& iface) {
  const model::Content* p = models.FindValue(iface, a.target);
  if (p == nullptr || p->kind != model::ContentKind::kProperty || !p->writable) {
    return Invalid(where + ".property", fmt::format("{} is not a writable property of {}", a.target, iface.id));
  }
  return CheckValue(*p->schema, a.value, where + ".value");
}

Status CheckCommand(const ActionDef& a, const std::string& where, const model::ModelRegistry& models,
                    const model::Interface& iface) {
  const model::Content* c = models.FindCommand(iface, a.target);
  if (c == nullptr) return Invalid(where + ".command", fmt::format("{} is not a command of {}", a.target, iface.id));
  if (a.value.is_null()) return Status::Ok();
  if (!c->request) return Invalid(where + ".payload", fmt::format("command {} takes no request payload", a.target));
  if (c->request->schema == nullptr) return Status::Ok();
  return CheckValue(*c->request->schema, a.value, where + ".payload");
}

// The model a relationship of `iface` leads to (nullptr = any model), or an error naming `member`.
Result<model::InterfacePtr> RelationshipTarget(const model::ModelRegistry& models, const model::Interface& iface,
                                               std::string_view relationship, std::string_view member) {
  const model::Content* rel = iface.Find(relationship);
  if (rel == nullptr || rel->kind != model::ContentKind::kRelationship) {
    return Invalid(member, fmt::format("{} is not a relationship of {}", relationship, iface.id));
  }
  return rel->target.empty() ? nullptr : models.Get(rel->target);
}

Status CheckWorkOrder(const ActionDef& a, const std::string& where, const model::ModelRegistry& models,
                      const model::Interface& iface) {
  if (!a.asset.empty()) DOPPEL_RETURN_IF_ERROR(RelationshipTarget(models, iface, a.asset, where + ".asset").status());
  if (a.rul.empty()) return Status::Ok();
  const std::size_t arrow = a.rul.find('>');
  model::InterfacePtr holder;
  std::string_view path = a.rul;
  if (arrow != std::string::npos) {
    DOPPEL_ASSIGN_OR_RETURN(holder, RelationshipTarget(models, iface, std::string_view(a.rul).substr(0, arrow),
                                                        where + ".rul"));
    path = std::string_view(a.rul).substr(arrow + 1);
    if (holder == nullptr) return Status::Ok();  // a relationship to any model: checked when it runs
  }
  const model::Interface& in = holder == nullptr ? iface : *holder;
  if (models.FindValue(in, path) == nullptr) {
    return Invalid(where + ".rul", fmt::format("{} is not a telemetry or property of {}", path, in.id));
  }
  return Status::Ok();
}

Status CheckAgainstModel(const ActionDef& a, const std::string& where, const model::ModelRegistry& models,
                         const model::Interface& iface) {
  switch (a.type) {
    case ActionType::kSetProperty: return CheckSetProperty(a, where, models, iface);
    case ActionType::kCommand: return CheckCommand(a, where, models, iface);
    case ActionType::kWorkOrder: return CheckWorkOrder(a, where, models, iface);
    default: return Status::Ok();
  }
}

// ---- each action type's members ----

Status ParseAlert(const json::object& o, const std::string& where, ActionDef& a) {
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, {"type", "severity", "title", "message", "clearWithRule"}, where));
  DOPPEL_ASSIGN_OR_RETURN(a.title, RequiredString(o, "title", where));
  DOPPEL_RETURN_IF_ERROR(CheckTemplate(a.title, where + ".title", kMaxTitle));
  DOPPEL_ASSIGN_OR_RETURN(a.message, OptionalString(o, "message", where));
  DOPPEL_RETURN_IF_ERROR(CheckTemplate(a.message, where + ".message", kMaxText));
  DOPPEL_ASSIGN_OR_RETURN(std::string severity, OptionalString(o, "severity", where));
  if (!severity.empty()) {
    auto parsed = alerts::ParseSeverity(severity);
    if (!parsed.ok()) return Invalid(where + ".severity", parsed.status().message());
    a.severity = *parsed;
  }
  DOPPEL_ASSIGN_OR_RETURN(a.clear_with_rule, OptionalBool(o, "clearWithRule", where, true));
  return Status::Ok();
}

Status ParseWorkOrder(const json::object& o, const std::string& where, ActionDef& a) {
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, {"type", "title", "reason", "priority", "asset", "rul"}, where));
  DOPPEL_ASSIGN_OR_RETURN(a.title, RequiredString(o, "title", where));
  DOPPEL_RETURN_IF_ERROR(CheckTemplate(a.title, where + ".title", kMaxTitle));
  DOPPEL_ASSIGN_OR_RETURN(a.message, OptionalString(o, "reason", where));
  DOPPEL_RETURN_IF_ERROR(CheckTemplate(a.message, where + ".reason", kMaxText));
  DOPPEL_ASSIGN_OR_RETURN(std::string priority, OptionalString(o, "priority", where));
  if (!priority.empty()) {
    auto parsed = maintenance::ParsePriority(priority);
    if (!parsed.ok()) return Invalid(where + ".priority", parsed.status().message());
    a.priority = *parsed;
  }
  DOPPEL_ASSIGN_OR_RETURN(a.asset, OptionalString(o, "asset", where));
  DOPPEL_ASSIGN_OR_RETURN(a.rul, OptionalString(o, "rul", where));
  return Status::Ok();
}

Status ParseWebhook(const json::object& o, const std::string& where, ActionDef& a) {
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, {"type", "url", "secret", "onClear"}, where));
  DOPPEL_ASSIGN_OR_RETURN(a.url, RequiredString(o, "url", where));
  const std::string_view url = a.url;
  const std::size_t scheme = url.starts_with("https://") ? 8 : url.starts_with("http://") ? 7 : 0;
  if (scheme == 0 || url.size() == scheme || url[scheme] == '/') {
    return Invalid(where + ".url", fmt::format("must be an http:// or https:// URL with a host, got '{}'", url));
  }
  DOPPEL_ASSIGN_OR_RETURN(a.secret, OptionalString(o, "secret", where));
  DOPPEL_ASSIGN_OR_RETURN(a.on_clear, OptionalBool(o, "onClear", where, false));
  return Status::Ok();
}

Status ParseSetProperty(const json::object& o, const std::string& where, ActionDef& a) {
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, {"type", "property", "value"}, where));
  DOPPEL_ASSIGN_OR_RETURN(a.target, RequiredString(o, "property", where));
  const json::value* v = o.if_contains("value");
  if (v == nullptr || v->is_null()) return Invalid(where + ".value", "required");
  a.value = *v;
  return Status::Ok();
}

Status ParseCommand(const json::object& o, const std::string& where, ActionDef& a) {
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, {"type", "command", "payload"}, where));
  DOPPEL_ASSIGN_OR_RETURN(a.target, RequiredString(o, "command", where));
  if (const json::value* v = o.if_contains("payload")) a.value = *v;
  return Status::Ok();
}

// Actions whose service the server does not run are refused when the rule is put, not when
// it first fires.
Status CheckService(ActionType type, const std::string& where, const AvailableServices& s) {
  auto refuse = [&](std::string_view what, std::string_view service) {
    return Invalid(where + ".type",
                   fmt::format("{} actions need {}, which are not enabled on this server", what, service));
  };
  switch (type) {
    case ActionType::kAlert: return s.alerts ? Status::Ok() : refuse("alert", "alerts");
    case ActionType::kWorkOrder: return s.work_orders ? Status::Ok() : refuse("workOrder", "work orders");
    case ActionType::kWebhook: return s.webhooks ? Status::Ok() : refuse("webhook", "webhooks");
    default: return s.commands ? Status::Ok() : refuse(ActionTypeName(type), "commands");
  }
}

Result<ActionDef> ParseAction(const json::value& v, std::size_t index, const AvailableServices& services) {
  const std::string where = fmt::format("actions[{}]", index);
  if (!v.is_object()) return Invalid(where, "must be an object with a \"type\"");
  const json::object& o = v.get_object();
  DOPPEL_ASSIGN_OR_RETURN(std::string type, RequiredString(o, "type", where));
  auto it = std::find(std::begin(kActionTypes), std::end(kActionTypes), type);
  if (it == std::end(kActionTypes)) {
    return Invalid(where + ".type",
                   fmt::format("unknown action type '{}'; expected alert, workOrder, webhook, setProperty or command", type));
  }
  ActionDef a{.type = static_cast<ActionType>(it - std::begin(kActionTypes))};
  DOPPEL_RETURN_IF_ERROR(CheckService(a.type, where, services));
  switch (a.type) {
    case ActionType::kAlert: DOPPEL_RETURN_IF_ERROR(ParseAlert(o, where, a)); break;
    case ActionType::kWorkOrder: DOPPEL_RETURN_IF_ERROR(ParseWorkOrder(o, where, a)); break;
    case ActionType::kWebhook: DOPPEL_RETURN_IF_ERROR(ParseWebhook(o, where, a)); break;
    case ActionType::kSetProperty: DOPPEL_RETURN_IF_ERROR(ParseSetProperty(o, where, a)); break;
    case ActionType::kCommand: DOPPEL_RETURN_IF_ERROR(ParseCommand(o, where, a)); break;
  }
  return a;
}

Status ParseActions(const json::object& o, const model::ModelRegistry& models, const AvailableServices& services,
                    RuleDefinition& rule) {
  const json::value* v = o.if_contains("actions");
  if (v == nullptr || !v->is_array() || v->get_array().empty()) {
    return Invalid("actions", "required: an array of at least one action");
  }
  if (v->get_array().size() > kMaxActions) return Invalid("actions", fmt::format("at most {} actions", kMaxActions));
  model::InterfacePtr iface = rule.spec.scope.model.empty() ? nullptr : models.Get(rule.spec.scope.model);
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    DOPPEL_ASSIGN_OR_RETURN(ActionDef action, ParseAction(v->get_array()[i], i, services));
    if (iface != nullptr) {
      DOPPEL_RETURN_IF_ERROR(CheckAgainstModel(action, fmt::format("actions[{}]", i), models, *iface));
    }
    rule.actions.push_back(std::move(action));
  }
  return Status::Ok();
}

Status ParseMode(const json::object& o, RuleDefinition& rule) {
  DOPPEL_ASSIGN_OR_RETURN(std::string mode, OptionalString(o, "mode", ""));
  if (!mode.empty()) {
    auto parsed = ParseAutomationMode(mode);
    if (!parsed.ok()) return Invalid("mode", fmt::format("must be \"auto\" or \"recommend\", got '{}'", mode));
    rule.mode = *parsed;
  }
  DOPPEL_ASSIGN_OR_RETURN(int64_t ttl, OptionalDuration(o, "recommendationTtl"));
  if (o.contains("recommendationTtl") && ttl <= 0) return Invalid("recommendationTtl", "must be longer than 0");
  rule.recommendation_ttl = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(ttl));
  return Status::Ok();
}

Status ParseCondition(const json::object& o, RuleDefinition& rule) {
  DOPPEL_ASSIGN_OR_RETURN(rule.spec.condition, RequiredString(o, "condition", ""));
  DOPPEL_ASSIGN_OR_RETURN(rule.spec.clear_condition, OptionalString(o, "clearCondition", ""));
  DOPPEL_ASSIGN_OR_RETURN(rule.spec.cooldown_ns, OptionalDuration(o, "cooldown"));
  // Errors in the text are the engine's to report (RuleEngine::Check, with the position).
  if (auto parsed = rules::Expression::Parse(rule.spec.condition); parsed.ok()) {
    rule.lookback_ns = parsed->lookback_ns();
  }
  return Status::Ok();
}

}  // namespace

std::string_view ActionTypeName(ActionType type) { return kActionTypes[static_cast<int>(type)]; }

bool RuleDefinition::has_device_actions() const {
  return std::any_of(actions.begin(), actions.end(), [](const ActionDef& a) { return IsDeviceAction(a.type); });
}

Status CheckRuleName(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
  if (ok) return Status::Ok();
  return Status::InvalidArgument(
      fmt::format("a rule name is 1 to 64 letters, digits, '_', '-' or '.', got '{}'", name));
}

Result<RuleDefinition> ParseRuleDefinition(std::string_view name, const json::value& body,
                                           const model::ModelRegistry& models, const AvailableServices& services) {
  DOPPEL_RETURN_IF_ERROR(CheckRuleName(name));
  if (!body.is_object()) return Status::InvalidArgument("a rule must be a JSON object");
  const json::object& o = body.get_object();
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, {"description", "enabled", "scope", "condition", "clearCondition", "cooldown",
                                          "mode", "recommendationTtl", "actions"},
                                      ""));
  RuleDefinition rule{.name = std::string(name), .body = o};
  rule.spec.name = rule.name;
  DOPPEL_ASSIGN_OR_RETURN(std::string description, OptionalString(o, "description", ""));
  if (description.size() > kMaxText) return Invalid("description", fmt::format("longer than {} characters", kMaxText));
  DOPPEL_ASSIGN_OR_RETURN(rule.spec.enabled, OptionalBool(o, "enabled", "", true));
  DOPPEL_ASSIGN_OR_RETURN(rule.spec.scope, ParseScope(o));
  if (!rule.spec.scope.model.empty() && models.Find(rule.spec.scope.model) == nullptr) {
    return Invalid("scope.model", fmt::format("unknown model '{}'", rule.spec.scope.model));
  }
  DOPPEL_RETURN_IF_ERROR(ParseCondition(o, rule));
  DOPPEL_RETURN_IF_ERROR(ParseMode(o, rule));
  DOPPEL_RETURN_IF_ERROR(ParseActions(o, models, services, rule));
  return rule;
}

json::object RuleDefinitionJson(const RuleDefinition& rule) {
  json::object out = rule.body;
  if (json::value* actions = out.if_contains("actions"); actions != nullptr && actions->is_array()) {
    for (json::value& action : actions->get_array()) {
      if (!action.is_object() || !action.get_object().contains("secret")) continue;
      action.get_object().erase("secret");
      action.get_object()["secretSet"] = true;
    }
  }
  return out;
}

Result<int64_t> ParseDurationText(std::string_view text, std::string_view member) {
  std::size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) {
    ++digits;
  }
  const std::string number(text.substr(0, digits));
  const std::string_view unit = text.substr(digits);
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}, {"d", 86400e9}};
  const auto* found = std::find_if(std::begin(kUnits), std::end(kUnits), [&](const auto& u) { return u.first == unit; });
  char* end = nullptr;
  const double value = number.empty() ? NAN : std::strtod(number.c_str(), &end);
  if (found == std::end(kUnits) || !std::isfinite(value) || end != number.c_str() + number.size()) {
    return Invalid(member, fmt::format("'{}' is not a duration such as \"30m\", \"1h\", \"10s\" or \"250ms\"", text));
  }
  const double ns = value * found->second;
  if (ns > 365 * 86400e9) return Invalid(member, fmt::format("'{}' is longer than a year", text));
  return static_cast<int64_t>(std::llround(ns));
}

std::string ExpandTemplate(std::string_view text, const TemplateValues& values) {
  std::string out;
  out.reserve(text.size() + 32);
  std::size_t from = 0;
  for (std::size_t at = text.find('{'); at != std::string_view::npos; at = text.find('{', from)) {
    const std::size_t end = text.find('}', at);
    if (end == std::string_view::npos) break;
    out.append(text.substr(from, at - from));
    const std::string_view name = text.substr(at + 1, end - at - 1);
    if (name == "twinId") {
      out.append(values.twin_id);
    } else if (name == "rule") {
      out.append(values.rule);
    } else if (name == "time") {
      out.append(FormatRfc3339(values.time));
    } else {
      out.append(text.substr(at, end - at + 1));
    }
    from = end + 1;
  }
  out.append(text.substr(from));
  return out;
}

}  // namespace doppel::automation::internal
