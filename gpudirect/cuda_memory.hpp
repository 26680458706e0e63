#pragma once
// GPU memory for test buffers (the `cuda` kind): a move-only cuMemAlloc allocation on a GPU's
// primary context, the data work on it without kernels (the pattern built on the host and
// copied in, copied back and compared on the host), and its registration with the NIC: dma-buf
// (cuMemGetHandleForAddressRange + ibv_reg_dmabuf_mr) or nvidia-peermem (ibv_reg_mr on the
// device pointer). All through the driver loaded at run time (gpudirect/cuda_driver.hpp).

#include <infiniband/verbs.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "gpudirect/cuda_api.hpp"
#include "gpudirect/cuda_driver.hpp"
#include "verbs/handles.hpp"
#include "verbs/memory.hpp"

namespace railcheck::gpudirect {

// What dma-buf export and peermem pinning want: 64 KiB GPU pages.
inline constexpr uint64_t kGpuPageBytes = 64ull << 10;

// Whether the data check must flush GPUDirect RDMA writes before it reads what arrived.
// CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_WRITES_ORDERING below OWNER (NONE: Ampere and older, as
// NCCL's "flush on compute capability < 9.0" has it) means the GPU's own reads may overtake
// the NIC's writes: cuFlushGPUDirectRDMAWrites(CURRENT_CTX, TO_OWNER) where the device offers it
// (FLUSH_WRITES_OPTIONS has HOST), else nothing can be done from the host and the note says so.
enum class RdmaFlush : uint8_t { kNotNeeded, kFlush, kUnavailable };
struct FlushDecision {
  RdmaFlush how = RdmaFlush::kNotNeeded;
  std::string note;  // for the memory info: "no flush needed (RDMA writes ordered for the owner)"
};
// nullopt: the attribute could not be read (an older driver): treated as NONE / no options.
FlushDecision decide_rdma_flush(std::optional<int> writes_ordering, std::optional<int> flush_options,
                                bool driver_has_flush);

// A cuMemAlloc allocation with the primary-context retain it was made under. Borrows the
// driver, which must outlive it (the process driver always does).
class CudaAllocation {
 public:
  // At least `bytes` on CUDA ordinal `ordinal`, rounded up to and aligned on kGpuPageBytes,
  // zeroed, with CU_POINTER_ATTRIBUTE_SYNC_MEMOPS set (as GPUDirect RDMA requires). A failed
  // allocation is Errc::kSystem naming the size and the GPU: a failure, not waived.
  static Result<CudaAllocation> allocate(int ordinal, uint64_t bytes);  // the process driver
  static Result<CudaAllocation> allocate(const CudaDriver& driver, int ordinal, uint64_t bytes);

  CudaAllocation() = default;
  CudaAllocation(CudaAllocation&& other) noexcept;
  CudaAllocation& operator=(CudaAllocation&& other) noexcept;
  CudaAllocation(const CudaAllocation&) = delete;
  CudaAllocation& operator=(const CudaAllocation&) = delete;
  ~CudaAllocation();

  [[nodiscard]] uint8_t* data() const noexcept { return aligned_; }  // a device pointer
  [[nodiscard]] uint64_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] int ordinal() const noexcept { return ordinal_; }
  [[nodiscard]] const CudaDriver& driver() const noexcept { return *context_.driver(); }
  [[nodiscard]] const PrimaryContext& context() const noexcept { return context_; }
  [[nodiscard]] const FlushDecision& flush() const noexcept { return flush_; }

 private:
  void release() noexcept;
  // Creation order: the context, then the memory in it (freed before the context is released).
  PrimaryContext context_;
  cu::DevicePtr raw_ = 0;       // what cuMemAlloc returned (freed)
  uint8_t* aligned_ = nullptr;  // raw_ rounded up to kGpuPageBytes
  uint64_t bytes_ = 0;
  int ordinal_ = -1;
  FlushDecision flush_;
};

// Pattern work on device memory, done through copies (no kernels); each returns once the GPU
// is done. Offsets are in `mem`. The mismatch search flushes RDMA writes first where
// mem.flush() says so.
Result<void> device_fill_pattern(const CudaAllocation& mem, uint64_t offset, uint64_t bytes, size_t qp);
Result<void> device_zero(const CudaAllocation& mem, uint64_t offset, uint64_t bytes);
Result<std::optional<uint64_t>> device_find_pattern_mismatch(const CudaAllocation& mem, uint64_t offset,
                                                             uint64_t bytes, size_t qp);

// An MR over GPU memory, the path that made it, and why the other path was not used.
struct CudaRegistration {
  verbs::MrPtr mr;
  std::string path;  // "dmabuf" or "peermem"
  std::string note;  // "peermem not needed: dma-buf worked (PCIe mapping)", "dma-buf failed: ...", ...
};

// The two verbs calls registration makes, so the path choice can be unit-tested without an
// RDMA device. The defaults are rdma-core's; `access` reaches them unchanged (optional flags
// such as IBV_ACCESS_RELAXED_ORDERING included).
struct MrCalls {
  ibv_mr* (*reg_mr)(ibv_pd* pd, void* addr, size_t length, unsigned access);
  ibv_mr* (*reg_dmabuf_mr)(ibv_pd* pd, uint64_t offset, size_t length, uint64_t iova, int fd, unsigned access);
};
const MrCalls& rdma_core_mr_calls() noexcept;

// Registers all of `mem` on `pd` as `reg` asks: auto tries dma-buf, then peermem. A node
// that offers neither (no dma-buf export in the driver or the GPU, no peer-memory module under
// `sysfs_root`) is Errc::kUnsupported; a path that exists but fails is Errc::kSystem with both
// reasons.
Result<CudaRegistration> register_cuda_memory(ibv_pd* pd, const CudaAllocation& mem, unsigned access, verbs::GpuReg reg,
                                              const std::string& sysfs_root = "/sys");
Result<CudaRegistration> register_cuda_memory(ibv_pd* pd, const CudaAllocation& mem, unsigned access, verbs::GpuReg reg,
                                              const std::string& sysfs_root, const MrCalls& calls);

}  // namespace railcheck::gpudirect
