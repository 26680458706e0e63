#include "topology/setup_checks.hpp"

#include <algorithm>
#include <utility>

#include "topology/node_checks.hpp"

namespace railcheck::topology {
namespace {

using Results = std::vector<CheckResult>;

Results one(CheckResult r) { return {std::move(r)}; }

constexpr SetupCheck kChecks[] = {
    {"rdma_netns_mode", "the RDMA netns mode (RDMA netlink, as `rdma system show`): exclusive passes, shared warns, unknown is waived",
     [](const RailMap&, const CheckFacts& f) { return one(check_rdma_netns_mode(f.netns_mode)); }},
    {"devices_visible",
     "/sys/class/infiniband is exactly the rail map's RDMA devices: a missing one fails; an extra one warns (netns "
     "shared) or fails (netns exclusive)",
     [](const RailMap& m, const CheckFacts& f) { return one(check_devices_visible(m, f.visible_devices, f.netns_mode)); }},
    {"port_active", "per interface: port ACTIVE, physical state LINK_UP, a link layer",
     [](const RailMap& m, const CheckFacts&) { return check_port_active(m); }},
    {"interface_addressing", "per interface: an IPv4 address; RoCE: a RoCEv2 GID carrying it",
     [](const RailMap& m, const CheckFacts&) { return check_interface_addressing(m); }},
    {"ib_guid",
     "per InfiniBand interface: port GUID set (not 0), equal to the networks annotation's cni-args guid, inside "
     "--guid-pool",
     [](const RailMap& m, const CheckFacts& f) { return check_ib_guid(m, f.ib); }},
    {"ib_pkey",
     "per InfiniBand interface: the network's pkey (cni-args, else --pkey) in the port's pkey table as a full member",
     [](const RailMap& m, const CheckFacts& f) { return check_ib_pkey(m, f.ib); }},
    {"ib_pkey_table", "per InfiniBand interface: warns from 112 pkeys on (the limit is 128 a node)", nullptr},
    {"memlock", "RLIMIT_MEMLOCK unlimited or >= --memlock-per-rail-mib x rails, or CAP_IPC_LOCK",
     [](const RailMap& m, const CheckFacts& f) { return one(check_memlock(m, f.memlock)); }},
    {"policy_routes",
     "per interface: a rule `from <ip>` or `oif <netdev>` looks up a table with a default route via the interface "
     "(other routes only: warn); rules and routes read over rtnetlink",
     [](const RailMap& m, const CheckFacts& f) { return check_policy_routes(m, f.routing); }},
    {"main_route", "the main table's default route is not via a rail (eth0)",
     [](const RailMap& m, const CheckFacts& f) { return one(check_main_route(m, f.routing)); }},
    {"gateway_reachable",
     "per interface: the gateway of that default route answers ICMP echo or ARP within --gateway-timeout-ms (no "
     "ICMP socket and ARP unsettled: waived)",
     [](const RailMap& m, const CheckFacts& f) {
       return check_gateway_reachable(m, f.routing, f.probe, f.gateway_timeout_ms);
     }},
    {"gpudirect_ready",
     "waived without a GPU; nvidia_peermem loaded, or dma-buf possible (kernel >= 5.12 and NVIDIA's open kernel "
     "module); each rail's nearest GPU: PIX/PXB pass, PHB/NODE warn, SYS fail (--gpu-path-warn/--gpu-path-fail)",
     [](const RailMap& m, const CheckFacts& f) { return check_gpudirect_ready(m, f.gpudirect); }},
    {"pcie_link",
     "per rail NIC (its PF) and per GPU: its PCIe link and each link above it up to the root port trained at what "
     "both ends can do (sysfs current vs max); below fails, a slot slower than the device warns, an idle GPU's lower "
     "speed warns; offline (hwloc, current links only) a slower link on the path warns",
     [](const RailMap& m, const CheckFacts&) { return check_pcie_links(m); }},
    {"rail_per_gpu",
     "per GPU of the node: an RDMA NIC of its own at PIX/PXB (one rail per GPU; NICs on no GPU's switch and "
     "--non-rail-nic are not rails); sharing one warns; none fails when the nearest NIC is SYS (--gpu-path-fail), else warns",
     [](const RailMap& m, const CheckFacts& f) {
       return check_rail_per_gpu(m, f.gpudirect.fail_from);
     }},
};

// `text` as lines of at most `width` characters, broken at spaces.
std::vector<std::string> wrapped(std::string_view text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  while (!text.empty()) {
    const size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    if (!line.empty() && line.size() + 1 + word.size() > width) lines.push_back(std::exchange(line, {}));
    line += (line.empty() ? "" : " ") + std::string(word);
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

std::span<const SetupCheck> setup_checks() noexcept { return kChecks; }

std::vector<CheckResult> run_setup_checks(const RailMap& map, const CheckFacts& facts) {
  Results out;
  for (const SetupCheck& check : kChecks) {
    if (check.run == nullptr) continue;
    for (CheckResult& r : check.run(map, facts)) out.push_back(std::move(r));
  }
  return out;
}

std::string setup_checks_help(size_t width) {
  size_t name_width = 0;
  for (const SetupCheck& check : kChecks) name_width = std::max(name_width, check.name.size());
  const size_t indent = 2 + name_width + 2;
  std::string out;
  for (const SetupCheck& check : kChecks) {
    const auto lines = wrapped(check.help, width > indent + 20 ? width - indent : 20);
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string head = i == 0 ? "  " + std::string(check.name) : "";
      out += head + std::string(indent - head.size(), ' ') + lines[i] + "\n";
    }
  }
  return out;
}

}  // namespace railcheck::topology
