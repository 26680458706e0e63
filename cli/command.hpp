#pragma once
// How subcommands plug into the one `railcheck` binary: each adds its CLI11 subcommand and
// options, and returns the function to run when that subcommand was chosen. Options live in
// the subcommand's own struct (filled by CLI11), never in globals.

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace railcheck::cli {

// Process exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;   // the check or test ran and found a problem
inline constexpr int kExitUsage = 2;    // bad options or input: nothing was run
inline constexpr int kExitWaived = 3;   // the test could not apply here (no GPU, no driver): not a failure

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// A subcommand whose options are one `Options` struct: CLI11 fills it while parsing and `run`
// reads it afterwards, so the two share it. `declare` adds the options (and footer, exclusions)
// to the subcommand over that struct.
template <typename Options, typename Run>
Command add_command(CLI::App& parent, std::string name, std::string description,
                    void (*declare)(CLI::App& sub, Options& opt), Run run) {
  auto opt = std::make_shared<Options>();
  CLI::App* sub = parent.add_subcommand(std::move(name), std::move(description));
  declare(*sub, *opt);
  return Command{sub, [opt, run] { return run(*opt); }};
}

Command add_version_command(CLI::App& parent);
Command add_devices_command(CLI::App& parent);
Command add_serve_command(CLI::App& parent);
Command add_lat_command(CLI::App& parent);
Command add_bw_command(CLI::App& parent);
Command add_topo_command(CLI::App& parent);
Command add_check_command(CLI::App& parent);
Command add_agent_command(CLI::App& parent);
Command add_coordinator_command(CLI::App& parent);
Command add_report_command(CLI::App& parent);

// Builds the whole command tree and runs the chosen subcommand; returns the exit code.
int run_app(int argc, char** argv);

}  // namespace railcheck::cli
