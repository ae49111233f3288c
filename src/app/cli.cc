#include "app/cli.h"

#include <cstdio>

namespace doppel::app {

int RunCli(int argc, char** argv) {
  std::fprintf(stderr, "doppel: not yet wired\n");
  return 2;
}

}  // namespace doppel::app
