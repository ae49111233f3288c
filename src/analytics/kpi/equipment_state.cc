#include "analytics/kpi/equipment_state.h"

#include <fmt/format.h>

#include <cmath>
#include <utility>

#include "analytics/kpi/duration_text.h"
#include "analytics/kpi/json_fields.h"

namespace doppel::analytics {
namespace {

Result<double> Bound(const json::object& o, std::string_view key, std::string_view where, double absent) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return absent;
  if (!v->is_number()) return Status::InvalidArgument(fmt::format("{}'{}' must be a number", where, key));
  return v->to_number<double>();
}

Result<StateCondition> ParseCondition(const json::value& body, const std::string& where) {
  if (!body.is_object()) {
    return Status::InvalidArgument(fmt::format("{}must be an object {{\"signal\", \"above\", \"below\"}}", where));
  }
  const json::object& o = body.get_object();
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, where, {"signal", "above", "below"}));
  StateCondition c;
  const json::value* signal = o.if_contains("signal");
  if (signal == nullptr || !signal->is_string() || signal->get_string().empty()) {
    return Status::InvalidArgument(fmt::format("{}'signal' must be a non-empty string", where));
  }
  c.signal = std::string(signal->get_string());
  DOPPEL_ASSIGN_OR_RETURN(c.above, Bound(o, "above", where, c.above));
  DOPPEL_ASSIGN_OR_RETURN(c.below, Bound(o, "below", where, c.below));
  if (!o.contains("above") && !o.contains("below")) {
    return Status::InvalidArgument(fmt::format("{}needs 'above' or 'below'", where));
  }
  if (!(c.above < c.below)) {
    return Status::InvalidArgument(
        fmt::format("{}'above' ({}) must be less than 'below' ({}): the condition could never hold", where, c.above,
                    c.below));
  }
  return c;
}

Result<StateRule> ParseRule(const json::value& body, size_t index) {
  const std::string where = fmt::format("rules[{}]: ", index);
  if (!body.is_object()) return Status::InvalidArgument(fmt::format("{}must be an object {{\"state\", \"when\"}}", where));
  const json::object& o = body.get_object();
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, where, {"state", "when"}));
  StateRule rule;
  const json::value* state = o.if_contains("state");
  if (state == nullptr || !state->is_string() || state->get_string().empty()) {
    return Status::InvalidArgument(fmt::format("{}'state' must be a non-empty string", where));
  }
  rule.state = std::string(state->get_string());
  const json::value* when = o.if_contains("when");
  if (when == nullptr) return rule;
  if (!when->is_array()) return Status::InvalidArgument(fmt::format("{}'when' must be an array of conditions", where));
  for (size_t j = 0; j < when->get_array().size(); ++j) {
    DOPPEL_ASSIGN_OR_RETURN(StateCondition c,
                            ParseCondition(when->get_array()[j], fmt::format("rules[{}].when[{}]: ", index, j)));
    rule.when.push_back(std::move(c));
  }
  return rule;
}

}  // namespace

Result<StateRules> ParseStateRules(const json::value& body) {
  if (!body.is_object()) {
    return Status::InvalidArgument("state rules must be an object {\"rules\": [...], \"minDwell\", \"stale\"}");
  }
  const json::object& o = body.get_object();
  DOPPEL_RETURN_IF_ERROR(CheckMembers(o, "", {"rules", "minDwell", "stale"}));
  const json::value* rules = o.if_contains("rules");
  if (rules == nullptr || !rules->is_array() || rules->get_array().empty()) {
    return Status::InvalidArgument("'rules' must be a non-empty array of {\"state\", \"when\"}");
  }
  StateRules out;
  std::optional<size_t> default_rule;
  for (size_t i = 0; i < rules->get_array().size(); ++i) {
    if (default_rule) {
      return Status::InvalidArgument(fmt::format(
          "rules[{}]: unreachable: rules[{}] has no conditions and always matches (put the default last)", i,
          *default_rule));
    }
    DOPPEL_ASSIGN_OR_RETURN(StateRule rule, ParseRule(rules->get_array()[i], i));
    if (rule.when.empty()) default_rule = i;
    out.rules.push_back(std::move(rule));
  }
  DOPPEL_ASSIGN_OR_RETURN(out.min_dwell_ns, OptionalDuration(o, "minDwell"));
  DOPPEL_ASSIGN_OR_RETURN(out.stale_ns, OptionalDuration(o, "stale"));
  return out;
}

json::object StateRulesToJson(const StateRules& rules) {
  json::array list;
  for (const StateRule& rule : rules.rules) {
    json::object r{{"state", rule.state}};
    if (!rule.when.empty()) {
      json::array when;
      for (const StateCondition& c : rule.when) {
        json::object condition{{"signal", c.signal}};
        if (std::isfinite(c.above)) condition["above"] = c.above;
        if (std::isfinite(c.below)) condition["below"] = c.below;
        when.push_back(std::move(condition));
      }
      r["when"] = std::move(when);
    }
    list.push_back(std::move(r));
  }
  json::object out{{"rules", std::move(list)}};
  if (rules.min_dwell_ns > 0) out["minDwell"] = FormatDurationText(rules.min_dwell_ns);
  if (rules.stale_ns > 0) out["stale"] = FormatDurationText(rules.stale_ns);
  return out;
}

StateClassifier::StateClassifier(StateRules rules) : rules_(std::move(rules)) {}

std::string_view StateClassifier::Match(int64_t now) const {
  for (const StateRule& rule : rules_.rules) {
    bool holds = true;
    for (const StateCondition& c : rule.when) {
      auto it = latest_.find(c.signal);
      const bool fresh = it != latest_.end() && (rules_.stale_ns <= 0 || now - it->second.first <= rules_.stale_ns);
      holds = fresh && it->second.second > c.above && it->second.second < c.below;
      if (!holds) break;
    }
    if (holds) return rule.state;
  }
  return {};
}

std::string_view StateClassifier::Update(int64_t time_ns, std::string_view signal, double value) {
  auto it = latest_.find(signal);
  if (it == latest_.end()) {
    latest_.emplace(std::string(signal), std::make_pair(time_ns, value));
  } else if (time_ns >= it->second.first) {
    it->second = {time_ns, value};
  }
  const std::string_view matched = Match(time_ns);
  if (matched != candidate_) {
    candidate_ = std::string(matched);
    candidate_since_ = time_ns;
  }
  // A first state is reported as soon as it has held min_dwell, like any later change.
  if (candidate_ != reported_ && time_ns - candidate_since_ >= rules_.min_dwell_ns) {
    reported_ = candidate_;
    reported_since_ = candidate_since_;
  }
  return reported_;
}

}  // namespace doppel::analytics
