// One twin's KpiTotals over a window, from its history as a KpiDefinition describes it: the
// reported (or classified) state into intervals, counters into increases, power into energy.
// Nothing outside src/analytics includes it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "analytics/kpi/kpi.h"
#include "analytics/kpi/kpi_definition.h"
#include "base/status.h"
#include "tsdb/series_store.h"

namespace doppel::analytics {

// Reads raw points of a twin's series. Thread-safety: as the SeriesStore.
class HistoryReader {
 public:
  explicit HistoryReader(const tsdb::SeriesStore& store) : store_(store) {}
  virtual ~HistoryReader() = default;

  // Points of (twin, path) in [from, to), time-ordered, preceded by the last point before
  // `from` when there is one (searched back up to a year): what a state or counter was when
  // the window opened. Empty for a series never written. Errors: the store's.
  virtual Result<std::vector<tsdb::Point>> Read(std::string_view twin_id, std::string_view path, int64_t from_ns,
                                                int64_t to_ns) const;

 protected:
  const tsdb::SeriesStore& store_;
};

// A HistoryReader for the live tick: keeps each series' points since the window start and
// reads only what arrived after the previous Read of the same (twin, path, from), so a tick
// costs its new points, not the whole shift. A point written later with an older time than
// the last Read (a late reading) is missed until the window start moves (the next shift);
// KpiEngine::Compute reads history afresh and sees it. Memory: the points of the current
// window of every series read (~40 bytes each). Not thread-safe: one tick at a time.
class CachingHistoryReader final : public HistoryReader {
 public:
  using HistoryReader::HistoryReader;
  Result<std::vector<tsdb::Point>> Read(std::string_view twin_id, std::string_view path, int64_t from_ns,
                                        int64_t to_ns) const override;
  // Drops series not read since the last call (twins deleted, definitions changed).
  void DropUnused();

 private:
  struct Entry {
    int64_t read_to_ns = 0;
    std::vector<tsdb::Point> points;
    bool used = true;
  };
  // By (twin, path, window start): a signal read both for the state (from the window start)
  // and for power keeps two entries rather than re-reading on every switch.
  mutable std::map<std::tuple<std::string, std::string, int64_t>, Entry, std::less<>> cache_;
};

// What the engine found in the twin's document (properties are there, not only in history).
struct TwinFacts {
  std::optional<double> ideal_cycle_s = {};
  std::optional<double> rated_power_kw = {};
};

// The twin's own totals over [from, to) (no roll-up), and its state class at `to` when the
// definition gives it a state. `facts` fill in idealCycleTime and ratedPower when the
// definition names a path; without them the latest reading before `to` is used.
// Precondition: from < to.
struct TwinResult {
  KpiTotals totals;
  std::optional<StateClass> state = {};
};
Result<TwinResult> TwinTotals(const KpiDefinition& def, std::string_view twin_id, const TwinFacts& facts,
                             const HistoryReader& reader, int64_t from_ns, int64_t to_ns);

// Energy of a power signal (kW) held from each reading to the next, at most `max_gap_ns`
// (<= 0: no limit), clipped to [from, to): kWh and the seconds covered.
struct Energy {
  double kwh = 0, covered_s = 0;
};
Energy HoldIntegral(const std::vector<tsdb::Point>& power_kw, double scale, int64_t from_ns, int64_t to_ns,
                    int64_t max_gap_ns);

}  // namespace doppel::analytics
