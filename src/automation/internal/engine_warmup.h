// Warm-up: an instance that starts (a new rule, a twin joining a scope, a new related twin)
// begins from what is already known rather than from nothing — the twins' current properties,
// the live state's latest readings and, with history, the readings covering the conditions'
// lookback, so `avg(x, 10m)` and `x > 90 for 5m` are right from the start.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "automation/internal/engine_instance.h"
#include "automation/internal/engine_values.h"
#include "twin/twin_graph.h"

namespace doppel::ingest {
class LiveState;
}

namespace doppel::automation::engine {

// What an instance reads, as found on the graph (under its lock): for each of the rule's
// signals the twins it reads it from (its own twin, or the targets of the relationship), and
// the properties those twins' documents hold for it.
struct SignalSources {
  struct Property {
    uint32_t signal = 0;
    std::string twin_id;  // whose document holds it
    PropertyValue value;
  };
  std::vector<std::vector<std::string>> twins;  // by signal
  std::vector<Property> properties;
};

// Every source of every signal of `rule` for `twin_id`.
SignalSources FindSources(const twin::GraphState& graph, const CompiledRule& rule, std::string_view twin_id);
// Only the signals read through `relationship`.
SignalSources FindRelatedSources(const twin::GraphState& graph, const CompiledRule& rule, std::string_view twin_id,
                                 std::string_view relationship);

// Observes what is known of `sources`: history covering the rule's lookback (when `history`
// is given), replayed through both conditions in time order without stepping the state
// machine; then the properties and the live state's latest values. `live` and `history` may
// be null. Leaves the instance touched if it observed anything (the caller evaluates it).
void WarmUp(Instance& instance, const SignalSources& sources, const ingest::LiveState* live,
            const tsdb::SeriesStore* history);

}  // namespace doppel::automation::engine
