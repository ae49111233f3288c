// The child side of out-of-process FMUs: `doppel fmu-host --fd N` runs RunFmuHost on the socket
// its parent (an FmuSimulation) passed as descriptor N. The child loads one FMU's shared library
// (dlopen), resolves its FMI 2.0 functions, instantiates it and serves the requests of
// sim/fmi/internal/fmu_protocol.h until kTerminate or until the parent closes the socket.
//
// Everything an FMU can do wrong happens here, in a process of its own: a segfault, abort or
// endless loop in the FMU kills or hangs only this child, and the parent turns that into a
// Status. A watchdog thread in the child ends it within a second of its parent's death, so a
// hung FMU never outlives the server.
#pragma once

namespace doppel::sim::fmi {

// Serves one FMU on the connected stream socket `fd`. Returns the process exit code: 0 after
// kTerminate or when the parent hangs up, 1 for a protocol error.
int RunFmuHost(int fd);

}  // namespace doppel::sim::fmi
