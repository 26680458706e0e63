#pragma once
// Which GPU a `cuda` test buffer goes on. GPUDirect is only as fast as the PCIe path between
// the GPU and the NIC under test, so by default the GPU nearest that NIC is chosen, from the
// rail map (RailPort::nearest_gpu: PIX first) and, when the pod does not see that GPU, by
// ranking the GPUs CUDA does see with the hwloc PCIe tree. `cuda:N` (a CUDA ordinal) or
// `cuda:BUSID` forces one. CUDA ordinals differ from nvidia-smi's (CUDA_VISIBLE_DEVICES,
// FASTEST_FIRST ordering), so GPUs are matched by PCI bus id, never by number.
//
// Pure functions over plain inputs: no CUDA here, so the choice is unit-tested from the
// rail-map fixtures on machines without a GPU.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "gpudirect/cuda_probe.hpp"
#include "topology/pcie.hpp"
#include "topology/rail_map.hpp"

namespace railcheck::gpudirect {

// What `cuda[:ARG]` asks for: nothing (the nearest GPU), a CUDA ordinal, or a PCI bus id.
struct GpuSelector {
  std::optional<int> ordinal;
  std::string bus_id;  // canonical, "0000:18:00.0"

  [[nodiscard]] bool automatic() const noexcept { return !ordinal && bus_id.empty(); }
};

// "" -> automatic; "2" -> ordinal 2; "0000:18:00.0" or "18:00.0" -> that bus id.
Result<GpuSelector> parse_gpu_selector(std::string_view arg);

// Where the NIC under test sits, as far as this pod can tell. Pointers are borrowed.
struct NicPlacement {
  std::string rdma_device;
  const topology::RailPort* port = nullptr;      // its rail-map entry; null: not in the map
  const topology::PcieTopology* pcie = nullptr;  // the node's PCIe tree; null: unknown
  std::string unknown_reason;                    // why `port` is null, for the record
};

struct GpuChoice {
  int ordinal = 0;                          // CUDA ordinal
  std::string pci_address;                  // canonical bus id
  std::string name;
  std::optional<topology::PathClass> path;  // GPU to NIC; nullopt: unknown
  std::string how;                          // one line: why this GPU
};

// Chooses among `visible` (CUDA's GPUs: index = CUDA ordinal). No visible GPU is
// Errc::kUnsupported; a forced GPU CUDA does not see is Errc::kNotFound naming those it sees.
// Automatic: the nearest class wins, ties go to the lowest ordinal; with no distance known at
// all, the lowest ordinal, and `how` says why.
Result<GpuChoice> choose_gpu(const GpuSelector& want, const std::vector<GpuInfo>& visible, const NicPlacement& nic);

// The same, placing `rdma_device` first: builds the rail map from `inputs` and loads the
// PCIe tree (inputs.hwloc_xml, or this machine's when inputs.sysfs_root is /sys). A map that
// cannot be built leaves the distance unknown (noted in `how`), it does not fail the choice.
Result<GpuChoice> choose_gpu_for(const GpuSelector& want, const std::vector<GpuInfo>& visible,
                                 const std::string& rdma_device, const topology::RailMapInputs& inputs);

}  // namespace railcheck::gpudirect
