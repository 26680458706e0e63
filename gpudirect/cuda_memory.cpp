// The `cuda` memory kind: device memory on the GPU nearest the NIC under test (or the one
// named), registered through dma-buf or nvidia-peermem, with the data check done by kernels.
#include "gpudirect/cuda_memory.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include "gpudirect/cuda_probe.hpp"
#include "gpudirect/gpu_choice.hpp"
#include "gpudirect/kinds.hpp"
#include "gpudirect/preflight.hpp"
#include "verbs/spec.hpp"
#if RAILCHECK_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "gpudirect/cuda_driver.hpp"
#include "gpudirect/pattern_kernels.hpp"
#endif

namespace railcheck::gpudirect {

CudaAllocation::CudaAllocation(CudaAllocation&& other) noexcept
    : raw_(std::exchange(other.raw_, nullptr)),
      aligned_(std::exchange(other.aligned_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      ordinal_(std::exchange(other.ordinal_, -1)) {}

CudaAllocation& CudaAllocation::operator=(CudaAllocation&& other) noexcept {
  if (this != &other) {
    release();
    raw_ = std::exchange(other.raw_, nullptr);
    aligned_ = std::exchange(other.aligned_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    ordinal_ = std::exchange(other.ordinal_, -1);
  }
  return *this;
}

CudaAllocation::~CudaAllocation() { release(); }

#if RAILCHECK_HAVE_CUDA

namespace {

std::string cuda_error(const std::string& call, cudaError_t err) {
  return fmt::format("{}: {} ({})", call, cudaGetErrorName(err), cudaGetErrorString(err));
}

Result<void> set_device(int ordinal) {
  if (cudaError_t err = cudaSetDevice(ordinal); err != cudaSuccess) {
    return fail(Errc::kSystem, cuda_error(fmt::format("cudaSetDevice({})", ordinal), err));
  }
  return {};
}

// 8 bytes of device memory for a kernel's answer (move-only by unique_ptr).
struct CudaFree {
  void operator()(void* p) const noexcept {
    if (cudaError_t err = cudaFree(p); err != cudaSuccess) spdlog::warn("{}", cuda_error("cudaFree", err));
  }
};

}  // namespace

void CudaAllocation::release() noexcept {
  if (raw_ == nullptr) return;
  (void)cudaSetDevice(ordinal_);
  CudaFree{}(raw_);
  raw_ = nullptr;
  aligned_ = nullptr;
}

Result<CudaAllocation> CudaAllocation::allocate(int ordinal, uint64_t bytes) {
  if (auto ok = set_device(ordinal); !ok) return std::unexpected(ok.error());
  CudaAllocation m;
  m.ordinal_ = ordinal;
  m.bytes_ = (std::max<uint64_t>(bytes, 1) + kGpuPageBytes - 1) / kGpuPageBytes * kGpuPageBytes;
  if (cudaError_t err = cudaMalloc(&m.raw_, m.bytes_ + kGpuPageBytes); err != cudaSuccess) {
    m.raw_ = nullptr;
    return fail(Errc::kSystem, cuda_error(fmt::format("cudaMalloc({}) on GPU {}", verbs::format_size(m.bytes_), ordinal), err),
                "is the GPU's memory taken by another process (nvidia-smi)?");
  }
  const auto raw = reinterpret_cast<uintptr_t>(m.raw_);
  m.aligned_ = reinterpret_cast<uint8_t*>((raw + kGpuPageBytes - 1) / kGpuPageBytes * kGpuPageBytes);
  if (cudaError_t err = cudaMemset(m.aligned_, 0, m.bytes_); err != cudaSuccess) {
    return fail(Errc::kSystem, cuda_error("cudaMemset", err));
  }
  if (cudaError_t err = cudaDeviceSynchronize(); err != cudaSuccess) {
    return fail(Errc::kSystem, cuda_error("cudaDeviceSynchronize", err));
  }
  auto api = driver_api();
  if (!api) return std::unexpected(api.error());
  // Every synchronous memory operation on the region completes before the NIC sees it.
  const unsigned one = 1;
  if (CUresult rc = (*api)->pointer_set_attribute(&one, CU_POINTER_ATTRIBUTE_SYNC_MEMOPS,
                                                  reinterpret_cast<CUdeviceptr>(m.aligned_));
      rc != CUDA_SUCCESS) {
    return fail(Errc::kSystem, driver_error("cuPointerSetAttribute(SYNC_MEMOPS)", rc));
  }
  return m;
}

Result<void> device_fill_pattern(const CudaAllocation& mem, uint64_t offset, uint64_t bytes, size_t qp) {
  if (auto ok = set_device(mem.ordinal()); !ok) return ok;
  if (cudaError_t err = kernels::fill_pattern(mem.data() + offset, bytes, qp); err != cudaSuccess) {
    return fail(Errc::kSystem, cuda_error(fmt::format("pattern fill kernel on GPU {}", mem.ordinal()), err));
  }
  return {};
}

Result<void> device_zero(const CudaAllocation& mem, uint64_t offset, uint64_t bytes) {
  if (auto ok = set_device(mem.ordinal()); !ok) return ok;
  if (cudaError_t err = cudaMemset(mem.data() + offset, 0, bytes); err != cudaSuccess) {
    return fail(Errc::kSystem, cuda_error("cudaMemset", err));
  }
  if (cudaError_t err = cudaDeviceSynchronize(); err != cudaSuccess) {
    return fail(Errc::kSystem, cuda_error("cudaDeviceSynchronize", err));
  }
  return {};
}

Result<std::optional<uint64_t>> device_find_pattern_mismatch(const CudaAllocation& mem, uint64_t offset,
                                                             uint64_t bytes, size_t qp) {
  if (auto ok = set_device(mem.ordinal()); !ok) return std::unexpected(ok.error());
  void* p = nullptr;
  if (cudaError_t err = cudaMalloc(&p, sizeof(uint64_t)); err != cudaSuccess) {
    return fail(Errc::kSystem, cuda_error("cudaMalloc(8 B)", err));
  }
  std::unique_ptr<void, CudaFree> scratch(p);
  uint64_t first = 0;
  if (cudaError_t err = kernels::find_pattern_mismatch(mem.data() + offset, bytes, qp, static_cast<uint64_t*>(p), &first);
      err != cudaSuccess) {
    return fail(Errc::kSystem, cuda_error(fmt::format("pattern check kernel on GPU {}", mem.ordinal()), err));
  }
  if (first == ~uint64_t{0}) return std::optional<uint64_t>();
  return std::optional<uint64_t>(first);
}

namespace {

// ibv_reg_dmabuf_mr over a dma-buf exported by the CUDA driver.
Result<verbs::MrPtr> register_dmabuf(ibv_pd* pd, const CudaAllocation& mem, unsigned access) {
  auto api = driver_api();
  if (!api) return std::unexpected(api.error());
  if ((*api)->mem_get_handle_for_address_range == nullptr) {
    return fail(Errc::kUnsupported, "the CUDA driver predates 11.7: no dma-buf export", "update the NVIDIA driver");
  }
  auto supported = device_attribute(mem.ordinal(), CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED);
  if (supported && *supported == 0) {
    return fail(Errc::kUnsupported,
                fmt::format("GPU {} does not export dma-buf (CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED = 0)", mem.ordinal()),
                "dma-buf needs the NVIDIA open kernel modules and a Linux kernel >= 5.12");
  }
  int fd = -1;
  if (CUresult rc = (*api)->mem_get_handle_for_address_range(&fd, reinterpret_cast<CUdeviceptr>(mem.data()), mem.bytes(),
                                                             CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0);
      rc != CUDA_SUCCESS) {
    return fail(rc == CUDA_ERROR_NOT_SUPPORTED ? Errc::kUnsupported : Errc::kSystem,
                driver_error("cuMemGetHandleForAddressRange(DMA_BUF_FD)", rc));
  }
  // The MR keeps its own reference to the dma-buf: the descriptor is closed either way.
  verbs::MrPtr mr(ibv_reg_dmabuf_mr(pd, 0, mem.bytes(), reinterpret_cast<uint64_t>(mem.data()), fd,
                                    static_cast<int>(access)));
  const int err = errno;
  ::close(fd);
  if (!mr) {
    const bool unsupported = err == EOPNOTSUPP || err == ENOSYS || err == EPROTONOSUPPORT;
    return std::unexpected(Error{.code = unsupported ? Errc::kUnsupported : Errc::kSystem,
                                 .what = fmt::format("ibv_reg_dmabuf_mr({})", verbs::format_size(mem.bytes())),
                                 .sys_errno = err,
                                 .hint = unsupported ? "the RDMA device or its kernel driver cannot import dma-buf"
                                                     : verbs::memlock_hint(),
                                 .field = {}});
  }
  return mr;
}

// ibv_reg_mr on the device pointer: the peer-memory module pins the GPU pages.
Result<verbs::MrPtr> register_peermem(ibv_pd* pd, const CudaAllocation& mem, unsigned access,
                                      const std::string& sysfs_root) {
  verbs::MrPtr mr(ibv_reg_mr(pd, mem.data(), mem.bytes(), static_cast<int>(access)));
  if (mr) return mr;
  const int err = errno;
  const bool loaded = !loaded_peermem_module(sysfs_root).empty();
  return std::unexpected(Error{
      .code = loaded ? Errc::kSystem : Errc::kUnsupported,
      .what = fmt::format("ibv_reg_mr({} of GPU memory)", verbs::format_size(mem.bytes())),
      .sys_errno = err,
      .hint = loaded ? "nvidia_peermem is loaded: check dmesg and the memlock limit"
                     : fmt::format("nvidia_peermem is not loaded ({}/module/nvidia_peermem): modprobe nvidia_peermem "
                                   "on the node",
                                   sysfs_root),
      .field = {}});
}

}  // namespace

Result<CudaRegistration> register_cuda_memory(ibv_pd* pd, const CudaAllocation& mem, unsigned access, verbs::GpuReg reg,
                                              const std::string& sysfs_root) {
  if (reg == verbs::GpuReg::kPeermem) {
    auto mr = register_peermem(pd, mem, access, sysfs_root);
    if (!mr) return std::unexpected(mr.error());
    return CudaRegistration{.mr = std::move(*mr), .path = "peermem", .note = "dma-buf not tried: gpu-reg peermem"};
  }
  auto dmabuf = register_dmabuf(pd, mem, access);
  if (dmabuf) {
    return CudaRegistration{.mr = std::move(*dmabuf), .path = "dmabuf",
                            .note = reg == verbs::GpuReg::kAuto ? "peermem not needed: dma-buf worked"
                                                                 : "peermem not tried: gpu-reg dmabuf"};
  }
  if (reg == verbs::GpuReg::kDmabuf) return std::unexpected(dmabuf.error());
  auto peermem = register_peermem(pd, mem, access, sysfs_root);
  if (peermem) {
    return CudaRegistration{.mr = std::move(*peermem), .path = "peermem",
                            .note = "dma-buf failed: " + dmabuf.error().message()};
  }
  const bool neither = dmabuf.error().code == Errc::kUnsupported && peermem.error().code == Errc::kUnsupported;
  return fail(neither ? Errc::kUnsupported : Errc::kSystem,
              fmt::format("GPU memory cannot be registered with the NIC: dma-buf: {}; peermem: {}",
                          dmabuf.error().message(), peermem.error().message()));
}

#else  // without CUDA: every entry point says so

namespace {
std::unexpected<Error> no_cuda() {
  return fail(Errc::kUnsupported, "railcheck was built without CUDA",
              "rebuild with the CUDA toolkit installed (-DRAILCHECK_CUDA=ON) to test GPU memory");
}
}  // namespace

void CudaAllocation::release() noexcept {}
Result<CudaAllocation> CudaAllocation::allocate(int, uint64_t) { return no_cuda(); }
Result<void> device_fill_pattern(const CudaAllocation&, uint64_t, uint64_t, size_t) { return no_cuda(); }
Result<void> device_zero(const CudaAllocation&, uint64_t, uint64_t) { return no_cuda(); }
Result<std::optional<uint64_t>> device_find_pattern_mismatch(const CudaAllocation&, uint64_t, uint64_t, size_t) {
  return no_cuda();
}
Result<CudaRegistration> register_cuda_memory(ibv_pd*, const CudaAllocation&, unsigned, verbs::GpuReg,
                                              const std::string&) {
  return no_cuda();
}

#endif

namespace {

// GPU memory registered with the NIC; kernels do the per-size data work.
class CudaBuffer final : public verbs::Buffer {
 public:
  CudaBuffer(CudaAllocation mem, verbs::MrPtr mr, verbs::MemoryInfo info)
      : mem_(std::move(mem)), mr_(std::move(mr)), info_(std::move(info)) {}
  [[nodiscard]] uint8_t* data() const noexcept override { return mem_.data(); }
  [[nodiscard]] ibv_mr* mr() const noexcept override { return mr_.get(); }
  [[nodiscard]] const verbs::MemoryInfo& info() const noexcept override { return info_; }
  [[nodiscard]] bool host_visible() const noexcept override { return false; }
  Result<void> fill_pattern(uint64_t offset, uint64_t bytes, size_t qp) override {
    return device_fill_pattern(mem_, offset, bytes, qp);
  }
  Result<void> zero(uint64_t offset, uint64_t bytes) override { return device_zero(mem_, offset, bytes); }
  Result<std::optional<uint64_t>> find_pattern_mismatch(uint64_t offset, uint64_t bytes, size_t qp) override {
    return device_find_pattern_mismatch(mem_, offset, bytes, qp);
  }

 private:
  // Creation order: the memory, then its registration; deregistered before it is freed.
  CudaAllocation mem_;
  verbs::MrPtr mr_;
  verbs::MemoryInfo info_;
};

Result<void> check_cuda_arg(std::string_view arg) {
  auto sel = parse_gpu_selector(arg);
  if (!sel) return std::unexpected(sel.error());
  return {};
}

Result<void> cuda_available(std::string_view arg) {
  auto cuda = probe_cuda();
  if (!cuda) return std::unexpected(cuda.error());
  if (cuda->gpus.empty()) {
    return fail(Errc::kUnsupported, "no GPU visible to CUDA", "is a GPU allocated to this pod (nvidia.com/gpu resource)?");
  }
  auto sel = parse_gpu_selector(arg);
  if (!sel) return std::unexpected(sel.error());
  if (sel->ordinal && *sel->ordinal >= static_cast<int>(cuda->gpus.size())) {
    return fail(Errc::kNotFound, fmt::format("GPU {}", *sel->ordinal),
                fmt::format("CUDA sees {} GPU(s): 0..{}", cuda->gpus.size(), cuda->gpus.size() - 1));
  }
  return {};
}

Result<std::unique_ptr<verbs::Buffer>> allocate_cuda(const verbs::BufferRequest& req, const MemoryOptions& options) {
  auto cuda = probe_cuda();
  if (!cuda) return std::unexpected(cuda.error());
  auto sel = parse_gpu_selector(req.memory.arg);
  if (!sel) return std::unexpected(sel.error());
  auto gpu = choose_gpu_for(*sel, cuda->gpus, req.rdma_device, options.rail_map);
  if (!gpu) return std::unexpected(gpu.error());
  auto mem = CudaAllocation::allocate(gpu->ordinal, req.bytes);
  if (!mem) return std::unexpected(mem.error());
  auto reg = register_cuda_memory(req.pd, *mem, req.access, req.gpu_reg, options.rail_map.sysfs_root);
  if (!reg) {
    Error e = reg.error();
    e.what = fmt::format("GPU {} ({}): {}", gpu->ordinal, gpu->pci_address, e.what);
    return std::unexpected(std::move(e));
  }
  verbs::MemoryInfo info{.kind = "cuda",
                         .registration = reg->path,
                         .registration_note = reg->note,
                         .huge_pages = false,
                         .gpu = gpu->ordinal,
                         .gpu_name = gpu->name,
                         .gpu_pci_address = gpu->pci_address,
                         .gpu_distance = gpu->path ? std::string(topology::to_string(*gpu->path)) : std::string(),
                         .gpu_choice = gpu->how};
  return std::make_unique<CudaBuffer>(std::move(*mem), std::move(reg->mr), std::move(info));
}

}  // namespace

const MemoryKind kCudaKind{.name = "cuda",
                           .usage = "cuda[:N|:BUSID]",
                           .check_arg = &check_cuda_arg,
                           .available = &cuda_available,
                           .allocate = &allocate_cuda};

}  // namespace railcheck::gpudirect
