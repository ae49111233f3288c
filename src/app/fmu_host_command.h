// `doppel fmu-host --fd N`: hidden; the child process an FmuSimulation starts to run one FMU
// out of the server's process (sim/fmi/fmu_host.h). Not for people to type.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace doppel::app {

// Adds the hidden `fmu-host` subcommand to `app`; when chosen, `set_action` receives the
// function that serves the FMU on descriptor --fd until the parent hangs up.
void AddFmuHostCommand(CLI::App& app, const std::function<void(std::function<int()>)>& set_action);

}  // namespace doppel::app
