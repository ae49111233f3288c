// The command line: `doppel serve`, `doppel models validate|upload`, `doppel twins ...`,
// `doppel query ...`. Returns the process exit code.
#pragma once

namespace doppel::app {

int RunCli(int argc, char** argv);

}  // namespace doppel::app
