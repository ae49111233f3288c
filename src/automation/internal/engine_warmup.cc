#include "automation/internal/engine_warmup.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <tuple>

#include "automation/internal/engine_scope.h"
#include "ingest/live_state.h"

namespace doppel::automation::engine {
namespace {

int64_t DocTimeNs(const json::object& doc) {
  const json::value* meta = doc.if_contains("$metadata");
  const json::value* time = meta && meta->is_object() ? meta->get_object().if_contains("$lastUpdateTime") : nullptr;
  return time && time->is_string() ? EventTimeNs(time->get_string()) : 0;
}

void AddSource(const twin::GraphState& graph, const rules::SignalRef& signal, uint32_t index, std::string source,
               SignalSources& out) {
  if (const twin::Twin* twin = graph.FindTwin(source)) {
    if (auto property = FindProperty(twin->doc, signal.path, 0)) {
      if (property->time_ns == 0) property->time_ns = DocTimeNs(twin->doc);
      out.properties.push_back({index, source, std::move(*property)});
    }
  }
  out.twins[index].push_back(std::move(source));
}

SignalSources Find(const twin::GraphState& graph, const CompiledRule& rule, std::string_view twin_id,
                   const std::string* only_relationship) {
  SignalSources out;
  out.twins.resize(rule.signals.size());
  for (uint32_t i = 0; i < rule.signals.size(); ++i) {
    const rules::SignalRef& signal = rule.signals[i];
    if (only_relationship && signal.relationship != *only_relationship) continue;
    if (signal.relationship.empty()) {
      AddSource(graph, signal, i, std::string(twin_id), out);
      continue;
    }
    for (std::string& target : RelatedTwins(graph, twin_id, signal.relationship)) {
      AddSource(graph, signal, i, std::move(target), out);
    }
  }
  return out;
}

struct Sample {
  int64_t time_ns = 0;
  uint32_t signal = 0;
  rules::Value value;
};

// The newest reading time known for any source: what "now" is for the history lookback.
std::optional<int64_t> NewestKnown(const Instance& instance, const SignalSources& sources,
                                   const ingest::LiveState* live, const tsdb::SeriesStore& history) {
  std::optional<int64_t> newest;
  auto note = [&](std::optional<int64_t> t) {
    if (t && (!newest || *t > *newest)) newest = t;
  };
  for (uint32_t i = 0; i < sources.twins.size(); ++i) {
    for (const std::string& twin : sources.twins[i]) {
      const std::string& path = instance.rule->signals[i].path;
      std::optional<ingest::Latest> latest = live ? live->Get(twin, path) : std::nullopt;
      note(latest ? std::optional<int64_t>(latest->time) : NewestInHistory(history, twin, path));
    }
  }
  return newest;
}

// Newest replayed time by (signal, twin): the live value at that time is the same reading.
using Replayed = std::map<std::pair<uint32_t, std::string_view>, int64_t>;

// Replays the readings of the lookback window before the newest known time, one evaluation
// per distinct time, so windows fill and 'for' timers run as if the engine had been there.
Replayed ReplayHistory(Instance& instance, const SignalSources& sources, const ingest::LiveState* live,
                       const tsdb::SeriesStore& history) {
  Replayed replayed;
  const int64_t lookback = instance.rule->lookback_ns;
  if (lookback <= 0) return replayed;
  std::optional<int64_t> now = NewestKnown(instance, sources, live, history);
  if (!now) return replayed;
  // From now − lookback inclusive: a window drops that sample itself, but `x > 90 for 5m`
  // needs it to have held for the whole 5 minutes.
  int64_t after = 0;
  if (__builtin_sub_overflow(*now, lookback, &after) || __builtin_sub_overflow(after, 1, &after)) {
    after = std::numeric_limits<int64_t>::min();
  }
  std::vector<Sample> samples;
  for (uint32_t i = 0; i < sources.twins.size(); ++i) {
    for (const std::string& twin : sources.twins[i]) {
      for (tsdb::Point& p : HistoryBetween(history, twin, instance.rule->signals[i].path, after, *now)) {
        samples.push_back({p.time, i, FromReading(p.value)});
        replayed[{i, twin}] = p.time;
      }
    }
  }
  std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.time_ns < b.time_ns; });
  for (std::size_t i = 0; i < samples.size(); ++i) {
    instance.Observe(samples[i].signal, samples[i].time_ns, samples[i].value);
    if (i + 1 == samples.size() || samples[i + 1].time_ns != samples[i].time_ns) instance.Replay();
  }
  return replayed;
}

bool AlreadyReplayed(const Replayed& replayed, uint32_t signal, std::string_view twin, int64_t time_ns) {
  auto it = replayed.find({signal, twin});
  return it != replayed.end() && time_ns <= it->second;
}

}  // namespace

SignalSources FindSources(const twin::GraphState& graph, const CompiledRule& rule, std::string_view twin_id) {
  return Find(graph, rule, twin_id, nullptr);
}

SignalSources FindRelatedSources(const twin::GraphState& graph, const CompiledRule& rule, std::string_view twin_id,
                                 std::string_view relationship) {
  const std::string name(relationship);
  return Find(graph, rule, twin_id, &name);
}

void WarmUp(Instance& instance, const SignalSources& sources, const ingest::LiveState* live,
            const tsdb::SeriesStore* history) {
  // A value observed twice at one time would enter a window twice: skip what was replayed.
  const Replayed replayed = history ? ReplayHistory(instance, sources, live, *history) : Replayed();
  for (const SignalSources::Property& p : sources.properties) {
    if (!AlreadyReplayed(replayed, p.signal, p.twin_id, p.value.time_ns)) {
      instance.Observe(p.signal, p.value.time_ns, p.value.value);
    }
  }
  if (!live) return;
  for (uint32_t i = 0; i < sources.twins.size(); ++i) {
    for (const std::string& twin : sources.twins[i]) {
      auto latest = live->Get(twin, instance.rule->signals[i].path);
      if (latest && !AlreadyReplayed(replayed, i, twin, latest->time)) {
        instance.Observe(i, latest->time, FromReading(latest->value));
      }
    }
  }
}

}  // namespace doppel::automation::engine
