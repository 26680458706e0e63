#pragma once
// Whether GPU memory can be used here at all: CUDA built in, a driver loaded, GPUs present.
// A missing piece is Errc::kUnsupported with the CUDA error name, which callers turn into a
// waived result ("no CUDA driver: cudaErrorInsufficientDriver"), never a crash.

#include <string>
#include <vector>

#include "common/error.hpp"

namespace railcheck::gpudirect {

struct GpuInfo {
  int index = 0;
  std::string name;
  std::string pci_bus_id;  // "0000:18:00.0"
};

struct CudaStatus {
  int driver_version = 0;   // e.g. 13000
  int runtime_version = 0;
  std::vector<GpuInfo> gpus;
};

// Probes the CUDA driver and lists GPUs; Errc::kUnsupported when CUDA is not built in, the
// driver is missing or too old, or no GPU is visible.
Result<CudaStatus> probe_cuda();

}  // namespace railcheck::gpudirect
