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
#include "cli/map_inputs.hpp"
#include "reports/topo_json.hpp"
#include "reports/topo_table.hpp"
#include "topology/podinfo.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::cli {
namespace {

// What `railcheck topo --help` says first.
constexpr const char* kDescription =
    "Print the rail map: each secondary interface (net1..) with its network, IPs, VF and PF, RDMA device and "
    "port (state, link layer, MTU, rate, RoCEv2 GID or IB LID/pkeys), NUMA node and nearest GPU with its PCIe "
    "class; then each GPU with its nearest rail; then notes.";

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

int run_topo(const MapInputOptions& opt) {
  auto map = build_map(opt);
  if (!map) {
    std::cerr << "railcheck topo: " << map.error().message() << "\n";
    return kExitFailed;
  }
  const std::string text =
      opt.format == "json" ? reports::topo_to_json(*map).dump(2) + "\n" : reports::topo_table(*map);
  return write_output(opt, "topo", text);
}

void add_options(CLI::App& sub, MapInputOptions& opt) {
  sub.footer(kTopoHelp);
  add_map_input_options(sub, opt, "railcheck.topo/v1", "map");
}

}  // namespace

Command add_topo_command(CLI::App& parent) {
  return add_command(parent, "topo", kDescription, add_options, run_topo);
}

}  // namespace railcheck::cli
