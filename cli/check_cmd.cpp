// `railcheck check`: setup checks for this pod: the RDMA netns mode, which RDMA devices the pod
// sees, each rail's port state, addressing, InfiniBand GUID and pkey, policy routing and
// gateway, the memlock limit, whether GPUDirect RDMA can work, the PCIe links and one rail per
// GPU. The live facts are gathered here (netlink, getrlimit, uname, /proc, the gateway probe)
// without running any program: the agent, which serves these checks, pins RDMA memory and must
// not fork. The checks are the rows of topology/setup_checks.hpp, pure over those facts.

#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
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
#include "topology/netlink.hpp"
#include "topology/routing_checks.hpp"
#include "topology/setup_checks.hpp"
#include "topology/podinfo.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::cli {
namespace {

// What `railcheck check --help` says first.
constexpr const char* kDescription =
    "Setup checks for this pod: RDMA netns mode, visible RDMA devices, each rail's port state, addressing "
    "(RoCEv2 GID), InfiniBand GUID and pkey, policy routes and gateway, the memlock limit, GPUDirect readiness, "
    "PCIe links, one rail per GPU. "
    "Each: pass, warn, fail or waived, with the fix.";

// What `check --help` prints after the options: the catalogue's rows, then the inputs.
std::string check_help() {
  return "Checks, in this order:\n" + topology::setup_checks_help() +
         "Inputs as for `railcheck topo` (--podinfo, --sysfs-root, --hwloc-xml, --non-rail-nic); the live\n"
         "facts (RDMA netns mode, rules and routes: all over netlink, nothing is run; the gateway probes,\n"
         "limits) are always this machine's.\n"
         "Exit: 0 nothing failed; 1 a check failed or no rail map could be built; 2 bad options.";
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
  topology::CheckFacts facts;
  if (auto rdma = topology::read_rdma_system()) facts.netns_mode = rdma->netns_mode;  // else unknown: waived
  facts.visible_devices = topology::visible_rdma_devices(opt.sysfs_root);
  facts.memlock = topology::MemlockFacts{.rlimit_bytes = std::nullopt,
                                         .proc_status = file_text("/proc/self/status"),
                                         .per_rail_bytes = opt.memlock_per_rail_mib << 20};
  rlimit lim{};
  if (::getrlimit(RLIMIT_MEMLOCK, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    facts.memlock.rlimit_bytes = static_cast<uint64_t>(lim.rlim_cur);
  }
  // (both validated by CLI11 already)
  if (auto pool = topology::parse_guid_pool(opt.guid_pool); !opt.guid_pool.empty() && pool) facts.ib.guid_pool = *pool;
  if (auto pkey = topology::parse_pkey(opt.pkey); !opt.pkey.empty() && pkey) facts.ib.pkey = *pkey;
  facts.routing = topology::read_routing_facts();
  facts.probe = topology::probe_gateway;
  facts.gateway_timeout_ms = opt.gateway_timeout_ms;
  facts.gpudirect = topology::GpudirectFacts{.sysfs_root = opt.sysfs_root,
                                             .kernel_release = kernel_release(),
                                             .nvidia_version = file_text("/proc/driver/nvidia/version"),
                                             .cuda = std::nullopt,
                                             .warn_from = *topology::parse_path_class(opt.gpu_path_warn),
                                             .fail_from = *topology::parse_path_class(opt.gpu_path_fail)};
  // The node has GPUs (hwloc): ask CUDA itself what this pod can use (live only).
  if (!map.gpus.empty() && opt.sysfs_root == "/sys") {
    const gpudirect::GpuDirectPreflight pre = gpudirect::gpudirect_preflight(opt.sysfs_root);
    if (pre.cuda_built_in) {
      facts.gpudirect.cuda = topology::GpudirectFacts::Cuda{.driver_error = pre.driver_error,
                                                            .gpus = static_cast<int>(pre.gpus.size()),
                                                            .dmabuf_supported = pre.dmabuf_supported()};
    }
  }
  return topology::run_setup_checks(map, facts);
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

void add_options(CLI::App& sub, CheckOptions& opt) {
  sub.footer(check_help());
  add_map_input_options(sub, opt, "railcheck.check/v1", "results");
  sub.add_option("--memlock-per-rail-mib", opt.memlock_per_rail_mib,
                 "Locked memory needed per rail, MiB (memlock check)")
      ->default_str(std::to_string(opt.memlock_per_rail_mib))
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30));
  sub.add_option("--guid-pool", opt.guid_pool,
                 "ib-kubernetes' GUID pool, START-END (GUID_POOL_RANGE_START/END), e.g. "
                 "02:00:00:00:00:00:00:00-02:FF:FF:FF:FF:FF:FF:FF (ib_guid check)")
      ->check(parsed_by(topology::parse_guid_pool, "START-END"));
  sub.add_option("--pkey", opt.pkey,
                 "The pkey the IB networks should be in, e.g. 0x6, where the networks annotation's cni-args "
                 "name none (ib_pkey check)")
      ->check(parsed_by(topology::parse_pkey, "0xPKEY"));
  sub.add_option("--gpu-path-warn", opt.gpu_path_warn,
                 "gpudirect_ready: a rail whose nearest GPU is this far or farther warns (PIX, PXB, PHB, NODE, SYS)")
      ->default_str("PHB")
      ->check(parsed_by(topology::parse_path_class, "CLASS"));
  sub.add_option("--gpu-path-fail", opt.gpu_path_fail,
                 "gpudirect_ready: a rail whose nearest GPU is this far or farther fails")
      ->default_str("SYS")
      ->check(parsed_by(topology::parse_path_class, "CLASS"));
  sub.add_option("--gateway-timeout-ms", opt.gateway_timeout_ms,
                 "How long each gateway has to answer (gateway_reachable check)")
      ->default_str(std::to_string(opt.gateway_timeout_ms))
      ->check(CLI::Range(uint32_t{1}, uint32_t{60000}));
}

}  // namespace

Command add_check_command(CLI::App& parent) {
  return add_command(parent, "check", kDescription, add_options, run_check);
}

}  // namespace railcheck::cli
