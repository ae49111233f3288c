// `doppel devsim`: the device fleet simulator — simulated wind turbines and production machines
// talking MQTT to the broker Doppel's connector listens on (docs/devsim.md).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace doppel::app {

// Adds the `devsim` subcommand to `app`. When it is chosen, `set_action` receives the function
// that runs the simulator (returning the exit code: 0 after a clean stop, 1 if it could not
// start, 2 for bad options), to be called after parsing.
void AddDevsimCommand(CLI::App& app, const std::function<void(std::function<int()>)>& set_action);

}  // namespace doppel::app
