// main.cpp — argv → rampart::cli::run(), nothing else.
#include "cli/cli.hpp"

int main(int argc, char** argv) { return rampart::cli::run(argc, argv); }
