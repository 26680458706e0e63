#pragma once
// The PCIe half of the rail map: which GPUs and NICs this node has (from hwloc's PCI tree,
// not CUDA/NVML, which pods usually lack) and how far apart any two of them are, in the
// classes `nvidia-smi topo -m` prints. GPUDirect RDMA is only fast when the rail's NIC is
// PIX/PXB to its GPU; a VF that sits across the CPU socket (SYS) is what railcheck flags.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "topology/pcie_link.hpp"

struct hwloc_topology;  // hwloc_topology_t is `struct hwloc_topology*`
struct hwloc_obj;       // hwloc_obj_t is `struct hwloc_obj*`

namespace railcheck::topology {

// How far apart two PCI devices are, nearest first (so `<` means "nearer"). The names and
// meanings are those of `nvidia-smi topo -m`:
//   kPix:  at most one PCIe switch between them (both below one switch, one port each side);
//   kPxb:  several PCIe bridges/switches, but not through a host bridge;
//   kPhb:  through a PCIe host bridge (same root complex, different root ports);
//   kNode: different host bridges within one NUMA node;
//   kSys:  across NUMA nodes (the SMP interconnect), or NUMA locality unknown.
enum class PathClass { kPix, kPxb, kPhb, kNode, kSys };

// "PIX", "PXB", "PHB", "NODE", "SYS".
std::string_view to_string(PathClass path) noexcept;
// Parses those names (any case); Errc::kInvalidArgument lists the choices.
Result<PathClass> parse_path_class(std::string_view text);
// Where a class puts two devices, for reasons and notes: "behind one PCIe switch", ...,
// "across the CPU sockets".
std::string_view path_place(PathClass path) noexcept;

// Canonical bus id "0000:18:00.0" (lowercase) from "0000:18:00.0" or "18:00.0" (domain 0);
// Errc::kInvalidArgument quotes the text when it is not DOMAIN:BUS:DEV.FN.
Result<std::string> normalize_bus_id(std::string_view bus_id);

// One PCI function as hwloc reports it. A value: copies own their strings.
struct PciFunction {
  std::string bus_id;       // "0000:18:00.0", lowercase
  uint16_t vendor_id = 0;   // 0x10de NVIDIA, 0x15b3 Mellanox
  uint16_t device_id = 0;   // 0x2330 H100 SXM5, 0x1021 ConnectX-7
  uint16_t class_id = 0;    // class << 8 | subclass: 0x0302 3D controller, 0x0207 InfiniBand
  std::string vendor_name;  // hwloc's PCIVendor info; empty when hwloc had no pci.ids names
  std::string device_name;  // hwloc's PCIDevice info, e.g. "MT2910 Family [ConnectX-7]"
  int numa_node = -1;       // OS index of the NUMA node it is attached to; -1 when unknown
  std::optional<double> link_gbytes_per_s;  // PCIe link bandwidth; nullopt when hwloc reports 0
};

// An NVIDIA GPU (vendor 0x10de, class 0x0300 VGA or 0x0302 3D). NVSwitches (class 0x0680)
// and BMC VGA (ASPEED) are not GPUs. AMD Instinct GPUs are not recognised yet: their class
// differs by generation (0x0380, 0x1200) and railcheck's GPUDirect path is CUDA-only.
struct Gpu {
  PciFunction pci;
  int ordinal = 0;  // index among this node's GPUs in bus-id order, as nvidia-smi numbers them
};

// A network function: PCI class 0x0200 (Ethernet) or 0x0207 (InfiniBand), a PF or an SR-IOV VF.
struct Nic {
  PciFunction pci;
  std::vector<std::string> rdma_devices;  // hwloc OpenFabrics OS devices, e.g. "mlx5_3"
  std::vector<std::string> netdevs;       // hwloc Network OS devices, e.g. "ibp24s0"
  // SR-IOV virtual function? From sysfs `physfn` on a live load; from hwloc's device name
  // ("... Virtual Function") or known Mellanox VF/PF device ids in an XML; else unknown.
  std::optional<bool> is_vf;
  std::optional<std::string> pf_bus_id;  // the VF's physical function; live loads only

  [[nodiscard]] bool has_rdma() const noexcept { return !rdma_devices.empty(); }
};

struct GpuMatch {
  Gpu gpu;
  PathClass path = PathClass::kSys;
};

struct NicMatch {
  Nic nic;
  PathClass path = PathClass::kSys;
};

// Which NICs nearest_nic() considers: railcheck's rails are RDMA NICs, so that is the default.
enum class NicFilter { kRdmaOnly, kAny };

struct HwlocTopologyDeleter {
  void operator()(hwloc_topology* topo) const noexcept;
};
using HwlocTopologyPtr = std::unique_ptr<hwloc_topology, HwlocTopologyDeleter>;

// A loaded hwloc topology with its I/O tree, and the GPUs and NICs found in it. Owns the
// hwloc topology (freed on destruction, also on every failed load); move-only. Queries take
// bus ids in either "0000:18:00.0" or "18:00.0" form and never modify the topology.
class PcieTopology {
 public:
  // This machine, as hwloc sees it through /sys (inside a pod: the whole node's PCI tree).
  static Result<PcieTopology> load_live();
  // An hwloc v2 XML export (`lstopo-no-graphics --whole-io --of xml`). A missing file is
  // Errc::kNotFound; a file hwloc rejects is Errc::kProtocol naming the file (with a hint when
  // it holds an XML comment, which hwloc's built-in parser refuses).
  static Result<PcieTopology> load_xml(const std::string& path);

  PcieTopology(PcieTopology&&) noexcept = default;
  PcieTopology& operator=(PcieTopology&&) noexcept = default;
  PcieTopology(const PcieTopology&) = delete;
  PcieTopology& operator=(const PcieTopology&) = delete;
  ~PcieTopology() = default;

  [[nodiscard]] const std::vector<Gpu>& gpus() const noexcept { return gpus_; }  // by ordinal
  [[nodiscard]] const std::vector<Nic>& nics() const noexcept { return nics_; }  // by bus id

  // The class of the path between two PCI functions (symmetric; a function to itself is PIX).
  // Errc::kNotFound names a bus id that is not in the topology.
  [[nodiscard]] Result<PathClass> classify(std::string_view bus_a, std::string_view bus_b) const;

  // The GPU nearest to the PCI function `bus_id` (normally a NIC), other than itself; ties go
  // to the lowest GPU ordinal. nullopt when the node has no (other) GPU.
  [[nodiscard]] Result<std::optional<GpuMatch>> nearest_gpu(std::string_view bus_id) const;
  // The NIC nearest to the PCI function `bus_id` (normally a GPU), other than itself; ties go
  // to the lowest bus id (so a PF before its VFs). nullopt when no NIC passes `filter`.
  [[nodiscard]] Result<std::optional<NicMatch>> nearest_nic(
      std::string_view bus_id, NicFilter filter = NicFilter::kRdmaOnly) const;

  // The PCI functions from `bus_id` up to its root port (the device, then each PCI bridge above
  // it, not the host bridge), each with hwloc's link speed as its current link (GB/s; none when
  // hwloc reports 0) and no maximum: what link_facts_from_chain() takes offline.
  [[nodiscard]] Result<std::vector<FunctionLink>> link_chain(std::string_view bus_id) const;
  // Whether two functions hang below the same object of hwloc's tree (a VF beside its PF).
  [[nodiscard]] bool same_parent(std::string_view bus_a, std::string_view bus_b) const;

 private:
  struct Entry {
    std::string bus_id;
    hwloc_obj* obj = nullptr;  // owned by topo_; stays valid while topo_ lives
  };

  explicit PcieTopology(HwlocTopologyPtr topo);
  // The object of a canonical bus id, or nullptr; find() normalizes and explains misses.
  [[nodiscard]] hwloc_obj* object_of(std::string_view canonical_bus_id) const noexcept;
  [[nodiscard]] Result<hwloc_obj*> find(std::string_view bus_id) const;

  HwlocTopologyPtr topo_;
  std::vector<Entry> functions_;  // every PCI function, sorted by bus id
  std::vector<Gpu> gpus_;
  std::vector<Nic> nics_;
};

}  // namespace railcheck::topology
