// The production-line process twin ("productionLine"): a discrete-event simulation of a serial
// line of stations with finite buffers, random failures and repairs, and scrap. The user guide
// with every variable, the event logic and a worked what-if is docs/simulation-production-line.md.
//
//   std::unique_ptr<Simulation> line = NewProductionLine();   // the Halden Line 1 defaults
//   const ModelInfo& info = line->info();
//   line->Set(*info.Index("buffer3Capacity"), 8);             // what-if: double a buffer
//   line->Seed(42);
//   line->Step(7 * 24 * 3600.0);                              // one week of line time
//   double parts_per_h = line->Get(*info.Index("throughput"));
//   double bottleneck = line->Get(*info.Index("bottleneckStation"));   // 1-based
//
// ModelInfo always lists kMaxLineStations stations and kMaxLineStations - 1 buffers, so variable
// numbers never change; stations beyond the `stations` parameter are unused (state 0, idle).
// Everything set before the first Step defines the starting line; `stations` cannot change
// after it. Later changes take effect at once where that is well defined (a stop, a buffer
// capacity or level, an MTBF or MTTR) and otherwise from the station's next part (cycle time,
// speed, scrap rate, cycle-time variability).
//
// Not thread-safe (one owner steps it). Clone() copies the event list, the random generator and
// the statistics exactly: a clone stepped like the original gives bit-identical outputs.
#pragma once

#include <memory>

#include "sim/simulation.h"

namespace doppel::sim {

// The most stations a line can have (and hence the fixed size of ModelInfo).
inline constexpr int kMaxLineStations = 8;

// The model's description and variables, as the catalogue lists it.
ModelInfo ProductionLineInfo();
// A new line with the default parameters (the demo's Halden Line 1) and seed 1.
std::unique_ptr<Simulation> NewProductionLine();

}  // namespace doppel::sim
