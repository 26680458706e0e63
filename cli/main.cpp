#include "cli/command.hpp"

int main(int argc, char** argv) { return railcheck::cli::run_app(argc, argv); }
