// `railcheck check`: setup checks for this pod: the RDMA netns mode, which RDMA devices the pod
// sees, each rail's port state, addressing and policy routing, the memlock limit, and whether
// GPUDirect RDMA can work. The live facts are gathered here (commands, getrlimit, /proc); the
// verdicts come from topology/checks, which takes them as plain inputs.

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cli/check_cmd.hpp"
#include "cli/command.hpp"
#include "cli/map_inputs.hpp"
#include "reports/check_json.hpp"
#include "reports/check_table.hpp"
#include "topology/checks.hpp"
#include "topology/podinfo.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::cli {
namespace {

struct CheckOptions : MapInputOptions {
  uint64_t memlock_per_rail_mib = topology::kDefaultMemlockPerRail >> 20;
};

constexpr const char* kCheckHelp = R"(Checks, in this order:
  rdma_netns_mode       `rdma system show`: exclusive passes, shared warns, unknown is waived
  devices_visible       /sys/class/infiniband is exactly the rail map's RDMA devices: a missing
                        one fails; an extra one warns (netns shared) or fails (netns exclusive)
  port_active           per interface: port ACTIVE, physical state LINK_UP, a link layer
  interface_addressing  per interface: an IPv4 address; RoCE: a RoCEv2 GID carrying it
  memlock               RLIMIT_MEMLOCK unlimited or >= --memlock-per-rail-mib x rails, or CAP_IPC_LOCK
  policy_routes         per interface: `ip -j rule` has `from <ip>` or `oif <if>` looking up a
                        table that `ip -j route show table all` routes via the interface
  gpudirect_ready       waived without a GPU; nvidia_peermem loaded (dma-buf is not probed
                        without CUDA); each rail's nearest GPU: PIX/PXB pass, PHB/NODE warn, SYS fail
Inputs as for `railcheck topo` (--podinfo, --sysfs-root, --hwloc-xml).
Exit: 0 nothing failed; 1 a check failed or no rail map could be built; 2 bad options.)";

// The stdout of a shell command when it exits 0; empty otherwise (tool missing, failed).
std::string command_output(const std::string& command_line) {
  struct PipeCloser {
    void operator()(FILE* f) const noexcept {
      if (f != nullptr) (void)::pclose(f);
    }
  };
  FILE* raw = ::popen((command_line + " 2>/dev/null").c_str(), "r");
  if (raw == nullptr) return {};
  std::unique_ptr<FILE, PipeCloser> pipe(raw);
  std::string out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe.get())) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe.release());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  return out;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

std::vector<topology::CheckResult> collect_checks(const MapInputOptions& opt, uint64_t memlock_per_rail_mib,
                                                  const topology::RailMap& map) {
  const topology::NetnsMode mode = topology::parse_rdma_netns_mode(command_output("rdma system show"));
  topology::MemlockFacts memlock{.rlimit_bytes = std::nullopt,
                                 .proc_status = file_text("/proc/self/status"),
                                 .per_rail_bytes = memlock_per_rail_mib << 20};
  rlimit lim{};
  if (::getrlimit(RLIMIT_MEMLOCK, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    memlock.rlimit_bytes = static_cast<uint64_t>(lim.rlim_cur);
  }

  std::vector<topology::CheckResult> results;
  auto add = [&](std::vector<topology::CheckResult> more) {
    for (auto& r : more) results.push_back(std::move(r));
  };
  results.push_back(topology::check_rdma_netns_mode(mode));
  results.push_back(
      topology::check_devices_visible(map, topology::visible_rdma_devices(opt.sysfs_root), mode));
  add(topology::check_port_active(map));
  add(topology::check_interface_addressing(map));
  results.push_back(topology::check_memlock(map, memlock));
  add(topology::check_policy_routes(map, command_output("ip -j rule"), command_output("ip -j route show table all")));
  add(topology::check_gpudirect_ready(map, opt.sysfs_root));
  return results;
}

namespace {

int run_check(const CheckOptions& opt) {
  auto map = build_map(opt);
  if (!map) {
    std::cerr << "railcheck check: " << map.error().message() << "\n";
    return kExitFailed;
  }
  const std::vector<topology::CheckResult> results = collect_checks(opt, opt.memlock_per_rail_mib, *map);

  const std::string text = opt.format == "json" ? reports::checks_to_json(results).dump(2) + "\n"
                                                : reports::check_table(results);
  if (const int rc = write_output(opt, "check", text); rc != kExitOk) return rc;
  const bool failed = std::ranges::any_of(
      results, [](const topology::CheckResult& r) { return r.verdict == topology::Verdict::kFail; });
  return failed ? kExitFailed : kExitOk;
}

}  // namespace

Command add_check_command(CLI::App& parent) {
  auto opt = std::make_shared<CheckOptions>();
  CLI::App* sub = parent.add_subcommand(
      "check",
      "Setup checks for this pod: RDMA netns mode, visible RDMA devices, each rail's port state, addressing "
      "(RoCEv2 GID) and policy routes, the memlock limit, GPUDirect readiness. Each: pass, warn, fail or waived, "
      "with the fix.");
  sub->footer(kCheckHelp);
  add_map_input_options(*sub, *opt, "railcheck.check/v1", "results");
  sub->add_option("--memlock-per-rail-mib", opt->memlock_per_rail_mib,
                  "Locked memory needed per rail, MiB (memlock check)")
      ->default_str(std::to_string(opt->memlock_per_rail_mib))
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30));
  return Command{sub, [opt] { return run_check(*opt); }};
}

}  // namespace railcheck::cli
