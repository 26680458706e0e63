#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "common/log.hpp"

namespace railcheck::cli {

int run_app(int argc, char** argv) {
  CLI::App app{
      "railcheck: proves that every RDMA rail of a GPU cluster works, from inside the pods.\n"
      "Lists devices, maps rails, and runs latency and bandwidth tests between pods.",
      "railcheck"};
  app.require_subcommand(1);
  app.fallthrough();  // --log-level may follow the subcommand
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "Log verbosity on stderr: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember(std::vector<std::string>(std::begin(kLogLevels), std::end(kLogLevels))));

  std::vector<Command> commands{add_version_command(app), add_devices_command(app), add_serve_command(app),
                                add_lat_command(app), add_bw_command(app),
                                add_topo_command(app), add_check_command(app),
                                add_report_command(app), add_agent_command(app), add_coordinator_command(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help or the one-line error
    return e.get_exit_code() == 0 ? rc : kExitUsage;
  }
  if (auto ok = init_logging(log_level); !ok) {
    std::cerr << "railcheck: " << ok.error().message() << "\n";
    return kExitUsage;
  }
  try {
    for (const Command& c : commands) {
      if (c.app->parsed()) return c.run();
    }
  } catch (const std::exception& e) {
    // Libraries return errors; anything thrown here is a bug, reported once, not a crash.
    std::cerr << "railcheck: internal error: " << e.what() << "\n";
    return kExitFailed;
  }
  return kExitUsage;
}

}  // namespace railcheck::cli
