#pragma once
// GPU memory for test buffers (the `cuda` kind): a move-only cudaMalloc allocation, the data
// work on it (pattern kernels), and its registration with the NIC: dma-buf
// (cuMemGetHandleForAddressRange + ibv_reg_dmabuf_mr) or nvidia-peermem (ibv_reg_mr on the
// device pointer). Without CUDA built in, every call is Errc::kUnsupported.

#include <infiniband/verbs.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "verbs/handles.hpp"
#include "verbs/memory.hpp"

namespace railcheck::gpudirect {

// What dma-buf export and peermem pinning want: 64 KiB GPU pages.
inline constexpr uint64_t kGpuPageBytes = 64ull << 10;

class CudaAllocation {
 public:
  // At least `bytes` on CUDA ordinal `ordinal`, rounded up to and aligned on kGpuPageBytes,
  // zeroed, with CU_POINTER_ATTRIBUTE_SYNC_MEMOPS set (as GPUDirect RDMA requires).
  static Result<CudaAllocation> allocate(int ordinal, uint64_t bytes);

  CudaAllocation() = default;
  CudaAllocation(CudaAllocation&& other) noexcept;
  CudaAllocation& operator=(CudaAllocation&& other) noexcept;
  CudaAllocation(const CudaAllocation&) = delete;
  CudaAllocation& operator=(const CudaAllocation&) = delete;
  ~CudaAllocation();

  [[nodiscard]] uint8_t* data() const noexcept { return aligned_; }  // a device pointer
  [[nodiscard]] uint64_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] int ordinal() const noexcept { return ordinal_; }

 private:
  void release() noexcept;
  void* raw_ = nullptr;         // what cudaMalloc returned (freed)
  uint8_t* aligned_ = nullptr;  // raw_ rounded up to kGpuPageBytes
  uint64_t bytes_ = 0;
  int ordinal_ = -1;
};

// Pattern work on device memory; each waits for the GPU. Offsets are in `mem`.
Result<void> device_fill_pattern(const CudaAllocation& mem, uint64_t offset, uint64_t bytes, size_t qp);
Result<void> device_zero(const CudaAllocation& mem, uint64_t offset, uint64_t bytes);
Result<std::optional<uint64_t>> device_find_pattern_mismatch(const CudaAllocation& mem, uint64_t offset,
                                                             uint64_t bytes, size_t qp);

// An MR over GPU memory, the path that made it, and why the other path was not used.
struct CudaRegistration {
  verbs::MrPtr mr;
  std::string path;  // "dmabuf" or "peermem"
  std::string note;  // "peermem not tried: dma-buf worked", "dma-buf failed: ...", ...
};

// Registers all of `mem` on `pd` as `reg` asks: auto tries dma-buf, then peermem. A node
// that offers neither (no dma-buf support, no peer-memory module under `sysfs_root`) is
// Errc::kUnsupported; a path that exists but fails is Errc::kSystem with both reasons.
Result<CudaRegistration> register_cuda_memory(ibv_pd* pd, const CudaAllocation& mem, unsigned access, verbs::GpuReg reg,
                                              const std::string& sysfs_root = "/sys");

}  // namespace railcheck::gpudirect
