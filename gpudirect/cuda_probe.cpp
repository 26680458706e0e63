#include "gpudirect/cuda_probe.hpp"

#if RAILCHECK_HAVE_CUDA
#include <cuda_runtime_api.h>

#include <array>
#endif

namespace railcheck::gpudirect {

#if RAILCHECK_HAVE_CUDA

namespace {
std::string cuda_error(const char* call, cudaError_t err) {
  return std::string(call) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
}
}  // namespace

Result<CudaStatus> probe_cuda() {
  CudaStatus status;
  cudaRuntimeGetVersion(&status.runtime_version);
  if (cudaError_t err = cudaDriverGetVersion(&status.driver_version); err != cudaSuccess) {
    return fail(Errc::kUnsupported, cuda_error("cudaDriverGetVersion", err));
  }
  if (status.driver_version == 0) {
    return fail(Errc::kUnsupported, "no CUDA driver: cudaErrorInsufficientDriver",
                "GPU tests need the NVIDIA driver on the node and the GPU allocated to this pod");
  }
  int count = 0;
  if (cudaError_t err = cudaGetDeviceCount(&count); err != cudaSuccess) {
    return fail(Errc::kUnsupported, cuda_error("cudaGetDeviceCount", err),
                "is a GPU allocated to this pod (nvidia.com/gpu resource)?");
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaError_t err = cudaGetDeviceProperties(&prop, i); err != cudaSuccess) {
      return fail(Errc::kUnsupported, cuda_error("cudaGetDeviceProperties", err));
    }
    std::array<char, 32> bus{};
    cudaDeviceGetPCIBusId(bus.data(), static_cast<int>(bus.size()), i);
    status.gpus.push_back(GpuInfo{.index = i, .name = prop.name, .pci_bus_id = bus.data()});
  }
  return status;
}

#else

Result<CudaStatus> probe_cuda() {
  return fail(Errc::kUnsupported, "railcheck was built without CUDA",
              "rebuild with the CUDA toolkit installed (-DRAILCHECK_CUDA=ON) to test GPU memory");
}

#endif

}  // namespace railcheck::gpudirect
