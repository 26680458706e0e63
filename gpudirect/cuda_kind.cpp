// The `cuda` memory kind: device memory on the GPU nearest the NIC under test (or the one
// named), registered through dma-buf or nvidia-peermem, its data checked through host copies.
#include "gpudirect/cuda_kind.hpp"

#include <fmt/format.h>

#include <utility>

#include "gpudirect/cuda_probe.hpp"
#include "gpudirect/gpu_choice.hpp"
#include "gpudirect/kinds.hpp"

namespace railcheck::gpudirect {
namespace {

// GPU memory registered with the NIC; the per-size data work goes through the driver.
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

Result<void> process_cuda_available(std::string_view arg) {
  auto driver = cuda_driver();
  if (!driver) return std::unexpected(driver.error());
  return cuda_available(**driver, arg);
}

Result<std::unique_ptr<verbs::Buffer>> process_allocate_cuda(const verbs::BufferRequest& req,
                                                             const MemoryOptions& options) {
  auto driver = cuda_driver();
  if (!driver) return std::unexpected(driver.error());
  return allocate_cuda(**driver, req, options, rdma_core_mr_calls());
}

}  // namespace

Result<void> cuda_available(const CudaDriver& driver, std::string_view arg) {
  auto cuda = probe_cuda(driver);
  if (!cuda) return std::unexpected(cuda.error());
  auto sel = parse_gpu_selector(arg);
  if (!sel) return std::unexpected(sel.error());
  if (sel->ordinal && *sel->ordinal >= static_cast<int>(cuda->gpus.size())) {
    return fail(Errc::kNotFound, fmt::format("GPU {}", *sel->ordinal),
                fmt::format("CUDA sees {} GPU(s): 0..{}", cuda->gpus.size(), cuda->gpus.size() - 1));
  }
  return {};
}

Result<std::unique_ptr<verbs::Buffer>> allocate_cuda(const CudaDriver& driver, const verbs::BufferRequest& req,
                                                     const MemoryOptions& options, const MrCalls& calls) {
  auto cuda = probe_cuda(driver);
  if (!cuda) return std::unexpected(cuda.error());
  auto sel = parse_gpu_selector(req.memory.arg);
  if (!sel) return std::unexpected(sel.error());
  auto gpu = choose_gpu_for(*sel, cuda->gpus, req.rdma_device, options.rail_map);
  if (!gpu) return std::unexpected(gpu.error());
  auto mem = CudaAllocation::allocate(driver, gpu->ordinal, req.bytes);
  if (!mem) {
    Error e = mem.error();
    e.what = fmt::format("GPU {} ({}, {}): {}", gpu->ordinal, gpu->name, gpu->pci_address, e.what);
    return std::unexpected(std::move(e));
  }
  auto reg = register_cuda_memory(req.pd, *mem, req.access, req.gpu_reg, options.rail_map.sysfs_root, calls);
  if (!reg) {
    Error e = reg.error();
    e.what = fmt::format("GPU {} ({}): {}", gpu->ordinal, gpu->pci_address, e.what);
    return std::unexpected(std::move(e));
  }
  verbs::MemoryInfo info{.kind = "cuda",
                         .registration = reg->path,
                         .registration_note = reg->note + "; " + mem->flush().note,
                         .huge_pages = false,
                         .gpu = gpu->ordinal,
                         .gpu_name = gpu->name,
                         .gpu_pci_address = gpu->pci_address,
                         .gpu_distance = gpu->path ? std::string(topology::to_string(*gpu->path)) : std::string(),
                         .gpu_choice = gpu->how};
  return std::make_unique<CudaBuffer>(std::move(*mem), std::move(reg->mr), std::move(info));
}

const MemoryKind kCudaKind{.name = "cuda",
                           .usage = "cuda[:N|:BUSID]",
                           .check_arg = &check_cuda_arg,
                           .available = &process_cuda_available,
                           .allocate = &process_allocate_cuda};

}  // namespace railcheck::gpudirect
