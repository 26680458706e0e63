#pragma once
// Whether GPU memory can be used here at all: libcuda.so.1 loadable, a driver from CUDA 12.0 on,
// GPUs given to this pod. A missing piece is Errc::kUnsupported with the true reason (the
// driver version seen and the fix), which callers turn into a waived result, never a crash:
// "no CUDA driver: dlopen(libcuda.so.1): ...", "CUDA driver too old: ...", "no GPU in this pod:
// cuInit: CUDA_ERROR_NO_DEVICE ...", "no GPU visible to CUDA ...".

#include <string>
#include <vector>

#include "common/error.hpp"

namespace railcheck::gpudirect {

class CudaDriver;

// A GPU as CUDA numbers it in this pod.
struct GpuInfo {
  int index = 0;           // CUDA ordinal
  std::string name;        // "NVIDIA H100 80GB HBM3"
  std::string pci_bus_id;  // "0000:18:00.0"
};

// What the driver says: its version and the GPUs it sees.
struct CudaStatus {
  int driver_version = 0;  // cuDriverGetVersion, e.g. 12040
  std::vector<GpuInfo> gpus;
};

// Probes the process's driver (cuda_driver()) and lists the GPUs; Errc::kUnsupported when
// libcuda is missing, the driver is older than CUDA 12.0, or the pod has no GPU.
Result<CudaStatus> probe_cuda();
// The same over a driver the caller loaded (tests load a fake one).
Result<CudaStatus> probe_cuda(const CudaDriver& driver);

}  // namespace railcheck::gpudirect
