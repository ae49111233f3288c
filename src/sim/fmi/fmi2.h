/* FMI 2.0 (Functional Mock-up Interface) types and function signatures, written for Doppel from
 * the published standard (FMI 2.0.x, chapters 2.1.2-2.1.9 and 4.2). Only what a co-simulation
 * master needs is here. The header is plain C so the test FMUs (C sources compiled at test time)
 * and the C++ host share one definition.
 *
 * An FMU shared library exports the functions below under their plain names ("fmi2DoStep"); the
 * *Fn typedefs are the pointer types the host resolves them into with dlsym.
 */
#ifndef DOPPEL_SIM_FMI_FMI2_H_
#define DOPPEL_SIM_FMI_FMI2_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Platform-dependent types ("default" platform, standard section 2.1.2). */
typedef void* fmi2Component;            /* one instance of the model */
typedef void* fmi2ComponentEnvironment; /* the master's pointer, handed back to callbacks */
typedef void* fmi2FMUstate;             /* a saved internal state of an instance */
typedef unsigned int fmi2ValueReference;
typedef double fmi2Real;
typedef int fmi2Integer;
typedef int fmi2Boolean;
typedef char fmi2Char;
typedef const fmi2Char* fmi2String;
typedef char fmi2Byte;

#define fmi2True 1
#define fmi2False 0

typedef enum { fmi2OK, fmi2Warning, fmi2Discard, fmi2Error, fmi2Fatal, fmi2Pending } fmi2Status;

typedef enum { fmi2ModelExchange, fmi2CoSimulation } fmi2Type;

typedef enum {
  fmi2DoStepStatus,
  fmi2PendingStatus,
  fmi2LastSuccessfulTime,
  fmi2Terminated
} fmi2StatusKind;

/* Callbacks the master gives the instance (section 2.1.5). */
typedef void (*fmi2CallbackLogger)(fmi2ComponentEnvironment environment, fmi2String instance_name,
                                   fmi2Status status, fmi2String category, fmi2String message, ...);
typedef void* (*fmi2CallbackAllocateMemory)(size_t count, size_t size);
typedef void (*fmi2CallbackFreeMemory)(void* memory);
typedef void (*fmi2StepFinished)(fmi2ComponentEnvironment environment, fmi2Status status);

typedef struct {
  const fmi2CallbackLogger logger;
  const fmi2CallbackAllocateMemory allocateMemory;
  const fmi2CallbackFreeMemory freeMemory;
  const fmi2StepFinished stepFinished; /* NULL: doStep is synchronous */
  const fmi2ComponentEnvironment componentEnvironment;
} fmi2CallbackFunctions;

/* Common functions (section 2.1.4 - 2.1.8). */
typedef const char* (*fmi2GetTypesPlatformFn)(void);
typedef const char* (*fmi2GetVersionFn)(void);
typedef fmi2Status (*fmi2SetDebugLoggingFn)(fmi2Component c, fmi2Boolean logging_on,
                                            size_t category_count, const fmi2String categories[]);
typedef fmi2Component (*fmi2InstantiateFn)(fmi2String instance_name, fmi2Type fmu_type,
                                           fmi2String fmu_guid, fmi2String fmu_resource_location,
                                           const fmi2CallbackFunctions* functions,
                                           fmi2Boolean visible, fmi2Boolean logging_on);
typedef void (*fmi2FreeInstanceFn)(fmi2Component c);
typedef fmi2Status (*fmi2SetupExperimentFn)(fmi2Component c, fmi2Boolean tolerance_defined,
                                            fmi2Real tolerance, fmi2Real start_time,
                                            fmi2Boolean stop_time_defined, fmi2Real stop_time);
typedef fmi2Status (*fmi2EnterInitializationModeFn)(fmi2Component c);
typedef fmi2Status (*fmi2ExitInitializationModeFn)(fmi2Component c);
typedef fmi2Status (*fmi2TerminateFn)(fmi2Component c);
typedef fmi2Status (*fmi2ResetFn)(fmi2Component c);

typedef fmi2Status (*fmi2GetRealFn)(fmi2Component c, const fmi2ValueReference vr[], size_t count,
                                    fmi2Real value[]);
typedef fmi2Status (*fmi2GetIntegerFn)(fmi2Component c, const fmi2ValueReference vr[], size_t count,
                                       fmi2Integer value[]);
typedef fmi2Status (*fmi2GetBooleanFn)(fmi2Component c, const fmi2ValueReference vr[], size_t count,
                                       fmi2Boolean value[]);
typedef fmi2Status (*fmi2SetRealFn)(fmi2Component c, const fmi2ValueReference vr[], size_t count,
                                    const fmi2Real value[]);
typedef fmi2Status (*fmi2SetIntegerFn)(fmi2Component c, const fmi2ValueReference vr[], size_t count,
                                       const fmi2Integer value[]);
typedef fmi2Status (*fmi2SetBooleanFn)(fmi2Component c, const fmi2ValueReference vr[], size_t count,
                                       const fmi2Boolean value[]);

/* Saving and restoring an instance's state (section 2.1.8); optional, announced by the
 * canGetAndSetFMUstate and canSerializeFMUstate capability flags. */
typedef fmi2Status (*fmi2GetFMUstateFn)(fmi2Component c, fmi2FMUstate* state);
typedef fmi2Status (*fmi2SetFMUstateFn)(fmi2Component c, fmi2FMUstate state);
typedef fmi2Status (*fmi2FreeFMUstateFn)(fmi2Component c, fmi2FMUstate* state);
typedef fmi2Status (*fmi2SerializedFMUstateSizeFn)(fmi2Component c, fmi2FMUstate state,
                                                   size_t* size);
typedef fmi2Status (*fmi2SerializeFMUstateFn)(fmi2Component c, fmi2FMUstate state,
                                              fmi2Byte serialized_state[], size_t size);
typedef fmi2Status (*fmi2DeSerializeFMUstateFn)(fmi2Component c, const fmi2Byte serialized_state[],
                                                size_t size, fmi2FMUstate* state);

/* Co-simulation (section 4.2). */
typedef fmi2Status (*fmi2DoStepFn)(fmi2Component c, fmi2Real current_communication_point,
                                   fmi2Real communication_step_size,
                                   fmi2Boolean no_set_fmu_state_prior_to_current_point);
typedef fmi2Status (*fmi2CancelStepFn)(fmi2Component c);

#ifdef __cplusplus
}
#endif

#endif /* DOPPEL_SIM_FMI_FMI2_H_ */
