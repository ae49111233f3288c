// "centrifugalPump": a variable-speed centrifugal pump with its motor, working into a pipe
// system with a control valve, as a Simulation (src/sim/simulation.h). docs/simulation-models.md
// gives the equations and every variable; in short:
//
//   - pump curve at rated speed H(Q) = H0 − a·Q² through the shut-off head and the best-
//     efficiency point (BEP), scaled to any speed n by the affinity laws (Q ∝ n, H ∝ n²);
//   - system curve H = Hstatic + (kpipe + kvalve / opening²)·Q²;
//   - the operating point (where the curves cross) is solved in closed form each step;
//   - pump efficiency η = ηBEP·x·(2 − x), x = Q / Q_BEP at the same speed (equal at similar
//     operating points), shaft power ρ·g·Q·H/η, P ∝ n³;
//   - motor: no-load and copper (∝ load²) losses; the winding temperature is a first-order
//     thermal state (heat capacity, thermal resistance to ambient).
//
// Hydraulics settle in well under a second, so they are algebraic; the winding temperature's
// ODE is linear with constant inputs over a Step and is advanced by its exact solution, so a
// Step of any length is exact and costs the same.
//
//   auto pump = NewCentrifugalPump();
//   (void)pump->Set(*pump->info().Index("speed"), 1200);
//   (void)pump->Step(1.0);
//   double flow = pump->Get(*pump->info().Index("flow"));  // m³/h
#pragma once

#include <memory>

#include "sim/simulation.h"

namespace doppel::sim {

// The model's name, description and variables (what the catalogue lists).
ModelInfo CentrifugalPumpInfo();

// A pump at its defaults: 1480 rpm, valve fully open, 20 °C ambient and winding. Its outputs
// are those of the operating point (computed at construction, so valid before the first Step).
std::unique_ptr<Simulation> NewCentrifugalPump();

}  // namespace doppel::sim
