#pragma once
// Runs a command line through /bin/sh for tests and captures stdout, stderr and the exit
// code, so CLI and lab tests check what a user would see.

#include <string>

namespace railcheck::testing {

struct ProcessResult {
  int exit_code = -1;  // the process's exit status; 128+N when killed by signal N
  std::string out;
  std::string err;
};

ProcessResult run_command(const std::string& command_line);

// Quotes one word for /bin/sh.
std::string shell_quote(const std::string& word);

}  // namespace railcheck::testing
