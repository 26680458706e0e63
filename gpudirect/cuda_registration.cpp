// GPU memory registered with the NIC: dma-buf (the upstream path: the CUDA driver exports the
// range as a dma-buf, the NIC driver imports it) or nvidia-peermem (ibv_reg_mr on the device
// pointer, the peer-memory module pins the GPU pages). The access flags verbs asks for reach
// both unchanged.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "gpudirect/cuda_memory.hpp"
#include "gpudirect/preflight.hpp"
#include "verbs/spec.hpp"

namespace railcheck::gpudirect {
namespace {

// ibv_reg_mr_iova2 is what rdma-core's ibv_reg_mr macro calls for an access that is not a
// compile-time constant: it keeps the optional flags (IBV_ACCESS_RELAXED_ORDERING), which a
// device without them ignores.
ibv_mr* rdma_core_reg_mr(ibv_pd* pd, void* addr, size_t length, unsigned access) {
  return ibv_reg_mr_iova2(pd, addr, length, reinterpret_cast<uint64_t>(addr), access);
}

ibv_mr* rdma_core_reg_dmabuf_mr(ibv_pd* pd, uint64_t offset, size_t length, uint64_t iova, int fd, unsigned access) {
  return ibv_reg_dmabuf_mr(pd, offset, length, iova, fd, static_cast<int>(access));
}

// A dma-buf of all of `mem`, mapped through PCIe where the driver knows the flag (CUDA 12.8):
// on a GPU with a C2C link too (Grace Hopper), the NIC must reach it through PCIe. An older
// driver, or one that refuses the flag, exports without it. `how` says which.
Result<int> export_dmabuf(const CudaAllocation& mem, std::string& how) {
  const CudaDriver& d = mem.driver();
  auto call = [&](unsigned long long flags, int& fd) {
    return d.fn().mem_get_handle_for_address_range(&fd, reinterpret_cast<cu::DevicePtr>(mem.data()), mem.bytes(),
                                                   cu::MemRangeHandleType::kDmaBufFd, flags);
  };
  int fd = -1;
  cu::Status rc = cu::Status::kErrorNotSupported;
  if (d.version() >= cu::kMemRangeFlagPcieVersion) {
    rc = call(cu::kMemRangeFlagDmaBufMappingTypePcie, fd);
    if (rc == cu::Status::kSuccess) {
      how = "PCIe mapping";
      return fd;
    }
    how = "without the PCIe mapping flag (" + d.error_text("refused", rc) + ")";
  } else {
    how = fmt::format("without the PCIe mapping flag ({} predates it)", cuda_version_text(d.version()));
  }
  rc = call(0, fd);
  if (rc == cu::Status::kSuccess) return fd;
  return fail(rc == cu::Status::kErrorNotSupported ? Errc::kUnsupported : Errc::kSystem,
              d.error_text("cuMemGetHandleForAddressRange(DMA_BUF_FD)", rc),
              "dma-buf needs NVIDIA's open kernel modules and Linux >= 5.12");
}

// Whether dma-buf can be tried at all: the driver's export entry point and the GPU's attribute.
Result<void> dmabuf_offered(const CudaAllocation& mem) {
  const CudaDriver& d = mem.driver();
  if (d.fn().mem_get_handle_for_address_range == nullptr) {
    return fail(Errc::kUnsupported,
                fmt::format("{} has no cuMemGetHandleForAddressRange (dma-buf export, CUDA 11.7)", d.version_text()),
                "update the NVIDIA driver, or load nvidia_peermem for the peermem path");
  }
  auto supported = d.attribute(mem.ordinal(), cu::DeviceAttribute::kDmaBufSupported);
  if (!supported && supported.error().code != Errc::kUnsupported) return std::unexpected(supported.error());
  if (!supported || *supported == 0) {
    return fail(Errc::kUnsupported,
                fmt::format("GPU {} does not export dma-buf (CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED {}, {})", mem.ordinal(),
                            supported ? "= 0" : "unknown to the driver", d.version_text()),
                "dma-buf needs NVIDIA's open kernel modules (GPU operator: driver.kernelModuleType=open) and Linux "
                ">= 5.12; or load nvidia_peermem");
  }
  return {};
}

Result<verbs::MrPtr> register_dmabuf(ibv_pd* pd, const CudaAllocation& mem, unsigned access, const MrCalls& calls,
                                     std::string& how) {
  if (auto ok = dmabuf_offered(mem); !ok) return std::unexpected(ok.error());
  auto fd = export_dmabuf(mem, how);
  if (!fd) return std::unexpected(fd.error());
  // The MR keeps its own reference to the dma-buf: the descriptor is closed either way.
  verbs::MrPtr mr(calls.reg_dmabuf_mr(pd, 0, mem.bytes(), reinterpret_cast<uint64_t>(mem.data()), *fd, access));
  const int err = errno;
  ::close(*fd);
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

Result<verbs::MrPtr> register_peermem(ibv_pd* pd, const CudaAllocation& mem, unsigned access, const MrCalls& calls,
                                      const std::string& sysfs_root) {
  verbs::MrPtr mr(calls.reg_mr(pd, mem.data(), mem.bytes(), access));
  if (mr) return mr;
  const int err = errno;
  const bool loaded = !loaded_peermem_module(sysfs_root).empty();
  return std::unexpected(Error{
      .code = loaded ? Errc::kSystem : Errc::kUnsupported,
      .what = fmt::format("ibv_reg_mr({} of GPU memory)", verbs::format_size(mem.bytes())),
      .sys_errno = err,
      .hint = loaded ? "nvidia_peermem is loaded: check dmesg and the memlock limit"
                     : fmt::format("nvidia_peermem is not loaded ({}/module/nvidia_peermem): modprobe nvidia_peermem "
                                   "on the node (GPU operator: driver.rdma.enabled=true)",
                                   sysfs_root),
      .field = {}});
}

}  // namespace

const MrCalls& rdma_core_mr_calls() noexcept {
  static const MrCalls calls{.reg_mr = &rdma_core_reg_mr, .reg_dmabuf_mr = &rdma_core_reg_dmabuf_mr};
  return calls;
}

Result<CudaRegistration> register_cuda_memory(ibv_pd* pd, const CudaAllocation& mem, unsigned access, verbs::GpuReg reg,
                                              const std::string& sysfs_root) {
  return register_cuda_memory(pd, mem, access, reg, sysfs_root, rdma_core_mr_calls());
}

Result<CudaRegistration> register_cuda_memory(ibv_pd* pd, const CudaAllocation& mem, unsigned access, verbs::GpuReg reg,
                                              const std::string& sysfs_root, const MrCalls& calls) {
  if (reg == verbs::GpuReg::kPeermem) {
    auto mr = register_peermem(pd, mem, access, calls, sysfs_root);
    if (!mr) return std::unexpected(mr.error());
    return CudaRegistration{.mr = std::move(*mr), .path = "peermem", .note = "dma-buf not tried: gpu-reg peermem"};
  }
  std::string how;
  auto dmabuf = register_dmabuf(pd, mem, access, calls, how);
  if (dmabuf) {
    return CudaRegistration{
        .mr = std::move(*dmabuf), .path = "dmabuf",
        .note = fmt::format("{} ({})", reg == verbs::GpuReg::kAuto ? "peermem not needed: dma-buf worked"
                                                                   : "peermem not tried: gpu-reg dmabuf",
                            how)};
  }
  if (reg == verbs::GpuReg::kDmabuf) return std::unexpected(dmabuf.error());
  auto peermem = register_peermem(pd, mem, access, calls, sysfs_root);
  if (peermem) {
    return CudaRegistration{.mr = std::move(*peermem), .path = "peermem",
                            .note = "dma-buf failed: " + dmabuf.error().message()};
  }
  const bool neither = dmabuf.error().code == Errc::kUnsupported && peermem.error().code == Errc::kUnsupported;
  return fail(neither ? Errc::kUnsupported : Errc::kSystem,
              fmt::format("GPU memory cannot be registered with the NIC: dma-buf: {}; peermem: {}",
                          dmabuf.error().message(), peermem.error().message()));
}

}  // namespace railcheck::gpudirect
