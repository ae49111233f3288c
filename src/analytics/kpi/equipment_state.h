// Equipment state classification (docs/analytics-kpi.md): a machine's operating state —
// running, idle, stopped, faulted — inferred from its signals when the device does not report
// it. Rules per model, first match wins, each rule a conjunction of signal comparisons, with a
// minimum dwell time so a noisy signal does not flap the state.
//
//   {"rules": [
//      {"state": "faulted", "when": [{"signal": "vibrationRms", "above": 7.1}]},
//      {"state": "running", "when": [{"signal": "activePower", "above": 50}]},
//      {"state": "idle",    "when": [{"signal": "windSpeed", "below": 3.5}]},
//      {"state": "stopped"}],                       // no "when": the default
//    "minDwell": "60s", "stale": "10m"}
//
// Not thread-safe: one classifier per twin, one owner.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace doppel::analytics {

struct StateCondition {
  std::string signal;
  double above = -std::numeric_limits<double>::infinity();  // value > above
  double below = std::numeric_limits<double>::infinity();   // value < below
};
struct StateRule {
  std::string state;  // "running", "idle", "stopped", "faulted"
  std::vector<StateCondition> when = {};
};
struct StateRules {
  std::vector<StateRule> rules = {};
  int64_t min_dwell_ns = 0;  // a new state must hold this long before it is reported
  int64_t stale_ns = 0;      // a signal older than this counts as absent (0 = never stale)
};

// InvalidArgument naming the rule and field: "rules[1].when[0]: 'above' must be a number".
Result<StateRules> ParseStateRules(const json::value& body);
json::object StateRulesToJson(const StateRules& rules);

class StateClassifier {
 public:
  explicit StateClassifier(StateRules rules);
  // Records a signal's value; returns the reported state after it ("" until a rule matched
  // for min_dwell). A rule whose signals are absent or stale does not match; when no rule
  // matches (no default rule, stale signals) the candidate state is "" (unknown), which is
  // reported after min_dwell like any other. Readings are expected in time order; an older
  // reading of a signal than the one held is ignored.
  std::string_view Update(int64_t time_ns, std::string_view signal, double value);
  std::string_view state() const { return reported_; }
  // When the reported state began: the time of the reading where its rule first matched
  // (before the dwell confirmed it), so history back-dates a change to when it happened.
  int64_t since_ns() const { return reported_since_; }

 private:
  // The state of the first rule whose conditions all hold at `now`; "" if none.
  std::string_view Match(int64_t now) const;

  StateRules rules_;
  std::map<std::string, std::pair<int64_t, double>, std::less<>> latest_;
  std::string reported_, candidate_;
  int64_t candidate_since_ = 0, reported_since_ = 0;
};

}  // namespace doppel::analytics
