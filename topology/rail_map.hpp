#pragma once
// The rail map: for every secondary interface of this pod (net1..netN), what it is and where
// it sits: its network, IPs and MAC, its VF and physical function, its RDMA device and port
// (state, link layer, MTU, rate, the RoCEv2 GID or the IB LID / subnet prefix / pkeys), its
// NUMA node and its nearest GPU with the nvidia-smi path class; and the reverse view, every
// GPU with its nearest rail. `railcheck topo` prints it; the agent serves it.
//
// Sources, in order: the Multus network-status annotation (downward-API file), the
// PCIDEVICE_* variables of the SR-IOV device plugin, sysfs, hwloc. Every read goes through
// RailMapInputs (a sysfs root, a podinfo folder, an optional hwloc XML), so a map can be
// computed for a machine we are not on. No libibverbs here: port facts come from sysfs.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "topology/pcie.hpp"
#include "topology/rail_sysfs.hpp"

namespace railcheck::topology {

// Where a fact came from.
enum class Source { kUnknown, kAnnotation, kSysfs, kHwloc };
std::string_view to_string(Source source) noexcept;  // "unknown", "annotation", "sysfs", "hwloc"

struct PortSources {
  Source interface = Source::kUnknown;  // annotation, or sysfs when there is none
  Source pci_address = Source::kUnknown;
  Source pf_pci_address = Source::kUnknown;
  Source rdma_device = Source::kUnknown;
  Source ips = Source::kUnknown;  // annotation, or sysfs (the RoCE GID table) without one
  Source numa_node = Source::kUnknown;
};

struct NearestGpu {
  int ordinal = 0;          // as nvidia-smi numbers the node's GPUs (bus-id order)
  std::string pci_address;  // the GPU's
  PathClass path = PathClass::kSys;
  bool from_pf = false;     // hwloc does not list the VF: measured from its PF (same place)
};

// One secondary interface of the pod. nullopt / empty: unknown.
struct RailPort {
  std::string interface;  // "net1"
  std::string network;    // the Multus network, "spiderpool/gpu1-sriov"; empty without annotation
  std::vector<std::string> ips;
  std::string mac;
  std::optional<std::string> pci_address;     // the VF, "0000:18:00.1"
  std::optional<std::string> pf_pci_address;  // its physical function; nullopt for a PF itself
  std::optional<std::string> resource;        // the PCIDEVICE_* variable listing the VF
  std::optional<std::string> rdma_device;     // "mlx5_10"
  std::optional<uint32_t> port;               // RDMA port number (a VF has one: 1)
  std::optional<std::string> state;           // "ACTIVE", "DOWN", ...
  std::optional<std::string> phys_state;      // "LINK_UP", ...
  std::optional<std::string> link_layer;      // "Ethernet" or "InfiniBand"
  std::optional<uint32_t> netdev_mtu;         // the interface's MTU (class/net/IF/mtu)
  std::optional<uint32_t> active_mtu;         // RoCE: roce_mtu_for(netdev_mtu); IB: unknown
  std::optional<double> rate_gbps;
  std::optional<RailGid> roce_gid;            // Ethernet: the RoCEv2 GID carrying the rail's IP
  std::optional<uint16_t> lid;                // InfiniBand
  std::optional<std::string> subnet_prefix;   // InfiniBand, "fe80:0000:0000:0000"
  std::vector<uint16_t> pkeys;                // InfiniBand, non-zero entries
  uint32_t pkey_table_size = 0;               // InfiniBand: entries of the pkey table, zero or not
  std::optional<uint64_t> port_guid;          // InfiniBand: GID 0's lower half (set by ib-sriov-cni)
  std::optional<uint64_t> node_guid;          // InfiniBand: class/infiniband/DEV/node_guid
  // What the pod asked for this network in the `k8s.v1.cni.cncf.io/networks` annotation's
  // cni-args (ib-kubernetes writes both): the GUID ("guid", else the element's
  // "infiniband-guid") and the pkey ("pkey"), as text; nullopt when absent.
  std::optional<std::string> requested_guid;
  std::optional<std::string> requested_pkey;
  std::vector<RailGid> gids;                  // the port's whole (non-empty) GID table
  std::optional<int> numa_node;
  std::optional<NearestGpu> nearest_gpu;
  // The NIC's PCIe link (of its PF: a VF's link fields are reserved), current and max, and the
  // narrowest link up to its root port; nullopt when neither sysfs nor hwloc knows it.
  std::optional<PcieLinkFacts> pcie_link;
  PortSources sources;
};

// The port's first IPv4 address (dotted quad, a "/prefix" dropped); nullopt when it has none.
std::optional<std::string> first_ipv4(const RailPort& port);

struct NearestRail {
  std::string interface;
  std::optional<std::string> rdma_device;
  std::string pci_address;  // the rail's VF (the class may be measured from its PF: see RailPort)
  PathClass path = PathClass::kSys;
};

// The reverse view: one GPU of the node and the pod's rail nearest to it.
struct GpuAffinity {
  int ordinal = 0;
  std::string pci_address;
  std::string name;  // hwloc's PCI device name; empty without pci.ids names
  std::optional<int> numa_node;
  std::optional<NearestRail> nearest;  // nullopt when no rail could be placed in hwloc's tree
  std::optional<PcieLinkFacts> pcie_link;  // the GPU's PCIe link; nullopt when unknown
};

// One RDMA NIC of the node (a physical function; its VFs folded under it), for the node view:
// what `railcheck topo` lists besides the pod's rails, so an operator can check a node's rail
// affinity without a pod.
struct NodeNic {
  std::string pci_address;                // the PF (a VF whose PF hwloc does not list stands alone)
  std::string name;                       // its first RDMA device ("mlx5_0"), else netdev, else bus id
  std::vector<std::string> rdma_devices;  // hwloc's, of the PF
  std::vector<std::string> netdevs;
  std::string device_name;                // hwloc's PCI device name ("MT2910 Family [ConnectX-7]")
  std::vector<std::string> vfs;           // the VFs hwloc lists beside it, by bus id
  std::optional<int> numa_node;
  std::optional<NearestGpu> nearest_gpu;  // from the PF
  // A rail: PIX or PXB to some GPU (on a GPU's PCIe switch) and not named by --non-rail-nic.
  // Other NICs (storage, management) are listed but not counted as rails.
  bool rail = false;
  std::string role;                       // "rail", or why not
  std::optional<PcieLinkFacts> pcie_link;
};

// The node's PCIe view from hwloc: every RDMA NIC, the GPU x NIC matrix in `nvidia-smi topo -m`
// classes, and the one-rail-per-GPU assignment the `rail_per_gpu` check judges.
struct NodeView {
  std::vector<NodeNic> nics;  // by bus id
  // gpu_nic[g][n]: the class between GPU ordinal g and nics[n]; nullopt when hwloc cannot say.
  std::vector<std::vector<std::optional<PathClass>>> gpu_nic;
  // gpu_rail[g]: index in `nics` of GPU g's own rail NIC: a rail at PIX/PXB no other GPU holds,
  // PIX ones given out first, GPUs in ordinal order; nullopt when the GPU has none of its own.
  std::vector<std::optional<size_t>> gpu_rail;
};

struct RailMap {
  std::vector<RailPort> ports;     // in the annotation's order (or natural netdev order)
  std::vector<GpuAffinity> gpus;   // by ordinal
  std::vector<std::string> notes;  // what the user should know: fallbacks, disagreements, SYS rails
  std::optional<NodeView> node;    // nullopt without hwloc's tree
};

struct RailMapInputs {
  // The downward-API folder holding `annotations`; empty: no annotation, use sysfs alone.
  // A folder given without an `annotations` file is an error (Errc::kNotFound).
  std::string podinfo_dir;
  std::string sysfs_root = "/sys";
  // An hwloc XML export for the PCIe tree; nullopt: this machine's (only when sysfs_root is
  // /sys: a foreign root with this machine's tree would be nonsense, so no GPU view then).
  std::optional<std::string> hwloc_xml;
  // The PCIDEVICE_* variables (others are ignored), e.g. {"PCIDEVICE_X", "0000:19:00.2,..."}.
  std::map<std::string, std::string> env;
  // NICs that are not rails although they sit on a GPU's switch (storage, management): RDMA
  // device names, netdevs or PF bus ids.
  std::vector<std::string> non_rail_nics;
};

// Builds the map. Errors: a malformed or missing annotation file (naming file and field), a
// bad PCIDEVICE_* value (naming the variable), an hwloc XML that cannot be loaded, a sysfs file
// that makes no sense (naming it). Anything merely unknown becomes nullopt and, where the user
// should know why, a note.
Result<RailMap> build_rail_map(const RailMapInputs& inputs);

// The RoCE path MTU for a netdev MTU: the largest IB MTU (256..4096) that fits with the
// headers ib_core reserves (iboe_get_mtu: GRH 40 + UDP 8 + BTH 12 + XRC 4 + AtomicETH 28 +
// ICRC 4 = 96 bytes), as mlx5 reports active_mtu: 1500 -> 1024, 4200 -> 4096, 9000 -> 4096.
// (rxe reserves 80 bytes, so it differs for netdev MTUs 4176..4191.) nullopt below 352.
std::optional<uint32_t> roce_mtu_for(uint32_t netdev_mtu) noexcept;
inline constexpr uint32_t kRoceHeaderBytes = 96;

// The PCI addresses per PCIDEVICE_* variable (names ending in _INFO, the device plugin's JSON
// side channel, are skipped; other variables are ignored). Errc::kInvalidArgument names a
// variable whose value is not a comma-separated list of PCI bus ids.
Result<std::map<std::string, std::vector<std::string>>> parse_pcidevice_env(
    const std::map<std::string, std::string>& env);

}  // namespace railcheck::topology
