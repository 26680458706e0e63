#include "gpudirect/preflight.hpp"

#include <algorithm>
#include <filesystem>

#include "gpudirect/cuda_driver.hpp"
#include "gpudirect/cuda_probe.hpp"
#include "topology/pcie.hpp"

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
  pre.peermem_module = loaded_peermem_module(sysfs_root);
  auto driver = cuda_driver();
  if (!driver) {
    pre.driver_error = driver.error().what;
    return pre;
  }
  pre.driver_version = (*driver)->version();
  pre.dmabuf_export = (*driver)->fn().mem_get_handle_for_address_range != nullptr;
  auto cuda = probe_cuda(**driver);
  if (!cuda) {
    pre.driver_error = cuda.error().what;
    return pre;
  }
  for (const GpuInfo& g : cuda->gpus) {
    GpuPreflight gpu{.ordinal = g.index, .name = g.name, .pci_bus_id = g.pci_bus_id, .dmabuf_supported = std::nullopt,
                     .gpudirect_rdma_supported = std::nullopt};
    if (auto bus = topology::normalize_bus_id(g.pci_bus_id)) gpu.pci_bus_id = *bus;
    auto flag = [&](cu::DeviceAttribute a) -> std::optional<bool> {
      auto v = (*driver)->attribute(g.index, a);
      return v ? std::optional<bool>(*v != 0) : std::nullopt;
    };
    gpu.dmabuf_supported = pre.dmabuf_export ? flag(cu::DeviceAttribute::kDmaBufSupported) : std::optional<bool>(false);
    gpu.gpudirect_rdma_supported = flag(cu::DeviceAttribute::kGpuDirectRdmaSupported);
    pre.gpus.push_back(std::move(gpu));
  }
  return pre;
}

}  // namespace railcheck::gpudirect
