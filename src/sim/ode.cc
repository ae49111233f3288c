#include "sim/ode.h"

#include <fmt/format.h>

namespace doppel::sim::internal_ode {

Status ValidateRequest(const OdeOptions& options, double t0, double t1, std::span<const double> x) {
  if (!std::isfinite(t0) || !std::isfinite(t1) || t1 < t0) {
    return Status::InvalidArgument(fmt::format("cannot integrate from t = {} to t = {}", t0, t1));
  }
  if (!(options.absolute_tolerance > 0.0) || !(options.relative_tolerance > 0.0)) {
    return Status::InvalidArgument(
        fmt::format("ODE tolerances must be > 0 (absolute {}, relative {})",
                    options.absolute_tolerance, options.relative_tolerance));
  }
  if (!AllFinite(x))
    return Status::InvalidArgument(fmt::format("the initial state at t = {} is not finite", t0));
  return Status::Ok();
}

bool AllFinite(std::span<const double> x) {
  for (double v : x) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

Status TooManySteps(const OdeOptions& options, double t) {
  return Status::ResourceExhausted(fmt::format(
      "ODE solver gave up at t = {} after {} step attempts: the system is too stiff or rough for "
      "the tolerances (use the stiff solver or loosen them)",
      t, options.max_steps));
}

Status StepCollapsed(double t, double dt) {
  return Status::ResourceExhausted(fmt::format(
      "ODE solver step size collapsed to {} at t = {}: the system is too stiff or discontinuous",
      dt, t));
}

Status NonFinite(double t) {
  return Status::Internal(
      fmt::format("ODE state became non-finite at t = {}: the model diverged", t));
}

}  // namespace doppel::sim::internal_ode
