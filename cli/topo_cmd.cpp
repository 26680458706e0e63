// `railcheck topo`: the rail map of this pod (or, offline, of a sysfs copy and an hwloc XML):
// every secondary interface with its VF, PF, RDMA port and nearest GPU, every GPU with its
// nearest rail, and notes on whatever was guessed or looks wrong.

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "cli/command.hpp"
#include "reports/topo_json.hpp"
#include "reports/topo_table.hpp"
#include "topology/podinfo.hpp"
#include "topology/rail_map.hpp"

extern char** environ;  // NOLINT: POSIX

namespace railcheck::cli {
namespace {

struct TopoOptions {
  std::string podinfo;     // empty: the default folder when it holds annotations, else none
  std::string hwloc_xml;   // empty: this machine's hwloc
  std::string sysfs_root = "/sys";
  std::string format = "table";  // table | json
  std::string output;      // empty: stdout
};

constexpr const char* kTopoHelp = R"(Sources, in this order (the first that knows wins; a disagreement becomes a note):
  1. the Multus network-status annotation, read from the downward-API file
     --podinfo DIR/annotations: the interfaces (their order is the map's), network names,
     IPs, MACs, and device-info's pci-address, rdma-device and pf-pci-address;
  2. the PCIDEVICE_<RESOURCE> variables the SR-IOV device plugin sets: which resource each
     VF came from;
  3. sysfs (--sysfs-root): class/net/IF/device -> the VF, .../physfn -> the PF,
     .../infiniband -> the RDMA device, bus/pci/devices/ADDR/numa_node, and
     class/infiniband/DEV/ports/P: state, rate, link layer, GIDs, LID, pkeys. Without an
     annotation, the interfaces are the netdevs that have an RDMA device. RoCE active MTU:
     the largest of 4096..256 that fits the netdev MTU less 96 bytes of headers;
  4. hwloc's PCIe tree (--hwloc-xml, else this machine's): the nearest GPU of each rail and
     the nearest rail of each GPU. A VF hwloc does not list is placed at its PF.

Classes, nearest first, as `nvidia-smi topo -m` names them:
  PIX   at most one PCIe switch between them (the place for a GPU's rail);
  PXB   several PCIe switches, not through the CPU's host bridge;
  PHB   through a PCIe host bridge (the CPU);
  NODE  between host bridges within one NUMA node;
  SYS   across NUMA nodes / CPU sockets (GPUDirect RDMA will be slow).

Offline: railcheck topo --sysfs-root COPY --podinfo DIR --hwloc-xml FILE computes the map of a
machine you are not on (lstopo-no-graphics --whole-io --of xml FILE exports its tree).
Exit: 0 map printed; 1 no map could be built (one-line cause on stderr); 2 bad options.)";

std::map<std::string, std::string> pcidevice_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || !entry.starts_with("PCIDEVICE_")) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

// The podinfo folder to read: the one given, else the default when it holds annotations.
std::string podinfo_dir(const TopoOptions& opt) {
  if (!opt.podinfo.empty()) return opt.podinfo;
  const std::string dflt(topology::kDefaultPodinfoDir);
  std::error_code ec;
  return std::filesystem::exists(dflt + "/annotations", ec) ? dflt : std::string{};
}

int write_output(const TopoOptions& opt, const std::string& text) {
  if (opt.output.empty()) {
    std::cout << text;
    return kExitOk;
  }
  std::ofstream out(opt.output);
  if (out) out << text;
  out.close();
  if (!out) {
    std::cerr << fmt::format("railcheck topo: cannot write {}: {}\n", opt.output, std::strerror(errno));
    return kExitFailed;
  }
  return kExitOk;
}

int run_topo(const TopoOptions& opt) {
  topology::RailMapInputs inputs{.podinfo_dir = podinfo_dir(opt),
                                 .sysfs_root = opt.sysfs_root,
                                 .hwloc_xml = std::nullopt,
                                 .env = pcidevice_env()};
  if (!opt.hwloc_xml.empty()) inputs.hwloc_xml = opt.hwloc_xml;
  auto map = topology::build_rail_map(inputs);
  if (!map) {
    std::cerr << "railcheck topo: " << map.error().message() << "\n";
    return kExitFailed;
  }
  const std::string text =
      opt.format == "json" ? reports::topo_to_json(*map).dump(2) + "\n" : reports::topo_table(*map);
  return write_output(opt, text);
}

}  // namespace

Command add_topo_command(CLI::App& parent) {
  auto opt = std::make_shared<TopoOptions>();
  CLI::App* sub = parent.add_subcommand(
      "topo",
      "Print the rail map: each secondary interface (net1..) with its network, IPs, VF and PF, RDMA device and "
      "port (state, link layer, MTU, rate, RoCEv2 GID or IB LID/pkeys), NUMA node and nearest GPU with its PCIe "
      "class; then each GPU with its nearest rail; then notes.");
  sub->footer(kTopoHelp);
  sub->add_option("--podinfo", opt->podinfo,
                  fmt::format("Downward-API folder with the pod's annotations (default {} when it has them; "
                              "without: interfaces from sysfs)",
                              topology::kDefaultPodinfoDir))
      ->check(CLI::ExistingDirectory);
  sub->add_option("--hwloc-xml", opt->hwloc_xml,
                  "hwloc XML of the node's PCIe tree (default: this machine's, read live)")
      ->check(CLI::ExistingFile);
  sub->add_option("--sysfs-root", opt->sysfs_root, "Folder laid out like /sys to read instead of it (offline use)")
      ->default_str("/sys")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--format", opt->format, "Output: table (default) or json (schema railcheck.topo/v1)")
      ->check(CLI::IsMember({"table", "json"}));
  sub->add_option("-o,--output", opt->output, "Write the map to FILE instead of stdout");
  return Command{sub, [opt] { return run_topo(*opt); }};
}

}  // namespace railcheck::cli
