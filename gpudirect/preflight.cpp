#include "gpudirect/preflight.hpp"

#include <algorithm>
#include <filesystem>

#include "gpudirect/cuda_probe.hpp"
#include "topology/pcie.hpp"
#if RAILCHECK_HAVE_CUDA
#include "gpudirect/cuda_driver.hpp"
#endif

namespace railcheck::gpudirect {

bool GpuDirectPreflight::dmabuf_supported() const noexcept {
  return !gpus.empty() && std::ranges::all_of(gpus, [](const GpuPreflight& g) { return g.dmabuf_supported == true; });
}

std::string loaded_peermem_module(const std::string& sysfs_root) {
  for (const char* name : {"nvidia_peermem", "nv_peer_mem"}) {
    std::error_code ec;
    if (std::filesystem::is_directory(sysfs_root + "/module/" + name, ec)) return name;
  }
  return {};
}

GpuDirectPreflight gpudirect_preflight(const std::string& sysfs_root) {
  GpuDirectPreflight pre;
  pre.cuda_built_in = RAILCHECK_HAVE_CUDA != 0;
  pre.peermem_module = loaded_peermem_module(sysfs_root);
  auto cuda = probe_cuda();
  if (!cuda) {
    pre.driver_error = cuda.error().what;
    return pre;
  }
  pre.driver_version = cuda->driver_version;
  for (const GpuInfo& g : cuda->gpus) {
    GpuPreflight gpu{.ordinal = g.index, .name = g.name, .pci_bus_id = g.pci_bus_id, .dmabuf_supported = std::nullopt,
                     .gpudirect_rdma_supported = std::nullopt};
    if (auto bus = topology::normalize_bus_id(g.pci_bus_id)) gpu.pci_bus_id = *bus;
#if RAILCHECK_HAVE_CUDA
    if (auto v = device_attribute(g.index, CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED)) gpu.dmabuf_supported = *v != 0;
    if (auto v = device_attribute(g.index, CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED)) {
      gpu.gpudirect_rdma_supported = *v != 0;
    }
#endif
    pre.gpus.push_back(std::move(gpu));
  }
  return pre;
}

}  // namespace railcheck::gpudirect
