#pragma once
// GPUDirect RDMA readiness of this node, as plain facts: is a CUDA driver present (libcuda.so.1,
// loaded at run time) and how new, which GPUs CUDA sees and whether each can export dma-buf, and whether a peer-memory
// module (nvidia_peermem, or the older nv_peer_mem) is loaded. `railcheck check`'s
// gpudirect_ready check and the `cuda` memory kind read the same facts; nothing here fails,
// a missing piece is a field saying so.

#include <optional>
#include <string>
#include <vector>

namespace railcheck::gpudirect {

struct GpuPreflight {
  int ordinal = 0;                               // CUDA ordinal
  std::string name;
  std::string pci_bus_id;                        // canonical, "0000:19:00.0"
  std::optional<bool> dmabuf_supported;          // CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED; nullopt: unknown
  std::optional<bool> gpudirect_rdma_supported;  // CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED
};

struct GpuDirectPreflight {
  // Always true: the driver API is loaded at run time, so every build has GPUDirect. Kept for
  // callers that still ask.
  bool cuda_built_in = true;
  std::string driver_error;  // empty: a driver answered and sees GPUs; else why not ("no CUDA driver: ...")
  int driver_version = 0;    // cuDriverGetVersion, e.g. 12040; 0: no driver loaded
  bool dmabuf_export = false;  // the driver has cuMemGetHandleForAddressRange
  std::vector<GpuPreflight> gpus;
  std::string peermem_module;  // the loaded peer-memory module; empty: none

  [[nodiscard]] bool driver_present() const noexcept { return driver_error.empty(); }
  [[nodiscard]] bool peermem_loaded() const noexcept { return !peermem_module.empty(); }
  // At least one GPU, and every GPU reports dma-buf support.
  [[nodiscard]] bool dmabuf_supported() const noexcept;
  // GPU memory can be registered with the NIC one way or the other.
  [[nodiscard]] bool can_register_gpu_memory() const noexcept {
    return !gpus.empty() && (dmabuf_supported() || peermem_loaded());
  }
};

// The peer-memory module loaded under SYSFS_ROOT/module: "nvidia_peermem", "nv_peer_mem",
// or empty when neither is.
std::string loaded_peermem_module(const std::string& sysfs_root = "/sys");

// Probes CUDA (never fails: a missing driver is driver_error) and reads the module list.
GpuDirectPreflight gpudirect_preflight(const std::string& sysfs_root = "/sys");

}  // namespace railcheck::gpudirect
