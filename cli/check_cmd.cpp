// `railcheck check`: setup checks for this pod: the RDMA netns mode, which RDMA devices the pod
// sees, each rail's port state, addressing, InfiniBand GUID and pkey, policy routing and
// gateway, the memlock limit, and whether GPUDirect RDMA can work. The live facts are gathered
// here (commands, getrlimit, uname, /proc, the gateway probe); the verdicts come from
// topology/*_checks, which take them as plain inputs.

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/utsname.h>
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
#include "gpudirect/preflight.hpp"
#include "cli/map_inputs.hpp"
#include "reports/check_json.hpp"
#include "reports/check_table.hpp"
#include "topology/checks.hpp"
#include "topology/gateway_probe.hpp"
#include "topology/ib_checks.hpp"
#include "topology/routing_checks.hpp"
#include "topology/podinfo.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::cli {
namespace {

constexpr const char* kCheckHelp = R"(Checks, in this order:
  rdma_netns_mode       `rdma system show`: exclusive passes, shared warns, unknown is waived
  devices_visible       /sys/class/infiniband is exactly the rail map's RDMA devices: a missing
                        one fails; an extra one warns (netns shared) or fails (netns exclusive)
  port_active           per interface: port ACTIVE, physical state LINK_UP, a link layer
  interface_addressing  per interface: an IPv4 address; RoCE: a RoCEv2 GID carrying it
  ib_guid               per InfiniBand interface: port GUID set (not 0), equal to the networks
                        annotation's cni-args guid, inside --guid-pool
  ib_pkey               per InfiniBand interface: the network's pkey (cni-args, else --pkey) in
                        the port's pkey table as a full member
  ib_pkey_table         per InfiniBand interface: warns from 112 pkeys on (the limit is 128 a node)
  memlock               RLIMIT_MEMLOCK unlimited or >= --memlock-per-rail-mib x rails, or CAP_IPC_LOCK
  policy_routes         per interface: `ip -j rule` has `from <ip>` or `oif <netdev>` looking up a
                        table with a default route via the interface (other routes only: warn)
  main_route            the main table's default route is not via a rail (eth0)
  gateway_reachable     per interface: the gateway of that default route answers ICMP echo or
                        ARP within --gateway-timeout-ms (no ICMP socket and ARP unsettled: waived)
  gpudirect_ready       waived without a GPU; nvidia_peermem loaded, or dma-buf possible (kernel
                        >= 5.12 and NVIDIA's open kernel module); each rail's nearest GPU: PIX/PXB
                        pass, PHB/NODE warn, SYS fail
Inputs as for `railcheck topo` (--podinfo, --sysfs-root, --hwloc-xml); the live facts (rdma
system, ip rules and routes, the gateway probes, limits) are always this machine's.
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

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? std::string(u.release) : std::string{};
}

// A CLI11 validator from a topology parser: its error text becomes the option's error.
template <class Parse>
CLI::Validator parsed_by(Parse parse, const std::string& name) {
  return CLI::Validator(
      [parse](std::string& value) -> std::string {
        auto r = parse(value);
        return r ? std::string{} : r.error().what;
      },
      "", name);
}

}  // namespace

std::vector<topology::CheckResult> collect_checks(const CheckOptions& opt, const topology::RailMap& map) {
  const topology::NetnsMode mode = topology::parse_rdma_netns_mode(command_output("rdma system show"));
  topology::MemlockFacts memlock{.rlimit_bytes = std::nullopt,
                                 .proc_status = file_text("/proc/self/status"),
                                 .per_rail_bytes = opt.memlock_per_rail_mib << 20};
  rlimit lim{};
  if (::getrlimit(RLIMIT_MEMLOCK, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    memlock.rlimit_bytes = static_cast<uint64_t>(lim.rlim_cur);
  }

  topology::IbFacts ib;
  // (both validated by CLI11 already)
  if (auto pool = topology::parse_guid_pool(opt.guid_pool); !opt.guid_pool.empty() && pool) ib.guid_pool = *pool;
  if (auto pkey = topology::parse_pkey(opt.pkey); !opt.pkey.empty() && pkey) ib.pkey = *pkey;
  const std::string rules = command_output("ip -j rule");
  const std::string routes = command_output("ip -j route show table all");
  topology::GpudirectFacts gpudirect{.sysfs_root = opt.sysfs_root,
                                     .kernel_release = kernel_release(),
                                     .nvidia_version = file_text("/proc/driver/nvidia/version"),
                                     .cuda = std::nullopt,
                                     .warn_from = *topology::parse_path_class(opt.gpu_path_warn),
                                     .fail_from = *topology::parse_path_class(opt.gpu_path_fail)};
  // The node has GPUs (hwloc): ask CUDA itself what this pod can use (live only).
  if (!map.gpus.empty() && opt.sysfs_root == "/sys") {
    const gpudirect::GpuDirectPreflight pre = gpudirect::gpudirect_preflight(opt.sysfs_root);
    if (pre.cuda_built_in) {
      gpudirect.cuda = topology::GpudirectFacts::Cuda{.driver_error = pre.driver_error,
                                                      .gpus = static_cast<int>(pre.gpus.size()),
                                                      .dmabuf_supported = pre.dmabuf_supported()};
    }
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
  add(topology::check_ib_guid(map, ib));
  add(topology::check_ib_pkey(map, ib));
  results.push_back(topology::check_memlock(map, memlock));
  add(topology::check_policy_routes(map, rules, routes));
  results.push_back(topology::check_main_route(map, routes));
  add(topology::check_gateway_reachable(map, rules, routes, topology::probe_gateway, opt.gateway_timeout_ms));
  add(topology::check_gpudirect_ready(map, gpudirect));

  return results;
}

namespace {

int run_check(const CheckOptions& opt) {
  auto map = build_map(opt);
  if (!map) {
    std::cerr << "railcheck check: " << map.error().message() << "\n";
    return kExitFailed;
  }
  const std::vector<topology::CheckResult> results = collect_checks(opt, *map);
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
      "(RoCEv2 GID), InfiniBand GUID and pkey, policy routes and gateway, the memlock limit, GPUDirect readiness. "
      "Each: pass, warn, fail or waived, with the fix.");
  sub->footer(kCheckHelp);
  add_map_input_options(*sub, *opt, "railcheck.check/v1", "results");
  sub->add_option("--memlock-per-rail-mib", opt->memlock_per_rail_mib,
                  "Locked memory needed per rail, MiB (memlock check)")
      ->default_str(std::to_string(opt->memlock_per_rail_mib))
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30));
  sub->add_option("--guid-pool", opt->guid_pool,
                  "ib-kubernetes' GUID pool, START-END (GUID_POOL_RANGE_START/END), e.g. "
                  "02:00:00:00:00:00:00:00-02:FF:FF:FF:FF:FF:FF:FF (ib_guid check)")
      ->check(parsed_by(topology::parse_guid_pool, "START-END"));
  sub->add_option("--pkey", opt->pkey,
                  "The pkey the IB networks should be in, e.g. 0x6, where the networks annotation's cni-args "
                  "name none (ib_pkey check)")
      ->check(parsed_by(topology::parse_pkey, "0xPKEY"));
  sub->add_option("--gpu-path-warn", opt->gpu_path_warn,
                  "gpudirect_ready: a rail whose nearest GPU is this far or farther warns (PIX, PXB, PHB, NODE, SYS)")
      ->default_str("PHB")
      ->check(parsed_by(topology::parse_path_class, "CLASS"));
  sub->add_option("--gpu-path-fail", opt->gpu_path_fail,
                  "gpudirect_ready: a rail whose nearest GPU is this far or farther fails")
      ->default_str("SYS")
      ->check(parsed_by(topology::parse_path_class, "CLASS"));
  sub->add_option("--gateway-timeout-ms", opt->gateway_timeout_ms,
                  "How long each gateway has to answer (gateway_reachable check)")
      ->default_str(std::to_string(opt->gateway_timeout_ms))
      ->check(CLI::Range(uint32_t{1}, uint32_t{60000}));
  return Command{sub, [opt] { return run_check(*opt); }};
}

}  // namespace railcheck::cli
