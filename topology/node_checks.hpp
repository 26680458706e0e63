#pragma once
// The node's hardware checks of `railcheck check`, over the rail map's node view and PCIe link
// facts (rail_map.hpp), pure like the others:
//   pcie_link     per rail NIC (the pod's by interface, the node's other rails by name) and per
//                 GPU: its link and every link above it up to the root port trained at what
//                 both ends can do;
//   rail_per_gpu  per GPU: a rail NIC of its own at PIX/PXB (one rail per GPU).

#include <vector>

#include "topology/checks.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::topology {

// pcie_link. From sysfs (current vs max of both ends of each link): a link below what both ends
// can do fails (a GPU's own link at full width but a lower speed warns: GPUs lower the speed at
// idle); a link that both ends' maxima limit below the device's own max warns (the slot or the
// switch port is slower than the device). Offline from hwloc (current links only): a link slower
// than another on the same path warns. Unknown: waived. Without rails and GPUs, one waived row.
std::vector<CheckResult> check_pcie_links(const RailMap& map);

// rail_per_gpu. Waived without hwloc's tree or without a GPU. Per GPU: its own rail (NodeView::
// gpu_rail) passes; a GPU whose nearest rail at PIX/PXB another GPU holds warns (they share a
// NIC); a GPU with no rail at PIX/PXB fails when its nearest RDMA NIC is `fail_from` or farther
// (as gpudirect_ready's --gpu-path-fail, SYS by default), else warns; no RDMA NIC at all fails.
std::vector<CheckResult> check_rail_per_gpu(const RailMap& map, PathClass fail_from);

}  // namespace railcheck::topology
