// `railcheck agent`: the per-node agent of the rdma-tools DaemonSet. Serves this pod's rail
// map and check results, and runs tests on request from the coordinator (docs/cluster.md).

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/check_cmd.hpp"
#include "cli/command.hpp"
#include "cli/map_inputs.hpp"
#include "pods/agent.hpp"
#include "reports/check_json.hpp"
#include "topology/podinfo.hpp"

namespace railcheck::cli {
namespace {

inline constexpr const char* kDefaultTokenFile = "/etc/railcheck/token/token";

struct AgentCliOptions {
  CheckOptions map;  // the rail map's inputs and the checks' settings
  std::string listen;
  int port = pods::kDefaultAgentPort;
  std::string token_file;
  std::string node;
  std::string pod;
  double max_test_seconds = 600;
  uint64_t memlock_per_rail_mib = topology::kDefaultMemlockPerRail >> 20;
};

// What `railcheck agent --help` says first.
constexpr const char* kDescription =
    "The per-node agent (the rdma-tools DaemonSet pod): serves this pod's rail map and checks, and runs tests on "
    "its interfaces when the coordinator asks. HTTP on the pod's primary IP, port 7400: GET /healthz and /metrics "
    "(no auth), GET /v1/inventory and POST /v1/tests (bearer token). See docs/cluster.md.\n"
    "Example: railcheck agent --token-file /etc/railcheck/token/token";

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

std::string hostname() {
  char buf[256] = {};
  return ::gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string("unknown");
}

int run_agent(AgentCliOptions& o) {
  const std::string token_file = !o.token_file.empty() ? o.token_file : env_or("RAILCHECK_TOKEN_FILE", kDefaultTokenFile);
  auto token = pods::read_token_file(token_file);
  if (!token) {
    std::cerr << "railcheck agent: " << token.error().message() << "\n";
    return kExitUsage;
  }
  // SIGINT/SIGTERM are taken by one thread (sigwait), so no handler runs inside the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  CheckOptions map_opt = o.map;
  map_opt.memlock_per_rail_mib = o.memlock_per_rail_mib;
  pods::AgentOptions aopt{.listen = o.listen,
                          .port = static_cast<uint16_t>(o.port),
                          .token = *token,
                          .node = !o.node.empty() ? o.node : env_or("NODE_NAME", hostname()),
                          .pod = !o.pod.empty() ? o.pod : env_or("POD_NAME", hostname()),
                          .map_inputs = map_inputs(map_opt),
                          .checks = [map_opt](const topology::RailMap& m) {
                            return reports::checks_to_json(collect_checks(map_opt, m));
                          },
                          .max_test_seconds = o.max_test_seconds,
                          .http_threads = 16};
  pods::Agent agent(std::move(aopt));
  if (auto ok = agent.start(); !ok) {
    std::cerr << "railcheck " << ok.error().message() << "\n";
    return kExitFailed;
  }
  std::cout << fmt::format("railcheck agent: listening on {} (GET /healthz, /metrics, /v1/inventory; POST /v1/tests)",
                           agent.address())
            << std::endl;
  std::jthread signals([&agent, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("agent: signal {}: stopping", sig);
    agent.stop();
  });
  agent.serve();
  // serve() returned: stopped by a signal, or the listener failed. Wake the signal thread.
  pthread_kill(signals.native_handle(), SIGTERM);
  return kExitOk;
}

void add_options(CLI::App& sub, AgentCliOptions& o) {
  sub.add_option("--listen", o.listen, "Address to listen on (default: the pod's primary IP; 0.0.0.0 for all)");
  sub.add_option("-p,--port", o.port, "HTTP port")->check(CLI::Range(0, 65535))->default_val(pods::kDefaultAgentPort);
  sub.add_option("--token-file", o.token_file,
                 fmt::format("File holding the bearer token every /v1 request must carry (default "
                             "$RAILCHECK_TOKEN_FILE, else {})",
                             kDefaultTokenFile));
  sub.add_option("--node", o.node, "Node name reported to the coordinator (default $NODE_NAME, else the hostname)");
  sub.add_option("--pod", o.pod, "Pod name reported to the coordinator (default $POD_NAME, else the hostname)");
  sub.add_option("--podinfo", o.map.podinfo,
                 fmt::format("Downward-API folder with the pod's annotations (default {} when it has them)",
                             topology::kDefaultPodinfoDir))
      ->check(CLI::ExistingDirectory);
  sub.add_option("--sysfs-root", o.map.sysfs_root, "Folder laid out like /sys to read instead of it")
      ->default_str("/sys")
      ->check(CLI::ExistingDirectory);
  sub.add_option("--hwloc-xml", o.map.hwloc_xml, "hwloc XML of the node's PCIe tree (default: read live)")
      ->check(CLI::ExistingFile);
  sub.add_option("--max-test-seconds", o.max_test_seconds, "Hard limit on one test; past it the test is cut off")
      ->check(CLI::Range(1.0, 86400.0))
      ->default_val(600);
  sub.add_option("--memlock-per-rail-mib", o.memlock_per_rail_mib, "Locked memory needed per rail (memlock check)")
      ->default_str(std::to_string(o.memlock_per_rail_mib))
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30));
}

}  // namespace

Command add_agent_command(CLI::App& parent) {
  return add_command(parent, "agent", kDescription, add_options, run_agent);
}

}  // namespace railcheck::cli
