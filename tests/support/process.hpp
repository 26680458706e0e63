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

namespace railcheck::testing {

// A command running in the background (its own process group) for the length of a test:
// stdout and stderr go to a file; the destructor stops the whole group.
class BackgroundProcess {
 public:
  explicit BackgroundProcess(const std::string& command_line);
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  ~BackgroundProcess();

  // Waits until the output contains `text`; false after `timeout_ms`.
  bool wait_for_output(const std::string& text, int timeout_ms) const;
  [[nodiscard]] std::string output() const;
  // Sends `signal` to the group (SIGKILL: the peer "vanishes").
  void kill(int signal);
  // Waits for the process to exit; its exit code, or -1 after `timeout_ms`.
  int wait(int timeout_ms);
  [[nodiscard]] bool running();

 private:
  int pid_ = -1;
  int exit_code_ = -1;
  std::string log_path_;
};

}  // namespace railcheck::testing
