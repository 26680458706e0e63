#pragma once
// The link budget of a rail: the bandwidth a test over it can reach at most, and what bounds it.
// expected = min(port rate, the NIC's PCIe link, for GPU memory the GPU's PCIe link, what the
// NIC-GPU path class allows), per direction, in Gb/s. A pure function of plain facts, so the
// bandwidth verdict (reports/) can judge a pair against it and name the bottleneck in the
// cause: "node-3 mlx5_2 PCIe Gen4 x8: at most 115 Gb/s".
//
// PCIe terms use pcie_usable_gbps() (pcie_link.hpp): lanes x GT/s x line encoding x TLP
// efficiency at a 256-byte max payload. The path class caps (kPathCaps) apply to GPU memory
// only: host buffers sit on the NIC's own NUMA node (verbs allocates them there).

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "topology/pcie.hpp"
#include "topology/pcie_link.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::topology {

// Path class caps for GPU memory, Gb/s per direction; nullopt: no cap beyond the PCIe links.
// PIX, PXB: peer-to-peer stays in the PCIe switches. PHB, NODE: through the root complex; NCCL
// models these as PCIe links only (graph/topo.cc), and so does this table. SYS: across the
// inter-socket link, which NCCL rates at 10 GB/s for Skylake and later Intel CPUs
// (graph/topo.h SKL_QPI_BW; 6 GB/s QPI_BW for older ones, 16 GB/s AMD_BW): 80 Gb/s, the
// conservative figure for current Intel and AMD nodes alike (GPUDirect across SYS has been
// measured at 11 GB/s, half the host-memory figure, see docs/topology.md).
struct PathCap {
  PathClass path;
  std::optional<double> gbps;
};
inline constexpr std::array<PathCap, 5> kPathCaps = {{{PathClass::kPix, std::nullopt},
                                                      {PathClass::kPxb, std::nullopt},
                                                      {PathClass::kPhb, std::nullopt},
                                                      {PathClass::kNode, std::nullopt},
                                                      {PathClass::kSys, 80.0}}};
std::optional<double> path_cap_gbps(PathClass path) noexcept;

enum class Bottleneck { kUnknown, kPortRate, kNicPcie, kGpuPcie, kPathClass };
std::string_view to_string(Bottleneck bottleneck) noexcept;  // "unknown", "port_rate", "nic_pcie", ...

// What the budget reads: plain facts, any of them unknown.
struct BudgetFacts {
  std::string nic;                          // "mlx5_2", for the sentence
  std::optional<double> port_rate_gbps;     // the RDMA port's rate
  std::optional<PcieLinkState> nic_link;    // the narrowest link of the NIC's path to its root port
  std::string nic_link_at;                  // where that link is, when not the NIC's own ("0000:5a:00.0")
  bool gpu_memory = false;                  // the test's buffers are in GPU memory
  std::string gpu;                          // "GPU3"
  std::optional<PcieLinkState> gpu_link;    // the narrowest link of the GPU's path
  std::string gpu_link_at;
  std::optional<PathClass> path;            // NIC to GPU
};

struct LinkBudget {
  std::optional<double> expected_gbps;  // nullopt when no term is known
  Bottleneck bottleneck = Bottleneck::kUnknown;
  // The bottleneck in words: "mlx5_2 PCIe Gen4 x8: at most 115 Gb/s", "mlx5_2 port rate: at most
  // 400 Gb/s", "mlx5_2 to GPU3 is SYS (across the CPU sockets): at most 80 Gb/s".
  std::string sentence;
};

// The smallest known term wins; on a tie the port rate, then the NIC's link, the GPU's, the class.
LinkBudget link_budget(const BudgetFacts& facts);

// The facts of one rail of the map: its port rate, its NIC's link (RailPort::pcie_link) and, for
// GPU memory, its nearest GPU's link (GpuAffinity::pcie_link) and class.
BudgetFacts budget_facts(const RailMap& map, const RailPort& port, bool gpu_memory);

}  // namespace railcheck::topology
