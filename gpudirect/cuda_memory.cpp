// GPU memory: a cuMemAlloc allocation on a primary context, and the data check's pattern work
// on it done by copies through the host (verbs::pattern_byte's pattern), so no kernel and no
// nvcc are needed.
#include "gpudirect/cuda_memory.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "verbs/pattern.hpp"
#include "verbs/spec.hpp"

namespace railcheck::gpudirect {
namespace {

// The host staging buffer of the pattern copies: bounded, whatever the region's size.
constexpr uint64_t kStagingBytes = 4ull << 20;

cu::DevicePtr device_ptr(const uint8_t* p) { return reinterpret_cast<cu::DevicePtr>(p); }

// Runs `call`'s CUresult check: kSystem naming the call and the GPU.
Result<void> check(const CudaAllocation& mem, cu::Status rc, std::string_view call) {
  if (rc == cu::Status::kSuccess) return {};
  return fail(Errc::kSystem, mem.driver().error_text(fmt::format("{} on GPU {}", call, mem.ordinal()), rc));
}

// Every call on a GPU starts by making its context current on this thread.
Result<void> enter(const CudaAllocation& mem) {
  if (mem.data() == nullptr) return fail(Errc::kInvalidArgument, "no GPU memory (a moved-from allocation)");
  return mem.context().make_current();
}

FlushDecision flush_for(const CudaDriver& driver, int ordinal) {
  auto ordering = driver.attribute(ordinal, cu::DeviceAttribute::kGpuDirectRdmaWritesOrdering);
  auto options = driver.attribute(ordinal, cu::DeviceAttribute::kGpuDirectRdmaFlushWritesOptions);
  return decide_rdma_flush(ordering ? std::optional<int>(*ordering) : std::nullopt,
                           options ? std::optional<int>(*options) : std::nullopt,
                           driver.fn().flush_gpudirect_rdma_writes != nullptr);
}

}  // namespace

FlushDecision decide_rdma_flush(std::optional<int> writes_ordering, std::optional<int> flush_options,
                                bool driver_has_flush) {
  const int ordering = writes_ordering.value_or(static_cast<int>(cu::WritesOrdering::kNone));
  if (ordering >= static_cast<int>(cu::WritesOrdering::kOwner)) {
    return {.how = RdmaFlush::kNotNeeded,
            .note = fmt::format("no flush needed before the data check (GPU orders RDMA writes: {})",
                                ordering >= static_cast<int>(cu::WritesOrdering::kAllDevices) ? "all devices" : "owner")};
  }
  const bool host_flush = (flush_options.value_or(0) & static_cast<int>(cu::FlushOption::kHost)) != 0;
  if (host_flush && driver_has_flush) {
    return {.how = RdmaFlush::kFlush,
            .note = "cuFlushGPUDirectRDMAWrites before the data check (GPU does not order RDMA writes)"};
  }
  return {.how = RdmaFlush::kUnavailable,
          .note = fmt::format("GPU does not order RDMA writes and {}: the data check reads without a flush",
                              driver_has_flush ? "offers no host flush" : "the driver has no cuFlushGPUDirectRDMAWrites")};
}

CudaAllocation::CudaAllocation(CudaAllocation&& other) noexcept
    : context_(std::move(other.context_)),
      raw_(std::exchange(other.raw_, 0)),
      aligned_(std::exchange(other.aligned_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      ordinal_(std::exchange(other.ordinal_, -1)),
      flush_(std::move(other.flush_)) {}

CudaAllocation& CudaAllocation::operator=(CudaAllocation&& other) noexcept {
  if (this != &other) {
    release();
    context_ = std::move(other.context_);
    raw_ = std::exchange(other.raw_, 0);
    aligned_ = std::exchange(other.aligned_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    ordinal_ = std::exchange(other.ordinal_, -1);
    flush_ = std::move(other.flush_);
  }
  return *this;
}

CudaAllocation::~CudaAllocation() { release(); }

void CudaAllocation::release() noexcept {
  if (raw_ == 0) return;
  if (auto ok = context_.make_current(); !ok) spdlog::warn("freeing GPU memory: {}", ok.error().message());
  if (cu::Status rc = driver().fn().mem_free(raw_); rc != cu::Status::kSuccess) {
    spdlog::warn("{}", driver().error_text("cuMemFree", rc));
  }
  raw_ = 0;
  aligned_ = nullptr;
}

Result<CudaAllocation> CudaAllocation::allocate(int ordinal, uint64_t bytes) {
  auto driver = cuda_driver();
  if (!driver) return std::unexpected(driver.error());
  return allocate(**driver, ordinal, bytes);
}

Result<CudaAllocation> CudaAllocation::allocate(const CudaDriver& driver, int ordinal, uint64_t bytes) {
  auto context = PrimaryContext::retain(driver, ordinal);
  if (!context) return std::unexpected(context.error());
  if (auto ok = context->make_current(); !ok) return std::unexpected(ok.error());
  CudaAllocation m;
  m.context_ = std::move(*context);
  m.ordinal_ = ordinal;
  m.bytes_ = (std::max<uint64_t>(bytes, 1) + kGpuPageBytes - 1) / kGpuPageBytes * kGpuPageBytes;
  // One page more than asked, so the region can start on a page boundary.
  if (cu::Status rc = driver.fn().mem_alloc(&m.raw_, m.bytes_ + kGpuPageBytes); rc != cu::Status::kSuccess) {
    m.raw_ = 0;
    return fail(Errc::kSystem,
                driver.error_text(fmt::format("cuMemAlloc({} + {} for alignment) on GPU {}", verbs::format_size(m.bytes_),
                                              verbs::format_size(kGpuPageBytes), ordinal),
                                  rc),
                "is the GPU's memory taken by another process (nvidia-smi)?");
  }
  m.aligned_ = reinterpret_cast<uint8_t*>((m.raw_ + kGpuPageBytes - 1) / kGpuPageBytes * kGpuPageBytes);
  // Every synchronous memory operation on the region completes before the NIC sees it.
  const unsigned one = 1;
  if (auto ok = check(m, driver.fn().pointer_set_attribute(&one, cu::PointerAttribute::kSyncMemops, device_ptr(m.aligned_)),
                      "cuPointerSetAttribute(SYNC_MEMOPS)");
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = device_zero(m, 0, m.bytes_); !ok) return std::unexpected(ok.error());
  m.flush_ = flush_for(driver, ordinal);
  return m;
}

Result<void> device_fill_pattern(const CudaAllocation& mem, uint64_t offset, uint64_t bytes, size_t qp) {
  if (auto ok = enter(mem); !ok) return ok;
  std::vector<uint8_t> staging(std::min(bytes, kStagingBytes));
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min<uint64_t>(staging.size(), bytes - done);
    for (uint64_t i = 0; i < n; ++i) staging[i] = verbs::pattern_byte(done + i, bytes, qp);
    if (auto ok = check(mem, mem.driver().fn().memcpy_htod(device_ptr(mem.data() + offset + done), staging.data(), n),
                        "cuMemcpyHtoD");
        !ok) {
      return ok;
    }
    done += n;
  }
  // A copy from pageable memory may return before the GPU has it: wait.
  return check(mem, mem.driver().fn().ctx_synchronize(), "cuCtxSynchronize");
}

Result<void> device_zero(const CudaAllocation& mem, uint64_t offset, uint64_t bytes) {
  if (auto ok = enter(mem); !ok) return ok;
  const cu::DevicePtr dst = device_ptr(mem.data() + offset);
  const DriverEntryPoints& fn = mem.driver().fn();
  const cu::Status rc = (dst % 4 == 0 && bytes % 4 == 0) ? fn.memset_d32(dst, 0, bytes / 4) : fn.memset_d8(dst, 0, bytes);
  if (auto ok = check(mem, rc, "cuMemset"); !ok) return ok;
  return check(mem, fn.ctx_synchronize(), "cuCtxSynchronize");  // memsets are asynchronous
}

Result<std::optional<uint64_t>> device_find_pattern_mismatch(const CudaAllocation& mem, uint64_t offset,
                                                             uint64_t bytes, size_t qp) {
  if (auto ok = enter(mem); !ok) return std::unexpected(ok.error());
  const DriverEntryPoints& fn = mem.driver().fn();
  if (mem.flush().how == RdmaFlush::kFlush) {
    auto ok = check(mem, fn.flush_gpudirect_rdma_writes(cu::FlushTarget::kCurrentCtx, cu::FlushScope::kToOwner),
                    "cuFlushGPUDirectRDMAWrites");
    if (!ok) return std::unexpected(ok.error());
  }
  std::vector<uint8_t> staging(std::min(bytes, kStagingBytes));
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min<uint64_t>(staging.size(), bytes - done);
    if (auto ok = check(mem, fn.memcpy_dtoh(staging.data(), device_ptr(mem.data() + offset + done), n), "cuMemcpyDtoH");
        !ok) {
      return std::unexpected(ok.error());
    }
    for (uint64_t i = 0; i < n; ++i) {
      if (staging[i] != verbs::pattern_byte(done + i, bytes, qp)) return std::optional<uint64_t>(done + i);
    }
    done += n;
  }
  return std::optional<uint64_t>();
}

}  // namespace railcheck::gpudirect
