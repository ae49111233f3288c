// `doppel serve`: the flags that start the server, on top of an optional config file.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace doppel::app {

// Adds the `serve` subcommand to `app`. When it is chosen, `set_action` receives the
// function that runs the server (returning the exit code), to be called after parsing.
void AddServeCommand(CLI::App& app, const std::function<void(std::function<int()>)>& set_action);

}  // namespace doppel::app
