#pragma once
// How the rail map learns what the node holds beyond the pod's own rails: every RDMA NIC with
// its nearest GPU, the GPU x NIC matrix, each GPU's own rail (NodeView in rail_map.hpp), and
// the PCIe link of every device it names (sysfs when it has the device, else hwloc's tree).

#include <optional>
#include <string>
#include <vector>

#include "topology/pcie.hpp"
#include "topology/pcie_link.hpp"
#include "topology/rail_map.hpp"
#include "topology/rail_sysfs.hpp"

namespace railcheck::topology {

// Where a device's link facts may come from. `sys` (may be null) is used for `bus_id` only when
// it has link files for it and, where `expect` is given, the same vendor and device ids as hwloc
// (an hwloc XML of another machine beside this machine's /sys must not borrow its devices);
// else `topo` (may be null) gives hwloc's link speed. nullopt when neither knows the link.
// Link files sysfs cannot make sense of become notes, never errors.
std::optional<PcieLinkFacts> read_pcie_link(const std::string& bus_id, bool gpu, const SysfsTree* sys,
                                            const PcieTopology* topo, const PciFunction* expect,
                                            std::vector<std::string>& notes);

// The node view from hwloc's tree: the RDMA NICs (PFs; a NIC counts as RDMA when hwloc lists an
// RDMA device on it or its VFs, when it is a Mellanox function, or when it carries one of
// `ports`), their classes to every GPU, which are rails (PIX/PXB to a GPU and not named in
// `non_rail`), and each GPU's own rail.
NodeView build_node_view(const PcieTopology& topo, const SysfsTree* sys, const std::vector<RailPort>& ports,
                         const std::vector<std::string>& non_rail, std::vector<std::string>& notes);

}  // namespace railcheck::topology
