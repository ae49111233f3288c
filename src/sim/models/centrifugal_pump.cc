#include "sim/models/centrifugal_pump.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sim/models/variable_values.h"

namespace doppel::sim {
namespace {

constexpr double kGravity = 9.80665;                // m/s²
constexpr double kCubicMetresPerHour = 1 / 3600.0;  // m³/s per m³/h
// Far beyond the BEP the parabolic efficiency curve would reach zero; real pumps keep some
// efficiency at run-out, so the curve's denominator is floored (η ≥ ~10% of ηBEP·x there).
constexpr double kMinRunOutFactor = 0.2;

enum Var : std::size_t {
  // Parameters.
  kRatedSpeed,
  kShutoffHead,
  kBepFlow,
  kBepHead,
  kBepEfficiency,
  kStaticHead,
  kPipeLossHead,
  kValveLossHead,
  kFluidDensity,
  kMotorRatedPower,
  kMotorNoLoadLoss,
  kMotorCopperLoss,
  kWindingThermalResistance,
  kWindingHeatCapacity,
  // Inputs.
  kSpeed,
  kValveOpening,
  kAmbientTemperature,
  // State.
  kWindingTemperature,
  // Outputs.
  kFlow,
  kHead,
  kHydraulicPower,
  kShaftPower,
  kElectricalPower,
  kPumpEfficiency,
  kMotorEfficiency,
  kMotorLoad,
  kVariableCount
};

ModelInfo BuildInfo() {
  constexpr auto kParam = Causality::kParameter;
  constexpr auto kInput = Causality::kInput;
  return {
      .name = "centrifugalPump",
      .description =
          "Variable-speed centrifugal pump and motor against a pipe system with a control valve: "
          "pump curve and affinity laws, system curve, operating point, efficiency, shaft and "
          "electrical power, motor winding temperature.",
      .variables = {
          DeclareVariable(kParam, "ratedSpeed", "rpm", 1480, 1, 20000,
                          "speed at which the pump curve is given"),
          DeclareVariable(kParam, "shutoffHead", "m", 50, 0.1, 5000,
                          "head at zero flow, rated speed"),
          DeclareVariable(kParam, "bepFlow", "m3/h", 360, 0.01, 1e6,
                          "flow at the best-efficiency point, rated speed"),
          DeclareVariable(kParam, "bepHead", "m", 40, 0.01, 5000,
                          "head at the best-efficiency point, rated speed"),
          DeclareVariable(kParam, "bepEfficiency", "1", 0.8, 0.05, 0.95,
                          "pump efficiency at the best-efficiency point"),
          DeclareVariable(kParam, "staticHead", "m", 15, 0, 5000,
                          "static lift of the system (outlet over inlet level)"),
          DeclareVariable(kParam, "pipeLossHead", "m", 20, 0, 5000,
                          "pipe friction head at bepFlow"),
          DeclareVariable(kParam, "valveLossHead", "m", 5, 0, 5000,
                          "head lost across the fully open valve at bepFlow"),
          DeclareVariable(kParam, "fluidDensity", "kg/m3", 1000, 1, 20000,
                          "density of the pumped fluid"),
          DeclareVariable(kParam, "motorRatedPower", "kW", 55, 0.01, 1e5,
                          "motor rated shaft power"),
          DeclareVariable(kParam, "motorNoLoadLoss", "kW", 0.8, 0, 1e4,
                          "motor iron, friction and windage loss while running"),
          DeclareVariable(kParam, "motorCopperLoss", "kW", 2.2, 0, 1e4,
                          "motor copper loss at rated load (∝ load²)"),
          DeclareVariable(kParam, "windingThermalResistance", "K/W", 0.025, 1e-6, 100,
                          "winding to ambient thermal resistance"),
          DeclareVariable(kParam, "windingHeatCapacity", "J/K", 48000, 1, 1e9,
                          "winding and stator heat capacity"),
          DeclareVariable(kInput, "speed", "rpm", 1480, 0, 20000, "pump shaft speed (0 = stopped)"),
          DeclareVariable(kInput, "valveOpening", "1", 1, 0, 1,
                          "control valve opening (0 closed, 1 fully open)"),
          DeclareVariable(kInput, "ambientTemperature", "degC", 20, -60, 80,
                          "air around the motor"),
          DeclareVariable(Causality::kState, "windingTemperature", "degC", 20, -60, 400,
                          "motor winding temperature"),
          DeclareOutput("flow", "m3/h", "flow at the operating point"),
          DeclareOutput("head", "m", "pump head at the operating point"),
          DeclareOutput("hydraulicPower", "kW", "ρ·g·Q·H, the power given to the fluid"),
          DeclareOutput("shaftPower", "kW", "power the pump takes from the motor shaft"),
          DeclareOutput("electricalPower", "kW", "power the motor draws"),
          DeclareOutput("pumpEfficiency", "1", "hydraulic power over shaft power"),
          DeclareOutput("motorEfficiency", "1", "shaft power over electrical power"),
          DeclareOutput("motorLoad", "1", "shaft power over motor rated power"),
      }};
}

const ModelInfo& Info() {
  static const ModelInfo info = BuildInfo();
  return info;
}

// The operating point and its powers (SI: m³/s, m, W).
struct OperatingPoint {
  double flow = 0, head = 0, hydraulic = 0, shaft = 0, motor_loss = 0;
};

OperatingPoint Solve(const VariableValues& v) {
  OperatingPoint op;
  const double r = v[kSpeed] / v[kRatedSpeed];
  if (r <= 0) return op;
  const double q_bep = v[kBepFlow] * kCubicMetresPerHour;
  const double h0 = v[kShutoffHead] * r * r;
  const double pump_k = (v[kShutoffHead] - v[kBepHead]) / (q_bep * q_bep);
  const double opening = v[kValveOpening];
  // A closed valve deadheads the pump: all head, no flow.
  if (opening > 0 && h0 > v[kStaticHead]) {
    const double system_k =
        (v[kPipeLossHead] + v[kValveLossHead] / (opening * opening)) / (q_bep * q_bep);
    op.flow = std::sqrt((h0 - v[kStaticHead]) / (pump_k + system_k));
  }
  op.head = h0 - pump_k * op.flow * op.flow;
  const double rho_g = v[kFluidDensity] * kGravity;
  op.hydraulic = rho_g * op.flow * op.head;
  // P = ρgQH/η with η = ηBEP·x·(2 − x), x = Q/(r·Q_BEP): the Q cancels, so shut-off power is
  // finite (ρ g H r Q_BEP / 2ηBEP) and P ∝ r³ at similar points.
  const double x = op.flow / (r * q_bep);
  op.shaft = rho_g * op.head * r * q_bep / (v[kBepEfficiency] * std::max(kMinRunOutFactor, 2 - x));
  const double load = op.shaft / (v[kMotorRatedPower] * 1e3);
  op.motor_loss = (v[kMotorNoLoadLoss] + v[kMotorCopperLoss] * load * load) * 1e3;
  return op;
}

class CentrifugalPump final : public Simulation {
 public:
  CentrifugalPump() : values_(Info()) { UpdateOutputs(Solve(values_)); }

  const ModelInfo& info() const override { return Info(); }

  Status Set(std::size_t variable, double value) override {
    DOPPEL_RETURN_IF_ERROR(VariableValues::CheckSet(Info(), variable, value));
    values_[variable] = value;
    return Status::Ok();
  }

  double Get(std::size_t variable) const override {
    return variable < kVariableCount ? values_[variable] : 0.0;
  }

  Status Step(double dt_s) override {
    if (!(dt_s > 0) || !std::isfinite(dt_s)) {
      return Status::InvalidArgument(
          fmt::format("centrifugalPump: step of {} s (must be > 0 and finite)", dt_s));
    }
    if (values_[kBepHead] >= values_[kShutoffHead]) {
      return Status::InvalidArgument(
          fmt::format("centrifugalPump: bepHead {} m must be below shutoffHead {} m",
                      values_[kBepHead], values_[kShutoffHead]));
    }
    const OperatingPoint op = Solve(values_);
    // C·dT/dt = loss − (T − Tamb)/R with constant loss: T relaxes exactly toward Tamb + R·loss.
    const double r = values_[kWindingThermalResistance];
    const double target = values_[kAmbientTemperature] + r * op.motor_loss;
    const double decay = std::exp(-dt_s / (r * values_[kWindingHeatCapacity]));
    values_[kWindingTemperature] = target + (values_[kWindingTemperature] - target) * decay;
    time_ += dt_s;
    UpdateOutputs(op);
    return Status::Ok();
  }

  double time() const override { return time_; }

  Result<std::unique_ptr<Simulation>> Clone() const override {
    return std::unique_ptr<Simulation>(std::make_unique<CentrifugalPump>(*this));
  }

 private:
  void UpdateOutputs(const OperatingPoint& op) {
    const double electrical = op.shaft > 0 ? op.shaft + op.motor_loss : 0.0;
    values_[kFlow] = op.flow / kCubicMetresPerHour;
    values_[kHead] = op.head;
    values_[kHydraulicPower] = op.hydraulic / 1e3;
    values_[kShaftPower] = op.shaft / 1e3;
    values_[kElectricalPower] = electrical / 1e3;
    values_[kPumpEfficiency] = op.shaft > 0 ? op.hydraulic / op.shaft : 0.0;
    values_[kMotorEfficiency] = electrical > 0 ? op.shaft / electrical : 0.0;
    values_[kMotorLoad] = op.shaft / (values_[kMotorRatedPower] * 1e3);
  }

  VariableValues values_;
  double time_ = 0;
};

}  // namespace

ModelInfo CentrifugalPumpInfo() { return Info(); }

std::unique_ptr<Simulation> NewCentrifugalPump() { return std::make_unique<CentrifugalPump>(); }

}  // namespace doppel::sim
