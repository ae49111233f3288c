#include "app/fmu_host_command.h"

#include <CLI/CLI.hpp>
#include <memory>

#include "sim/fmi/fmu_host.h"

namespace doppel::app {

void AddFmuHostCommand(CLI::App& app, const std::function<void(std::function<int()>)>& set_action) {
  auto fd = std::make_shared<int>(-1);
  auto* command = app.add_subcommand("fmu-host", "Serve one FMU to the parent server (internal)");
  command->group("");  // hidden from --help: the server starts it, people do not
  command->add_option("--fd", *fd, "Connected socket to the parent")
      ->required()
      ->check(CLI::NonNegativeNumber);
  command->callback([fd, set_action] { set_action([fd] { return sim::fmi::RunFmuHost(*fd); }); });
}

}  // namespace doppel::app
