// cli/cli.hpp — the command line: argv in, exit status out. Wires the modules together
// (cli/serve.cpp is the only place that does, STYLE.md §2).
#pragma once

namespace rampart::cli {

int run(int argc, char** argv);

}  // namespace rampart::cli
