#include "support/process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

namespace railcheck::testing {

std::string shell_quote(const std::string& word) {
  std::string q = "'";
  for (char c : word) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

ProcessResult run_command(const std::string& command_line) {
  char err_path[] = "/tmp/railcheck-test-stderr.XXXXXX";
  const int fd = mkstemp(err_path);
  if (fd < 0) return {};
  close(fd);
  ProcessResult r;
  const std::string full = "(" + command_line + ") 2>" + shell_quote(err_path);
  if (FILE* p = popen(full.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::ifstream in(err_path);
  std::ostringstream err;
  err << in.rdbuf();
  r.err = err.str();
  unlink(err_path);
  return r;
}

}  // namespace railcheck::testing

#include <signal.h>

#include <chrono>
#include <thread>

namespace railcheck::testing {

BackgroundProcess::BackgroundProcess(const std::string& command_line) {
  char path[] = "/tmp/railcheck-test-bg.XXXXXX";
  const int fd = mkstemp(path);
  log_path_ = path;
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    // exec: the shell becomes the command, so waiting for the pid waits for the command.
    const std::string line = "exec " + command_line;
    execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fd);
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) {
    if (exit_code_ < 0) ::kill(-pid_, SIGTERM);
    wait(3000);
    // Children the command started may outlive it: the group is gone only when kill(0) fails,
    // and only then are its ports free for the next test.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (::kill(-pid_, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(-pid_, SIGKILL);
    wait(1000);
  }
  unlink(log_path_.c_str());
}

std::string BackgroundProcess::output() const {
  std::ifstream in(log_path_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool BackgroundProcess::wait_for_output(const std::string& text, int timeout_ms) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void BackgroundProcess::kill(int signal) {
  if (pid_ > 0) ::kill(-pid_, signal);
}

int BackgroundProcess::wait(int timeout_ms) {
  if (exit_code_ >= 0) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    const int r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (r < 0 || std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool BackgroundProcess::running() { return wait(0) < 0; }

}  // namespace railcheck::testing
