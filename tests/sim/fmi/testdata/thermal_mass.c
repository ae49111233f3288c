/* A lumped thermal mass as an FMI 2.0 co-simulation FMU, Doppel's test and benchmark FMU.
 *
 *   C dT/dt = P_in - (T - T_amb) / R        (T starts at T0)
 *
 * Value references: 0 R [K/W] and 1 C [J/K] (tunable parameters), 2 T0 [degC] (fixed
 * parameter), 3 P_in [W] and 4 T_amb [degC] (inputs), 5 T [degC] (output), 6 enabled (Boolean
 * input: false switches the heater off), 7 stepCount (Integer output), 8 dTdt (a local).
 * fmi2DoStep integrates with classic Runge-Kutta (4th order) in sub-steps of at most 1 s.
 *
 * Fault injection, for the tests of failure containment: P_in = 666 dereferences NULL in
 * fmi2DoStep, P_in = 777 loops forever there, P_in = 888 logs an error and returns fmi2Error.
 * Compiled with -DTHERMAL_MASS_OMIT_DO_STEP the library lacks fmi2DoStep.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fmi/fmi2.h"

#define EXPORT __attribute__((visibility("default")))

enum { kR, kC, kT0, kPIn, kTAmb, kT, kEnabled, kStepCount, kDTdt, kVariables };

typedef struct {
  double real[kVariables]; /* indexed by value reference; Integer/Boolean ones kept here too */
  double time;
} State;

typedef struct {
  State state;
  fmi2CallbackFunctions callbacks;
  char instance_name[64];
} Instance;

static const unsigned kStateMagic = 0x7e4d3a55u;

static double Derivative(const State* s, double t) {
  double power = s->real[kEnabled] != 0 ? s->real[kPIn] : 0.0;
  return (power - (t - s->real[kTAmb]) / s->real[kR]) / s->real[kC];
}

static void Log(Instance* inst, fmi2Status status, const char* message) {
  if (inst->callbacks.logger)
    inst->callbacks.logger(inst->callbacks.componentEnvironment, inst->instance_name, status,
                           "logStatusError", "%s", message);
}

EXPORT const char* fmi2GetTypesPlatform(void) { return "default"; }
EXPORT const char* fmi2GetVersion(void) { return "2.0"; }
EXPORT fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean on, size_t n,
                                      const fmi2String categories[]) {
  return fmi2OK;
}

EXPORT fmi2Component fmi2Instantiate(fmi2String name, fmi2Type type, fmi2String guid,
                                     fmi2String resources, const fmi2CallbackFunctions* functions,
                                     fmi2Boolean visible, fmi2Boolean logging_on) {
  if (type != fmi2CoSimulation || strcmp(guid, "{8c4e810f-3df3-4a00-8276-176fa3c9f000}") != 0)
    return NULL;
  Instance* inst = (Instance*)calloc(1, sizeof(Instance));
  if (!inst) return NULL;
  memcpy(&inst->callbacks, functions, sizeof *functions);
  strncpy(inst->instance_name, name ? name : "", sizeof inst->instance_name - 1);
  inst->state.real[kR] = 0.5;
  inst->state.real[kC] = 1000.0;
  inst->state.real[kT0] = 20.0;
  inst->state.real[kTAmb] = 20.0;
  inst->state.real[kT] = 20.0;
  inst->state.real[kEnabled] = 1.0;
  return inst;
}

EXPORT void fmi2FreeInstance(fmi2Component c) { free(c); }

EXPORT fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean tolerance_defined,
                                      fmi2Real tolerance, fmi2Real start, fmi2Boolean stop_defined,
                                      fmi2Real stop) {
  ((Instance*)c)->state.time = start;
  return fmi2OK;
}

EXPORT fmi2Status fmi2EnterInitializationMode(fmi2Component c) { return fmi2OK; }

EXPORT fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
  State* s = &((Instance*)c)->state;
  s->real[kT] = s->real[kT0];
  s->real[kDTdt] = Derivative(s, s->real[kT]);
  return fmi2OK;
}

EXPORT fmi2Status fmi2Terminate(fmi2Component c) { return fmi2OK; }
EXPORT fmi2Status fmi2Reset(fmi2Component c) { return fmi2OK; }

static fmi2Status CheckReferences(const fmi2ValueReference vr[], size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (vr[i] >= kVariables) return fmi2Error;
  return fmi2OK;
}

EXPORT fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t n,
                              fmi2Real value[]) {
  if (CheckReferences(vr, n) != fmi2OK) return fmi2Error;
  for (size_t i = 0; i < n; ++i) value[i] = ((Instance*)c)->state.real[vr[i]];
  return fmi2OK;
}

EXPORT fmi2Status fmi2GetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t n,
                                 fmi2Integer value[]) {
  if (CheckReferences(vr, n) != fmi2OK) return fmi2Error;
  for (size_t i = 0; i < n; ++i) value[i] = (fmi2Integer)((Instance*)c)->state.real[vr[i]];
  return fmi2OK;
}

EXPORT fmi2Status fmi2GetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t n,
                                 fmi2Boolean value[]) {
  return fmi2GetInteger(c, vr, n, value);
}

EXPORT fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t n,
                              const fmi2Real value[]) {
  if (CheckReferences(vr, n) != fmi2OK) return fmi2Error;
  for (size_t i = 0; i < n; ++i) ((Instance*)c)->state.real[vr[i]] = value[i];
  return fmi2OK;
}

EXPORT fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t n,
                                 const fmi2Integer value[]) {
  if (CheckReferences(vr, n) != fmi2OK) return fmi2Error;
  for (size_t i = 0; i < n; ++i) ((Instance*)c)->state.real[vr[i]] = value[i];
  return fmi2OK;
}

EXPORT fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t n,
                                 const fmi2Boolean value[]) {
  return fmi2SetInteger(c, vr, n, value);
}

#ifndef THERMAL_MASS_OMIT_DO_STEP
static void RungeKuttaStep(State* s, double h) {
  double t = s->real[kT];
  double k1 = Derivative(s, t);
  double k2 = Derivative(s, t + 0.5 * h * k1);
  double k3 = Derivative(s, t + 0.5 * h * k2);
  double k4 = Derivative(s, t + h * k3);
  s->real[kT] = t + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6.0;
}

EXPORT fmi2Status fmi2DoStep(fmi2Component c, fmi2Real now, fmi2Real dt, fmi2Boolean no_rollback) {
  Instance* inst = (Instance*)c;
  State* s = &inst->state;
  if (s->real[kPIn] == 666.0) *(volatile int*)NULL = 1;
  if (s->real[kPIn] == 777.0)
    for (volatile int spin = 0;; spin = spin + 1) {
    }
  if (s->real[kPIn] == 888.0) {
    Log(inst, fmi2Error, "P_in = 888 W is the magic error value");
    return fmi2Error;
  }
  int substeps = (int)ceil(dt / 1.0);
  if (substeps < 1) substeps = 1;
  for (int i = 0; i < substeps; ++i) RungeKuttaStep(s, dt / substeps);
  s->time = now + dt;
  s->real[kStepCount] += 1;
  s->real[kDTdt] = Derivative(s, s->real[kT]);
  return fmi2OK;
}
#endif

EXPORT fmi2Status fmi2CancelStep(fmi2Component c) { return fmi2Error; }

/* State: a copy of State; serialized as a magic number followed by the bytes of State. */
EXPORT fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate* out) {
  State* copy = (State*)malloc(sizeof(State));
  if (!copy) return fmi2Error;
  *copy = ((Instance*)c)->state;
  *out = copy;
  return fmi2OK;
}

EXPORT fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate state) {
  ((Instance*)c)->state = *(State*)state;
  return fmi2OK;
}

EXPORT fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate* state) {
  free(*state);
  *state = NULL;
  return fmi2OK;
}

EXPORT fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate state, size_t* size) {
  *size = sizeof kStateMagic + sizeof(State);
  return fmi2OK;
}

EXPORT fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate state, fmi2Byte bytes[],
                                        size_t size) {
  if (size != sizeof kStateMagic + sizeof(State)) return fmi2Error;
  memcpy(bytes, &kStateMagic, sizeof kStateMagic);
  memcpy(bytes + sizeof kStateMagic, state, sizeof(State));
  return fmi2OK;
}

EXPORT fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte bytes[], size_t size,
                                          fmi2FMUstate* state) {
  unsigned magic = 0;
  if (size != sizeof kStateMagic + sizeof(State)) return fmi2Error;
  memcpy(&magic, bytes, sizeof magic);
  if (magic != kStateMagic) return fmi2Error;
  State* copy = (State*)malloc(sizeof(State));
  if (!copy) return fmi2Error;
  memcpy(copy, bytes + sizeof kStateMagic, sizeof(State));
  *state = copy;
  return fmi2OK;
}
