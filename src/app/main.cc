// doppel — the one binary: the server and the operator's command line.
#include "app/cli.h"

int main(int argc, char** argv) { return doppel::app::RunCli(argc, argv); }
