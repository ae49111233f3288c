// "windTurbine": a variable-speed, pitch-regulated wind turbine with its main bearing, as a
// Simulation (src/sim/simulation.h). docs/simulation-models.md gives the equations and every
// variable; in short:
//
//   - rotor aerodynamics: a manufacturer power curve (default; cut-in, rated and cut-out wind and
//     a cubic rise between) or Heier's analytic power coefficient Cp(λ, β);
//   - rotor speed is a state with inertia; the controller tracks a rotor-speed schedule (power
//     curve) or the optimal tip-speed ratio (Cp), caps it at the rotorSpeedLimit input, holds
//     generator torque and power at rating and pitches the blades to shed the surplus;
//   - gearbox and generator losses (constant efficiencies);
//   - main bearing: friction heat (Palmgren's μ·F·d/2 with F = rotor weight + thrust ∝ load)
//     into a heat capacity that cools to ambient through a thermal resistance; Palmgren–Miner
//     damage (load^p × revolutions over the rated life); damage past an onset raises friction
//     and vibration;
//   - nacelle air temperature as a first-order lag on load.
//
// Defaults are calibrated to the project's device simulator (src/devsim/turbine.h, 3.6 MW,
// 150 m rotor): in steady state a healthy turbine's activePower, rotorSpeed, pitchAngle,
// bearingTemperature, vibrationRms and nacelleTemperature equal devsim's; during gusts the
// model's rotor inertia (which devsim lacks) makes power and speed lag for a few seconds.
//
//   auto turbine = NewWindTurbine();
//   const ModelInfo& info = turbine->info();
//   (void)turbine->Set(*info.Index("windSpeed"), 9.5);
//   (void)turbine->Step(60.0);
//   double kw = turbine->Get(*info.Index("activePower"));
//
// Steps shorter than 5 × speedResponseTime (10 s by default; shadow mode's 1-s steps) integrate
// the continuous states with Dormand–Prince 5(4) (src/sim/ode.h) at absolute and relative
// tolerance 1e-6; one Step(1 s) typically costs one solver step (~0.4 µs). Longer steps (what-if
// scenarios at 1-minute resolution) are advanced in closed form (~0.13 µs per Step(60 s)) when
// the rotor's path over the step is exponential tracking or power-limited acceleration, and by
// the solver otherwise (Cp model while producing, start-up below minRotorSpeed); the docs give
// the method and its measured error against 1-s steps.
#pragma once

#include <memory>

#include "sim/simulation.h"

namespace doppel::sim {

// The model's name, description and variables (what the catalogue lists).
ModelInfo WindTurbineInfo();

// A turbine at its defaults: at rest (rotorSpeed 0), 12 °C ambient, no wind, undamaged bearing.
std::unique_ptr<Simulation> NewWindTurbine();

}  // namespace doppel::sim
