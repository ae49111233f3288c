// Adaptive, error-controlled ODE integration: a thin wrapper over Boost.Odeint that turns its
// exceptions and endless step-size loops into Status values.
//
//   Non-stiff systems (time constants of similar size): Dormand–Prince 5(4) (`runge_kutta_dopri5`)
//   under odeint's error controller, optionally with dense output (cheap interpolation between
//   steps, so output times do not force step boundaries).
//   Stiff systems (time constants many orders apart, where an explicit method's stability limit
//   and not accuracy dictates the step): the 4th-order Rosenbrock method (`rosenbrock4`) with
//   the system's Jacobian.
//
//   struct Decay {  // dx/dt = -k x
//     double k;
//     void operator()(const OdeState<1>& x, OdeState<1>& dxdt, double) const { dxdt[0] = -k * x[0];
//     }
//   };
//   OdeState<1> x{1.0};
//   Decay decay{0.5};
//   Result<OdeStats> stats = IntegrateNonStiff(decay, x, 0.0, 10.0, {.relative_tolerance = 1e-9});
//
// Errors (the state is then unspecified):
//   - InvalidArgument: t1 < t0, a non-finite time or state, or tolerances that are not > 0;
//   - ResourceExhausted: more than `max_steps` step attempts (accepted + rejected) were needed,
//     or the step size collapsed below 1e-12 of the time scale — the system is stiffer or
//     rougher than the method can handle at these tolerances;
//   - Internal: the state became NaN or infinite (the model diverged).
//
// Everything is a template on the system functor, so the right-hand side is inlined and the
// non-stiff path does no heap allocation (std::array state): a model stepped millions of times
// per second pays only for its own arithmetic. The stiff path uses uBLAS vectors (rosenbrock4's
// LU factorisation needs them) and allocates per call.
//
// Thread-safety: the functions are reentrant; a system functor is used by one call at a time.
#pragma once

#include <algorithm>
#include <array>
#include <boost/numeric/odeint/stepper/controlled_runge_kutta.hpp>
#include <boost/numeric/odeint/stepper/controlled_step_result.hpp>
#include <boost/numeric/odeint/stepper/rosenbrock4.hpp>
#include <boost/numeric/odeint/stepper/rosenbrock4_controller.hpp>
#include <boost/numeric/odeint/stepper/runge_kutta_dopri5.hpp>
#include <cmath>
#include <cstddef>
#include <functional>
#include <span>
#include <utility>

#include "base/status.h"

namespace doppel::sim {

// The state of an N-dimensional non-stiff system.
template <std::size_t N>
using OdeState = std::array<double, N>;

// The state and Jacobian of a stiff system (uBLAS, as rosenbrock4 requires).
using StiffVector = boost::numeric::ublas::vector<double>;
using StiffMatrix = boost::numeric::ublas::matrix<double>;

struct OdeOptions {
  // Per component, a step is accepted when its local error estimate is at most
  // absolute_tolerance + relative_tolerance * |x| (odeint's error checker). Smaller values cost
  // more steps; 1e-6 gives ~6 significant digits over a step, plenty for physical models whose
  // parameters are known to a percent.
  double absolute_tolerance = 1e-6;
  double relative_tolerance = 1e-6;
  // First step size to try; 0 means t1 - t0 (the controller shrinks it if needed). Pass the
  // previous call's OdeStats::next_step to continue where the last interval left off.
  double initial_step = 0.0;
  // The most step attempts (accepted + rejected) before giving up with ResourceExhausted.
  std::size_t max_steps = 100'000;
};

struct OdeStats {
  std::size_t steps = 0;     // accepted steps
  std::size_t rejected = 0;  // attempts the error controller rejected
  double next_step = 0.0;    // the controller's suggestion for the next step size
};

namespace internal_ode {

// Checks arguments before any work; the shared prologue of all the integrators.
Status ValidateRequest(const OdeOptions& options, double t0, double t1, std::span<const double> x);
// True if every element is finite.
bool AllFinite(std::span<const double> x);
Status TooManySteps(const OdeOptions& options, double t);
Status StepCollapsed(double t, double dt);
Status NonFinite(double t);

// The loop shared by both controlled steppers: attempt steps from t0 to exactly t1, counting
// them, until done or a limit trips. `try_step(t, dt)` advances t and the state on success.
template <class TryStep, class StateSpan>
Result<OdeStats> Drive(TryStep&& try_step, StateSpan&& state, double t0, double t1,
                       const OdeOptions& options) {
  OdeStats stats;
  double t = t0;
  double dt = options.initial_step > 0.0 ? options.initial_step : t1 - t0;
  const double end_tolerance = 1e-12 * std::max(1.0, std::abs(t1));
  while (t1 - t > end_tolerance) {
    if (stats.steps + stats.rejected >= options.max_steps) return TooManySteps(options, t);
    const double wanted = dt;
    const bool clipped = dt >= t1 - t;
    if (clipped) dt = t1 - t;
    if (try_step(t, dt) == boost::numeric::odeint::success) {
      ++stats.steps;
      if (!AllFinite(state()) || !std::isfinite(dt)) return NonFinite(t);
      // A step shortened to land on t1 says little about the step the dynamics allow.
      stats.next_step = clipped ? std::max(dt, wanted) : dt;
    } else {
      ++stats.rejected;
      if (!(dt > end_tolerance * 1e-3)) return StepCollapsed(t, dt);
    }
  }
  if (stats.next_step == 0.0) stats.next_step = dt;
  return stats;
}

}  // namespace internal_ode

// Integrates the non-stiff system dx/dt = f(x, t) from t0 to t1 in place with adaptive
// Dormand–Prince 5(4). `system(const OdeState<N>& x, OdeState<N>& dxdt, double t)`.
template <class System, std::size_t N>
Result<OdeStats> IntegrateNonStiff(System& system, OdeState<N>& x, double t0, double t1,
                                   const OdeOptions& options = {}) {
  namespace odeint = boost::numeric::odeint;
  DOPPEL_RETURN_IF_ERROR(internal_ode::ValidateRequest(options, t0, t1, x));
  using Stepper = odeint::runge_kutta_dopri5<OdeState<N>>;
  using Controlled = odeint::controlled_runge_kutta<Stepper>;
  Controlled stepper{typename Controlled::error_checker_type(options.absolute_tolerance,
                                                             options.relative_tolerance)};
  return internal_ode::Drive(
      [&](double& t, double& dt) { return stepper.try_step(std::ref(system), x, t, dt); },
      [&] { return std::span<const double>(x); }, t0, t1, options);
}

// As IntegrateNonStiff, and calls `observe(const OdeState<N>& x, double t)` at t0,
// t0 + output_interval, t0 + 2·output_interval, … up to and including t1 (which is always
// observed). States between step boundaries come from dopri5's 4th-order dense output, so
// a fine output grid costs interpolations, not steps. InvalidArgument if output_interval <= 0.
template <class System, class Observer, std::size_t N>
Result<OdeStats> IntegrateNonStiffDense(System& system, OdeState<N>& x, double t0, double t1,
                                        double output_interval, Observer&& observe,
                                        const OdeOptions& options = {}) {
  namespace odeint = boost::numeric::odeint;
  DOPPEL_RETURN_IF_ERROR(internal_ode::ValidateRequest(options, t0, t1, x));
  if (!(output_interval > 0.0)) {
    return Status::InvalidArgument("the output interval must be > 0 seconds");
  }
  using Stepper = odeint::runge_kutta_dopri5<OdeState<N>>;
  using Controlled = odeint::controlled_runge_kutta<Stepper>;
  Controlled stepper{typename Controlled::error_checker_type(options.absolute_tolerance,
                                                             options.relative_tolerance)};
  // The step interface with explicit derivatives keeps the previous (state, derivative) pair,
  // which is what dopri5's interpolant needs.
  OdeState<N> dxdt{}, x_new{}, dxdt_new{}, x_out{};
  system(x, dxdt, t0);
  std::size_t next_output = 0;
  const auto output_time = [&](std::size_t k) { return std::min(t1, t0 + k * output_interval); };
  observe(std::as_const(x), t0);
  ++next_output;
  double t_old = t0;
  auto result = internal_ode::Drive(
      [&](double& t, double& dt) {
        t_old = t;
        const auto outcome = stepper.try_step(std::ref(system), x, dxdt, t, x_new, dxdt_new, dt);
        if (outcome != odeint::success) return outcome;
        for (double to = output_time(next_output); to <= t && to < t1;
             to = output_time(++next_output)) {
          stepper.stepper().calc_state(to, x_out, x, dxdt, t_old, x_new, dxdt_new, t);
          observe(std::as_const(x_out), to);
        }
        x = x_new;
        dxdt = dxdt_new;
        return outcome;
      },
      [&] { return std::span<const double>(x); }, t0, t1, options);
  if (result.ok()) observe(std::as_const(x), t1);
  return result;
}

// Integrates the stiff system dx/dt = f(x, t) from t0 to t1 in place with the adaptive
// 4th-order Rosenbrock method. The system provides
//   void operator()(const StiffVector& x, StiffVector& dxdt, double t) const;
//   void Jacobian(const StiffVector& x, StiffMatrix& jacobian, double t, StiffVector& dfdt) const;
// where jacobian(i, j) = ∂f_i/∂x_j and dfdt = ∂f/∂t (zero for an autonomous system); both
// outputs arrive sized for x.
//
// Boost 1.81's rosenbrock4 handles explicit time dependence (∂f/∂t ≠ 0) poorly: on
// y' = -1000 (y - cos t) it took 10^4 steps for a 3e-5 error where 300 steps give 6e-8. So the
// wrapper integrates the autonomous system (x, τ)' = (f(x, τ), 1), whose Jacobian is
// [[J, ∂f/∂t], [0, 0]], and hands the method no explicit time dependence at all.
template <class System>
Result<OdeStats> IntegrateStiff(const System& system, StiffVector& x, double t0, double t1,
                                const OdeOptions& options = {}) {
  namespace odeint = boost::numeric::odeint;
  const std::size_t n = x.size();
  DOPPEL_RETURN_IF_ERROR(
      internal_ode::ValidateRequest(options, t0, t1, std::span<const double>(x.data().begin(), n)));
  StiffVector augmented(n + 1), user_x(n), user_dxdt(n), user_dfdt(n);
  StiffMatrix user_jacobian(n, n);
  std::copy(x.begin(), x.end(), augmented.begin());
  augmented[n] = t0;
  const auto unpack = [&](const StiffVector& a) {
    std::copy(a.begin(), a.begin() + n, user_x.begin());
  };
  const auto rhs = [&](const StiffVector& a, StiffVector& dadt, double) {
    unpack(a);
    system(user_x, user_dxdt, a[n]);
    std::copy(user_dxdt.begin(), user_dxdt.end(), dadt.begin());
    dadt[n] = 1.0;
  };
  const auto jacobian = [&](const StiffVector& a, StiffMatrix& jac, double, StiffVector& dfdt) {
    unpack(a);
    system.Jacobian(user_x, user_jacobian, a[n], user_dfdt);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) jac(i, j) = user_jacobian(i, j);
      jac(i, n) = user_dfdt[i];
      jac(n, i) = 0.0;
      dfdt[i] = 0.0;
    }
    jac(n, n) = 0.0;
    dfdt[n] = 0.0;
  };
  odeint::rosenbrock4_controller<odeint::rosenbrock4<double>> stepper(options.absolute_tolerance,
                                                                      options.relative_tolerance);
  auto stats = internal_ode::Drive(
      [&](double& t, double& dt) {
        return stepper.try_step(std::make_pair(rhs, jacobian), augmented, t, dt);
      },
      [&] { return std::span<const double>(augmented.data().begin(), n + 1); }, t0, t1, options);
  std::copy(augmented.begin(), augmented.begin() + n, x.begin());
  return stats;
}

}  // namespace doppel::sim
