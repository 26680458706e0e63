#include "gpudirect/cuda_probe.hpp"

#include <fmt/format.h>

#include <array>

#include "gpudirect/cuda_driver.hpp"

namespace railcheck::gpudirect {

Result<CudaStatus> probe_cuda() {
  auto driver = cuda_driver();
  if (!driver) return std::unexpected(driver.error());
  return probe_cuda(**driver);
}

Result<CudaStatus> probe_cuda(const CudaDriver& driver) {
  CudaStatus status{.driver_version = driver.version(), .gpus = {}};
  auto count = driver.device_count();
  if (!count) return std::unexpected(count.error());
  if (*count == 0) {
    return fail(Errc::kUnsupported, fmt::format("no GPU visible to CUDA ({})", driver.version_text()),
                "request nvidia.com/gpu in the chart's resources (resources.limits) so that a GPU is allocated to the "
                "pod; check CUDA_VISIBLE_DEVICES");
  }
  for (int i = 0; i < *count; ++i) {
    auto dev = driver.device(i);
    if (!dev) return std::unexpected(dev.error());
    std::array<char, 256> name{};
    std::array<char, 32> bus{};
    if (cu::Status rc = driver.fn().device_get_name(name.data(), static_cast<int>(name.size()), *dev);
        rc != cu::Status::kSuccess) {
      return fail(Errc::kSystem, driver.error_text(fmt::format("cuDeviceGetName(GPU {})", i), rc));
    }
    if (cu::Status rc = driver.fn().device_get_pci_bus_id(bus.data(), static_cast<int>(bus.size()), *dev);
        rc != cu::Status::kSuccess) {
      return fail(Errc::kSystem, driver.error_text(fmt::format("cuDeviceGetPCIBusId(GPU {})", i), rc));
    }
    name.back() = '\0';
    bus.back() = '\0';
    status.gpus.push_back(GpuInfo{.index = i, .name = name.data(), .pci_bus_id = bus.data()});
  }
  return status;
}

}  // namespace railcheck::gpudirect
