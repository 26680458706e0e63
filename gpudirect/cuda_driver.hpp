#pragma once
// The CUDA driver, opened at run time. libcuda.so.1 (the NVIDIA container toolkit mounts it
// into GPU pods) is dlopen'ed and every entry point comes from its cuGetProcAddress_v2, asked
// at the CUDA version the entry point came in (gpudirect/cuda_api.hpp): nothing of CUDA is
// linked or needed to build, the binary starts on any node, and a driver from CUDA 12.0 (R525)
// on serves every call. Where GPU memory cannot be used the error says why, truly, with the
// driver version seen and the fix: no libcuda.so.1 (Errc::kUnsupported), a driver older than
// CUDA 12.0 (kUnsupported), no GPU given to the pod (kUnsupported), a broken driver (kSystem).
//
// CudaDriver owns its dlopen handle (move-only); cuda_driver() is the process's one, loaded on
// first use and never unloaded. PrimaryContext owns one retain of a GPU's primary context.

#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "gpudirect/cuda_api.hpp"

namespace railcheck::gpudirect {

// The entry points railcheck calls, at the ABI of cuda_api.hpp. The optional ones are nullptr
// when the driver lacks them; the others are always there in a loaded CudaDriver.
struct DriverEntryPoints {
  cu::GetErrorName::Fn get_error_name = nullptr;
  cu::Init::Fn init = nullptr;
  cu::DeviceGetCount::Fn device_get_count = nullptr;
  cu::DeviceGet::Fn device_get = nullptr;
  cu::DeviceGetName::Fn device_get_name = nullptr;
  cu::DeviceGetAttribute::Fn device_get_attribute = nullptr;
  cu::DeviceGetPciBusId::Fn device_get_pci_bus_id = nullptr;
  cu::DevicePrimaryCtxRetain::Fn primary_ctx_retain = nullptr;
  cu::DevicePrimaryCtxRelease::Fn primary_ctx_release = nullptr;
  cu::CtxSetCurrent::Fn ctx_set_current = nullptr;
  cu::CtxSynchronize::Fn ctx_synchronize = nullptr;
  cu::MemAlloc::Fn mem_alloc = nullptr;
  cu::MemFree::Fn mem_free = nullptr;
  cu::MemcpyHtoD::Fn memcpy_htod = nullptr;
  cu::MemcpyDtoH::Fn memcpy_dtoh = nullptr;
  cu::MemsetD8::Fn memset_d8 = nullptr;
  cu::MemsetD32::Fn memset_d32 = nullptr;
  cu::PointerSetAttribute::Fn pointer_set_attribute = nullptr;
  // Optional.
  cu::MemGetHandleForAddressRange::Fn mem_get_handle_for_address_range = nullptr;
  cu::FlushGpuDirectRdmaWrites::Fn flush_gpudirect_rdma_writes = nullptr;
};

// "CUDA 12.4" for cuDriverGetVersion's 12040.
std::string cuda_version_text(int version);

// One loaded libcuda.so.1: its dlopen handle (owned, closed on destruction), its version, its
// entry points and what cuInit said. Objects made from it (PrimaryContext, CudaAllocation)
// borrow it: keep it in place while they live.
class CudaDriver {
 public:
  static constexpr const char* kLibrary = "libcuda.so.1";

  // Opens `library` (a soname, found the dynamic loader's way), checks the driver's version,
  // resolves the entry points and calls cuInit(0). kUnsupported: no such library, a driver
  // older than CUDA 12.0, a required entry point missing. cuInit's answer is kept (usable()).
  static Result<CudaDriver> load(const char* library = kLibrary);

  CudaDriver() = default;
  CudaDriver(CudaDriver&&) noexcept = default;
  CudaDriver& operator=(CudaDriver&&) noexcept = default;
  CudaDriver(const CudaDriver&) = delete;
  CudaDriver& operator=(const CudaDriver&) = delete;
  ~CudaDriver() = default;

  [[nodiscard]] int version() const noexcept { return version_; }  // cuDriverGetVersion: 12040
  [[nodiscard]] const DriverEntryPoints& fn() const noexcept { return fn_; }
  // "the CUDA 12.4 driver (12040)", for reasons and reports.
  [[nodiscard]] std::string version_text() const;
  // "cuMemAlloc(1 MiB): CUDA_ERROR_OUT_OF_MEMORY (CUresult 2)", named by the driver itself.
  [[nodiscard]] std::string error_text(std::string_view call, cu::Status rc) const;

  // What cuInit(0) said: kUnsupported when the pod was given no GPU (CUDA_ERROR_NO_DEVICE),
  // kSystem when the driver is broken (library and kernel module differ, ...).
  [[nodiscard]] Result<void> usable() const;
  [[nodiscard]] Result<int> device_count() const;
  [[nodiscard]] Result<cu::Device> device(int ordinal) const;
  [[nodiscard]] Result<int> attribute(int ordinal, cu::DeviceAttribute attribute) const;

 private:
  struct Closer {
    void operator()(void* handle) const noexcept;
  };
  std::unique_ptr<void, Closer> library_;
  int version_ = 0;
  DriverEntryPoints fn_;
  cu::Status init_ = cu::Status::kErrorNotInitialized;
};

// The process's driver, loaded once on first use (thread-safe) and never unloaded (libcuda
// does not survive dlclose at exit well). The error is the same on every call.
Result<const CudaDriver*> cuda_driver();

// One retain of GPU `ordinal`'s primary context (the context the CUDA runtime would use, so
// railcheck shares it with anything else in the process), released on destruction.
class PrimaryContext {
 public:
  static Result<PrimaryContext> retain(const CudaDriver& driver, int ordinal);

  PrimaryContext() = default;
  PrimaryContext(PrimaryContext&& other) noexcept;
  PrimaryContext& operator=(PrimaryContext&& other) noexcept;
  PrimaryContext(const PrimaryContext&) = delete;
  PrimaryContext& operator=(const PrimaryContext&) = delete;
  ~PrimaryContext();

  // Makes the context current on the calling thread (every call on a GPU does this first:
  // the agent runs tests from several threads).
  [[nodiscard]] Result<void> make_current() const;
  [[nodiscard]] const CudaDriver* driver() const noexcept { return driver_; }

 private:
  void release() noexcept;
  const CudaDriver* driver_ = nullptr;
  cu::Device device_ = 0;
  cu::Context context_ = nullptr;
};

}  // namespace railcheck::gpudirect
